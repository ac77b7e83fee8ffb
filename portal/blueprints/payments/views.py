"""Bank statements: upload a camt.053 or CSV file, name a CSV's columns once per bank, confirm
the matched payments, and assign or set aside the lines nobody's account number was found in.

A refused input re-renders its page with the reason (422); the request's transaction is
rolled back first, so nothing of it is kept.
"""

from __future__ import annotations

import logging

from flask import current_app, flash, redirect, url_for
from flask_babel import gettext as _
from flask_babel import ngettext
from sqlalchemy import select
from werkzeug.routing import BuildError

from portal.banking import StatementRejected, sniff_csv
from portal.blueprints import actor
from portal.blueprints.payments import bp, keeping
from portal.blueprints.payments.forms import (
    AssignForm,
    ConfirmForm,
    IgnoreForm,
    MappingForm,
    UploadForm,
)
from portal.db import get_db
from portal.domain.permissions import Perm
from portal.i18n import today
from portal.labels import LINE_REASON_LABELS, LINE_STATUS_LABELS
from portal.models.banking import LineStatus
from portal.models.ledger import Account
from portal.rendering import render
from portal.security import requires
from portal.services import statements
from portal.services.ledger import Refused

log = logging.getLogger(__name__)


def _max_bytes() -> int:
    return current_app.config["MAX_UPLOAD_MB"] * 1024 * 1024


def _account_url(account_id: int) -> str | None:
    """Return the account page's address (None where the account pages are not installed)."""
    try:
        return url_for("accounts.show", account_id=account_id)
    except BuildError:
        return None


def _labels() -> dict:
    return {"reason_label": lambda r: LINE_REASON_LABELS.get(r, r or ""),
            "line_status_label": LINE_STATUS_LABELS.get, "account_url": _account_url}


def _upload_page(form: UploadForm, status: int = 200, error: str | None = None):
    return render("payments/import.html", status=status, form=form, error=error)


def _mapping_page(form: MappingForm, header, status: int = 200, error: str | None = None):
    return render("payments/mapping.html", status=status, form=form, header=header,
                  error=error)


def _outcome(result, file_name: str, data: bytes, bank_name: str = ""):
    """Show the staged lines, or ask for the mapping of a CSV the portal does not know."""
    if isinstance(result, statements.NeedsMapping):
        form = MappingForm(formdata=None, file_name=file_name, bank_name=bank_name,
                           **keeping.keep(data))
        form.offer(result.header)
        form.fill(result.proposal)
        return _mapping_page(form, result.header)
    staged = result.statement
    matched = [x for x in result.lines if x.status is LineStatus.MATCHED]
    return render("payments/staged.html", statement=staged, lines=result.lines,
                  matched=matched,
                  unmatched=[x for x in result.lines if x.status is LineStatus.UNMATCHED],
                  set_aside=[x for x in result.lines if x.status is LineStatus.IGNORED],
                  form=ConfirmForm(formdata=None), **_labels())


@bp.get("/payments/import")
@requires(Perm.LEDGER_RECORD)
def upload_form():
    """Show the statement upload form."""
    return _upload_page(UploadForm())


@bp.post("/payments/import")
@requires(Perm.LEDGER_RECORD)
def upload():
    """Read an uploaded statement: stage its new lines, or ask how a CSV's columns read."""
    form = UploadForm()
    if not form.validate():
        return _upload_page(form, 422)
    upload = form.statement.data
    data = upload.read(_max_bytes() + 1)
    if len(data) > _max_bytes():
        return _upload_page(form, 413, _("Larger than the %(n)s MB limit.",
                                          n=current_app.config["MAX_UPLOAD_MB"]))
    name = upload.filename or "statement"
    try:
        result = statements.stage(get_db(), actor(), name, data)
    except statements.Rejected as exc:
        get_db().rollback()
        log.info("statement %r refused: %s", name, exc.reason)
        return _upload_page(form, 422, _("This file cannot be read as a bank statement: "
                                         "%(reason)s", reason=exc.reason))
    return _outcome(result, name, data)


