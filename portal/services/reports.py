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

from sqlalchemy import BigInteger, String, and_, case, cast, exists, func, or_, select
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import Session, aliased
from sqlalchemy.sql.elements import True_
from sqlalchemy.sql.functions import FunctionElement

from portal.domain import ledger as books
from portal.domain.ledger import EntryKind
from portal.domain.money import Money
from portal.domain.permissions import Perm
from portal.models.clients import Client
from portal.models.ledger import Account, LedgerEntry
from portal.services import authz
from portal.services.base import Actor, unindexed
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
    """Return a SELECT of the ids of the accounts the actor may see; None: every account."""
    condition = visibility(actor)
    if isinstance(condition, True_):
        return None
    return select(Account.id).join(Client, Client.id == Account.client_id).where(condition)


def _visible_condition(entry: Any, actor: Actor) -> list[Any]:
    visible = _visible_accounts(actor)
    return [] if visible is None else [entry.account_id.in_(visible)]


class YearMonth(FunctionElement):
    """A date's year and month as text, ``2026-11``: cheaper than two EXTRACTs per row."""

    type = String()
    inherit_cache = True


@compiles(YearMonth)
def _year_month(element: YearMonth, compiler: Any, **kw: Any) -> str:
    return f"to_char({compiler.process(element.clauses, **kw)}, 'YYYY-MM')"


@compiles(YearMonth, "sqlite")
def _year_month_sqlite(element: YearMonth, compiler: Any, **kw: Any) -> str:
    return f"substr({compiler.process(element.clauses, **kw)}, 1, 7)"  # dates are ISO text


# Sums over the book ---------------------------------------------------------------------------
#
# Reversals are few, so instead of asking of each of a million entries whether a reversal
# cancels it, a sum runs over every entry that is not itself a reversal and then takes back the
# entries that reversals cancel, fetched by id from the few reversal rows. A cancelled entry
# stops counting from the later of its own and its reversal's booking day: ``since`` below.
#
# The aging needs only two things per account (``books.aging_of_balance``): its balance, and
# its debits due after the bucket edges, which are the recent ones and are read through the
# index on the due date. As of today the balance is the stored one (``Account.balance_minor``,
# kept by the database); as of a past day it is one pass over the covering index.

#: A condition on an entry row: (entry alias, the day from which it counts) -> SQL condition.
Condition = Callable[[Any, Any], Any]
Sums = dict[str, tuple[Condition, Callable[[Any], Any]]]


def _reversed(currency: str, until: date) -> Any:
    """Return the ids of the entries that reversals booked by ``until`` cancel.

    Read from the reversal rows through the index on ``reverses_id`` (a few thousand in a
    million), and used as ``id IN (...)``: the database then fetches just those entries.
    """
    reversal = aliased(LedgerEntry)
    return select(reversal.reverses_id).where(
        reversal.reverses_id > 0,  # a range the index serves (IS NOT NULL scans the table)
        unindexed(reversal.currency) == currency, unindexed(reversal.booked_on) <= until)


def _reversed_on(target: Any) -> Any:
    """Return the day the reversal of ``target`` was booked (an index lookup per row)."""
    reversal = aliased(LedgerEntry)
    return (select(reversal.booked_on).where(reversal.reverses_id == target.id)
            .scalar_subquery())


def _since(target: Any) -> Any:
    """Return the day from which a cancelled entry no longer counts."""
    return case((_reversed_on(target) > target.booked_on, _reversed_on(target)),
                else_=target.booked_on)


