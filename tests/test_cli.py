"""The ``portal`` command group and the migrations."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import func, select

from portal import migrate
from portal.db import Base, make_engine
from portal.models import Client, Document, User
from tests.conftest import login


def test_migrations_match_the_models(app):
    """A model change without a migration fails here (on SQLite and PostgreSQL)."""
    engine = app.extensions["db_engine"]
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn, opts={"compare_type": True}),
                                Base.metadata)
    assert diff == []
    assert migrate.current_revision(engine) is not None


def test_db_upgrade_creates_a_fresh_database(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 'fresh.sqlite3'}")
    assert migrate.current_revision(engine) is None
    migrate.upgrade(engine)
    assert migrate.current_revision(engine) == migrate.head_revision()
    with engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
        assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() == 10000
    engine.dispose()


def test_upgrade_to_0004_registers_every_stored_file_once(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 'old.sqlite3'}")
    migrate.upgrade(engine, "0003")
    with engine.begin() as conn:
        conn.exec_driver_sql(
            "INSERT INTO clients (id, number, kind, name, income_currency, status, restricted,"
            " onboarding_due, search_text, version, created_at, updated_at) VALUES (1, 'C000001',"
            " 'person', 'Régi Rita', 'HUF', 'active', 0, '2026-01-01', 'regi rita', 1,"
            " '2026-01-01', '2026-01-01')")
        for doc_id, sha in ((1, "a" * 64), (2, "a" * 64), (3, "b" * 64)):
            conn.exec_driver_sql(
                "INSERT INTO documents (id, client_id, doc_type, title, tags, created_at) "
                f"VALUES ({doc_id}, 1, 'other', 't', '', '2026-01-01')")
            conn.exec_driver_sql(
                "INSERT INTO document_versions (document_id, number, sha256, size, mime,"
                " original_name, text_status, text, uploaded_at) VALUES"
                f" ({doc_id}, 1, '{sha}', 1, 'text/plain', 'x.txt', 'text', 'x',"
                f" '2026-01-0{doc_id}')")
    migrate.upgrade(engine)
    with engine.connect() as conn:
        rows = conn.exec_driver_sql(
            "SELECT sha256, created_at FROM stored_files ORDER BY sha256").all()
    assert [(sha, str(at)[:10]) for sha, at in rows] == [("a" * 64, "2026-01-01"),
                                                         ("b" * 64, "2026-01-03")]
    engine.dispose()


def test_users_create_reads_the_password_from_stdin(app, db):
    runner = app.test_cli_runner()
    result = runner.invoke(args=["users", "create", "Kata", "--role", "manager",
                                 "--full-name", "Kovács Kata", "--password-stdin"],
                           input="hosszu-jelszo-2026\n")
    assert result.exit_code == 0, result.output
    user = db.scalar(select(User).where(User.username == "kata"))
    assert user.full_name == "Kovács Kata"
    assert login(app.test_client(), "kata", "hosszu-jelszo-2026").status_code == 302
    again = runner.invoke(args=["users", "create", "kata", "--role", "clerk",
                                "--password-stdin"], input="hosszu-jelszo-2026\n")
    assert again.exit_code != 0 and "taken" in again.output
    weak = runner.invoke(args=["users", "create", "bob", "--role", "clerk",
                               "--password-stdin"], input="short\n")
    assert weak.exit_code != 0 and "password refused" in weak.output


def test_seed_demo_is_idempotent_and_refused_in_production(app, db):
    runner = app.test_cli_runner()
    first = runner.invoke(args=["seed-demo", "--clients", "30"])
    assert first.exit_code == 0 and "30 clients" in first.output
    second = runner.invoke(args=["seed-demo", "--clients", "30"])
    assert "already present" in second.output
    assert db.scalar(select(func.count(Client.id))) == 30
    documents = db.scalar(select(func.count(Document.id)))
    assert documents >= 12 and f"{documents} documents" in first.output
    assert app.extensions["search"].get().count() == documents  # searchable at once
    app.config["ENV"] = "production"
    refused = runner.invoke(args=["seed-demo"])
    assert refused.exit_code != 0 and "production" in refused.output


def test_console_script_runs_migrations_from_the_environment(tmp_path):
    """`portal db upgrade` as an operator runs it: a real process, config from PORTAL_*."""
    env = {**os.environ, "PORTAL_INSTANCE_PATH": str(tmp_path / "instance"),
           "PORTAL_STORAGE_DIR": str(tmp_path / "storage")}
    env.pop("PORTAL_DATABASE_URL", None)
    portal = Path(sys.executable).parent / "portal"
    result = subprocess.run([str(portal), "db", "upgrade"], env=env, capture_output=True,
                            text=True, timeout=120, check=False)
    assert result.returncode == 0, result.stderr
    assert f"revision {migrate.head_revision()}" in result.stdout
    assert (tmp_path / "instance" / "portal.sqlite3").exists()
    key = tmp_path / "instance" / "secret_key"
    assert key.stat().st_mode & 0o777 == 0o600
