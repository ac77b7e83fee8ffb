"""Demo accounts: a realistic spread of balances, ages, a write-off with a recovery and a
proposal waiting for the manager."""

from __future__ import annotations

from datetime import date

from sqlalchemy import func, select

from portal.db import transaction
from portal.demo import seed_demo, seed_documents
from portal.demo.ledger import seed_ledger
from portal.demo.reviews import seed_reviews
from portal.domain.ledger import EntryKind
from portal.models import Account, LedgerEntry, WriteOff
from portal.models.ledger import WriteOffStatus
from portal.services import ledger
from portal.services.base import SYSTEM

TODAY = date(2026, 11, 30)


def test_demo_accounts_spread_over_the_aging_buckets(app, db):
    sessions = app.extensions["db_sessionmaker"]
    with transaction(sessions) as session:
        seed_demo(session, today=TODAY, onboarding_days=10, clients=60)
        seed_documents(session, app.extensions["storage"], today=TODAY)
    with app.app_context(), transaction(sessions) as session:  # decision records are PDFs
        seed_reviews(session, app.extensions["storage"], today=TODAY)
    with transaction(sessions) as session:
        assert seed_ledger(session, today=TODAY) >= 20
    with transaction(sessions) as session:
        assert seed_ledger(session, today=TODAY) == 0  # once
    accounts = db.scalars(select(Account.id)).all()
    statements = [ledger.statement(db, SYSTEM, a, TODAY) for a in accounts]
    buckets = {name for s in statements for name, value in (
        ("current", s.aging.current), ("1-30", s.aging.days_1_30),
        ("31-60", s.aging.days_31_60), ("61-90", s.aging.days_61_90),
        ("over 90", s.aging.over_90)) if value.minor}
    assert {"current", "1-30", "over 90"} <= buckets
    assert any(s.overdue.minor == 0 and s.balance.minor >= 0 for s in statements)
    statuses = {status: n for status, n in db.execute(
        select(WriteOff.status, func.count()).group_by(WriteOff.status))}
    assert statuses[WriteOffStatus.APPROVED] >= 2 and statuses[WriteOffStatus.PROPOSED] >= 1
    recovered = db.scalar(select(func.sum(LedgerEntry.amount_minor)).where(
        LedgerEntry.kind == EntryKind.RECOVERY))
    written_off = db.scalar(select(func.sum(LedgerEntry.amount_minor)).where(
        LedgerEntry.kind == EntryKind.WRITE_OFF))
    assert 0 < recovered <= written_off
    # A history, not all on one day: write-offs in past months, recoveries after them, and
    # nothing charged to an account after it was written off.
    offs = db.execute(select(LedgerEntry.account_id, LedgerEntry.booked_on).where(
        LedgerEntry.kind == EntryKind.WRITE_OFF)).all()
    assert len({(d.year, d.month) for _, d in offs}) >= 2
    assert all(d < TODAY.replace(day=1) for _, d in offs)
    for account_id, written_on in offs:
        later = db.scalars(select(LedgerEntry.kind).where(
            LedgerEntry.account_id == account_id, LedgerEntry.booked_on > written_on)).all()
        assert set(later) <= {EntryKind.RECOVERY}, (account_id, later)
