"""Browse the audit trail."""

from __future__ import annotations

from flask import current_app, request
from flask_babel import gettext as _
from wtforms.fields.choices import SelectChoice

from portal.blueprints import page_arg
from portal.blueprints.audit import bp, present
from portal.blueprints.audit.forms import AuditFilterForm
from portal.db import get_db
from portal.domain.permissions import Perm
from portal.i18n import office_tz
from portal.rendering import render
from portal.security import requires
from portal.services import audit as audit_service


@bp.get("/")
@requires(Perm.AUDIT_VIEW)
def index():
    """List audit events, newest first, filtered by user, action, object and dates."""
    db = get_db()
    form = AuditFilterForm(request.args)
    form.action.choices = [SelectChoice("", _("All actions"))] + [
        SelectChoice(action, label)
        for action, label in present.action_choices(audit_service.actions(db))
    ]
    form.validate()
    page = audit_service.search_events(
        db,
        actor_name=form.user.data or "",
        action=form.action.data or "",
        object_text=form.object.data or "",
        date_from=form.date_from.data if not form.date_from.errors else None,
        date_to=form.date_to.data if not form.date_to.errors else None,
        tz=office_tz(),
        page=page_arg(),
        per_page=current_app.config["PAGE_SIZE"] * 2,
    )
    rows = present.rows(page.items, audit_service.context(db, page.items))
    return render("audit/index.html", "audit/_table.html", form=form, page=page, rows=rows)
