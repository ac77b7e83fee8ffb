"""The reports in a real browser: the aging and the collection figures with their charts, a
filter applied in place, no CSP violation, and on a 390 px phone nothing needs sideways
scrolling."""

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
def overdue_book(live_app: Flask) -> None:
    """A client with a charge 100 days overdue, a write-off and a recovery (once per run)."""
    today = date.today()

    def create(db) -> None:
        name = "Riport Regina Teszt"
        if db.query(Client).filter_by(name=name).first() is not None:
            return
        client = Client(kind=ClientKind.PERSON, name=name, status=ClientStatus.ACTIVE,
                        income_currency="HUF", restricted=False,
                        onboarding_due=today, number="C990001")
        db.add(client)
        db.flush()
        account = Account(client_id=client.id, number="T-E2E-REPORTS", currency="HUF",
                          limit_minor=0, opened_on=today - timedelta(days=200))
        db.add(account)
        db.flush()
        for kind, amount, booked, due in [
            (EntryKind.CHARGE, 250_000, today - timedelta(days=130), today - timedelta(days=100)),
            (EntryKind.CHARGE, 90_000, today - timedelta(days=20), today + timedelta(days=10)),
            (EntryKind.WRITE_OFF, 40_000, today - timedelta(days=15), None),
            (EntryKind.RECOVERY, 10_000, today - timedelta(days=3), None),
        ]:
            db.add(LedgerEntry(account_id=account.id, kind=kind, amount_minor=amount,
                               currency="HUF", booked_on=booked, due_on=due))

    in_db(live_app, create)


def _no_sideways_scroll(page) -> None:
    width = page.evaluate("() => document.documentElement.scrollWidth")
    assert width <= 390, width


def test_reports_with_charts_filters_in_place_and_on_a_phone(page, live_server, browser_log,
                                                            overdue_book, hu, shot):
    log_in(page, live_server, "manager")
    page.get_by_role("link", name=hu("Reports")).first.click()
    page.get_by_role("link", name=hu("Receivables aging")).click()
    expect(page.locator("#aging-table")).to_contain_text("Riport Regina Teszt")
    expect(page.locator("svg.chart-svg rect.bucket-4")).to_have_count(1)
    shot(page, "aging")
    set_marker(page)
    earlier = (date.today() - timedelta(days=150)).isoformat()
    page.fill("input[name=as_of]", earlier)
    page.locator("form.report-filters button[type=submit]").click()
    expect(page.locator("#report")).to_contain_text(hu("Nothing is open on this day."))
    assert marker(page) == 1  # swapped in place, not a new page
    assert f"as_of={earlier}" in page.url

    page.goto(f"{live_server}/reports/kpis")
    expect(page.locator("#kpi-table")).to_contain_text(hu("Bad-debt ratio"))
    expect(page.locator("svg.trend rect.write-off").first).to_be_attached()
    shot(page, "kpis")

    page.set_viewport_size({"width": 390, "height": 844})
    for path in ("/reports/", "/reports/aging", "/reports/kpis"):
        page.goto(f"{live_server}{path}")
        _no_sideways_scroll(page)
    shot(page, "kpis-phone")
    assert browser_log.problems() == []
