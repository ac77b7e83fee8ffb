"""Credit review pages: the policy, opening a review, live figures, verification, decisions,
the queue, and who may do what."""

from __future__ import annotations

import io
import re
from datetime import UTC, date, datetime, timedelta

import pytest
from flask_babel import force_locale
from sqlalchemy import func, select

from portal.domain.permissions import Role
from portal.domain.policy import Item, Status
from portal.i18n import date_filter
from portal.models import CreditDecision, CreditPolicy, CreditReview, Document
from portal.models.credit import Obligation, ObligationKind, ReferenceContact, ReviewKind
from portal.services import reviews
from portal.services.base import Actor
from portal.services.reviews import ObligationData, ReviewData
from tests.conftest import make_client, post


def open_review(db, user, client, *, requested: int = 2_000_000, income: int = 1_000_000,
                payments: tuple[int, ...] = (300_000,), currency: str = "HUF") -> CreditReview:
    """Open a review through the service, as ``user``, and commit it."""
    data = ReviewData(
        kind=ReviewKind.NEW_LIMIT, requested_minor=requested, currency=currency,
        purpose="Working capital", monthly_income_minor=income,
        obligations=tuple(ObligationData(f"Bank {n}", ObligationKind.PERSONAL_LOAN, 10 * p, p)
                          for n, p in enumerate(payments)))
    review = reviews.open_review(db, Actor(user), client.id, data)
    db.commit()
    return review


def submitted(db, user, client, **figures) -> CreditReview:
    """Open a review as ``user`` and submit it for a decision."""
    review = open_review(db, user, client, **figures)
    reviews.submit(db, Actor(user), review.id, as_of=date.today(),
                   expected_version=review.version)
    db.commit()
    return review


def _version(db, review_id: int) -> int:
    db.expire_all()
    return db.get(CreditReview, review_id).version


def _decide(client, db, review_id: int, action: str, *, token: str = "t" * 43, **fields):
    data = {"decision-version": str(_version(db, review_id)), "decision-token": token,
            "action": action, "decision-note": "", "decision-approved": "",
            "decision-risk_grade": ""}
    data.update({f"decision-{k}": v for k, v in fields.items()})
    return post(client, f"/reviews/{review_id}/decide", data)


def _new_form(**overrides) -> dict:
    data = {
        "kind": "new_limit", "requested": "1 200 000", "currency": "HUF",
        "purpose": "Stock for the season", "monthly_income": "1.000.000 Ft",
        "obligations-0-lender": "OTP Bank", "obligations-0-kind": "mortgage",
        "obligations-0-outstanding": "12 500 000", "obligations-0-monthly_payment": "150 000",
        "obligations-2-lender": "K&H", "obligations-2-kind": "credit_card",
        "obligations-2-outstanding": "300 000", "obligations-2-monthly_payment": "25 000",
        "obligations-5-lender": "", "obligations-5-kind": "personal_loan",
        "obligations-5-outstanding": "", "obligations-5-monthly_payment": "",
    }
    data.update(overrides)
    return data


def _html(response) -> str:
    return response.get_data(as_text=True)


def _rule(html: str, rule: str) -> str:
    """Return "true" or "false": whether the page shows ``rule`` as met."""
    match = re.search(rf'data-rule="{rule}" data-passed="(true|false)"', html)
    assert match, f"rule {rule} not shown"
    return match.group(1)


@pytest.fixture
def client1(db, staff):
    return make_client(db, "Kovács Eszter", income_minor=800_000)


# Opening a review ---------------------------------------------------------------------------


def test_open_a_review_with_obligations(app, db, staff, as_role, client1):
    coordinator = as_role(Role.COORDINATOR)
    page = coordinator.get(f"/clients/{client1.id}/reviews/new")
    assert page.status_code == 200
    assert 'value="800,000"' in _html(page)  # the client's income, in the same currency
    response = post(coordinator, f"/clients/{client1.id}/reviews/new", _new_form())
    assert response.status_code == 302, _html(response)[:3000]
    review = db.scalar(select(CreditReview))
    assert response.headers["Location"].endswith(f"/reviews/{review.id}")
    assert (review.status, review.requested_minor, review.monthly_income_minor,
            review.prepared_by_id) == (Status.DRAFT, 1_200_000, 1_000_000, staff.coordinator.id)
    rows = db.scalars(select(Obligation).order_by(Obligation.id)).all()
    assert [(o.lender, o.kind, o.outstanding_minor, o.monthly_payment_minor) for o in rows] == [
        ("OTP Bank", ObligationKind.MORTGAGE, 12_500_000, 150_000),
        ("K&H", ObligationKind.CREDIT_CARD, 300_000, 25_000),
    ]  # the blank row is left out
    shown = _html(coordinator.get(f"/reviews/{review.id}"))
    assert "OTP Bank" in shown and "Draft" in shown


