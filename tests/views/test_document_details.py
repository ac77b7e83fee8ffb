"""Correcting a filed document's details; titles from file names; a look into the trash."""

from __future__ import annotations

import io
import re

import pytest
from sqlalchemy import select

from portal.domain.permissions import Role
from portal.models import AuditEvent, DocType, Document
from portal.services.base import SYSTEM
from portal.services.documents import FileMeta, file_document, title_from_name
from tests.conftest import make_client, post
from tests.html_forms import form_values
from tests.views.test_documents import _fetch, _search, _upload


@pytest.fixture
def document(app, db, staff):
    owner = make_client(db, "Irat Ilona")
    filed = file_document(db, SYSTEM, app.extensions["storage"], owner.id,
                          io.BytesIO(b"A hitelkeret emelesenek feltetelei."), "level.txt",
                          FileMeta(DocType.OTHER, title="Zebracsíkos feljegyzés",
                                   tags=("régi",)), max_bytes=10**6)
    db.commit()
    return filed


def _edit_form(browser, document_id: int) -> dict[str, str]:
    response = browser.get(f"/documents/{document_id}/edit")
    assert response.status_code == 200
    return form_values(response.get_data(as_text=True), f"/documents/{document_id}/edit")


def _reload(db, document_id: int) -> Document:
    db.expire_all()
    return db.get(Document, document_id)


def test_corrected_details_are_saved_audited_and_searchable(app, db, staff, as_role, document):
    clerk = as_role(Role.CLERK)
    assert "zebracsikos" not in _search(clerk, "kenguru").lower()
    assert "Zebracsíkos" in _search(clerk, "zebracsikos")
    page = clerk.get(f"/documents/{document.id}").get_data(as_text=True)
    assert f'href="/documents/{document.id}/edit"' in page
    form = _edit_form(clerk, document.id)
    assert (form["title"], form["tags"], form["doc_type"]) == ("Zebracsíkos feljegyzés",
                                                              "régi", "other")
    form.update(title="Kengurus megállapodás", doc_type="contract", tags="Hitel, 2026",
                doc_date="2026-11-20")
    response = clerk.post(f"/documents/{document.id}/edit", data=form)
    assert response.status_code == 302
    assert response.headers["Location"].endswith(f"/documents/{document.id}")
    saved = _reload(db, document.id)
    assert (saved.title, saved.doc_type, saved.tag_list, str(saved.doc_date)) == (
        "Kengurus megállapodás", DocType.CONTRACT, ["hitel", "2026"], "2026-11-20")
    event = db.scalar(select(AuditEvent).where(AuditEvent.action == "document.update"))
    assert event.user_id == staff.clerk.id and event.object_id == document.id
    assert event.details == {
        "title": ["Zebracsíkos feljegyzés", "Kengurus megállapodás"],
        "doc_type": ["other", "contract"], "tags": ["régi", "hitel, 2026"],
        "doc_date": [None, "2026-11-20"]}
    # The index follows: the new title is found, the old one no longer is.
    assert "Kengurus" in _search(clerk, "kengurus")
    assert "Kengurus" not in _search(clerk, "zebracsikos")
    assert f'href="/documents/{document.id}"' not in _search(clerk, "zebracsikos")
    assert "Kengurus" in _search(clerk, "kengurus", tags="2026", doc_type="contract")


def test_saving_unchanged_details_writes_no_audit_row(app, db, staff, as_role, document):
    clerk = as_role(Role.CLERK)
    response = clerk.post(f"/documents/{document.id}/edit", data=_edit_form(clerk, document.id))
    assert response.status_code == 302
    assert db.scalar(select(AuditEvent).where(AuditEvent.action == "document.update")) is None


@pytest.mark.parametrize(("change", "message"), [
    ({"title": "   "}, "This field is required."),
    ({"doc_date": "2026-13-45"}, "Not a valid date value."),
    ({"doc_type": "banana"}, "Not a valid choice."),
    ({"title": "x" * 301}, "Field cannot be longer than 300 characters."),
])
def test_bad_input_re_renders_the_form_with_messages(app, db, staff, as_role, document,
                                                     change, message):
    clerk = as_role(Role.CLERK)
    form = {**_edit_form(clerk, document.id), "tags": "új címke", **change}
    response = clerk.post(f"/documents/{document.id}/edit", data=form)
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert message in html and 'aria-invalid="true"' in html
    assert 'value="új címke"' in html  # the input is kept
    assert _reload(db, document.id).tag_list == ["régi"]


def test_correcting_needs_the_filing_right_and_sight_of_the_client(app, db, staff, as_role):
    hidden = make_client(db, "Titkos Tivadar", restricted=True,
                         coordinator_id=staff.coordinator.id)
    filed = file_document(db, SYSTEM, app.extensions["storage"], hidden.id,
                          io.BytesIO(b"titkos"), "titok.txt", FileMeta(DocType.OTHER),
                          max_bytes=10**6)
    db.commit()
    url = f"/documents/{filed.id}/edit"
    assert as_role(Role.COORDINATOR).get(url).status_code == 200
    for who in (Role.CLERK, "coordinator2", Role.ADMIN):
        browser = as_role(who)
        assert browser.get(url).status_code in (403, 404), who
        assert post(browser, url, {"title": "Átírva", "doc_type": "other"}).status_code in (
            403, 404), who
    assert _reload(db, filed.id).title == "Titok"


def test_a_trashed_document_is_not_corrected(app, db, staff, as_role, document):
    manager = as_role(Role.MANAGER)
    form = _edit_form(manager, document.id)
    assert post(manager, f"/documents/{document.id}/delete").status_code == 302
    assert manager.post(f"/documents/{document.id}/edit",
                        data={**form, "title": "Kuka"}).status_code == 404
    assert _reload(db, document.id).title == "Zebracsíkos feljegyzés"


