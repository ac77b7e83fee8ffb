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

from collections.abc import Callable
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


def _int(value: Any) -> int:
    return int(value or 0)


def _positive(value: Any) -> Any:
    return case((value > 0, value), else_=0)


def _visible_accounts(actor: Actor) -> Any:
    return select(Account.id).join(Client, Client.id == Account.client_id).where(
        visibility(actor))


# One pass over the book -----------------------------------------------------------------------
#
# A report sums entries under conditions ("debits due by D − 31 that count as of D"). Reversals
# are few, so instead of asking of each of a million entries whether a reversal cancels it, a
# report sums every entry that is not itself a reversal and then takes back the entries that
# reversals cancel, from the few reversal rows. A cancelled entry stops counting from the later
# of its own and its reversal's booking day: ``since`` below. Both halves are grouped by
# account in one scan of the covering index; the accounts' figures are then combined per
# client (or for the whole book) in SQL.

#: A condition on an entry row: (entry alias, the day from which it counts) -> SQL condition.
Condition = Callable[[Any, Any], Any]


def _account_sums(actor: Actor, currency: str, until: date,
                  sums: dict[str, tuple[Condition, Callable[[Any], Any]]]) -> Any:
    """Return a subquery of one row per visible account with ``client_id`` and each named sum.

    ``sums`` maps a name to (condition, value): the sum of ``value(entry)`` over the entries
    that meet ``condition(entry, since)``, reversed entries left out from the day their
    reversal is booked. Only entries booked by ``until`` are read.
    """
    kept = select(_E.account_id.label("account_id"), *(
        func.sum(case((condition(_E, _E.booked_on), value(_E)), else_=0)).label(name)
        for name, (condition, value) in sums.items()
    )).where(_E.currency == currency, _E.booked_on <= until,
             _E.kind != EntryKind.REVERSAL).group_by(_E.account_id).subquery()
    reversal, target = aliased(LedgerEntry), aliased(LedgerEntry)
    since = case((reversal.booked_on > target.booked_on, reversal.booked_on),
                 else_=target.booked_on)
    taken = select(target.account_id.label("account_id"), *(
        func.sum(case((condition(target, since), value(target)), else_=0)).label(name)
        for name, (condition, value) in sums.items()
    )).select_from(reversal).join(target, target.id == reversal.reverses_id).where(
        reversal.reverses_id.is_not(None), reversal.currency == currency,
        reversal.booked_on <= until, target.booked_on <= until,
    ).group_by(target.account_id).subquery()
    return (select(Account.client_id.label("client_id"), *(
        (kept.c[name] - func.coalesce(taken.c[name], 0)).label(name) for name in sums))
        .select_from(kept).join(Account, Account.id == kept.c.account_id)
        .join(Client, Client.id == Account.client_id)
        .outerjoin(taken, taken.c.account_id == kept.c.account_id)
        .where(visibility(actor)).subquery())


def _counts(as_of: date) -> Condition:
    return lambda entry, since: since <= as_of


def _debit_due_by(as_of: date, day: date | None) -> Condition:
    def condition(entry: Any, since: Any) -> Any:
        parts = [since <= as_of, _is_debit(entry)]
        if day is not None:
            parts.append(func.coalesce(entry.due_on, entry.booked_on) <= day)
        return and_(*parts)
    return condition


def _credit(as_of: date) -> Condition:
    return lambda entry, since: and_(since <= as_of, _is_credit(entry))


def _amount(entry: Any) -> Any:
    return entry.amount_minor


def _size(entry: Any) -> Any:
    return func.abs(entry.amount_minor)


def _aging_sums(as_of: date) -> dict[str, tuple[Condition, Callable[[Any], Any]]]:
    """Return the sums ``books.aging_of_sums`` needs as of a day."""
    sums = {"debits": (_debit_due_by(as_of, None), _amount),
            "credits": (_credit(as_of), _size)}
    for edge in books.AGING_EDGES:
        sums[f"due_{edge}"] = (_debit_due_by(as_of, as_of - timedelta(days=edge)), _amount)
    return sums


def _aging_columns(accounts: Any) -> list[Any]:
    """Return the five bucket sums (``books.aging_of_sums``, per account, then summed)."""
    credits = accounts.c.credits
    opened = [_positive(accounts.c.debits - credits)] + [
        _positive(accounts.c[f"due_{edge}"] - credits) for edge in books.AGING_EDGES]
    parts = [opened[i] - opened[i + 1] for i in range(len(books.AGING_EDGES))] + [opened[-1]]
    return [cast(func.sum(part), BigInteger) for part in parts]


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