def test_euro_review_reads_cents(app, db, staff, as_role, client1):
    coordinator = as_role(Role.COORDINATOR)
    response = post(coordinator, f"/clients/{client1.id}/reviews/new", _new_form(
        currency="EUR", requested="12 000,50", monthly_income="3000",
        **{"obligations-0-monthly_payment": "1200,50", "obligations-0-outstanding": "€ 9.000",
           "obligations-2-lender": "", "obligations-2-outstanding": "",
           "obligations-2-monthly_payment": ""}))
    assert response.status_code == 302, _html(response)[:3000]
    review = db.scalar(select(CreditReview))
    assert (review.currency, review.requested_minor, review.monthly_income_minor) == \
        ("EUR", 1_200_050, 300_000)
    assert [(o.outstanding_minor, o.monthly_payment_minor) for o in review.obligations] == \
        [(900_000, 120_050)]


def test_invalid_input_re_renders_with_422_and_keeps_it(app, db, staff, as_role, client1):
    coordinator = as_role(Role.COORDINATOR)
    response = post(coordinator, f"/clients/{client1.id}/reviews/new", _new_form(
        requested="12abc", **{"obligations-2-lender": "",
                              "obligations-0-monthly_payment": "150 000,5"}))
    html = _html(response)
    assert response.status_code == 422
    assert 'value="12abc"' in html and 'value="150 000,5"' in html and "OTP Bank" in html
    assert "Enter an amount, e.g. 1,200,000." in html
    assert "Too many decimals for this currency" in html
    assert "Name the lender." in html
    assert db.scalar(select(func.count()).select_from(CreditReview)) == 0


def test_obligation_rows_are_added_and_removed(app, db, staff, as_role, client1):
    coordinator = as_role(Role.COORDINATOR)
    row = coordinator.get("/reviews/obligation-row?obligations-0-lender=A&obligations-4-lender=B",
                          headers={"HX-Request": "true"})
    html = _html(row)
    assert row.status_code == 200 and "<html" not in html
    assert 'name="obligations-5-lender"' in html and "obligations-4" not in html
    removed = coordinator.get("/reviews/obligation-row?remove=1&remove_row=3",
                              headers={"HX-Request": "true"})
    assert removed.status_code == 200 and _html(removed) == ""
    assert removed.headers["HX-Trigger"] == "obligations-changed"
    # Without JavaScript: "add" and "remove" re-render the form and save nothing.
    added = post(coordinator, f"/clients/{client1.id}/reviews/new",
                 _new_form(add_row="1"))
    assert added.status_code == 200
    assert _html(added).count('class="obligation-row"') == 4
    fewer = post(coordinator, f"/clients/{client1.id}/reviews/new",
                 _new_form(remove_row="0"))
    assert fewer.status_code == 200
    assert "OTP Bank" not in _html(fewer) and "K&amp;H" in _html(fewer)
    assert _html(fewer).count('class="obligation-row"') == 2
    assert db.scalar(select(func.count()).select_from(CreditReview)) == 0


# Live figures -----------------------------------------------------------------------------


def test_live_figures_show_dti_and_rules_and_follow_the_income(app, db, staff, as_role,
                                                               client1):
    coordinator = as_role(Role.COORDINATOR)

    def figures(income: str, payment: str = "400 000") -> str:
        response = coordinator.get("/reviews/evaluate", query_string={
            "requested": "2 000 000", "currency": "HUF", "monthly_income": income,
            "obligations-0-lender": "OTP", "obligations-0-monthly_payment": payment,
        }, headers={"HX-Request": "true"})
        assert response.status_code == 200
        assert "<html" not in _html(response)
        return _html(response)

    at_limit = figures("1 000 000")
    assert re.search(r'data-figure="dti">40(\.0)?%<', at_limit)
    assert _rule(at_limit, "dti") == "true"
    assert "Debt-to-income ratio" in at_limit and "within the" in at_limit
    assert _rule(at_limit, "score") == "false"  # no bureau report on a new review
    assert _rule(figures("1 000 000", "400 001"), "dti") == "false"  # one forint above
    below = figures("999 999")
    assert _rule(below, "dti") == "false" and "is over the" in below
    assert "✗" in below and "not met" in below
    assert 'data-evaluation="none"' in figures("lots")  # unreadable: no figures, a hint
    full_page = coordinator.get("/reviews/evaluate?requested=1000&monthly_income=1000")
    assert full_page.status_code == 200 and "<html" in _html(full_page)


