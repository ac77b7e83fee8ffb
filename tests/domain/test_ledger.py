"""The ledger: sign conventions, allocation invariants, aging edges, DSO/CEI worked examples."""

from __future__ import annotations

import random
from datetime import date, timedelta
from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from portal.domain.ledger import (
    AGING_EDGES,
    Aging,
    Entry,
    EntryKind,
    LedgerError,
    OpenItem,
    aging,
    aging_of_balance,
    allocate,
    allocate_entries,
    bad_debt_ratio,
    balance,
    bucket,
    cei,
    dso_countback,
    dso_simple,
    effective,
    may_reverse,
    recovered,
    recovery_allowed,
    recovery_excess,
    reversal_refusal,
    total_aging,
    written_off,
)
from portal.domain.money import Money, MoneyError

K = EntryKind
D = date(2026, 11, 30)


def huf(minor: int) -> Money:
    return Money(minor, "HUF")


def charge(id_: int, amount: int, due: date, kind: EntryKind = K.CHARGE) -> Entry:
    return Entry(id_, kind, huf(amount), due - timedelta(days=30), due_on=due)


def credit(id_: int, amount: int, on: date = D, kind: EntryKind = K.PAYMENT) -> Entry:
    return Entry(id_, kind, huf(amount), on)


def reversal(id_: int, of: int, amount: int) -> Entry:
    return Entry(id_, K.REVERSAL, huf(amount), D, reverses=of)


# Entries and balance --------------------------------------------------------------------------


def test_the_kind_gives_the_sign():
    entries = [
        charge(1, 1000, D), charge(2, 50, D, K.FEE), credit(3, 300),
        Entry(4, K.ADJUSTMENT, huf(20), D), Entry(5, K.ADJUSTMENT, huf(-70), D),
        credit(6, 100, kind=K.WRITE_OFF), credit(7, 40, kind=K.RECOVERY),
    ]
    # 1000 + 50 − 300 + 20 − 70 − 100; the recovery changes nothing.
    assert balance(entries) == huf(600)
    assert [e.signed for e in entries] == [1000, 50, -300, 20, -70, -100, 0]


def test_a_reversal_cancels_the_entry_it_points_at_and_itself():
    entries = [charge(1, 1000, D), credit(2, 300), reversal(3, of=2, amount=300)]
    assert balance(entries) == huf(1000)
    assert [e.id for e in effective(entries)] == [1]
    negative = [charge(1, 1000, D), Entry(2, K.ADJUSTMENT, huf(-200), D),
                reversal(3, of=2, amount=200)]
    assert balance(negative) == huf(1000)


def test_a_kind_given_as_its_value_becomes_the_enum():
    assert Entry(1, "fee", huf(5), D, due_on=D).kind is K.FEE  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        Entry(1, "interest", huf(5), D)  # type: ignore[arg-type]


def test_an_empty_ledger_is_zero_in_the_currency_asked_for():
    assert balance([]) == huf(0)
    assert balance([], currency="EUR") == Money(0, "EUR")


def test_mixed_currencies_are_an_error():
    with pytest.raises(MoneyError):
        balance([charge(1, 100, D), Entry(2, K.PAYMENT, Money(100, "EUR"), D)])
    with pytest.raises(MoneyError):
        balance([charge(1, 100, D)], currency="EUR")


@pytest.mark.parametrize("make", [
    lambda: Entry(1, K.CHARGE, huf(100), D),  # no due date
    lambda: Entry(1, K.CHARGE, huf(0), D, due_on=D),
    lambda: Entry(1, K.PAYMENT, huf(-5), D),
    lambda: Entry(1, K.PAYMENT, huf(5), D, due_on=D),
    lambda: Entry(1, K.ADJUSTMENT, huf(0), D),
    lambda: Entry(1, K.ADJUSTMENT, huf(-5), D, due_on=D),
    lambda: Entry(1, K.REVERSAL, huf(5), D),  # points nowhere
    lambda: Entry(1, K.PAYMENT, huf(5), D, reverses=2),
])
def test_malformed_entries_are_refused(make):
    with pytest.raises(LedgerError):
        make()


@pytest.mark.parametrize("entries", [
    [charge(1, 100, D), reversal(2, of=9, amount=100)],
    [charge(1, 100, D), reversal(2, of=1, amount=100), reversal(3, of=2, amount=100)],
    [charge(1, 100, D), reversal(2, of=1, amount=100), reversal(3, of=1, amount=100)],
    [charge(1, 100, D), reversal(2, of=1, amount=99)],
    [charge(1, 100, D), credit(1, 100)],
])
def test_inconsistent_ledgers_are_refused(entries):
    with pytest.raises(LedgerError):
        balance(entries)


