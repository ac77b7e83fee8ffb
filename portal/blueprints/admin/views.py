"""User administration: create, edit, deactivate, reset passwords."""

from __future__ import annotations

from flask import current_app, flash, redirect, url_for
from flask_babel import gettext as _

from portal.blueprints import actor, page_arg
from portal.blueprints.admin import bp
from portal.blueprints.admin.forms import NewUserForm, ResetPasswordForm, UserForm
from portal.db import get_db
from portal.domain.permissions import Perm, Role
from portal.labels import ROLE_LABELS
from portal.rendering import render
from portal.security import requires
from portal.services import users as users_service
from portal.services.base import Conflict
from portal.services.users import UserData, WeakPassword


def _data(form: UserForm) -> UserData:
    return UserData(
        username=form.username.data,
        full_name=form.full_name.data,
        email=(form.email.data or "").strip() or None,
        role=Role(form.role.data),
        active=bool(form.active.data),
        language=form.language.data or None,
    )


@bp.get("/users")
@requires(Perm.USERS_MANAGE)
def users():
    """List every staff account."""
    page = users_service.list_users(get_db(), page=page_arg())
    return render("admin/users.html", page=page, roles=ROLE_LABELS)


@bp.route("/users/new", methods=["GET", "POST"])
@requires(Perm.USERS_MANAGE)
def create_user():
    """Create a staff account with an initial password."""
    form = NewUserForm()
    if form.validate_on_submit():
        try:
            user = users_service.create_user(get_db(), actor(), _data(form), form.password.data)
        except Conflict:
            form.username.errors = [_("This username is taken.")]
        except WeakPassword:
            form.password.errors = [_("The password must not contain the username.")]
        else:
            flash(_("User %(name)s created.", name=user.username), "success")
            return redirect(url_for("admin.users"))
    return render("admin/user_form.html", status=422 if form.errors else 200, form=form,
                  user=None)


@bp.route("/users/<int:user_id>", methods=["GET", "POST"])
@requires(Perm.USERS_MANAGE)
def edit_user(user_id: int):
    """Edit an account's name, role, language or active flag."""
    db = get_db()
    user = users_service.get_user(db, user_id)
    form = UserForm(obj=user)
    form.username.render_kw = {"readonly": True}
    if form.is_submitted():
        form.username.data = user.username  # the login name is fixed once created
    else:
        form.language.data = user.language or ""
    if form.validate_on_submit():
        try:
            users_service.update_user(db, actor(), user.id, _data(form))
        except Conflict:
            db.rollback()
            form.active.errors = [_("You cannot deactivate yourself or change your own role.")]
        else:
            flash(_("Changes saved."), "success")
            return redirect(url_for("admin.users"))
    return render("admin/user_form.html", status=422 if form.errors else 200, form=form,
                  user=user, reset_form=ResetPasswordForm())


@bp.post("/users/<int:user_id>/password")
@requires(Perm.USERS_MANAGE)
def reset_password(user_id: int):
    """Set a new password for a user; their sessions end."""
    db = get_db()
    user = users_service.get_user(db, user_id)
    form = ResetPasswordForm()
    if form.validate_on_submit():
        try:
            users_service.set_password(db, actor(), user.id, form.password.data)
        except WeakPassword:
            form.password.errors = [_("The password must not contain the username.")]
        else:
            flash(_("Password of %(name)s reset; their sessions have ended.", name=user.username),
                  "success")
            return redirect(url_for("admin.users"))
    return render("admin/user_form.html", status=422, form=UserForm(obj=user), user=user,
                  reset_form=form)


@bp.get("/backups")
@requires(Perm.BACKUPS_VIEW)
def backups():
    """List the backup folder's snapshots with their time, size, verification and age."""
    from pathlib import Path

    from portal.backup.store import BackupFolder, newest_verified, overdue
    from portal.db import utcnow

    root = current_app.config.get("BACKUP_DIR") or ""
    now = utcnow()
    snapshots = BackupFolder(Path(root)).infos() if root else []
    return render("admin/backups.html", root=root, snapshots=snapshots, now=now,
                  overdue=bool(root) and overdue(snapshots, now),
                  newest_verified=newest_verified(snapshots))
