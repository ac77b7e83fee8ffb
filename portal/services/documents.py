"""Filing client documents: upload, versions, trash, and reading them back."""

from __future__ import annotations

import logging
import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import BinaryIO

from sqlalchemy import exists, func, select, update
from sqlalchemy.orm import Session, selectinload

from portal.db import utcnow
from portal.domain.permissions import Perm
from portal.models.clients import Client
from portal.models.documents import DocType, Document, DocumentVersion, IndexTask, TextStatus
from portal.search.extract import ACCEPTED, Extraction, extract, sniff
from portal.services import audit
from portal.services.base import Actor, Forbidden, NotFound, ServiceError
from portal.services.clients import get_client
from portal.storage import Storage, TooLarge

log = logging.getLogger(__name__)

Extractor = Callable[[Path, str], Extraction]


class Refused(ServiceError):
    """A file that is not filed; ``reason`` is one of the REASONS keys."""

    status = 422

    def __init__(self, reason: str, detail: str | None = None, existing: int | None = None):
        super().__init__(reason)
        self.reason = reason
        self.detail = detail
        #: For duplicates: the id of the document that already holds this content.
        self.existing = existing


REASONS = ("empty", "type", "too_large", "unreadable", "duplicate")


@dataclass(frozen=True)
class FileMeta:
    doc_type: DocType
    title: str | None = None
    tags: tuple[str, ...] = ()
    doc_date: date | None = None


def clean_name(name: str | None) -> str:
    """Return a file name safe to show and to send back: no path, controls or direction marks."""
    name = (name or "").replace("\\", "/").rsplit("/", 1)[-1]
    name = "".join(
        ch for ch in unicodedata.normalize("NFC", name)
        if unicodedata.category(ch) not in {"Cc", "Cf", "Zl", "Zp"}
    )
    name = re.sub(r"\s+", " ", name).strip(" .")
    return name[:200] or "document"


def normalise_tags(raw: str | tuple[str, ...] | list[str]) -> tuple[str, ...]:
    """Split tags on commas, lower-case them, drop empties and duplicates (order kept)."""
    parts = raw.split(",") if isinstance(raw, str) else list(raw)
    seen: dict[str, None] = {}
    for part in parts:
        tag = re.sub(r"[\s|]+", " ", part).strip().lower()[:40]
        if tag:
            seen.setdefault(tag, None)
    return tuple(seen)[:20]


def _stage_and_read(storage: Storage, stream: BinaryIO, max_bytes: int, extractor: Extractor):
    try:
        staged = storage.stage(stream, max_bytes)
    except TooLarge as exc:
        raise Refused("too_large") from exc
    try:
        if staged.size == 0:
            raise Refused("empty")
        mime = sniff(staged.head)
        if mime not in ACCEPTED:
            raise Refused("type")
        extraction = extractor(staged.path, mime)
        if extraction.status == "unreadable":
            raise Refused("unreadable", extraction.reason)
    except BaseException:
        storage.discard(staged)
        raise
    return staged, mime, extraction


def _version(staged, mime: str, name: str, extraction: Extraction, actor: Actor,
             number: int) -> DocumentVersion:
    return DocumentVersion(
        number=number, sha256=staged.sha256, size=staged.size, mime=mime,
        original_name=name, text_status=TextStatus(extraction.status),
        text=extraction.text if extraction.status == "text" else "",
        pages=extraction.pages, uploaded_by_id=actor.user_id,
    )


def _store_and_commit(db: Session, storage: Storage, staged) -> None:
    """Put the file in place, then commit; if the commit fails, take a new file away again."""
    is_new = not storage.exists(staged.sha256)
    storage.commit(staged)
    try:
        db.commit()
    except BaseException:
        db.rollback()
        if is_new and not _referenced(db, staged.sha256):
            storage.remove(staged.sha256)
        raise


def _referenced(db: Session, sha256: str) -> bool:
    return bool(db.scalar(select(exists().where(DocumentVersion.sha256 == sha256))))


def _lock_filing(db: Session, client_id: int) -> None:
    """Make filings for one client take turns from here to their commit.

    A no-op update of the client's row: PostgreSQL locks the row, SQLite takes its write
    lock, so a second filing waits here and its duplicate check then sees the first one's
    document (two copies of a file imported or uploaded at once are filed once).
    """
    db.execute(update(Client).where(Client.id == client_id)
               .values(updated_at=Client.updated_at)  # changes nothing, not even this
               .execution_options(synchronize_session=False))


def find_duplicate(db: Session, client_id: int, sha256: str) -> int | None:
    """Return the id of a live document of this client holding this content, if any."""
    return db.scalar(
        select(Document.id)
        .join(DocumentVersion)
        .where(Document.client_id == client_id, Document.deleted_at.is_(None),
               DocumentVersion.sha256 == sha256)
        .limit(1)
    )


