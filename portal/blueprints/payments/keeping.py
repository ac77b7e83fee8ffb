"""Keep an uploaded statement across the mapping step without a session.

A small file travels back in the form as base64. A larger one (a hidden field over Flask's
``MAX_FORM_MEMORY_SIZE`` would be refused) is written to the storage's private temporary
folder under a random name; the form carries only that name, signed with the app's secret key
together with the uploader's user id and valid for an hour, so no path ever comes from the
user and nobody else can use the ticket. The file is removed once the
statement is staged (and by ``portal check --repair`` after a day, if the step is abandoned).
"""

from __future__ import annotations

import base64
import binascii
import os
import re
import secrets
from pathlib import Path

from flask import current_app
from flask_login import current_user
from itsdangerous import BadSignature, URLSafeTimedSerializer

#: Files up to this size travel in the form itself (base64 adds a third).
INLINE_MAX = 256 * 1024
TICKET_MAX_AGE = 3600
_NAME = re.compile(r"statement-[0-9a-f]{32}")


def _signer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.secret_key, salt="payments.statement-file")


def _tmp() -> Path:
    return current_app.extensions["storage"].tmp


def keep(data: bytes) -> dict[str, str]:
    """Return the hidden form values that bring ``data`` back with the next request."""
    if len(data) <= INLINE_MAX:
        return {"content": base64.b64encode(data).decode("ascii"), "ticket": ""}
    name = f"statement-{secrets.token_hex(16)}"
    fd = os.open(_tmp() / name, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as out:
        out.write(data)
    return {"content": "", "ticket": _signer().dumps([name, _uploader()])}


def _uploader() -> str | None:
    return current_user.get_id() if current_user.is_authenticated else None


def _name(ticket: str) -> str | None:
    try:
        name, uploader = _signer().loads(ticket, max_age=TICKET_MAX_AGE)
    except (BadSignature, TypeError, ValueError):
        return None
    if uploader != _uploader() or not isinstance(name, str) or not _NAME.fullmatch(name):
        return None
    return name


def take(content: str, ticket: str, max_bytes: int) -> bytes | None:
    """Return the kept file's bytes, or None if they are gone, forged or too large."""
    if ticket:
        name = _name(ticket)
        if name is None:
            return None
        try:
            with open(_tmp() / name, "rb") as kept:
                data = kept.read(max_bytes + 1)
        except FileNotFoundError:
            return None
        return data if len(data) <= max_bytes else None
    if not content or len(content) > (max_bytes // 3 + 1) * 4:
        return None
    try:
        return base64.b64decode(content, validate=True)
    except (binascii.Error, ValueError):
        return None


def discard(ticket: str) -> None:
    """Remove a kept file once it has served."""
    name = _name(ticket) if ticket else None
    if name is not None:
        (_tmp() / name).unlink(missing_ok=True)
