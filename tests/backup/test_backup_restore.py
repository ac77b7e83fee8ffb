"""Backup and restore of a whole portal: SQLite, PostgreSQL and SQLite -> PostgreSQL; uploads
and the trash emptied while a backup runs; migrations older and newer than the code."""

from __future__ import annotations

import io
import json
import secrets
import threading
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import create_engine, func, select, text
from sqlalchemy.engine import make_url

from portal import create_app, migrate
from portal.backup import database
from portal.backup.run import take_backup
from portal.backup.store import BackupFolder
from portal.db import make_engine, transaction
from portal.domain.ledger import EntryKind
from portal.domain.money import Money
from portal.jobs import apply_index_queue
from portal.models import Document, DocumentVersion, User
from portal.models.documents import DocType
from portal.services import documents as documents_service
from portal.services import ledger
from portal.services import search as search_service
from portal.services.base import SYSTEM
from portal.services.documents import FileMeta
from tests.conftest import PG_SCHEMA, PG_URL, make_client

WORDS = ("hitelkártya", "törlesztés", "statement", "kezes")


def _file(app, client_id: int, body: str, name: str = "note.txt") -> int:
    with transaction(app.extensions["db_sessionmaker"]) as db:
        document = documents_service.file_document(
            db, SYSTEM, app.extensions["storage"], client_id, io.BytesIO(body.encode()), name,
            FileMeta(DocType.OTHER, title=name), max_bytes=10**6)
        return document.id


def _scene(app, db, staff) -> dict[str, int]:
    """Clients, documents (one with two versions, one in the trash), users and a ledger."""
    first = make_client(db, "Kovács Eszter")
    second = make_client(db, "Bennett Oliver")
    ids = {
        "card": _file(app, first.id, "Hitelkártya szerződés, törlesztés havonta.", "kartya.txt"),
        "statement": _file(app, second.id, "Bank statement for November.", "stmt.txt"),
        "guarantor": _file(app, first.id, "A kezes nyilatkozata.", "kezes.txt"),
        "trashed": _file(app, second.id, "Kidobott hitelkártya levél.", "kuka.txt"),
    }
    with transaction(app.extensions["db_sessionmaker"]) as session:
        documents_service.add_version(
            session, SYSTEM, app.extensions["storage"], ids["card"],
            io.BytesIO("Hitelkártya szerződés, javított törlesztés.".encode()), "kartya2.txt",
            max_bytes=10**6)
        documents_service.trash(session, SYSTEM, ids["trashed"])
        day = date(2026, 11, 2)
        account = ledger.open_account(session, SYSTEM, first.id, currency="HUF",
                                      limit_minor=10**6, opened_on=day)
        ledger.record_entry(session, SYSTEM, account.id, ledger.EntryData(
            EntryKind.CHARGE, Money(100_000, "HUF"), day, due_on=day), as_of=day)
        ledger.record_entry(session, SYSTEM, account.id, ledger.EntryData(
            EntryKind.PAYMENT, Money(40_000, "HUF"), day), as_of=day)
    apply_index_queue(app.extensions["db_sessionmaker"], app.extensions["search"].get(),
                      wait=True)
    return ids


_APPS: list = []


def _fresh_app(tmp_path: Path, url: str, label: str):
    """Return an app on an empty instance (its engine is closed at the end of the test)."""
    app = create_app({"TESTING": True, "DATABASE_URL": url,
                      "INSTANCE_PATH": str(tmp_path / label / "instance"),
                      "STORAGE_DIR": str(tmp_path / label / "storage")})
    _APPS.append(app)
    return app


@pytest.fixture(autouse=True)
def _close_fresh_apps():
    yield
    while _APPS:
        _APPS.pop().extensions["db_engine"].dispose()


