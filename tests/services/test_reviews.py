"""Credit reviews at the service level: preparing, verifying, routing and deciding."""

from __future__ import annotations

import io
from datetime import UTC, date, datetime

import pytest
from sqlalchemy import func, select

from portal.db import transaction
from portal.domain.onboarding import Step
from portal.domain.permissions import Role
from portal.domain.policy import Action, Item, ItemState, RiskGrade, Status
from portal.models import (
    Account,
    AuditEvent,
    Channel,
    ContactOutcome,
    CreditDecision,
    CreditReview,
    ObligationKind,
    OnboardingStep,
    ReviewKind,
)
from portal.models.clients import Client
from portal.models.documents import DocType
from portal.services import reviews
from portal.services.base import SYSTEM, Actor, Conflict, Forbidden
from portal.services.documents import FileMeta, file_document
from tests.conftest import make_client, make_user

TODAY = date(2026, 11, 30)
NOW = datetime(2026, 11, 30, 10, 0, tzinfo=UTC)


@pytest.fixture
def people(db, staff):
    return {"clerk": Actor(staff.clerk), "prep": Actor(staff.coordinator),
            "other": Actor(staff.coordinator2), "manager": Actor(staff.manager),
            "admin": Actor(staff.admin),
            "manager2": Actor(make_user(db, "manager2", Role.MANAGER))}


@pytest.fixture
def run(app):
    """Run one service call as its own committed transaction; return its result."""
    sessions = app.extensions["db_sessionmaker"]

    def call(fn, *args, **kwargs):
        with transaction(sessions) as session:
            result = fn(session, *args, **kwargs)
            return getattr(result, "id", result)

    return call


def data(requested=3_000_000, income=600_000, payments=(120_000,), currency="HUF"):
    return reviews.ReviewData(
        kind=ReviewKind.NEW_LIMIT, requested_minor=requested, currency=currency,
        purpose="Forgóeszköz", monthly_income_minor=income,
        obligations=tuple(reviews.ObligationData("OTP Bank", ObligationKind.PERSONAL_LOAN,
                                                 p * 20, p) for p in payments))


def _version(db, review_id) -> int:
    db.expire_all()
    return db.get(CreditReview, review_id).version


def prepared(app, db, run, people, client, **kw) -> int:
    """A review with every required item verified, submitted for a decision."""
    review_id = run(reviews.open_review, people["prep"], client.id, data(**kw))
    doc = run(lambda s, *a, **k: file_document(*((s,) + a), **k), SYSTEM,
              app.extensions["storage"], client.id, io.BytesIO(f"Bureau {review_id}".encode()),
              "bureau.txt", FileMeta(DocType.CREDIT_REPORT), max_bytes=10**6)
    run(reviews.set_bureau_report, people["prep"], review_id, score=720,
        report_date=date(2026, 11, 2), document_id=doc, as_of=TODAY,
        expected_version=_version(db, review_id))
    for item in (Item.EMPLOYMENT, Item.BANK):
        run(reviews.log_contact, people["clerk"], review_id, reviews.ContactData(
            item, "Kiss Réka (HR)", Channel.PHONE, NOW, ContactOutcome.CONFIRMED), now=NOW)
    run(reviews.submit, people["prep"], review_id, as_of=TODAY,
        expected_version=_version(db, review_id))
    return review_id


def decide(run, db, who, review_id, action, token, **kw):
    return run(reviews.decide, who, review_id, reviews.DecisionData(action, token, **kw),
               as_of=TODAY, expected_version=_version(db, review_id))


def test_a_review_is_prepared_verified_and_routed_by_amount(app, db, run, people):
    client = make_client(db, "Bíráló Béla")
    small = prepared(app, db, run, people, client)
    big = prepared(app, db, run, people, make_client(db, "Nagy Nándor"), requested=5_000_001,
                   income=1_000_000)
    db.expire_all()
    review = db.get(CreditReview, small)
    assert review.status is Status.AWAITING_DECISION and review.needed_role == "coordinator"
    assert db.get(CreditReview, big).needed_role == "manager"
    assert reviews.item_states(review) == {Item.BUREAU: ItemState.DONE,
                                           Item.EMPLOYMENT: ItemState.DONE,
                                           Item.BANK: ItemState.DONE,
                                           Item.LENDERS: ItemState.OPEN}
    assert reviews.evaluate_review(review, reviews.policy_in_force(db, TODAY), TODAY).passed
    assert reviews.awaiting_my_decision(db, people["other"]) == 1  # not the big one
    assert reviews.awaiting_my_decision(db, people["prep"]) == 0  # not their own
    assert reviews.awaiting_my_decision(db, people["manager"]) == 2


