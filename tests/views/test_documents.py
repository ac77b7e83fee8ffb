"""Filing documents through the web: upload, refuse, version, trash, view, download, search."""

from __future__ import annotations

import errno
import io
import os
import stat
from pathlib import Path

import pytest
from sqlalchemy import func, select
from werkzeug.datastructures import FileStorage, MultiDict
from werkzeug.test import encode_multipart

from portal.domain.permissions import Role
from portal.models import AuditEvent, Document, DocumentVersion, IndexTask, TextStatus
from tests.conftest import csrf_token, make_client
from tests.pdfs import make_garbage_pdf, make_pdf, make_png

HU_TEXT = "A hitelképesség vizsgálata után a hitelkártyákat letiltottuk. Szerződés 2026."


def _upload(client, client_id: int, files: list[tuple[bytes, str]], **fields):
    token = csrf_token(client, f"/clients/{client_id}")
    data = {"csrf_token": token, "doc_type": fields.pop("doc_type", "contract"), **fields,
            "files": [FileStorage(io.BytesIO(content), filename=name)
                      for content, name in files]}
    # Encoded in memory: the test client's own encoder spools bodies over 500 KB to a
    # temporary file that it never closes.
    boundary, body = encode_multipart(MultiDict(data))
    return client.post(f"/clients/{client_id}/documents", data=body,
                       content_type=f"multipart/form-data; boundary={boundary}",
                       headers={"HX-Request": "true"})


@pytest.fixture
def pdf_bytes(tmp_path) -> bytes:
    return make_pdf(tmp_path / "contract.pdf", [HU_TEXT, "Második oldal: bankszámlakivonat"]
                    ).read_bytes()


@pytest.fixture
def owner(db, staff):
    return make_client(db, "Irat Ilona")


def _count(db, model) -> int:
    db.expire_all()
    return db.scalar(select(func.count()).select_from(model))


def _search(browser, query: str, **params) -> str:
    params = {"q": query, **params}
    return browser.get("/documents/search", query_string=params,
                       headers={"HX-Request": "true"}).get_data(as_text=True)


def _fetch(browser, url: str):
    """GET a file response, read it and close it (send_file keeps the file open until then)."""
    response = browser.get(url)
    response.get_data()
    response.close()
    return response


def test_upload_files_stores_by_content_and_is_found(app, db, staff, as_role, owner, pdf_bytes):
    clerk = as_role(Role.CLERK)
    response = _upload(clerk, owner.id, [(pdf_bytes, "szerződés.pdf"),
                                         (b"Plain note about a bank statement.", "note.txt")],
                       tags="Hitel, 2026", doc_date="2026-11-20")
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and html.count('data-status="filed"') == 2
    versions = db.scalars(select(DocumentVersion).order_by(DocumentVersion.id)).all()
    assert [v.mime for v in versions] == ["application/pdf", "text/plain"]
    assert versions[0].text_status is TextStatus.TEXT and "hitelképesség" in versions[0].text
    assert versions[0].pages == 2
    stored = Path(app.config["STORAGE_DIR"]) / versions[0].sha256[:2] / versions[0].sha256[2:4] \
        / versions[0].sha256
    assert stored.read_bytes() == pdf_bytes
    assert stat.S_IMODE(stored.stat().st_mode) == 0o600
    assert stat.S_IMODE(stored.parent.stat().st_mode) == 0o700
    document = db.scalar(select(Document).where(Document.title == "Szerződés"))
    assert document.tag_list == ["hitel", "2026"] and str(document.doc_date) == "2026-11-20"
    assert _count(db, AuditEvent) >= 3  # login + two uploads
    # Accent-less and inflected forms find it, with the passage highlighted.
    results = _search(clerk, "hitelkepesseg")
    assert ">Szerződés<" in results and "<mark>" in results
    assert "1 document" in results


