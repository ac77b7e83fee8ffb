"""Filing at the service and command level: import, reindex, check, faults, concurrency."""

from __future__ import annotations

import multiprocessing
import os
import shutil
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import sessionmaker

from portal import create_app
from portal.db import make_engine, transaction
from portal.jobs import apply_index_queue
from portal.models import Document, DocumentVersion, IndexTask
from portal.models.documents import DocType
from portal.search.whoosh_backend import WhooshBackend
from portal.services import search as search_service
from portal.services.base import SYSTEM
from portal.services.check import check
from portal.services.documents import FileMeta, file_document
from portal.storage import Storage
from tests.conftest import make_client
from tests.pdfs import make_pdf, make_png


@pytest.fixture
def folder(tmp_path) -> Path:
    root = tmp_path / "scans"
    (root / "2026" / "november").mkdir(parents=True)
    make_pdf(root / "szerzodes.pdf", ["Kölcsönszerződés, hitelkártya, törlesztés."])
    make_pdf(root / "2026" / "kivonat.pdf", ["Bank statement for November."])
    (root / "2026" / "november" / "jegyzet.txt").write_text("Telefonos egyeztetés", "utf-8")
    make_png(root / "2026" / "november" / "arc.png")
    (root / "2026" / "november" / "virus.exe").write_bytes(b"MZ\x90\x00" + b"\x00" * 200)
    (root / "ures.txt").write_bytes(b"")
    return root


def test_import_files_a_folder_once(app, db, folder):
    client = make_client(db, "Import Imre")
    runner = app.test_cli_runner()
    first = runner.invoke(args=["documents", "import", str(folder), "--client", client.number,
                                "--type", "bank_statement"])
    assert first.exit_code == 0, first.output
    assert "filed 4, duplicates 0, refused 2, index queue empty: True" in first.output
    assert "virus.exe: type" in first.output and "ures.txt: empty" in first.output
    second = runner.invoke(args=["documents", "import", str(folder), "--client", client.number])
    assert second.exit_code == 0 and "filed 0, duplicates 4, refused 2" in second.output
    assert db.scalar(select(func.count(Document.id))) == 4
    backend = app.extensions["search"].get()
    assert backend.count() == 4
    missing = runner.invoke(args=["documents", "import", str(folder), "--client", "C999999"])
    assert missing.exit_code != 0 and "no client" in missing.output


def test_check_reports_every_kind_of_difference_and_reindex_repairs_the_index(app, db, folder):
    client = make_client(db, "Ellenőr Elek")
    runner = app.test_cli_runner()
    runner.invoke(args=["documents", "import", str(folder), "--client", client.number])
    assert runner.invoke(args=["check"]).exit_code == 0
    storage: Storage = app.extensions["storage"]
    versions = db.scalars(select(DocumentVersion).order_by(DocumentVersion.id)).all()
    storage.path_for(versions[0].sha256).unlink()  # a file removed from disk
    damaged = storage.path_for(versions[1].sha256)
    damaged.chmod(0o600)
    damaged.write_bytes(b"tampered")  # a file changed on disk
    with open(folder / "2026" / "november" / "virus.exe", "rb") as stream:
        orphan = storage.stage(stream, 10**6)
    storage.place(orphan)  # a file no version refers to
    backend = app.extensions["search"].get()
    backend.close()
    shutil.rmtree(app.config["SEARCH_INDEX_DIR"])  # the index folder deleted
    app.extensions["search"].close()
    result = runner.invoke(args=["check"])
    assert result.exit_code == 1
    assert f"missing file: document {versions[0].document_id}" in result.output
    assert f"checksum mismatch: document {versions[1].document_id}" in result.output
    assert f"orphan file (no version refers to it): {orphan.sha256}" in result.output
    assert "search index is new: it cannot be compared" in result.output
    assert "`portal search reindex` rebuilds the index" in result.output
    # The portal keeps serving while the index is gone ...
    assert app.test_client().get("/healthz").status_code == 200
    reindex = runner.invoke(args=["search", "reindex"])
    assert reindex.exit_code == 0 and "indexed 4 documents" in reindex.output
    after = runner.invoke(args=["check", "--quick"])
    assert "missing from the index" not in after.output


def test_reindex_from_scratch_gives_the_same_results(app, db, folder):
    client = make_client(db, "Újra Ubul")
    app.test_cli_runner().invoke(args=["documents", "import", str(folder), "--client",
                                       client.number])
    backend = app.extensions["search"].get()
    queries = ["hitelkartya", "statements", "egyeztetes", "torlesztes OR november", "bank*"]

    def ids(q):
        params = search_service.DocSearch(q=q)
        return [f.document.id for f in search_service.search_documents(db, SYSTEM, backend,
                                                                         params).items]

    before = {q: ids(q) for q in queries}
    assert all(before.values())
    search_service.reindex(db, backend)
    assert {q: ids(q) for q in queries} == before


_KILLED_UPLOAD = textwrap.dedent("""
    import sys, time
    from sqlalchemy.orm import Session
    from portal.db import make_engine
    from portal.models.documents import DocType
    from portal.filing.extract import Extraction
    from portal.services.base import SYSTEM
    from portal.services.documents import FileMeta, file_document
    from portal.storage import Storage

    def slow(path, mime):
        print("staged", flush=True)
        time.sleep(60)
        return Extraction("text", "x", 1, None)

    url, storage, client_id, path = sys.argv[1:5]
    with Session(make_engine(url)) as db, open(path, "rb") as fh:
        file_document(db, SYSTEM, Storage(storage), int(client_id), fh, "x.pdf",
                      FileMeta(DocType.OTHER), max_bytes=10**8, extractor=slow)
""")


