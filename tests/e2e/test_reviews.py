"""A credit review in a real browser: open it, add an obligation, watch the figures and the
rules change as the amounts are typed, submit it, decide it as another coordinator, and find
the filed decision record with the document search."""

from __future__ import annotations

import re
from datetime import date

import pytest
from flask import Flask
from playwright.sync_api import Page, expect
from sqlalchemy import select

from portal.domain.policy import Status
from portal.models import ClientKind, ClientStatus, CreditDecision, CreditReview
from portal.services.base import SYSTEM
from portal.services.clients import ClientData, create_client
from tests.e2e.helpers import in_db, is_fragment_request, log_in, marker, set_marker

pytestmark = pytest.mark.e2e


@pytest.fixture
def applicant(live_app: Flask) -> int:
    """A client who asks for credit, with a monthly income on file; return its id."""

    def create(db) -> int:
        data = ClientData(
            kind=ClientKind.PERSON, name="Hitelkérő Henrietta Teszt", tax_id=None,
            postal_code="7621", city="Pécs", street="Király utca 12.", phone=None,
            email=None, employer="Mecsek Kft.", income_minor=600_000, income_currency="HUF",
            status=ClientStatus.ONBOARDING,
        )
        return create_client(db, SYSTEM, data, today=date.today(),
                             onboarding_days=live_app.config["ONBOARDING_BUSINESS_DAYS"]).id

    return in_db(live_app, create)


def test_a_review_from_figures_to_a_filed_decision(
        page: Page, browser, live_server: str, live_app: Flask, applicant: int, browser_log,
        shot, hu) -> None:
    log_in(page, live_server, "coordinator")
    page.goto(f"{live_server}/clients/{applicant}/reviews/new")
    form = page.locator("#review-form")
    expect(form.locator("input[name=monthly_income]")).to_have_value(re.compile(r"600\D?000"))
    form.locator("input[name=requested]").fill("2 000 000")
    form.locator("textarea[name=purpose]").fill("Lakásfelújítás")

    # Add an obligation in place: a new row, no page load.
    set_marker(page)
    rows = form.locator(".obligation-row")
    before = rows.count()
    with page.expect_response(lambda r: "obligation" in r.url) as added:
        form.locator("button.add-row").click()
    assert is_fragment_request(added.value)
    expect(rows).to_have_count(before + 1)
    row = rows.nth(before)
    row.locator("input[name$=lender]").fill("OTP Bank")
    row.locator("input[name$=outstanding]").fill("4 000 000")
    evaluation = page.locator("#evaluation")
    with page.expect_response(lambda r: "/reviews/evaluate" in r.url) as first:
        row.locator("input[name$=monthly_payment]").fill("240 000")
    assert is_fragment_request(first.value)
    # Exactly at the 40 % limit of the default policy: the DTI rule is met.
    expect(evaluation.locator("[data-figure=dti]")).to_have_text(re.compile(r"^40\s?%$"))
    expect(evaluation.locator("li[data-rule=dti]")).to_have_attribute("data-passed", "true")
    shot(page, "1-at-the-limit")

    # One forint more a month and the rule fails, with its reason, worked out by the server.
    with page.expect_response(lambda r: "/reviews/evaluate" in r.url):
        row.locator("input[name$=monthly_payment]").fill("240 001")
    expect(evaluation.locator("li[data-rule=dti]")).to_have_attribute("data-passed", "false")
    expect(evaluation.locator("li[data-rule=dti]")).to_contain_text(
        hu("not met"))
    with page.expect_response(lambda r: "/reviews/evaluate" in r.url):
        row.locator("input[name$=monthly_payment]").fill("200 000")
    expect(evaluation.locator("[data-figure=dti]")).to_have_text(re.compile(r"^33,3\s?%$"))
    expect(evaluation.locator("li[data-rule=dti]")).to_have_attribute("data-passed", "true")
    assert marker(page) == 1, "the page was reloaded instead of updated in place"
    shot(page, "2-typed")

    with page.expect_navigation():
        form.locator(".actions button[type=submit]").click()
    review_id = int(re.search(r"/reviews/(\d+)$", page.url).group(1))
    saved = in_db(live_app, lambda db: (
        db.get(CreditReview, review_id).requested_minor,
        db.get(CreditReview, review_id).monthly_income_minor,
        [(o.lender, o.monthly_payment_minor) for o in db.get(CreditReview, review_id).obligations]))
    assert saved == (2_000_000, 600_000, [("OTP Bank", 200_000)])

    with page.expect_navigation():
        page.locator("button[data-action=submit]").click()
    expect(page.locator("body")).to_contain_text(hu("Awaiting decision"))
    # Four-eyes: the preparer is offered no decision.
    expect(page.locator("button[data-action=approve]")).to_have_count(0)
    shot(page, "3-submitted")

    # Another coordinator decides, in a browser of their own.
    context = browser.new_context(locale="hu-HU", timezone_id="Europe/Budapest",
                                  viewport={"width": 1280, "height": 900})
    decider = context.new_page()
    try:
        log_in(decider, live_server, "coordinator2")
        decider.goto(f"{live_server}/reviews/{review_id}")
        shot(decider, "4-to-decide")
        decider.locator("select[name$=risk_grade]").select_option("medium")
        decider.locator("textarea[name=decision-note]").fill(
            "References are still open; the client's payment history is clean.")
        with decider.expect_navigation():
            decider.locator("button[data-action=approve]").click()
        expect(decider.locator("body")).to_contain_text("Approved")
        shot(decider, "4-approved")

        decision = in_db(live_app, lambda db: db.scalar(
            select(CreditDecision).where(CreditDecision.review_id == review_id)))
        assert decision is not None and decision.document_id is not None
        status = in_db(live_app, lambda db: db.get(CreditReview, review_id).status)
        assert status is Status.APPROVED

        # The decision record is found by the document search, like any other document.
        decider.goto(f"{live_server}/documents/search?q=Hitelkérő+Henrietta+clean")
        results = decider.locator("#doc-results")
        expect(results.locator(f"a[href='/documents/{decision.document_id}']").first
               ).to_be_visible()
        shot(decider, "5-found")
    finally:
        context.close()
    assert browser_log.problems() == []
