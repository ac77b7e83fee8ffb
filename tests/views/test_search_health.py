"""A search index that is deleted, damaged or new: the portal notices, says so, searches the
database meanwhile, rebuilds in the background, and /healthz reports it. A full disk too."""

from __future__ import annotations

import io
import shutil
import threading
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient

import portal.search
from portal import create_app, jobs
from portal.db import transaction
from portal.domain.permissions import Role
from portal.models.documents import DocType
from portal.search.backend import IndexState
from portal.services.base import SYSTEM
from portal.services.documents import FileMeta, file_document
from tests.conftest import login, make_client, make_user

NOTICE = "data-index-notice"
REBUILDING = "The search index is being rebuilt"


@pytest.fixture
def gate(app, monkeypatch):
    """Hold every background rebuild at its start until the test sets the event."""
    event = threading.Event()
    real = jobs.rebuild_index

    def gated(*args, **kwargs):
        if not event.wait(timeout=600):
            raise RuntimeError("the test never let the rebuild go")
        return real(*args, **kwargs)

    monkeypatch.setattr(jobs, "rebuild_index", gated)
    yield event
    event.set()
    for thread in threading.enumerate():
        if thread.name == "search-index-rebuild":
            thread.join(timeout=600)




def _file(app: Flask, client_id: int, name: str, text: str, *, title: str | None = None,
          tags: tuple[str, ...] = ()) -> int:
    """File a plain-text document through the service, committed; return its id."""
    with transaction(app.extensions["db_sessionmaker"]) as db:
        document = file_document(
            db, SYSTEM, app.extensions["storage"], client_id, io.BytesIO(text.encode()), name,
            FileMeta(doc_type=DocType.CONTRACT, title=title, tags=tags), max_bytes=10**6)
        return document.id


@pytest.fixture
def filed(app, db, staff):
    """Four documents, one of them of a restricted client, all indexed."""
    owner = make_client(db, "Irat Ilona")
    secret = make_client(db, "Titok Tamás", restricted=True, coordinator_id=staff.coordinator.id)
    ids = {
        "title": _file(app, owner.id, "szerzodes.txt", "A hitelkártyákat letiltottuk.",
                       title="Hitelkártya-szerződés"),
        "text": _file(app, owner.id, "level.txt", "Kérjük, a hitelkártyákat vágja ketté.",
                      title="Levél az ügyfélnek", tags=("sürgős",)),
        "other": _file(app, owner.id, "egyenleg_2026.txt", "Egyenleg: 1000 Ft.",
                       title="Bankszámlakivonat"),
        "secret": _file(app, secret.id, "titok.txt", "A hitelkártyákat letiltottuk.",
                        title="Hitelkártya titkos"),
    }
    jobs.apply_index_queue(app.extensions["db_sessionmaker"], app.extensions["search"].get())
    return ids


def _search(browser: FlaskClient, query: str) -> str:
    response = browser.get("/documents/search", query_string={"q": query},
                           headers={"HX-Request": "true"})
    assert response.status_code == 200
    return response.get_data(as_text=True)


def _shown(html: str, filed: dict[str, int]) -> set[str]:
    return {key for key, doc_id in filed.items() if f'data-doc="{doc_id}"' in html}


def _health(app: Flask) -> tuple[int, dict]:
    response = app.test_client().get("/healthz")
    return response.status_code, response.get_json()


def _assert_whole_index_back(app: Flask, browser: FlaskClient, filed: dict[str, int]) -> None:
    assert app.extensions["search"].wait_for_rebuild(timeout=600)
    html = _search(browser, "hitelkartya")
    assert NOTICE not in html and "2 documents" in html
    assert _shown(html, filed) == {"title", "text"}
    assert _health(app) == (200, {"status": "ok", "database": "ok", "storage": "ok",
                                  "search": "ok"})
    assert app.extensions["search"].get().count() == 4


def _assert_searches_without_index(app: Flask, browser: FlaskClient, filed: dict[str, int]):
    """The index cannot be used and its rebuild is held: the database answers, marked."""
    provider = app.extensions["search"]
    html = _search(browser, "hitelkartya")
    assert NOTICE in html and REBUILDING in html
    thread = provider.rebuild_thread
    assert thread is not None and thread.is_alive()
    # Only titles, tags and file names are searched, within the clerk's scope.
    assert _shown(html, filed) == {"title"} and "1 document" in html
    assert _shown(_search(browser, "surgos"), filed) == {"text"}  # a tag, accents optional
    assert _shown(_search(browser, "egyenleg"), filed) == {"other"}  # the file name
    assert provider.rebuild_thread is thread  # one rebuild per process, however many searches
    status, body = _health(app)
    assert status == 200
    assert body == {"status": "degraded", "database": "ok", "storage": "ok",
                    "search": "rebuilding"}


def test_index_folder_deleted_while_the_app_runs(app, staff, as_role, filed, gate):
    clerk = as_role(Role.CLERK)
    html = _search(clerk, "hitelkartya")
    assert NOTICE not in html and _shown(html, filed) == {"title", "text"}
    shutil.rmtree(app.config["SEARCH_INDEX_DIR"])
    _assert_searches_without_index(app, clerk, filed)
    gate.set()
    _assert_whole_index_back(app, clerk, filed)


