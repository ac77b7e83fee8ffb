"""The ledger is append-only in the database itself, on SQLite and PostgreSQL alike."""

from __future__ import annotations

import sqlite3
from datetime import date

import pytest
from sqlalchemy import delete, func, select, update
from sqlalchemy.exc import DBAPIError, IntegrityError

from portal import migrate
from portal.db import make_engine
from portal.models import Account, EntryKind, LedgerEntry
from tests.conftest import make_client


@pytest.fixture
def entry(db) -> LedgerEntry:
    client = make_client(db, "Főkönyv Ferenc")
    account = Account(client_id=client.id, number="HU-000001", currency="HUF",
                      limit_minor=1_000_000, opened_on=date(2026, 11, 1))
    db.add(account)
    db.flush()
    charge = LedgerEntry(account_id=account.id, kind=EntryKind.CHARGE, amount_minor=50_000,
                         currency="HUF", booked_on=date(2026, 11, 1), due_on=date(2026, 11, 30))
    db.add(charge)
    db.commit()
    return charge


def test_an_entry_cannot_be_changed_or_deleted_even_in_raw_sql(db, entry):
    with pytest.raises(DBAPIError, match="append-only"):
        db.execute(update(LedgerEntry).where(LedgerEntry.id == entry.id)
                   .values(amount_minor=1))
    db.rollback()
    with pytest.raises(DBAPIError, match="append-only"):
        db.execute(delete(LedgerEntry).where(LedgerEntry.id == entry.id))
    db.rollback()
    assert db.scalar(select(LedgerEntry.amount_minor).where(LedgerEntry.id == entry.id)) == 50_000


def test_a_correction_is_a_reversal_pointing_at_the_entry_once(db, entry):
    db.add(LedgerEntry(account_id=entry.account_id, kind=EntryKind.REVERSAL,
                       amount_minor=50_000, currency="HUF", booked_on=date(2026, 11, 2),
                       reverses_id=entry.id, note="wrong amount"))
    db.commit()
    db.add(LedgerEntry(account_id=entry.account_id, kind=EntryKind.REVERSAL,
                       amount_minor=50_000, currency="HUF", booked_on=date(2026, 11, 3),
                       reverses_id=entry.id))
    with pytest.raises(IntegrityError):  # an entry is reversed at most once
        db.commit()
    db.rollback()
    assert db.scalar(select(func.count()).select_from(LedgerEntry)) == 2


@pytest.mark.parametrize(("kind", "amount", "reverses"), [
    (EntryKind.PAYMENT, -100, None),  # only adjustments carry a sign
    (EntryKind.CHARGE, 0, None),
    (EntryKind.REVERSAL, 100, None),  # a reversal must point back
    (EntryKind.FEE, 100, 1),  # and only a reversal may
])
def test_the_database_refuses_malformed_entries(db, entry, kind, amount, reverses):
    db.add(LedgerEntry(account_id=entry.account_id, kind=kind, amount_minor=amount,
                       currency="HUF", booked_on=date(2026, 11, 2), reverses_id=reverses))
    with pytest.raises(IntegrityError):
        db.commit()
    db.rollback()


def test_a_negative_adjustment_is_allowed(db, entry):
    db.add(LedgerEntry(account_id=entry.account_id, kind=EntryKind.ADJUSTMENT,
                       amount_minor=-1_500, currency="HUF", booked_on=date(2026, 11, 2)))
    db.commit()


def test_downgrading_below_the_ledger_removes_its_triggers_too(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 'l.sqlite3'}")
    migrate.upgrade(engine)
    migrate.upgrade(engine, "head")
    from alembic import command

    command.downgrade(migrate.alembic_config(engine), "0006")
    with engine.connect() as conn:
        triggers = conn.exec_driver_sql(
            "SELECT name FROM sqlite_master WHERE type = 'trigger'").scalars().all()
    assert triggers == []
    migrate.upgrade(engine)
    engine.dispose()


def _stored(db, account_id: int) -> int:
    return db.scalar(select(Account.balance_minor).where(Account.id == account_id))


