"""Filing and finding documents in a real browser: upload with progress, search as you type, open.

The upload tests go through the page's own JavaScript (one XHR and one <progress> per file).
A real drag and drop from the desktop cannot be done headless, so the drop path is covered by
dispatching a ``drop`` event carrying a ``DataTransfer`` built in the page.
"""

from __future__ import annotations

import io
import random
import re
from datetime import date
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from flask import Flask
from playwright.sync_api import Page, expect
from sqlalchemy import select

from portal.jobs import apply_index_queue
from portal.models.clients import ClientKind, ClientStatus
from portal.models.documents import DocType, Document
from portal.services.base import SYSTEM
from portal.services.clients import ClientData, create_client
from portal.services.documents import FileMeta, file_document
from tests.e2e.helpers import (
    in_db,
    is_fragment_request,
    log_in,
    marker,
    set_marker,
    valid_person_tax_id,
)
from tests.pdfs import make_garbage_pdf, make_pdf

pytestmark = pytest.mark.e2e

UPLOAD_INPUT = "form.upload-form input[type=file][name=files]"
PROGRESS_LIST = "form.upload-form ul.upload-progress"
#: Found by the search tests: "hitelkartya" (no accents, base form) must find and mark it.
SEARCH_WORD, INFLECTED = "hitelkartya", "hitelkártyákat"
SEARCH_PDF_TEXT = ("Nyilatkozat: az ügyfél a zebracsíkos hitelkártyákat 2026. január 15-én "
                   "visszaküldte a banknak. Árvíztűrő tükörfúrógép, őrző-védő szolgálat.")


# Helpers ---------------------------------------------------------------------------------


def make_client(app: Flask, name: str, tax_start: int) -> int:
    """Create an unrestricted active client with no documents; return its id."""

    def create(db) -> int:
        data = ClientData(
            kind=ClientKind.PERSON, name=name, tax_id=valid_person_tax_id(tax_start),
            postal_code="9021", city="Győr", street="Baross Gábor út 3.",
            phone="+36 70 555 0101", email="irat.teszt@example.hu", employer=None,
            income_minor=520_000, income_currency="HUF", status=ClientStatus.ACTIVE,
        )
        client = create_client(db, SYSTEM, data, today=date.today(),
                               onboarding_days=app.config["ONBOARDING_BUSINESS_DAYS"])
        return client.id

    return in_db(app, create)


def documents_of(app: Flask, client_id: int) -> list[str]:
    """Return the titles of the client's live documents, sorted."""
    return sorted(in_db(app, lambda db: db.scalars(
        select(Document.title).where(Document.client_id == client_id,
                                     Document.deleted_at.is_(None))).all()))


# Records every row the upload script adds to the progress list, the moment it is added:
# on localhost an upload can finish before Playwright would ever see its <progress> bar.
_WATCH_UPLOADS = """(selector) => {
  window.__uploads = [];
  const list = document.querySelector(selector);
  new MutationObserver((records) => {
    for (const record of records) {
      for (const node of record.addedNodes) {
        if (node.nodeType !== Node.ELEMENT_NODE) { continue; }
        const bar = node.querySelector("progress");
        window.__uploads.push({
          cls: node.className,
          name: (node.querySelector("span") || node).textContent.trim(),
          progress: bar ? {max: bar.max, value: bar.value} : null,
        });
      }
    }
  }).observe(list, {childList: true});
}"""


def expect_listed(results, titles: list[str]) -> None:
    """Expect the client's document list (refreshed by the ``filed`` event) to show titles."""
    # The list comes from the search index. If it is refreshed while the upload's own
    # after-response indexing still holds the index writer, it shows "N documents are still
    # waiting to be indexed" and lacks the new document until the page is reloaded.
    why = (f"#client-doc-results does not list all of {titles} after the 'filed' refresh "
           "(the list missed the just-filed document: index still pending?)")
    expect(results.locator("table.doc-table tbody tr"), why).to_have_count(len(titles))
    for title in titles:
        expect(results, why).to_contain_text(title)


def progress_rows(page: Page) -> list[dict]:
    """Return the rows with a <progress> bar that the upload script showed, in order."""
    return [row for row in page.evaluate("() => window.__uploads") if row["progress"]]