def _per_account(currency: str, until: date, sums: Sums,
                 where: Callable[[Any], Any] | None = None) -> Any:
    """Return a subquery of one row per account with each named sum.

    ``sums`` maps a name to (condition, value): the sum of ``value(entry)`` over the entries
    that meet ``condition(entry, since)``, reversed entries left out from the day their
    reversal is booked. Only entries booked by ``until`` (and meeting ``where``) are read.
    """
    extra = (lambda entry: [where(entry)]) if where else (lambda entry: [])
    # The conditions on currency and day only filter the rows: found by id with ``where``,
    # else by a scan of the covering index in account order (no sort for the grouping).
    kept = select(_E.account_id.label("account_id"), *(
        func.sum(case((condition(_E, _E.booked_on), value(_E)), else_=0)).label(name)
        for name, (condition, value) in sums.items()
    )).where(unindexed(_E.currency) == currency, unindexed(_E.booked_on) <= until,
             _E.kind != EntryKind.REVERSAL, *extra(_E)).group_by(_E.account_id).subquery()
    target = aliased(LedgerEntry)
    taken = select(target.account_id.label("account_id"), *(
        func.sum(case((condition(target, _since(target)), value(target)), else_=0)).label(name)
        for name, (condition, value) in sums.items()
    )).where(target.id.in_(_reversed(currency, until)), unindexed(target.booked_on) <= until,
             *extra(target)).group_by(target.account_id).subquery()
    return (select(kept.c.account_id, *(
        (kept.c[name] - func.coalesce(taken.c[name], 0)).label(name) for name in sums))
        .select_from(kept).outerjoin(taken, taken.c.account_id == kept.c.account_id)
        .subquery())


def _counts(as_of: date) -> Condition:
    return lambda entry, since: since <= as_of


def _balances(actor: Actor, currency: str, as_of: date, today: date | None) -> Any:
    """Return a subquery of (account_id, client_id, balance) of the visible accounts as of a
    day: the stored balances when ``as_of`` is ``today`` or later (nothing is ever booked
    after today), else summed from the entries."""
    if today is not None and as_of >= today:
        return (select(Account.id.label("account_id"), Account.client_id.label("client_id"),
                       Account.balance_minor.label("balance"))
                .join(Client, Client.id == Account.client_id)
                .where(visibility(actor), Account.currency == currency).subquery())
    sums = _per_account(currency, as_of, {"balance": (_counts(as_of), _signed)})
    return (select(sums.c.account_id, Account.client_id.label("client_id"), sums.c.balance)
            .join(Account, Account.id == sums.c.account_id)
            .join(Client, Client.id == Account.client_id)
            .where(visibility(actor)).subquery())


def _due_after_sums(as_of: date, days: list[date]) -> Sums:
    """Return the sums ``after_0``, ``after_1``, ...: the debits counting as of ``as_of`` that
    fall due after each of ``days``."""
    return {f"after_{i}": ((lambda entry, since, day=day: and_(
        since <= as_of, _is_debit(entry), entry.due_on > day)), _amount)
        for i, day in enumerate(days)}


def _debits_due_after(currency: str, as_of: date, days: list[date]) -> Any:
    """Return a subquery of (account_id, after_0, after_1, ...) (``_due_after_sums``) read
    through the index on the due date: only debits carry one (the database refuses a debit
    without), and those due after a recent day are few."""
    # As ``id IN (...)``: the ids come from the index on the due date alone, and the rows are
    # fetched by id (asked for directly, SQLite would scan the covering index in account order).
    due = aliased(LedgerEntry)
    recent = select(due.id).where(due.due_on > min(days))
    return _per_account(currency, as_of, _due_after_sums(as_of, days),
                        where=lambda entry: entry.id.in_(recent))


def _amount(entry: Any) -> Any:
    return entry.amount_minor


def _open_up_to(balance: Any, later: Any) -> Any:
    """``books.open_up_to`` in SQL: what is open of the debits due by a day."""
    return _positive(balance - func.coalesce(later, 0))


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


