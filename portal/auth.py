"""Login machinery: the session-token user loader and the unauthorised response."""

from __future__ import annotations

from flask import Flask, Response, redirect, request, url_for
from flask_login import AnonymousUserMixin

from portal.db import get_db
from portal.extensions import htmx, login_manager
from portal.services import users as users_service


class Anonymous(AnonymousUserMixin):
    role = None
    language = None
    username = "anonymous"

    def can(self, _perm) -> bool:
        return False


def init_app(app: Flask) -> None:
    """Configure Flask-Login: a cookie names a revocable server-side session."""
    login_manager.init_app(app)
    login_manager.anonymous_user = Anonymous
    login_manager.session_protection = "basic"

    @login_manager.user_loader
    def _load(token: str):
        return users_service.load_session(get_db(), token)

    @login_manager.unauthorized_handler
    def _unauthorized() -> Response:
        login_url = url_for("auth.login", next=request.full_path.rstrip("?"))
        if htmx:
            response = Response(status=401)
            response.headers["HX-Redirect"] = login_url
            return response
        return redirect(login_url)