def test_live_figures_of_a_review_use_its_bureau_report(app, db, staff, as_role, client1):
    review = open_review(db, staff.coordinator, client1)
    reviews.set_bureau_report(db, Actor(staff.coordinator), review.id, score=720,
                              report_date=date.today() - timedelta(days=100), document_id=None,
                              as_of=date.today(), expected_version=review.version)
    db.commit()
    clerk = as_role(Role.CLERK)
    html = _html(clerk.get(f"/reviews/{review.id}/evaluate", query_string={
        "requested": "1 000 000", "monthly_income": "1 000 000", "currency": "HUF"},
        headers={"HX-Request": "true"}))
    assert _rule(html, "score") == "true"
    assert _rule(html, "bureau_age") == "false" and re.search(r"10[01] days old", html)
    page = _html(clerk.get(f"/reviews/{review.id}"))
    assert _rule(page, "bureau_age") == "false"


# Saving figures ---------------------------------------------------------------------------


def _figures_form(review_id: int, version: int, **overrides) -> dict:
    data = {"kind": "new_limit", "requested": "2 500 000", "currency": "HUF",
            "purpose": "More stock", "monthly_income": "1 100 000", "version": str(version),
            "obligations-0-lender": "Erste", "obligations-0-kind": "car_loan",
            "obligations-0-outstanding": "2 000 000", "obligations-0-monthly_payment": "90 000"}
    data.update(overrides)
    return data


def test_figures_are_saved_and_a_stale_save_gets_409_with_the_input_kept(app, db, staff, as_role,
                                                                       client1):
    review = open_review(db, staff.coordinator, client1)
    coordinator = as_role(Role.COORDINATOR)
    loaded = _version(db, review.id)
    saved = post(coordinator, f"/reviews/{review.id}/edit", _figures_form(review.id, loaded))
    assert saved.status_code == 302
    db.expire_all()
    review = db.get(CreditReview, review.id)
    assert (review.requested_minor, review.monthly_income_minor) == (2_500_000, 1_100_000)
    assert [(o.lender, o.monthly_payment_minor) for o in review.obligations] == \
        [("Erste", 90_000)]
    stale = post(coordinator, f"/reviews/{review.id}/edit", _figures_form(
        review.id, loaded, requested="3 333 333", purpose="Typed on a stale copy"))
    html = _html(stale)
    assert stale.status_code == 409
    assert 'value="3 333 333"' in html and "Typed on a stale copy" in html
    assert "Someone else changed this review after you opened it" in html
    assert f'name="version" type="hidden" value="{_version(db, review.id)}"' in html
    db.expire_all()
    assert db.get(CreditReview, review.id).requested_minor == 2_500_000
    again = post(coordinator, f"/reviews/{review.id}/edit", _figures_form(
        review.id, _version(db, review.id), requested="3 333 333"))
    assert again.status_code == 302  # saved over the current version once compared


def test_closed_or_submitted_review_refuses_figures(app, db, staff, as_role, client1):
    review = submitted(db, staff.coordinator, client1)
    coordinator = as_role(Role.COORDINATOR)
    page = _html(coordinator.get(f"/reviews/{review.id}"))
    assert 'id="review-form"' not in page  # no figures form once submitted
    response = post(coordinator, f"/reviews/{review.id}/edit",
                    _figures_form(review.id, _version(db, review.id)))
    assert response.status_code == 422
    assert "only while the review is being prepared" in _html(response)


# Verification -----------------------------------------------------------------------------


