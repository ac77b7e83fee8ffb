"""Accounts and their ledger at the service level."""

from __future__ import annotations

import threading
from datetime import date

import pytest
from sqlalchemy import func, select

from portal.db import transaction
from portal.domain.ledger import EntryKind
from portal.domain.money import Money
from portal.models import AuditEvent, LedgerEntry
from portal.services import ledger
from portal.services.base import Actor, Forbidden
from portal.services.ledger import EntryData, Refused
from tests.conftest import make_client

TODAY = date(2026, 11, 30)


@pytest.fixture
def people(staff):
    return {"clerk": Actor(staff.clerk), "coord": Actor(staff.coordinator),
            "coord2": Actor(staff.coordinator2), "manager": Actor(staff.manager)}


@pytest.fixture
def run(app):
    sessions = app.extensions["db_sessionmaker"]

    def call(fn, *args, **kwargs):
        with transaction(sessions) as session:
            result = fn(session, *args, **kwargs)
            return getattr(result, "id", result)

    return call


@pytest.fixture
def account(db, run, people) -> int:
    client = make_client(db, "Számla Sándor")
    return run(ledger.open_account, people["coord"], client.id, currency="HUF",
               limit_minor=1_000_000, opened_on=date(2026, 9, 1))


def huf(minor: int) -> Money:
    return Money(minor, "HUF")


def charge(run, who, account, amount, booked, due):
    return run(ledger.record_entry, who, account, EntryData(
        EntryKind.CHARGE, huf(amount), booked, due_on=due), as_of=TODAY)


def pay(run, who, account, amount, booked, key=None):
    return run(ledger.record_entry, who, account, EntryData(
        EntryKind.PAYMENT, huf(amount), booked, method="transfer", idempotency_key=key),
        as_of=TODAY)


def test_account_numbers_carry_a_check_digit():
    numbers = {ledger.account_number(i) for i in range(1, 2000)}
    assert len(numbers) == 1999 and all(n.startswith("HK-") and len(n) == 11 for n in numbers)
    # One digit mistyped never gives another valid number.
    valid = ledger.account_number(1234)
    for position in range(3, 11):
        for digit in "0123456789":
            typo = valid[:position] + digit + valid[position + 1:]
            assert typo == valid or typo not in numbers


def test_a_payment_pays_the_oldest_charges_and_the_statement_adds_up(db, run, people,
                                                                     account):
    old = charge(run, people["coord"], account, 100_000, date(2026, 9, 1), date(2026, 9, 30))
    new = charge(run, people["coord"], account, 80_000, date(2026, 10, 1), date(2026, 10, 31))
    payment = pay(run, people["coord"], account, 120_000, date(2026, 11, 5))
    statement = ledger.statement(db, people["clerk"], account, TODAY)
    assert statement.balance == huf(60_000)
    assert statement.available == huf(940_000)
    paid = {p.payment_id: p.paid for p in statement.allocation.payments}[payment]
    assert paid == {old: huf(100_000), new: huf(20_000)}
    assert statement.overdue == huf(60_000) and statement.days_overdue == 30  # since 31 Oct
    assert (statement.aging.days_1_30, statement.aging.current) == (huf(60_000), huf(0))
    assert [statement.running[e.id].minor for e in statement.entries] == [100_000, 180_000,
                                                                         60_000]


def test_the_same_payment_submitted_twice_is_recorded_once(db, run, people, account):
    charge(run, people["coord"], account, 50_000, date(2026, 11, 1), date(2026, 11, 15))
    first = pay(run, people["coord"], account, 20_000, date(2026, 11, 20), key="k-1")
    second = pay(run, people["coord"], account, 20_000, date(2026, 11, 20), key="k-1")
    assert first == second
    assert db.scalar(select(func.count()).where(LedgerEntry.kind == EntryKind.PAYMENT)) == 1


def test_two_payments_recorded_at_once_both_land(app, db, run, people, account):
    charge(run, people["coord"], account, 90_000, date(2026, 11, 1), date(2026, 11, 15))
    errors: list[BaseException] = []
    start = threading.Barrier(2)

    def record(key: str) -> None:
        try:
            start.wait(30)
            pay(run, people["coord"], account, 30_000, date(2026, 11, 20), key=key)
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=record, args=(k,)) for k in ("a", "b")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert errors == []
    assert ledger.statement(db, people["coord"], account, TODAY).balance == huf(30_000)


@pytest.mark.parametrize(("data", "reason"), [
    (EntryData(EntryKind.PAYMENT, huf(-5), date(2026, 11, 1)), "amount_not_positive"),
    (EntryData(EntryKind.PAYMENT, huf(5), date(2026, 12, 1)), "future_date"),
    (EntryData(EntryKind.PAYMENT, Money(5, "EUR"), date(2026, 11, 1)), "currency"),
    (EntryData(EntryKind.CHARGE, huf(5), date(2026, 11, 1)), "due_date_missing"),
    (EntryData(EntryKind.WRITE_OFF, huf(5), date(2026, 11, 1)), "kind"),
])
def test_bad_entries_are_refused_with_a_reason_and_nothing_saved(db, run, people, account,
                                                                 data, reason):
    with pytest.raises(Refused) as refused:
        run(ledger.record_entry, people["coord"], account, data, as_of=TODAY)
    assert refused.value.reason == reason
    assert db.scalar(select(func.count()).select_from(LedgerEntry)) == 0


