"""Reports at the service level: the SQL aggregations agree with the pure ledger functions."""

from __future__ import annotations

from datetime import date, timedelta
from fractions import Fraction

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from portal.domain import ledger as books
from portal.domain.ledger import EntryKind
from portal.domain.money import Money
from portal.models import LedgerEntry
from portal.models.ledger import Account
from portal.services import reports
from portal.services.base import Actor, Forbidden
from tests.conftest import make_client

BASE = date(2026, 1, 1)
AS_OF = date(2026, 11, 30)


def huf(minor: int) -> Money:
    return Money(minor, "HUF")


def _account(db, name: str, **client_fields) -> Account:
    client = make_client(db, name, **client_fields)
    account = Account(client_id=client.id, number=f"T-{client.id}", currency="HUF",
                      limit_minor=0, opened_on=BASE)
    db.add(account)
    db.flush()
    return account


def _add(db, account: Account, kind: EntryKind, amount: int, booked: date,
         due: date | None = None, reverses: int | None = None) -> LedgerEntry:
    row = LedgerEntry(account_id=account.id, kind=kind, amount_minor=amount, currency="HUF",
                      booked_on=booked, due_on=due, reverses_id=reverses)
    db.add(row)
    db.flush()
    return row


# The SQL against the domain on random ledgers --------------------------------------------------

_KINDS = [EntryKind.CHARGE, EntryKind.FEE, EntryKind.PAYMENT, EntryKind.ADJUSTMENT,
          EntryKind.WRITE_OFF, EntryKind.RECOVERY]

entry_specs = st.tuples(
    st.sampled_from(_KINDS),
    st.integers(1, 1000),
    st.booleans(),  # an adjustment's sign
    st.integers(0, 200),  # booked, days after BASE
    st.integers(0, 60),  # due, days after booked
    st.booleans(),  # a positive adjustment due the day it is booked
    st.one_of(st.none(), st.integers(0, 40)),  # reversed, so many days after booking
)
ledgers = st.lists(st.lists(entry_specs, max_size=12), min_size=1, max_size=4)


def _build(db, number: int, specs) -> tuple[Account, list[books.Entry]]:
    account = _account(db, f"Random {number}")
    domain: list[books.Entry] = []
    for kind, amount, negative, booked, due, no_due, reversed_after in specs:
        booked_on = BASE + timedelta(days=booked)
        signed = -amount if kind is EntryKind.ADJUSTMENT and negative else amount
        debit = kind in books.DUE_KINDS or (kind is EntryKind.ADJUSTMENT and signed > 0)
        # A positive adjustment booked without a due date falls due the day it is booked.
        due_on = (booked_on if kind is EntryKind.ADJUSTMENT and no_due
                  else booked_on + timedelta(days=due)) if debit else None
        row = _add(db, account, kind, signed, booked_on, due_on)
        domain.append(books.Entry(row.id, kind, huf(signed), booked_on, due_on))
        if reversed_after is not None:
            when = booked_on + timedelta(days=reversed_after)
            back = _add(db, account, EntryKind.REVERSAL, amount, when, reverses=row.id)
            domain.append(books.Entry(back.id, EntryKind.REVERSAL, huf(amount), when,
                                      reverses=row.id))
    return account, domain


@pytest.fixture
def every_ledger() -> list[list[books.Entry]]:
    """The ledgers built so far in this test's database (they stay across examples)."""
    return []


