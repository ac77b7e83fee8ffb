"""Names every template can use: permissions, labels, masked identifiers, the language."""

from __future__ import annotations

import secrets
from collections.abc import Callable, Hashable
from urllib.parse import urlencode

from flask import Flask, current_app, render_template, request, url_for
from flask_babel import get_locale
from flask_login import current_user
from flask_wtf.csrf import generate_csrf
from markupsafe import Markup, escape

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


#: Stand-ins for this request's values in a kept page header (random: no text can hold them).
_CSRF_MARK = f"csrf-{secrets.token_hex(8)}"
_NEXT_MARK = f"next-{secrets.token_hex(8)}"
#: How many page headers an app keeps (a few kB each) before it starts afresh.
HEADERS_KEPT = 2000


def kept(kind: str, key: Hashable, make: Callable[[], str], limit: int) -> str:
    """Return what ``make`` renders for ``key``, rendered once and kept (per app and worker,
    in memory): ``key`` must hold everything the result depends on. Past ``limit`` results
    of one ``kind``, the app starts afresh (what is left belongs mostly to old keys)."""
    store: dict = current_app.extensions.setdefault(kind, {})
    html = store.get(key)
    if html is None:
        if len(store) >= limit:
            store.clear()
        html = store[key] = make()
    return html


def page_header() -> Markup:
    """Return this page's header: the menu of the areas the user may open.

    It is the same on every page of one endpoint for every user with the same name, role and
    language, and rendering it took a tenth of a client list page's time; so it is rendered
    once per such key and kept (per app, in memory). What belongs to this request alone, the
    CSRF token and the path the language switch returns to, is rendered as a stand-in and put
    in afterwards.
    """
    user = current_user._get_current_object()
    locale = get_locale()
    language = locale.language if locale else "en"
    signed_in = user.is_authenticated
    key = (language, signed_in and user.role, signed_in and user.full_name, request.endpoint)
    html = kept("page_headers", key, lambda: render_template(
        "_header.html", user=user, area=request.blueprint, endpoint=request.endpoint,
        current_language=language, csrf_token=_CSRF_MARK, language_next=_NEXT_MARK),
        HEADERS_KEPT)
    back = request.full_path if request.method == "GET" else url_for("main.index")
    return Markup(html.replace(_CSRF_MARK, escape(generate_csrf()))
                  .replace(_NEXT_MARK, escape(back)))


def list_url(endpoint: str, args: dict, **changes) -> str:
    """Return the URL of a list page with its filter ``args`` changed by ``changes`` (a sort
    order, a page): what is empty and the first page are left out, so a link reads
    ``/clients/?sort=number`` rather than ``?q=&status=&…&page=1``.

    A list page's path takes no argument (``/clients/``): it is built once per app and path
    root, and the query added to it as Werkzeug would (a list page has seven such links).
    """
    values = {key: value for key, value in {**args, **changes}.items()
              if value not in ("", None) and not (key == "page" and value == 1)}
    bases: dict = current_app.extensions.setdefault("list_url_bases", {})
    key = (endpoint, request.script_root)
    base = bases.get(key)
    if base is None:
        rules = list(current_app.url_map.iter_rules(endpoint))
        base = bases[key] = (url_for(endpoint) if len(rules) == 1 and not rules[0].arguments
                             else "")
    if not base:  # a path with arguments (an account's entries): Werkzeug builds it
        return url_for(endpoint, **values)
    return f"{base}?{urlencode(values, safe=_QUERY_SAFE)}" if values else base


#: What Werkzeug leaves unquoted in a query (``werkzeug.urls``, after the URL standard).
_QUERY_SAFE = "!$'()*,/:;?@"


def init_app(app: Flask) -> None:
    """Register the template globals."""
    app.jinja_env.filters["filesize"] = filesize
    app.jinja_env.globals.update(page_header=page_header, list_url=list_url)

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
