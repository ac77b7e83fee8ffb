"""Every main page fits a phone, and the header fits one line on an office screen.

At 390 px (Hungarian, the longer language) no element may stick out past the viewport: the
page must not scroll sideways, and no element's box may reach past the right edge (a table
scrolled inside its own box, or text cut off, counts too). The scene has a client with a long
name and an unbroken e-mail address, a document with a long file name, and an account. At
1366 px the header's areas stand in one row; the phone's menu opens from the keyboard and the
keyboard focus ring is a strong outline.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from datetime import date, timedelta

import pytest
from flask import Flask
from playwright.sync_api import Page, expect
from sqlalchemy import select, update

from portal.domain.ledger import EntryKind
from portal.jobs import apply_index_queue
from portal.models import LedgerEntry
from portal.models.clients import Client, ClientKind, ClientStatus
from portal.models.documents import DocType, Document
from portal.models.ledger import Account
from portal.models.users import User
from portal.services.base import SYSTEM
from portal.services.documents import FileMeta, file_document
from tests.e2e.helpers import in_db, log_in

pytestmark = pytest.mark.e2e

PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1366, "height": 900}
LONG_NAME = "Kiskunsági Mezőgazdasági Termelő, Feldolgozó és Értékesítő Szövetkezet Kft."
LONG_EMAIL = "penzugyiosztaly.kiskunsagimezogazdasagiszovetkezet@example.hu"
LONG_FILE = "kiskunsagi-szovetkezet-jovedelemigazolas-es-hitelkeret-nyilatkozat-2026.txt"
WORD = "szövetkezeti"

#: Every rendered element whose box reaches past the viewport's right edge, named.
STICKING_OUT = """() => {
  const width = window.innerWidth;
  const name = (el) => {
    let text = el.tagName.toLowerCase();
    if (el.id) text += "#" + el.id;
    if (typeof el.className === "string" && el.className.trim())
      text += "." + el.className.trim().split(/\\s+/).join(".");
    const words = (el.innerText || el.value || "").trim().replace(/\\s+/g, " ").slice(0, 40);
    return words ? `${text} "${words}"` : text;
  };
  const out = [];
  for (const el of document.body.querySelectorAll("*")) {
    if (!el.checkVisibility()) continue;
    const box = el.getBoundingClientRect();
    if (box.width > 0 && box.right > width + 1)
      out.push(`${name(el)} (right edge ${Math.round(box.right)} px)`);
  }
  return {scrollWidth: document.documentElement.scrollWidth, width, out};
}"""


@pytest.fixture(scope="module")
def scene(live_app: Flask) -> dict[str, int]:
    """A client with a long name and e-mail, an account and a filed document with a long
    file name (indexed); return their ids."""
    today = date.today()

    def create(db) -> dict[str, int]:
        client = db.query(Client).filter_by(name=LONG_NAME).first()
        if client is None:
            client = Client(kind=ClientKind.COMPANY, name=LONG_NAME, status=ClientStatus.ACTIVE,
                            email=LONG_EMAIL, city="Kiskunfélegyháza", income_currency="HUF",
                            restricted=False, onboarding_due=today, number="C990390")
            db.add(client)
            db.flush()
            account = Account(client_id=client.id, number="T-E2E-LAYOUT-390", currency="HUF",
                              limit_minor=2_500_000, opened_on=today - timedelta(days=60))
            db.add(account)
            db.flush()
            db.add(LedgerEntry(account_id=account.id, kind=EntryKind.CHARGE,
                               amount_minor=180_000, currency="HUF",
                               booked_on=today - timedelta(days=50),
                               due_on=today - timedelta(days=35)))
        account = db.query(Account).filter_by(number="T-E2E-LAYOUT-390").one()
        document = db.query(Document).filter_by(client_id=client.id).first()
        if document is None:
            text = (f"Jövedelemigazolás. A {WORD} tagok éves árbevétele és a hitelkeret "
                    "emelésének indoklása.\n").encode()
            document = file_document(db, SYSTEM, live_app.extensions["storage"], client.id,
                                     io.BytesIO(text), LONG_FILE,
                                     FileMeta(doc_type=DocType.INCOME_PROOF),
                                     max_bytes=live_app.config["MAX_UPLOAD_MB"] * 1024 * 1024)
        return {"client": client.id, "account": account.id, "document": document.id}

    ids = in_db(live_app, create)
    apply_index_queue(live_app.extensions["db_sessionmaker"], live_app.extensions["search"].get(),
                      wait=True)
    return ids


def _sticking_out(page: Page) -> list[str]:
    found = page.evaluate(STICKING_OUT)
    problems = list(found["out"])
    if found["scrollWidth"] > found["width"]:
        problems.insert(0, f"the page scrolls sideways ({found['scrollWidth']} px wide)")
    return problems


def test_main_pages_fit_a_phone(page: Page, live_server: str, scene, shot) -> None:
    pages = {
        "client list": "/clients/",
        "client page": f"/clients/{scene['client']}",
        "document search": f"/documents/search?q={WORD}",
        "document page": f"/documents/{scene['document']}",
        "audit log": "/audit/",
        "account page": f"/accounts/{scene['account']}",
        "reviews queue": "/reviews/",
        "reports": "/reports/",
        "aging report": "/reports/aging",
        "trash": "/documents/trash",
        "unmatched payments": "/payments/unmatched",
        "my settings": "/account/",
    }
    log_in(page, live_server, "manager")  # Hungarian
    page.set_viewport_size(PHONE)
    problems: dict[str, list[str]] = {}
    for what, path in pages.items():
        page.goto(f"{live_server}{path}")
        expect(page.locator("html")).to_have_attribute("lang", "hu")
        found = _sticking_out(page)
        if found:
            problems[f"{what} ({path})"] = found
            shot(page, what)
    # The scene is on the pages it is meant to stretch.
    page.goto(f"{live_server}/documents/search?q={WORD}")
    expect(page.locator("main")).to_contain_text(LONG_NAME)
    # The header is one "Menu" button on a phone; opened, it fits too.
    menu = page.locator("header .nav-menu > summary")
    if not menu.is_visible():
        problems["header"] = ["no menu button: the header's links stand in the page"]
    else:
        menu.click()
        expect(page.locator(".nav-menu a[href='/audit/']")).to_be_visible()
        found = _sticking_out(page)
        if found:
            problems["the opened menu"] = found
    assert not problems, "sticks out at 390 px:\n" + "\n".join(
        f"- {where}: " + "; ".join(items[:8]) for where, items in problems.items())


def test_login_and_user_list_fit_a_phone(page: Page, live_server: str) -> None:
    page.set_viewport_size(PHONE)
    page.goto(f"{live_server}/login")
    assert not _sticking_out(page), _sticking_out(page)
    log_in(page, live_server, "admin")
    page.goto(f"{live_server}/admin/users")
    assert not _sticking_out(page), _sticking_out(page)


@pytest.fixture
def in_hungarian(live_app: Flask, request: pytest.FixtureRequest) -> Iterator[str]:
    """The parametrized user, in Hungarian for the test (their own choice back afterwards)."""
    username = request.param
    chosen = in_db(live_app, lambda db: db.scalar(
        select(User.language).where(User.username == username)))

    def set_language(language):
        return lambda db: db.execute(
            update(User).where(User.username == username).values(language=language))

    in_db(live_app, set_language("hu"))
    yield username
    in_db(live_app, set_language(chosen))


@pytest.mark.parametrize("in_hungarian", ["manager", "admin"], indirect=True)
def test_header_fits_one_line_at_1366(page: Page, live_server: str, in_hungarian: str,
                                      shot) -> None:
    page.set_viewport_size(DESKTOP)
    log_in(page, live_server, in_hungarian)
    page.goto(f"{live_server}/account/")
    expect(page.locator("html")).to_have_attribute("lang", "hu")
    # Every link, menu button and button the header shows: one row, each on one line.
    items = page.evaluate("""() => [...document.querySelectorAll(
        "header nav :is(a, summary, button)")].filter(el => el.checkVisibility()).map(el => {
          const box = el.getBoundingClientRect();
          return {text: el.innerText.trim(), top: box.top, bottom: box.bottom,
                  height: box.height};
        })""")
    assert len(items) >= 4, items
    first_bottom = min(item["bottom"] for item in items)
    lowest = min(item["height"] for item in items)
    wrapped = [item["text"] for item in items
               if item["top"] >= first_bottom - 1 or item["height"] > 1.5 * lowest]
    if wrapped:
        shot(page, "wrapped")
    assert not wrapped, f"the header wraps to a second line at 1366 px: {wrapped}"
    expect(page.locator(".nav-menu > summary")).to_be_hidden()  # no "Menu" button here
    assert not _sticking_out(page)


CUT_PLACEHOLDERS = """() => {
  const canvas = document.createElement('canvas').getContext('2d');
  return [...document.querySelectorAll('main input[placeholder]')].filter(input => {
    const style = getComputedStyle(input);
    if (style.display === 'none' || input.offsetParent === null) return false;
    canvas.font = style.font;
    const room = input.clientWidth - parseFloat(style.paddingLeft)
                 - parseFloat(style.paddingRight);
    return canvas.measureText(input.placeholder).width > room + 1;
  }).map(input => `${input.name}: "${input.placeholder}"`);
}"""


@pytest.mark.parametrize("size", [PHONE, DESKTOP], ids=["390px", "1366px"])
def test_no_placeholder_is_cut_off(page: Page, live_server: str, scene, size) -> None:
    """A search box's hint is read whole, in Hungarian (the longer language)."""
    log_in(page, live_server, "manager")
    page.set_viewport_size(size)
    cut = {}
    for path in ("/clients/", f"/clients/{scene['client']}", "/documents/search",
                 "/reviews/", "/audit/", "/payments/unmatched"):
        page.goto(f"{live_server}{path}")
        page.wait_for_load_state("networkidle")
        found = page.evaluate(CUT_PLACEHOLDERS)
        if found:
            cut[path] = found
    assert cut == {}, f"placeholders cut off at {size['width']} px: {cut}"


