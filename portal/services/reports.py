"""Financial reports over the whole book: AR aging, DSO, CEI, bad-debt ratio, write-offs and
recoveries by month.

Every figure is one SQL aggregation over ``ledger_entries`` (the same SQLAlchemy Core query on
SQLite and PostgreSQL), limited to the clients the actor may see (``clients.visibility``) and
to one currency. Python only turns the few aggregated rows into Money and calls the pure KPI
functions of ``portal.domain.ledger``; it never loops over entries.

"As of D" means: the entries booked on or before D, without reversals and without the entries
a reversal booked on or before D cancels (a reversal booked later does not change the past).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from fractions import Fraction
from typing import Any

from sqlalchemy import BigInteger, Integer, and_, case, cast, exists, extract, func, or_, select
from sqlalchemy.orm import Session, aliased

from portal.domain import ledger as books
from portal.domain.ledger import EntryKind
from portal.domain.money import Money
from portal.domain.permissions import Perm
from portal.models.clients import Client
from portal.models.ledger import Account, LedgerEntry
from portal.services import authz
from portal.services.base import Actor
from portal.services.clients import visibility

#: Ages of the aging buckets, as (first, last) days past due; None: open-ended.
BUCKETS: tuple[tuple[int | None, int | None], ...] = (
    (None, 0), (1, 30), (31, 60), (61, 90), (91, None))

_E = LedgerEntry


def _effective(entry: Any, as_of: date) -> Any:
    """Return the condition for ``entry`` (an alias of LedgerEntry) counting as of a day."""
    reversal = aliased(LedgerEntry)
    return and_(
        entry.booked_on <= as_of,
        entry.kind != EntryKind.REVERSAL,
        ~exists().where(reversal.reverses_id == entry.id, reversal.kind == EntryKind.REVERSAL,
                        reversal.booked_on <= as_of),
    )


def _is_debit(entry: Any) -> Any:
    return or_(entry.kind.in_([EntryKind.CHARGE, EntryKind.FEE]),
               and_(entry.kind == EntryKind.ADJUSTMENT, entry.amount_minor > 0))


def _is_credit(entry: Any) -> Any:
    return or_(entry.kind.in_([EntryKind.PAYMENT, EntryKind.WRITE_OFF]),
               and_(entry.kind == EntryKind.ADJUSTMENT, entry.amount_minor < 0))


def _signed(entry: Any) -> Any:
    """Return the entry's effect on what the client owes (see the domain module)."""
    return case(
        (entry.kind.in_([EntryKind.CHARGE, EntryKind.FEE, EntryKind.ADJUSTMENT]),
         entry.amount_minor),
        (entry.kind.in_([EntryKind.PAYMENT, EntryKind.WRITE_OFF]), -entry.amount_minor),
        else_=0,
    )


def _scope(stmt: Any, actor: Actor, currency: str, entry: Any = _E) -> Any:
    """Join an entry query to its account and client, limited to what the actor may see."""
    return (stmt.join(Account, Account.id == entry.account_id)
            .join(Client, Client.id == Account.client_id)
            .where(visibility(actor), entry.currency == currency))


def _int(value: Any) -> int:
    return int(value or 0)


# Aging ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class AgingRow:
    client_id: int
    client_name: str
    client_number: str | None
    aging: books.Aging


@dataclass(frozen=True)
class AgingReport:
    as_of: date
    currency: str
    rows: list[AgingRow]
    total: books.Aging


def open_debits(actor: Actor, as_of: date, currency: str) -> Any:
    """Return a subquery of every debit's open part as of a day (account, client, due, open).

    Allocation is oldest due first (``books.allocate``), so what the credits of an account
    paid fills its debits in order of (due date, id): with ``running`` the debits' running
    total in that order and ``credits`` the account's total credits,
    ``open = clamp(running − credits, 0, amount)``.
    """
    due = func.coalesce(_E.due_on, _E.booked_on)
    debits = _scope(select(
        _E.id.label("id"), _E.account_id.label("account_id"),
        Account.client_id.label("client_id"), due.label("due"),
        _E.amount_minor.label("amount"),
        func.sum(_E.amount_minor).over(partition_by=_E.account_id, order_by=(due, _E.id),
                                       rows=(None, 0)).label("running"),
    ).select_from(_E), actor, currency).where(_effective(_E, as_of), _is_debit(_E)).subquery()
    paid = aliased(LedgerEntry)
    credits = (select(paid.account_id.label("account_id"),
                      func.sum(func.abs(paid.amount_minor)).label("credits"))
               .where(_effective(paid, as_of), _is_credit(paid), paid.currency == currency)
               .group_by(paid.account_id).subquery())
    rest = debits.c.running - func.coalesce(credits.c.credits, 0)
    open_part = case((rest <= 0, 0), (rest >= debits.c.amount, debits.c.amount), else_=rest)
    return (select(debits.c.id, debits.c.account_id, debits.c.client_id, debits.c.due,
                   open_part.label("open"))
            .select_from(debits)
            .outerjoin(credits, credits.c.account_id == debits.c.account_id)
            .subquery())


