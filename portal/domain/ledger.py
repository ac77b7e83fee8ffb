"""The ledger of an account: entries, balance, allocation, aging and the collection KPIs.

Pure: no Flask, no SQLAlchemy, no clock (the caller passes ``as_of``). Money is integer minor
units with a currency; ratios and day counts are exact fractions.

Sign convention. ``Entry.amount`` is positive for every kind except an adjustment, whose amount
carries its own sign (never zero). The kind gives the effect on what the client owes:

- charge, fee, positive adjustment: **+ amount** (the client owes more);
- payment, write-off, negative adjustment: **− |amount|** (the client owes less);
- recovery: **0**. Money received after a write-off is income against the amount written off,
  not a reduction of the balance (the written-off debt has already left the balance). The
  recoveries of an account are capped at its write-offs (``recovery_excess``);
- reversal: **0**, and the entry it points at (``reverses``) counts as if it had never been
  booked. Its amount repeats the size of the reversed entry's amount (positive, also for a
  negative adjustment), for the record. A reversal cannot itself be reversed (book the entry
  again instead), and an entry is reversed at most once.

So ``balance = Σ charges + Σ fees + Σ adjustments − Σ payments − Σ write-offs`` over the
entries that are not reversed. Write-offs are subtracted, so a balance is already net of
written-off debt, which is what DSO and the aging want.
"""

from __future__ import annotations

import calendar
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from enum import StrEnum
from fractions import Fraction

from portal.domain.money import Money, MoneyError


class LedgerError(ValueError):
    """Entries that do not form a consistent ledger."""


class EntryKind(StrEnum):
    CHARGE = "charge"
    PAYMENT = "payment"
    FEE = "fee"
    ADJUSTMENT = "adjustment"
    WRITE_OFF = "write_off"
    RECOVERY = "recovery"
    REVERSAL = "reversal"


#: Kinds that carry a due date and are owed by it.
DUE_KINDS = frozenset({EntryKind.CHARGE, EntryKind.FEE})


@dataclass(frozen=True)
class Entry:
    """One append-only ledger line.

    ``amount`` is positive, except for an adjustment, where its sign says which way the
    adjustment goes. ``due_on`` is required for charges and fees, optional for a positive
    adjustment (without one it is due on ``booked_on``) and absent otherwise. ``reverses`` is
    the id of the reversed entry, set on reversals only.
    """

    id: int
    kind: EntryKind
    amount: Money
    booked_on: date
    due_on: date | None = None
    reverses: int | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "kind", EntryKind(self.kind))  # "fee" as read from a row
        minor = self.amount.minor
        if self.kind is EntryKind.ADJUSTMENT:
            if minor == 0:
                raise LedgerError("an adjustment of zero")
        elif minor <= 0:
            raise LedgerError(f"a {self.kind.value} must have a positive amount")
        if self.kind in DUE_KINDS and self.due_on is None:
            raise LedgerError(f"a {self.kind.value} needs a due date")
        if self.due_on is not None and not self.is_debit:
            raise LedgerError(f"a {self.kind.value} has no due date")
        if (self.kind is EntryKind.REVERSAL) != (self.reverses is not None):
            raise LedgerError("a reversal, and only a reversal, points at an entry")

    @property
    def signed(self) -> int:
        """Return the effect on what the client owes, in minor units (see the module)."""
        if self.kind in DUE_KINDS or self.kind is EntryKind.ADJUSTMENT:
            return self.amount.minor
        if self.kind in (EntryKind.PAYMENT, EntryKind.WRITE_OFF):
            return -self.amount.minor
        return 0

    @property
    def is_debit(self) -> bool:
        """Tell whether the entry is owed: a charge, a fee or a positive adjustment."""
        return self.signed > 0

    @property
    def is_credit(self) -> bool:
        """Tell whether the entry pays off debits: a payment, a write-off, a negative adjustment."""
        return self.signed < 0

    @property
    def due(self) -> date:
        """Return when a debit falls due: its due date, else the day it was booked."""
        return self.due_on or self.booked_on