def test_the_stored_balance_follows_every_entry_written_even_in_raw_sql(db, entry):
    """The trigger keeps accounts.balance_minor equal to the sum, whatever writes the entry."""
    account_id = entry.account_id
    assert _stored(db, account_id) == 50_000
    rows = [(EntryKind.FEE, 2_000, None), (EntryKind.PAYMENT, 30_000, None),
            (EntryKind.ADJUSTMENT, -500, None), (EntryKind.WRITE_OFF, 1_000, None),
            (EntryKind.RECOVERY, 400, None)]
    for kind, amount, _ in rows:
        db.execute(LedgerEntry.__table__.insert().values(
            account_id=account_id, kind=kind.value, amount_minor=amount, currency="HUF",
            booked_on=date(2026, 11, 2), note="",
            due_on=date(2026, 12, 2) if kind is EntryKind.FEE else None))
    db.commit()
    assert _stored(db, account_id) == 50_000 + 2_000 - 30_000 - 500 - 1_000
    payment_id = db.scalar(select(LedgerEntry.id).where(LedgerEntry.kind == EntryKind.PAYMENT))
    db.add(LedgerEntry(account_id=account_id, kind=EntryKind.REVERSAL, amount_minor=30_000,
                       currency="HUF", booked_on=date(2026, 11, 3), reverses_id=payment_id))
    db.commit()
    assert _stored(db, account_id) == 50_000 + 2_000 - 500 - 1_000  # the payment taken back
    from portal.services.reports import balance_drift

    assert balance_drift(db) == []


@pytest.mark.parametrize(("kind", "amount"), [
    (EntryKind.CHARGE, 100), (EntryKind.FEE, 100), (EntryKind.ADJUSTMENT, 100)])
def test_the_database_refuses_a_debit_without_its_due_date(db, entry, kind, amount):
    """The aging finds recent debits by their due date, so none may lack one."""
    with pytest.raises(DBAPIError, match="due date"):
        db.execute(LedgerEntry.__table__.insert().values(
            account_id=entry.account_id, kind=kind.value, amount_minor=amount, currency="HUF",
            booked_on=date(2026, 11, 2), note=""))
    db.rollback()
    db.add(LedgerEntry(account_id=entry.account_id, kind=EntryKind.ADJUSTMENT, amount_minor=-1,
                       currency="HUF", booked_on=date(2026, 11, 2)))  # a credit needs none
    db.commit()


def test_check_names_an_account_whose_stored_balance_drifted(db, entry):
    from portal.services.reports import balance_drift

    db.execute(update(Account).where(Account.id == entry.account_id).values(balance_minor=7))
    db.commit()
    assert balance_drift(db) == [("HU-000001", 7, 50_000)]


def test_the_migration_fills_the_stored_balance_from_the_entries_already_there(tmp_path):
    from alembic import command

    engine = make_engine(f"sqlite:///{tmp_path / 'b.sqlite3'}")
    command.upgrade(migrate.alembic_config(engine), "0009")
    engine.dispose()
    raw = sqlite3.connect(tmp_path / "b.sqlite3")  # foreign keys off: no client row needed
    raw.execute("INSERT INTO accounts (client_id, number, currency, limit_minor, opened_on, "
                "status, created_at, version) VALUES (1, 'HK-1', 'HUF', 0, '2026-11-01', "
                "'open', '2026-11-01', 1)")
    for kind, amount, reverses in [("charge", 9_000, None), ("payment", 4_000, None),
                                   ("reversal", 4_000, 2), ("payment", 1_000, None)]:
        raw.execute("INSERT INTO ledger_entries (account_id, kind, amount_minor, currency, "
                    "booked_on, due_on, reverses_id, note, created_at) VALUES (1, ?, ?, 'HUF', "
                    "'2026-11-02', ?, ?, '', '2026-11-02')",
                    (kind, amount, "2026-11-20" if kind == "charge" else None, reverses))
    raw.commit()
    raw.close()
    migrate.upgrade(engine)
    with engine.connect() as conn:
        assert conn.exec_driver_sql("SELECT balance_minor FROM accounts").scalar() == 8_000
    engine.dispose()
