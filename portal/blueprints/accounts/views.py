"""Accounts: a client's accounts, opening one, the account page with its ledger and the
quick forms on it, write-off proposals and their decisions.

A change answers with the account's main part (htmx) or a redirect to the account page; a
refused one re-renders the form with the user's input: 422 with the reason, 409 when the same
key was used elsewhere. The request's transaction is rolled back before that re-render.
"""

from __future__ import annotations

import logging

from flask import abort, flash, make_response, redirect, request, url_for
from flask_babel import gettext as _

from portal.blueprints import actor
from portal.blueprints.accounts import bp
from portal.blueprints.accounts.forms import (
    DecideWriteOffForm,
    OpenAccountForm,
    ReverseForm,
    WriteOffForm,
    read_amount,
)
from portal.blueprints.accounts.pages import (
    ENTRY_FORMS,
    client_accounts,
    refusal_text,
    render_account,
    user_name,
)
from portal.db import get_db
from portal.domain.ledger import EntryKind
from portal.domain.permissions import Perm
from portal.i18n import today
from portal.models.ledger import LedgerEntry
from portal.rendering import render, wants_fragment
from portal.security import requires
from portal.services import clients as clients_service
from portal.services import ledger
from portal.services.base import Conflict
from portal.services.ledger import EntryData, Refused

log = logging.getLogger(__name__)


def _done(account_id: int, message: str):
    """Answer a change that worked: the account's main part for htmx, else a redirect."""
    if wants_fragment():
        return render_account(account_id, message=message)
    flash(message, "success")
    return redirect(url_for("accounts.show", account_id=account_id))


def _again(account_id: int, status: int, **forms):
    """Roll back what the request did and show the account with ``forms`` as typed."""
    get_db().rollback()
    return render_account(account_id, status=status, **forms)


# A client's accounts -----------------------------------------------------------------------


def _client_page(client, form: OpenAccountForm | None, status: int = 200):
    if form is None:
        form = OpenAccountForm(formdata=None, opened_on=today())
    return render("accounts/client.html", "accounts/_client_accounts.html", status=status,
                  client=client, form=form, **client_accounts(client.id))


@bp.get("/clients/<int:client_id>/accounts/list")
@requires(Perm.ACCOUNTS_VIEW)
def of_client(client_id: int):
    """List a client's accounts and totals (the client page loads this into its section).

    Not at ``/clients/<id>/accounts`` itself: a GET and a POST rule on one path make an id out
    of range answer 405 instead of 404.
    """
    client = clients_service.get_client(get_db(), actor(), client_id,
                                        audit_read=not wants_fragment())
    return _client_page(client, None)


@bp.post("/clients/<int:client_id>/accounts")
@requires(Perm.LEDGER_RECORD)
def open_account(client_id: int):
    """Open an account for a client and show it."""
    db = get_db()
    client = clients_service.get_client(db, actor(), client_id, audit_read=False)
    form = OpenAccountForm()
    valid = form.validate()
    limit = read_amount(form.limit, form.currency.data or "HUF") if valid else None
    if limit is None:
        return _client_page(client, form, 422)
    try:
        account = ledger.open_account(db, actor(), client.id, currency=form.currency.data,
                                      limit_minor=limit.minor, opened_on=form.opened_on.data)
    except Refused as exc:
        db.rollback()
        form.limit.errors.append(refusal_text(exc.reason))
        return _client_page(client, form, 422)
    flash(_("Account %(number)s opened.", number=account.number), "success")
    target = url_for("accounts.show", account_id=account.id)
    if wants_fragment():  # htmx follows a redirect itself and would swap the page in
        return make_response("", 204, {"HX-Redirect": target})
    return redirect(target)


# The account page --------------------------------------------------------------------------


@bp.get("/accounts/<int:account_id>")
@requires(Perm.ACCOUNTS_VIEW)
def show(account_id: int):
    """Show an account: its figures, aging, ledger and (to those who may) the quick forms."""
    return render_account(account_id)


def _record(account_id: int, name: str, kind: EntryKind):
    """Record one entry from its quick form (see ``ENTRY_FORMS``)."""
    db = get_db()
    account = ledger.get_account(db, actor(), account_id)
    form = ENTRY_FORMS[name]()
    valid = form.validate()
    amount = read_amount(form.amount, account.currency)
    if not valid or amount is None:
        return render_account(account_id, status=422, **{name: form})
    data = EntryData(kind=kind, amount=amount, booked_on=form.booked_on.data,
                     due_on=getattr(form, "due_on", None) and form.due_on.data,
                     method=getattr(form, "method", None) and form.method.data,
                     reference=getattr(form, "reference", None) and form.reference.data,
                     note=form.note.data or "", idempotency_key=form.key.data)
    try:
        if kind is EntryKind.RECOVERY:
            ledger.record_recovery(db, actor(), account.id, data, as_of=today())
        else:
            ledger.record_entry(db, actor(), account.id, data, as_of=today())
    except Refused as exc:
        field = {"amount_not_positive": form.amount, "amount_zero": form.amount,
                 "recovery_over_write_off": form.amount, "future_date": form.booked_on,
                 "due_date_missing": getattr(form, "due_on", None),
                 "method": getattr(form, "method", None)}.get(exc.reason)
        (field.errors if field is not None else form.form_errors).append(
            refusal_text(exc.reason))
        return _again(account_id, 422, **{name: form})
    except Conflict:
        form.form_errors.append(_("This form was used for another account. Reload the page "
                                  "and enter it again."))
        return _again(account_id, 409, **{name: form})
    log.info("account %s: %s recorded", account_id, kind.value)
    return _done(account_id, _("Recorded."))


