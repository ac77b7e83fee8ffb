"""Take a backup of a running portal, and restore one into an empty instance.

**Consistency.** The database is copied first, as of one moment. The files copied are exactly
those the copied rows refer to. A stored file is never changed once in place (its name is its
SHA-256), and a filing puts its file in place *before* its row commits, so every row of the
copy finds its file in the storage; a file filed after that moment has no row in the copy and
is not copied. The one race left is removal: emptying the trash after the copy was taken may
delete a file the copy still refers to. The backup then takes the database copy again (the
trashed rows are gone from it) and copies what is still missing, up to ``ATTEMPTS`` times.
"""

from __future__ import annotations

import importlib.metadata
import shutil
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import text
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from portal.backup import database
from portal.backup.store import (
    BackupError,
    BackupFolder,
    Progress,
    build_manifest,
    copy_verified,
    sha256_of,
    sync_folder,
)
from portal.storage import Storage

ATTEMPTS = 3


def _quiet(_stage: str, _done: int, _total: int) -> None:
    """Report no progress."""


def portal_version() -> str:
    try:
        return importlib.metadata.version("credit-office-portal")
    except importlib.metadata.PackageNotFoundError:
        return "unknown"


@dataclass
class BackupResult:
    name: str
    path: Path
    files: int
    #: Files copied into the store by this backup (the others were there already).
    copied: int
    copied_bytes: int
    total_bytes: int
    #: Files the database refers to that the storage does not have (or has damaged).
    missing: list[str] = field(default_factory=list)

    @property
    def complete(self) -> bool:
        return not self.missing


def take_backup(engine: Engine, storage: Storage, root: Path, *,
                progress: Progress = _quiet, now: Callable[[], datetime] | None = None,
                before_files: Callable[[], None] | None = None) -> BackupResult:
    """Write a new snapshot of the database and its files into the backup folder ``root``.

    ``before_files`` runs between the database copy and the file copy (tests use it to file
    and trash documents at exactly that point)."""
    clock = now or (lambda: datetime.now(UTC))
    folder = BackupFolder(root)
    with folder.locked(), ThreadPoolExecutor(1) as hashing:
        folder.remove_partials()
        started = clock()
        name = folder.new_name(started)
        copied = copied_bytes = 0
        made: set[Path] = set()
        for attempt in range(1, ATTEMPTS + 1):
            partial = folder.begin(name)
            try:
                progress("database", 0, 1)
                snap = database.snapshot(engine, partial)
                dump = partial / snap.file
                # The dump's digest is worked out beside the file copy (hashlib lets go of
                # the interpreter lock), not after it.
                dump_digest = hashing.submit(sha256_of, dump)
                progress("database", 1, 1)
                if before_files is not None and attempt == 1:
                    before_files()
                missing: list[str] = []
                sizes: dict[str, int] = {}
                total = len(snap.digests)
                progress("files", 0, total)
                for done, sha256 in enumerate(sorted(snap.digests), 1):
                    size = folder.size_of(sha256)
                    if size is None:
                        source = storage.path_for(sha256)
                        try:
                            size = copy_verified(source, folder.file_path(sha256), sha256,
                                                 folder.tmp, sync=False, made=made)
                        except FileNotFoundError:
                            size = None
                        if size is None:
                            missing.append(sha256)  # gone from the storage, or damaged
                        else:
                            copied += 1
                            copied_bytes += size
                    if size is not None:
                        sizes[sha256] = size
                    if done % 100 == 0 or done == total:
                        progress("files", done, total)
                vanished = [s for s in missing if not storage.exists(s)]
                if vanished and attempt < ATTEMPTS:
                    # Removed after the database copy (the trash emptied): copy again.
                    dump_digest.result()
                    shutil.rmtree(partial)
                    progress("retry", attempt, ATTEMPTS)
                    continue
                progress("finishing", 0, 1)
                manifest = build_manifest(
                    name=name, created_at=started, finished_at=clock(),
                    portal_version=portal_version(), revision=snap.revision,
                    dialect=snap.dialect, database_file=snap.file,
                    database_sha256=dump_digest.result(), database_size=dump.stat().st_size,
                    row_counts=snap.row_counts, ledger_sums=snap.ledger_sums,
                    files=sizes,
                    missing=missing, schema=snap.schema)
                final = folder.finish(partial, name, manifest)
            except BaseException:
                shutil.rmtree(partial, ignore_errors=True)
                raise
            return BackupResult(name=name, path=final, files=len(manifest["files"]),
                                copied=copied, copied_bytes=copied_bytes,
                                total_bytes=manifest["file_bytes"] + manifest["database"]["size"],
                                missing=missing)
    raise AssertionError("unreachable")


# -- restore ---------------------------------------------------------------------------------


