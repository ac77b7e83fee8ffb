"""The office's daily workflows in a real browser: log in, find, create, tick, switch language."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import date
from urllib.parse import parse_qs, urlsplit

import pytest
from flask import Flask
from playwright.sync_api import Page, expect
from sqlalchemy import func, select, update

from portal.domain.onboarding import Step
from portal.models.clients import Client, ClientKind, ClientStatus, OnboardingStep
from portal.models.users import User
from portal.services.base import SYSTEM
from portal.services.clients import ClientData, create_client
from tests.e2e.helpers import (
    PASSWORDS,
    in_db,
    is_fragment_request,
    log_in,
    marker,
    set_marker,
    valid_person_tax_id,
)

pytestmark = pytest.mark.e2e

HU_DATE = re.compile(r"^\d{4}\. \d{2}\. \d{2}\.$")
EN_GB_DATE = re.compile(r"^\d{1,2} [A-Z][a-z]{2} \d{4}$")
CLIENT_NUMBER = re.compile(r"^C\d{6}$")


# Helpers ---------------------------------------------------------------------------------


def client_count(app: Flask) -> int:
    return in_db(app, lambda db: db.scalar(select(func.count(Client.id))))


# 1. Log in --------------------------------------------------------------------------------


def test_coordinator_logs_in_to_client_list_without_browser_errors(
    page: Page, live_server: str, browser_log, shot, hu
) -> None:
    page.goto(f"{live_server}/login")
    expect(page.locator("html")).to_have_attribute("lang", "hu")
    shot(page, "1-login")

    page.fill("input[name=username]", "coordinator")
    page.fill("input[name=password]", PASSWORDS["coordinator"])
    with page.expect_navigation():
        page.locator("main form button[type=submit]").click()

    assert urlsplit(page.url).path == "/clients/"
    expect(page.get_by_role("heading", level=1)).to_have_text(hu("Clients"))
    expect(page.locator("#client-table tbody tr").first).to_be_visible()
    expect(page.locator("header nav a[aria-current=page]")).to_have_text(hu("Clients"))
    page.wait_for_load_state("load")
    # htmx loaded and ran: a broken CSP or a missing vendor file would leave it undefined.
    assert page.evaluate("() => typeof window.htmx") == "object"
    shot(page, "2-clients")

    assert browser_log.problems() == []

    # The watchers themselves work: an inline script is a CSP violation they must report.
    page.evaluate("""() => {
        const s = document.createElement("script");
        s.textContent = "window.__inline = 1";
        document.body.append(s);
    }""")
    for _ in range(50):  # the report arrives through a binding: give it a few round trips
        if browser_log.csp_violations:
            break
        page.wait_for_timeout(50)
    assert page.evaluate("() => window.__inline") is None
    assert any("script-src" in v for v in browser_log.csp_violations), browser_log


# 2. Live filter ---------------------------------------------------------------------------


def test_live_filter_updates_table_in_place(
    page: Page, live_server: str, live_app: Flask, browser_log, shot
) -> None:
    name = in_db(live_app, lambda db: db.scalar(
        select(Client.name)
        .where(Client.status == ClientStatus.ACTIVE, Client.restricted.is_(False))
        .order_by(Client.id).limit(1)))
    assert name, "the demo data has no active, unrestricted client"
    partial = name[: max(3, len(name) - 2)].rstrip()

    log_in(page, live_server, "coordinator")
    rows = page.locator("#client-table tbody tr")
    expect(rows.first).to_be_visible()
    before = rows.count()
    assert before > 1
    shot(page, "1-before")

    set_marker(page)
    with page.expect_response(
        lambda r: urlsplit(r.url).path == "/clients/"
        and parse_qs(urlsplit(r.url).query).get("q") == [partial]
    ) as caught:
        page.locator("#q").press_sequentially(partial, delay=30)  # no Enter
    response = caught.value

    assert response.ok
    assert is_fragment_request(response), response.request.headers
    assert "<html" not in response.text().lower()  # a fragment, not a whole page
    expect(page.locator("#client-table")).to_contain_text(name)
    expect(rows).not_to_have_count(before)
    assert 1 <= rows.count() < before
    expect(page).to_have_url(re.compile(r"[?&]q="))
    assert parse_qs(urlsplit(page.url).query)["q"] == [partial]
    assert marker(page) == 1, "the page was reloaded instead of swapped"
    assert browser_log.problems() == []
    shot(page, "2-filtered")


# 3. Create a client -----------------------------------------------------------------------


def test_create_client_rejects_bad_tax_id_then_saves(
    page: Page, live_server: str, live_app: Flask, shot, hu
) -> None:
    name = "Próba Ödön Teszt"
    tax_id = valid_person_tax_id()
    wrong = tax_id[:9] + str((int(tax_id[9]) + 1) % 10)
    before = client_count(live_app)

    log_in(page, live_server, "coordinator")
    with page.expect_navigation():
        page.locator('main a[href$="/clients/new"]').click()
    assert urlsplit(page.url).path == "/clients/new"
    shot(page, "1-empty-form")

    form = page.locator('main form[action$="/clients/new"]')
    form.locator("select[name=kind]").select_option("person")
    form.locator("input[name=name]").fill(name)
    form.locator("input[name=tax_id]").fill(wrong)
    form.locator("input[name=postal_code]").fill("1051")
    form.locator("input[name=city]").fill("Budapest")
    form.locator("input[name=street]").fill("Kossuth Lajos utca 12.")
    form.locator("input[name=phone]").fill("+36 30 123 4567")
    form.locator("input[name=email]").fill("proba.odon@example.hu")
    form.locator("input[name=employer]").fill("Mátra Építő Kft.")
    form.locator("input[name=income]").fill("450 000")
    form.locator("select[name=income_currency]").select_option("HUF")

    with page.expect_response(lambda r: r.request.method == "POST") as caught:
        form.locator("button[type=submit]").click()
    assert caught.value.status == 422
    page.wait_for_load_state()
    shot(page, "2-invalid-tax-id")

    assert urlsplit(page.url).path == "/clients/new"
    expect(page.locator("#tax_id-error")).to_have_text(
        hu("The check digit does not match: a typo?"))
    expect(page.locator("#tax_id")).to_have_attribute("aria-invalid", "true")
    expect(page.locator("main [role=alert].flash-error")).to_have_text(
        hu("Please correct the marked fields. Nothing has been saved yet."))
    expect(page.locator("#name")).to_have_value(name)  # the input is kept
    assert client_count(live_app) == before, "an invalid client was saved"

    page.locator("#tax_id").fill(tax_id)
    with page.expect_navigation(url=re.compile(r"/clients/\d+$")):
        page.locator('main form[action$="/clients/new"] button[type=submit]').click()
    shot(page, "3-created")

    assert client_count(live_app) == before + 1
    client_id = int(urlsplit(page.url).path.rsplit("/", 1)[1])
    saved = in_db(live_app, lambda db: db.get(Client, client_id))
    assert (saved.name, saved.kind, saved.tax_id) == (name, ClientKind.PERSON, tax_id)
    assert CLIENT_NUMBER.match(saved.number)
    assert saved.number == f"C{client_id:06d}"

    heading = page.get_by_role("heading", level=1)
    expect(heading).to_contain_text(name)
    expect(heading.locator("small")).to_have_text(saved.number)
    expect(page.locator("main .flash-success")).to_have_text(
        hu("Client %(number)s created.", number=saved.number))
    expect(page.locator("main dl.details").first).to_contain_text(tax_id)  # seen whole


# 4. Tick an onboarding item ---------------------------------------------------------------


@pytest.fixture
def new_client(live_app: Flask) -> int:
    """A prospect created just now, with nothing ticked; return its id."""

    def create(db) -> int:
        data = ClientData(
            kind=ClientKind.PERSON, name="Pipa Piroska Teszt", tax_id=valid_person_tax_id(23456789),
            postal_code="6720", city="Szeged", street="Kárász utca 5.", phone="+36 20 555 1234",
            email="pipa.piroska@example.hu", employer=None, income_minor=380_000,
            income_currency="HUF", status=ClientStatus.PROSPECT,
        )
        client = create_client(db, SYSTEM, data, today=date.today(),
                               onboarding_days=live_app.config["ONBOARDING_BUSINESS_DAYS"])
        return client.id

    return in_db(live_app, create)


def test_ticking_an_onboarding_item_swaps_checklist_and_persists(
    page: Page, live_server: str, live_app: Flask, new_client: int, browser_log, shot, hu
) -> None:
    log_in(page, live_server, "coordinator")
    page.goto(f"{live_server}/clients/{new_client}")
    checklist = page.locator("article#checklist")
    button = checklist.locator('button.step[data-step="identity_verified"]')
    expect(button).to_have_attribute("aria-pressed", "false")
    expect(checklist).to_contain_text(hu("%(done)s of %(total)s done", done=0, total=4))
    shot(page, "1-open")

    set_marker(page)
    with page.expect_response(
        lambda r: r.url.endswith(f"/clients/{new_client}/steps/identity_verified")
    ) as caught:
        button.click()
    assert caught.value.ok
    assert is_fragment_request(caught.value), caught.value.request.headers
    expect(button).to_have_attribute("aria-pressed", "true")
    expect(checklist).to_contain_text(hu("%(done)s of %(total)s done", done=1, total=4))
    assert marker(page) == 1, "the page was reloaded instead of swapped"
    shot(page, "2-ticked")

    done = in_db(live_app, lambda db: db.scalars(
        select(OnboardingStep.step).where(OnboardingStep.client_id == new_client)).all())
    assert done == [Step.IDENTITY_VERIFIED]

    page.reload()
    assert marker(page) is None
    expect(button).to_have_attribute("aria-pressed", "true")
    for other in ("contract_signed", "credit_review_done", "account_opened"):
        expect(checklist.locator(f'button.step[data-step="{other}"]')).to_have_attribute(
            "aria-pressed", "false")
    assert browser_log.problems() == []
    shot(page, "3-after-reload")


# WCAG AA contrast of each element's text against the first opaque background behind it.
_CONTRAST = """(elements) => elements.map((el) => {
  const rgba = (css) => {
    const v = (css.match(/[\\d.]+/g) || []).map(Number);
    return {r: v[0], g: v[1], b: v[2], a: v.length > 3 ? v[3] : 1};
  };
  let bg = {r: 255, g: 255, b: 255, a: 1};
  for (let node = el; node; node = node.parentElement) {
    const c = rgba(getComputedStyle(node).backgroundColor);
    if (c.a > 0) { bg = c; break; }
  }
  const lum = ({r, g, b}) => [r, g, b]
    .map((x) => x / 255)
    .map((x) => (x <= 0.03928 ? x / 12.92 : ((x + 0.055) / 1.055) ** 2.4))
    .reduce((sum, x, i) => sum + x * [0.2126, 0.7152, 0.0722][i], 0);
  const [hi, lo] = [lum(rgba(getComputedStyle(el).color)), lum(bg)].sort((a, b) => b - a);
  return [el.dataset.step, Math.round(((hi + 0.05) / (lo + 0.05)) * 100) / 100];
})"""


def test_unticked_onboarding_items_are_legible(
    page: Page, live_server: str, new_client: int, shot
) -> None:
    log_in(page, live_server, "coordinator")
    page.goto(f"{live_server}/clients/{new_client}")
    steps = page.locator("article#checklist button.step")
    expect(steps).to_have_count(4)
    shot(page, "1-checklist")
    ratios = dict(steps.evaluate_all(_CONTRAST))
    assert all(ratio >= 4.5 for ratio in ratios.values()), ratios


# 5. Switch the language -------------------------------------------------------------------


@pytest.fixture
def manager_language(live_app: Flask) -> Iterator[None]:
    """Give the manager back their Hungarian interface after the test, whatever happens."""

    def reset(db) -> None:
        db.execute(update(User).where(User.username == "manager").values(language="hu"))
        db.commit()

    in_db(live_app, reset)
    yield
    in_db(live_app, reset)


def test_language_switch_persists_across_logins(
    page: Page, live_server: str, live_app: Flask, manager_language: None, shot, hu
) -> None:
    html = page.locator("html")
    nav_clients = page.locator('header nav a[href="/clients/"]')
    switch = page.locator("header form.language-switch button")

    log_in(page, live_server, "manager")
    expect(html).to_have_attribute("lang", "hu")
    expect(nav_clients).to_have_text(hu("Clients"))
    expect(nav_clients).to_have_text("Ügyfelek")
    expect(switch).to_have_text("English")

    with page.expect_navigation():
        page.locator("#client-table tbody tr a").first.click()
    client_path = urlsplit(page.url).path
    assert re.fullmatch(r"/clients/\d+", client_path)
    created = page.locator(
        f"xpath=//dl[contains(@class, 'details')]/dt[normalize-space()='{hu('Created')}']"
        "/following-sibling::dd[1]")
    expect(created).to_have_text(HU_DATE)
    shot(page, "1-hungarian")

    page.locator("header .nav-user summary").click()  # the user's menu holds the switch
    with page.expect_navigation():
        switch.click()
    expect(html).to_have_attribute("lang", "en")
    assert urlsplit(page.url).path == client_path, "the switch left the page the user was on"
    expect(nav_clients).to_have_text("Clients")
    expect(switch).to_have_text("Magyar")
    created = page.locator(
        "xpath=//dl[contains(@class, 'details')]/dt[normalize-space()='Created']"
        "/following-sibling::dd[1]")
    expect(created).to_have_text(EN_GB_DATE)
    assert not HU_DATE.search(page.locator("main").inner_text())
    shot(page, "2-english")

    page.locator("header .nav-user summary").click()
    with page.expect_navigation():
        page.locator("header form[action$='/logout'] button").click()
    assert urlsplit(page.url).path == "/login"
    shot(page, "3-logged-out")

    page.fill("input[name=username]", "manager")
    page.fill("input[name=password]", PASSWORDS["manager"])
    with page.expect_navigation():
        page.locator("main form button[type=submit]").click()
    expect(html).to_have_attribute("lang", "en")
    expect(nav_clients).to_have_text("Clients")
    assert in_db(live_app, lambda db: db.scalar(
        select(User.language).where(User.username == "manager"))) == "en"
    shot(page, "4-english-again")
