"""The search service reads what a page shows: a bounded start of each hit's text for its
highlights, and no text at all for lists."""

from __future__ import annotations

import io
import re
import shutil
from contextlib import contextmanager

from sqlalchemy import event, inspect

from portal.db import transaction
from portal.jobs import apply_index_queue
from portal.models.documents import DocType
from portal.services import search as search_service
from portal.services.base import SYSTEM
from portal.services.documents import FileMeta, add_version, file_document
from tests.conftest import make_client

#: A column reference to the full text (``text_status`` and the like do not match).
_TEXT = re.compile(r"document_versions(?:_\d+)?\.text\b")


def _file(app, client_id: int, name: str, text: str) -> int:
    with transaction(app.extensions["db_sessionmaker"]) as db:
        return file_document(db, SYSTEM, app.extensions["storage"], client_id,
                             io.BytesIO(text.encode()), name, FileMeta(DocType.CONTRACT),
                             max_bytes=10**7).id


@contextmanager
def _statements(app):
    """Record the SQL statements (with their parameters) run on the app's engine."""
    seen: list[tuple[str, object]] = []

    def record(_conn, _cursor, statement, parameters, _context, _executemany):
        seen.append((statement, parameters))

    engine = app.extensions["db_engine"]
    event.listen(engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", record)


def _text_reads(seen) -> list[tuple[str, object]]:
    return [(sql, params) for sql, params in seen if _TEXT.search(sql)]


def _search(app, q: str):
    with app.extensions["db_sessionmaker"]() as session, _statements(app) as seen:
        results = search_service.search_documents(session, SYSTEM, app.extensions["search"].get(),
                                                  search_service.DocSearch(q=q))
        unloaded = [("text" in inspect(version).unloaded)
                    for found in results.items for version in found.document.versions]
    return results, seen, unloaded


def test_highlights_read_only_the_start_of_a_long_text(app, db, monkeypatch):
    monkeypatch.setattr(search_service, "HIGHLIGHT_CHARS", 2_000)
    client = make_client(db, "Hosszú Hanna")
    text = "A hitelkártyákat letiltottuk. " + "Semmi különös nem történt. " * 3_000 + "zebra"
    assert len(text) > 30 * search_service.HIGHLIGHT_CHARS
    doc_id = _file(app, client.id, "hosszu.txt", text)
    apply_index_queue(app.extensions["db_sessionmaker"], app.extensions["search"].get())
    results, seen, unloaded = _search(app, "hitelkartya OR zebra")
    assert [found.document.id for found in results.items] == [doc_id]
    passages = results.items[0].passages
    assert any("<mark>hitelkártyákat</mark>" in p for p in passages)
    assert not any("zebra" in p for p in passages)  # beyond the characters read
    reads = _text_reads(seen)
    assert len(reads) == 1 and all(unloaded)
    sql, params = reads[0]
    assert re.search(r"substr\(document_versions\.text, ", sql)
    values = params.values() if isinstance(params, dict) else params
    assert 2_000 in values


def test_lists_and_results_load_no_full_text(app, db):
    client = make_client(db, "Lista Lili")
    first = _file(app, client.id, "elso.txt", "A hitelkártyákat letiltottuk. " * 200)
    _file(app, client.id, "masodik.txt", "Bankszámlakivonat, hitelkártya. " * 200)
    with transaction(app.extensions["db_sessionmaker"]) as session:
        add_version(session, SYSTEM, app.extensions["storage"], first,
                    io.BytesIO(("Javított hitelkártya-szerződés. " * 200).encode()), "v2.txt",
                    max_bytes=10**7)
    apply_index_queue(app.extensions["db_sessionmaker"], app.extensions["search"].get())
    # The list (no words), the results of a search, and the results without the index.
    listed, seen, unloaded = _search(app, "")
    assert len(listed.items) == 2 and len(unloaded) == 3 and all(unloaded)
    assert _text_reads(seen) == []
    found, seen, unloaded = _search(app, "hitelkartya")
    assert found.total == 2 and len(unloaded) == 3 and all(unloaded)
    assert all("substr(" in sql for sql, _ in _text_reads(seen))
    shutil.rmtree(app.config["SEARCH_INDEX_DIR"])
    without, seen, unloaded = _search(app, "elso")  # a file name; no rebuild asked for here
    assert without.index == "error" and [f.document.id for f in without.items] == [first]
    assert all(unloaded) and all("substr(" in sql for sql, _ in _text_reads(seen))