def file_document(
    db: Session, actor: Actor, storage: Storage, client_id: int, stream: BinaryIO,
    original_name: str | None, meta: FileMeta, *, max_bytes: int,
    extractor: Extractor = extract,
) -> Document:
    """File one uploaded file for a client, or raise Refused with the reason; nothing half-done."""
    client = get_client(db, actor, client_id, audit_read=False)
    name = clean_name(original_name)
    staged, mime, extraction = _stage_and_read(storage, stream, max_bytes, extractor)
    try:
        _lock_filing(db, client.id)
        duplicate = find_duplicate(db, client.id, staged.sha256)
        if duplicate is not None:
            raise Refused("duplicate", existing=duplicate)
        title = (meta.title or "").strip() or name.rsplit(".", 1)[0] or name
        document = Document(
            client_id=client.id, doc_type=meta.doc_type, title=title[:300],
            tags="|" + "|".join(meta.tags) + "|" if meta.tags else "", doc_date=meta.doc_date,
            created_by_id=actor.user_id,
        )
        document.versions.append(_version(staged, mime, name, extraction, actor, 1))
        db.add(document)
        db.flush()
        db.add(IndexTask(document_id=document.id, action="index"))
        audit.record(db, actor, "document.upload", object_type="document",
                     object_id=document.id, object_label=f"{client.number} {title}"[:200],
                     details={"file": name, "size": staged.size, "type": meta.doc_type.value,
                              "text": extraction.status})
        _store_and_commit(db, storage, staged)
    except BaseException:
        storage.discard(staged)  # a no-op once the file was moved into place
        raise
    log.info("filed document %s for %s (%s, %s bytes)", document.id, client.number, mime,
             staged.size)
    return document


def add_version(
    db: Session, actor: Actor, storage: Storage, document_id: int, stream: BinaryIO,
    original_name: str | None, *, max_bytes: int, extractor: Extractor = extract,
) -> DocumentVersion:
    """Add a corrected file as the document's new version; the old versions are kept."""
    document = get_document(db, actor, document_id, audit_action=None)
    if document.deleted_at is not None:
        raise NotFound("document is in the trash")
    name = clean_name(original_name)
    staged, mime, extraction = _stage_and_read(storage, stream, max_bytes, extractor)
    try:
        if staged.sha256 == document.current.sha256:
            raise Refused("duplicate", existing=document.id)
        number = (db.scalar(select(func.max(DocumentVersion.number))
                            .where(DocumentVersion.document_id == document.id)) or 0) + 1
        version = _version(staged, mime, name, extraction, actor, number)
        version.document_id = document.id
        db.add(version)
        db.add(IndexTask(document_id=document.id, action="index"))
        audit.record(db, actor, "document.version", object_type="document",
                     object_id=document.id, object_label=document.title[:200],
                     details={"file": name, "version": number, "text": extraction.status})
        _store_and_commit(db, storage, staged)
    except BaseException:
        storage.discard(staged)
        raise
    db.refresh(document)
    return version


def get_document(db: Session, actor: Actor, document_id: int, *,
                 audit_action: str | None = "document.view", trashed: bool = False) -> Document:
    """Return a document the actor may see (through its client); a read is audited."""
    document = db.scalar(
        select(Document).where(Document.id == document_id)
        .options(selectinload(Document.versions), selectinload(Document.client))
    )
    if document is None or (document.deleted_at is not None and not trashed):
        raise NotFound("no such document")
    get_client(db, actor, document.client_id, audit_read=False)
    if audit_action:
        audit.record(db, actor, audit_action, object_type="document", object_id=document.id,
                     object_label=document.title[:200])
        db.commit()
    return document


def get_version(document: Document, number: int | None) -> DocumentVersion:
    """Return version ``number`` of a document (the current one when None)."""
    if number is None:
        return document.current
    for version in document.versions:
        if version.number == number:
            return version
    raise NotFound("no such version")


def trash(db: Session, actor: Actor, document_id: int) -> Document:
    """Move a document to the trash: hidden and unsearchable, but kept."""
    document = get_document(db, actor, document_id, audit_action=None)
    document.deleted_at = utcnow()
    document.deleted_by_id = actor.user_id
    db.add(IndexTask(document_id=document.id, action="delete"))
    audit.record(db, actor, "document.trash", object_type="document", object_id=document.id,
                 object_label=document.title[:200])
    db.commit()
    return document


def restore(db: Session, actor: Actor, document_id: int) -> Document:
    """Bring a document back from the trash."""
    if not actor.can(Perm.DOCUMENTS_TRASH):
        raise Forbidden("only managers restore documents")
    document = get_document(db, actor, document_id, audit_action=None, trashed=True)
    if document.deleted_at is None:
        return document
    document.deleted_at = None
    document.deleted_by_id = None
    db.add(IndexTask(document_id=document.id, action="index"))
    audit.record(db, actor, "document.restore", object_type="document", object_id=document.id,
                 object_label=document.title[:200])
    db.commit()
    return document


def trashed(db: Session) -> list[Document]:
    """Return the documents in the trash, most recently deleted first."""
    stmt = (select(Document).where(Document.deleted_at.is_not(None))
            .options(selectinload(Document.client), selectinload(Document.deleted_by),
                     selectinload(Document.versions))
            .order_by(Document.deleted_at.desc()))
    return list(db.scalars(stmt))


def empty_trash(db: Session, actor: Actor, storage: Storage) -> int:
    """Delete the trashed documents for good; their files go when nothing else refers to them."""
    if not actor.can(Perm.DOCUMENTS_TRASH):
        raise Forbidden("only managers empty the trash")
    documents = trashed(db)
    digests = {v.sha256 for d in documents for v in d.versions}
    for document in documents:
        audit.record(db, actor, "document.purge", object_type="document",
                     object_id=document.id, object_label=document.title[:200])
        db.delete(document)
    db.commit()
    # Rows first, files after: a crash in between leaves an orphan file (reported by
    # `portal check`), never a row without its file.
    for sha256 in digests:
        if not _referenced(db, sha256):
            storage.remove(sha256)
    return len(documents)