def _bucket_sums(debits: Any, as_of: date) -> list[Any]:
    """Return one SUM per aging bucket of the open parts, by days past due as of the day."""
    sums = []
    for first, last in BUCKETS:
        conditions = []
        if first is not None:  # at least `first` days past due: due on or before as_of − first
            conditions.append(debits.c.due <= as_of - timedelta(days=first))
        if last is not None:
            conditions.append(debits.c.due >= as_of - timedelta(days=last))
        sums.append(cast(func.sum(case((and_(*conditions), debits.c.open), else_=0)),
                         BigInteger))
    return sums


def aging_report(db: Session, actor: Actor, as_of: date, currency: str) -> AgingReport:
    """Return the open receivables by days past due as of a day, per client and in total.

    Buckets: current (not yet due, due today included), 1–30, 31–60, 61–90 and over 90 days
    past due. Clients with nothing open are left out.
    """
    authz.require(actor, Perm.REPORTS_VIEW)
    Money(0, currency)  # an unsupported currency raises here
    debits = open_debits(actor, as_of, currency)
    sums = _bucket_sums(debits, as_of)
    stmt = (select(Client.id, Client.name, Client.number, *sums)
            .join(debits, debits.c.client_id == Client.id)
            .group_by(Client.id, Client.name, Client.number)
            .having(func.sum(debits.c.open) > 0)
            .order_by(Client.name, Client.id))
    rows = [AgingRow(r[0], r[1], r[2], books.Aging(*(Money(_int(v), currency) for v in r[3:])))
            for r in db.execute(stmt)]
    return AgingReport(as_of, currency, rows,
                       books.total_aging([r.aging for r in rows], currency))


# Balances and sales --------------------------------------------------------------------------


def receivable(db: Session, actor: Actor, as_of: date, currency: str) -> Money:
    """Return the sum of the visible accounts' balances as of a day (net of write-offs)."""
    stmt = _scope(select(cast(func.sum(_signed(_E)), BigInteger)).select_from(_E), actor,
                  currency).where(_effective(_E, as_of))
    return Money(_int(db.scalar(stmt)), currency)


def _months(first: tuple[int, int], last: tuple[int, int]) -> list[tuple[int, int]]:
    months, (year, month) = [], first
    while (year, month) <= last:
        months.append((year, month))
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return months


def _by_month(db: Session, actor: Actor, currency: str, kinds: list[EntryKind], start: date,
              end: date) -> dict[tuple[int, int], dict[EntryKind, int]]:
    """Return the totals of entries of ``kinds`` booked from start to end, per month and kind
    (entries counting as of ``end``)."""
    year = cast(extract("year", _E.booked_on), Integer)
    month = cast(extract("month", _E.booked_on), Integer)
    stmt = (_scope(select(year, month, _E.kind, cast(func.sum(_E.amount_minor), BigInteger))
                   .select_from(_E), actor, currency)
            .where(_effective(_E, end), _E.kind.in_(kinds), _E.booked_on >= start)
            .group_by(year, month, _E.kind))
    result: dict[tuple[int, int], dict[EntryKind, int]] = {}
    for y, m, kind, total in db.execute(stmt):
        result.setdefault((int(y), int(m)), {})[EntryKind(kind)] = _int(total)
    return result


