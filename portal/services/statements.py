"""Bank statement import: read a camt.053 or CSV statement, keep each credit once, match it to
an account by the account number the client wrote in the reference, and record the confirmed
ones as payments.

Steps, each a transaction of the request or command that runs it:

1. ``stage``: parse the file; every credit the portal has not seen (by the bank's transaction
   id) becomes a statement line, matched to an account or left unmatched with the reason.
   A CSV whose header the portal does not know needs its column mapping first
   (``NeedsMapping``); a mapping that worked is remembered for that header (the bank).
2. ``confirm``: record the chosen matched lines as payments (``bank_transaction_id`` set, so a
   line is recorded at most once even if two people confirm at once).
3. ``assign``: a person records an unmatched line against an account they choose, or sets it
   aside (``ignore``).

Bank reversals (camt ``RvslInd``: a returned or recalled payment, booked as a debit) are staged
too, as lines with a negative amount pointing at the credit they take back. That credit is
found by the payer's end-to-end id, which the reversal repeats (else by the payer's account and
reference), with the same amount and currency, booked no later, not yet reversed:

* recorded as a payment: the reversal waits beside the matched lines; confirming it reverses
  the payment in the ledger (``ledger.reverse``), so the client owes the money again;
* not recorded yet: both lines are set aside at once ("reversed"); nothing reaches the ledger;
* not found: it waits among the unmatched lines, where it can only be set aside (a person
  reverses the payment by hand); it is never recorded as a payment.

A credit the bank itself marks as a reversal (money back from a reversed debit) is never
matched as a client's payment: it waits for a person.
"""

from __future__ import annotations

import hashlib
import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session, aliased

from portal.banking import (
    BankTransaction,
    ColumnMapping,
    Parsed,
    StatementRejected,
    guess_mapping,
    parse_camt053,
    parse_csv,
    sniff_csv,
)
from portal.domain.ledger import EntryKind
from portal.domain.money import Money
from portal.domain.permissions import Perm
from portal.models.banking import BankMapping, LineStatus, StatementImport, StatementLine
from portal.models.clients import Client
from portal.models.ledger import Account, AccountStatus
from portal.services import audit, authz
from portal.services import ledger as ledger_service
from portal.services.base import Actor, NotFound, ServiceError
from portal.services.clients import visibility

log = logging.getLogger(__name__)

#: An account number as clients write it in a transfer's reference: HK-12345678, HK 1234 5678,
#: hk12345678.
_ACCOUNT_IN_TEXT = re.compile(r"\bHK[\s-]*((?:\d[\s-]*){8})", re.IGNORECASE)


class Rejected(ServiceError):
    """The file is not a statement the portal can read; ``reason`` says why."""

    status = 422

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class NeedsMapping:
    """A CSV whose columns must be named first: the header and a proposed mapping."""

    header: tuple[str, ...]
    proposal: ColumnMapping
    signature: str


@dataclass(frozen=True)
class Staged:
    statement: StatementImport
    lines: list[StatementLine]


def _signature(header: Sequence[str]) -> str:
    normal = "|".join(h.strip().lower() for h in header)
    return hashlib.sha256(normal.encode()).hexdigest()


def remembered_mapping(db: Session, header: Sequence[str]) -> ColumnMapping | None:
    """Return the mapping remembered for a CSV header, if any."""
    row = db.scalar(select(BankMapping).where(BankMapping.signature == _signature(header)))
    return ColumnMapping.from_dict(row.mapping) if row else None


def account_in(reference: str) -> str | None:
    """Return the portal account number written in a payment's reference, if any."""
    match = _ACCOUNT_IN_TEXT.search(reference or "")
    if match is None:
        return None
    return "HK-" + re.sub(r"\D", "", match.group(1))


def _match(db: Session, line: StatementLine) -> None:
    number = account_in(line.reference)
    account = db.scalar(select(Account).where(Account.number == number)) if number else None
    if account is None:
        line.status, line.reason, line.account_id = LineStatus.UNMATCHED, "no_account", None
    elif account.currency != line.currency:
        line.status, line.reason, line.account_id = LineStatus.UNMATCHED, "currency", account.id
    elif account.status is not AccountStatus.OPEN:
        line.status, line.reason, line.account_id = LineStatus.UNMATCHED, "closed", account.id
    else:
        line.status, line.reason, line.account_id = LineStatus.MATCHED, None, account.id


def _reversed_line(db: Session, reversal: BankTransaction) -> StatementLine | None:
    """Return the credit line ``reversal`` takes back, or None when none is found."""
    other = aliased(StatementLine)
    stmt = select(StatementLine).where(
        StatementLine.amount_minor == -reversal.amount.minor,
        StatementLine.currency == reversal.amount.currency,
        StatementLine.booked_on <= reversal.booked_on,
        ~select(other.id).where(other.reverses_line_id == StatementLine.id).exists())
    if reversal.end_to_end_id:
        stmt = stmt.where(StatementLine.end_to_end_id == reversal.end_to_end_id)
    elif reversal.counterparty_account:
        stmt = stmt.where(StatementLine.counterparty_account == reversal.counterparty_account,
                          StatementLine.reference == reversal.reference[:500])
    else:
        return None  # nothing ties it to one payment: a person decides
    return db.scalar(stmt.order_by(StatementLine.booked_on.desc(), StatementLine.id.desc())
                     .limit(1))


