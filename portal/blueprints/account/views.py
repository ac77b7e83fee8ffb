"""A user's own settings: password and language."""

from __future__ import annotations

from flask import current_app, flash, redirect, request, session, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_user

from portal.blueprints import actor, safe_next
from portal.blueprints.account import bp
from portal.blueprints.account.forms import LanguageForm, PasswordForm
from portal.blueprints.auth.views import attempt_limits, too_many_attempts
from portal.db import get_db, utcnow
from portal.domain.permissions import Perm
from portal.rendering import render
from portal.security import requires
from portal.services import throttle
from portal.services import users as users_service
from portal.services.users import WeakPassword


def _page(password_form: PasswordForm | None = None, status: int = 200):
    language_form = LanguageForm(language=current_user.language or "")
    return render("account/settings.html", status=status,
                  password_form=password_form or PasswordForm(), language_form=language_form)


@bp.get("/")
@requires(Perm.AUTHENTICATED)
def settings():
    """Show the user's own settings."""
    return _page()


@bp.post("/password")
@requires(Perm.AUTHENTICATED)
def password():
    """Change one's own password; every other session of the user ends."""
    verdict = throttle.admit_password_check(get_db(), actor(), attempt_limits(), utcnow())
    if not verdict.allowed:  # refused before the current password is even looked at
        return too_many_attempts(verdict)
    form = PasswordForm()
    if form.validate_on_submit():
        try:  # a wrong current password is recorded; answering 422 commits that record
            users_service.change_own_password(
                get_db(), actor(), form.current.data, form.new.data,
                hours=current_app.config["SESSION_HOURS"],
            )
        except WeakPassword as exc:
            field = form.current if "current" in str(exc) else form.new
            field.errors = [*field.errors, _password_message(str(exc))]
        else:
            session.clear()
            login_user(current_user._get_current_object())
            session.permanent = True
            flash(_("Your password has been changed. Other sessions have been logged out."),
                  "success")
            return redirect(url_for("account.settings"))
    return _page(form, status=422)


def _password_message(reason: str) -> str:
    return {
        "too short": _("Use at least %(n)d characters.", n=users_service.MIN_PASSWORD_LENGTH),
        "contains the username": _("The password must not contain your username."),
        "current password is wrong": _("The current password is incorrect."),
    }.get(reason, _("This password cannot be used."))


@bp.post("/language")
@requires(Perm.PUBLIC)
def language():
    """Switch the interface language (saved for a logged-in user, kept in the session otherwise)."""
    form = LanguageForm()
    choice = form.language.data if form.validate_on_submit() else None
    if choice not in current_app.config["LANGUAGES"]:
        choice = None
    if current_user.is_authenticated:
        users_service.set_language(get_db(), actor(), choice)
    if choice:
        session["language"] = choice
    else:
        session.pop("language", None)
    fallback = url_for("main.index")
    return redirect(safe_next(request.form.get("next"), fallback))
