"""Database snapshots and their restore: SQLite's online backup API, PostgreSQL's pg_dump.

A snapshot is taken while the portal serves. What the backup copies besides the dump (the
stored files, the row counts, the ledger sums) is read from the very same snapshot: from the
SQLite copy itself, or, on PostgreSQL, in a transaction that exports its snapshot to pg_dump.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
import tempfile
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import MetaData, create_engine, func, inspect, select, text
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.types import DateTime

from portal.backup.store import BackupError

SQLITE_FILE = "database.sqlite3"
PG_FILE = "database.pgdump"


@dataclass
class DatabaseSnapshot:
    """What was read from the database's snapshot."""

    dialect: str
    file: str
    revision: str | None
    #: Every SHA-256 a document version of the snapshot refers to.
    digests: set[str] = field(default_factory=set)
    row_counts: dict[str, int] = field(default_factory=dict)
    ledger_sums: list[dict[str, Any]] = field(default_factory=list)
    schema: str | None = None


def read_contents(conn: Connection) -> tuple[str | None, set[str], dict[str, int],
                                              list[dict[str, Any]]]:
    """Return the revision, referenced files, row counts and ledger sums seen by ``conn``."""
    names = set(inspect(conn).get_table_names())
    revision = None
    if "alembic_version" in names:
        revision = conn.execute(text("SELECT version_num FROM alembic_version")).scalar()
    counts = {name: conn.execute(text(f'SELECT count(*) FROM "{name}"')).scalar_one()
              for name in sorted(names)}
    digests: set[str] = set()
    if "document_versions" in names:  # read from the index on sha256 alone (no row visited)
        digests = set(conn.execute(text("SELECT DISTINCT sha256 FROM document_versions"))
                      .scalars())
    sums = []
    if "ledger_entries" in names:
        rows = conn.execute(text(
            "SELECT currency, kind, count(*), sum(amount_minor) FROM ledger_entries "
            "GROUP BY currency, kind ORDER BY currency, kind"))
        sums = [{"currency": c, "kind": k, "entries": int(n), "amount_minor": int(s)}
                for c, k, n, s in rows]
    return revision, digests, counts, sums


# -- taking a snapshot ------------------------------------------------------------------------


def snapshot(engine: Engine, folder: Path) -> DatabaseSnapshot:
    """Write a consistent copy of the database into ``folder`` and read what it holds."""
    if engine.dialect.name == "sqlite":
        return _snapshot_sqlite(engine, folder)
    if engine.dialect.name == "postgresql":
        return _snapshot_pg(engine, folder)
    raise BackupError(f"cannot back up a {engine.dialect.name} database")


def _sqlite_path(engine: Engine) -> Path:
    database = engine.url.database
    if not database or database == ":memory:":
        raise BackupError("an in-memory SQLite database cannot be backed up")
    return Path(database)