def _match_reversal(db: Session, actor: Actor, line: StatementLine,
                    reversal: BankTransaction) -> None:
    """Point a reversal line at the credit it takes back and decide what waits (see above)."""
    original = _reversed_line(db, reversal)
    if original is None:
        line.reason = "reversal_unknown"
        return
    line.reverses_line_id, line.account_id = original.id, original.account_id
    if original.status is LineStatus.RECORDED:
        account = db.get(Account, original.account_id)
        if account.status is not AccountStatus.OPEN:
            line.reason = "closed"
        elif ledger_service.reversed_already(db, original.entry_id):
            line.status, line.reason = LineStatus.IGNORED, "reversed_already"
        else:
            line.status, line.reason = LineStatus.MATCHED, "reversal"
        return
    line.status, line.reason = LineStatus.IGNORED, "reversed"
    if original.status is not LineStatus.IGNORED:
        original.status, original.reason = LineStatus.IGNORED, "reversed"
        audit.record(db, actor, "statement.reversed", object_type="statement_line",
                     object_id=original.id, object_label=original.transaction_id[:200],
                     details={"reversal": reversal.transaction_id[:200]})


def parse(db: Session, data: bytes, *, mapping: ColumnMapping | None = None
          ) -> tuple[str, Parsed] | NeedsMapping:
    """Read a statement file: camt.053 XML, or CSV with a given or remembered mapping."""
    head = data[:512].lstrip(b"\xef\xbb\xbf \t\r\n")
    try:
        if head.startswith(b"<"):
            return "camt053", parse_camt053(data)
        layout = sniff_csv(data)
        chosen = mapping or remembered_mapping(db, layout.header)
        if chosen is None or chosen.missing():
            return NeedsMapping(layout.header, chosen or guess_mapping(layout.header),
                                _signature(layout.header))
        return "csv", parse_csv(data, chosen)
    except StatementRejected as exc:
        raise Rejected(str(exc)[:300]) from exc


def stage(db: Session, actor: Actor, file_name: str, data: bytes, *,
          mapping: ColumnMapping | None = None, bank_name: str = "") -> Staged | NeedsMapping:
    """Read a statement and keep each credit the portal has not seen, matched where it can."""
    authz.require(actor, Perm.LEDGER_RECORD)
    parsed = parse(db, data, mapping=mapping)
    if isinstance(parsed, NeedsMapping):
        return parsed
    kind, result = parsed
    if kind == "csv" and mapping is not None:
        layout = sniff_csv(data)
        signature = _signature(layout.header)
        row = db.scalar(select(BankMapping).where(BankMapping.signature == signature))
        if row is None:
            db.add(BankMapping(signature=signature, name=bank_name[:100],
                               mapping=mapping.as_dict()))
        else:
            row.mapping = mapping.as_dict()
    credits = [t for t in result.transactions if t.is_credit]
    reversals = [t for t in result.transactions if t.reversal and not t.is_credit]
    staged = credits + reversals
    known = set(db.scalars(select(StatementLine.transaction_id).where(
        StatementLine.transaction_id.in_([t.transaction_id for t in staged]))))
    statement = StatementImport(
        file_name=file_name[:255], format=kind, sha256=hashlib.sha256(data).hexdigest(),
        debits=len(result.transactions) - len(staged), errors=[str(e) for e in result.errors],
        imported_by_id=actor.user_id)
    db.add(statement)
    db.flush()
    lines = []
    for transaction in staged:  # credits first: a reversal finds a credit of the same file
        if transaction.transaction_id in known:
            statement.known_lines += 1
            continue
        known.add(transaction.transaction_id)
        line = StatementLine(
            import_id=statement.id, transaction_id=transaction.transaction_id[:200],
            booked_on=transaction.booked_on, amount_minor=transaction.amount.minor,
            currency=transaction.amount.currency,
            counterparty_name=transaction.counterparty_name[:200],
            counterparty_account=transaction.counterparty_account[:40],
            reference=transaction.reference[:500], end_to_end_id=transaction.end_to_end_id,
            status=LineStatus.UNMATCHED)
        if not transaction.is_credit:
            _match_reversal(db, actor, line, transaction)
        elif transaction.reversal:
            line.reason = "bank_reversal"  # money back from a reversed debit: a person decides
        else:
            _match(db, line)
        db.add(line)
        db.flush()
        lines.append(line)
    statement.new_lines = len(lines)
    db.flush()
    audit.record(db, actor, "statement.import", object_type="statement",
                 object_id=statement.id, object_label=statement.file_name[:200],
                 details={"format": kind, "new": statement.new_lines,
                          "known": statement.known_lines, "debits": statement.debits,
                          "errors": len(statement.errors),
                          "matched": sum(1 for x in lines if x.status is LineStatus.MATCHED),
                          "reversals": sum(1 for x in lines if x.is_reversal)})
    return Staged(statement, lines)