def test_write_off_and_recovery_totals_leave_reversed_ones_out():
    entries = [charge(1, 1000, D), credit(2, 600, kind=K.WRITE_OFF),
               credit(3, 100, kind=K.WRITE_OFF), reversal(4, of=3, amount=100),
               credit(5, 50, kind=K.RECOVERY), credit(6, 20, kind=K.RECOVERY),
               reversal(7, of=6, amount=20)]
    assert written_off(entries) == huf(600)
    assert recovered(entries) == huf(50)
    assert balance(entries) == huf(400)


# Allocation -----------------------------------------------------------------------------------


def test_a_payment_pays_the_oldest_due_first_then_the_lowest_id():
    charges = [charge(3, 100, date(2026, 10, 1)), charge(1, 100, date(2026, 11, 1)),
               charge(2, 100, date(2026, 10, 1), K.FEE)]
    result = allocate(charges, [credit(10, 150)])
    assert result.payments[0].paid == {2: huf(100), 3: huf(50)}
    assert result.payments[0].unallocated == huf(0)
    assert result.open == {2: huf(0), 3: huf(50), 1: huf(100)}
    assert result.open_items == (OpenItem(3, date(2026, 10, 1), huf(50)),
                                 OpenItem(1, date(2026, 11, 1), huf(100)))


def test_payments_apply_in_booking_order_and_overpayment_is_credit():
    charges = [charge(1, 100, date(2026, 9, 1)), charge(2, 100, date(2026, 10, 1))]
    payments = [credit(20, 80, date(2026, 11, 2)), credit(21, 150, date(2026, 11, 1))]
    result = allocate(charges, payments)
    first, second = result.payments
    assert first.payment_id == 21 and first.paid == {1: huf(100), 2: huf(50)}
    assert second.payment_id == 20 and second.paid == {2: huf(50)}
    assert second.unallocated == huf(30) and result.credit == 30
    assert result.open_items == ()


def test_write_offs_and_negative_adjustments_allocate_like_payments():
    entries = [charge(1, 100, date(2026, 9, 1)), Entry(2, K.ADJUSTMENT, huf(40), D),
               credit(3, 60, kind=K.WRITE_OFF), Entry(4, K.ADJUSTMENT, huf(-50), D),
               credit(5, 999), reversal(6, of=5, amount=999)]
    result = allocate_entries(entries)
    assert result.open == {1: huf(0), 2: huf(30)}
    assert result.open_items == (OpenItem(2, D, huf(30)),)  # due on its booking day


def test_allocation_refuses_credits_among_charges():
    with pytest.raises(LedgerError):
        allocate([credit(1, 10)], [])
    with pytest.raises(LedgerError):
        allocate([charge(1, 10, D)], [charge(2, 10, D)])


days = st.integers(min_value=0, max_value=400).map(lambda n: date(2026, 1, 1) + timedelta(n))
amounts = st.integers(min_value=1, max_value=10**9)


@st.composite
def ledgers(draw):
    n_charges = draw(st.integers(0, 8))
    n_payments = draw(st.integers(0, 8))
    ids = draw(st.lists(st.integers(1, 10**6), min_size=n_charges + n_payments,
                        max_size=n_charges + n_payments, unique=True))
    charges = [Entry(ids[i], draw(st.sampled_from([K.CHARGE, K.FEE, K.ADJUSTMENT])),
                     huf(draw(amounts)), date(2026, 1, 1), due_on=draw(days))
               for i in range(n_charges)]
    payments = []
    for i in range(n_payments):
        kind = draw(st.sampled_from([K.PAYMENT, K.WRITE_OFF, K.ADJUSTMENT]))
        amount = draw(amounts) * (-1 if kind is K.ADJUSTMENT else 1)
        payments.append(Entry(ids[n_charges + i], kind, huf(amount), draw(days)))
    return charges, payments


@given(ledgers())
def test_allocation_invariants(ledger):
    charges, payments = ledger
    result = allocate(charges, payments)
    by_charge = {c.id: 0 for c in charges}
    for payment, allocation in zip(sorted(payments, key=lambda p: (p.booked_on, p.id)),
                                   result.payments, strict=True):
        assert allocation.payment_id == payment.id
        paid = sum(m.minor for m in allocation.paid.values())
        assert all(m.minor > 0 for m in allocation.paid.values())
        assert paid <= abs(payment.amount.minor)  # never more than the payment
        assert paid + allocation.unallocated.minor == abs(payment.amount.minor)
        for charge_id, money in allocation.paid.items():
            by_charge[charge_id] += money.minor
    for c in charges:
        assert by_charge[c.id] <= c.amount.minor  # never more than the charge
        assert by_charge[c.id] + result.open[c.id].minor == c.amount.minor
    total_paid = sum(abs(p.amount.minor) for p in payments)
    total_charged = sum(c.amount.minor for c in charges)
    assert sum(by_charge.values()) == min(total_paid, total_charged)
    assert sum(i.open.minor for i in result.open_items) == total_charged - sum(by_charge.values())
    assert total_charged - total_paid == \
        sum(i.open.minor for i in result.open_items) - result.credit
    assert balance([*charges, *payments]) == huf(total_charged - total_paid)


