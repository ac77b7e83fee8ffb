"""Accounts and their ledger: open an account, record entries, reverse them, write off and
recover, and read an account back with its balance, allocation and aging.

Entries are only ever added (the database refuses anything else). Figures of one account
(balance, what each payment paid, aging) come from the pure functions of
``portal.domain.ledger`` over the account's entries; reports across accounts are SQL
aggregations (``portal.services.reports``). Services flush; the request or command commits.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date

from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from portal.db import utcnow
from portal.domain import ledger as books
from portal.domain.ledger import EntryKind
from portal.domain.money import Money
from portal.domain.onboarding import Step
from portal.domain.permissions import Perm
from portal.models.clients import OnboardingStep
from portal.models.ledger import Account, AccountStatus, LedgerEntry, WriteOff, WriteOffStatus
from portal.services import audit, authz
from portal.services.base import Actor, Conflict, Forbidden, NotFound, ServiceError
from portal.services.clients import get_client

log = logging.getLogger(__name__)

#: What a user may record by hand; write-offs come from an approved proposal, reversals from
#: ``reverse``, recoveries from ``record_recovery``.
RECORDABLE = frozenset({EntryKind.CHARGE, EntryKind.PAYMENT, EntryKind.FEE,
                        EntryKind.ADJUSTMENT})
METHODS = ("transfer", "cash", "card", "other")


class Refused(ServiceError):
    """The entry or change is not allowed as asked; ``reason`` says why (views translate it)."""

    status = 422

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


# Accounts ------------------------------------------------------------------------------------


def _lock_account(db: Session, account_id: int) -> None:
    """Make changes to one account's ledger take turns until the transaction ends.

    A no-op update of the account row (PostgreSQL locks the row, SQLite takes its write lock):
    two payments recorded at once both land, and each sees the other's when it checks a cap
    (a recovery, a write-off) or a duplicate key.
    """
    db.execute(update(Account).where(Account.id == account_id)
               .values(version=Account.version).execution_options(synchronize_session=False))


def open_account(db: Session, actor: Actor, client_id: int, *, currency: str,
                 limit_minor: int, opened_on: date, review_id: int | None = None) -> Account:
    """Open a credit account for a client; its number is assigned by the portal."""
    client = get_client(db, actor, client_id, audit_read=False)
    authz.require(actor, Perm.LEDGER_RECORD, client=client)
    if limit_minor < 0:
        raise Refused("limit_negative")
    Money(limit_minor, currency)  # an unsupported currency raises here
    account = Account(client_id=client.id, number=f"pending-{client.id}-{utcnow().timestamp()}",
                      currency=currency, limit_minor=limit_minor, opened_on=opened_on,
                      review_id=review_id, created_by_id=actor.user_id)
    db.add(account)
    db.flush()
    account.number = account_number(account.id)
    audit.record(db, actor, "account.open", object_type="account", object_id=account.id,
                 object_label=f"{client.number} {account.number}",
                 details={"currency": currency, "limit": limit_minor,
                          "opened_on": opened_on.isoformat()})
    if not any(step.step is Step.ACCOUNT_OPENED for step in client.steps):
        client.steps.append(OnboardingStep(step=Step.ACCOUNT_OPENED, done_by_id=actor.user_id))
        audit.record(db, actor, "onboarding.tick", object_type="client", object_id=client.id,
                     object_label=client.number,
                     details={"step": Step.ACCOUNT_OPENED.value, "account": account.id})
    db.flush()
    return account


def open_for_approval(db: Session, actor: Actor, client_id: int, approved: Money, *,
                      review_id: int, opened_on: date) -> Account:
    """Give an approved credit review its account: open one in the approved currency with the
    approved limit, or, when the client has an open account in that currency, set its limit to
    the approved one (the review that did it is remembered either way)."""
    account = db.scalar(select(Account).where(
        Account.client_id == client_id, Account.currency == approved.currency,
        Account.status == AccountStatus.OPEN).order_by(Account.opened_on, Account.id).limit(1))
    if account is None:
        return open_account(db, actor, client_id, currency=approved.currency,
                            limit_minor=approved.minor, opened_on=opened_on,
                            review_id=review_id)
    if (account.limit_minor, account.review_id) != (approved.minor, review_id):
        before = {"limit": account.limit_minor, "review": account.review_id}
        account.limit_minor, account.review_id = approved.minor, review_id
        audit.record(db, actor, "account.limit", object_type="account", object_id=account.id,
                     object_label=account.number,
                     details=audit.diff(before, {"limit": approved.minor, "review": review_id}))
        db.flush()
    return account


def close_account(db: Session, actor: Actor, account_id: int, *, as_of: date) -> Account:
    """Close an account whose balance is zero and which has no write-off waiting for a
    decision; nothing more can be booked on it until it is reopened."""
    account = get_account(db, actor, account_id)
    authz.require(actor, Perm.LEDGER_RECORD, client=account.client)
    if account.status is AccountStatus.CLOSED:
        raise Refused("closed_already")
    _lock_account(db, account.id)
    if books.balance([as_entry(r) for r in _entries(db, account.id)], account.currency).minor:
        raise Refused("balance_not_zero")
    if db.scalar(select(WriteOff.id).where(WriteOff.account_id == account.id,
                                           WriteOff.status == WriteOffStatus.PROPOSED)):
        raise Refused("write_off_pending")
    account.status, account.closed_on = AccountStatus.CLOSED, as_of
    audit.record(db, actor, "account.close", object_type="account", object_id=account.id,
                 object_label=account.number, details={"closed_on": as_of.isoformat()})
    db.flush()
    return account


def reopen_account(db: Session, actor: Actor, account_id: int) -> Account:
    """Open a closed account again (money came in for it, say)."""
    account = get_account(db, actor, account_id)
    authz.require(actor, Perm.LEDGER_RECORD, client=account.client)
    if account.status is AccountStatus.OPEN:
        raise Refused("open_already")
    before = account.closed_on
    account.status, account.closed_on = AccountStatus.OPEN, None
    audit.record(db, actor, "account.reopen", object_type="account", object_id=account.id,
                 object_label=account.number,
                 details={"closed_on": before.isoformat() if before else None})
    db.flush()
    return account


def account_number(account_id: int) -> str:
    """Return an account's number: ``HK-`` and eight digits whose last is a check digit
    (weights 3, 7, 1 repeating, as Hungarian bank account numbers use), so a mistyped
    reference on a bank transfer is noticed instead of matched to another account."""
    digits = f"{account_id:07d}"
    total = sum(int(d) * w for d, w in zip(digits, (3, 7, 1) * 3, strict=False))
    return f"HK-{digits}{(10 - total % 10) % 10}"


def get_account(db: Session, actor: Actor, account_id: int) -> Account:
    """Return an account the actor may see (through its client)."""
    account = db.get(Account, account_id)
    if account is None:
        raise NotFound("no such account")
    authz.require(actor, Perm.ACCOUNTS_VIEW, client=account.client)
    if account.client.restricted:
        audit.record(db, actor, "account.view", object_type="account", object_id=account.id,
                     object_label=account.number)
    return account


def accounts_of_client(db: Session, actor: Actor, client_id: int) -> list[Account]:
    """Return a client's accounts, the open ones first."""
    client = get_client(db, actor, client_id, audit_read=False)
    authz.require(actor, Perm.ACCOUNTS_VIEW, client=client)
    return list(db.scalars(select(Account).where(Account.client_id == client.id)
                           .order_by(Account.status, Account.opened_on, Account.id)))