def aging_report(db: Session, actor: Actor, as_of: date, currency: str) -> AgingReport:
    """Return the open receivables by days past due as of a day, per client and in total.

    Buckets: current (not yet due, due today included), 1–30, 31–60, 61–90 and over 90 days
    past due. Clients with nothing open are left out. Credits pay the oldest debits first
    (``books.allocate``); per account the buckets follow from four sums
    (``books.aging_of_sums``), so the report reads the book once without allocating.
    """
    authz.require(actor, Perm.REPORTS_VIEW)
    Money(0, currency)  # an unsupported currency raises here
    accounts = _account_sums(actor, currency, as_of, _aging_sums(as_of))
    buckets = _aging_columns(accounts)
    stmt = (select(Client.id, Client.name, Client.number, *buckets)
            .join(accounts, accounts.c.client_id == Client.id)
            .group_by(Client.id, Client.name, Client.number)
            .having(func.sum(_positive(accounts.c.debits - accounts.c.credits)) > 0)
            .order_by(Client.name, Client.id))
    rows = [AgingRow(r[0], r[1], r[2], books.Aging(*(Money(_int(v), currency) for v in r[3:])))
            for r in db.execute(stmt)]
    return AgingReport(as_of, currency, rows,
                       books.total_aging([r.aging for r in rows], currency))


# Balances and sales --------------------------------------------------------------------------


def receivable(db: Session, actor: Actor, as_of: date, currency: str) -> Money:
    """Return the sum of the visible accounts' balances as of a day (net of write-offs)."""
    accounts = _account_sums(actor, currency, as_of, {"balance": (_counts(as_of), _signed)})
    return Money(_int(db.scalar(select(cast(func.sum(accounts.c.balance), BigInteger)))),
                 currency)


def _months(first: tuple[int, int], last: tuple[int, int]) -> list[tuple[int, int]]:
    months, (year, month) = [], first
    while (year, month) <= last:
        months.append((year, month))
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return months


#: Totals by (year, month, kind, booked on or after the split day).
MonthSums = dict[tuple[int, int, EntryKind, bool], int]


def _by_month(db: Session, actor: Actor, currency: str, kinds: list[EntryKind], first: date,
              end: date, split: date) -> MonthSums:
    """Return the totals of entries of ``kinds`` booked from ``first`` to ``end`` per month and
    kind, apart for those booked before ``split`` (entries counting as of ``end``: those
    reversed by then are taken back)."""
    result: MonthSums = {}
    reversal, target = aliased(LedgerEntry), aliased(LedgerEntry)
    for entry, sign, where in (
        (_E, 1, [_E.kind.in_(kinds)]),
        (target, -1, [reversal.reverses_id.is_not(None), reversal.booked_on <= end,
                      target.kind.in_(kinds)]),
    ):
        year = cast(extract("year", entry.booked_on), Integer)
        month = cast(extract("month", entry.booked_on), Integer)
        later = case((entry.booked_on >= split, 1), else_=0)
        stmt = select(year, month, entry.kind, later,
                      cast(func.sum(entry.amount_minor), BigInteger))
        if entry is target:
            stmt = stmt.select_from(reversal).join(target, target.id == reversal.reverses_id)
        stmt = (stmt.where(*where, entry.currency == currency, entry.booked_on >= first,
                           entry.booked_on <= end,
                           entry.account_id.in_(_visible_accounts(actor)))
                .group_by(year, month, entry.kind, later))
        for y, m, kind, flag, total in db.execute(stmt):
            key = (int(y), int(m), EntryKind(kind), bool(flag))
            result[key] = result.get(key, 0) + sign * _int(total)
    return result


def _month_total(found: MonthSums, year: int, month: int, kinds: tuple[EntryKind, ...],
                 since_split_only: bool = False) -> int:
    flags = (True,) if since_split_only else (True, False)
    return sum(found.get((year, month, kind, flag), 0) for kind in kinds for flag in flags)


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


def _dso(as_of: date, months: int, currency: str, ar: Money, found: MonthSums) -> DsoReport:
    start = _month_start(as_of, months - 1)
    sales = {(y, m): Money(_month_total(found, y, m, (EntryKind.CHARGE, EntryKind.FEE)),
                           currency)
             for y, m in _months((start.year, start.month), (as_of.year, as_of.month))}
    days = (as_of - start).days + 1
    total_sales = Money(sum(s.minor for s in sales.values()), currency)
    return DsoReport(as_of, currency, ar, sales, books.dso_countback(ar, sales, as_of),
                     books.dso_simple(ar, total_sales, days), days)