@given(ledgers(), st.randoms(use_true_random=False))
def test_allocation_does_not_depend_on_the_input_order(ledger, rnd: random.Random):
    charges, payments = ledger
    shuffled_charges, shuffled_payments = list(charges), list(payments)
    rnd.shuffle(shuffled_charges)
    rnd.shuffle(shuffled_payments)
    assert allocate(charges, payments) == allocate(shuffled_charges, shuffled_payments)


@given(ledgers())
def test_an_open_charge_never_precedes_a_paid_one(ledger):
    charges, payments = ledger
    result = allocate(charges, payments)
    order = sorted(charges, key=lambda c: (c.due_on, c.id))
    fully_open = [result.open[c.id] == c.amount for c in order]
    # Once a charge is untouched, every later one is untouched too.
    assert fully_open == sorted(fully_open)


@given(ledgers(), st.data())
def test_reversing_entries_is_the_same_as_never_booking_them(ledger, data):
    entries = [*ledger[0], *ledger[1]]
    targets = data.draw(st.lists(st.sampled_from(entries), unique_by=lambda e: e.id)
                        if entries else st.just([]))
    next_id = max((e.id for e in entries), default=0) + 1
    reversals = [reversal(next_id + i, of=e.id, amount=abs(e.amount.minor))
                 for i, e in enumerate(targets)]
    undone = {e.id for e in targets}
    kept = [e for e in entries if e.id not in undone]
    mixed = data.draw(st.permutations([*entries, *reversals]))
    assert balance(mixed) == balance(kept)
    assert allocate_entries(mixed) == allocate_entries(kept)


# Aging ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(("days_past_due", "index"), [
    (-5, 0), (0, 0), (1, 1), (30, 1), (31, 2), (60, 2), (61, 3), (90, 3), (91, 4), (400, 4)])
def test_bucket_edges(days_past_due, index):
    assert bucket(days_past_due) == index


@given(ledgers(), st.integers(-60, 400))
def test_aging_from_the_balance_and_later_debits_equals_aging_after_allocation(ledger, offset):
    """The reports' formula gives what allocating entry by entry gives."""
    charges, payments = ledger
    entries = [*charges, *payments]
    as_of = date(2026, 1, 1) + timedelta(days=offset)
    expected = aging(allocate_entries(entries).open_items, as_of)
    later = [sum(e.amount.minor for e in entries
                 if e.is_debit and e.due > as_of - timedelta(days=edge))
             for edge in AGING_EDGES]
    assert aging_of_balance(balance(entries).minor, later) == expected


def test_aging_from_the_balance_on_a_worked_example():
    # 10 000 owed: 2 000 due 95 days ago, 4 000 due 40 days ago, 4 000 not yet due; 3 000 paid,
    # so the balance is 7 000; due after 1 and 31 days back: 4 000, after 61 and 91: 8 000.
    result = aging_of_balance(7_000, [4_000, 4_000, 8_000, 8_000])
    assert result == Aging(huf(4_000), huf(0), huf(3_000), huf(0), huf(0))
    assert aging_of_balance(-500, [4_000] * 4) == Aging(*[huf(0)] * 5)  # paid in advance


def test_aging_of_open_items_as_of_a_day():
    items = [OpenItem(i, D - timedelta(days=age), huf(amount)) for i, (age, amount) in
             enumerate([(-1, 1), (0, 2), (30, 4), (31, 8), (60, 16), (61, 32), (90, 64),
                        (91, 128)])]
    result = aging(items, D)
    assert result == Aging(huf(3), huf(4), huf(24), huf(96), huf(128))
    assert result.total == huf(255) and result.past_due == huf(252)


def test_aging_after_allocation_and_summed_per_client():
    account_a = allocate_entries([charge(1, 100, date(2026, 8, 1)), charge(2, 100, D),
                                  credit(3, 50)])
    account_b = allocate_entries([charge(1, 70, date(2026, 10, 31))])
    a, b = aging(account_a.open_items, D), aging(account_b.open_items, D)
    assert a == Aging(huf(100), huf(0), huf(0), huf(0), huf(50))
    client = total_aging([a, b])
    assert client == Aging(huf(100), huf(70), huf(0), huf(0), huf(50))
    assert total_aging([], "EUR").total == Money(0, "EUR")
    assert aging([], D, "EUR").total == Money(0, "EUR")


# DSO, CEI, bad debt ---------------------------------------------------------------------------