def test_clerks_read_balances_but_record_nothing(db, run, people, account):
    with pytest.raises(Forbidden):
        pay(run, people["clerk"], account, 1_000, date(2026, 11, 1))
    assert ledger.statement(db, people["clerk"], account, TODAY).balance == huf(0)


def test_a_reversal_cancels_an_entry_once_and_keeps_it(db, run, people, account):
    wrong = charge(run, people["coord"], account, 70_000, date(2026, 11, 1), date(2026, 11, 30))
    run(ledger.reverse, people["coord"], wrong, reason="Rossz összeg", booked_on=TODAY,
        as_of=TODAY)
    with pytest.raises(Refused) as refused:
        run(ledger.reverse, people["coord"], wrong, reason="again", booked_on=TODAY,
            as_of=TODAY)
    assert refused.value.reason == "reversed"
    statement = ledger.statement(db, people["coord"], account, TODAY)
    assert statement.balance == huf(0) and wrong in statement.reversed_ids
    assert len(statement.entries) == 2


def test_write_off_needs_another_persons_approval_and_recoveries_are_capped(db, run, people,
                                                                           account):
    charge(run, people["coord"], account, 200_000, date(2026, 6, 1), date(2026, 6, 30))
    proposal = run(ledger.propose_write_off, people["coord"], account, huf(150_000),
                   reason="Behajthatatlan", as_of=TODAY)
    with pytest.raises(Forbidden):  # a coordinator does not approve
        run(ledger.decide_write_off, people["coord2"], proposal, approve=True, note="",
            as_of=TODAY)
    own = run(ledger.propose_write_off, people["manager"], account, huf(10_000),
              reason="Saját", as_of=TODAY)
    with pytest.raises(Forbidden):  # never one's own
        run(ledger.decide_write_off, people["manager"], own, approve=True, note="",
            as_of=TODAY)
    run(ledger.decide_write_off, people["manager"], proposal, approve=True, note="OK",
        as_of=TODAY)
    statement = ledger.statement(db, people["coord"], account, TODAY)
    assert statement.balance == huf(50_000) and statement.written_off == huf(150_000)

    recovery = EntryData(EntryKind.RECOVERY, huf(100_000), TODAY, method="transfer")
    run(ledger.record_recovery, people["coord"], account, recovery, as_of=TODAY)
    with pytest.raises(Refused) as refused:
        run(ledger.record_recovery, people["coord"], account,
            EntryData(EntryKind.RECOVERY, huf(50_001), TODAY), as_of=TODAY)
    assert refused.value.reason == "recovery_over_write_off"
    write_off_entry = db.scalar(select(LedgerEntry.id).where(
        LedgerEntry.kind == EntryKind.WRITE_OFF))
    with pytest.raises(Refused) as refused:
        run(ledger.reverse, people["coord"], write_off_entry, reason="mégse",
            booked_on=TODAY, as_of=TODAY)
    assert refused.value.reason == "recovery"
    actions = set(db.scalars(select(AuditEvent.action)))
    assert {"write_off.propose", "write_off.approve", "ledger.recovery"} <= actions


def test_a_write_off_beyond_the_balance_is_refused(db, run, people, account):
    charge(run, people["coord"], account, 10_000, date(2026, 6, 1), date(2026, 6, 30))
    with pytest.raises(Refused) as refused:
        run(ledger.propose_write_off, people["coord"], account, huf(10_001), reason="x",
            as_of=TODAY)
    assert refused.value.reason == "write_off_over_balance"


def _pay_many(url: str, account_id: int, user_id: int, worker: int, count: int) -> list[str]:
    """Record ``count`` payments through the service in a process of its own."""
    from sqlalchemy.orm import sessionmaker

    from portal.db import make_engine
    from portal.models import User

    engine = make_engine(url)
    sessions = sessionmaker(engine, expire_on_commit=False)
    failures = []
    for i in range(count):
        try:
            with transaction(sessions) as session:
                who = Actor(session.get(User, user_id))
                ledger.record_entry(session, who, account_id, EntryData(
                    EntryKind.PAYMENT, huf(1_000), date(2026, 11, 20),
                    idempotency_key=f"w{worker}-{i}"), as_of=TODAY)
        except Exception as exc:  # noqa: BLE001 - reported by the assertion
            failures.append(repr(exc)[:300])
    engine.dispose()
    return failures


def test_two_processes_recording_payments_on_one_account_all_land(app, db, run, people,
                                                                  account, staff):
    import multiprocessing

    charge(run, people["coord"], account, 30_000, date(2026, 11, 1), date(2026, 11, 15))
    url = app.config["SQLALCHEMY_DATABASE_URI"]
    with multiprocessing.get_context("spawn").Pool(2) as pool:
        failures = pool.starmap(_pay_many, [(url, account, staff.coordinator.id, w, 10)
                                            for w in range(2)])
    assert failures == [[], []]
    statement = ledger.statement(db, people["coord"], account, TODAY)
    assert statement.balance == huf(10_000)
    assert sum(sum(m.minor for m in p.paid.values()) for p in statement.allocation.payments) \
        == 20_000


def test_opening_an_account_ticks_account_opened_once(db, run, people):
    from portal.domain.onboarding import Step
    from portal.models import OnboardingStep

    client = make_client(db, "Nyitó Nóra")
    for _ in range(2):
        run(ledger.open_account, people["coord"], client.id, currency="HUF",
            limit_minor=100_000, opened_on=TODAY)
    steps = db.scalars(select(OnboardingStep.step).where(
        OnboardingStep.client_id == client.id)).all()
    assert steps == [Step.ACCOUNT_OPENED]