def _line(db: Session, actor: Actor, line_id: int) -> StatementLine:
    line = db.get(StatementLine, line_id)
    if line is None:
        raise NotFound("no such statement line")
    if line.account_id is not None:
        account = db.get(Account, line.account_id)
        authz.require(actor, Perm.LEDGER_RECORD, client=account.client)
    else:
        authz.require(actor, Perm.LEDGER_RECORD)
    return line


def _record(db: Session, actor: Actor, line: StatementLine, account_id: int,
            as_of: date) -> None:
    entry = ledger_service.record_entry(db, actor, account_id, ledger_service.EntryData(
        kind=EntryKind.PAYMENT, amount=Money(line.amount_minor, line.currency),
        booked_on=line.booked_on, method="transfer",
        reference=(line.reference or line.counterparty_name)[:140],
        note=f"{line.counterparty_name} {line.counterparty_account}".strip()[:500],
        bank_transaction_id=line.transaction_id), as_of=as_of)
    line.status, line.reason = LineStatus.RECORDED, None
    line.account_id, line.entry_id = account_id, entry.id


def _record_reversal(db: Session, actor: Actor, line: StatementLine, as_of: date) -> bool:
    """Reverse the payment a reversal line takes back; False when it was reversed meanwhile."""
    original = line.reverses
    try:
        entry = ledger_service.reverse(
            db, actor, original.entry_id, booked_on=min(line.booked_on, as_of), as_of=as_of,
            reason=" ".join(x for x in (line.counterparty_name, line.reference,
                                        line.transaction_id) if x)[:500],
            bank_transaction_id=line.transaction_id)
    except ledger_service.Refused as exc:
        if exc.reason != "reversed":
            raise
        db.refresh(line)  # read after the account's lock: a colleague may have confirmed it
        if line.status is LineStatus.MATCHED:
            line.status, line.reason = LineStatus.IGNORED, "reversed_already"
        return False
    line.status, line.reason, line.entry_id = LineStatus.RECORDED, None, entry.id
    return True


def confirm(db: Session, actor: Actor, line_ids: Sequence[int], *, as_of: date) -> int:
    """Record the chosen matched lines: payments, and bank reversals of recorded payments
    (reversed in the ledger); return how many were recorded now."""
    done = 0
    for line_id in sorted(set(line_ids)):
        line = _line(db, actor, line_id)
        if line.status is not LineStatus.MATCHED or line.account_id is None:
            continue  # recorded meanwhile, or not matched: nothing to confirm
        if line.is_reversal:
            done += _record_reversal(db, actor, line, as_of)
        else:
            _record(db, actor, line, line.account_id, as_of)
            done += 1
    db.flush()
    return done


def assign(db: Session, actor: Actor, line_id: int, account_id: int, *, as_of: date) -> None:
    """Record an unmatched line against an account a person chose."""
    line = _line(db, actor, line_id)
    if line.status in (LineStatus.RECORDED, LineStatus.IGNORED):
        raise ledger_service.Refused("decided_already")
    if line.is_reversal or line.reason == "bank_reversal":
        raise ledger_service.Refused("reversal")  # money out, or not a client's payment
    account = ledger_service.get_account(db, actor, account_id)
    if account.currency != line.currency:
        raise ledger_service.Refused("currency")
    _record(db, actor, line, account.id, as_of)
    db.flush()


def ignore(db: Session, actor: Actor, line_id: int, *, note: str) -> None:
    """Set a line aside: it is not a client's payment."""
    line = _line(db, actor, line_id)
    if line.status is LineStatus.RECORDED:
        raise ledger_service.Refused("decided_already")
    line.status, line.reason = LineStatus.IGNORED, "ignored"
    audit.record(db, actor, "statement.ignore", object_type="statement_line",
                 object_id=line.id, object_label=line.transaction_id[:200],
                 details={"note": note.strip()[:200]})
    db.flush()


def waiting(db: Session, actor: Actor, status: LineStatus = LineStatus.UNMATCHED
            ) -> list[StatementLine]:
    """Return the lines waiting (unmatched, or matched and not confirmed), oldest first;
    matched lines only for accounts of clients the actor may see."""
    authz.require(actor, Perm.LEDGER_RECORD)
    stmt = select(StatementLine).where(StatementLine.status == status)
    if status is LineStatus.MATCHED:
        stmt = (stmt.join(Account, Account.id == StatementLine.account_id)
                .join(Client, Client.id == Account.client_id).where(visibility(actor)))
    return list(db.scalars(stmt.order_by(StatementLine.booked_on, StatementLine.id)))
