"""Stored files: put content in place and take it away again, each under the file's lock.

Content is stored once by SHA-256 however many versions refer to it. Two things race for a
file: filing a version of that content (which needs the file to stay) and removing content
nobody refers to any more (emptying the trash, a rolled-back filing, ``portal check
--repair``). Both lock the content's ``stored_files`` row first: PostgreSQL locks the row,
SQLite takes its write lock. Filing holds the lock until its transaction ends, so a removal
waits, and then sees the new version's reference and keeps the file.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable

from sqlalchemy import exists, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from portal.db import on_rollback, utcnow
from portal.models.documents import DocumentVersion, StoredFile
from portal.storage import Staged, Storage

log = logging.getLogger(__name__)


def lock(db: Session, sha256: str) -> None:
    """Lock the row of this content until the transaction ends, creating it if need be."""
    insert = pg_insert if db.get_bind().dialect.name == "postgresql" else sqlite_insert
    for _ in range(3):
        db.execute(insert(StoredFile).values(sha256=sha256, created_at=utcnow())
                   .on_conflict_do_nothing(index_elements=["sha256"]))
        # A no-op update: takes the row lock (PostgreSQL) or is a no-op under the write lock
        # the insert already took (SQLite). If a removal deleted the row in between, go again.
        locked = db.execute(update(StoredFile).where(StoredFile.sha256 == sha256)
                            .values(sha256=StoredFile.sha256)
                            .execution_options(synchronize_session=False))
        if locked.rowcount == 1:
            return
    raise RuntimeError(f"could not lock stored file {sha256}")


def referenced(db: Session, sha256: str) -> bool:
    """Tell whether any document version refers to this content."""
    return bool(db.scalar(select(exists().where(DocumentVersion.sha256 == sha256))))


def claim(db: Session, storage: Storage, staged: Staged) -> bool:
    """Lock the content and put the staged file in place if it is not there yet.

    Returns True when the file is new. If the transaction then rolls back, a new file is
    released again (removed unless another version refers to it by then).
    """
    lock(db, staged.sha256)
    new = storage.place(staged)
    if new:
        engine = db.get_bind()
        on_rollback(db, lambda: release(engine, storage, [staged.sha256]))
    return new


def release(engine: Engine, storage: Storage, digests: Iterable[str]) -> list[str]:
    """Remove the files no version refers to, each decided under its lock in a transaction
    of its own; return the digests removed. Call it after the deleting transaction committed."""
    removed = []
    for sha256 in sorted(set(digests)):
        with Session(engine) as db:
            lock(db, sha256)
            if referenced(db, sha256):
                db.commit()
                continue
            storage.remove(sha256)
            db.execute(StoredFile.__table__.delete().where(StoredFile.sha256 == sha256))
            db.commit()
            removed.append(sha256)
    if removed:
        log.info("removed %d stored files nothing refers to", len(removed))
    return removed