def test_garbled_toc_while_the_app_runs(app, staff, as_role, filed, gate):
    clerk = as_role(Role.CLERK)
    assert _shown(_search(clerk, "hitelkartya"), filed) == {"title", "text"}
    [toc] = Path(app.config["SEARCH_INDEX_DIR"]).glob("_MAIN_*.toc")
    toc.write_bytes(b"\x00garbled\xff" * 7)
    _assert_searches_without_index(app, clerk, filed)
    gate.set()
    _assert_whole_index_back(app, clerk, filed)


def test_notice_in_the_users_language(app, db, staff, filed, gate):
    make_user(db, "ugyintezo", Role.CLERK, language="hu")
    browser = app.test_client()
    assert login(browser, "ugyintezo").status_code == 302
    shutil.rmtree(app.config["SEARCH_INDEX_DIR"])
    html = _search(browser, "hitelkartya")
    assert NOTICE in html and "A keresési index újraépítése folyik" in html


@pytest.fixture
def restart(app, gate):
    """Return a function that starts a new app (a new process) on the same folders."""
    started: list[Flask] = []

    def make() -> Flask:
        app.extensions["search"].close()
        again = create_app({key: app.config[key] for key in (
            "TESTING", "DATABASE_URL", "INSTANCE_PATH", "STORAGE_DIR")})
        started.append(again)
        return again

    yield make
    gate.set()
    for again in started:
        again.extensions["search"].wait_for_rebuild(timeout=600)
        again.extensions["search"].close()
        again.extensions["db_engine"].dispose()


def _clerk(app: Flask) -> FlaskClient:
    browser = app.test_client()
    assert login(browser, "clerk").status_code == 302
    return browser


def test_new_app_over_a_truncated_segment_file(app, staff, filed, gate, restart):
    index = Path(app.config["SEARCH_INDEX_DIR"])
    app.extensions["search"].close()  # no process has the files open any more
    segments = sorted(index.glob("*.seg"))
    assert segments
    with open(segments[0], "r+b") as fh:
        fh.truncate(segments[0].stat().st_size // 2)
    again = restart()
    assert again.extensions["search"].get().state() is IndexState.DAMAGED
    clerk = _clerk(again)
    _assert_searches_without_index(again, clerk, filed)
    gate.set()
    _assert_whole_index_back(again, clerk, filed)


def test_new_app_over_a_missing_index_folder(app, staff, filed, gate, restart):
    app.extensions["search"].close()
    shutil.rmtree(app.config["SEARCH_INDEX_DIR"])
    again = restart()
    # Created empty, and the documents in the database are not queued for it: not adopted.
    assert again.extensions["search"].get().state() is IndexState.NEW
    clerk = _clerk(again)
    _assert_searches_without_index(again, clerk, filed)
    gate.set()
    _assert_whole_index_back(again, clerk, filed)


def test_healthz_starts_the_rebuild_before_anyone_searches(app, staff, filed, gate):
    shutil.rmtree(app.config["SEARCH_INDEX_DIR"])
    assert _health(app)[1]["search"] == "rebuilding" and app.extensions["search"].rebuilding
    gate.set()
    assert app.extensions["search"].wait_for_rebuild(timeout=600)
    assert _health(app)[1]["search"] == "ok"
    assert app.extensions["search"].get().doc_ids() == set(filed.values())


def test_a_new_installation_fills_its_new_index_from_the_queue(app, db, staff, as_role, gate):
    owner = make_client(db, "Új Ügyfél")
    doc_id = _file(app, owner.id, "a.txt", "A hitelkártyákat letiltottuk.")
    # The index is created (empty, NEW) after the document was filed and queued.
    html = _search(as_role(Role.CLERK), "hitelkartya")
    assert NOTICE not in html and f'data-doc="{doc_id}"' in html
    assert app.extensions["search"].rebuild_thread is None
    assert _health(app)[1]["search"] == "ok"


def test_a_failed_rebuild_is_reported_as_error(app, staff, as_role, filed, monkeypatch):
    def broken(*_args, **_kwargs):
        raise RuntimeError("database went away")

    monkeypatch.setattr(jobs, "rebuild_index", broken)
    monkeypatch.setattr(portal.search, "REBUILD_RETRY_SECONDS", 10**9)
    shutil.rmtree(app.config["SEARCH_INDEX_DIR"])
    clerk = as_role(Role.CLERK)
    _search(clerk, "hitelkartya")  # starts the rebuild, which fails
    assert app.extensions["search"].wait_for_rebuild(timeout=600)
    html = _search(clerk, "hitelkartya")
    assert NOTICE in html and "cannot be used right now" in html
    assert _shown(html, filed) == {"title"}
    assert _health(app) == (200, {"status": "degraded", "database": "ok", "storage": "ok",
                                  "search": "error"})
    assert not app.extensions["search"].rebuilding  # not retried at once


def test_healthz_reports_a_full_disk(app):
    app.config["MIN_FREE_MB"] = 1 << 40  # more than any disk has
    status, body = _health(app)
    assert status == 503 and body["storage"] == "full" and body["status"] == "error"
    app.config["MIN_FREE_MB"] = 0
    assert _health(app) == (200, {"status": "ok", "database": "ok", "storage": "ok",
                                  "search": "ok"})