def test_bureau_report_uploaded_and_contacts_logged(app, db, staff, as_role, client1):
    review = open_review(db, staff.coordinator, client1)
    coordinator = as_role(Role.COORDINATOR)
    token_page = f"/reviews/{review.id}"
    from tests.conftest import csrf_token

    response = coordinator.post(f"/reviews/{review.id}/bureau", data={
        "csrf_token": csrf_token(coordinator, token_page),
        "bureau-version": str(_version(db, review.id)), "bureau-document_id": "",
        "bureau-score": "710", "bureau-report_date": (date.today() - timedelta(days=5)).isoformat(),
        "bureau-file": (io.BytesIO(b"Bureau report: score 710"), "bureau.txt"),
    }, content_type="multipart/form-data")
    assert response.status_code == 302, _html(response)[:3000]
    document = db.scalar(select(Document))
    assert document.client_id == client1.id and document.doc_type.value == "credit_report"
    db.expire_all()
    review = db.get(CreditReview, review.id)
    assert (review.bureau_score, [e.document_id for e in review.evidence]) == (710, [document.id])
    assert reviews.item_states(review)[Item.BUREAU].value == "done"
    # Another reference backed by the same document, picked from the file.
    picked = post(coordinator, f"/reviews/{review.id}/items/bank/evidence", {
        "evidence-bank-version": str(_version(db, review.id)),
        "evidence-bank-document_id": str(document.id)}, token_from=token_page)
    assert picked.status_code == 302
    clerk = as_role(Role.CLERK)
    logged = post(clerk, f"/reviews/{review.id}/items/employment/contacts", {
        "contact-employment-contact_name": "Szabó Anna, HR", "contact-employment-channel": "phone",
        "contact-employment-contacted_at": date.today().isoformat() + "T00:05",
        "contact-employment-outcome": "confirmed", "contact-employment-note": "Employed since 2019",
    }, token_from=token_page)
    assert logged.status_code == 302, _html(logged)[:3000]
    contact = db.scalar(select(ReferenceContact))
    assert (contact.contact_name, contact.logged_by_id) == ("Szabó Anna, HR", staff.clerk.id)
    page = _html(clerk.get(token_page))
    assert "Szabó Anna, HR" in page and "Confirmed" in page and "Employed since 2019" in page
    assert page.count('data-state="done"') == 3  # bureau, employment, bank
    assert _rule(page, "verification") == "true"
    future = post(clerk, f"/reviews/{review.id}/items/bank/contacts", {
        "contact-bank-contact_name": "Branch", "contact-bank-channel": "email",
        "contact-bank-contacted_at": (date.today() + timedelta(days=2)).isoformat() + "T10:00",
        "contact-bank-outcome": "no_answer"}, token_from=token_page)
    assert future.status_code == 422 and "cannot be in the future" in _html(future)
    assert db.scalar(select(func.count()).select_from(ReferenceContact)) == 1


def test_an_empty_bureau_form_says_what_to_do(app, db, staff, as_role, client1):
    review = open_review(db, staff.coordinator, client1)
    coordinator = as_role(Role.COORDINATOR)
    response = post(coordinator, f"/reviews/{review.id}/bureau",
                    {"bureau-version": str(_version(db, review.id))})
    assert response.status_code == 422
    assert "Pick or upload the report, or enter its score and date." in _html(response)


# Deciding ---------------------------------------------------------------------------------


def test_four_eyes_the_preparer_cannot_decide_another_coordinator_can(app, db, staff, as_role,
                                                                      client1):
    review = submitted(db, staff.coordinator, client1)
    preparer = as_role(Role.COORDINATOR)
    page = _html(preparer.get(f"/reviews/{review.id}"))
    assert 'data-blocked="own"' in page and 'name="decision-token"' not in page
    refused = _decide(preparer, db, review.id, "approve", note="mine", risk_grade="low")
    assert refused.status_code == 403
    other = as_role("coordinator2")
    page = _html(other.get(f"/reviews/{review.id}"))
    assert 'name="decision-token"' in page and 'data-action="approve"' in page
    approved = _decide(other, db, review.id, "approve", note="Rules not all met; known client",
                       risk_grade="low", approved="1 500 000")
    assert approved.status_code == 302, _html(approved)[:3000]
    db.expire_all()
    review = db.get(CreditReview, review.id)
    assert review.status is Status.APPROVED
    assert (review.client.credit_limit_minor, review.client.risk_grade) == (1_500_000, "low")
    decision = db.scalar(select(CreditDecision))
    assert (decision.decided_by_id, decision.approved_minor) == (staff.coordinator2.id, 1_500_000)
    assert decision.document_id is not None  # the decision record, filed for the client
    page = _html(other.get(f"/reviews/{review.id}"))
    assert f'href="/documents/{decision.document_id}">Decision record<' in page