def test_an_approval_sets_the_limit_grade_next_review_and_ticks_onboarding(app, db, run,
                                                                          people):
    client = make_client(db, "Jóváhagyott János")
    review_id = prepared(app, db, run, people, client)
    decision_id = decide(run, db, people["other"], review_id, Action.APPROVE, "t-1",
                         approved_minor=2_500_000, risk_grade=RiskGrade.MEDIUM)
    db.expire_all()
    client = db.get(Client, client.id)
    assert (client.credit_limit_minor, client.credit_currency, client.risk_grade) == (
        2_500_000, "HUF", "medium")
    assert client.next_review_due == date(2027, 2, 28)
    assert db.scalar(select(OnboardingStep).where(
        OnboardingStep.client_id == client.id,
        OnboardingStep.step == Step.CREDIT_REVIEW_DONE)) is not None
    decision = db.get(CreditDecision, decision_id)
    assert decision.policy_version == 1 and decision.figures["dti_bp"] == 2000
    assert all(rule["passed"] for rule in decision.rules)
    assert db.get(CreditReview, review_id).status is Status.APPROVED
    actions = set(db.scalars(select(AuditEvent.action).where(AuditEvent.object_id.in_(
        [review_id, client.id]))))
    assert {"review.approve", "client.credit_limit", "onboarding.tick"} <= actions


def test_an_approval_opens_the_account_or_sets_the_open_ones_limit(app, db, run, people):
    client = make_client(db, "Számlanyitó Sára")
    first = prepared(app, db, run, people, client)
    decide(run, db, people["other"], first, Action.APPROVE, "t-open",
           approved_minor=2_000_000, risk_grade=RiskGrade.LOW)
    db.expire_all()
    (account,) = db.scalars(select(Account).where(Account.client_id == client.id)).all()
    assert (account.currency, account.limit_minor, account.review_id, account.opened_on) == (
        "HUF", 2_000_000, first, TODAY)
    assert db.scalar(select(OnboardingStep).where(
        OnboardingStep.client_id == client.id,
        OnboardingStep.step == Step.ACCOUNT_OPENED)) is not None
    renewal = prepared(app, db, run, people, db.get(Client, client.id), requested=1_500_000)
    decide(run, db, people["other"], renewal, Action.APPROVE, "t-renew",
           risk_grade=RiskGrade.LOW)
    db.expire_all()
    (account,) = db.scalars(select(Account).where(Account.client_id == client.id)).all()
    assert (account.limit_minor, account.review_id) == (1_500_000, renewal)
    assert db.scalar(select(AuditEvent.details).where(AuditEvent.action == "account.limit")) \
        is not None


def test_nobody_decides_a_review_they_prepared_or_beyond_their_authority(app, db, run,
                                                                        people):
    small = prepared(app, db, run, people, make_client(db, "Négy Szem"))
    with pytest.raises(Forbidden):
        decide(run, db, people["prep"], small, Action.APPROVE, "t-own",
               risk_grade=RiskGrade.LOW)
    with pytest.raises(Forbidden):
        decide(run, db, people["clerk"], small, Action.DECLINE, "t-clerk", note="no")
    big = prepared(app, db, run, people, make_client(db, "Nagy Nóra"), requested=6_000_000,
                   income=1_000_000)
    with pytest.raises(Forbidden):
        decide(run, db, people["other"], big, Action.APPROVE, "t-big",
               risk_grade=RiskGrade.LOW)
    decide(run, db, people["manager"], big, Action.APPROVE, "t-mgr", risk_grade=RiskGrade.LOW)
    assert db.scalar(select(func.count()).select_from(CreditDecision)) == 1


def test_a_coordinator_may_not_approve_the_small_part_of_a_big_request_above_their_limit(
        app, db, run, people):
    big = prepared(app, db, run, people, make_client(db, "Rész Réka"), requested=6_000_000,
                   income=1_000_000)
    # Sent to a manager: a coordinator may not take it, not even for less.
    with pytest.raises(Forbidden):
        decide(run, db, people["other"], big, Action.APPROVE, "t-part",
               approved_minor=1_000_000, risk_grade=RiskGrade.LOW)


def test_a_double_submitted_decision_is_recorded_once(app, db, run, people):
    review_id = prepared(app, db, run, people, make_client(db, "Dupla Dénes"))
    first = decide(run, db, people["other"], review_id, Action.DECLINE, "same-token",
                   note="Túl magas adósság")
    second = run(reviews.decide, people["other"], review_id,
                 reviews.DecisionData(Action.DECLINE, "same-token", note="Túl magas adósság"),
                 as_of=TODAY, expected_version=1)  # the stale version of the first submit
    assert first == second
    assert db.scalar(select(func.count()).select_from(CreditDecision)) == 1


