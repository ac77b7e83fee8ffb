"""The account page in a real browser: a payment recorded from its quick form in place (no new
page), the figures and the ledger swapped, no CSP violation, and on a 390 px phone neither the
account page nor the client page needs sideways scrolling."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from flask import Flask
from playwright.sync_api import expect

from portal.domain.ledger import EntryKind
from portal.models import LedgerEntry
from portal.models.clients import Client, ClientKind, ClientStatus
from portal.models.ledger import Account
from tests.e2e.helpers import in_db, log_in, marker, set_marker

pytestmark = pytest.mark.e2e


@pytest.fixture
def account_ids(live_app: Flask) -> tuple[int, int]:
    """A client with an account and a charge 40 days overdue (once per run)."""
    today = date.today()

    def create(db) -> tuple[int, int]:
        name = "Számlás Szilvia Teszt"
        client = db.query(Client).filter_by(name=name).first()
        if client is None:
            client = Client(kind=ClientKind.PERSON, name=name, status=ClientStatus.ACTIVE,
                            income_currency="HUF", restricted=False, onboarding_due=today,
                            number="C990002")
            db.add(client)
            db.flush()
            account = Account(client_id=client.id, number="T-E2E-ACCOUNTS", currency="HUF",
                              limit_minor=500_000, opened_on=today - timedelta(days=90))
            db.add(account)
            db.flush()
            db.add(LedgerEntry(account_id=account.id, kind=EntryKind.CHARGE,
                               amount_minor=120_000, currency="HUF",
                               booked_on=today - timedelta(days=70),
                               due_on=today - timedelta(days=40)))
        account = db.query(Account).filter_by(number="T-E2E-ACCOUNTS").one()
        return client.id, account.id

    return in_db(live_app, create)


def _no_sideways_scroll(page) -> None:
    width = page.evaluate("() => document.documentElement.scrollWidth")
    assert width <= 390, width


def test_a_payment_recorded_in_place_and_the_pages_on_a_phone(page, live_server, browser_log,
                                                              account_ids, hu, shot):
    client_id, account_id = account_ids
    log_in(page, live_server, "coordinator")
    page.goto(f"{live_server}/clients/{client_id}")
    expect(page.locator("#client-accounts")).to_contain_text("T-E2E-ACCOUNTS")
    page.get_by_role("link", name="T-E2E-ACCOUNTS").click()
    expect(page.locator("[data-aging='31-60']")).to_contain_text("120")
    set_marker(page)
    form = page.locator("details[data-form=payment]")
    form.locator("summary").click()
    form.locator("input[name=payment-amount]").fill("20 000")
    form.locator("button[type=submit]").click()
    expect(page.locator("[data-figure=balance]")).to_contain_text("100")
    expect(page.locator("tr[data-kind=payment]")).to_have_count(1)
    assert marker(page) == 1  # swapped in place, not a new page
    shot(page, "account")

    page.set_viewport_size({"width": 390, "height": 844})
    for path in (f"/accounts/{account_id}", f"/clients/{client_id}", "/clients/"):
        page.goto(f"{live_server}{path}")
        page.wait_for_load_state("networkidle")
        _no_sideways_scroll(page)
    shot(page, "clients-phone")
    assert browser_log.problems() == []