def test_coordinator_cannot_approve_above_the_coordinator_limit_manager_can(app, db, staff,
                                                                          as_role, client1):
    review = submitted(db, staff.coordinator, client1, requested=6_000_000, income=2_000_000)
    other = as_role("coordinator2")
    page = _html(other.get(f"/reviews/{review.id}"))
    assert 'data-blocked="authority"' in page and "Manager" in page
    response = _decide(other, db, review.id, "approve", note="x", risk_grade="medium")
    assert response.status_code == 403
    manager = as_role(Role.MANAGER)
    response = _decide(manager, db, review.id, "approve", note="Over the coordinator limit",
                       risk_grade="medium")
    assert response.status_code == 302, _html(response)[:3000]
    db.expire_all()
    assert db.get(CreditReview, review.id).status is Status.APPROVED


def test_a_double_submitted_decision_is_recorded_once(app, db, staff, as_role, client1):
    review = submitted(db, staff.coordinator, client1)
    other = as_role("coordinator2")
    version = _version(db, review.id)
    data = {"decision-version": str(version), "decision-token": "same-token-" + "x" * 30,
            "action": "decline", "decision-note": "Income too low"}
    first = post(other, f"/reviews/{review.id}/decide", data)
    second = post(other, f"/reviews/{review.id}/decide", data)
    assert (first.status_code, second.status_code) == (302, 302)
    assert db.scalar(select(func.count()).select_from(CreditDecision)) == 1
    db.expire_all()
    assert db.get(CreditReview, review.id).status is Status.DECLINED


def test_refusals_become_form_messages(app, db, staff, as_role, client1):
    review = submitted(db, staff.coordinator, client1)
    other = as_role("coordinator2")
    no_note = _decide(other, db, review.id, "decline")
    assert no_note.status_code == 422
    assert "Write a note: a decline or a sending back says why." in _html(no_note)
    no_grade = _decide(other, db, review.id, "approve", note="ok")
    assert no_grade.status_code == 422
    assert "risk grade for the approval" in _html(no_grade)
    too_much = _decide(other, db, review.id, "approve", note="ok", risk_grade="low",
                       approved="9 000 000")
    assert too_much.status_code == 422 and "at most the requested limit" in _html(too_much)
    failing = _decide(other, db, review.id, "approve", risk_grade="low")
    assert failing.status_code == 422 and "an approval needs a note" in _html(failing)
    assert db.scalar(select(func.count()).select_from(CreditDecision)) == 0
    stale = post(other, f"/reviews/{review.id}/decide", {
        "decision-version": "1", "decision-token": "z" * 40, "action": "decline",
        "decision-note": "late"})
    assert stale.status_code == 409
    assert "Someone else changed this review" in _html(stale)


def test_decline_reasons_in_english_and_hungarian(app, db, staff, as_role, client1):
    review = submitted(db, staff.coordinator, client1, income=1_000_000, payments=(450_000,))
    other = as_role("coordinator2")
    assert _decide(other, db, review.id, "decline", note="DTI too high").status_code == 302
    english = _html(other.get(f"/reviews/{review.id}"))
    assert "Rules not met at the time:" in english
    assert "Debt-to-income ratio" in english and "45% is over the 40% maximum" in english
    assert "Not yet done: Credit-bureau report, Employment reference, Bank reference." in english
    post(other, "/account/language", {"language": "hu", "next": f"/reviews/{review.id}"})
    hungarian = _html(other.get(f"/reviews/{review.id}"))
    assert "Adósságszolgálat/jövedelem arány" in hungarian
    assert "45%, meghaladja a felső határt (40%)" in hungarian
    assert "Elutasítva" in hungarian and "Debt-to-income ratio" not in hungarian