def _currency(entries: Iterable[Entry], currency: str | None) -> str:
    """Return the common currency of the entries (the first one's); another is an error."""
    for entry in entries:
        if currency is None:
            currency = entry.amount.currency
        elif entry.amount.currency != currency:
            raise MoneyError(f"cannot mix {currency} and {entry.amount.currency}")
    return currency or "HUF"


def effective(entries: Iterable[Entry]) -> tuple[Entry, ...]:
    """Return the entries that count: neither reversals nor reversed, in the given order.

    Raise LedgerError for a reversal of an unknown entry, of a reversal, of another amount or
    a second reversal of the same entry, and for two entries with one id.
    """
    entries = tuple(entries)
    by_id: dict[int, Entry] = {}
    for entry in entries:
        if entry.id in by_id:
            raise LedgerError(f"two entries with id {entry.id}")
        by_id[entry.id] = entry
    reversed_ids: set[int] = set()
    for entry in entries:
        if entry.reverses is None:
            continue
        target = by_id.get(entry.reverses)
        if target is None:
            raise LedgerError(f"entry {entry.id} reverses an unknown entry {entry.reverses}")
        if target.kind is EntryKind.REVERSAL:
            raise LedgerError(f"entry {entry.id} reverses a reversal")
        if entry.amount.minor != abs(target.amount.minor):
            raise LedgerError(f"entry {entry.id} reverses another amount than entry {target.id}")
        if target.id in reversed_ids:
            raise LedgerError(f"entry {target.id} is reversed twice")
        reversed_ids.add(target.id)
    return tuple(e for e in entries
                 if e.kind is not EntryKind.REVERSAL and e.id not in reversed_ids)


def balance(entries: Iterable[Entry], currency: str | None = None) -> Money:
    """Return what the client owes: the sum of the signed effects of the effective entries.

    ``balance = Σ charges + Σ fees + Σ adjustments − Σ payments − Σ write-offs``; recoveries
    and reversals add nothing and reversed entries are left out. Negative means the client is
    in credit. Every entry must be in the currency of the first (or ``currency`` when given);
    with no entries the balance is zero in ``currency`` (HUF by default).
    """
    entries = tuple(entries)
    code = _currency(entries, currency)
    return Money(sum(e.signed for e in effective(entries)), code)


def _total(entries: Iterable[Entry], kind: EntryKind, currency: str | None) -> Money:
    entries = tuple(entries)
    code = _currency(entries, currency)
    return Money(sum(e.amount.minor for e in effective(entries) if e.kind is kind), code)


def written_off(entries: Iterable[Entry], currency: str | None = None) -> Money:
    """Return the total of the write-offs that are not reversed."""
    return _total(entries, EntryKind.WRITE_OFF, currency)


def recovered(entries: Iterable[Entry], currency: str | None = None) -> Money:
    """Return the total of the recoveries that are not reversed."""
    return _total(entries, EntryKind.RECOVERY, currency)


# Allocation ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class PaymentAllocation:
    """What one credit paid: debit id → amount, and what is left over as the client's credit."""

    payment_id: int
    paid: Mapping[int, Money]
    unallocated: Money


@dataclass(frozen=True)
class OpenItem:
    """A debit with what is still open of it after allocation."""

    entry_id: int
    due_on: date
    open: Money


@dataclass(frozen=True)
class Allocation:
    #: One per credit, in the order they were applied (booked date, then id).
    payments: tuple[PaymentAllocation, ...]
    #: Debit id → what is left open of it (zero when fully paid), for every debit.
    open: Mapping[int, Money]
    #: The debits with something left open, oldest due first (due date, then id).
    open_items: tuple[OpenItem, ...]

    @property
    def credit(self) -> int:
        """Return the unallocated total of all credits, in minor units."""
        return sum(p.unallocated.minor for p in self.payments)