def test_a_stale_correction_shows_what_the_colleague_changed(app, db, staff, as_role,
                                                             document):
    mine, theirs = as_role(Role.CLERK), as_role(Role.MANAGER)
    my_form, their_form = _edit_form(mine, document.id), _edit_form(theirs, document.id)
    their_form.update(title="Kollégám címe", doc_date="2026-10-01")
    assert theirs.post(f"/documents/{document.id}/edit", data=their_form).status_code == 302
    my_form.update(tags="enyém")
    late = mine.post(f"/documents/{document.id}/edit", data=my_form)
    html = late.get_data(as_text=True)
    assert late.status_code == 409
    assert "Someone else corrected this document" in html
    saved = _reload(db, document.id)
    assert (saved.title, saved.tag_list) == ("Kollégám címe", ["régi"])  # nothing of mine
    # Each field the colleague changed is marked with their value beside mine.
    title_note = html.split('data-field="title"')[1].split("</small>")[0]
    assert "Kollégám címe" in title_note and "Zebracsíkos feljegyzés" in title_note
    assert 'data-field="doc_date"' in html
    assert 'data-field="tags"' not in html and 'data-field="doc_type"' not in html
    title_input = re.search(r'<input[^>]*name="title"[^>]*>', html).group()
    assert 'data-changed="true"' in title_input and 'aria-describedby="title-change"' \
        in title_input
    resent = form_values(html, f"/documents/{document.id}/edit")
    assert resent["tags"] == "enyém" and resent["title"] == "Zebracsíkos feljegyzés"
    # Saving the same form again is a decision: it succeeds with my values.
    assert mine.post(f"/documents/{document.id}/edit", data=resent).status_code == 302
    saved = _reload(db, document.id)
    assert (saved.title, saved.tag_list, saved.doc_date) == ("Zebracsíkos feljegyzés",
                                                             ["enyém"], None)


def test_a_form_without_its_original_values_is_treated_as_stale(app, db, staff, as_role,
                                                                document):
    clerk = as_role(Role.CLERK)
    form = {**_edit_form(clerk, document.id), "title": "Új cím"}
    del form["original"]
    response = clerk.post(f"/documents/{document.id}/edit", data=form)
    assert response.status_code == 409
    assert _reload(db, document.id).title == "Zebracsíkos feljegyzés"
    again = clerk.post(f"/documents/{document.id}/edit",
                       data=form_values(response.get_data(as_text=True),
                                        f"/documents/{document.id}/edit"))
    assert again.status_code == 302 and _reload(db, document.id).title == "Új cím"


@pytest.mark.parametrize(("name", "title"), [
    ("hitel-szerzodes_2026.pdf", "Hitel szerzodes 2026"),
    ("szamla_2026-11-30.pdf", "Szamla 2026-11-30"),
    ("SZERZODES_KOVACS.PDF", "Szerzodes kovacs"),
    ("Bank Statement.pdf", "Bank Statement"),
    ("iPhone-scan.jpg", "iPhone scan"),
    ("szerződés.pdf", "Szerződés"),
    ("jegyzet", "Jegyzet"),
])
def test_a_title_from_a_file_name_reads_like_a_title(name, title):
    assert title_from_name(name) == title


def test_an_upload_without_a_title_is_titled_from_its_file_name(app, db, staff, as_role):
    owner = make_client(db, "Név Nélkül")
    response = _upload(as_role(Role.CLERK), owner.id,
                       [(b"Hitelszerzodes szovege.", "hitel-szerzodes_2026.txt")])
    assert response.status_code == 200
    assert db.scalar(select(Document.title)) == "Hitel szerzodes 2026"


def test_a_trashed_document_opens_read_only_for_a_manager(app, db, staff, as_role, document):
    manager, clerk = as_role(Role.MANAGER), as_role(Role.CLERK)
    assert post(clerk, f"/documents/{document.id}/delete").status_code == 302
    trash = manager.get("/documents/trash").get_data(as_text=True)
    assert f'href="/documents/{document.id}"' in trash
    page = manager.get(f"/documents/{document.id}")
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert "This document is in the trash" in html and "hitelkeret" in html
    assert f'action="/documents/{document.id}/restore"' in html
    for gone in (f"/documents/{document.id}/edit", f"/documents/{document.id}/delete",
                 f"/documents/{document.id}/versions"):
        assert gone not in html, gone
    assert _fetch(manager, f"/documents/{document.id}/view").status_code == 200
    # Others get no look at it.
    assert clerk.get(f"/documents/{document.id}").status_code == 404
    assert _fetch(clerk, f"/documents/{document.id}/download").status_code == 404
    # Restored from its page, the manager lands back on it.
    response = post(manager, f"/documents/{document.id}/restore", {"back": "document"})
    assert response.headers["Location"].endswith(f"/documents/{document.id}")
    assert _reload(db, document.id).deleted_at is None
    html = manager.get(f"/documents/{document.id}").get_data(as_text=True)
    assert "This document is in the trash" not in html
    assert f"/documents/{document.id}/edit" in html


def test_a_version_row_is_labelled_version_on_a_phone(app, db, staff, as_role, document):
    """The versions table becomes labelled rows on a phone; the number's label was "#" ("#: 1")."""
    html = as_role(Role.CLERK).get(f"/documents/{document.id}").get_data(as_text=True)
    assert '<td data-label="Version">1</td>' in html and 'data-label="#"' not in html