@dataclass
class RestoreResult:
    name: str
    revision: str | None
    upgraded_to: str | None
    files: int
    indexed: int
    #: Tables whose row count differs from the manifest's (only compared when the snapshot
    #: was at the code's revision: a migration may add rows).
    count_differences: list[str] = field(default_factory=list)
    #: Files the snapshot's database refers to but the backup could not copy.
    not_backed_up: list[str] = field(default_factory=list)


def known_revisions() -> list[str]:
    """Return every migration revision this code knows."""
    from alembic.script import ScriptDirectory

    from portal.migrate import alembic_config

    script = ScriptDirectory.from_config(alembic_config(None))  # type: ignore[arg-type]
    return [r.revision for r in script.walk_revisions()]


def instance_has_data(engine: Engine, storage: Storage) -> bool:
    """Tell whether the target instance holds any office's data (rows or stored files)."""
    return database.has_data(engine) or next(storage.stored(), None) is not None


def restore_snapshot(engine: Engine, storage: Storage, sessions: Callable[[], Session],
                     backend_factory: Callable[[], object], root: Path, name: str | None, *,
                     force: bool = False, reindex: bool = True,
                     progress: Progress = _quiet) -> RestoreResult:
    """Restore a snapshot into this instance: database, files, then the search index.

    Refuses an instance that holds data unless ``force``; with ``force`` the database,
    the stored files and the index are wiped first, never merged."""
    from portal import migrate

    folder = BackupFolder(root)
    name = name or folder.newest()
    if name is None:
        raise BackupError(f"no snapshot in {root}")
    manifest = folder.manifest(name)
    revision = manifest.get("migration_revision")
    known = known_revisions()
    if revision and revision not in known:
        raise BackupError(
            f"snapshot {name} is at migration {revision}, newer than this portal knows "
            f"(up to {migrate.head_revision()}): restore it with a newer portal version")
    if instance_has_data(engine, storage) and not force:
        raise BackupError("this instance already holds data: restore into an empty one, or "
                          "pass --force to replace everything in it with the snapshot")
    db_info = manifest["database"]
    dump = folder.snapshots / name / db_info["file"]
    progress("checking the database dump", 0, 1)
    if not dump.is_file() or sha256_of(dump) != db_info["sha256"]:
        raise BackupError(f"snapshot {name}: the database dump is missing or changed "
                          "(run `portal backup --verify`)")
    # Every file is there before the database is touched: a snapshot with a file gone
    # leaves the instance as it was.
    files = manifest.get("files", {})
    for done, sha256 in enumerate(sorted(files), 1):
        if not folder.has_file(sha256):
            raise BackupError(f"snapshot {name}: file {sha256} is missing from {root}/files "
                              "(run `portal backup --verify`)")
        if done % 500 == 0 or done == len(files):
            progress("checking files", done, len(files))

    progress("database", 0, 1)
    database.restore(engine, dump, db_info["dialect"], revision=revision,
                     schema=db_info.get("schema"))
    upgraded_to = None
    head = migrate.head_revision()
    if revision != head:
        migrate.upgrade(engine)
        upgraded_to = head
    progress("database", 1, 1)

    keep = set(files)
    made: set[Path] = set()
    for sha256 in set(storage.stored()) - keep:  # --force: the other office's files go
        storage.remove(sha256)
    for done, sha256 in enumerate(sorted(keep), 1):
        if not storage.exists(sha256):
            if copy_verified(folder.file_path(sha256), storage.path_for(sha256), sha256,
                             storage.tmp, sync=False, made=made) is None:
                raise BackupError(f"snapshot {name}: file {sha256} is damaged "
                                  "(run `portal backup --verify`)")
        if done % 100 == 0 or done == len(keep):
            progress("files", done, len(keep))
    sync_folder(storage.root)  # every restored file on disk before the portal is told so

    differences = []
    if upgraded_to is None:
        with engine.connect() as conn:
            for table, count in manifest.get("row_counts", {}).items():
                got = conn.execute(text(f'SELECT count(*) FROM "{table}"')).scalar()
                if got != count:
                    differences.append(f"{table}: {got} rows, the manifest says {count}")

    from portal.services import search as search_service

    indexed = 0
    if reindex:  # (only the benchmark leaves it out: it times the rebuild on its own)
        progress("search index", 0, 1)
        backend = backend_factory()
        with sessions() as db:
            indexed = search_service.reindex(db, backend)  # type: ignore[arg-type]
            db.commit()
        progress("search index", 1, 1)
    return RestoreResult(name=name, revision=revision, upgraded_to=upgraded_to,
                         files=len(keep), indexed=indexed, count_differences=differences,
                         not_backed_up=list(manifest.get("missing", [])))
