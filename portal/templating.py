"""Names every template can use: permissions, labels, masked identifiers, the language."""

from __future__ import annotations

from flask import Flask
from flask_babel import get_locale
from flask_login import current_user

from portal.domain.identifiers import mask
from portal.domain.permissions import Perm
from portal.i18n import decimal, number
from portal.labels import (
    KIND_LABELS,
    MIME_LABELS,
    ROLE_LABELS,
    STATUS_LABELS,
    STEP_LABELS,
    TEXT_STATUS_LABELS,
)
from portal.services.users import MIN_PASSWORD_LENGTH


def filesize(size: int | None) -> str:
    """Format a byte count for people: ``840 kB``, ``3,2 MB`` (in the user's locale)."""
    if size is None:
        return ""
    if size < 1024 * 1024:
        return f"{number(max(1, round(size / 1024)))}\u00a0kB"
    return f"{decimal(round(size / (1024 * 1024), 1))}\u00a0MB"


def tax_id(value: str | None) -> str:
    """Show a tax identifier in full to those allowed, masked to everyone else."""
    if not value:
        return ""
    return value if current_user.can(Perm.TAX_ID_UNMASKED) else mask(value)


def init_app(app: Flask) -> None:
    """Register the template globals."""
    app.jinja_env.filters["filesize"] = filesize

    @app.context_processor
    def _globals():
        locale = get_locale()
        return {
            "Perm": Perm,
            "tax_id": tax_id,
            "current_language": locale.language if locale else "en",
            "kind_label": KIND_LABELS.get,
            "status_label": STATUS_LABELS.get,
            "step_label": STEP_LABELS.get,
            "role_label": ROLE_LABELS.get,
            "min_password_length": MIN_PASSWORD_LENGTH,
            "text_status_label": TEXT_STATUS_LABELS.get,
            "mime_label": lambda mime: MIME_LABELS.get(mime, mime),
            "max_upload_mb": app.config["MAX_UPLOAD_MB"],
            "max_upload_bytes": app.config["MAX_UPLOAD_MB"] * 1024 * 1024,
        }