def _month_start(day: date, back: int = 0) -> date:
    index = day.year * 12 + day.month - 1 - back
    return date(index // 12, index % 12 + 1, 1)


@dataclass(frozen=True)
class DsoReport:
    as_of: date
    currency: str
    receivable: Money
    #: (year, month) → credit sales (charges and fees), oldest first; the last month up to D.
    sales: dict[tuple[int, int], Money]
    countback: Fraction | None
    simple: Fraction | None
    #: Days from the first of the first month to D, both included (the simple DSO's period).
    days: int


def dso_report(db: Session, actor: Actor, as_of: date, months: int = 12,
               currency: str = "HUF") -> DsoReport:
    """Return DSO as of D by the countback method and the simple ``AR / sales × days``.

    AR is the sum of balances as of D (write-offs already subtracted). Credit sales are the
    charges and fees booked per month, over ``months`` months ending with D's month (up to D).
    The simple form uses the same window: ``AR / Σ sales × days in the window``.
    """
    authz.require(actor, Perm.REPORTS_VIEW)
    start = _month_start(as_of, months - 1)
    found = _by_month(db, actor, currency, [EntryKind.CHARGE, EntryKind.FEE], start, as_of)
    sales = {m: Money(sum(found.get(m, {}).values()), currency)
             for m in _months((start.year, start.month), (as_of.year, as_of.month))}
    ar = receivable(db, actor, as_of, currency)
    days = (as_of - start).days + 1
    total_sales = Money(sum(s.minor for s in sales.values()), currency)
    return DsoReport(as_of, currency, ar, sales, books.dso_countback(ar, sales, as_of),
                     books.dso_simple(ar, total_sales, days), days)


# Period KPIs ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class MonthRow:
    year: int
    month: int
    write_offs: Money
    recoveries: Money


@dataclass(frozen=True)
class PeriodReport:
    start: date
    end: date
    currency: str
    opening_ar: Money
    credit_sales: Money
    closing_ar: Money
    closing_current_ar: Money
    write_offs: Money
    recoveries: Money
    cei: Fraction | None
    bad_debt_ratio: Fraction | None
    months: list[MonthRow]


def period_report(db: Session, actor: Actor, start: date, end: date,
                  currency: str = "HUF") -> PeriodReport:
    """Return CEI, the bad-debt ratio and write-offs and recoveries by month for a period.

    ``CEI = (opening AR + credit sales − closing total AR) /
    (opening AR + credit sales − closing current AR) × 100``: opening AR is the balance at the
    end of the day before ``start``, closing total AR at the end of ``end``, closing current AR
    the open debits not yet due at ``end``; credit sales are charges and fees booked in the
    period. ``bad-debt ratio = write-offs / credit sales × 100``. Entries count as of ``end``.
    """
    authz.require(actor, Perm.REPORTS_VIEW)
    if end < start:
        raise ValueError("the period ends before it starts")
    kinds = [EntryKind.CHARGE, EntryKind.FEE, EntryKind.WRITE_OFF, EntryKind.RECOVERY]
    found = _by_month(db, actor, currency, kinds, start, end)
    months = []
    totals = dict.fromkeys(kinds, 0)
    for year, month in _months((start.year, start.month), (end.year, end.month)):
        values = found.get((year, month), {})
        for kind in kinds:
            totals[kind] += values.get(kind, 0)
        months.append(MonthRow(year, month, Money(values.get(EntryKind.WRITE_OFF, 0), currency),
                               Money(values.get(EntryKind.RECOVERY, 0), currency)))
    money = {k: Money(v, currency) for k, v in totals.items()}
    sales = money[EntryKind.CHARGE] + money[EntryKind.FEE]
    opening = receivable(db, actor, start - timedelta(days=1), currency)
    closing = receivable(db, actor, end, currency)
    debits = open_debits(actor, end, currency)
    current = Money(_int(db.scalar(select(cast(func.sum(debits.c.open), BigInteger))
                                   .where(debits.c.due >= end))), currency)
    return PeriodReport(
        start=start, end=end, currency=currency, opening_ar=opening, credit_sales=sales,
        closing_ar=closing, closing_current_ar=current,
        write_offs=money[EntryKind.WRITE_OFF], recoveries=money[EntryKind.RECOVERY],
        cei=books.cei(opening, sales, closing, current),
        bad_debt_ratio=books.bad_debt_ratio(money[EntryKind.WRITE_OFF], sales),
        months=months,
    )


# The stored balances -------------------------------------------------------------------------


def balance_drift(db: Session) -> list[tuple[str, int, int]]:
    """Return every account whose stored balance (``Account.balance_minor``, kept by a database
    trigger for the client list) differs from the sum of its entries: (number, stored, sum)."""
    reversal = aliased(LedgerEntry)
    summed = (select(_E.account_id.label("account_id"),
                     cast(func.sum(_signed(_E)), BigInteger).label("total"))
              .where(~exists().where(reversal.reverses_id == _E.id))
              .group_by(_E.account_id).subquery())
    total = func.coalesce(summed.c.total, 0)
    stmt = (select(Account.number, Account.balance_minor, total)
            .outerjoin(summed, summed.c.account_id == Account.id)
            .where(Account.balance_minor != total).order_by(Account.id))
    return [(number, int(stored), int(sum_)) for number, stored, sum_ in db.execute(stmt)]