def test_the_charts_read_at_a_phones_width(page: Page, live_server: str, scene) -> None:
    """The report charts' labels and amounts are at least 11 px at 390 px (the aging chart's
    shrank to 9 px with it, the monthly chart's twelve month names to 6 px) and not larger than
    the page's text on a desk."""
    log_in(page, live_server, "manager")
    sizes = {}
    for path in ("/reports/aging", "/reports/kpis"):
        for size in (PHONE, DESKTOP):
            page.set_viewport_size(size)
            page.goto(f"{live_server}{path}")
            sizes[path, size["width"]] = page.evaluate("""() => [...document.querySelectorAll(
                '.chart-svg text')].filter(t => t.checkVisibility()).map(
                t => t.getScreenCTM().a * parseFloat(getComputedStyle(t).fontSize))""")
    for (path, width), found in sizes.items():
        assert found, (path, width)
        if width == PHONE["width"]:
            assert min(found) >= 11, (path, width, found)
        else:
            assert 11 <= min(found) and max(found) <= 16, (path, width, found)


def test_a_date_range_stays_on_one_line(page: Page, live_server: str) -> None:
    """The document search's "Ettől" and "Eddig" fields are side by side at 1366 px (they
    wrapped apart: "From" at the end of one row, "To" on the next). On a phone they may stand
    one under the other."""
    log_in(page, live_server, "manager")  # Hungarian: the longer labels
    page.set_viewport_size(DESKTOP)
    page.goto(f"{live_server}/documents/search?q=hitel")
    tops = [page.locator(f"input[name={name}]").bounding_box()["y"]
            for name in ("date_from", "date_to")]
    assert abs(tops[0] - tops[1]) < 2, f"From and To on different rows: {tops}"


