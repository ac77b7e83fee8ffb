"""A stale edit in a real browser: two users open the same form, one saves, the other's save
is refused (409) with the colleague's changes marked beside their own; saving again succeeds."""

from __future__ import annotations

import io
import re

import pytest
from flask import Flask
from playwright.sync_api import Page, expect

from portal.models.documents import DocType, Document
from portal.services.base import SYSTEM
from portal.services.documents import FileMeta, file_document
from tests.e2e.conftest import WAIT_MS
from tests.e2e.helpers import in_db, log_in
from tests.e2e.test_documents import make_client

pytestmark = pytest.mark.e2e

SAVE = "form.details-form button[type=submit]"


def _second_user(browser, base: str, username: str) -> Page:
    """Log a second user in, in a context (cookies) of their own: a colleague's browser."""
    context = browser.new_context(locale="hu-HU", timezone_id="Europe/Budapest",
                                  viewport={"width": 1280, "height": 900})
    context.set_default_timeout(WAIT_MS)
    other = context.new_page()
    log_in(other, base, username)
    return other


def test_a_stale_document_edit_marks_the_colleagues_change(
        live_app: Flask, live_server: str, browser, page: Page, hu, browser_log, shot):
    client_id = make_client(live_app, "Elavult Edit", 23456789)
    doc_id = in_db(live_app, lambda db: file_document(
        db, SYSTEM, live_app.extensions["storage"], client_id,
        io.BytesIO(b"Feljegyzes a hitelkeretrol."), "feljegyzes.txt",
        FileMeta(DocType.OTHER, title="Eredeti cím", tags=("régi",)), max_bytes=10**6).id)
    edit_url = f"{live_server}/documents/{doc_id}/edit"
    colleague = _second_user(browser, live_server, "manager")
    try:
        log_in(page, live_server, "clerk")
        page.goto(edit_url)
        colleague.goto(edit_url)
        # The colleague saves first: a new title.
        colleague.fill("#title", "A kolléga címe")
        with colleague.expect_navigation():
            colleague.click(SAVE)
        expect(colleague.locator("h1")).to_have_text("A kolléga címe")
        # The user, on the copy opened before, changes the tags and saves: refused.
        page.fill("#tags", "sürgős")
        with page.expect_response(lambda r: r.url == edit_url
                                  and r.request.method == "POST") as answer:
            page.click(SAVE)
        assert answer.value.status == 409
        expect(page.locator(".stale-notice")).to_contain_text(hu(
            "Someone else corrected this document's details after you opened them, so "
            "nothing was saved."))
        note = page.locator('.field-change[data-field="title"]')
        expect(note.locator(".theirs")).to_have_text("A kolléga címe")
        expect(note.locator(".yours")).to_have_text("Eredeti cím")
        expect(page.locator("#title")).to_have_attribute("data-changed", "true")
        expect(page.locator('.field-change[data-field="tags"]')).to_have_count(0)
        expect(page.locator("#tags")).to_have_value("sürgős")  # the user's input is kept
        shot(page, "conflict")
        # Saving again is a decision: it goes through, with the user's values.
        with page.expect_navigation():
            page.click(SAVE)
        assert page.url == f"{live_server}/documents/{doc_id}"
        expect(page.locator(".flash-success")).to_contain_text(hu("Details saved."))
        expect(page.locator("h1")).to_have_text("Eredeti cím")
    finally:
        colleague.context.close()
    saved = in_db(live_app, lambda db: (lambda d: (d.title, d.tag_list))(db.get(Document,
                                                                                doc_id)))
    assert saved == ("Eredeti cím", ["sürgős"])
    status_409 = re.compile(r"status of 409 .*\(" + re.escape(edit_url) + r"\)$")
    assert [p for p in browser_log.problems() if not status_409.search(p)] == []
