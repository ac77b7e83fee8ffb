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

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session, defer, selectinload

from portal.db import on_commit, utcnow
from portal.domain.permissions import Perm
from portal.filing.extract import Extraction, extract
from portal.filing.sniff import claimed_type, is_markup, sniff
from portal.models.clients import Client
from portal.models.documents import DocType, Document, DocumentVersion, IndexTask, TextStatus
from portal.services import audit, authz, files
from portal.services.base import Actor, Conflict, NotFound, ServiceError
from portal.services.clients import get_client
from portal.storage import Staged, Storage, TooLarge

log = logging.getLogger(__name__)

Extractor = Callable[[Path, str], Extraction]


class Refused(ServiceError):
    """A file that is not filed; ``reason`` is one of REASONS."""

    status = 422

    def __init__(self, reason: str, detail: str | None = None, existing: int | None = None,
                 claimed: str | None = None, actual: str | None = None):
        super().__init__(reason)
        self.reason = reason
        self.detail = detail
        #: For duplicates: the id of the document that already holds this content.
        self.existing = existing
        #: For a name that claims another kind: what the name says and what the content is
        #: (MIME types).
        self.claimed = claimed
        self.actual = actual


REASONS = ("empty", "type", "markup", "mismatch", "too_large", "unreadable", "duplicate")


@dataclass(frozen=True)
class Incoming:
    """An upload read and judged: staged in the storage's temporary folder, not yet filed."""

    staged: Staged
    name: str
    mime: str
    extraction: Extraction


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


def title_from_name(name: str) -> str:
    """Return a title made of a file name: no extension, words instead of ``-`` and ``_``,
    a capital first letter when the name had none (``hitel-szerzodes_2026.pdf`` →
    "Hitel szerzodes 2026"); a hyphen between digits (a date) is kept."""
    stem = name.rsplit(".", 1)[0] if "." in name.strip(".") else name
    words = re.sub(r"(?<!\d)-|-(?!\d)|[_.+]", " ", stem)
    words = re.sub(r"\s+", " ", words).strip(" -")
    if not words:
        return name
    if words.isupper() and len(words) > 3:  # SHOUTED_NAME: sentence case
        words = words.lower()
    first = words.split(" ", 1)[0]
    return words[0].upper() + words[1:] if first.islower() else words  # iPhone stays


def read_upload(storage: Storage, stream: BinaryIO, original_name: str | None, *,
                max_bytes: int, extractor: Extractor = extract) -> Incoming:
    """Stage an upload and judge it by its content (and what its name claims); extract its
    text. Raises Refused with the reason, or StorageUnavailable; keeps nothing then."""
    name = clean_name(original_name)
    claimed = claimed_type(name)
    if claimed == "never":
        raise Refused("type")
    try:
        staged = storage.stage(stream, max_bytes)
    except TooLarge as exc:
        raise Refused("too_large") from exc
    try:
        if staged.size == 0:
            raise Refused("empty")
        mime = sniff(staged.head)
        if mime is None:
            raise Refused("markup" if is_markup(staged.head) else "type")
        if claimed is not None and claimed != mime:
            raise Refused("mismatch", claimed=claimed, actual=mime)
        extraction = extractor(staged.path, mime)
        if extraction.status == "unreadable":
            markup = extraction.reason == "markup"
            raise Refused("markup" if markup else "unreadable", extraction.reason)
    except BaseException:
        storage.discard(staged)
        raise
    return Incoming(staged, name, mime, extraction)


def _version(incoming: Incoming, actor: Actor, number: int) -> DocumentVersion:
    extraction = incoming.extraction
    return DocumentVersion(
        number=number, sha256=incoming.staged.sha256, size=incoming.staged.size,
        mime=incoming.mime, original_name=incoming.name,
        text_status=TextStatus(extraction.status),
        text=extraction.text if extraction.status == "text" else "",
        pages=extraction.pages, uploaded_by_id=actor.user_id,
    )


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
    """File one uploaded file for a client, or raise Refused with the reason."""
    client = get_client(db, actor, client_id, audit_read=False)
    authz.require(actor, Perm.DOCUMENTS_FILE, client=client)
    incoming = read_upload(storage, stream, original_name, max_bytes=max_bytes,
                           extractor=extractor)
    try:
        return file_incoming(db, actor, storage, client.id, incoming, meta)
    finally:
        storage.discard(incoming.staged)  # a no-op once the file was moved into place


