"""Credit Office Portal: the application factory."""

from __future__ import annotations

import logging
from datetime import timedelta
from pathlib import Path
from typing import Any

from flask import Flask
from flask.sessions import SecureCookieSessionInterface
from werkzeug.middleware.proxy_fix import ProxyFix

from portal import auth, config, db, errors, i18n, security, templating
from portal.domain.rate_limits import parse_limits
from portal.extensions import babel, csrf, htmx
from portal.search import whoosh_provider
from portal.storage import Storage

log = logging.getLogger(__name__)


class SessionInterface(SecureCookieSessionInterface):
    """Mark the session cookie Secure whenever the request came over HTTPS."""

    def get_cookie_secure(self, app: Flask) -> bool:
        from flask import request

        return bool(app.config["SESSION_COOKIE_SECURE"] or request.is_secure)


def create_app(test_config: dict[str, Any] | None = None) -> Flask:
    """Build the portal: defaults, then ``PORTAL_*`` environment, then ``test_config``."""
    settings = config.from_environment()
    settings.update(test_config or {})
    instance_path = settings["INSTANCE_PATH"]
    app = Flask(
        __name__,
        instance_path=str(Path(instance_path).resolve()) if instance_path else None,
        instance_relative_config=True,
    )
    app.config.update(settings)

    instance = Path(app.instance_path)
    instance.mkdir(parents=True, exist_ok=True, mode=0o700)
    storage = Path(settings["STORAGE_DIR"] or instance.parent / "storage")
    storage.mkdir(parents=True, exist_ok=True, mode=0o700)
    app.config["STORAGE_DIR"] = str(storage)
    if not app.config["DATABASE_URL"]:
        app.config["DATABASE_URL"] = f"sqlite:///{instance / 'portal.sqlite3'}"
    app.config.update(
        SQLALCHEMY_DATABASE_URI=app.config["DATABASE_URL"],
        SECRET_KEY=settings["SECRET_KEY"] or config.load_or_create_secret_key(instance),
        MAX_CONTENT_LENGTH=(settings["MAX_UPLOAD_MB"] + 1) * 1024 * 1024,
        SESSION_COOKIE_NAME="portal_session",
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=settings["SECURE_COOKIES"],
        PERMANENT_SESSION_LIFETIME=timedelta(hours=settings["SESSION_HOURS"]),
        # The login session ends a fixed time after login (user_sessions.expires_at), so the
        # cookie is not signed and sent again with every response, only when it changes.
        SESSION_REFRESH_EACH_REQUEST=False,
        REMEMBER_COOKIE_HTTPONLY=True,
        REMEMBER_COOKIE_SAMESITE="Lax",
        REMEMBER_COOKIE_SECURE=True,
        REMEMBER_COOKIE_DURATION=timedelta(hours=settings["SESSION_HOURS"]),
        WTF_CSRF_TIME_LIMIT=None,  # the token lives as long as the login session
        WTF_I18N_ENABLED=True,
        BABEL_TRANSLATION_DIRECTORIES=str(Path(__file__).parent / "translations"),
        TRUSTED_HOSTS=settings["TRUSTED_HOSTS"] or None,
    )
    index_dir = Path(settings["SEARCH_INDEX_DIR"] or instance / "search-index")
    app.config["SEARCH_INDEX_DIR"] = str(index_dir)
    app.extensions["search"] = whoosh_provider(index_dir)
    app.extensions["storage"] = Storage(storage)
    try:  # what a killed worker left behind (another running process's files are kept)
        app.extensions["storage"].remove_leftovers()
    except OSError:
        log.exception("could not remove leftover temporary files")
    app.session_interface = SessionInterface()
    if settings["PROXY_COUNT"]:
        n = settings["PROXY_COUNT"]
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=n, x_proto=n, x_host=n)  # type: ignore

    db.init_app(app)
    csrf.init_app(app)
    htmx.init_app(app)
    parse_limits(app.config["LOGIN_RATE_LIMIT"])  # a bad setting fails here, not at a login
    babel.init_app(app, locale_selector=i18n.select_locale,
                   timezone_selector=i18n.select_timezone)
    auth.init_app(app)
    security.init_app(app)
    errors.init_app(app)
    i18n.init_app(app)
    templating.init_app(app)
    from portal.blueprints import IdConverter

    app.url_map.converters["int"] = IdConverter  # before the rules: ids past 2**31-1 are 404
    _register_blueprints(app)

    from portal.cli import register

    register(app)
    db.commit_requests(app)  # last: its hook runs before the other after_request hooks
    return app


def _register_blueprints(app: Flask) -> None:
    from portal.blueprints.account import bp as account
    from portal.blueprints.accounts import bp as accounts
    from portal.blueprints.admin import bp as admin
    from portal.blueprints.audit import bp as audit
    from portal.blueprints.auth import bp as auth_bp
    from portal.blueprints.clients import bp as clients
    from portal.blueprints.documents import bp as documents
    from portal.blueprints.main import bp as main
    from portal.blueprints.payments import bp as payments
    from portal.blueprints.reports import bp as reports
    from portal.blueprints.reviews import bp as reviews

    for blueprint in (main, auth_bp, account, clients, documents, reviews, admin, audit):
        app.register_blueprint(blueprint)
    app.register_blueprint(reports)
    app.register_blueprint(accounts)
    app.register_blueprint(payments)