def test_a_decision_keeps_its_policy_version_after_the_policy_changes(app, db, run, people):
    review_id = prepared(app, db, run, people, make_client(db, "Régi Rezső"))
    decide(run, db, people["other"], review_id, Action.APPROVE, "t-v1",
           risk_grade=RiskGrade.LOW)
    policy = reviews.as_policy(reviews.policy_in_force(db, TODAY))
    run(reviews.save_policy, people["admin"], reviews.PolicyData(
        effective_from=TODAY, max_dti_bp=1000, min_bureau_score=800,
        max_income_multiple_x100=100, min_residual_bp=9000, bureau_max_age_days=10,
        required_items=frozenset(Item), authority=dict(policy.authority),
        review_months=dict(policy.review_months)))
    db.expire_all()
    decision = db.scalar(select(CreditDecision))
    assert decision.policy_version == 1 and all(r["passed"] for r in decision.rules)
    assert reviews.policy_in_force(db, TODAY).version == 2
    assert reviews.policy_in_force(db, date(2026, 11, 29)).version == 1
    later = prepared(app, db, run, people, make_client(db, "Új Ubul"))
    evaluation = reviews.evaluate_review(db.get(CreditReview, later),
                                         reviews.policy_in_force(db, TODAY), TODAY)
    assert not evaluation.passed  # judged under version 2


def test_only_administrators_save_a_policy(db, run, people):
    policy = reviews.as_policy(reviews.policy_in_force(db, TODAY))
    new = reviews.PolicyData(effective_from=TODAY, max_dti_bp=3500, min_bureau_score=650,
                             max_income_multiple_x100=500, min_residual_bp=3000,
                             bureau_max_age_days=60, required_items=frozenset(Item),
                             authority=dict(policy.authority),
                             review_months=dict(policy.review_months))
    for who in ("clerk", "prep", "manager"):
        with pytest.raises(Forbidden):
            run(reviews.save_policy, people[who], new)
    assert len(reviews.policy_versions(db, people["manager"])) == 1


def test_a_stale_change_is_refused_and_closed_reviews_stay_closed(app, db, run, people):
    client = make_client(db, "Elavult Elemér")
    review_id = run(reviews.open_review, people["prep"], client.id, data())
    stale = _version(db, review_id)
    run(reviews.update_review, people["prep"], review_id, data(income=700_000),
        expected_version=stale)
    with pytest.raises(Conflict):
        run(reviews.update_review, people["prep"], review_id, data(income=800_000),
            expected_version=stale)
    db.expire_all()
    assert db.get(CreditReview, review_id).monthly_income_minor == 700_000
    run(reviews.withdraw, people["prep"], review_id, note="Visszalépett",
        expected_version=_version(db, review_id))
    with pytest.raises(reviews.Refused) as refused:
        run(reviews.update_review, people["prep"], review_id, data(),
            expected_version=_version(db, review_id))
    assert refused.value.reason == "not_editable"
    with pytest.raises(reviews.Refused):
        run(reviews.log_contact, people["clerk"], review_id, reviews.ContactData(
            Item.BANK, "x", Channel.EMAIL, NOW, ContactOutcome.CONFIRMED), now=NOW)


def test_decline_and_send_back_need_a_note_and_refer_up_goes_to_a_manager(app, db, run,
                                                                         people):
    review_id = prepared(app, db, run, people, make_client(db, "Jegyzet Jenő"))
    with pytest.raises(reviews.Refused) as refused:
        decide(run, db, people["other"], review_id, Action.DECLINE, "t-n")
    assert refused.value.reason == "note_needed"
    decide(run, db, people["other"], review_id, Action.REFER_UP, "t-up",
           note="Nagy összeg, kérem döntsön")
    db.expire_all()
    assert db.get(CreditReview, review_id).needed_role == "manager"
    with pytest.raises(Forbidden):
        decide(run, db, people["other"], review_id, Action.APPROVE, "t-after",
               risk_grade=RiskGrade.LOW)
    decide(run, db, people["manager"], review_id, Action.SEND_BACK, "t-back",
           note="Hiányzik a munkáltatói igazolás")
    db.expire_all()
    review = db.get(CreditReview, review_id)
    assert review.status is Status.VERIFICATION and review.needed_role is None


def test_approving_against_failed_rules_needs_a_note(app, db, run, people):
    review_id = prepared(app, db, run, people, make_client(db, "Kockázat Kázmér"),
                         payments=(450_000,))  # DTI 75 %, 25 % left
    with pytest.raises(reviews.Refused) as refused:
        decide(run, db, people["other"], review_id, Action.APPROVE, "t-x",
               risk_grade=RiskGrade.HIGH)
    assert refused.value.reason == "note_needed_for_failed_rules"
    decision_id = decide(run, db, people["other"], review_id, Action.APPROVE, "t-y",
                         risk_grade=RiskGrade.HIGH, note="Kezes vállalta a kockázatot")
    failed = [r["rule"] for r in db.get(CreditDecision, decision_id).rules if not r["passed"]]
    assert failed == ["dti", "residual"]


