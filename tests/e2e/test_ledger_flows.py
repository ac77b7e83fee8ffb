"""Ledger workflows in a real browser: a write-off proposed by a coordinator and approved by a
manager (the proposer is offered no approval), and a report's CSV downloaded as shown."""

from __future__ import annotations

import csv
import io
from datetime import date, timedelta

import pytest
from flask import Flask
from playwright.sync_api import expect

from portal.domain.ledger import EntryKind
from portal.models import LedgerEntry, WriteOff
from portal.models.clients import Client, ClientKind, ClientStatus
from portal.models.ledger import Account, WriteOffStatus
from tests.e2e.helpers import in_db, log_in

pytestmark = pytest.mark.e2e


def _overdue_account(live_app: Flask, number: str, client_number: str, name: str) -> int:
    """An account with a charge 90 days overdue (booked after the day the reports test looks
    back to, so that day stays empty); return its id (created once per run)."""
    today = date.today()

    def create(db) -> int:
        account = db.query(Account).filter_by(number=number).first()
        if account is None:
            client = Client(kind=ClientKind.PERSON, name=name,
                            status=ClientStatus.ACTIVE, income_currency="HUF",
                            restricted=False, onboarding_due=today, number=client_number)
            db.add(client)
            db.flush()
            account = Account(client_id=client.id, number=number, currency="HUF",
                              limit_minor=300_000, opened_on=today - timedelta(days=400))
            db.add(account)
            db.flush()
            db.add(LedgerEntry(account_id=account.id, kind=EntryKind.CHARGE,
                               amount_minor=250_000, currency="HUF",
                               booked_on=today - timedelta(days=100),
                               due_on=today - timedelta(days=90)))
        return account.id

    return in_db(live_app, create)


@pytest.fixture
def bad_debt(live_app: Flask) -> int:
    return _overdue_account(live_app, "T-E2E-WRITEOFF", "C990007", "Behajthatatlan Benő Teszt")


@pytest.fixture
def old_debt(live_app: Flask) -> int:
    return _overdue_account(live_app, "T-E2E-AGING", "C990008", "Késlekedő Kornél Teszt")


def test_a_write_off_proposed_and_approved_by_two_people(browser, page, live_server,
                                                        live_app, bad_debt, browser_log, shot):
    log_in(page, live_server, "coordinator")
    page.goto(f"{live_server}/accounts/{bad_debt}")
    form = page.locator("details[data-form=write_off]")
    form.locator("summary").click()
    form.locator("input[name$=amount]").fill("250 000")
    form.locator("textarea[name$=reason]").fill("Az adós elérhetetlen, a követelés behajthatatlan.")
    form.locator("button[type=submit]").click()
    proposed = page.locator("li[data-write-off]")
    expect(proposed).to_have_count(1)
    expect(proposed.locator("button[data-action=approve]")).to_have_count(0)  # a coordinator
    shot(page, "1-proposed")

    context = browser.new_context(locale="hu-HU", viewport={"width": 1280, "height": 900})
    manager = context.new_page()
    try:
        log_in(manager, live_server, "manager")
        manager.goto(f"{live_server}/accounts/{bad_debt}")
        item = manager.locator("li[data-write-off]")
        item.locator("[name$=note]").fill("Jóváhagyom.")
        item.locator("button[data-action=approve]").click()
        expect(manager.locator("[data-figure=balance]")).to_contain_text("0")
        expect(manager.locator("tr[data-kind=write_off]")).to_have_count(1)
        shot(manager, "2-approved")
    finally:
        context.close()
    status = in_db(live_app, lambda db: db.query(WriteOff).filter_by(
        account_id=bad_debt).one().status)
    assert status is WriteOffStatus.APPROVED
    assert browser_log.problems() == []


def test_the_aging_report_csv_holds_what_the_page_shows(page, live_server, old_debt,
                                                        browser_log):
    log_in(page, live_server, "manager")
    page.goto(f"{live_server}/reports/aging")
    total_cell = page.locator("tfoot td").last
    expect(total_cell).to_be_visible()
    shown_total = total_cell.inner_text()
    with page.expect_download() as caught:
        page.get_by_role("link", name="CSV").first.click()
    download = caught.value
    assert download.suggested_filename.endswith(".csv")
    with open(download.path(), encoding="utf-8-sig") as fh:
        text = fh.read()
    rows = list(csv.reader(io.StringIO(text), delimiter=";"))
    assert len(rows) >= 2 and rows[0][0]
    digits = "".join(ch for ch in shown_total if ch.isdigit())
    assert any(digits and digits in "".join(ch for ch in ";".join(r) if ch.isdigit())
               for r in rows[-2:])
    assert browser_log.problems() == []