def _entries(db: Session, account_id: int) -> list[LedgerEntry]:
    return list(db.scalars(select(LedgerEntry).where(LedgerEntry.account_id == account_id)
                           .order_by(LedgerEntry.booked_on, LedgerEntry.id)))


def as_entry(row: LedgerEntry) -> books.Entry:
    """Turn a stored entry into the domain's Entry."""
    return books.Entry(id=row.id, kind=row.kind, amount=Money(row.amount_minor, row.currency),
                       booked_on=row.booked_on, due_on=row.due_on, reverses=row.reverses_id)


@dataclass(frozen=True)
class Statement:
    """An account read back: its entries and every figure worked out from them."""

    account: Account
    entries: list[LedgerEntry]
    balance: Money
    available: Money
    overdue: Money
    #: Days the oldest open debit is past due (0 when nothing is overdue).
    days_overdue: int
    aging: books.Aging
    allocation: books.Allocation
    #: Entry id → the balance after it (entries in booking order).
    running: dict[int, Money]
    written_off: Money
    recovered: Money
    reversed_ids: frozenset[int]


def statement(db: Session, actor: Actor, account_id: int, as_of: date) -> Statement:
    """Read an account with its balance, available limit, overdue amount, aging and what each
    payment paid, as of a day."""
    account = get_account(db, actor, account_id)
    rows = _entries(db, account.id)
    entries = [as_entry(r) for r in rows]
    currency = account.currency
    allocation = books.allocate_entries(entries)
    aging = books.aging(allocation.open_items, as_of, currency)
    kept = {e.id for e in books.effective(entries)}
    running, total = {}, 0
    for entry in entries:
        if entry.id in kept:
            total += entry.signed
        running[entry.id] = Money(total, currency)
    overdue_items = [i for i in allocation.open_items if i.due_on < as_of]
    balance = Money(total, currency)
    return Statement(
        account=account, entries=rows, balance=balance,
        available=Money(max(0, account.limit_minor - max(total, 0)), currency),
        overdue=Money(sum(i.open.minor for i in overdue_items), currency),
        days_overdue=max(((as_of - i.due_on).days for i in overdue_items), default=0),
        aging=aging, allocation=allocation, running=running,
        written_off=books.written_off(entries, currency),
        recovered=books.recovered(entries, currency),
        reversed_ids=frozenset(e.reverses for e in entries if e.reverses is not None),
    )