def test_amounts_in_form_fields_and_hints_are_written_as_in_the_users_language(
        app, db, staff, as_role, client1):
    """An English page writes 2,000,000 into a field and gives English examples; a Hungarian
    one 2 000 000 and Hungarian examples. Both forms are read back to the same amount."""
    review = submitted(db, staff.coordinator, client1, requested=2_000_000)
    other = as_role("coordinator2")  # English
    english = _html(other.get(f"/reviews/{review.id}"))
    assert 'name="decision-approved" type="text" value="2,000,000"' in english
    assert "2 000 000" not in english.split('name="decision-approved"')[1][:40]
    policy = _html(as_role(Role.ADMIN).get("/reviews/policy"))  # the admin reads English
    assert "e.g. 40 or 40.5" in policy and "e.g. 6 or 4.5" in policy
    assert 'value="5,000,000"' in policy and "40,5" not in policy
    draft = open_review(db, staff.coordinator, make_client(db, "Angol Anna"))
    form = _html(other.get(f"/reviews/{draft.id}"))
    assert "For example: 1,200,000 or 1200000." in form and "1 200 000" not in form
    post(other, "/account/language", {"language": "hu", "next": "/account/"})
    hungarian = _html(other.get(f"/reviews/{review.id}"))
    assert 'name="decision-approved" type="text" value="2\xa0000\xa0000"' in hungarian or \
        'name="decision-approved" type="text" value="2 000 000"' in hungarian
    assert "Például: 1 200 000 vagy 1.200.000 Ft." in _html(other.get(f"/reviews/{draft.id}"))
    assert _decide(other, db, review.id, "approve", note="ok", risk_grade="low",
                   approved="1,500,000").status_code == 302
    db.expire_all()
    assert db.scalar(select(CreditDecision.approved_minor)
                     .where(CreditDecision.review_id == review.id)) == 1_500_000


def test_a_decision_keeps_its_policy_version_after_a_new_policy(app, db, staff, as_role,
                                                              client1):
    review = submitted(db, staff.coordinator, client1)
    other = as_role("coordinator2")
    assert _decide(other, db, review.id, "approve", note="fine", risk_grade="high"
                   ).status_code == 302
    admin = as_role(Role.ADMIN)
    saved = post(admin, "/reviews/policy", _policy_form(effective_from=date.today().isoformat()))
    assert saved.status_code == 302, _html(saved)[:3000]
    assert db.scalar(select(func.max(CreditPolicy.version))) == 2
    page = _html(other.get(f"/reviews/{review.id}"))
    assert 'data-policy-version="1"' in page and "policy version 1" in page
    assert db.scalar(select(CreditDecision.policy_version)) == 1
    assert "In force today: version 2" in _html(other.get("/reviews/policy"))


# The policy -------------------------------------------------------------------------------


def _policy_form(**overrides) -> dict:
    data = {"effective_from": (date.today() + timedelta(days=7)).isoformat(),
            "max_dti": "40,5", "min_bureau_score": "620", "max_income_multiple": "4,5",
            "min_residual": "25", "bureau_max_age_days": "60",
            "required_items": ["bureau", "employment"], "coordinator_huf": "4 000 000",
            "coordinator_eur": "12.000,00", "manager_huf": "", "manager_eur": "100 000",
            "review_high": "2", "review_medium": "6", "review_low": "12",
            "note": "Stricter after the audit"}
    data.update(overrides)
    return data


def test_admin_saves_a_policy_version_typed_as_people_type(app, db, staff, as_role, client1):
    admin = as_role(Role.ADMIN)
    page = _html(admin.get("/reviews/policy"))
    assert 'name="max_dti"' in page and 'value="40"' in page  # filled from version 1
    assert post(admin, "/reviews/policy", _policy_form()).status_code == 302
    row = db.scalar(select(CreditPolicy).where(CreditPolicy.version == 2))
    assert (row.max_dti_bp, row.max_income_multiple_x100, row.min_residual_bp,
            row.min_bureau_score, row.bureau_max_age_days) == (4050, 450, 2500, 620, 60)
    assert row.required_items == ["bureau", "employment"]
    assert row.authority == {"coordinator": {"HUF": 4_000_000, "EUR": 1_200_000},
                             "manager": {"HUF": None, "EUR": 10_000_000}}
    assert row.review_months == {"high": 2, "medium": 6, "low": 12}
    listed = _html(admin.get("/reviews/policy"))
    assert "scheduled" in listed and "In force today: version 1" in listed
    version = _html(admin.get("/reviews/policy/2"))
    assert "40.5%" in version and "4.5×" in version and "Stricter after the audit" in version


def test_policy_form_errors_re_render_with_422(app, db, staff, as_role, client1):
    admin = as_role(Role.ADMIN)
    response = post(admin, "/reviews/policy", _policy_form(max_dti="forty", coordinator_huf="",
                                                            min_bureau_score="1200"))
    html = _html(response)
    assert response.status_code == 422
    assert 'value="forty"' in html and "Enter a number, e.g. 40 or 40.5." in html
    assert "Enter an amount." in html
    assert db.scalar(select(func.count()).select_from(CreditPolicy)) == 1
    clerk = as_role(Role.CLERK)
    assert 'name="max_dti"' not in _html(clerk.get("/reviews/policy"))  # read only
    assert post(clerk, "/reviews/policy", _policy_form()).status_code == 403


