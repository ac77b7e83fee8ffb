"""Declared permissions per view, the check that enforces them, and response headers."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TypeVar

from flask import Flask, abort, current_app, request
from flask_login import current_user

from portal.domain.permissions import Perm, allows
from portal.extensions import login_manager

log = logging.getLogger(__name__)

F = TypeVar("F", bound=Callable)

#: Endpoints that Flask itself registers.
BUILTIN_PUBLIC = {"static"}

CSP = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
)


def requires(perm: Perm) -> Callable[[F], F]:
    """Declare the permission a view needs; the request hook enforces it."""

    def mark(view: F) -> F:
        view.permission = perm  # type: ignore[attr-defined]
        return view

    return mark


def declared_permission(app: Flask, endpoint: str | None) -> Perm | None:
    """Return the permission declared for ``endpoint``, or None when nothing is declared."""
    if endpoint in BUILTIN_PUBLIC:
        return Perm.PUBLIC
    view = app.view_functions.get(endpoint or "")
    return getattr(view, "permission", None)


def init_app(app: Flask) -> None:
    """Check every request against its view's permission and add the security headers."""

    @app.before_request
    def _check_permission():
        if request.endpoint is None:
            return None  # 404 / 405: Werkzeug answers before any view runs.
        perm = declared_permission(current_app, request.endpoint)
        if perm is None:
            log.error("endpoint %s declares no permission: refused", request.endpoint)
            abort(403)
        if perm is Perm.PUBLIC:
            return None
        if not current_user.is_authenticated:
            return login_manager.unauthorized()
        if not allows(current_user.role, perm):
            log.warning(
                "user %s (%s) refused %s", current_user.username, current_user.role, request.path
            )
            abort(403)
        return None

    @app.after_request
    def _headers(response):
        headers = response.headers
        headers.setdefault("Content-Security-Policy", CSP)
        headers.setdefault("X-Content-Type-Options", "nosniff")
        headers.setdefault("X-Frame-Options", "DENY")
        headers.setdefault("Referrer-Policy", "same-origin")
        headers.setdefault("Cross-Origin-Opener-Policy", "same-origin")
        if request.endpoint != "static":
            headers["Cache-Control"] = "no-store"
        if request.is_secure:
            headers.setdefault("Strict-Transport-Security", "max-age=31536000")
        return response