def test_a_process_killed_mid_upload_leaves_no_row_and_check_reports_the_leftover(
        app, db, tmp_path):
    client = make_client(db, "Megszakított Márta")
    pdf = make_pdf(tmp_path / "k.pdf", ["félbeszakadt feltöltés"])
    proc = subprocess.Popen(
        [sys.executable, "-c", _KILLED_UPLOAD, app.config["SQLALCHEMY_DATABASE_URI"],
         app.config["STORAGE_DIR"], str(client.id), str(pdf)],
        stdout=subprocess.PIPE, text=True)
    assert proc.stdout.readline().strip() == "staged"
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=10)
    proc.stdout.close()
    assert db.scalar(select(func.count(Document.id))) == 0
    storage: Storage = app.extensions["storage"]
    leftovers = sorted(p.name for p in storage.tmp.iterdir())
    assert len(leftovers) == 1 and list(storage.stored()) == []
    # The process that wrote it has ended: a leftover at once, whatever its age.
    report = check(db, storage, app.extensions["search"].get())
    assert report.leftovers == leftovers and not report.clean
    result = app.test_cli_runner().invoke(args=["check"])
    assert result.exit_code == 1 and "--repair" in result.output
    repaired = app.test_cli_runner().invoke(args=["check", "--repair"])
    assert f"removed: {leftovers[0]}" in repaired.output and repaired.exit_code == 0
    assert list(storage.tmp.iterdir()) == []


def test_leftovers_of_a_running_upload_are_kept_and_dead_ones_removed_at_start(app, tmp_path):
    storage: Storage = app.extensions["storage"]
    with open(make_pdf(tmp_path / "a.pdf", ["fut"]), "rb") as fh:
        running = storage.stage(fh, 10**6)  # this process is alive: not a leftover
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True).stdout.strip()
    host = running.path.name.split("-")[1]
    orphan = storage.tmp / f"upload-{host}-{dead}-0123abcd"
    orphan.write_bytes(b"half an upload")
    extraction = storage.tmp / f"upload-{host}-{dead}-0123abcd.x1_y2.out"
    extraction.write_text("extracted client text")
    old = storage.tmp / "upload-otherhost-1-beef"  # another host's, a day old
    old.write_bytes(b"x")
    day_ago = time.time() - 25 * 3600
    os.utime(old, (day_ago, day_ago))
    assert storage.leftovers() == sorted([orphan, extraction, old])
    create_app({"TESTING": True, "DATABASE_URL": app.config["DATABASE_URL"],
                "INSTANCE_PATH": app.instance_path, "STORAGE_DIR": app.config["STORAGE_DIR"]})
    assert sorted(storage.tmp.iterdir()) == [running.path]


def _upload_many(url: str, storage_dir: str, client_id: int, files: list[str]) -> list[str]:
    engine = make_engine(url)
    failures: list[str] = []
    sessions = sessionmaker(engine, expire_on_commit=False)
    for path in files:
        try:
            with transaction(sessions) as db, open(path, "rb") as fh:
                file_document(db, SYSTEM, Storage(Path(storage_dir)), client_id, fh,
                              Path(path).name, FileMeta(DocType.OTHER), max_bytes=10**8)
        except Exception as exc:  # noqa: BLE001 - reported by the assertion below
            failures.append(repr(exc)[:300])
    engine.dispose()
    return failures


def test_twenty_uploads_at_once_from_several_processes(app, db, tmp_path):
    client = make_client(db, "Párhuzamos Pál")
    paths = [str(make_pdf(tmp_path / f"p{i}.pdf", [f"Párhuzamos feltöltés {i} egyedi{i}szó"]))
             for i in range(20)]
    context = multiprocessing.get_context("spawn")
    chunks = [paths[i::4] for i in range(4)]
    with context.Pool(4) as pool:
        failures = pool.starmap(_upload_many, [
            (app.config["SQLALCHEMY_DATABASE_URI"], app.config["STORAGE_DIR"], client.id, chunk)
            for chunk in chunks])
    assert failures == [[], [], [], []]
    backend = app.extensions["search"].get()
    # Several processes apply the queue at once; each task is applied by whoever gets the writer.
    with context.Pool(3) as pool:
        pool.starmap(_apply, [(app.config["SQLALCHEMY_DATABASE_URI"],
                               app.config["SEARCH_INDEX_DIR"])] * 3)
    apply_index_queue(app.extensions["db_sessionmaker"], backend, wait=True)
    assert db.scalar(select(func.count(Document.id))) == 20
    assert db.scalar(select(func.count(IndexTask.id))) == 0
    assert backend.count() == 20
    assert len(list(app.extensions["storage"].stored())) == 20
    report = check(db, app.extensions["storage"], backend)
    assert report.clean, report


def _apply(url: str, index_dir: str) -> int:
    engine = make_engine(url)
    backend = WhooshBackend(Path(index_dir))
    done = apply_index_queue(sessionmaker(engine), backend)
    backend.close()
    engine.dispose()
    return done


def test_check_right_after_an_upload_reports_queued_work_as_queued(app, db, tmp_path):
    client = make_client(db, "Sorban Álló Sára")
    pdf = make_pdf(tmp_path / "q.pdf", ["még nincs az indexben"])
    with transaction(app.extensions["db_sessionmaker"]) as session, open(pdf, "rb") as fh:
        file_document(session, SYSTEM, app.extensions["storage"], client.id, fh, "q.pdf",
                      FileMeta(DocType.OTHER), max_bytes=10**6)
    result = app.test_cli_runner().invoke(args=["check"])
    assert result.exit_code == 0, result.output
    assert "missing from the index" not in result.output
    assert "queued: 1 documents wait in the index queue" in result.output
    assert "no differences" in result.output