# Entries -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class EntryData:
    kind: EntryKind
    amount: Money
    booked_on: date
    due_on: date | None = None
    method: str | None = None
    reference: str | None = None
    note: str = ""
    #: The form's one-time key: the same key twice records one entry.
    idempotency_key: str | None = None
    #: A bank statement's transaction id (imports): each is recorded once.
    bank_transaction_id: str | None = None


def _existing(db: Session, data: EntryData) -> LedgerEntry | None:
    if data.idempotency_key:
        found = db.scalar(select(LedgerEntry).where(
            LedgerEntry.idempotency_key == data.idempotency_key))
        if found is not None:
            return found
    if data.bank_transaction_id:
        return db.scalar(select(LedgerEntry).where(
            LedgerEntry.bank_transaction_id == data.bank_transaction_id))
    return None


def _check(account: Account, data: EntryData, as_of: date) -> None:
    if account.status is not AccountStatus.OPEN:
        raise Refused("account_closed")
    if data.amount.currency != account.currency:
        raise Refused("currency")
    if data.booked_on > as_of:
        raise Refused("future_date")
    if data.kind is EntryKind.ADJUSTMENT:
        if data.amount.minor == 0:
            raise Refused("amount_zero")
    elif data.amount.minor <= 0:
        raise Refused("amount_not_positive")
    if data.kind in books.DUE_KINDS and data.due_on is None:
        raise Refused("due_date_missing")
    if data.method is not None and data.method not in METHODS:
        raise Refused("method")


def _add(db: Session, actor: Actor, account: Account, data: EntryData,
         reverses: int | None = None) -> LedgerEntry:
    debit = data.kind in books.DUE_KINDS or (data.kind is EntryKind.ADJUSTMENT
                                             and data.amount.minor > 0)
    entry = LedgerEntry(
        account_id=account.id, kind=data.kind, amount_minor=data.amount.minor,
        currency=data.amount.currency, booked_on=data.booked_on,
        due_on=(data.due_on or (data.booked_on if data.kind is EntryKind.ADJUSTMENT else None))
        if debit else None,
        reverses_id=reverses, method=data.method, reference=(data.reference or "")[:140] or None,
        idempotency_key=data.idempotency_key, bank_transaction_id=data.bank_transaction_id,
        note=data.note.strip()[:2000], created_by_id=actor.user_id)
    db.add(entry)
    try:
        with db.begin_nested():
            db.flush()
    except IntegrityError as exc:  # the same key or bank transaction, recorded meanwhile
        raise Conflict("recorded already") from exc
    db.expire(account, ["balance_minor"])  # the database's trigger has just moved it
    audit.record(db, actor, f"ledger.{data.kind.value}", object_type="account",
                 object_id=account.id, object_label=account.number,
                 details={"entry": entry.id, "amount": data.amount.minor,
                          "currency": data.amount.currency,
                          "booked_on": data.booked_on.isoformat(),
                          "due_on": entry.due_on.isoformat() if entry.due_on else None,
                          "reverses": reverses, "reference": entry.reference,
                          "note": entry.note[:200] or None})
    return entry