@bp.post("/accounts/<int:account_id>/payments")
@requires(Perm.LEDGER_RECORD)
def payment(account_id: int):
    """Record a payment (a form sent twice is recorded once)."""
    return _record(account_id, "payment", EntryKind.PAYMENT)


@bp.post("/accounts/<int:account_id>/charges")
@requires(Perm.LEDGER_RECORD)
def charge(account_id: int):
    """Add a charge, due on a day."""
    return _record(account_id, "charge", EntryKind.CHARGE)


@bp.post("/accounts/<int:account_id>/fees")
@requires(Perm.LEDGER_RECORD)
def fee(account_id: int):
    """Add a fee, due on a day."""
    return _record(account_id, "fee", EntryKind.FEE)


@bp.post("/accounts/<int:account_id>/adjustments")
@requires(Perm.LEDGER_RECORD)
def adjustment(account_id: int):
    """Add an adjustment: positive raises the balance, negative lowers it."""
    return _record(account_id, "adjustment", EntryKind.ADJUSTMENT)


@bp.post("/accounts/<int:account_id>/recoveries")
@requires(Perm.LEDGER_RECORD)
def recovery(account_id: int):
    """Record money recovered after a write-off (at most what was written off)."""
    return _record(account_id, "recovery", EntryKind.RECOVERY)


@bp.post("/accounts/<int:account_id>/entries/<int:entry_id>/reverse")
@requires(Perm.LEDGER_RECORD)
def reverse(account_id: int, entry_id: int):
    """Reverse an entry with a reason; the entry stays, marked reversed."""
    db = get_db()
    account = ledger.get_account(db, actor(), account_id)
    entry = db.get(LedgerEntry, entry_id)
    if entry is None or entry.account_id != account.id:
        abort(404)
    form = ReverseForm(prefix=f"reverse-{entry_id}")
    if not form.validate():
        return render_account(account_id, status=422, reverse=form, reverse_entry=entry_id)
    try:
        ledger.reverse(db, actor(), entry_id, reason=form.reason.data, booked_on=today(),
                       as_of=today())
    except Refused as exc:
        form.reason.errors.append(refusal_text(exc.reason))
        return _again(account_id, 422, reverse=form, reverse_entry=entry_id)
    return _done(account_id, _("Entry reversed."))


def _status_change(account_id: int, change, done: str):
    """Close or reopen: ``change()`` or the refusal's reason on the account page (422)."""
    try:
        change()
    except Refused as exc:
        return _again(account_id, 422, message_error=refusal_text(exc.reason))
    return _done(account_id, done)


@bp.post("/accounts/<int:account_id>/close")
@requires(Perm.LEDGER_RECORD)
def close(account_id: int):
    """Close an account whose balance is zero."""
    return _status_change(account_id, lambda: ledger.close_account(
        get_db(), actor(), account_id, as_of=today()), _("Account closed."))


@bp.post("/accounts/<int:account_id>/reopen")
@requires(Perm.LEDGER_RECORD)
def reopen(account_id: int):
    """Open a closed account again."""
    return _status_change(account_id, lambda: ledger.reopen_account(
        get_db(), actor(), account_id), _("Account reopened."))


# Write-offs --------------------------------------------------------------------------------


@bp.post("/accounts/<int:account_id>/write-offs")
@requires(Perm.LEDGER_RECORD)
def propose_write_off(account_id: int):
    """Propose writing off (part of) the balance; a manager decides."""
    db = get_db()
    account = ledger.get_account(db, actor(), account_id)
    form = WriteOffForm()
    valid = form.validate()
    amount = read_amount(form.amount, account.currency)
    if not valid or amount is None:
        return render_account(account_id, status=422, write_off=form)
    try:
        ledger.propose_write_off(db, actor(), account.id, amount, reason=form.reason.data,
                                 as_of=today())
    except Refused as exc:
        field = form.reason if exc.reason == "reason_missing" else form.amount
        field.errors.append(refusal_text(exc.reason))
        return _again(account_id, 422, write_off=form)
    return _done(account_id, _("Write-off proposed; a manager decides it."))


@bp.get("/accounts/write-offs")
@requires(Perm.WRITE_OFF_APPROVE)
def write_offs():
    """List the write-off proposals waiting for the user's decision."""
    items = ledger.pending_write_offs(get_db(), actor())
    return render("accounts/write_offs.html", items=items, user_name=user_name,
                  DecideForm=DecideWriteOffForm)


@bp.post("/accounts/write-offs/<int:write_off_id>/decide")
@requires(Perm.WRITE_OFF_APPROVE)
def decide_write_off(write_off_id: int):
    """Approve (booking the write-off) or reject a proposal; never one's own."""
    db = get_db()
    proposal = ledger.get_write_off(db, actor(), write_off_id)
    account_id = proposal.account_id
    form = DecideWriteOffForm(prefix=f"decide-{write_off_id}")
    action = request.form.get("action")
    valid = form.validate()
    if valid and action not in ("approve", "reject"):
        form.form_errors.append(_("Choose to approve or to reject."))
        valid = False
    if not valid:
        return render_account(account_id, status=422, decide=form, decide_id=write_off_id)
    try:
        ledger.decide_write_off(db, actor(), write_off_id, approve=action == "approve",
                                note=form.note.data or "", as_of=today())
    except Refused as exc:
        form.note.errors.append(refusal_text(exc.reason))
        return _again(account_id, 422, decide=form, decide_id=write_off_id)
    message = _("Write-off approved and booked.") if action == "approve" \
        else _("Write-off rejected.")
    if request.form.get("back") == "list":
        flash(message, "success")
        return redirect(url_for("accounts.write_offs"))
    return _done(account_id, message)
