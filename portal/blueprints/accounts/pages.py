"""How the account pages are put together: the client's accounts, the account page with its
ledger (newest first, paged) and quick forms, and the words for the service's refusals."""

from __future__ import annotations

from flask import current_app
from flask_babel import gettext as _
from flask_login import current_user

from portal.blueprints import actor, page_arg
from portal.blueprints.accounts import bp
from portal.blueprints.accounts.forms import (
    AdjustmentForm,
    ChargeForm,
    DecideWriteOffForm,
    FeeForm,
    PaymentForm,
    RecoveryForm,
    ReverseForm,
    WriteOffForm,
)
from portal.db import get_db
from portal.domain.money import Money
from portal.domain.permissions import Perm
from portal.i18n import today
from portal.labels import (
    ACCOUNT_STATUS_LABELS,
    ENTRY_KIND_LABELS,
    METHOD_LABELS,
    WRITE_OFF_STATUS_LABELS,
)
from portal.models.ledger import WriteOffStatus
from portal.models.users import User
from portal.rendering import render
from portal.services import ledger
from portal.services.base import Page

#: The quick forms of the account page, by name.
ENTRY_FORMS = {"payment": PaymentForm, "charge": ChargeForm, "fee": FeeForm,
               "adjustment": AdjustmentForm, "recovery": RecoveryForm}


def refusal_text(reason: str) -> str:
    """Say in the user's language why the ledger refused a change."""
    messages = {
        "amount_not_positive": _("The amount must be more than zero."),
        "amount_zero": _("An adjustment cannot be zero."),
        "future_date": _("The date cannot be in the future."),
        "currency": _("The amount is not in the account's currency."),
        "due_date_missing": _("Enter the day it is due."),
        "account_closed": _("The account is closed: nothing more can be booked on it."),
        "reason_missing": _("Give a reason."),
        "reversed": _("This entry is reversed already."),
        "reversal": _("A reversal cannot be reversed; book the entry again instead."),
        "recovery": _("This write-off has recoveries booked against it; reverse them first."),
        "recovery_over_write_off": _("A recovery cannot be more than what was written off "
                                     "and not yet recovered."),
        "write_off_over_balance": _("A write-off cannot be more than the balance owed."),
        "decided_already": _("This proposal has been decided already."),
        "kind": _("This kind of entry cannot be recorded by hand."),
        "method": _("Choose how the payment came."),
        "limit_negative": _("The limit cannot be negative."),
        "balance_not_zero": _("Only an account with nothing owed and nothing paid in advance "
                              "can be closed."),
        "write_off_pending": _("A write-off proposal waits for a decision: decide it first."),
        "closed_already": _("The account is closed already."),
        "open_already": _("The account is open already."),
    }
    return messages.get(reason, _("This change is not possible."))


def label_of(table):
    """Return a lookup that takes an enum member or its stored value."""
    return lambda value: table.get(value, value) if value is not None else ""


@bp.app_context_processor
def _ledger_labels():
    return {
        "entry_kind_label": label_of(ENTRY_KIND_LABELS),
        "account_status_label": label_of(ACCOUNT_STATUS_LABELS),
        "write_off_status_label": label_of(WRITE_OFF_STATUS_LABELS),
        "method_label": label_of(METHOD_LABELS),
    }


def user_name(user_id: int | None) -> str:
    """Return a user's name for the page ("—" for nobody)."""
    user = get_db().get(User, user_id) if user_id else None
    return user.full_name if user else "—"


def client_accounts(client_id: int) -> dict:
    """Return a client's accounts with their statements and the totals per currency."""
    db, who = get_db(), actor()
    rows = []
    balance: dict[str, Money] = {}
    overdue: dict[str, Money] = {}
    for account in ledger.accounts_of_client(db, who, client_id):
        st = ledger.statement(db, who, account.id, today())
        rows.append(st)
        cur = account.currency
        balance[cur] = balance.get(cur, Money(0, cur)) + st.balance
        overdue[cur] = overdue.get(cur, Money(0, cur)) + st.overdue
    return {"statements": rows, "balance": balance, "overdue": overdue}


def render_account(account_id: int, status: int = 200, **forms):
    """Render the account page (or its main part for htmx) with fresh quick forms, except
    those passed in ``forms`` (kept with the user's input and messages)."""
    db, who = get_db(), actor()
    st = ledger.statement(db, who, account_id, today())
    per_page = current_app.config["PAGE_SIZE"]
    newest = list(reversed(st.entries))
    pages = max(1, -(-len(newest) // per_page))
    number = min(page_arg(), pages)
    page = Page(newest[(number - 1) * per_page:number * per_page], len(newest), number,
                per_page)
    paid = {p.payment_id: p for p in st.allocation.payments}
    proposals = ledger.write_offs_of_account(db, st.account)
    may_record = current_user.can(Perm.LEDGER_RECORD)
    may_decide = current_user.can(Perm.WRITE_OFF_APPROVE)
    ctx = {}
    if may_record:
        for name, cls in ENTRY_FORMS.items():
            ctx[name] = forms.get(name) or cls.fresh(today())
        ctx["reverse"] = forms.get("reverse")
        ctx["reverse_entry"] = forms.get("reverse_entry")
        ctx["write_off"] = forms.get("write_off") or WriteOffForm(formdata=None)
    ctx["decide"] = forms.get("decide")
    ctx["decide_id"] = forms.get("decide_id")
    return render("accounts/show.html", "accounts/_account.html", status=status,
                  st=st, account=st.account, page=page, paid=paid,
                  entries_by_id={e.id: e for e in st.entries}, proposals=proposals,
                  may_record=may_record, may_decide=may_decide, Proposed=WriteOffStatus.PROPOSED,
                  user_name=user_name, ReverseForm=ReverseForm,
                  DecideForm=DecideWriteOffForm, message=forms.get("message"),
                  message_error=forms.get("message_error"), **ctx)
