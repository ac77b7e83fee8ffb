"""Bank statement import in a real browser: a camt.053 file chosen in the form, the matched
line confirmed, the unmatched one waiting in the queue; on a 390 px phone neither the staged
result nor the queue needs sideways scrolling, and no CSP violation."""

from __future__ import annotations

import uuid
from datetime import date, timedelta

import pytest
from flask import Flask
from playwright.sync_api import expect

from portal.models.clients import Client, ClientKind, ClientStatus
from portal.services import ledger
from portal.services.base import SYSTEM
from tests.e2e.helpers import in_db, log_in
from tests.services.test_statements import camt

pytestmark = pytest.mark.e2e


@pytest.fixture
def account_number(live_app: Flask) -> str:
    """A client with an open HUF account (once per run); return the account's number."""
    today = date.today()

    def create(db) -> str:
        name = "Utaló Ubul Teszt"
        client = db.query(Client).filter_by(name=name).first()
        if client is None:
            client = Client(kind=ClientKind.PERSON, name=name, status=ClientStatus.ACTIVE,
                            income_currency="HUF", restricted=False, onboarding_due=today,
                            number="C990003")
            db.add(client)
            db.flush()
            ledger.open_account(db, SYSTEM, client.id, currency="HUF", limit_minor=500_000,
                                opened_on=today - timedelta(days=30))
        return db.query(ledger.Account).filter_by(client_id=client.id).one().number

    return in_db(live_app, create)


def _no_sideways_scroll(page) -> None:
    width = page.evaluate("() => document.documentElement.scrollWidth")
    assert width <= 390, width


def test_a_statement_imported_confirmed_and_the_pages_on_a_phone(page, live_server, browser_log,
                                                                 account_number, shot):
    run = uuid.uuid4().hex[:8]
    long_reference = "Befizetés " + "nagyonhosszúközleményszóköznélkül" * 3
    data = camt(("12000.00", "HUF", f"E2E-{run}-1", f"Részlet {account_number}"),
                ("700.00", "HUF", f"E2E-{run}-2", long_reference))
    log_in(page, live_server, "coordinator")
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(f"{live_server}/payments/import")
    _no_sideways_scroll(page)
    page.set_input_files("input[name=statement]", files=[
        {"name": "nov.xml", "mimeType": "application/xml", "buffer": data}])
    with page.expect_navigation():
        page.locator("main form button[type=submit]").click()
    expect(page.locator("[data-count=matched]")).to_have_text("1")
    expect(page.locator(f"tr[data-line='E2E-{run}-2'] [data-reason]")).to_have_attribute(
        "data-reason", "no_account")
    page.wait_for_load_state("networkidle")
    _no_sideways_scroll(page)
    shot(page, "payments-staged-phone")
    with page.expect_navigation():
        page.locator("main form button[type=submit]").click()
    expect(page.locator("main")).to_contain_text("1")
    expect(page.locator(f"li[data-line='E2E-{run}-2']")).to_be_visible()
    page.wait_for_load_state("networkidle")
    _no_sideways_scroll(page)
    shot(page, "payments-queue-phone")
    assert browser_log.problems() == []