def test_refused_files_get_a_reason_and_leave_nothing(app, db, staff, as_role, owner, tmp_path,
                                                      monkeypatch):
    from portal.blueprints.documents import views

    # A small limit keeps the request under Werkzeug's in-memory threshold.
    monkeypatch.setattr(views, "_max_bytes", lambda: 200_000)
    clerk = as_role(Role.CLERK)
    files = [
        (b"", "empty.pdf"),
        (b"PK\x03\x04 this is a zip archive, not a pdf" * 10, "renamed.pdf"),
        (make_garbage_pdf(tmp_path / "bad.pdf").read_bytes(), "broken.pdf"),
        (b"%PDF-1.4\n" + os.urandom(300_000), "huge.pdf"),
    ]
    response = _upload(clerk, owner.id, files)
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    for reason in ("empty", "type", "unreadable", "too_large"):
        assert f'data-reason="{reason}"' in html
    assert _count(db, Document) == 0 and _count(db, IndexTask) == 0
    storage = Path(app.config["STORAGE_DIR"])
    assert [p for p in storage.rglob("*") if p.is_file()] == []


def test_a_whole_request_over_the_limit_gets_413(app, staff, as_role, owner):
    app.config["MAX_CONTENT_LENGTH"] = 64 * 1024
    response = _upload(as_role(Role.CLERK), owner.id, [(b"x" * 100_000, "big.txt")])
    assert response.status_code == 413


def test_type_is_judged_by_content_when_the_name_claims_nothing(app, db, staff, as_role,
                                                                  owner, tmp_path):
    png = make_png(tmp_path / "scan.png").read_bytes()
    response = _upload(as_role(Role.CLERK), owner.id, [(png, "scan from the copier")])
    assert response.status_code == 200
    version = db.scalar(select(DocumentVersion))
    assert version.mime == "image/png" and version.text_status is TextStatus.NO_TEXT


HTML_PAGE = (b"<!DOCTYPE html><html><head><title>Invoice</title></head><body>"
             b"<h1>Invoice 2026/117</h1><p>Amount due: 120 000 Ft</p></body></html>")
SVG_SCRIPT = (b'<svg xmlns="http://www.w3.org/2000/svg"><script>fetch("/admin/users")'
              b"</script><text>note</text></svg>")


@pytest.mark.parametrize(("content", "name", "reason"), [
    (HTML_PAGE, "invoice.pdf", "markup"),
    (HTML_PAGE, "invoice.txt", "markup"),
    (HTML_PAGE, "invoice", "markup"),
    (SVG_SCRIPT, "note.txt", "markup"),
    (b"<?xml version='1.0'?><statement><amount>5</amount></statement>", "stmt.txt", "markup"),
    (b"#!/bin/sh\nrm -rf ~\n", "notes.txt", "markup"),
    (b"Plain words, then <script>alert(1)</script> further on.", "memo.txt", "markup"),
    (b"Just a plain letter to the office.", "letter.pdf", "mismatch"),
    (b"Just a plain letter to the office.", "letter.html", "type"),
    (b"Just a plain letter to the office.", "rtl\u202efdp.exe", "type"),
])
def test_files_that_pretend_to_be_something_else_are_refused(app, db, staff, as_role, owner,
                                                             content, name, reason):
    clerk = as_role(Role.CLERK)
    response = _upload(clerk, owner.id, [(content, name)])
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert f'data-reason="{reason}"' in html
    assert _count(db, Document) == 0 and _count(db, IndexTask) == 0
    assert _stored_files(app) == []


def test_a_name_claiming_another_kind_says_what_each_is(app, db, staff, as_role, owner,
                                                        tmp_path, pdf_bytes):
    png = make_png(tmp_path / "scan.png").read_bytes()
    clerk = as_role(Role.CLERK)
    html = _upload(clerk, owner.id, [(png, "contract.pdf")]).get_data(as_text=True)
    assert 'data-reason="mismatch"' in html
    assert "The name says a PDF, but the file is a PNG image." in html
    assert _upload(clerk, owner.id, [(pdf_bytes, "contract.PDF")]).status_code == 200


