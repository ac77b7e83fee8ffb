"""Compare the database, the files on disk and the search index; report every difference."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import Session

from portal.models.documents import Document, DocumentVersion, IndexTask
from portal.search.backend import IndexState, SearchBackend
from portal.services import files, reports
from portal.services.search import index_state
from portal.storage import Storage


@dataclass
class CheckReport:
    missing_files: list[tuple[int, int, str]] = field(default_factory=list)
    checksum_mismatches: list[tuple[int, int, str]] = field(default_factory=list)
    orphan_files: list[str] = field(default_factory=list)
    #: Temporary files of uploads and text extractions that no running process owns.
    leftovers: list[str] = field(default_factory=list)
    missing_from_index: list[int] = field(default_factory=list)
    extra_in_index: list[int] = field(default_factory=list)
    #: Documents whose index work is queued: not a difference, just not applied yet.
    pending_tasks: int = 0
    versions_checked: int = 0
    #: What ``repair`` removed (orphan files and leftovers).
    repaired: list[str] = field(default_factory=list)
    #: The search index's state when it cannot be compared ("new" and empty, or "damaged").
    index_unusable: str | None = None
    #: Accounts whose stored balance differs from their entries' sum: (number, stored, sum).
    balance_drift: list[tuple[str, int, int]] = field(default_factory=list)

    @property
    def clean(self) -> bool:
        return not (self.missing_files or self.checksum_mismatches or self.orphan_files
                    or self.leftovers or self.missing_from_index or self.extra_in_index
                    or self.index_unusable or self.balance_drift)


def check(db: Session, storage: Storage, backend: SearchBackend, *, verify_hashes: bool = True,
          progress: Callable[[int], None] | None = None) -> CheckReport:
    """Check that every version has its file (with the right SHA-256), every file its version,
    no temporary file is left over, every account's stored balance equals its entries' sum, and
    the index holds exactly the live documents (a document
    with queued index work is counted as queued, not as a difference)."""
    report = CheckReport()
    referenced: set[str] = set()
    rows = db.execute(select(DocumentVersion.document_id, DocumentVersion.number,
                             DocumentVersion.sha256).order_by(DocumentVersion.id))
    for document_id, number, sha256 in rows:
        report.versions_checked += 1
        referenced.add(sha256)
        if not storage.exists(sha256):
            report.missing_files.append((document_id, number, sha256))
        elif verify_hashes and storage.hash_of(sha256) != sha256:
            report.checksum_mismatches.append((document_id, number, sha256))
        if progress:
            progress(1)
    report.orphan_files = sorted(set(storage.stored()) - referenced)
    report.leftovers = [p.name for p in storage.leftovers()]
    report.balance_drift = reports.balance_drift(db)
    live = set(db.scalars(select(Document.id).where(Document.deleted_at.is_(None))))
    queued = set(db.scalars(select(IndexTask.document_id).distinct()))
    state = index_state(db, backend)
    if state is not IndexState.READY:
        report.index_unusable = state.value
        report.pending_tasks = len(queued)
        return report
    indexed = backend.doc_ids()
    report.missing_from_index = sorted(live - indexed - queued)
    report.extra_in_index = sorted(indexed - live - queued)
    report.pending_tasks = len(queued)
    return report


def repair(db: Session, storage: Storage, report: CheckReport) -> list[str]:
    """Remove what ``check`` found that nothing needs: orphan files (each under its lock, and
    only if still unreferenced) and leftover temporary files. Return what was removed."""
    removed = files.release(db.get_bind(), storage, report.orphan_files)
    for name in report.leftovers:
        (storage.tmp / name).unlink(missing_ok=True)
    report.repaired = removed + report.leftovers
    return report.repaired
