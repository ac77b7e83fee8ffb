"""The client form in a real browser: choosing the kind shows that kind's own fields."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.helpers import log_in

pytestmark = pytest.mark.e2e


def test_choosing_the_kind_shows_its_own_fields(live_server: str, page: Page, browser_log,
                                                 shot):
    log_in(page, live_server, "clerk")
    page.goto(f"{live_server}/clients/new")
    person = [page.locator("#employer"), page.locator("#income")]
    company = [page.locator("#registration_number"), page.locator("#revenue")]
    page.select_option("#kind", "company")
    for field in person:
        expect(field).to_be_hidden()
    for field in company:
        expect(field).to_be_visible()
    shot(page, "company")
    page.select_option("#kind", "person")
    for field in person:
        expect(field).to_be_visible()
    for field in company:
        expect(field).to_be_hidden()
    assert browser_log.problems() == []