def allocate(charges: Sequence[Entry], payments: Sequence[Entry]) -> Allocation:
    """Allocate payments to the oldest open debits first.

    Credits (payments, write-offs, negative adjustments) are applied in the order they were
    booked (booked date, then id); each pays the open debits (charges, fees, positive
    adjustments) in order of due date, then id, until it is used up. What a credit cannot place
    stays unallocated: the client's credit. Hence, per credit, Σ paid + unallocated = its
    amount; per debit, Σ paid to it + open = its amount; and Σ all paid = min(Σ credits,
    Σ debits). The result depends on the entries, not on the order they are passed in.
    Reversed entries must be filtered out first (``effective``; ``allocate_entries`` does both).
    """
    code = _currency((*charges, *payments), None)
    ids = [e.id for e in (*charges, *payments)]
    if len(set(ids)) != len(ids):
        raise LedgerError("two entries with one id")
    if not all(c.is_debit for c in charges) or not all(p.is_credit for p in payments):
        raise LedgerError("charges must be debits and payments credits")
    debits = sorted(charges, key=lambda e: (e.due, e.id))
    remaining = {d.id: d.amount.minor for d in debits}
    results = []
    for credit in sorted(payments, key=lambda e: (e.booked_on, e.id)):
        left = -credit.signed
        paid: dict[int, Money] = {}
        for debit in debits:
            if left == 0:
                break
            part = min(left, remaining[debit.id])
            if part:
                paid[debit.id] = Money(part, code)
                remaining[debit.id] -= part
                left -= part
        results.append(PaymentAllocation(credit.id, paid, Money(left, code)))
    open_items = tuple(OpenItem(d.id, d.due, Money(remaining[d.id], code))
                       for d in debits if remaining[d.id])
    return Allocation(tuple(results), {i: Money(v, code) for i, v in remaining.items()},
                      open_items)


def allocate_entries(entries: Iterable[Entry]) -> Allocation:
    """Allocate the effective credits of a ledger to its effective debits (see ``allocate``)."""
    kept = effective(entries)
    return allocate([e for e in kept if e.is_debit], [e for e in kept if e.is_credit])


# Aging --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Aging:
    """Open amounts by days past due: ``as_of − due date``, in days.

    current: ≤ 0 (not yet due; due today is not past due); then 1–30, 31–60, 61–90 and over
    90 days past due.
    """

    current: Money
    days_1_30: Money
    days_31_60: Money
    days_61_90: Money
    over_90: Money

    @property
    def total(self) -> Money:
        return self.current + self.days_1_30 + self.days_31_60 + self.days_61_90 + self.over_90

    @property
    def past_due(self) -> Money:
        return self.total - self.current

    def __add__(self, other: Aging) -> Aging:
        return Aging(self.current + other.current, self.days_1_30 + other.days_1_30,
                     self.days_31_60 + other.days_31_60, self.days_61_90 + other.days_61_90,
                     self.over_90 + other.over_90)


