"""The import path: files read in parallel while the index queue is applied as it grows."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import func, select

from portal.models import Document, IndexTask
from portal.models.documents import DocType
from portal.search.backend import SearchQuery
from portal.services import imports
from portal.services.documents import FileMeta
from tests.conftest import make_client
from tests.pdfs import make_pdf


@pytest.mark.parametrize("jobs", [1, 3])
def test_import_indexes_while_filing_and_counts_each_outcome(app, db, tmp_path, jobs,
                                                              monkeypatch):
    client = make_client(db, "Import Ilona")
    updated_at, version = client.updated_at, client.version
    folder = tmp_path / "in"
    (folder / "sub").mkdir(parents=True)
    for i in range(7):
        make_pdf(folder / "sub" / f"level{i}.pdf", [f"Levél {i}: egyedi{i} hitelkártyákat"])
    (folder / "copy.pdf").write_bytes((folder / "sub" / "level0.pdf").read_bytes())
    (folder / "bad.pdf").write_bytes(b"%PDF-1.7 not really")
    (folder / "link.pdf").symlink_to(folder / "sub" / "level1.pdf")
    applied: list[int] = []
    apply = imports.apply_index_queue

    def counting_apply(sessions, backend, **kw) -> int:
        applied.append(apply(sessions, backend, **kw))
        return applied[-1]

    monkeypatch.setattr(imports, "apply_index_queue", counting_apply)
    backend = app.extensions["search"].get()
    files = imports.files_under(folder)
    assert Path(folder / "link.pdf") not in files and len(files) == 9
    summary = imports.import_files(
        app.extensions["db_sessionmaker"], app.extensions["storage"], backend, client.id, files,
        FileMeta(doc_type=DocType.CORRESPONDENCE), max_bytes=10**6, jobs=jobs, index_every=2)
    assert (summary.filed, summary.duplicates) == (7, 1)
    assert [(p.name, reason.split()[0]) for p, reason in summary.refused] == [
        ("bad.pdf", "unreadable")]
    assert summary.indexed and sum(applied) == 7
    if jobs == 1:  # each file takes tens of ms to read: the queue is applied between them
        assert len(applied) >= 3
    assert db.scalar(select(func.count(Document.id))) == 7
    assert db.scalar(select(func.count(IndexTask.id))) == 0
    assert backend.search(SearchQuery("hitelkartya")).total == 7
    assert backend.search(SearchQuery("egyedi6")).total == 1
    db.refresh(client)
    naive = client.updated_at.replace(tzinfo=None)  # SQLite gives it back without a zone
    assert naive == updated_at.replace(tzinfo=None) and client.version == version  # unchanged