# Who may do what ---------------------------------------------------------------------------


def test_clerk_reads_and_logs_contacts_but_neither_prepares_nor_decides(app, db, staff, as_role,
                                                                       client1):
    review = open_review(db, staff.coordinator, client1)
    clerk = as_role(Role.CLERK)
    page = clerk.get(f"/reviews/{review.id}")
    assert page.status_code == 200
    assert 'id="review-form"' not in _html(page) and 'data-action="submit"' not in _html(page)
    assert 'name="contact-bank-contact_name"' in _html(page)
    version = str(_version(db, review.id))
    assert post(clerk, f"/reviews/{review.id}/edit",
                _figures_form(review.id, int(version))).status_code == 403
    assert post(clerk, f"/reviews/{review.id}/prepare",
                {"prepare-version": version, "action": "submit"}).status_code == 403
    assert clerk.get(f"/clients/{client1.id}/reviews/new").status_code == 403
    reviews.submit(db, Actor(staff.coordinator), review.id, as_of=date.today(),
                   expected_version=int(version))
    db.commit()
    assert _decide(clerk, db, review.id, "decline", note="no").status_code == 403
    logged = post(clerk, f"/reviews/{review.id}/items/lenders/contacts", {
        "contact-lenders-contact_name": "MKB", "contact-lenders-channel": "letter",
        "contact-lenders-contacted_at": date.today().isoformat() + "T00:01",
        "contact-lenders-outcome": "no_answer"})
    assert logged.status_code == 302
    assert db.scalar(select(func.count()).select_from(ReferenceContact)) == 1


def test_a_restricted_clients_review_is_403_for_a_clerk(app, db, staff, as_role):
    secret = make_client(db, "Titkos Kft.", restricted=True, coordinator_id=staff.coordinator.id)
    review = open_review(db, staff.coordinator, secret)
    clerk = as_role(Role.CLERK)
    assert clerk.get(f"/reviews/{review.id}").status_code == 403
    assert clerk.get(f"/reviews/{review.id}",
                     headers={"HX-Request": "true"}).status_code == 403
    assert clerk.get(f"/reviews/{review.id}/evaluate?requested=1").status_code == 403
    assert clerk.get(f"/clients/{secret.id}/reviews").status_code == 403
    assert "Titkos" not in _html(clerk.get("/reviews/"))
    assert as_role(Role.COORDINATOR).get(f"/reviews/{review.id}").status_code == 200
    assert as_role("coordinator2").get(f"/reviews/{review.id}").status_code == 403


# The queue and the client page --------------------------------------------------------------


def test_queue_filters_live_counts_and_due_clients(app, db, staff, as_role, client1):
    other = make_client(db, "Oliver Bennett")
    open_review(db, staff.coordinator, other)
    submitted(db, staff.coordinator, client1)
    due = make_client(db, "Due Dániel", next_review_due=date.today() - timedelta(days=1),
                      risk_grade="high")
    coordinator2 = as_role("coordinator2")
    page = _html(coordinator2.get("/reviews/"))
    assert 'data-count-status="draft">Draft: <strong>1</strong>' in page
    assert 'data-count-status="awaiting_decision">Awaiting decision: <strong>1</strong>' in page
    assert 'data-count="awaiting-mine">Awaiting my decision: <strong>1</strong>' in page
    assert "Due Dániel" in page and f"/clients/{due.id}/reviews/new" in page
    fragment = coordinator2.get("/reviews/?q=kovacs", headers={"HX-Request": "true"})
    html = _html(fragment)
    assert "<html" not in html and "Kovács Eszter" in html and "Oliver Bennett" not in html
    assert "HX-Request" in fragment.headers["Vary"]
    assert "Oliver Bennett" not in _html(coordinator2.get("/reviews/?mine=1"))
    assert "Kovács Eszter" in _html(coordinator2.get("/reviews/?mine=1"))
    assert "Kovács Eszter" not in _html(coordinator2.get("/reviews/?status=draft"))
    mine = _html(as_role(Role.COORDINATOR).get("/reviews/?prepared=1"))
    assert "Kovács Eszter" in mine and "Oliver Bennett" in mine
    assert "Kovács Eszter" not in _html(coordinator2.get("/reviews/?prepared=1"))


