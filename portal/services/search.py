"""Document search with permissions applied inside the query, and the index work queue."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from datetime import date

from sqlalchemy import and_, delete, func, select
from sqlalchemy.orm import Session, aliased, selectinload

from portal.models.clients import Client
from portal.models.documents import Document, DocumentVersion, IndexTask, TextStatus
from portal.search.backend import (
    MAX_QUERY_LENGTH,
    MAX_RESULTS,
    IndexDoc,
    SearchBackend,
    SearchQuery,
)
from portal.services.base import Actor, Page
from portal.services.clients import visibility

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class DocSearch:
    """What the user asked for on the search page."""

    q: str = ""
    client_id: int | None = None
    doc_types: tuple[str, ...] = ()
    tags: tuple[str, ...] = ()
    date_from: date | None = None
    date_to: date | None = None
    sort: str = "relevance"
    page: int = 1


@dataclass(frozen=True)
class Found:
    document: Document
    passages: list[str]
    #: The title with its matching words marked (escaped HTML), if any matched.
    title: str | None = None


@dataclass(frozen=True)
class DocResults(Page[Found]):
    """A page of search results; a search pages through at most MAX_RESULTS of them."""

    partial: bool = False
    suggestion: str | None = None
    error: str | None = None
    #: Documents whose index work is still queued.
    pending: int = 0
    #: Documents in the current scope (filters, not words) that have no searchable text.
    without_text: int = 0
    terms: tuple[str, ...] = field(default=())

    @property
    def pages(self) -> int:
        return max(1, -(-min(self.total, MAX_RESULTS) // self.per_page))


def hidden_client_ids(db: Session, actor: Actor) -> frozenset[int]:
    """Return the ids of clients whose documents ``actor`` may not see.

    Written as "not among the visible ones" rather than NOT(visibility): the visibility test
    compares ``coordinator_id`` and is NULL, not false, for a client without a coordinator.
    """
    visible = select(Client.id).where(visibility(actor))
    return frozenset(db.scalars(select(Client.id).where(Client.id.not_in(visible))))


def _scope(actor: Actor, params: DocSearch):
    """Return the WHERE clause of the documents a search may show (everything but the words)."""
    conditions = [Document.deleted_at.is_(None), visibility(actor)]
    if params.client_id is not None:
        conditions.append(Document.client_id == params.client_id)
    if params.doc_types:
        conditions.append(Document.doc_type.in_(params.doc_types))
    for tag in params.tags:
        conditions.append(Document.tags.contains(f"|{tag}|", autoescape=True))
    if params.date_from:
        conditions.append(Document.doc_date >= params.date_from)
    if params.date_to:
        conditions.append(Document.doc_date <= params.date_to)
    return and_(*conditions)


def _current_version():
    other = aliased(DocumentVersion)
    newest = (select(func.max(other.number)).where(other.document_id == Document.id)
              .correlate(Document).scalar_subquery())
    return and_(DocumentVersion.document_id == Document.id, DocumentVersion.number == newest)


def count_without_text(db: Session, actor: Actor, params: DocSearch) -> int:
    """Count the documents in scope whose current version has no searchable text."""
    # Start from the few versions without text (indexed), not from every document in scope.
    without = [s for s in TextStatus if s is not TextStatus.TEXT]
    stmt = (select(func.count(Document.id)).select_from(DocumentVersion)
            .join(Document, _current_version())
            .join(Client, Client.id == Document.client_id)
            .where(DocumentVersion.text_status.in_(without), _scope(actor, params)))
    return db.scalar(stmt) or 0


def pending_count(db: Session) -> int:
    """Count documents with index work still queued."""
    return db.scalar(select(func.count(func.distinct(IndexTask.document_id)))) or 0


#: Typographic quotes people type (or copy from the placeholder) mean a phrase too.
_QUOTES = str.maketrans({"„": '"', "“": '"', "”": '"', "»": '"', "«": '"'})


def list_documents(db: Session, actor: Actor, params: DocSearch, *,
                   per_page: int = 20) -> DocResults:
    """List the documents in scope newest first, straight from the database (no words given).

    The index is not needed for this, so a document filed a moment ago is listed at once.
    """
    scope = _scope(actor, params)
    base = select(Document).join(Client, Client.id == Document.client_id).where(scope)
    total = db.scalar(select(func.count()).select_from(base.subquery())) or 0
    pages = max(1, -(-min(total, MAX_RESULTS) // per_page))
    page = max(1, min(params.page, pages))
    stmt = (base.options(selectinload(Document.versions), selectinload(Document.client))
            .order_by(func.coalesce(Document.doc_date, func.date(Document.created_at)).desc(),
                      Document.id.desc())
            .limit(per_page).offset((page - 1) * per_page))
    items = [Found(d, []) for d in db.scalars(stmt)]
    return DocResults(items=items, total=total, page=page, per_page=per_page,
                      pending=pending_count(db), without_text=count_without_text(db, actor, params))


def search_documents(db: Session, actor: Actor, backend: SearchBackend, params: DocSearch,
                     *, per_page: int = 10, time_limit: float = 2.0) -> DocResults:
    """Search the filing system as ``actor``; highlight only the page shown, from the database."""
    words = params.q.translate(_QUOTES).strip()
    if not words:
        return list_documents(db, actor, params, per_page=per_page)
    query = SearchQuery(
        text=words[:MAX_QUERY_LENGTH], hidden_client_ids=hidden_client_ids(db, actor),
        client_id=params.client_id, doc_types=params.doc_types, tags=params.tags,
        date_from=params.date_from, date_to=params.date_to, sort=params.sort,
        page=max(1, min(params.page, MAX_RESULTS // per_page)), per_page=per_page,
        time_limit=time_limit,
    )
    result = backend.search(query)
    ids = [hit.doc_id for hit in result.hits]
    rows = {}
    if ids:
        stmt = (select(Document).join(Client, Client.id == Document.client_id)
                .where(Document.id.in_(ids), _scope(actor, params))
                .options(selectinload(Document.versions), selectinload(Document.client)))
        rows = {d.id: d for d in db.scalars(stmt)}
    items = []
    for doc_id in ids:
        document = rows.get(doc_id)
        if document is None:
            continue  # deleted or hidden since it was indexed: never shown
        passages = backend.highlight(document.current.text, query)
        title = backend.highlight(document.title, query, whole=True)
        items.append(Found(document, passages, title[0] if title else None))
    return DocResults(
        items=items, total=result.total, page=query.page, per_page=per_page,
        partial=result.partial, suggestion=result.suggestion, error=result.error,
        pending=pending_count(db), without_text=count_without_text(db, actor, params),
        terms=result.terms,
    )


def index_doc(document: Document) -> IndexDoc:
    """Return what the index needs to know of a document."""
    version = document.current
    return IndexDoc(
        doc_id=document.id, client_id=document.client_id, doc_type=document.doc_type.value,
        title=document.title, text=version.text, tags=tuple(document.tag_list),
        doc_date=document.doc_date or version.uploaded_at.date(),
    )


def _load(db: Session, ids: Sequence[int]) -> dict[int, Document]:
    stmt = (select(Document).where(Document.id.in_(ids), Document.deleted_at.is_(None))
            .options(selectinload(Document.versions)))
    return {d.id: d for d in db.scalars(stmt)}


def apply_batch(db: Session, backend: SearchBackend, *, batch: int = 200,
                wait: bool = False) -> int | None:
    """Apply the oldest queued index work; return how many documents were done (0: queue
    empty), or None when another process holds the index writer (it, or the next one, will
    apply the rest). The done task rows are deleted in ``db``'s transaction, after the index
    committed them: a crash in between leaves them queued, and applying twice is harmless."""
    tasks = db.scalars(select(IndexTask).order_by(IndexTask.id).limit(batch)).all()
    if not tasks:
        return 0
    last_id = tasks[-1].id
    ids = sorted({t.document_id for t in tasks})
    live = _load(db, ids)
    docs = [index_doc(live[i]) for i in ids if i in live]
    gone = [i for i in ids if i not in live]
    if wait:
        backend.delete(gone)
        backend.index(docs)
    elif not backend.try_index(docs, gone):
        log.info("index writer busy: %s tasks left for its holder", len(tasks))
        return None
    db.execute(delete(IndexTask).where(IndexTask.id <= last_id,
                                       IndexTask.document_id.in_(ids)))
    db.flush()
    return len(ids)


def live_documents(db: Session, batch: int = 500) -> Iterator[list[IndexDoc]]:
    """Yield every live document as index input, in batches by id."""
    last = 0
    while True:
        stmt = (select(Document).where(Document.deleted_at.is_(None), Document.id > last)
                .order_by(Document.id).limit(batch).options(selectinload(Document.versions)))
        documents = list(db.scalars(stmt))
        if not documents:
            return
        last = documents[-1].id
        yield [index_doc(d) for d in documents]
        db.expunge_all()


def reindex(db: Session, backend: SearchBackend, *, batch: int = 500,
            progress: Callable[[int], None] | None = None) -> int:
    """Rebuild the index from the database; queued work from before the rebuild is dropped."""
    started_at = db.scalar(select(func.max(IndexTask.id))) or 0

    def batches():
        for docs in live_documents(db, batch):
            if progress:
                progress(len(docs))
            yield docs

    count = backend.rebuild(batches())
    db.execute(delete(IndexTask).where(IndexTask.id <= started_at))
    db.flush()
    return count


def with_page(params: DocSearch, page: int) -> DocSearch:
    return replace(params, page=page)