def file_incoming(db: Session, actor: Actor, storage: Storage, client_id: int,
                  incoming: Incoming, meta: FileMeta) -> Document:
    """File a read upload for a client: the document, its file, index work and audit row.

    Flushes only; the caller's transaction commits (or, rolled back, takes a new file away).
    """
    client = get_client(db, actor, client_id, audit_read=False)
    authz.require(actor, Perm.DOCUMENTS_FILE, client=client)
    _lock_filing(db, client.id)
    duplicate = find_duplicate(db, client.id, incoming.staged.sha256)
    if duplicate is not None:
        raise Refused("duplicate", existing=duplicate)
    name = incoming.name
    title = (meta.title or "").strip() or title_from_name(name)
    document = Document(
        client_id=client.id, doc_type=meta.doc_type, title=title[:300],
        tags="|" + "|".join(meta.tags) + "|" if meta.tags else "", doc_date=meta.doc_date,
        created_by_id=actor.user_id,
    )
    document.versions.append(_version(incoming, actor, 1))
    db.add(document)
    db.flush()
    files.claim(db, storage, incoming.staged)
    db.add(IndexTask(document_id=document.id, action="index"))
    audit.record(db, actor, "document.upload", object_type="document",
                 object_id=document.id, object_label=f"{client.number} {title}"[:200],
                 details={"file": name, "size": incoming.staged.size,
                          "type": meta.doc_type.value, "text": incoming.extraction.status})
    db.flush()
    log.info("filed document %s for %s (%s, %s bytes)", document.id, client.number,
             incoming.mime, incoming.staged.size)
    return document


def add_version(
    db: Session, actor: Actor, storage: Storage, document_id: int, stream: BinaryIO,
    original_name: str | None, *, max_bytes: int, extractor: Extractor = extract,
) -> DocumentVersion:
    """Add a corrected file as the document's new version; the old versions are kept."""
    document = get_document(db, actor, document_id, audit_action=None)
    authz.require(actor, Perm.DOCUMENTS_FILE, client=document.client)
    if document.deleted_at is not None:
        raise NotFound("document is in the trash")
    incoming = read_upload(storage, stream, original_name, max_bytes=max_bytes,
                           extractor=extractor)
    try:
        if incoming.staged.sha256 == document.current.sha256:
            raise Refused("duplicate", existing=document.id)
        _lock_filing(db, document.client_id)
        number = (db.scalar(select(func.max(DocumentVersion.number))
                            .where(DocumentVersion.document_id == document.id)) or 0) + 1
        version = _version(incoming, actor, number)
        document.versions.insert(0, version)
        db.flush()
        files.claim(db, storage, incoming.staged)
        db.add(IndexTask(document_id=document.id, action="index"))
        audit.record(db, actor, "document.version", object_type="document",
                     object_id=document.id, object_label=document.title[:200],
                     details={"file": incoming.name, "version": number,
                              "text": incoming.extraction.status})
        db.flush()
    finally:
        storage.discard(incoming.staged)
    return version


@dataclass(frozen=True)
class Details:
    """What a user may correct of a filed document."""

    doc_type: DocType
    title: str
    tags: tuple[str, ...] = ()
    doc_date: date | None = None


def details_of(document: Document) -> Details:
    """Return a document's correctable details."""
    return Details(document.doc_type, document.title, tuple(document.tag_list),
                   document.doc_date)


def editable_document(db: Session, actor: Actor, document_id: int) -> Document:
    """Return a live document whose details the actor may correct (as for filing)."""
    document = get_document(db, actor, document_id, audit_action=None)
    authz.require(actor, Perm.DOCUMENTS_FILE, client=document.client)
    return document