def test_queue_pages(app, db, staff, as_role, client1):
    app.config["PAGE_SIZE"] = 2
    for n in range(3):
        open_review(db, staff.coordinator, make_client(db, f"Paged {n}"))
    clerk = as_role(Role.CLERK)
    first, last = _html(clerk.get("/reviews/")), _html(clerk.get("/reviews/?page=2"))
    assert "3 reviews" in first and "Page 1 of 2" in first
    assert first.count("data-review=") == 2 and last.count("data-review=") == 1


def test_client_page_has_a_credit_section(app, db, staff, as_role, client1):
    review = submitted(db, staff.coordinator, client1)
    other = as_role("coordinator2")
    _decide(other, db, review.id, "approve", note="ok", risk_grade="medium")
    page = _html(other.get(f"/clients/{client1.id}"))
    assert "Credit limit" in page and "Medium risk" in page
    assert f"/clients/{client1.id}/reviews/new" in page
    listed = other.get(f"/clients/{client1.id}/reviews", headers={"HX-Request": "true"})
    assert "<html" not in _html(listed) and "Approved" in _html(listed)
    clerk_page = _html(as_role(Role.CLERK).get(f"/clients/{client1.id}"))
    assert "Credit limit" in clerk_page and "/reviews/new" not in clerk_page
    assert "Reviews" in clerk_page  # the main navigation
    admin_nav = _html(as_role(Role.ADMIN).get("/account/"))
    assert "/reviews/policy" in admin_nav and "/reviews/\"" not in admin_nav


def test_client_reviews_say_the_amount_was_asked_for_and_when_the_review_last_changed(
        app, db, staff, as_role, client1):
    """An approval for less than asked: the client's list must not read as "approved 2 M on
    the day it was opened"; it names the amount as requested and dates the last change."""
    review = submitted(db, staff.coordinator, client1, requested=2_000_000, income=1_000_000)
    db.execute(CreditReview.__table__.update().where(CreditReview.id == review.id)
               .values(created_at=datetime(2026, 3, 2, 9, 0, tzinfo=UTC)))
    db.commit()
    other = as_role("coordinator2")
    _decide(other, db, review.id, "approve", note="ok", risk_grade="medium",
            approved="1 500 000")
    db.expire_all()
    changed = db.get(CreditReview, review.id).updated_at
    listed = _html(other.get(f"/clients/{client1.id}/reviews", headers={"HX-Request": "true"}))
    assert "requested HUF\xa02,000,000" in listed and "Approved" in listed
    assert "2 Mar 2026" not in listed  # the day it was opened
    with app.test_request_context(), force_locale("en"):
        assert f"last change {date_filter(changed)}" in listed
    post(other, "/account/language", {"language": "hu", "next": "/account/"})
    hungarian = _html(other.get(f"/clients/{client1.id}/reviews",
                                headers={"HX-Request": "true"}))
    assert "igényelt: 2\xa0000\xa0000\xa0Ft" in hungarian and "utolsó módosítás:" in hungarian


def test_a_manager_is_offered_no_referral_upwards(app, db, staff, as_role):
    client = make_client(db, "Legfelső Lenke")
    prep = Actor(staff.coordinator)
    review = reviews.open_review(db, prep, client.id, ReviewData(
        kind=ReviewKind.NEW_LIMIT, requested_minor=1_000_000, currency="HUF", purpose="",
        monthly_income_minor=500_000))
    db.flush()
    reviews.submit(db, prep, review.id, as_of=date.today(), expected_version=review.version)
    db.commit()
    coordinator_page = as_role("coordinator2").get(f"/reviews/{review.id}").get_data(
        as_text=True)
    manager_page = as_role(Role.MANAGER).get(f"/reviews/{review.id}").get_data(as_text=True)
    refer = 'data-action="refer_up"'
    assert refer in coordinator_page and 'data-action="approve"' in coordinator_page
    assert refer not in manager_page and 'data-action="approve"' in manager_page


def test_the_installed_policy_version_is_described_in_the_users_language(db, staff, as_role):
    staff.admin.language = "hu"
    db.commit()
    policy = _html(as_role(Role.ADMIN).get("/reviews/policy"))
    assert "Kezdeti protokoll, a portállal együtt telepítve" in policy
    assert "Initial protocol" not in policy  # the installer's English note is not shown