@pytest.mark.parametrize("name", [
    "../../x.pdf", "..\\..\\x.pdf", 'quote"d.pdf', "rtl\u202efdp.pdf",
    "a" * 300 + ".pdf", "nul\x00.pdf",
])
def test_hostile_names_are_only_metadata(app, db, staff, as_role, owner, pdf_bytes, name):
    clerk = as_role(Role.CLERK)
    assert _upload(clerk, owner.id, [(pdf_bytes, name)]).status_code == 200
    version = db.scalar(select(DocumentVersion))
    stored_name = version.original_name
    assert "/" not in stored_name and "\\" not in stored_name and "\n" not in stored_name
    assert "\u202e" not in stored_name and "\x00" not in stored_name and len(stored_name) <= 200
    root = Path(app.config["STORAGE_DIR"]).resolve()
    assert all(p.resolve().is_relative_to(root) for p in root.rglob("*"))
    assert not (root.parent / "x.pdf").exists()
    download = _fetch(clerk, f"/documents/{version.document_id}/download")
    disposition = download.headers["Content-Disposition"]
    assert disposition.startswith("attachment;") and "\n" not in disposition
    assert download.data == pdf_bytes


def test_view_and_download_headers_and_audit(app, db, staff, as_role, owner, pdf_bytes):
    clerk = as_role(Role.CLERK)
    _upload(clerk, owner.id, [(pdf_bytes, "Árajánlat 2026.pdf")])
    document = db.scalar(select(Document))
    page = clerk.get(f"/documents/{document.id}")
    assert page.status_code == 200 and "hitelkártyákat" in page.get_data(as_text=True)
    inline = _fetch(clerk, f"/documents/{document.id}/view")
    assert inline.mimetype == "application/pdf"
    assert inline.headers["Content-Disposition"].startswith("inline")
    assert inline.headers["X-Content-Type-Options"] == "nosniff"
    download = _fetch(clerk, f"/documents/{document.id}/download")
    assert "filename*=UTF-8''%C3%81raj%C3%A1nlat%202026.pdf" in \
        download.headers["Content-Disposition"]
    actions = db.scalars(select(AuditEvent.action).where(AuditEvent.object_id == document.id,
                                                         AuditEvent.object_type == "document"))
    assert {"document.upload", "document.view", "document.open", "document.download"} <= \
        set(actions)


def test_duplicates_are_not_filed_twice(app, db, staff, as_role, owner, pdf_bytes):
    clerk = as_role(Role.CLERK)
    _upload(clerk, owner.id, [(pdf_bytes, "a.pdf")])
    again = _upload(clerk, owner.id, [(pdf_bytes, "b.pdf")])
    assert 'data-reason="duplicate"' in again.get_data(as_text=True)
    assert _count(db, Document) == 1


def test_new_version_keeps_the_old_one(app, db, staff, as_role, owner, pdf_bytes, tmp_path):
    clerk = as_role(Role.CLERK)
    _upload(clerk, owner.id, [(pdf_bytes, "v1.pdf")])
    document = db.scalar(select(Document))
    corrected = make_pdf(tmp_path / "v2.pdf", ["Javított változat: törlesztőrészlet"]).read_bytes()
    token = csrf_token(clerk, f"/documents/{document.id}")
    response = clerk.post(f"/documents/{document.id}/versions",
                          data={"csrf_token": token, "file": (io.BytesIO(corrected), "v2.pdf")},
                          content_type="multipart/form-data")
    assert response.status_code == 302
    db.expire_all()
    versions = db.scalars(select(DocumentVersion).order_by(DocumentVersion.number)).all()
    assert [v.number for v in versions] == [1, 2]
    assert _fetch(clerk, f"/documents/{document.id}/download?version=1").data == pdf_bytes
    assert _fetch(clerk, f"/documents/{document.id}/download").data == corrected
    assert "tahoma" not in _search(clerk, "torlesztoreszlet")
    assert "V1" in _search(clerk, "torlesztoreszlet")  # the title stays, the text is new