@pytest.fixture
def pg_database():
    """Return a function making an empty PostgreSQL database of this test's own; dropped at
    the end."""
    if not PG_URL:
        pytest.skip("PORTAL_TEST_DATABASE_URL is not set")
    admin = create_engine(PG_URL, isolation_level="AUTOCOMMIT")
    made: list[str] = []

    def make(schema: str | None = None) -> str:
        name = f"h_backup_{secrets.token_hex(4)}"
        with admin.connect() as conn:
            conn.execute(text(f"CREATE DATABASE {name}"))
        url = make_url(PG_URL).set(database=name)
        if schema:
            url = url.update_query_dict({"options": f"-csearch_path={schema}"})
        made.append(name)
        return url.render_as_string(hide_password=False)

    yield make
    while _APPS:
        _APPS.pop().extensions["db_engine"].dispose()
    with admin.connect() as conn:
        for name in made:
            conn.execute(text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
    admin.dispose()


def _contents(app) -> dict:
    """What must survive a round trip: row counts, files and their digests, search hits."""
    engine = app.extensions["db_engine"]
    with engine.connect() as conn:
        _revision, _digests, counts, sums = database.read_contents(conn)
    storage = app.extensions["storage"]
    files = {sha: storage.hash_of(sha) for sha in storage.stored()}
    backend = app.extensions["search"].get()
    hits = {}
    with app.extensions["db_sessionmaker"]() as db:
        for word in WORDS:
            found = search_service.search_documents(db, SYSTEM, backend,
                                                    search_service.DocSearch(q=word))
            hits[word] = sorted(f.document.id for f in found.items)
        users = sorted(db.scalars(select(User.username)))
    return {"counts": counts, "sums": sums, "files": files, "hits": hits, "users": users}


def _round_trip(app, target, tmp_path):
    before = _contents(app)
    assert all(before["files"][sha] == sha for sha in before["files"])
    bk = tmp_path / "backups"
    result = app.test_cli_runner().invoke(args=["backup", str(bk)])
    assert result.exit_code == 0, result.output
    assert "complete" in result.output
    restored = target.test_cli_runner().invoke(args=["restore", str(bk)])
    assert restored.exit_code == 0, restored.output
    assert "row counts match the manifest" in restored.output
    assert "portal check:" in restored.output and "no differences" in restored.output
    after = _contents(target)
    assert after == before
    assert before["hits"]["hitelkártya"] and before["hits"]["statement"]
    return bk


def test_round_trip_restores_rows_files_search_and_check(app, db, staff, tmp_path, backend,
                                                         pg_database_or_none):
    ids = _scene(app, db, staff)
    if backend == "sqlite":
        target = _fresh_app(tmp_path, f"sqlite:///{tmp_path / 'restored.sqlite3'}", "restored")
    else:
        target = _fresh_app(tmp_path, pg_database_or_none(PG_SCHEMA), "restored")
    bk = _round_trip(app, target, tmp_path)
    with target.extensions["db_sessionmaker"]() as restored:
        card = restored.get(Document, ids["card"])
        assert [v.number for v in card.versions] == [2, 1]
        assert restored.get(Document, ids["trashed"]).deleted_at is not None
    # The trashed document is kept but not found; the restored portal takes new work.
    assert ids["trashed"] not in _contents(target)["hits"]["hitelkártya"]
    client_id = make_client_in(target)
    new_id = _file(target, client_id, "Új dokumentum a visszaállítás után.")
    assert new_id > max(ids.values())
    # A second restore refuses the instance that now holds data, unless forced.
    again = target.test_cli_runner().invoke(args=["restore", str(bk)])
    assert again.exit_code == 1 and "already holds data" in again.output
    forced = target.test_cli_runner().invoke(args=["restore", str(bk), "--force"])
    assert forced.exit_code == 0, forced.output
    with target.extensions["db_sessionmaker"]() as restored:
        assert restored.get(Document, new_id) is None  # never mixed with the other data
    assert target.test_cli_runner().invoke(args=["check"]).exit_code == 0


@pytest.fixture
def pg_database_or_none(backend, request):
    if backend != "postgresql":
        return None
    return request.getfixturevalue("pg_database")


def make_client_in(app) -> int:
    with app.extensions["db_sessionmaker"]() as db:
        return make_client(db, "Új Ügyfél").id


@pytest.mark.parametrize("backend", ["sqlite"])
def test_sqlite_snapshot_restores_into_postgresql(app, db, staff, tmp_path, pg_database):
    _scene(app, db, staff)
    target = _fresh_app(tmp_path, pg_database(), "on-postgresql")
    _round_trip(app, target, tmp_path)
    # Sequences continue after the copied ids; the ledger's triggers are back on.
    client_id = make_client_in(target)
    assert client_id > 2
    with target.extensions["db_engine"].begin() as conn, pytest.raises(Exception,
                                                                       match="append-only"):
        conn.execute(text("UPDATE ledger_entries SET amount_minor = 1"))


def test_backup_taken_while_20_uploads_run_restores_every_document_it_lists(
        app, db, staff, tmp_path, backend, pg_database_or_none):
    client = make_client(db, "Feltöltő Ferenc")
    _file(app, client.id, "Az első dokumentum.")
    started_after_snapshot = threading.Event()
    filed: dict[int, int] = {}
    errors: list[str] = []

    def upload(n: int) -> None:
        if n >= 10:
            started_after_snapshot.wait()
        try:
            filed[n] = _file(app, client.id, f"Feltöltés száma {n}, {secrets.token_hex(8)}",
                             f"upload{n}.txt")
        except Exception as exc:  # noqa: BLE001 - reported by the assertion below
            errors.append(repr(exc))

    threads = [threading.Thread(target=upload, args=(n,)) for n in range(20)]
    for thread in threads:
        thread.start()
    bk = tmp_path / "bk"
    try:
        result = take_backup(app.extensions["db_engine"], app.extensions["storage"], bk,
                             before_files=started_after_snapshot.set)
    finally:
        started_after_snapshot.set()
        for thread in threads:
            thread.join()
    assert errors == [] and len(filed) == 20
    assert result.complete
    manifest = BackupFolder(bk).manifest(result.name)

    if backend == "sqlite":
        target = _fresh_app(tmp_path, f"sqlite:///{tmp_path / 'r.sqlite3'}", "r")
    else:
        target = _fresh_app(tmp_path, pg_database_or_none(PG_SCHEMA), "r")
    restored = target.test_cli_runner().invoke(args=["restore", str(bk)])
    assert restored.exit_code == 0, restored.output
    assert "no differences" in restored.output  # every listed document has its file
    with target.extensions["db_sessionmaker"]() as session:
        listed = set(session.scalars(select(Document.id)))
        digests = set(session.scalars(select(DocumentVersion.sha256)))
    assert digests == set(manifest["files"])
    assert listed == {1} | {filed[n] for n in range(20) if filed[n] in listed}
    # The ten uploads started after the database copy are in neither the rows nor the files.
    late = {filed[n] for n in range(10, 20)}
    assert not late & listed
    assert manifest["row_counts"]["documents"] == len(listed)
    storage = target.extensions["storage"]
    assert set(storage.stored()) == digests


def test_trash_emptied_during_a_backup_takes_the_database_again(app, db, staff, tmp_path):
    client = make_client(db, "Kukás Károly")
    kept = _file(app, client.id, "Ez marad.")
    gone = _file(app, client.id, "Ez a kukába kerül.")
    with transaction(app.extensions["db_sessionmaker"]) as session:
        documents_service.trash(session, SYSTEM, gone)
    with app.extensions["db_sessionmaker"]() as session:
        gone_sha = session.get(Document, gone).current.sha256

    def empty_trash() -> None:
        with transaction(app.extensions["db_sessionmaker"]) as session:
            documents_service.empty_trash(session, SYSTEM, app.extensions["storage"])

    result = take_backup(app.extensions["db_engine"], app.extensions["storage"],
                         tmp_path / "bk", before_files=empty_trash)
    assert result.complete
    manifest = BackupFolder(tmp_path / "bk").manifest(result.name)
    assert gone_sha not in manifest["files"] and manifest["row_counts"]["documents"] == 1
    assert kept


def test_a_damaged_stored_file_makes_the_backup_incomplete(app, db, staff, tmp_path):
    client = make_client(db, "Sérült Sára")
    _file(app, client.id, "Ép fájl.")
    broken = _file(app, client.id, "Ez megsérül.")
    with app.extensions["db_sessionmaker"]() as session:
        sha = session.get(Document, broken).current.sha256
    path = app.extensions["storage"].path_for(sha)
    path.chmod(0o600)
    path.write_bytes(b"bit rot")
    result = app.test_cli_runner().invoke(args=["backup", str(tmp_path / "bk")])
    assert result.exit_code == 1
    assert f"not backed up: stored file {sha}" in result.output and "INCOMPLETE" in result.output
    folder = BackupFolder(tmp_path / "bk")
    manifest = folder.manifest(folder.newest())
    assert manifest["complete"] is False and manifest["missing"] == [sha]
    verify = app.test_cli_runner().invoke(args=["backup", "--verify", str(tmp_path / "bk")])
    assert verify.exit_code == 1 and sha in verify.output


@pytest.mark.parametrize("backend", ["sqlite"])
def test_cli_verify_names_a_flipped_byte_and_a_missing_file(app, db, staff, tmp_path):
    client = make_client(db, "Ellenőrző Elek")
    first = _file(app, client.id, "Első fájl tartalma.")
    second = _file(app, client.id, "Második fájl tartalma.")
    runner = app.test_cli_runner()
    assert runner.invoke(args=["backup", str(tmp_path / "bk")]).exit_code == 0
    ok = runner.invoke(args=["backup", "--verify", str(tmp_path / "bk")])
    assert ok.exit_code == 0 and "everything matches the manifest" in ok.output
    folder = BackupFolder(tmp_path / "bk")
    with app.extensions["db_sessionmaker"]() as session:
        flipped = folder.file_path(session.get(Document, first).current.sha256)
        missing = folder.file_path(session.get(Document, second).current.sha256)
    data = bytearray(flipped.read_bytes())
    data[0] ^= 0x80
    flipped.write_bytes(bytes(data))
    missing.unlink()
    bad = runner.invoke(args=["backup", "--verify", str(tmp_path / "bk"), folder.newest()])
    assert bad.exit_code == 1
    assert f"changed file: {flipped}" in bad.output
    assert f"missing file: {missing}" in bad.output
    # A restore from it refuses before touching the target.
    target = _fresh_app(tmp_path, f"sqlite:///{tmp_path / 'r.sqlite3'}", "r")
    refused = target.test_cli_runner().invoke(args=["restore", str(tmp_path / "bk")])
    assert refused.exit_code == 1 and "missing" in refused.output
    assert not database.has_data(target.extensions["db_engine"])


@pytest.mark.parametrize("backend", ["sqlite"])
def test_keep_prunes_after_a_backup(app, db, staff, tmp_path):
    client = make_client(db, "Sokszor Mentett")
    runner = app.test_cli_runner()
    bk = str(tmp_path / "bk")
    for n in range(3):
        _file(app, client.id, f"Dokumentum {n}.")
        assert runner.invoke(args=["backup", bk]).exit_code == 0
    folder = BackupFolder(Path(bk))
    oldest = folder.manifest(folder.names()[0])
    result = runner.invoke(args=["backup", bk, "--keep", "2"])
    assert result.exit_code == 0 and "pruned 2 snapshots" in result.output
    assert len(folder.names()) == 2
    # Every file is still needed by the newest snapshots (all documents are live).
    assert set(oldest["files"]) <= set(folder.stored())
    only = runner.invoke(args=["backup", bk, "--keep", "1", "--prune-only"])
    assert only.exit_code == 0 and len(folder.names()) == 1


@pytest.mark.parametrize("backend", ["sqlite"])
def test_restore_refuses_a_snapshot_from_a_newer_migration(app, db, staff, tmp_path):
    make_client(db, "Jövőbeli János")
    runner = app.test_cli_runner()
    assert runner.invoke(args=["backup", str(tmp_path / "bk")]).exit_code == 0
    folder = BackupFolder(tmp_path / "bk")
    path = folder.snapshots / folder.newest() / "manifest.json"
    manifest = json.loads(path.read_text())
    manifest["migration_revision"] = "9999"
    path.write_text(json.dumps(manifest))
    target = _fresh_app(tmp_path, f"sqlite:///{tmp_path / 'r.sqlite3'}", "r")
    refused = target.test_cli_runner().invoke(args=["restore", str(tmp_path / "bk")])
    assert refused.exit_code == 1
    assert "at migration 9999, newer than this portal knows" in refused.output
    assert not database.has_data(target.extensions["db_engine"])


def test_restore_upgrades_a_snapshot_from_an_older_migration(tmp_path, backend,
                                                             pg_database_or_none):
    old = tmp_path / "old.sqlite3"
    engine = make_engine(f"sqlite:///{old}")
    migrate.upgrade(engine, "0005")
    with engine.begin() as conn:
        conn.execute(text("INSERT INTO users (username, full_name, role, password_hash, active, "
                          "created_at) "
                          "VALUES ('regi', 'Régi Rita', 'clerk', 'x', 1, '2026-01-05 10:00:00')"))
    engine.dispose()
    source = _fresh_app(tmp_path, f"sqlite:///{old}", "old")
    result = take_backup(source.extensions["db_engine"], source.extensions["storage"],
                         tmp_path / "bk")
    assert BackupFolder(tmp_path / "bk").manifest(result.name)["migration_revision"] == "0005"
    if backend == "sqlite":
        target = _fresh_app(tmp_path, f"sqlite:///{tmp_path / 'new.sqlite3'}", "new")
    else:  # SQLite at 0005 -> PostgreSQL: migrated to 0005, copied, then upgraded
        target = _fresh_app(tmp_path, pg_database_or_none(), "new")
    restored = target.test_cli_runner().invoke(args=["restore", str(tmp_path / "bk")])
    assert restored.exit_code == 0, restored.output
    head = migrate.head_revision()
    assert f"at revision 0005, upgraded to {head}" in restored.output
    assert migrate.current_revision(target.extensions["db_engine"]) == head
    with target.extensions["db_sessionmaker"]() as session:
        assert session.scalar(select(func.count(User.id))) == 1


def test_restore_needs_a_snapshot(tmp_path):
    target = _fresh_app(tmp_path, f"sqlite:///{tmp_path / 'r.sqlite3'}", "r")
    empty = target.test_cli_runner().invoke(args=["restore", str(tmp_path / "nothing")])
    assert empty.exit_code == 1 and "no snapshot" in empty.output


def test_a_postgresql_snapshot_goes_into_the_schema_it_came_from_only(
        app, db, staff, tmp_path, backend, pg_database_or_none):
    if backend != "postgresql":
        pytest.skip("a PostgreSQL snapshot")
    make_client(db, "Séma Sándor")
    assert app.test_cli_runner().invoke(args=["backup", str(tmp_path / "bk")]).exit_code == 0
    other = _fresh_app(tmp_path, pg_database_or_none("elsewhere"), "elsewhere")
    refused = other.test_cli_runner().invoke(args=["restore", str(tmp_path / "bk")])
    assert refused.exit_code == 1 and f"in schema '{PG_SCHEMA}'" in refused.output
    assert not database.has_data(other.extensions["db_engine"])
    on_sqlite = _fresh_app(tmp_path, f"sqlite:///{tmp_path / 'r.sqlite3'}", "r")
    refused = on_sqlite.test_cli_runner().invoke(args=["restore", str(tmp_path / "bk")])
    assert refused.exit_code == 1
    assert "a postgresql snapshot cannot be restored into sqlite" in refused.output


@pytest.mark.parametrize("backend", ["sqlite"])
def test_the_configured_backup_folder_is_used_when_none_is_given(app, db, staff, tmp_path):
    make_client(db, "Beállított Béla")
    runner = app.test_cli_runner()
    assert runner.invoke(args=["backup"]).exit_code == 2  # no folder given, none configured
    app.config["BACKUP_DIR"] = str(tmp_path / "configured")
    assert runner.invoke(args=["backup"]).exit_code == 0
    assert runner.invoke(args=["backup"]).exit_code == 0
    first = BackupFolder(tmp_path / "configured").names()[0]
    verified = runner.invoke(args=["backup", "--verify", first])
    assert verified.exit_code == 0 and f"snapshot {first}:" in verified.output
    target = _fresh_app(tmp_path, f"sqlite:///{tmp_path / 'r.sqlite3'}", "r")
    target.config["BACKUP_DIR"] = str(tmp_path / "configured")
    restored = target.test_cli_runner().invoke(args=["restore", first])
    assert restored.exit_code == 0 and f"restored snapshot {first}" in restored.output