def test_a_not_confirmed_reference_fails_the_item_until_something_confirms_it(app, db, run,
                                                                            people):
    client = make_client(db, "Referencia Rita")
    review_id = run(reviews.open_review, people["prep"], client.id, data())
    run(reviews.log_contact, people["clerk"], review_id, reviews.ContactData(
        Item.EMPLOYMENT, "HR", Channel.PHONE, NOW, ContactOutcome.NO_ANSWER), now=NOW)
    db.expire_all()
    assert reviews.item_states(db.get(CreditReview, review_id))[Item.EMPLOYMENT] is \
        ItemState.OPEN
    run(reviews.log_contact, people["clerk"], review_id, reviews.ContactData(
        Item.EMPLOYMENT, "HR", Channel.EMAIL, NOW, ContactOutcome.NOT_CONFIRMED), now=NOW)
    db.expire_all()
    assert reviews.item_states(db.get(CreditReview, review_id))[Item.EMPLOYMENT] is \
        ItemState.FAILED
    with pytest.raises(reviews.Refused):  # the bureau report is not a reference
        run(reviews.log_contact, people["clerk"], review_id, reviews.ContactData(
            Item.BUREAU, "x", Channel.PHONE, NOW, ContactOutcome.CONFIRMED), now=NOW)


def test_evidence_must_come_from_the_clients_own_file(app, db, run, people):
    mine, other = make_client(db, "Saját Sára"), make_client(db, "Idegen Ida")
    review_id = run(reviews.open_review, people["prep"], mine.id, data())
    foreign = run(lambda s, *a, **k: file_document(*((s,) + a), **k), SYSTEM,
                  app.extensions["storage"], other.id, io.BytesIO(b"not yours"), "x.txt",
                  FileMeta(DocType.OTHER), max_bytes=10**6)
    with pytest.raises(reviews.Refused) as refused:
        run(reviews.attach_evidence, people["prep"], review_id, Item.BANK, foreign,
            expected_version=_version(db, review_id))
    assert refused.value.reason == "document_not_of_client"


def test_restricted_clients_reviews_are_refused_to_those_who_may_not_see_them(app, db, run,
                                                                            people, staff):
    secret = make_client(db, "Titkos Teréz", restricted=True,
                         coordinator_id=staff.coordinator.id)
    review_id = run(reviews.open_review, people["prep"], secret.id, data())
    with pytest.raises(Forbidden):
        run(reviews.get_review, people["other"], review_id)
    with pytest.raises(Forbidden):
        run(reviews.get_review, people["clerk"], review_id)
    assert run(reviews.get_review, people["manager"], review_id) == review_id
    page = reviews.list_reviews(db, people["clerk"], reviews.ReviewFilter(), TODAY, 25)
    assert page.total == 0
    assert reviews.status_counts(db, people["clerk"])[Status.DRAFT] == 0


def test_an_approval_files_a_searchable_decision_record_in_the_clients_language(
        app, db, run, people):
    from pypdf import PdfReader

    from portal.jobs import apply_index_queue
    from portal.models import Document
    from portal.services import search as search_service
    from portal.services.decision_records import file_decision_record

    client = make_client(db, "Őszi Űrhajós Ödön", language="hu")
    review_id = prepared(app, db, run, people, client)
    with app.test_request_context():
        decision_id = run(reviews.decide, people["other"], review_id, reviews.DecisionData(
            Action.APPROVE, "t-pdf", approved_minor=2_000_000, risk_grade=RiskGrade.LOW,
            note="Rendezett fizetési előzmények"), as_of=TODAY,
            expected_version=_version(db, review_id), file_record=file_decision_record)
    db.expire_all()
    decision = db.get(CreditDecision, decision_id)
    document = db.get(Document, decision.document_id)
    assert document.doc_type is DocType.CREDIT_DECISION and document.client_id == client.id
    assert document.tag_list == ["hitelbírálat"]  # the tag in the record's language too
    path = app.extensions["storage"].path_for(document.current.sha256)
    text = "\n".join(page.extract_text() for page in PdfReader(path).pages)
    assert "Őszi Űrhajós Ödön" in text and "Hitelbírálati döntés" in text
    assert "Rendezett fizetési előzmények" in text
    assert document.current.text_status.value == "text"
    apply_index_queue(app.extensions["db_sessionmaker"], app.extensions["search"].get(),
                      wait=True)
    found = search_service.search_documents(
        db, people["manager"], app.extensions["search"].get(),
        search_service.DocSearch(q="Űrhajós rendezett"))
    assert [f.document.id for f in found.items] == [document.id]