# Drops the given text files on the drop zone as a browser would after a drag from the desktop.
_DROP = """([selector, files]) => {
  const zone = document.querySelector(selector);
  const transfer = new DataTransfer();
  for (const [name, text] of files) {
    transfer.items.add(new File([text], name, {type: "text/plain"}));
  }
  const fire = (type) => zone.dispatchEvent(new DragEvent(type, {
    bubbles: true, cancelable: true, dataTransfer: transfer}));
  const enterAccepted = !fire("dragenter");
  const overAccepted = !fire("dragover");
  const dragging = zone.classList.contains("dragging");
  const dropHandled = !fire("drop");
  return {enterAccepted, overAccepted, dragging, dropHandled,
          draggingAfter: zone.classList.contains("dragging")};
}"""


@pytest.fixture
def doc_client(live_app: Flask) -> int:
    """A client created just now, with no documents yet; return its id."""
    return make_client(live_app, "Irat Ildikó Teszt", 34567890)


@pytest.fixture(scope="module")
def filed_pdf(live_app: Flask, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """A Hungarian text PDF filed (and indexed) for a client of its own, for the search tests."""
    client_id = make_client(live_app, "Kereső Kornélia Teszt", 45678901)
    path = make_pdf(tmp_path_factory.mktemp("search-pdf") / "kártyanyilatkozat.pdf",
                    [SEARCH_PDF_TEXT, "Második oldal: törlesztési ütemterv."])
    content = path.read_bytes()

    def file(db) -> int:
        document = file_document(
            db, SYSTEM, live_app.extensions["storage"], client_id, io.BytesIO(content),
            path.name, FileMeta(doc_type=DocType.CORRESPONDENCE),
            max_bytes=live_app.config["MAX_UPLOAD_MB"] * 1024 * 1024,
        )
        return document.id

    doc_id = in_db(live_app, file)
    apply_index_queue(live_app.extensions["db_sessionmaker"], live_app.extensions["search"].get(),
                      wait=True)
    return {"id": doc_id, "title": "Kártyanyilatkozat", "name": path.name, "content": content,
            "client_id": client_id}


# 1. Upload: pick two files, then drop one -------------------------------------------------


def test_picked_and_dropped_files_upload_with_progress_and_list_refreshes(
    page: Page, live_server: str, live_app: Flask, doc_client: int, tmp_path: Path,
    browser_log, shot, hu
) -> None:
    pdf = make_pdf(tmp_path / "hitelkártya-nyilatkozat.pdf", [
        "Ügyfélnyilatkozat\nA leopárdmintás és a zebracsíkos hitelkártyákat az ügyfél "
        "2026. február 3-án leadta. Őszintén köszönjük: Győri Fiók.",
    ])
    txt = tmp_path / "telefonjegyzet.txt"
    txt.write_text("Telefonjegyzet: az ügyfél kérte a törlesztőrészlet átütemezését.\n",
                   encoding="utf-8")
    dropped_name = "behúzott-feljegyzés.txt"
    results = page.locator("#client-doc-results")
    verdicts = page.locator(PROGRESS_LIST).locator("li.filed, li.refused")

    log_in(page, live_server, "coordinator")
    page.goto(f"{live_server}/clients/{doc_client}")
    expect(results).to_contain_text(hu("No documents filed yet."))
    expect(page.locator("form.upload-form .drop-zone")).to_be_visible()
    shot(page, "1-empty")

    refreshes: list = []
    page.on("response", lambda r: refreshes.append(r)
            if urlsplit(r.url).path == "/documents/search" else None)
    page.evaluate(_WATCH_UPLOADS, PROGRESS_LIST)
    set_marker(page)
    page.set_input_files(UPLOAD_INPUT, [pdf, txt])
    expect(verdicts).to_have_count(2)

    rows = progress_rows(page)
    assert sorted(row["name"] for row in rows) == sorted([pdf.name, txt.name]), rows
    assert all(row["progress"]["max"] == 100 for row in rows), rows
    filed = page.locator(PROGRESS_LIST).locator("li.filed")
    expect(filed).to_have_count(2)
    expect(filed.filter(has_text="Hitelkártya nyilatkozat")).to_have_count(1)
    expect(filed.filter(has_text="Telefonjegyzet")).to_have_count(1)
    for link in filed.locator("a").all():
        assert re.fullmatch(r"/documents/\d+", link.get_attribute("href") or "")
    expect(page.locator(PROGRESS_LIST).locator("progress")).to_have_count(0)
    expect_listed(results, ["Hitelkártya nyilatkozat", "Telefonjegyzet"])
    assert marker(page) == 1, "the page was reloaded instead of updated in place"
    assert refreshes and all(is_fragment_request(r) for r in refreshes), refreshes
    assert documents_of(live_app, doc_client) == ["Hitelkártya nyilatkozat", "Telefonjegyzet"]
    shot(page, "2-picked-filed")

    # The drop path: the same upload, started by a drop on the zone.
    drop = page.evaluate(_DROP, ["form.upload-form .drop-zone", [
        [dropped_name, "Behúzott feljegyzés: a jövedelemigazolás beérkezett, rendben."]]])
    expect(verdicts).to_have_count(3)
    assert drop == {"enterAccepted": True, "overAccepted": True, "dragging": True,
                    "dropHandled": True, "draggingAfter": False}, drop
    rows = progress_rows(page)
    assert [row["name"] for row in rows][2:] == [dropped_name], rows
    expect(page.locator(PROGRESS_LIST).locator("li.filed")).to_have_count(3)
    expect(page.locator(PROGRESS_LIST).locator("li.filed").last).to_contain_text(
        "Behúzott feljegyzés")
    expect_listed(results, ["Behúzott feljegyzés", "Hitelkártya nyilatkozat", "Telefonjegyzet"])
    assert marker(page) == 1, "the page was reloaded instead of updated in place"
    assert documents_of(live_app, doc_client) == [
        "Behúzott feljegyzés", "Hitelkártya nyilatkozat", "Telefonjegyzet"]
    shot(page, "3-dropped-filed")

    assert browser_log.problems() == []


def test_refused_files_show_the_reason_and_file_nothing(
    page: Page, live_server: str, live_app: Flask, doc_client: int, tmp_path: Path,
    browser_log, shot, hu
) -> None:
    fake = tmp_path / "bankkivonat.pdf"  # random bytes under a .pdf name: not a PDF at all
    fake.write_bytes(random.Random(7).randbytes(16 * 1024).replace(b"%PDF-", b"%PDF_"))
    broken = make_garbage_pdf(tmp_path / "sérült-szerződés.pdf")  # a PDF header, then noise
    results = page.locator("#client-doc-results")
    upload_url = f"{live_server}/clients/{doc_client}/documents"
    statuses: list[int] = []
    page.on("response", lambda r: statuses.append(r.status) if r.url == upload_url else None)

    log_in(page, live_server, "coordinator")
    page.goto(f"{live_server}/clients/{doc_client}")
    expect(results).to_contain_text(hu("No documents filed yet."))
    page.evaluate(_WATCH_UPLOADS, PROGRESS_LIST)
    set_marker(page)

    page.set_input_files(UPLOAD_INPUT, [fake, broken])
    refused = page.locator(PROGRESS_LIST).locator("li.refused")
    expect(refused).to_have_count(2)
    shot(page, "1-refused")

    assert sorted(row["name"] for row in progress_rows(page)) == sorted([fake.name, broken.name])
    not_pdf = refused.filter(has_text=fake.name)
    expect(not_pdf).to_have_attribute("data-reason", "type")
    expect(not_pdf.locator("strong")).to_have_text(fake.name)
    expect(not_pdf).to_contain_text(hu(
        "Not an accepted type: PDF, PNG, JPEG, TIFF or plain text (judged by the content, "
        "not the name)."))
    damaged = refused.filter(has_text=broken.name)
    expect(damaged).to_have_attribute("data-reason", "unreadable")
    expect(damaged).to_contain_text(
        hu("The PDF could not be read within the limits (damaged or hostile)."))
    expect(page.locator(PROGRESS_LIST).locator("li.filed, progress")).to_have_count(0)
    assert sorted(statuses) == [422, 422]

    expect(results).to_contain_text(hu("No documents filed yet."))
    assert documents_of(live_app, doc_client) == []
    assert marker(page) == 1, "the page was reloaded instead of updated in place"
    # Chromium logs every 4xx response as a console error; the refusals' 422s are expected.
    expected = re.compile(r"status of 422 .*\(" + re.escape(upload_url) + r"\)$")
    problems = [p for p in browser_log.problems() if not expected.search(p)]
    assert problems == []


# 2. Search as you type --------------------------------------------------------------------


def test_search_as_you_type_finds_the_inflected_accented_word(
    page: Page, live_server: str, filed_pdf: dict[str, Any], browser_log, shot
) -> None:
    log_in(page, live_server, "coordinator")
    page.goto(f"{live_server}/documents/search")
    expect(page.locator("#q")).to_be_visible()
    expect(page.locator("#doc-results li.doc-hit").first).to_be_visible()  # newest first
    shot(page, "1-search-page")

    set_marker(page)
    with page.expect_response(
        lambda r: urlsplit(r.url).path == "/documents/search"
        and parse_qs(urlsplit(r.url).query).get("q") == [SEARCH_WORD]
    ) as caught:
        page.locator("#q").press_sequentially(SEARCH_WORD, delay=30)  # no Enter
    response = caught.value
    assert response.ok
    assert is_fragment_request(response), response.request.headers
    assert "<html" not in response.text().lower()

    hit = page.locator(f'#doc-results li.doc-hit[data-doc="{filed_pdf["id"]}"]')
    expect(hit).to_have_count(1)
    expect(hit.locator("h3 a")).to_have_text(filed_pdf["title"])
    marks = hit.locator("p.passage mark")
    expect(marks.first).to_be_visible()
    assert INFLECTED in marks.all_inner_texts(), marks.all_inner_texts()
    expect(hit.locator("p.passage").first).to_contain_text(f"zebracsíkos {INFLECTED}")
    expect(page).to_have_url(re.compile(r"[?&]q="))
    assert parse_qs(urlsplit(page.url).query)["q"] == [SEARCH_WORD]
    assert page.locator("#q").input_value() == SEARCH_WORD
    assert marker(page) == 1, "the page was reloaded instead of swapped"
    shot(page, "2-results")

    assert browser_log.problems() == []


# 3. Open a result -------------------------------------------------------------------------


def test_opening_a_result_shows_text_versions_and_serves_the_pdf(
    page: Page, live_server: str, filed_pdf: dict[str, Any], browser_log, shot, hu
) -> None:
    doc_id = filed_pdf["id"]
    log_in(page, live_server, "coordinator")
    page.goto(f"{live_server}/documents/search?q={SEARCH_WORD}")
    title_link = page.locator(f'#doc-results li.doc-hit[data-doc="{doc_id}"] h3 a')
    expect(title_link).to_have_text(filed_pdf["title"])
    shot(page, "1-results")

    with page.expect_navigation():
        title_link.click()
    assert urlsplit(page.url).path == f"/documents/{doc_id}"
    expect(page.get_by_role("heading", level=1)).to_have_text(filed_pdf["title"])
    expect(page.locator("details.extracted")).to_have_attribute("open", "")
    expect(page.locator("details.extracted pre.doc-text")).to_contain_text(
        f"zebracsíkos {INFLECTED}")
    expect(page.locator("details.extracted pre.doc-text")).to_contain_text("tükörfúrógép")
    versions = page.locator("table.versions tbody tr")
    expect(versions).to_have_count(1)
    expect(versions.first.locator("td").nth(0)).to_have_text("1")
    expect(versions.first.locator("td").nth(1)).to_have_text(filed_pdf["name"])
    shot(page, "2-document")

    open_link = page.locator(".page-head .actions a", has_text=hu("Open"))
    expect(open_link).to_have_attribute("href", f"/documents/{doc_id}/view")
    response = page.request.get(f"{live_server}/documents/{doc_id}/view")
    assert response.status == 200
    headers = response.headers
    assert headers["content-type"].split(";")[0] == "application/pdf", headers
    assert headers["x-content-type-options"] == "nosniff", headers
    assert not headers.get("content-disposition", "").startswith("attachment"), headers
    assert response.body() == filed_pdf["content"]

    assert browser_log.problems() == []
