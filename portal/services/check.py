"""Compare the database, the files on disk and the search index; report every difference."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import Session

from portal.models.documents import Document, DocumentVersion
from portal.search.backend import SearchBackend
from portal.services.search import pending_count
from portal.storage import Storage


@dataclass
class CheckReport:
    missing_files: list[tuple[int, int, str]] = field(default_factory=list)
    checksum_mismatches: list[tuple[int, int, str]] = field(default_factory=list)
    orphan_files: list[str] = field(default_factory=list)
    stale_temporaries: list[str] = field(default_factory=list)
    missing_from_index: list[int] = field(default_factory=list)
    extra_in_index: list[int] = field(default_factory=list)
    pending_tasks: int = 0
    versions_checked: int = 0

    @property
    def clean(self) -> bool:
        return not (self.missing_files or self.checksum_mismatches or self.orphan_files
                    or self.stale_temporaries or self.missing_from_index or self.extra_in_index)


def check(db: Session, storage: Storage, backend: SearchBackend, *, verify_hashes: bool = True,
          progress: Callable[[int], None] | None = None) -> CheckReport:
    """Check that every version has its file (with the right SHA-256), every file its version,
    and the index holds exactly the live documents (queued work counts as not yet applied)."""
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
    report.stale_temporaries = sorted(p.name for p in storage.stale_temporaries())
    live = set(db.scalars(select(Document.id).where(Document.deleted_at.is_(None))))
    indexed = backend.doc_ids()
    report.missing_from_index = sorted(live - indexed)
    report.extra_in_index = sorted(indexed - live)
    report.pending_tasks = pending_count(db)
    return report