@bp.post("/payments/import/mapping")
@requires(Perm.LEDGER_RECORD)
def map_columns():
    """Stage a CSV statement with the column mapping chosen; the mapping is remembered."""
    form = MappingForm()
    data = keeping.take(form.content.data or "", form.ticket.data or "", _max_bytes())
    if data is None:
        return _upload_page(UploadForm(formdata=None), 422,
                            _("The file of this step is no longer here. Upload it again."))
    try:
        header = sniff_csv(data).header
    except StatementRejected as exc:
        return _upload_page(UploadForm(formdata=None), 422, str(exc)[:300])
    form.offer(header)
    if not form.validate():
        return _mapping_page(form, header, 422)
    name = form.file_name.data or "statement.csv"
    try:
        result = statements.stage(get_db(), actor(), name, data, mapping=form.mapping(),
                                  bank_name=form.bank_name.data or "")
    except statements.Rejected as exc:
        get_db().rollback()
        return _mapping_page(form, header, 422, _("The file cannot be read with these "
                                                  "columns: %(reason)s", reason=exc.reason))
    keeping.discard(form.ticket.data or "")
    return _outcome(result, name, data, form.bank_name.data or "")


@bp.post("/payments/confirm")
@requires(Perm.LEDGER_RECORD)
def confirm():
    """Record the chosen matched lines as payments."""
    form = ConfirmForm()
    if not form.validate() or not form.line.data:
        flash(_("No line was chosen: nothing was recorded."), "error")
        return redirect(url_for("payments.unmatched"))
    done = statements.confirm(get_db(), actor(), form.line.data, as_of=today())
    flash(ngettext("%(num)d payment recorded.", "%(num)d payments recorded.", done), "success")
    return redirect(url_for("payments.unmatched"))


def _queue(status: int = 200, line_id: int | None = None, **forms):
    """Show the waiting lines; ``forms`` (with their errors) for line ``line_id``."""
    db = get_db()
    unmatched = statements.waiting(db, actor())
    shown = line_id in {x.id for x in unmatched}
    return render("payments/unmatched.html", status=status, unmatched=unmatched,
                  errors=[] if shown else [e for f in forms.values() for field in f
                                           for e in field.errors],
                  matched=statements.waiting(db, actor(), LineStatus.MATCHED),
                  failed_line=line_id, failed=forms, AssignForm=AssignForm,
                  IgnoreForm=IgnoreForm, confirm_form=ConfirmForm(formdata=None), **_labels())


@bp.get("/payments/unmatched")
@requires(Perm.LEDGER_RECORD)
def unmatched():
    """List the lines waiting for a person: unmatched ones, and matched ones not confirmed."""
    return _queue()


def _account(number: str) -> Account | None:
    """Return the account with this number, however it was typed."""
    normal = statements.account_in(number) or number.strip().upper()
    return get_db().scalar(select(Account).where(Account.number == normal))


def _refusal(reason: str) -> str:
    """Say why a line cannot be recorded on the chosen account."""
    return {
        "decided_already": _("This line has been dealt with already."),
        "currency": _("The account is in another currency."),
        "account_closed": _("The account is closed."),
        "reversal": _("The bank took this money back: it is not a payment. Reverse the "
                      "payment on its account page, then set this line aside."),
    }.get(reason, _("This change is not possible."))


@bp.post("/payments/lines/<int:line_id>/assign")
@requires(Perm.LEDGER_RECORD)
def assign(line_id: int):
    """Record an unmatched line against the account whose number was typed."""
    form = AssignForm(prefix=f"assign-{line_id}")
    if not form.validate():
        return _queue(422, line_id, assign=form)
    account = _account(form.account_number.data)
    if account is None:
        form.account_number.errors.append(_("No account has this number."))
        return _queue(422, line_id, assign=form)
    try:
        statements.assign(get_db(), actor(), line_id, account.id, as_of=today())
    except Refused as exc:
        get_db().rollback()
        form.account_number.errors.append(_refusal(exc.reason))
        # A reversal's line has no account field to show the reason under: say it on top.
        return _queue(422, None if exc.reason == "reversal" else line_id, assign=form)
    flash(_("The payment is recorded on account %(number)s.",
            number=account.number), "success")
    return redirect(url_for("payments.unmatched"))


@bp.post("/payments/lines/<int:line_id>/ignore")
@requires(Perm.LEDGER_RECORD)
def ignore(line_id: int):
    """Set a line aside, with a note why."""
    form = IgnoreForm(prefix=f"ignore-{line_id}")
    if not form.validate():
        return _queue(422, line_id, ignore=form)
    try:
        statements.ignore(get_db(), actor(), line_id, note=form.note.data)
    except Refused as exc:
        get_db().rollback()
        form.note.errors.append(_refusal(exc.reason))
        return _queue(422, line_id, ignore=form)
    flash(_("The line is set aside."), "success")
    return redirect(url_for("payments.unmatched"))