def test_trash_restore_and_empty(app, db, staff, as_role, owner, pdf_bytes):
    clerk, manager = as_role(Role.CLERK), as_role(Role.MANAGER)
    _upload(clerk, owner.id, [(pdf_bytes, "kuka.pdf")])
    document = db.scalar(select(Document))
    sha = document.current.sha256
    assert "Kuka" in _search(clerk, "hitelkartya")
    token = csrf_token(clerk, f"/documents/{document.id}")
    assert clerk.post(f"/documents/{document.id}/delete",
                      data={"csrf_token": token}).status_code == 302
    assert clerk.get(f"/documents/{document.id}").status_code == 404
    assert "Kuka" not in _search(clerk, "hitelkartya")
    assert clerk.get("/documents/trash").status_code == 403
    assert "Kuka" in manager.get("/documents/trash").get_data(as_text=True)
    token = csrf_token(manager, "/documents/trash")
    restored = manager.post(f"/documents/{document.id}/restore", data={"csrf_token": token})
    assert restored.status_code == 302
    assert "Kuka" in _search(clerk, "hitelkartya")
    again = clerk.post(f"/documents/{document.id}/delete",
                       data={"csrf_token": csrf_token(clerk, "/clients/")})
    assert again.status_code == 302
    emptied = manager.post("/documents/trash/empty",
                           data={"csrf_token": csrf_token(manager, "/clients/")})
    assert emptied.status_code == 302
    assert _count(db, Document) == 0 and _count(db, DocumentVersion) == 0
    assert not app.extensions["storage"].exists(sha)
    purged = db.scalar(select(func.count()).where(AuditEvent.action == "document.purge"))
    assert purged == 1


def test_restricted_clients_documents_are_invisible_everywhere(app, db, staff, as_role,
                                                               tmp_path):
    secret = make_client(db, "Titok Tivadar", restricted=True,
                         coordinator_id=staff.coordinator.id)
    public = make_client(db, "Nyílt Nándor")
    coordinator, clerk = as_role(Role.COORDINATOR), as_role(Role.CLERK)
    _upload(coordinator, secret.id, [(make_pdf(tmp_path / "s.pdf", [
        "Zsiráfnyakú különleges megállapodás a titkos ügyfélről."]).read_bytes(), "s.pdf")])
    _upload(coordinator, public.id, [(make_pdf(tmp_path / "p.pdf", [
        "Közönséges megállapodás."]).read_bytes(), "p.pdf")])
    hidden = db.scalar(select(Document).where(Document.client_id == secret.id))
    assert "Zsiráfnyakú" in _search(coordinator, "zsirafnyaku")
    for query in ("zsirafnyaku", "zsiráfnyak*", "zsirafnyaky"):  # word, prefix, misspelling
        html = _search(clerk, query)
        assert "Zsiráf" not in html and "zsiráf" not in html
        assert "s.pdf" not in html and ">s<" not in html
        assert "0 documents" in html
    counted = _search(clerk, "megallapodas")
    assert "1 document" in counted and "Nyílt Nándor" in counted
    assert clerk.get(f"/documents/{hidden.id}").status_code == 403
    assert _fetch(clerk, f"/documents/{hidden.id}/download").status_code == 403
    no_text = _search(clerk, "", client=secret.number)
    assert "0 documents" in no_text


def test_search_page_and_fragment(app, db, staff, as_role, owner, pdf_bytes):
    clerk = as_role(Role.CLERK)
    _upload(clerk, owner.id, [(pdf_bytes, "a.pdf")])
    page = clerk.get("/documents/search?q=hitelkartya")
    assert page.status_code == 200 and "<html" in page.get_data(as_text=True)
    fragment = clerk.get("/documents/search?q=hitelkartya", headers={"HX-Request": "true"})
    assert "<html" not in fragment.get_data(as_text=True)
    assert "HX-Request" in fragment.headers["Vary"]


def test_matching_title_words_are_marked_and_escaped(app, db, staff, as_role, owner, pdf_bytes):
    clerk = as_role(Role.CLERK)
    _upload(clerk, owner.id, [(pdf_bytes, "a.pdf")], title="<b>Hitelkártya</b> & nyilatkozat")
    results = _search(clerk, "hitelkartyakat")
    assert "&lt;b&gt;<mark>Hitelkártya</mark>&lt;/b&gt; &amp; nyilatkozat</a>" in results
    plain = _search(clerk, "bankszamlakivonat")  # found in the text, not in the title
    assert "&lt;b&gt;Hitelkártya&lt;/b&gt; &amp; nyilatkozat</a>" in plain