def aging_report(db: Session, actor: Actor, as_of: date, currency: str, *,
                 today: date | None = None) -> AgingReport:
    """Return the open receivables by days past due as of a day, per client and in total.

    Buckets: current (not yet due, due today included), 1–30, 31–60, 61–90 and over 90 days
    past due. Clients with nothing open are left out. Credits pay the oldest debits first
    (``books.allocate``); per account the buckets follow from its balance and its debits due
    after each bucket edge (``books.aging_of_balance``), without allocating entry by entry.
    Pass ``today`` to let a report as of today use the stored balances.
    """
    authz.require(actor, Perm.REPORTS_VIEW)
    Money(0, currency)  # an unsupported currency raises here
    edges = [as_of - timedelta(days=edge) for edge in books.AGING_EDGES]
    after = [f"after_{i}" for i in range(len(edges))]
    if today is not None and as_of >= today:  # the stored balances and the recent debits
        later = _debits_due_after(currency, as_of, edges)
        accounts = (select(Account.client_id, Account.balance_minor.label("balance"),
                           *(later.c[name] for name in after))
                    .outerjoin(later, later.c.account_id == Account.id)
                    .where(Account.currency == currency).subquery())
    else:  # as of a past day: the balance and the later debits in one pass over the book
        sums = _per_account(currency, as_of, {"balance": (_counts(as_of), _signed)}
                            | _due_after_sums(as_of, edges))
        accounts = (select(Account.client_id, sums.c.balance, *(sums.c[name] for name in after))
                    .join(Account, Account.id == sums.c.account_id).subquery())
    balance = accounts.c.balance
    opened = [_positive(balance)] + [_open_up_to(balance, accounts.c[name]) for name in after]
    parts = [opened[i] - opened[i + 1] for i in range(len(edges))] + [opened[-1]]
    stmt = (select(Client.id, Client.name, Client.number,
                   *(cast(func.sum(part), BigInteger) for part in parts))
            .join(accounts, accounts.c.client_id == Client.id).where(visibility(actor))
            .group_by(Client.id, Client.name, Client.number)
            .having(func.sum(_positive(balance)) > 0)
            .order_by(Client.name, Client.id))
    found = [(r[0], r[1], r[2], [_int(v) for v in r[3:]]) for r in db.execute(stmt)]
    rows = [AgingRow(i, name, number, books.Aging(*(Money(v, currency) for v in values)))
            for i, name, number, values in found]
    total = books.Aging(*(Money(sum(values[b] for *_, values in found), currency)
                          for b in range(len(parts))))
    return AgingReport(as_of, currency, rows, total)


# Balances and sales --------------------------------------------------------------------------


def receivable(db: Session, actor: Actor, as_of: date, currency: str, *,
               today: date | None = None) -> Money:
    """Return the sum of the visible accounts' balances as of a day (net of write-offs)."""
    balances = _balances(actor, currency, as_of, today)
    return Money(_int(db.scalar(select(cast(func.sum(balances.c.balance), BigInteger)))),
                 currency)


def _months(first: tuple[int, int], last: tuple[int, int]) -> list[tuple[int, int]]:
    months, (year, month) = [], first
    while (year, month) <= last:
        months.append((year, month))
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return months


#: Totals by (year, month, kind, booked on or after the split day).
MonthSums = dict[tuple[int, int, EntryKind, bool], int]

#: Every kind but reversals (a reversal's effect is its target's, taken back).
_BOOKED_KINDS = [k for k in EntryKind if k is not EntryKind.REVERSAL]


def _by_month(db: Session, actor: Actor, currency: str, first: date, end: date,
              split: date) -> tuple[MonthSums, MonthSums]:
    """Return the totals of entries booked from ``first`` to ``end`` per month and kind, apart
    for those booked before ``split``: (all of them, those of them that reversals booked by
    ``end`` cancel). What counts as of ``end`` is the first less the second."""
    results: list[MonthSums] = []
    target = aliased(LedgerEntry)
    for entry, where in ((_E, [_E.kind != EntryKind.REVERSAL]),
                         (target, [target.id.in_(_reversed(currency, end))])):
        # By day first, in the order of the index on (currency, booked on, kind): no sort of
        # the entries; then the few hundred days by month.
        plain = (lambda column: column) if entry is _E else unindexed
        days = (select(entry.booked_on.label("day"), entry.kind.label("kind"),
                       func.sum(entry.amount_minor).label("total"))
                .where(*where, *_visible_condition(entry, actor),
                       plain(entry.currency) == currency, plain(entry.booked_on) >= first,
                       plain(entry.booked_on) <= end)
                .group_by(entry.booked_on, entry.kind).subquery())
        month = YearMonth(days.c.day)
        later = case((days.c.day >= split, 1), else_=0)
        stmt = (select(month, days.c.kind, later, cast(func.sum(days.c.total), BigInteger))
                .group_by(month, days.c.kind, later))
        results.append({(int(ym[:4]), int(ym[5:7]), EntryKind(kind), bool(flag)): _int(total)
                        for ym, kind, flag, total in db.execute(stmt)})
    return results[0], results[1]