def test_dso_countback_worked_example():
    # November (30 days) is covered fully, 50 of 150 left; October adds 50/80 of its 31 days.
    sales = {(2026, 11): huf(100), (2026, 10): huf(80)}
    assert dso_countback(huf(150), sales, D) == 30 + Fraction(50, 80) * 31 == Fraction(395, 8)


def test_dso_countback_within_the_first_month_and_a_partial_month_of_d():
    sales = {(2026, 11): huf(100)}
    assert dso_countback(huf(40), sales, D) == Fraction(40, 100) * 30
    assert dso_countback(huf(100), sales, D) == 30  # exactly covered
    # As of 15 Nov, November counts 15 days.
    assert dso_countback(huf(50), {(2026, 11): huf(100)}, date(2026, 11, 15)) == Fraction(15, 2)


def test_dso_countback_over_a_year_end_and_a_month_without_sales():
    sales = {(2027, 1): huf(100), (2026, 11): huf(60)}
    # Jan 1–10: 10 days, 30 left; December: no sales, 31 days; November: 30/60 of 30 days.
    assert dso_countback(huf(130), sales, date(2027, 1, 10)) == 10 + 31 + 15
    # 200: January leaves 100, November's 60 leaves 40 that no month given covers.
    assert dso_countback(huf(200), sales, date(2027, 1, 10)) is None


def test_dso_countback_edges():
    sales = {(2026, 11): huf(100), (2026, 10): huf(80)}
    assert dso_countback(huf(0), sales, D) == 0
    assert dso_countback(huf(-10), sales, D) == 0
    assert dso_countback(huf(181), sales, D) is None  # older than the history given
    assert dso_countback(huf(10), {}, D) is None
    with pytest.raises(MoneyError):
        dso_countback(huf(10), {(2026, 11): Money(10, "EUR")}, D)


def test_dso_simple_worked_example():
    assert dso_simple(huf(150), huf(180), 61) == Fraction(150, 180) * 61
    assert dso_simple(huf(150), huf(0), 61) is None


def test_cei_worked_example():
    # (1000 + 500 − 600) / (1000 + 500 − 300) × 100 = 900 / 1200 × 100 = 75
    assert cei(huf(1000), huf(500), huf(600), huf(300)) == 75
    assert cei(huf(1000), huf(500), huf(300), huf(300)) == 100  # everything due was collected
    assert cei(huf(0), huf(0), huf(0), huf(0)) is None
    with pytest.raises(MoneyError):
        cei(huf(1), Money(1, "EUR"), huf(0), huf(0))


def test_bad_debt_ratio_worked_example():
    assert bad_debt_ratio(huf(30), huf(1200)) == Fraction(5, 2)
    assert bad_debt_ratio(huf(30), huf(0)) is None


# Recovery cap and reversal of write-offs ------------------------------------------------------


def test_recovery_is_capped_at_the_amount_written_off():
    assert recovery_allowed(huf(600), huf(500), huf(100))
    assert not recovery_allowed(huf(600), huf(500), huf(101))
    assert recovery_excess(huf(600), huf(500), huf(130)) == huf(30)
    assert recovery_excess(huf(600), huf(0), huf(600)) == huf(0)
    assert not recovery_allowed(huf(600), huf(0), huf(0))
    assert not recovery_allowed(huf(0), huf(0), huf(1))


@given(st.integers(0, 10**9).flatmap(lambda w: st.tuples(st.just(w), st.integers(0, w))),
       st.integers(1, 10**9))
def test_what_the_cap_lets_through_never_exceeds_the_write_off(cap, amount):
    written, so_far = cap
    excess = recovery_excess(huf(written), huf(so_far), huf(amount)).minor
    assert 0 <= excess <= amount
    # The part that fits brings the recoveries up to the write-off at most, and no fitting
    # part is refused.
    assert so_far + amount - excess == min(written, so_far + amount)
    assert recovery_allowed(huf(written), huf(so_far), huf(amount)) == (excess == 0)


def test_a_write_off_is_not_reversed_while_a_recovery_exists():
    write_off = credit(2, 600, kind=K.WRITE_OFF)
    recovery = credit(3, 50, kind=K.RECOVERY)
    entries = [charge(1, 1000, D), write_off, recovery]
    assert reversal_refusal(write_off, entries) == "recovery"
    assert not may_reverse(write_off, entries)
    assert may_reverse(recovery, entries)
    # Once the recovery is reversed, the write-off may be undone.
    undone = [*entries, reversal(4, of=3, amount=50)]
    assert may_reverse(write_off, undone)


def test_reversals_and_reversed_entries_are_not_reversed_again():
    entries = [charge(1, 1000, D), credit(2, 100), reversal(3, of=2, amount=100)]
    assert reversal_refusal(entries[1], entries) == "reversed"
    assert reversal_refusal(entries[2], entries) == "reversal"
    assert may_reverse(entries[0], entries)