def update_details(db: Session, actor: Actor, document_id: int, new: Details, *,
                   expected: Details) -> Document:
    """Correct a document's type, title, tags and date; audited, and queued for the index.

    Refused with Conflict when the details are no longer ``expected`` (what the form showed):
    someone corrected them meanwhile. The document's row is locked first, so two corrections
    take turns and the second one sees the first.
    """
    document = editable_document(db, actor, document_id)
    db.execute(update(Document).where(Document.id == document.id)
               .values(title=Document.title)  # changes nothing; takes the row's lock
               .execution_options(synchronize_session=False))
    db.refresh(document)
    before = details_of(document)
    if before != expected:
        raise Conflict("document details changed by someone else")
    if new == before:
        return document
    title = new.title.strip()[:300]
    document.doc_type = new.doc_type
    document.title = title
    document.tags = "|" + "|".join(new.tags) + "|" if new.tags else ""
    document.doc_date = new.doc_date
    db.add(IndexTask(document_id=document.id, action="index"))
    changes = audit.diff(
        {"doc_type": before.doc_type, "title": before.title, "tags": ", ".join(before.tags),
         "doc_date": before.doc_date},
        {"doc_type": new.doc_type, "title": title, "tags": ", ".join(new.tags),
         "doc_date": new.doc_date})
    audit.record(db, actor, "document.update", object_type="document", object_id=document.id,
                 object_label=f"{document.client.number} {title}"[:200], details=changes)
    db.flush()
    return document


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
    return document


def viewable_document(db: Session, actor: Actor, document_id: int, *,
                      audit_action: str | None = "document.view") -> Document:
    """Return a document the actor may look at: a live one, or one in the trash for those
    who may restore it."""
    return get_document(db, actor, document_id, audit_action=audit_action,
                        trashed=actor.can(Perm.DOCUMENTS_TRASH))


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
    authz.require(actor, Perm.DOCUMENTS_FILE, client=document.client)
    document.deleted_at = utcnow()
    document.deleted_by_id = actor.user_id
    db.add(IndexTask(document_id=document.id, action="delete"))
    audit.record(db, actor, "document.trash", object_type="document", object_id=document.id,
                 object_label=document.title[:200])
    db.flush()
    return document


def restore(db: Session, actor: Actor, document_id: int) -> Document:
    """Bring a document back from the trash."""
    document = get_document(db, actor, document_id, audit_action=None, trashed=True)
    authz.require(actor, Perm.DOCUMENTS_TRASH, client=document.client)
    if document.deleted_at is None:
        return document
    document.deleted_at = None
    document.deleted_by_id = None
    db.add(IndexTask(document_id=document.id, action="index"))
    audit.record(db, actor, "document.restore", object_type="document", object_id=document.id,
                 object_label=document.title[:200])
    db.flush()
    return document


def trashed(db: Session, actor: Actor) -> list[Document]:
    """Return the documents in the trash, most recently deleted first."""
    authz.require(actor, Perm.DOCUMENTS_TRASH)
    stmt = (select(Document).where(Document.deleted_at.is_not(None))
            .options(selectinload(Document.client), selectinload(Document.deleted_by),
                     selectinload(Document.versions).options(defer(DocumentVersion.text)))
            .order_by(Document.deleted_at.desc()))
    return list(db.scalars(stmt))


def empty_trash(db: Session, actor: Actor, storage: Storage) -> int:
    """Delete the trashed documents for good; their files go when nothing else refers to them.

    Rows first; once they are committed, each file is removed under its lock if no version
    refers to it any more (``files.release``), so a filing of the same content at the same
    moment keeps its file. A crash in between leaves an orphan file that ``portal check``
    reports and ``portal check --repair`` removes, never a row without its file.
    """
    authz.require(actor, Perm.DOCUMENTS_TRASH)
    documents = trashed(db, actor)
    digests = {v.sha256 for d in documents for v in d.versions}
    for document in documents:
        audit.record(db, actor, "document.purge", object_type="document",
                     object_id=document.id, object_label=document.title[:200])
        db.delete(document)
    db.flush()
    engine = db.get_bind()
    on_commit(db, lambda: files.release(engine, storage, digests))
    return len(documents)