def record_entry(db: Session, actor: Actor, account_id: int, data: EntryData, *,
                 as_of: date) -> LedgerEntry:
    """Record a charge, payment, fee or adjustment; the same idempotency key (or bank
    transaction) twice records it once and returns the first."""
    account = get_account(db, actor, account_id)
    authz.require(actor, Perm.LEDGER_RECORD, client=account.client)
    if data.kind not in RECORDABLE:
        raise Refused("kind")
    _lock_account(db, account.id)
    existing = _existing(db, data)
    if existing is not None:
        if existing.account_id != account.id:
            raise Conflict("key used for another account")
        return existing
    _check(account, data, as_of)
    return _add(db, actor, account, data)


def reversed_already(db: Session, entry_id: int | None) -> bool:
    """Tell whether a reversal of entry ``entry_id`` has been recorded."""
    return entry_id is not None and db.scalar(
        select(LedgerEntry.id).where(LedgerEntry.reverses_id == entry_id).limit(1)) is not None


def reverse(db: Session, actor: Actor, entry_id: int, *, reason: str,
            booked_on: date, as_of: date, bank_transaction_id: str | None = None
            ) -> LedgerEntry:
    """Cancel an entry with a reversal that points at it (the entry itself stays).

    ``bank_transaction_id``: the bank's reversal this records (statement imports), kept on the
    entry so that it is recorded once."""
    target = db.get(LedgerEntry, entry_id)
    if target is None:
        raise NotFound("no such entry")
    account = get_account(db, actor, target.account_id)
    authz.require(actor, Perm.LEDGER_RECORD, client=account.client)
    if not reason.strip():
        raise Refused("reason_missing")
    if booked_on > as_of:
        raise Refused("future_date")
    _lock_account(db, account.id)
    entries = [as_entry(r) for r in _entries(db, account.id)]
    refusal = books.reversal_refusal(as_entry(target), entries)
    if refusal is not None:
        raise Refused(refusal)
    data = EntryData(kind=EntryKind.REVERSAL, amount=Money(abs(target.amount_minor),
                                                          target.currency),
                     booked_on=booked_on, note=reason, bank_transaction_id=bank_transaction_id)
    return _add(db, actor, account, data, reverses=target.id)


def record_recovery(db: Session, actor: Actor, account_id: int, data: EntryData, *,
                    as_of: date) -> LedgerEntry:
    """Record money received after a write-off, capped at what was written off and not yet
    recovered; the excess is refused."""
    account = get_account(db, actor, account_id)
    authz.require(actor, Perm.LEDGER_RECORD, client=account.client)
    _lock_account(db, account.id)
    existing = _existing(db, data)
    if existing is not None:
        return existing
    _check(account, EntryData(**{**data.__dict__, "kind": EntryKind.PAYMENT}), as_of)
    entries = [as_entry(r) for r in _entries(db, account.id)]
    excess = books.recovery_excess(books.written_off(entries, account.currency),
                                   books.recovered(entries, account.currency), data.amount)
    if excess.minor > 0:
        raise Refused("recovery_over_write_off")
    return _add(db, actor, account, EntryData(**{**data.__dict__,
                                                 "kind": EntryKind.RECOVERY}))


# Write-offs ----------------------------------------------------------------------------------


def propose_write_off(db: Session, actor: Actor, account_id: int, amount: Money, *,
                      reason: str, as_of: date) -> WriteOff:
    """Propose writing off (part of) an account's balance, with a reason."""
    account = get_account(db, actor, account_id)
    authz.require(actor, Perm.LEDGER_RECORD, client=account.client)
    if not reason.strip():
        raise Refused("reason_missing")
    if amount.currency != account.currency:
        raise Refused("currency")
    if amount.minor <= 0:
        raise Refused("amount_not_positive")
    _lock_account(db, account.id)
    owed = books.balance([as_entry(r) for r in _entries(db, account.id)], account.currency)
    if amount.minor > owed.minor:
        raise Refused("write_off_over_balance")
    proposal = WriteOff(account_id=account.id, amount_minor=amount.minor,
                        currency=amount.currency, reason=reason.strip()[:2000],
                        proposed_by_id=actor.user_id)
    db.add(proposal)
    db.flush()
    audit.record(db, actor, "write_off.propose", object_type="account", object_id=account.id,
                 object_label=account.number,
                 details={"write_off": proposal.id, "amount": amount.minor,
                          "currency": amount.currency, "reason": proposal.reason[:200]})
    return proposal


