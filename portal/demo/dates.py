"""Demo dates that agree with each other and with "today".

The demo is told through the services, which stamp rows with the moment of seeding; the
stories themselves are dated back from ``today`` (accounts opened months ago, reviews opened
weeks ago). ``settle_dates`` runs last and makes the stamps tell the same story: a client is
created before anything happens to it (its account, its reviews, its documents), its
onboarding items are ticked after that and no later than today, its onboarding due date
follows from its creation day, and the audit rows of those acts carry the same moments.
"""

from __future__ import annotations

import random
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from portal.domain.calendar import add_business_days
from portal.domain.onboarding import STEPS, Step, due_date
from portal.domain.policy import Action
from portal.models.audit import AuditEvent
from portal.models.clients import Client
from portal.models.credit import CreditDecision, CreditReview
from portal.models.documents import Document
from portal.models.ledger import Account

_TZ = ZoneInfo("Europe/Budapest")


def office_time(day: date, hour: int, rng: random.Random) -> datetime:
    """Return a moment on ``day`` at ``hour`` office time (a few minutes past), in UTC."""
    return datetime.combine(day, time(hour, rng.randrange(0, 55)), tzinfo=_TZ).astimezone(UTC)


def local_day(moment: datetime) -> date:
    """Return the office's calendar day of a stored moment (SQLite keeps no zone: UTC)."""
    aware = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    return aware.astimezone(_TZ).date()


def settle_dates(db: Session, *, today: date, onboarding_days: int, seed: int = 2026) -> int:
    """Date every demo client's creation and ticks consistently; return the clients moved."""
    rng = random.Random(seed)
    now = min(datetime.now(UTC), office_time(today, 18, rng))
    clients = db.scalars(select(Client).order_by(Client.id).options(
        selectinload(Client.steps))).all()
    firsts = _first_activity(db)
    approvals = _approvals(db)
    opened = dict(db.execute(select(Account.client_id, Account.opened_on)
                             .order_by(Account.opened_on.desc())).all())
    events = _audit_rows(db)
    moved = 0
    for client in clients:
        created = local_day(client.created_at)
        first = firsts.get(client.id)
        if first is not None and first <= created:
            created = first - timedelta(days=rng.randint(7, 45))
            client.created_at = office_time(created, 9, rng)
            client.onboarding_due = due_date(created, onboarding_days)
            moved += 1
        ticks = {}
        for number, row in enumerate(sorted(client.steps, key=lambda s: STEPS.index(s.step))):
            if row.step is Step.ACCOUNT_OPENED and client.id in opened:
                day = opened[client.id]
            elif row.step is Step.CREDIT_REVIEW_DONE and client.id in approvals:
                day = approvals[client.id]
            else:
                day = add_business_days(created, 1 + 2 * number)
            row.done_at = min(office_time(min(max(day, created), today), 11 + number, rng), now)
            ticks[row.step.value] = row.done_at
        for event in events.get(client.id, []):
            if event.action == "client.create":
                event.at = client.created_at
            elif event.action == "onboarding.tick":
                event.at = ticks.get((event.details or {}).get("step"), event.at)
    _file_documents_when_written(db, today, now, rng)
    db.flush()
    return moved


def _file_documents_when_written(db: Session, today: date, now: datetime,
                                 rng: random.Random) -> None:
    """Date each demo document's filing (and its upload's audit row) just after its date."""
    documents = db.scalars(select(Document).options(selectinload(Document.versions))
                           .where(Document.doc_date.is_not(None)).order_by(Document.id)).all()
    uploads = {event.object_id: event for event in db.scalars(select(AuditEvent).where(
        AuditEvent.object_type == "document", AuditEvent.action == "document.upload"))}
    for document in documents:
        if local_day(document.created_at) > document.doc_date + timedelta(days=2):
            filed_on = min(document.doc_date + timedelta(days=rng.randint(0, 2)), today)
            document.created_at = min(office_time(filed_on, 10, rng), now)
            for version in document.versions:
                if version.number == 1:
                    version.uploaded_at = document.created_at
        if document.id in uploads:
            uploads[document.id].at = document.created_at


def _first_activity(db: Session) -> dict[int, date]:
    """Each client's earliest account opening, review or document date."""
    firsts: dict[int, date] = {}

    def keep(client_id: int, day: date | None) -> None:
        if day is not None and (client_id not in firsts or day < firsts[client_id]):
            firsts[client_id] = day

    for client_id, day in db.execute(select(Account.client_id, Account.opened_on)):
        keep(client_id, day)
    for client_id, moment in db.execute(select(CreditReview.client_id, CreditReview.created_at)):
        keep(client_id, local_day(moment))
    for client_id, day in db.execute(select(Document.client_id, Document.doc_date)):
        keep(client_id, day)
    return firsts


def _approvals(db: Session) -> dict[int, date]:
    """The day of each client's latest approving decision."""
    rows = db.execute(select(CreditReview.client_id, CreditDecision.decided_at)
                      .join(CreditDecision, CreditDecision.review_id == CreditReview.id)
                      .where(CreditDecision.action == Action.APPROVE)
                      .order_by(CreditDecision.decided_at))
    return {client_id: local_day(moment) for client_id, moment in rows}


def _audit_rows(db: Session) -> dict[int, list[AuditEvent]]:
    rows: dict[int, list[AuditEvent]] = {}
    for event in db.scalars(select(AuditEvent).where(
            AuditEvent.object_type == "client",
            AuditEvent.action.in_(("client.create", "onboarding.tick")))):
        rows.setdefault(event.object_id, []).append(event)
    return rows