def test_scans_are_filed_and_counted_as_without_text(app, db, staff, as_role, owner, tmp_path):
    from tests.pdfs import make_scanned_pdf

    clerk = as_role(Role.CLERK)
    _upload(clerk, owner.id, [(make_scanned_pdf(tmp_path / "scan.pdf").read_bytes(), "scan.pdf")])
    assert db.scalar(select(DocumentVersion)).text_status is TextStatus.NO_TEXT
    html = _search(clerk, "", client=owner.number)
    assert "1 document here has no text" in html


def test_encrypted_pdf_is_stored_and_marked(app, db, staff, as_role, owner, tmp_path):
    clerk = as_role(Role.CLERK)
    locked = make_pdf(tmp_path / "locked.pdf", ["Titkos"], password="jelszo123").read_bytes()
    assert _upload(clerk, owner.id, [(locked, "locked.pdf")]).status_code == 200
    version = db.scalar(select(DocumentVersion))
    assert version.text_status is TextStatus.ENCRYPTED and version.text == ""
    assert "encrypted, no text" in clerk.get(f"/documents/{version.document_id}").get_data(
        as_text=True)


def _stored_files(app) -> list[Path]:
    return [p for p in Path(app.config["STORAGE_DIR"]).rglob("*") if p.is_file()]


def test_a_failure_before_storing_leaves_no_row_and_no_file(app, db, staff, as_role, owner,
                                                            pdf_bytes, monkeypatch):
    from portal.services import audit

    clerk = as_role(Role.CLERK)

    def explode(*_args, **_kwargs):
        raise RuntimeError("database went away")

    monkeypatch.setattr(audit, "record", explode)
    response = _upload(clerk, owner.id, [(pdf_bytes, "x.pdf")])
    assert response.status_code == 500
    assert _count(db, Document) == 0
    assert _stored_files(app) == []


def test_a_failed_commit_takes_the_new_file_away_again(app, db, staff, as_role, owner,
                                                       pdf_bytes):
    from sqlalchemy import event

    clerk = as_role(Role.CLERK)
    sessions = app.extensions["db_sessionmaker"]

    def refuse(session):
        if any(isinstance(obj, Document) for obj in session.identity_map.values()):
            raise OSError(errno.ENOSPC, "No space left on device")  # the database's disk

    event.listen(sessions, "before_commit", refuse)
    try:
        response = _upload(clerk, owner.id, [(pdf_bytes, "x.pdf")])
    finally:
        event.remove(sessions, "before_commit", refuse)
    assert response.status_code == 507
    assert "nothing was saved" in response.get_data(as_text=True)
    assert "default-src 'self'" in response.headers["Content-Security-Policy"]
    assert _count(db, Document) == 0 and _count(db, IndexTask) == 0
    assert db.scalar(select(func.count()).where(AuditEvent.action == "document.upload")) == 0
    assert _stored_files(app) == []


def _disk_fills_up_after(monkeypatch, files_written: int, error: int = errno.ENOSPC):
    """Make the storage's disk fail (full, or read-only) once ``files_written`` were staged."""
    import portal.storage as storage_module

    real_fsync = storage_module.os.fsync
    staged = []

    def fsync(fd):
        if not os.path.isdir(os.readlink(f"/proc/self/fd/{fd}")):  # a file being staged
            if len(staged) >= files_written:
                raise OSError(error, os.strerror(error))
            staged.append(fd)
        return real_fsync(fd)

    monkeypatch.setattr(storage_module.os, "fsync", fsync)