def decide_write_off(db: Session, actor: Actor, write_off_id: int, *, approve: bool,
                     note: str, as_of: date) -> WriteOff:
    """Approve (adding the write-off entry) or reject a proposal; never one's own."""
    proposal = db.get(WriteOff, write_off_id)
    if proposal is None:
        raise NotFound("no such write-off")
    account = get_account(db, actor, proposal.account_id)
    authz.require(actor, Perm.WRITE_OFF_APPROVE, client=account.client)
    if actor.user is not None and proposal.proposed_by_id == actor.user_id:
        raise Forbidden("nobody approves their own write-off")
    _lock_account(db, account.id)
    db.refresh(proposal)
    if proposal.status is not WriteOffStatus.PROPOSED:
        raise Refused("decided_already")
    if not approve and not note.strip():
        raise Refused("reason_missing")
    if approve:
        owed = books.balance([as_entry(r) for r in _entries(db, account.id)],
                             account.currency)
        if proposal.amount_minor > owed.minor:
            raise Refused("write_off_over_balance")
        entry = _add(db, actor, account, EntryData(
            kind=EntryKind.WRITE_OFF, amount=Money(proposal.amount_minor, proposal.currency),
            booked_on=as_of, note=proposal.reason))
        proposal.entry_id = entry.id
    proposal.status = WriteOffStatus.APPROVED if approve else WriteOffStatus.REJECTED
    proposal.decided_by_id = actor.user_id
    proposal.decided_at = utcnow()
    proposal.decision_note = note.strip()[:2000]
    audit.record(db, actor, "write_off.approve" if approve else "write_off.reject",
                 object_type="account", object_id=account.id, object_label=account.number,
                 details={"write_off": proposal.id, "amount": proposal.amount_minor,
                          "note": proposal.decision_note[:200] or None})
    db.flush()
    return proposal


def pending_write_offs(db: Session, actor: Actor) -> list[WriteOff]:
    """Return the write-off proposals waiting for a decision the actor may take."""
    authz.require(actor, Perm.WRITE_OFF_APPROVE)
    from portal.models.clients import Client
    from portal.services.clients import visibility

    stmt = (select(WriteOff).join(Account, Account.id == WriteOff.account_id)
            .join(Client, Client.id == Account.client_id)
            .where(WriteOff.status == WriteOffStatus.PROPOSED, visibility(actor))
            .order_by(WriteOff.proposed_at))
    return [w for w in db.scalars(stmt) if w.proposed_by_id != actor.user_id]


def client_totals(db: Session, actor: Actor, client_id: int, as_of: date) -> dict[str, Money]:
    """Return a client's balance per currency over all its accounts."""
    totals: dict[str, int] = {}
    for account in accounts_of_client(db, actor, client_id):
        entries = [as_entry(r) for r in _entries(db, account.id)]
        totals[account.currency] = (totals.get(account.currency, 0)
                                    + books.balance(entries, account.currency).minor)
    return {c: Money(v, c) for c, v in totals.items()}


def entry_count(db: Session, account_id: int) -> int:
    """Count an account's entries."""
    return db.scalar(select(func.count()).where(LedgerEntry.account_id == account_id)) or 0


def write_offs_of_account(db: Session, account: Account) -> list[WriteOff]:
    """Return an account's write-off proposals and their outcome, newest first.

    ``account`` is one the caller read with ``get_account`` or ``statement`` (which checked
    the actor may see it and audited the read once).
    """
    return list(db.scalars(select(WriteOff).where(WriteOff.account_id == account.id)
                           .order_by(WriteOff.proposed_at.desc(), WriteOff.id.desc())))


def get_write_off(db: Session, actor: Actor, write_off_id: int) -> WriteOff:
    """Return a write-off proposal the actor may see (through its account's client)."""
    proposal = db.get(WriteOff, write_off_id)
    if proposal is None:
        raise NotFound("no such write-off")
    get_account(db, actor, proposal.account_id)
    return proposal