@settings(max_examples=30, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(ledgers=ledgers, days=st.lists(st.integers(0, 280), min_size=1, max_size=3))
def test_aging_and_balance_in_sql_equal_the_domain(db, every_ledger, ledgers, days):
    """Several accounts per example in one database: each client's row equals allocate+aging,
    the receivable the sum of the balances, credit sales and write-offs the domain's sums."""
    built = [_build(db, len(every_ledger) + n, specs) for n, specs in enumerate(ledgers)]
    every_ledger.extend(entries for _, entries in built)
    db.commit()
    for offset in days:
        as_of = BASE + timedelta(days=offset)
        report = reports.aging_report(db, Actor(None), as_of, "HUF")
        by_client = {row.client_id: row.aging for row in report.rows}
        for account, entries in built:
            known = [e for e in entries if e.booked_on <= as_of]
            expected = books.aging(books.allocate_entries(known).open_items, as_of, "HUF")
            zero = huf(0)
            got = by_client.get(account.client_id, books.Aging(zero, zero, zero, zero, zero))
            assert got == expected, (as_of, entries)
            assert got.total.minor > 0 or account.client_id not in by_client
        assert report.total == books.total_aging([r.aging for r in report.rows], "HUF")
        known = [[e for e in entries if e.booked_on <= as_of] for entries in every_ledger]
        assert reports.receivable(db, Actor(None), as_of, "HUF") == huf(
            sum(books.balance(entries, "HUF").minor for entries in known))
        period = reports.period_report(db, Actor(None), BASE, as_of, "HUF")
        kept = [e for entries in known for e in books.effective(entries)]
        assert period.credit_sales.minor == sum(
            e.amount.minor for e in kept if e.kind in books.DUE_KINDS)
        assert (period.write_offs, period.recoveries) == (
            books.written_off([e for e in kept if e.kind is EntryKind.WRITE_OFF], "HUF"),
            books.recovered([e for e in kept if e.kind is EntryKind.RECOVERY], "HUF"))


# Worked examples -------------------------------------------------------------------------------


@pytest.fixture
def people(staff):
    return {"clerk": Actor(staff.clerk), "coord": Actor(staff.coordinator),
            "coord2": Actor(staff.coordinator2), "manager": Actor(staff.manager),
            "admin": Actor(staff.admin)}


def test_aging_buckets_at_their_edges(db, people):
    """Due on D is current; 1, 30 | 31, 60 | 61, 90 | 91 days past due fall as the domain says."""
    account = _account(db, "Határ Hedvig")
    for days, amount in [(0, 1), (1, 10), (30, 100), (31, 1_000), (60, 10_000), (61, 100_000),
                         (90, 1_000_000), (91, 10_000_000), (-5, 100_000_000)]:
        due = AS_OF - timedelta(days=days)
        _add(db, account, EntryKind.CHARGE, amount, min(due, AS_OF), due)
    db.commit()
    report = reports.aging_report(db, people["manager"], AS_OF, "HUF")
    (row,) = report.rows
    assert row.aging == books.Aging(huf(100_000_001), huf(110), huf(11_000), huf(1_100_000),
                                    huf(10_000_000))
    assert report.total == row.aging


def test_payments_fill_the_oldest_due_first_and_reversals_count_as_of_their_day(db, people):
    account = _account(db, "Fizető Ferenc")
    _add(db, account, EntryKind.CHARGE, 500, date(2026, 9, 1), date(2026, 9, 15))
    _add(db, account, EntryKind.CHARGE, 300, date(2026, 10, 1), date(2026, 10, 31))
    payment = _add(db, account, EntryKind.PAYMENT, 600, date(2026, 11, 5))
    _add(db, account, EntryKind.REVERSAL, 600, date(2026, 11, 20), reverses=payment.id)
    db.commit()
    before = reports.aging_report(db, people["manager"], date(2026, 11, 10), "HUF")
    # 600 paid the September charge (500) and 100 of October's: 200 open, 10 days past due.
    assert before.rows[0].aging.days_1_30 == huf(200)
    assert before.total.total == huf(200)
    after = reports.aging_report(db, people["manager"], AS_OF, "HUF")
    assert after.rows[0].aging.days_61_90 == huf(500)  # due 15 Sep: 76 days
    assert after.rows[0].aging.days_1_30 == huf(300)  # due 31 Oct: 30 days
    assert reports.receivable(db, people["manager"], date(2026, 11, 10), "HUF") == huf(200)
    assert reports.receivable(db, people["manager"], AS_OF, "HUF") == huf(800)


def test_other_currencies_are_left_out(db, people):
    account = _account(db, "Euró Emma")
    account.currency = "EUR"
    db.flush()
    db.add(LedgerEntry(account_id=account.id, kind=EntryKind.CHARGE, amount_minor=1250,
                       currency="EUR", booked_on=date(2026, 11, 1), due_on=date(2026, 11, 2)))
    db.commit()
    assert reports.aging_report(db, people["manager"], AS_OF, "HUF").rows == []
    eur = reports.aging_report(db, people["manager"], AS_OF, "EUR")
    assert eur.total.days_1_30 == Money(1250, "EUR")


def test_restricted_clients_are_left_out_for_a_coordinator_who_may_not_see_them(db, staff,
                                                                                 people):
    seen = _account(db, "Nyílt Nóra")
    mine = _account(db, "Saját Sára", restricted=True, coordinator_id=staff.coordinator.id)
    hidden = _account(db, "Titkos Tamás", restricted=True,
                      coordinator_id=staff.coordinator2.id)
    for account, amount in [(seen, 100), (mine, 20), (hidden, 3)]:
        _add(db, account, EntryKind.CHARGE, amount, date(2026, 11, 1), date(2026, 11, 1))
    db.commit()
    coord = reports.aging_report(db, people["coord"], AS_OF, "HUF")
    assert [r.client_name for r in coord.rows] == ["Nyílt Nóra", "Saját Sára"]
    assert coord.total.total == huf(120)
    assert reports.receivable(db, people["coord"], AS_OF, "HUF") == huf(120)
    manager = reports.aging_report(db, people["manager"], AS_OF, "HUF")
    assert manager.total.total == huf(123)
    assert reports.period_report(db, people["coord2"], date(2026, 11, 1), AS_OF,
                                 "HUF").credit_sales == huf(103)


@pytest.mark.parametrize("who", ["clerk", "admin"])
def test_reports_need_the_permission(db, people, who):
    with pytest.raises(Forbidden):
        reports.aging_report(db, people[who], AS_OF, "HUF")
    with pytest.raises(Forbidden):
        reports.period_report(db, people[who], date(2026, 1, 1), AS_OF, "HUF")
    with pytest.raises(Forbidden):
        reports.dso_report(db, people[who], AS_OF, 12, "HUF")


def test_dso_countback_and_simple_worked_example(db, people):
    """AR 150, sales Nov 100 and Oct 80 as of 30 Nov: countback 30 + 50/80 × 31 = 49.375."""
    account = _account(db, "Forgó Flóra")
    _add(db, account, EntryKind.CHARGE, 80, date(2026, 10, 10), date(2026, 11, 10))
    _add(db, account, EntryKind.CHARGE, 60, date(2026, 11, 3), date(2026, 12, 3))
    _add(db, account, EntryKind.FEE, 40, date(2026, 11, 20), date(2026, 12, 20))
    _add(db, account, EntryKind.PAYMENT, 30, date(2026, 11, 25))
    reversed_ = _add(db, account, EntryKind.CHARGE, 999, date(2026, 11, 26), date(2026, 12, 1))
    _add(db, account, EntryKind.REVERSAL, 999, date(2026, 11, 27), reverses=reversed_.id)
    db.commit()
    report = reports.dso_report(db, people["manager"], AS_OF, 2, "HUF")
    assert report.receivable == huf(150)
    assert report.sales == {(2026, 10): huf(80), (2026, 11): huf(100)}
    assert report.countback == Fraction(49375, 1000)
    assert report.days == 61
    assert report.simple == Fraction(150, 180) * 61
    # A receivable the window does not cover has no countback figure.
    assert reports.dso_report(db, people["manager"], AS_OF, 1, "HUF").countback is None


def test_the_kpi_page_figures_equal_the_separate_reports_for_a_mid_month_period(db, people):
    """One pass serves the period and the DSO: a period starting on the 15th leaves out what
    was booked earlier that month, while the DSO's month counts it."""
    account = _account(db, "Hónapközép Hanna")
    _add(db, account, EntryKind.CHARGE, 300, date(2026, 10, 3), date(2026, 10, 20))
    _add(db, account, EntryKind.CHARGE, 200, date(2026, 10, 20), date(2026, 11, 20))
    _add(db, account, EntryKind.WRITE_OFF, 40, date(2026, 10, 5))
    _add(db, account, EntryKind.WRITE_OFF, 60, date(2026, 11, 5))
    late = _add(db, account, EntryKind.FEE, 7, date(2026, 11, 6), date(2026, 11, 30))
    _add(db, account, EntryKind.REVERSAL, 7, date(2026, 11, 8), reverses=late.id)
    db.commit()
    start = date(2026, 10, 15)
    period, dso = reports.kpi_report(db, people["manager"], start, AS_OF, "HUF")
    assert period == reports.period_report(db, people["manager"], start, AS_OF, "HUF")
    assert dso == reports.dso_report(db, people["manager"], AS_OF, 12, "HUF")
    assert period.credit_sales == huf(200)  # the charge of 3 October is before the period
    assert period.write_offs == huf(60)
    assert dso.sales[(2026, 10)] == huf(500)
    assert dso.sales[(2026, 11)] == huf(0)  # the fee was reversed
    assert period.opening_ar == huf(260) and period.closing_ar == huf(400)


def test_period_report_cei_bad_debt_and_months(db, people):
    account = _account(db, "Időszak Ildikó")
    _add(db, account, EntryKind.CHARGE, 1000, date(2026, 8, 1), date(2026, 8, 31))
    _add(db, account, EntryKind.CHARGE, 500, date(2026, 9, 10), date(2026, 12, 31))
    _add(db, account, EntryKind.PAYMENT, 700, date(2026, 9, 20))
    _add(db, account, EntryKind.WRITE_OFF, 200, date(2026, 10, 5))
    _add(db, account, EntryKind.RECOVERY, 50, date(2026, 11, 2))
    other = _add(db, account, EntryKind.WRITE_OFF, 10, date(2026, 10, 6))
    _add(db, account, EntryKind.REVERSAL, 10, date(2026, 10, 7), reverses=other.id)
    db.commit()
    report = reports.period_report(db, people["manager"], date(2026, 9, 1), date(2026, 11, 30),
                                   "HUF")
    assert report.opening_ar == huf(1000)
    assert report.credit_sales == huf(500)
    assert report.closing_ar == huf(600)  # 1500 − 700 − 200
    # What is open: 100 of August's charge (write-off and payment filled it first) and the
    # September charge of 500, not yet due on 30 November.
    assert report.closing_current_ar == huf(500)
    assert report.cei == Fraction(1000 + 500 - 600, 1000 + 500 - 500) * 100
    assert report.write_offs == huf(200)
    assert report.recoveries == huf(50)
    assert report.bad_debt_ratio == Fraction(200, 500) * 100
    assert [(m.year, m.month, m.write_offs.minor, m.recoveries.minor) for m in report.months] \
        == [(2026, 9, 0, 0), (2026, 10, 200, 0), (2026, 11, 0, 50)]


def test_as_of_today_the_stored_balances_give_what_the_entries_give(db, people):
    """A report as of today reads the accounts' stored balances: the same figures."""
    account = _account(db, "Mai Mária")
    today = date.today()
    charge = _add(db, account, EntryKind.CHARGE, 9_000, today - timedelta(days=100),
                  today - timedelta(days=95))
    _add(db, account, EntryKind.CHARGE, 4_000, today - timedelta(days=45),
         today - timedelta(days=40))
    _add(db, account, EntryKind.FEE, 500, today - timedelta(days=3), today + timedelta(days=5))
    _add(db, account, EntryKind.PAYMENT, 3_000, today - timedelta(days=10))
    _add(db, account, EntryKind.REVERSAL, 9_000, today - timedelta(days=1), reverses=charge.id)
    _add(db, account, EntryKind.CHARGE, 2_000, today - timedelta(days=99),
         today - timedelta(days=94))
    db.commit()
    who = people["manager"]
    stored = reports.aging_report(db, who, today, "HUF", today=today)
    summed = reports.aging_report(db, who, today, "HUF")
    assert stored == summed
    assert stored.total == books.Aging(huf(500), huf(0), huf(3_000), huf(0), huf(0))
    assert reports.receivable(db, who, today, "HUF", today=today) == huf(3_500)
    start = today - timedelta(days=60)
    assert reports.kpi_report(db, who, start, today, "HUF", today=today) == \
        reports.kpi_report(db, who, start, today, "HUF")