def _snapshot_sqlite(engine: Engine, folder: Path) -> DatabaseSnapshot:
    target = folder / SQLITE_FILE
    os.close(os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    source = sqlite3.connect(_sqlite_path(engine), timeout=30)
    try:
        destination = sqlite3.connect(target)
        try:
            # No flush of its own: the whole snapshot is flushed once before its manifest.
            destination.execute("PRAGMA synchronous=OFF")
            # One step (pages=-1): one read transaction over the whole copy, so writers go on
            # (WAL) and the copy is the database as of one moment.
            source.backup(destination, pages=-1)
            destination.execute("PRAGMA journal_mode=DELETE")
        finally:
            destination.close()
    finally:
        source.close()
    copy = create_engine(f"sqlite:///{target}")
    try:
        with copy.connect() as conn:
            revision, digests, counts, sums = read_contents(conn)
    finally:
        copy.dispose()
    return DatabaseSnapshot("sqlite", SQLITE_FILE, revision, digests, counts, sums)


def libpq_env(engine: Engine) -> tuple[dict[str, str], str]:
    """Return the environment for pg_dump/pg_restore/psql and the database name."""
    url = engine.url
    env = dict(os.environ)
    for key, value in (("PGHOST", url.host), ("PGPORT", url.port), ("PGUSER", url.username),
                       ("PGPASSWORD", url.password)):
        if value is not None:
            env[key] = str(value)
    options = url.query.get("options")
    if options:
        env["PGOPTIONS"] = options if isinstance(options, str) else " ".join(options)
    return env, url.database or "postgres"


def _pg_tool(name: str) -> str:
    found = shutil.which(name)
    if not found:
        raise BackupError(f"{name} is not installed (Debian: postgresql-client)")
    return found


def _snapshot_pg(engine: Engine, folder: Path) -> DatabaseSnapshot:
    target = folder / PG_FILE
    env, dbname = libpq_env(engine)
    pg_dump = _pg_tool("pg_dump")
    with engine.connect().execution_options(isolation_level="REPEATABLE READ") as conn:
        with conn.begin():
            exported = conn.execute(text("SELECT pg_export_snapshot()")).scalar_one()
            schema = conn.execute(text("SELECT current_schema()")).scalar_one()
            os.close(os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
            done = subprocess.run(
                [pg_dump, "--format=custom", f"--snapshot={exported}", f"--schema={schema}",
                 "--no-owner", "--no-privileges", f"--file={target}", dbname],
                env=env, capture_output=True, text=True, check=False)
            if done.returncode != 0:
                raise BackupError(f"pg_dump failed: {done.stderr.strip()}")
            # The same snapshot pg_dump copied: the files and figures match the dump exactly.
            revision, digests, counts, sums = read_contents(conn)
    return DatabaseSnapshot("postgresql", PG_FILE, revision, digests, counts, sums,
                            schema=schema)


# -- restoring -------------------------------------------------------------------------------


def has_data(engine: Engine) -> bool:
    """Tell whether the database holds an office's data (users, clients or documents)."""
    with engine.connect() as conn:
        names = set(inspect(conn).get_table_names())
        for table in ("users", "clients", "documents"):
            if table in names and conn.execute(
                    text(f"SELECT 1 FROM {table} LIMIT 1")).first() is not None:
                return True
    return False


def restore(engine: Engine, dump: Path, dialect: str, *, revision: str | None,
            schema: str | None) -> None:
    """Replace the target database's content with the dump (the target is wiped first, so
    two offices' data never mix). The caller upgrades the result to the newest migration."""
    target = engine.dialect.name
    if dialect == "sqlite" and target == "sqlite":
        _restore_sqlite(engine, dump)
    elif dialect == "postgresql" and target == "postgresql":
        _restore_pg(engine, dump, schema)
    elif dialect == "sqlite" and target == "postgresql":
        _sqlite_into(engine, dump, revision)
    else:
        raise BackupError(f"a {dialect} snapshot cannot be restored into {target}")


def _restore_sqlite(engine: Engine, dump: Path) -> None:
    engine.dispose()
    source = sqlite3.connect(dump)
    try:
        destination = sqlite3.connect(_sqlite_path(engine), timeout=30)
        try:
            source.backup(destination, pages=-1)
            destination.execute("PRAGMA journal_mode=WAL")
        finally:
            destination.close()
    finally:
        source.close()
    engine.dispose()


def _target_schema(engine: Engine) -> str:
    """Return the schema the target's tables go to: the first on its search path."""
    with engine.connect() as conn:
        name = conn.execute(text("SELECT current_schema()")).scalar()
        if name is None:  # the first schema on the search path does not exist yet
            first = conn.execute(text("SHOW search_path")).scalar().split(",")[0]
            name = first.strip().strip('"')
    engine.dispose()
    return name


def _wipe_pg(engine: Engine) -> str:
    """Drop and recreate the target's schema: everything in it goes."""
    name = _target_schema(engine)
    with engine.begin() as conn:
        conn.execute(text(f'DROP SCHEMA IF EXISTS "{name}" CASCADE'))
        conn.execute(text(f'CREATE SCHEMA "{name}"'))
    engine.dispose()
    return name


def _restore_pg(engine: Engine, dump: Path, schema: str | None) -> None:
    name = _target_schema(engine)
    if schema and schema != name:
        raise BackupError(f"the snapshot's tables are in schema {schema!r}, the target's "
                          f"search path starts with {name!r}: restore into a database whose "
                          f"search path is {schema!r}")
    pg_restore = _pg_tool("pg_restore")
    _wipe_pg(engine)
    env, dbname = libpq_env(engine)
    listing = subprocess.run([pg_restore, "--list", str(dump)], env=env, capture_output=True,
                             text=True, check=False)
    if listing.returncode != 0:
        raise BackupError(f"pg_restore cannot read the dump: {listing.stderr.strip()}")
    # The schema itself exists already (created above): leave its CREATE SCHEMA out.
    entries = [line for line in listing.stdout.splitlines() if " SCHEMA - " not in line]
    with tempfile.NamedTemporaryFile("w", suffix=".toc", delete=False) as fh:
        fh.write("\n".join(entries) + "\n")
        toc = Path(fh.name)
    try:
        done = subprocess.run(
            [pg_restore, "--exit-on-error", "--no-owner", "--no-privileges", "--single-transaction",
             f"--use-list={toc}", f"--dbname={dbname}", str(dump)],
            env=env, capture_output=True, text=True, check=False)
    finally:
        toc.unlink(missing_ok=True)
    if done.returncode != 0:
        raise BackupError(f"pg_restore failed: {done.stderr.strip()}")
    engine.dispose()


def _sqlite_into(engine: Engine, dump: Path, revision: str | None) -> None:
    """Copy a SQLite snapshot into an empty PostgreSQL schema migrated to the same revision."""
    from portal import migrate

    _wipe_pg(engine)
    if revision:
        migrate.upgrade(engine, revision)
    source = create_engine(f"sqlite:///{dump}")
    try:
        with source.connect() as src, engine.begin() as dst:
            have = MetaData()
            have.reflect(src)
            want = MetaData()
            want.reflect(dst)
            tables = [t for t in want.sorted_tables if t.name != "alembic_version"]
            for table in reversed(tables):  # rows the migrations seeded: the snapshot has them
                if dst.execute(select(func.count()).select_from(table)).scalar():
                    dst.execute(table.delete())
            # A verbatim copy: the tables' own triggers (append-only ledger, kept balances)
            # stay off while rows go in; foreign keys are still checked.
            for table in tables:
                dst.execute(text(f'ALTER TABLE "{table.name}" DISABLE TRIGGER USER'))
            for table in tables:
                if table.name in have.tables:
                    _copy_rows(src, dst, have.tables[table.name], table)
            for table in tables:
                dst.execute(text(f'ALTER TABLE "{table.name}" ENABLE TRIGGER USER'))
            for table in tables:
                if "id" in table.c and table.c.id.primary_key:
                    dst.execute(text(
                        f"SELECT setval(pg_get_serial_sequence('{table.name}', 'id'), "
                        f"coalesce(max(id), 0) + 1, false) FROM {table.name}"))
    finally:
        source.dispose()
    engine.dispose()


def _copy_rows(src: Connection, dst: Connection, source, target, batch: int = 1000) -> None:
    columns = [c.name for c in target.columns if c.name in source.c]
    aware = {c.name for c in target.columns
             if isinstance(c.type, DateTime) and getattr(c.type, "timezone", False)}
    rows: list[dict[str, Any]] = []
    result = src.execution_options(yield_per=batch).execute(
        select(*[source.c[name] for name in columns]))
    for row in result:
        values = dict(zip(columns, row, strict=True))
        for name in aware:  # SQLite keeps UTC times without their zone
            value = values.get(name)
            if isinstance(value, datetime) and value.tzinfo is None:
                values[name] = value.replace(tzinfo=UTC)
        rows.append(values)
        if len(rows) == batch:
            dst.execute(target.insert(), rows)
            rows = []
    if rows:
        dst.execute(target.insert(), rows)
