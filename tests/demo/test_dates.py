"""Demo dates agree with "today" and with each other: nothing happens to a client before it
was created or after today, letters are dated within the client's time with the office, and
the audit rows carry the same moments."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime

from sqlalchemy import select

from portal.db import transaction
from portal.demo import seed_demo, seed_documents
from portal.demo.dates import local_day, settle_dates
from portal.demo.ledger import seed_ledger
from portal.demo.reviews import seed_reviews
from portal.domain.onboarding import due_date
from portal.models import Account, AuditEvent, Client, Document, OnboardingStep
from portal.models.clients import ClientStatus
from portal.models.credit import CreditReview

#: A Wednesday in the past, so "now" (the moment of seeding) is after the whole demo.
TODAY = date(2026, 10, 14)
DAYS = 10


def _utc(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)  # SQLite keeps no zone


def _seed(app, db):
    sessions = app.extensions["db_sessionmaker"]
    storage = app.extensions["storage"]
    with transaction(sessions) as session:
        seed_demo(session, today=TODAY, onboarding_days=DAYS, clients=60)
        seed_documents(session, storage, today=TODAY)
    with app.app_context(), transaction(sessions) as session:  # decision records are PDFs
        seed_reviews(session, storage, today=TODAY)
    with transaction(sessions) as session:
        seed_ledger(session, today=TODAY)
    with transaction(sessions) as session:
        settle_dates(session, today=TODAY, onboarding_days=DAYS)
    db.expire_all()
    return db


def test_demo_dates_agree_with_today_and_each_other(app, db):
    """One seeding (it takes a while), three readings of it."""
    _seed(app, db)
    _clients_are_created_before_anything_happens_to_them(db)
    _documents_are_dated_within_the_clients_time_and_filed_after(db)
    _onboarding_ticks_and_audit_rows_keep_the_story_s_moments(db)


def _clients_are_created_before_anything_happens_to_them(db):
    clients = {c.id: c for c in db.scalars(select(Client))}
    created = {cid: local_day(c.created_at) for cid, c in clients.items()}
    assert all(day <= TODAY for day in created.values())
    # Active and closed clients came to the office long before today, not all "today".
    settled = [cid for cid, c in clients.items()
               if c.status in (ClientStatus.ACTIVE, ClientStatus.CLOSED)]
    assert settled and all((TODAY - created[cid]).days >= 30 for cid in settled)
    for client_id, opened_on in db.execute(select(Account.client_id, Account.opened_on)):
        assert created[client_id] < opened_on <= TODAY
    for client_id, moment in db.execute(select(CreditReview.client_id, CreditReview.created_at)):
        assert created[client_id] < local_day(moment) <= TODAY
    for client in clients.values():
        assert client.onboarding_due == due_date(created[client.id], DAYS)


def _documents_are_dated_within_the_clients_time_and_filed_after(db):
    created = {c.id: local_day(c.created_at) for c in db.scalars(select(Client))}
    documents = db.scalars(select(Document)).all()
    assert len(documents) > 20
    for document in documents:
        assert created[document.client_id] <= document.doc_date <= TODAY, document.title
        filed = local_day(document.created_at)
        assert document.doc_date <= filed <= TODAY, document.title
        assert all(local_day(v.uploaded_at) == filed for v in document.versions)
    statements = [d for d in documents if d.title == "Bankszámlakivonat"]
    assert statements
    for statement in statements:  # the month in the letter is the month it is dated
        text = statement.versions[0].text
        assert re.search(r"– (\d{4})\. (\d{2})\.", text).groups() == (
            str(statement.doc_date.year), f"{statement.doc_date.month:02d}")


def _onboarding_ticks_and_audit_rows_keep_the_story_s_moments(db):
    clients = {c.id: c for c in db.scalars(select(Client))}
    seeded_at = datetime.now(UTC)
    steps = db.scalars(select(OnboardingStep)).all()
    assert steps
    for step in steps:
        client = clients[step.client_id]
        assert _utc(client.created_at) <= _utc(step.done_at) <= seeded_at
        assert local_day(step.done_at) <= TODAY
    assert len({local_day(s.done_at) for s in steps}) > 10  # not all ticked on one day
    for event in db.scalars(select(AuditEvent).where(AuditEvent.action == "client.create")):
        assert _utc(event.at) == _utc(clients[event.object_id].created_at)
    for event, filed in db.execute(select(AuditEvent, Document.created_at).join(
            Document, Document.id == AuditEvent.object_id).where(
            AuditEvent.action == "document.upload")):
        assert _utc(event.at) == _utc(filed)