def _net(booked: MonthSums, cancelled: MonthSums) -> MonthSums:
    return {key: booked.get(key, 0) - cancelled.get(key, 0) for key in {*booked, *cancelled}}


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
               currency: str = "HUF", *, today: date | None = None) -> DsoReport:
    """Return DSO as of D by the countback method and the simple ``AR / sales × days``.

    AR is the sum of balances as of D (write-offs already subtracted). Credit sales are the
    charges and fees booked per month, over ``months`` months ending with D's month (up to D).
    The simple form uses the same window: ``AR / Σ sales × days in the window``.
    """
    authz.require(actor, Perm.REPORTS_VIEW)
    start = _month_start(as_of, months - 1)
    found = _net(*_by_month(db, actor, currency, start, as_of, start))
    return _dso(as_of, months, currency,
                receivable(db, actor, as_of, currency, today=today), found)


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
#: How each kind's total moves the balance (adjustments carry their own sign).
_DIRECTION = {EntryKind.CHARGE: 1, EntryKind.FEE: 1, EntryKind.ADJUSTMENT: 1,
              EntryKind.PAYMENT: -1, EntryKind.WRITE_OFF: -1, EntryKind.RECOVERY: 0}


def _closing(db: Session, actor: Actor, end: date, currency: str,
             today: date | None) -> tuple[int, int]:
    """Return closing AR and closing current AR (the open debits not yet due at ``end``)."""
    balances = _balances(actor, currency, end, today)
    later = _debits_due_after(currency, end, [end - timedelta(days=1)])
    balance = balances.c.balance
    current = _positive(balance) - _open_up_to(balance, later.c.after_0)
    row = db.execute(select(cast(func.sum(balance), BigInteger),
                            cast(func.sum(current), BigInteger))
                     .select_from(balances)
                     .outerjoin(later, later.c.account_id == balances.c.account_id)).one()
    return _int(row[0]), _int(row[1])


def _cancelled_in(db: Session, actor: Actor, currency: str, start: date, end: date) -> int:
    """Return the balance effect of the entries whose cancellation took effect in the period
    (their ``since`` from ``start`` to ``end``): they count at its start, not at its end."""
    target = aliased(LedgerEntry)
    since = _since(target)
    return _int(db.scalar(select(cast(func.sum(_signed(target)), BigInteger)).where(
        target.id.in_(_reversed(currency, end)), unindexed(target.currency) == currency,
        since >= start, since <= end, *_visible_condition(target, actor))))


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
                  currency: str = "HUF", *, today: date | None = None) -> PeriodReport:
    """Return CEI, the bad-debt ratio and write-offs and recoveries by month for a period.

    ``CEI = (opening AR + credit sales − closing total AR) /
    (opening AR + credit sales − closing current AR) × 100``: opening AR is the balance at the
    end of the day before ``start``, closing total AR at the end of ``end``, closing current AR
    the open debits not yet due at ``end``; credit sales are charges and fees booked in the
    period. ``bad-debt ratio = write-offs / credit sales × 100``. Entries count as of ``end``.
    """
    return kpi_report(db, actor, start, end, currency, dso_months=0, today=today)[0]


def kpi_report(db: Session, actor: Actor, start: date, end: date, currency: str = "HUF",
               dso_months: int = 12, *,
               today: date | None = None) -> tuple[PeriodReport, DsoReport | None]:
    """Return the period report and the DSO as of its end (over ``dso_months`` months; none
    with 0) from one pass over the book by month, the closing balances (stored ones when the
    period ends today) and the recent debits.

    Opening AR is closing AR less what the period moved: the entries booked in it, and the
    cancellations that took effect in it (``_cancelled_in``).
    """
    authz.require(actor, Perm.REPORTS_VIEW)
    if end < start:
        raise ValueError("the period ends before it starts")
    Money(0, currency)  # an unsupported currency raises here
    first = min(start, _month_start(end, dso_months - 1)) if dso_months else start
    booked, cancelled = _by_month(db, actor, currency, first, end, start)
    closing, current = _closing(db, actor, end, currency, today)
    moved = sum(_DIRECTION[kind] * total for (_, _, kind, later), total in booked.items()
                if later) - _cancelled_in(db, actor, currency, start, end)
    found = _net(booked, cancelled)
    period = _period(start, end, currency, found, Money(closing - moved, currency),
                     Money(closing, currency), Money(current, currency))
    dso = _dso(end, dso_months, currency, Money(closing, currency), found) \
        if dso_months else None
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