def dso_report(db: Session, actor: Actor, as_of: date, months: int = 12,
               currency: str = "HUF") -> DsoReport:
    """Return DSO as of D by the countback method and the simple ``AR / sales × days``.

    AR is the sum of balances as of D (write-offs already subtracted). Credit sales are the
    charges and fees booked per month, over ``months`` months ending with D's month (up to D).
    The simple form uses the same window: ``AR / Σ sales × days in the window``.
    """
    authz.require(actor, Perm.REPORTS_VIEW)
    start = _month_start(as_of, months - 1)
    found = _by_month(db, actor, currency, [EntryKind.CHARGE, EntryKind.FEE], start, as_of,
                      start)
    return _dso(as_of, months, currency, receivable(db, actor, as_of, currency), found)


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


_PERIOD_KINDS = [EntryKind.CHARGE, EntryKind.FEE, EntryKind.WRITE_OFF, EntryKind.RECOVERY]


def _closing(db: Session, actor: Actor, start: date, end: date,
             currency: str) -> tuple[Money, Money, Money]:
    """Return opening AR (end of the day before ``start``), closing AR and closing current AR
    (the open debits not yet due at ``end``), from one pass over the book."""
    before = start - timedelta(days=1)
    accounts = _account_sums(actor, currency, end, {
        "opening": (_counts(before), _signed),
        "closing": (_counts(end), _signed),
        "debits": (_debit_due_by(end, None), _amount),
        "overdue": (_debit_due_by(end, end - timedelta(days=1)), _amount),
        "credits": (_credit(end), _size),
    })
    credits = accounts.c.credits
    current = _positive(accounts.c.debits - credits) - _positive(accounts.c.overdue - credits)
    row = db.execute(select(cast(func.sum(accounts.c.opening), BigInteger),
                            cast(func.sum(accounts.c.closing), BigInteger),
                            cast(func.sum(current), BigInteger))).one()
    return tuple(Money(_int(v), currency) for v in row)  # type: ignore[return-value]


def _period(start: date, end: date, currency: str, found: MonthSums, opening: Money,
            closing: Money, current: Money) -> PeriodReport:
    months = []
    totals = dict.fromkeys(_PERIOD_KINDS, 0)
    for year, month in _months((start.year, start.month), (end.year, end.month)):
        values = {kind: _month_total(found, year, month, (kind,), since_split_only=True)
                  for kind in _PERIOD_KINDS}
        for kind in _PERIOD_KINDS:
            totals[kind] += values[kind]
        months.append(MonthRow(year, month, Money(values[EntryKind.WRITE_OFF], currency),
                               Money(values[EntryKind.RECOVERY], currency)))
    money = {k: Money(v, currency) for k, v in totals.items()}
    sales = money[EntryKind.CHARGE] + money[EntryKind.FEE]
    return PeriodReport(
        start=start, end=end, currency=currency, opening_ar=opening, credit_sales=sales,
        closing_ar=closing, closing_current_ar=current,
        write_offs=money[EntryKind.WRITE_OFF], recoveries=money[EntryKind.RECOVERY],
        cei=books.cei(opening, sales, closing, current),
        bad_debt_ratio=books.bad_debt_ratio(money[EntryKind.WRITE_OFF], sales),
        months=months,
    )


def period_report(db: Session, actor: Actor, start: date, end: date,
                  currency: str = "HUF") -> PeriodReport:
    """Return CEI, the bad-debt ratio and write-offs and recoveries by month for a period.

    ``CEI = (opening AR + credit sales − closing total AR) /
    (opening AR + credit sales − closing current AR) × 100``: opening AR is the balance at the
    end of the day before ``start``, closing total AR at the end of ``end``, closing current AR
    the open debits not yet due at ``end``; credit sales are charges and fees booked in the
    period. ``bad-debt ratio = write-offs / credit sales × 100``. Entries count as of ``end``.
    """
    return kpi_report(db, actor, start, end, currency, dso_months=0)[0]


def kpi_report(db: Session, actor: Actor, start: date, end: date, currency: str = "HUF",
               dso_months: int = 12) -> tuple[PeriodReport, DsoReport | None]:
    """Return the period report and the DSO as of its end (over ``dso_months`` months; none
    with 0) from two passes over the book: one for the balances, one for the monthly sums."""
    authz.require(actor, Perm.REPORTS_VIEW)
    if end < start:
        raise ValueError("the period ends before it starts")
    first = min(start, _month_start(end, dso_months - 1)) if dso_months else start
    found = _by_month(db, actor, currency, _PERIOD_KINDS, first, end, start)
    opening, closing, current = _closing(db, actor, start, end, currency)
    period = _period(start, end, currency, found, opening, closing, current)
    dso = _dso(end, dso_months, currency, closing, found) if dso_months else None
    return period, dso


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