def test_folded_sections_read_as_links(page: Page, live_server: str, scene) -> None:
    """The account page's quick forms open on a click: their titles have the links' colour."""
    log_in(page, live_server, "manager")
    page.goto(f"{live_server}/accounts/{scene['account']}")
    colours = page.evaluate("""() => {
        const link = getComputedStyle(document.querySelector('main a[href]')).color;
        const titles = [...document.querySelectorAll('main details > summary')];
        return {link, titles: titles.map(s => [s.textContent.trim(), getComputedStyle(s).color,
                                               getComputedStyle(s).cursor])};
    }""")
    assert len(colours["titles"]) >= 4, colours
    plain = [t for t, colour, cursor in colours["titles"]
             if colour != colours["link"] or cursor != "pointer"]
    assert plain == [], f"folded sections drawn as plain text: {plain} (links: {colours})"


def test_phone_menu_opens_from_the_keyboard_with_a_visible_focus_ring(
    page: Page, live_server: str
) -> None:
    page.set_viewport_size(PHONE)
    log_in(page, live_server, "manager")
    clients = page.locator(".nav-menu a[href='/clients/']")
    expect(clients).to_be_hidden()
    page.keyboard.press("Tab")  # the brand
    page.keyboard.press("Tab")  # the menu button
    assert page.evaluate("() => document.activeElement.closest('.nav-menu') !== null"), (
        "the second Tab does not reach the header's menu button")
    ring = page.evaluate("""() => {
        const style = getComputedStyle(document.activeElement);
        return [style.outlineStyle, parseFloat(style.outlineWidth)];
    }""")
    assert ring[0] == "solid" and ring[1] >= 2, f"weak focus ring on the menu button: {ring}"
    page.keyboard.press("Enter")
    expect(clients).to_be_visible()
    page.keyboard.press("Tab")
    focused = page.evaluate("() => document.activeElement.getAttribute('href')")
    assert focused == "/clients/", focused
    page.keyboard.press("Escape")  # closes the menu, the focus back on its button
    expect(clients).to_be_hidden()
    assert page.evaluate("() => document.activeElement.matches('.nav-menu > summary')")
