"""Demo credit reviews: every status, decisions that keep their policy version, evidence from the
client's file, and ``portal seed-demo`` run twice still adds nothing."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, date, datetime

import pytest
from sqlalchemy import func, select

from portal.demo import seed_demo, seed_documents
from portal.demo.reviews import seed_reviews
from portal.domain.policy import Action, Item, RiskGrade, Rule, Status, next_review_due
from portal.models import AuditEvent, Document, User
from portal.models.credit import (
    ContactOutcome,
    CreditDecision,
    CreditReview,
    ObligationKind,
    ReferenceContact,
)
from portal.models.documents import DocType
from portal.services import reviews as service
from portal.services.base import SYSTEM, Actor
from portal.services.reviews import PolicyData

TODAY = date(2026, 11, 27)
COORDINATOR_LIMIT = 5_000_000  # HUF, the default policy's (migration 0005)


@pytest.fixture
def seeded(app, db) -> int:
    """Seed 60 demo clients, their letters and the demo reviews; return the reviews made."""
    storage = app.extensions["storage"]
    with app.app_context():  # decision records render templates; no requests are made here
        seed_demo(db, today=TODAY, onboarding_days=10, clients=60)
        seed_documents(db, storage, today=TODAY)
        db.commit()
        made = seed_reviews(db, storage, today=TODAY)
        db.commit()
    return made


def _reviews(db) -> list[CreditReview]:
    return list(db.scalars(select(CreditReview).order_by(CreditReview.id)))


def _utc(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)  # SQLite keeps no zone


def test_a_review_in_every_state_by_the_demo_staff(seeded, db) -> None:
    reviews = _reviews(db)
    assert 12 <= seeded == len(reviews) <= 20
    assert set(Counter(r.status for r in reviews)) == set(Status)
    assert not any(r.client.restricted for r in reviews)
    assert {r.prepared_by.username for r in reviews} == {"coordinator", "coordinator2"}
    for review in reviews:
        assert all(d.decided_by.username in ("coordinator2", "manager")
                   and d.decided_by_id != review.prepared_by_id for d in review.decisions)
        assert _utc(review.created_at).date() <= TODAY
        assert _utc(review.created_at) <= _utc(review.updated_at)

    waiting = [r for r in reviews if r.status is Status.AWAITING_DECISION]
    assert {r.needed_role for r in waiting} == {"coordinator", "manager"}
    assert any(r.needed_role == "manager" and r.requested_minor > COORDINATOR_LIMIT
               and not r.decisions for r in waiting)  # above a coordinator's authority
    assert any(r.decisions and r.decisions[-1].action is Action.REFER_UP
               and r.needed_role == "manager" for r in waiting)
    for user in db.scalars(select(User).where(
            User.username.in_(["coordinator", "coordinator2", "manager"]))):
        assert service.awaiting_my_decision(db, Actor(user)) >= 1, user.username
    assert any(r.decisions and r.decisions[-1].action is Action.SEND_BACK
               and r.status is Status.VERIFICATION for r in reviews)


def test_realistic_figures_contacts_and_evidence(seeded, db) -> None:
    reviews = _reviews(db)
    assert all(250_000 <= r.monthly_income_minor <= 1_500_000 for r in reviews)
    obligations = [o for r in reviews for o in r.obligations]
    assert {ObligationKind.MORTGAGE, ObligationKind.PERSONAL_LOAN,
            ObligationKind.CREDIT_CARD} <= {o.kind for o in obligations}
    assert {"OTP Bank", "K&H Bank", "Erste Bank"} <= {o.lender for o in obligations}
    assert all(0 < o.monthly_payment_minor <= o.outstanding_minor for o in obligations)

    scored = [r for r in reviews if r.bureau_score is not None]
    assert all(0 <= r.bureau_score <= 1000 and r.bureau_date <= TODAY for r in scored)
    assert any(r.status not in (Status.APPROVED, Status.DECLINED)
               and (TODAY - r.bureau_date).days > 90 for r in scored), "a report too old"
    assert any(r.bureau_score is None for r in reviews)

    contacts = list(db.scalars(select(ReferenceContact)))
    assert set(Counter(c.outcome for c in contacts)) == set(ContactOutcome)
    assert all(c.item is not Item.BUREAU and c.contact_name and c.note for c in contacts)
    assert all(_utc(c.contacted_at) <= _utc(c.logged_at) for c in contacts)
    assert any("(HR, " in c.contact_name for c in contacts)

    evidence = [(r, e) for r in reviews for e in r.evidence]
    assert all(e.document.client_id == r.client_id and e.document.deleted_at is None
               for r, e in evidence)
    kinds = {(e.item, e.document.doc_type) for _, e in evidence}
    assert (Item.BUREAU, DocType.CREDIT_REPORT) in kinds
    assert kinds & {(Item.EMPLOYMENT, DocType.INCOME_PROOF), (Item.BANK, DocType.BANK_STATEMENT)}
    assert any(e.document.tag_list == ["demo"] for _, e in evidence), "a demo letter as evidence"


def test_decisions_set_limits_and_keep_their_policy_version(seeded, db) -> None:
    reviews = _reviews(db)
    policy = service.policy_in_force(db, TODAY)
    rules = service.as_policy(policy)
    approved = [r for r in reviews if r.status is Status.APPROVED]
    for review in approved:
        decision, client = review.decisions[-1], review.client
        assert decision.action is Action.APPROVE and decision.risk_grade is not None
        assert 0 < decision.approved_minor <= review.requested_minor
        assert all(rule["passed"] for rule in decision.rules)
        assert client.credit_limit_minor == decision.approved_minor
        assert client.risk_grade == decision.risk_grade.value
        assert client.next_review_due == next_review_due(
            rules, decision.risk_grade, _utc(decision.decided_at).date())
        assert decision.document.doc_type is DocType.CREDIT_DECISION
    assert {d.risk_grade for r in approved for d in r.decisions} == set(RiskGrade)
    assert any(r.decisions[-1].approved_minor < r.requested_minor for r in approved)
    assert sum(r.client.next_review_due < TODAY for r in approved) >= 2
    assert service.clients_due_for_review(db, SYSTEM, TODAY)
    due = service.list_reviews(db, SYSTEM, service.ReviewFilter(periodic_due=True), TODAY, 25)
    assert due.total >= 1

    declined = [r for r in reviews if r.status is Status.DECLINED]
    for review in declined:
        decision = review.decisions[-1]
        assert decision.action is Action.DECLINE and decision.note
        assert [rule["rule"] for rule in decision.rules if not rule["passed"]]
        assert decision.document.doc_type is DocType.CREDIT_DECISION
    failed = {rule["rule"] for r in declined for rule in r.decisions[-1].rules
              if not rule["passed"]}
    assert {Rule.DTI.value, Rule.SCORE.value} <= failed

    decisions = list(db.scalars(select(CreditDecision)))
    frozen = {d.id: (d.policy_version, d.figures, d.rules) for d in decisions}
    assert {d.policy_version for d in decisions} == {policy.version}
    stricter = PolicyData(
        effective_from=TODAY, max_dti_bp=2000, min_bureau_score=950,
        max_income_multiple_x100=200, min_residual_bp=8000, bureau_max_age_days=30,
        required_items=frozenset(Item), authority={}, review_months={g: 1 for g in RiskGrade})
    newer = service.save_policy(db, SYSTEM, stricter)
    db.commit()
    db.expire_all()
    assert service.policy_in_force(db, TODAY).version == newer.version > policy.version
    for decision in db.scalars(select(CreditDecision)):
        assert (decision.policy_version, decision.figures, decision.rules) == frozen[decision.id]
        assert decision.policy.version == policy.version
    assert not service.evaluate_review(approved[0], newer, TODAY).passed


def test_seed_demo_twice_adds_nothing(app, db) -> None:
    runner = app.test_cli_runner()
    first = runner.invoke(args=["seed-demo", "--clients", "40"])
    assert first.exit_code == 0, first.output
    made = db.scalar(select(func.count(CreditReview.id)))
    assert made >= 12 and f"{made} credit reviews" in first.output
    documents = db.scalar(select(func.count(Document.id)))
    assert f"{documents} documents" in first.output
    assert app.extensions["search"].get().count() == documents  # records and reports too

    def counts() -> tuple[int | None, ...]:
        return tuple(db.scalar(select(func.count()).select_from(table)) for table in (
            CreditReview, CreditDecision, ReferenceContact, Document, AuditEvent))

    before = counts()
    second = runner.invoke(args=["seed-demo", "--clients", "40"])
    assert second.exit_code == 0 and "already present" in second.output
    assert counts() == before
    assert seed_reviews(db, app.extensions["storage"], today=TODAY) == 0  # reviews exist
    assert counts() == before
