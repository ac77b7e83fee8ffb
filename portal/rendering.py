"""The one helper that decides between a full page and an htmx fragment."""

from __future__ import annotations

from typing import Any

from flask import make_response, render_template
from flask.wrappers import Response
from markupsafe import Markup

from portal.extensions import htmx


def wants_fragment() -> bool:
    """Tell whether this request should get a fragment: htmx, not boosted, not a history restore."""
    return bool(htmx) and not htmx.boosted and not htmx.history_restore_request


def render(
    page: str, partial: str | None = None, /, status: int = 200, **context: Any
) -> Response:
    """Render ``partial`` for htmx requests and ``page`` otherwise; always vary on HX-Request."""
    template = partial if partial and wants_fragment() else page
    response = make_response(render_template(template, **context), status)
    response.vary.add("HX-Request")
    return response


def render_kept(page: str, fragment: str, /, status: int = 200, **context: Any) -> Response:
    """As ``render``, for a page whose fragment is rendered already (``templating.kept``):
    htmx gets the fragment as it is, a full page gets it as ``fragment``."""
    body = fragment if wants_fragment() else render_template(
        page, fragment=Markup(fragment), **context)
    response = make_response(body, status)
    response.vary.add("HX-Request")
    return response