def test_a_full_disk_halfway_through_an_upload_reports_each_file_as_it_is(
        app, db, staff, as_role, owner, pdf_bytes, monkeypatch):
    _disk_fills_up_after(monkeypatch, 1)
    response = _upload(as_role(Role.CLERK), owner.id,
                       [(pdf_bytes, "first.pdf"), (b"a second letter", "second.txt")])
    html = response.get_data(as_text=True)
    assert response.status_code == 200  # something was filed, and the page says what
    assert 'data-status="filed"' in html and "First" in html
    assert 'data-reason="storage_full"' in html and "second.txt" in html
    assert "The document storage is full" in html
    assert _count(db, Document) == 1
    assert db.scalar(select(Document.title)) == "First"
    assert len(_stored_files(app)) == 1  # no half-written second file


@pytest.mark.parametrize(("error", "reason"), [(errno.ENOSPC, "storage_full"),
                                               (errno.EROFS, "storage_read_only")])
def test_storage_that_takes_nothing_answers_507_with_what_to_do(
        app, db, staff, as_role, owner, pdf_bytes, monkeypatch, error, reason):
    _disk_fills_up_after(monkeypatch, 0, error)
    clerk = as_role(Role.CLERK)
    response = _upload(clerk, owner.id, [(pdf_bytes, "first.pdf")])
    assert response.status_code == 507
    assert f'data-reason="{reason}"' in response.get_data(as_text=True)
    assert "administrator" in response.get_data(as_text=True)
    assert _count(db, Document) == 0 and _stored_files(app) == []
    hu = clerk.post("/account/language", data={"language": "hu",
                                                "csrf_token": csrf_token(clerk, "/account/")})
    assert hu.status_code == 302
    magyar = _upload(clerk, owner.id, [(pdf_bytes, "first.pdf")]).get_data(as_text=True)
    assert "rendszergazd" in magyar  # the advice in the user's language


@pytest.mark.parametrize(("raw", "clean"), [
    ("../../x.pdf", "x.pdf"), ("C:\\Users\\a\\b.pdf", "b.pdf"), ("new\r\nline.pdf", "newline.pdf"),
    ("rtl\u202efdp.exe", "rtlfdp.exe"), ("  .hidden. ", "hidden"), ("", "document"),
    ("tab\there.pdf", "tabhere.pdf"), ("a" * 300, "a" * 200),
])
def test_clean_name(raw, clean):
    from portal.services.documents import clean_name

    assert clean_name(raw) == clean


def test_hostile_pdfs_are_refused_quickly_and_the_portal_keeps_serving(app, db, staff, as_role,
                                                                       owner, tmp_path):
    import time

    from tests.pdfs import make_cyclic_page_tree_pdf, make_flate_bomb_pdf

    clerk = as_role(Role.CLERK)
    for maker in (make_flate_bomb_pdf, make_cyclic_page_tree_pdf):
        content = maker(tmp_path / f"{maker.__name__}.pdf").read_bytes()
        started = time.monotonic()
        response = _upload(clerk, owner.id, [(content, "hostile.pdf")])
        assert time.monotonic() - started < 10
        assert 'data-reason="unreadable"' in response.get_data(as_text=True)
    assert clerk.get("/healthz").status_code == 200
    assert _count(db, Document) == 0


def test_only_the_current_version_decides_whether_a_document_has_text(app, db, staff, as_role,
                                                                      owner, tmp_path):
    from tests.pdfs import make_scanned_pdf

    clerk = as_role(Role.CLERK)
    _upload(clerk, owner.id, [(make_scanned_pdf(tmp_path / "s.pdf").read_bytes(), "s.pdf")])
    assert "1 document here has no text" in _search(clerk, "", client=owner.number)
    document = db.scalar(select(Document))
    text_pdf = make_pdf(tmp_path / "t.pdf", ["Most már van szövege"]).read_bytes()
    token = csrf_token(clerk, f"/documents/{document.id}")
    added = clerk.post(f"/documents/{document.id}/versions",
                       data={"csrf_token": token, "file": (io.BytesIO(text_pdf), "t.pdf")},
                       content_type="multipart/form-data")
    assert added.status_code == 302 and _count(db, DocumentVersion) == 2
    assert "has no text" not in _search(clerk, "", client=owner.number)