def bucket(days_past_due: int) -> int:
    """Return the bucket index: 0 current (≤ 0), 1 for 1–30, 2 for 31–60, 3 for 61–90, 4 over."""
    if days_past_due <= 0:
        return 0
    return min((days_past_due - 1) // 30 + 1, 4)


def aging(open_items: Iterable[OpenItem], as_of: date, currency: str = "HUF") -> Aging:
    """Sort the open amounts (after allocation) into buckets by their due dates as of a day.

    With no items every bucket is zero in ``currency``; otherwise the items' currency is used
    and must be the same for all.
    """
    items = tuple(open_items)
    if items:
        currency = items[0].open.currency
    sums = [Money(0, currency)] * 5
    for item in items:
        index = bucket((as_of - item.due_on).days)
        sums[index] = sums[index] + item.open
    return Aging(*sums)


#: The bucket edges in days past due: the debits due at least this many days before the day.
AGING_EDGES = (1, 31, 61, 91)


def open_up_to(balance: int, debits_due_after: int) -> int:
    """Return what is still open of an account's debits due by some day, in minor units.

    Credits pay the debits oldest due first, whenever either was booked, so the debits due
    after the day are the last to be paid: what is open of those due by the day is the
    balance less the later ones, ``max(0, balance − debits due after the day)``. (With
    ``C`` the credits and ``S`` the debits, the open part of those due by the day is
    ``max(0, S(by the day) − C)``, and ``S(by the day) − C = balance − S(after the day)``.)
    With nothing due after the day it is the open total, ``max(0, balance)``.
    """
    return max(0, balance - debits_due_after)


def aging_of_balance(balance: int, debits_due_after: Sequence[int],
                     currency: str = "HUF") -> Aging:
    """Return one account's aging from its balance and the sums of its debits due after each
    bucket edge, without allocating entry by entry.

    ``debits_due_after[i]`` is the sum of the debits due after ``as_of − AGING_EDGES[i]``
    days (the edges 1, 31, 61 and 91 days past due). With ``open(x) = open_up_to(balance, x)``::

        over 90 = open(after −91)              61–90 = open(after −61) − open(after −91)
        31–60   = open(after −31) − open(after −61)
        1–30    = open(after −1) − open(after −31)
        current = open(nothing) − open(after −1)

    This equals ``aging(allocate_entries(...).open_items, as_of)``. The debits due after the
    edges are the recent ones, so the reports read them through the index on the due date
    and take the balance from the account.

    >>> aging_of_balance(7_000, [4_000, 4_000, 8_000, 8_000]).days_31_60
    Money(minor=3000, currency='HUF')
    """
    if len(debits_due_after) != len(AGING_EDGES):
        raise ValueError("one sum per aging edge")
    opened = [open_up_to(balance, 0)] + [open_up_to(balance, s) for s in debits_due_after]
    parts = [opened[i] - opened[i + 1] for i in range(len(AGING_EDGES))] + [opened[-1]]
    return Aging(*(Money(p, currency) for p in parts))


def total_aging(agings: Iterable[Aging], currency: str = "HUF") -> Aging:
    """Sum the agings of several accounts (a client's, or the whole book) bucket by bucket."""
    zero = Money(0, currency)
    result = Aging(zero, zero, zero, zero, zero)
    agings = tuple(agings)
    if agings:
        result = agings[0]
    for item in agings[1:]:
        result = result + item
    return result


# KPIs ---------------------------------------------------------------------------------------


def _check(currency: str, *amounts: Money) -> None:
    for amount in amounts:
        if amount.currency != currency:
            raise MoneyError(f"cannot mix {currency} and {amount.currency}")


def _previous(year: int, month: int) -> tuple[int, int]:
    return (year - 1, 12) if month == 1 else (year, month - 1)


def dso_countback(receivable: Money, sales: Mapping[tuple[int, int], Money],
                  as_of: date) -> Fraction | None:
    """Return days sales outstanding as of D by the countback method.

    Walk back month by month from D's month, subtracting each month's credit sales from the
    receivable. A month whose sales the remainder covers fully (remaining > sales) adds all its
    days; the month where the remainder runs out adds ``remaining / that month's sales × its
    days`` and the walk stops. D's own month counts its days up to and including D (the 30th
    of November counts 30 days; the 15th, 15); earlier months count their full length. Months
    missing from ``sales`` had none.

    Example: AR 150, sales Nov 100 and Oct 80, as of 30 Nov: November is covered (30 days,
    50 left), October adds 50/80 × 31, so DSO = 30 + 19.375 = 49.375 days.

    The receivable is the balance net of write-offs (``balance`` subtracts them), so written-off
    debt is excluded. A receivable ≤ 0 gives 0. None when the months given, back to the earliest
    key of ``sales``, do not cover the receivable (more history is needed).
    """
    _check(receivable.currency, *sales.values())
    remaining = Fraction(receivable.minor)
    if remaining <= 0:
        return Fraction(0)
    earliest = min(sales, default=(as_of.year, as_of.month))
    year, month = as_of.year, as_of.month
    days = Fraction(0)
    while (year, month) >= earliest:
        length = as_of.day if (year, month) == (as_of.year, as_of.month) \
            else calendar.monthrange(year, month)[1]
        month_sales = sales.get((year, month), Money(0, receivable.currency)).minor
        if remaining > month_sales:
            days += length
            remaining -= month_sales
        else:
            return days + remaining / month_sales * length
        year, month = _previous(year, month)
    return None


def dso_simple(receivable: Money, sales: Money, days: int) -> Fraction | None:
    """Return the simple DSO ``AR / credit sales × days`` over a period of ``days`` days.

    Example: AR 150 and sales of 180 over 61 days give 150 / 180 × 61 = 50.83… days.
    None when there were no sales (sales ≤ 0).
    """
    _check(receivable.currency, sales)
    if sales.minor <= 0:
        return None
    return Fraction(receivable.minor, sales.minor) * days


def cei(opening_ar: Money, credit_sales: Money, closing_total_ar: Money,
        closing_current_ar: Money) -> Fraction | None:
    """Return the collection effectiveness index over a period, in percent.

    ``CEI = (opening AR + credit sales − closing total AR) /
    (opening AR + credit sales − closing current AR) × 100``, "current" meaning not yet due.
    Example: opening 1000, sales 500, closing total 600, closing current 300 give
    900 / 1200 × 100 = 75 %. None when the denominator is not positive (zero: nothing was
    collectable; below zero the figures are inconsistent).
    """
    _check(opening_ar.currency, credit_sales, closing_total_ar, closing_current_ar)
    base = opening_ar.minor + credit_sales.minor
    denominator = base - closing_current_ar.minor
    if denominator <= 0:
        return None
    return Fraction(base - closing_total_ar.minor, denominator) * 100


def bad_debt_ratio(write_offs: Money, credit_sales: Money) -> Fraction | None:
    """Return ``write-offs / credit sales × 100`` over a period, in percent.

    Write-offs are those booked in the period and not reversed. Example: 30 written off
    against 1200 of sales is 2.5 %. None when there were no sales (sales ≤ 0).
    """
    _check(write_offs.currency, credit_sales)
    if credit_sales.minor <= 0:
        return None
    return Fraction(write_offs.minor, credit_sales.minor) * 100


# Recovery and reversal checks ---------------------------------------------------------------


def recovery_excess(written_off_total: Money, recovered_so_far: Money, amount: Money) -> Money:
    """Return how much of a new recovery goes beyond the cap (zero when it fits).

    The cap: ``recovered so far + amount ≤ written off``, all net of reversals, so the excess
    is ``max(0, recovered so far + amount − written off)``.
    """
    _check(written_off_total.currency, recovered_so_far, amount)
    excess = recovered_so_far.minor + amount.minor - written_off_total.minor
    return Money(max(0, excess), amount.currency)


def recovery_allowed(written_off_total: Money, recovered_so_far: Money, amount: Money) -> bool:
    """Tell whether a recovery of ``amount`` (positive) fits under the cap."""
    return amount.minor > 0 and \
        recovery_excess(written_off_total, recovered_so_far, amount).minor == 0


def reversal_refusal(entry: Entry, entries: Iterable[Entry]) -> str | None:
    """Return why ``entry`` may not be reversed, as a short code, or None when it may.

    "reversal": a reversal is never reversed; "reversed": it is reversed already; "recovery":
    it is a write-off and the account has a recovery that is not reversed (undoing the
    write-off would leave money recovered against debt no longer written off).
    """
    entries = tuple(entries)
    if entry.kind is EntryKind.REVERSAL:
        return "reversal"
    if any(e.reverses == entry.id for e in entries):
        return "reversed"
    if entry.kind is EntryKind.WRITE_OFF and any(
            e.kind is EntryKind.RECOVERY for e in effective(entries)):
        return "recovery"
    return None


def may_reverse(entry: Entry, entries: Iterable[Entry]) -> bool:
    """Tell whether ``entry`` may be reversed, given the account's entries."""
    return reversal_refusal(entry, entries) is None
