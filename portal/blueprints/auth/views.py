"""Log in and out."""

from __future__ import annotations

from flask import current_app, flash, redirect, request, session, url_for
from flask.wrappers import Response
from flask_babel import gettext as _
from flask_login import current_user, login_user, logout_user

from portal.blueprints import actor, safe_next
from portal.blueprints.auth import bp
from portal.blueprints.auth.forms import LoginForm
from portal.db import get_db, utcnow
from portal.domain.permissions import Perm
from portal.domain.rate_limits import Limit, Verdict, parse_limits
from portal.errors import error_response
from portal.rendering import render
from portal.security import requires
from portal.services import throttle
from portal.services import users as users_service


def attempt_limits() -> tuple[Limit, ...]:
    """Return the configured limit on failed password attempts (``LOGIN_RATE_LIMIT``)."""
    return parse_limits(current_app.config["LOGIN_RATE_LIMIT"])


def too_many_attempts(verdict: Verdict) -> Response:
    """Answer a throttled attempt: 429, the error page, and when to try again."""
    response = error_response(429)
    response.headers["Retry-After"] = str(verdict.retry_after)
    return response


@bp.route("/login", methods=["GET", "POST"])
@requires(Perm.PUBLIC)
def login():
    """Show the login form; on valid credentials open a fresh session."""
    if current_user.is_authenticated:
        return redirect(url_for("main.index"))
    form = LoginForm()
    if request.method == "POST":  # a throttled address is refused before any password check
        verdict = throttle.admit_login(get_db(), request.remote_addr, form.username.data or "",
                                       attempt_limits(), utcnow())
        if not verdict.allowed:
            return too_many_attempts(verdict)
    if form.validate_on_submit():
        db = get_db()
        user = users_service.authenticate(
            db, form.username.data or "", form.password.data or "", request.remote_addr
        )
        if user is not None:
            language = session.get("language")
            session.clear()  # a new session at login: nothing from before survives
            if language and user.language is None:
                session["language"] = language
            users_service.start_session(
                db, user, request.remote_addr, request.user_agent.string,
                hours=current_app.config["SESSION_HOURS"],
            )
            login_user(user)
            session.permanent = True
            return redirect(safe_next(request.args.get("next"), url_for("main.index")))
        form.password.errors.append(_("Unknown username or wrong password."))
    status = 422 if form.errors else 200
    return render("auth/login.html", status=status, form=form)


@bp.post("/logout")
@requires(Perm.AUTHENTICATED)
def logout():
    """End this login session everywhere it might be replayed."""
    users_service.end_session(get_db(), actor(), current_user.session_token)
    logout_user()
    session.clear()
    flash(_("You have logged out."), "info")
    return redirect(url_for("auth.login"))
