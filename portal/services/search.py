"""Document search with permissions applied inside the query, and the index work queue.

When the index cannot answer (its folder was deleted, it was created empty, its files are
damaged), a search looks for the words in the titles, tags and file names of the documents
in scope instead, says that the results are incomplete, and asks for the index to be rebuilt
(``repair``, which the caller provides: the web starts a background rebuild).
"""

from __future__ import annotations

import logging
import re
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date

from sqlalchemy import and_, delete, func, or_, select
from sqlalchemy.orm import Session, aliased, defer, selectinload

from portal.models.clients import Client
from portal.models.documents import Document, DocumentVersion, IndexTask, TextStatus
from portal.search.analysis import WORD_RE, fold, parse_query
from portal.search.backend import (
    MAX_QUERY_LENGTH,
    MAX_RESULTS,
    IndexDoc,
    IndexState,
    IndexUnavailable,
    SearchBackend,
    SearchQuery,
)
from portal.services.base import Actor, Page
from portal.services.clients import visibility, visible_clients

log = logging.getLogger(__name__)

#: Characters of a hit's text that are read from the database to highlight passages in.
HIGHLIGHT_CHARS = 100_000


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
    #: Documents whose index work is still queued.
    pending: int = 0
    #: Documents in the current scope (filters, not words) that have no searchable text.
    without_text: int = 0
    #: "ok"; or, when the index could not be used and only titles, tags and file names were
    #: searched: "rebuilding" (a rebuild is under way) or "error" (it is not).
    index: str = "ok"

    @property
    def pages(self) -> int:
        return max(1, -(-min(self.total, MAX_RESULTS) // self.per_page))


@dataclass(frozen=True)
class ClientInQuery:
    """A client the search box named (by number, or by whole name at the start or the end)."""

    #: The one client named; None when several visible clients share the name typed.
    client: Client | None
    #: What of the query named the client, as typed.
    named: str
    #: The rest of the query: the words to look for in that client's documents.
    words: str
    #: The visible clients that share the name typed, when there are several.
    candidates: tuple[Client, ...] = ()


#: A client number as the portal writes it (``C000123``), in any case.
_CLIENT_NUMBER = re.compile(r"^c\d{6,9}$")
#: Clients looked at for one query at most; the first of several namesakes are offered.
_NAME_CANDIDATES = 10


def _normal(token: str) -> str:
    """Return a query token folded, without punctuation (``Kft.`` -> ``kft``)."""
    return re.sub(r"[^\w]", "", fold(token))


def client_in_query(db: Session, actor: Actor, q: str) -> ClientInQuery | None:
    """Return the client a search query names, if it names one ``actor`` may see.

    A token that is a client number names that client; otherwise the client's whole name
    typed at the start of the query, or at its end (a name of two or three words), accents
    and case optional. A client the actor may not see is never matched, so the answer gives no hint
    of it.
    """
    tokens = q.split()
    if not tokens or any(ch in q for ch in '"„“”'):
        return None
    normal = [_normal(t) for t in tokens]
    for i, token in enumerate(normal):
        if _CLIENT_NUMBER.match(token):
            client = db.scalar(visible_clients(actor).where(Client.number == token.upper()))
            if client is not None:
                return ClientInQuery(client, tokens[i], " ".join(tokens[:i] + tokens[i + 1:]))
    if len(tokens) < 2:
        return None  # a name has two words at least; one word is text
    # The client's folded name begins its search text: a name at the start of the query
    # begins with its first two words, one at the end is its last two or three words. One
    # scan finds the candidates; then each candidate's whole name is compared.
    heads = {fold(" ".join(tokens[:2]))} | {fold(" ".join(tokens[-k:]))
                                           for k in range(2, min(len(tokens), 3) + 1)}
    candidates = db.scalars(
        visible_clients(actor)
        .where(or_(*[func.substr(Client.search_text, 1, len(head) + 1) == head + " "
                     for head in heads], Client.search_text.in_(heads)))
        .order_by(Client.number).limit(_NAME_CANDIDATES)).all()
    best: tuple[int, int] | None = None  # (tokens named, 0 = at the start / 1 = at the end)
    named: dict[tuple[int, int], list[Client]] = {}
    for client in candidates:
        name = [w for w in (_normal(t) for t in client.name.split()) if w]
        size = len(name)
        if size < 2 or size > len(normal):
            continue
        for where, part in ((0, normal[:size]), (1, normal[len(normal) - size:])):
            if part == name:
                named.setdefault((size, where), []).append(client)
                if best is None or size > best[0]:
                    best = (size, where)
                break
    if best is None:
        return None
    size, where = best
    clients = named[best]
    named_tokens = tokens[:size] if where == 0 else tokens[len(tokens) - size:]
    rest = tokens[size:] if where == 0 else tokens[:len(tokens) - size]
    return ClientInQuery(clients[0] if len(clients) == 1 else None, " ".join(named_tokens),
                         " ".join(rest), tuple(clients) if len(clients) > 1 else ())


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


def _shown():
    """Return the loader options of a listed document: its client and its versions without
    their texts (a text can be tens of megabytes; a list shows none of it)."""
    return (selectinload(Document.versions).options(defer(DocumentVersion.text)),
            selectinload(Document.client))


def _newest_first():
    return (func.coalesce(Document.doc_date, func.date(Document.created_at)).desc(),
            Document.id.desc())


def _page_of(db: Session, base, page: int, per_page: int) -> tuple[list[Document], int, int]:
    """Return one page of ``base`` (a select of documents) newest first, the total and the
    page number (kept within the pages there are)."""
    total = db.scalar(select(func.count()).select_from(base.subquery())) or 0
    pages = max(1, -(-min(total, MAX_RESULTS) // per_page))
    page = max(1, min(page, pages))
    stmt = (base.options(*_shown()).order_by(*_newest_first())
            .limit(per_page).offset((page - 1) * per_page))
    return list(db.scalars(stmt)), total, page


def list_documents(db: Session, actor: Actor, params: DocSearch, *,
                   per_page: int = 20) -> DocResults:
    """List the documents in scope newest first, straight from the database (no words given).

    The index is not needed for this, so a document filed a moment ago is listed at once.
    """
    base = select(Document).join(Client, Client.id == Document.client_id).where(
        _scope(actor, params))
    documents, total, page = _page_of(db, base, params.page, per_page)
    return DocResults(items=[Found(d, []) for d in documents], total=total, page=page,
                      per_page=per_page, pending=pending_count(db),
                      without_text=count_without_text(db, actor, params))


def index_state(db: Session, backend: SearchBackend) -> IndexState:
    """Return the index's state; a NEW (empty) index is first declared complete when every
    live document is queued for it (a new installation: the queue then fills it)."""
    state = backend.state()
    if state is IndexState.NEW:
        queued = select(IndexTask.id).where(IndexTask.document_id == Document.id).exists()
        unqueued = db.scalar(select(Document.id).where(Document.deleted_at.is_(None), ~queued)
                             .limit(1))
        if unqueued is None and backend.adopt():
            state = backend.state()
    return state


def search_documents(db: Session, actor: Actor, backend: SearchBackend, params: DocSearch,
                     *, per_page: int = 10, time_limit: float = 2.0,
                     repair: Callable[[], str] | None = None) -> DocResults:
    """Search the filing system as ``actor``; highlight only the page shown, from the database.

    When the index cannot be used, ``repair`` is called (it returns "rebuilding" or "error")
    and the words are looked for in titles, tags and file names instead.
    """
    def repaired() -> str:
        return repair() if repair is not None else "error"

    words = params.q.translate(_QUOTES).strip()
    state = index_state(db, backend)
    # A list needs no index, but the sooner a rebuild starts the better.
    shown = "ok" if state is IndexState.READY else repaired()
    if not words:
        return list_documents(db, actor, params, per_page=per_page)
    query = SearchQuery(
        text=words[:MAX_QUERY_LENGTH], hidden_client_ids=hidden_client_ids(db, actor),
        client_id=params.client_id, doc_types=params.doc_types, tags=params.tags,
        date_from=params.date_from, date_to=params.date_to, sort=params.sort,
        page=max(1, min(params.page, MAX_RESULTS // per_page)), per_page=per_page,
        time_limit=time_limit,
    )
    if state is IndexState.READY:
        try:
            result = backend.search(query)
        except IndexUnavailable as exc:
            log.warning("search index unavailable (%s): searching titles instead", exc)
            shown = repaired()
        else:
            suggestion = result.suggestion and spelled_as_filed(
                db, actor, result.suggestion, words, result.suggestion_docs)
            return _found(db, actor, backend, params, query, [hit.doc_id for hit in result.hits],
                          total=result.total, partial=result.partial,
                          suggestion=suggestion or None)
    return _found_without_index(db, actor, backend, params, query, shown)


def spelled_as_filed(db: Session, actor: Actor, suggestion: str, typed: str,
                     doc_ids: Sequence[int]) -> str:
    """Return ``suggestion`` with each word the user did not type spelled as the documents
    ``doc_ids`` spell it, accents and all (``hitelkepesseg`` -> ``hitelképesség``): an index
    keeps its words folded. Only documents the actor may see are read."""
    wanted = {fold(w) for w in WORD_RE.findall(suggestion)} - {
        fold(w) for w in WORD_RE.findall(typed)}
    if not wanted or not doc_ids:
        return suggestion
    rows = db.execute(
        select(Document.title, func.substr(DocumentVersion.text, 1, HIGHLIGHT_CHARS))
        .join(Client, Client.id == Document.client_id)
        .join(DocumentVersion, _current_version())
        .where(Document.id.in_(list(doc_ids)), _scope(actor, DocSearch()))).all()
    forms: dict[str, Counter[str]] = {}
    for title, text in rows:
        for word in WORD_RE.findall(f"{title} {text or ''}"):
            folded = fold(word)
            if folded in wanted:
                forms.setdefault(folded, Counter())[word.lower()] += 1

    def spelled(match: re.Match) -> str:
        counts = forms.get(fold(match.group()))
        return counts.most_common(1)[0][0] if counts else match.group()

    return WORD_RE.sub(spelled, suggestion)


def _found(db: Session, actor: Actor, backend: SearchBackend, params: DocSearch,
           query: SearchQuery, ids: Sequence[int], **outcome) -> DocResults:
    """Return the page of the documents ``ids`` (in this order) the actor may still see."""
    rows = {}
    if ids:
        stmt = (select(Document).join(Client, Client.id == Document.client_id)
                .where(Document.id.in_(ids), _scope(actor, params)).options(*_shown()))
        rows = {d.id: d for d in db.scalars(stmt)}
    # deleted or hidden since it was indexed: never shown
    documents = [rows[doc_id] for doc_id in ids if doc_id in rows]
    return DocResults(
        items=_highlighted(db, backend, documents, query), page=query.page,
        per_page=query.per_page, pending=pending_count(db),
        without_text=count_without_text(db, actor, params), **outcome,
    )


def _highlighted(db: Session, backend: SearchBackend, documents: Sequence[Document],
                 query: SearchQuery) -> list[Found]:
    """Mark the matches in each document's title and in the first HIGHLIGHT_CHARS
    characters of its current text (only those are read from the database)."""
    version_ids = [d.current.id for d in documents]
    texts: dict[int, str] = {}
    if version_ids:
        texts = dict(db.execute(
            select(DocumentVersion.id, func.substr(DocumentVersion.text, 1, HIGHLIGHT_CHARS))
            .where(DocumentVersion.id.in_(version_ids))).all())
    items = []
    for document in documents:
        passages = backend.highlight(texts.get(document.current.id) or "", query)
        title = backend.highlight(document.title, query, whole=True)
        items.append(Found(document, passages, title[0] if title else None))
    return items


#: Accented letters folded in SQL for the search without an index (Hungarian, and ä).
_ACCENTED = "áéíóöőúüűä"


def _folded(expr):
    """Return a SQL expression of ``expr`` in lower case with the accents of _ACCENTED removed
    (done letter by letter: SQLite's lower() knows only ASCII)."""
    for letter in _ACCENTED + _ACCENTED.upper():
        expr = func.replace(expr, letter, fold(letter))
    return func.lower(expr)


def _found_without_index(db: Session, actor: Actor, backend: SearchBackend,
                         params: DocSearch, query: SearchQuery, shown: str) -> DocResults:
    """Find the documents in scope whose title, tags or current file name contain the query's
    words (any of them after an OR), newest first, without the index."""
    parsed = parse_query(query.text)
    words = [w.rstrip("*") for w in parsed.terms if w.rstrip("*")]
    haystack = _folded(Document.title + " " + Document.tags + " "
                       + DocumentVersion.original_name)
    matches = [haystack.contains(word, autoescape=True) for word in words]
    base = (select(Document).join(Client, Client.id == Document.client_id)
            .join(DocumentVersion, _current_version())
            .where(_scope(actor, params)))
    if matches:
        base = base.where(or_(*matches) if parsed.has_or else and_(*matches))
    documents, total, page = _page_of(db, base, query.page, query.per_page)
    return DocResults(
        items=_highlighted(db, backend, documents, query), total=total, page=page,
        per_page=query.per_page, pending=pending_count(db),
        without_text=count_without_text(db, actor, params), index=shown,
    )


def index_doc(document: Document, text: str | None = None) -> IndexDoc:
    """Return what the index needs to know of a document (``text``: its current text, when
    it was loaded apart from the document)."""
    version = document.current
    return IndexDoc(
        doc_id=document.id, client_id=document.client_id, doc_type=document.doc_type.value,
        title=document.title, text=version.text if text is None else text,
        tags=tuple(document.tag_list), doc_date=document.doc_date or version.uploaded_at.date(),
    )


def _index_docs(db: Session, condition, *, limit: int | None = None) -> list[IndexDoc]:
    """Return the index input of the live documents meeting ``condition``, by id; only the
    current version's text is read (older versions' texts are not needed)."""
    stmt = (select(Document).where(condition, Document.deleted_at.is_(None))
            .order_by(Document.id).limit(limit)
            .options(selectinload(Document.versions).options(defer(DocumentVersion.text))))
    documents = list(db.scalars(stmt))
    if not documents:
        return []
    texts = dict(db.execute(select(DocumentVersion.id, DocumentVersion.text).where(
        DocumentVersion.id.in_([d.current.id for d in documents]))).all())
    return [index_doc(d, texts[d.current.id] or "") for d in documents]


def apply_batch(db: Session, backend: SearchBackend, *, batch: int = 200,
                wait: bool = False) -> int | None:
    """Apply the oldest queued index work; return how many documents were done (0: queue
    empty), or None when another process holds the index writer (it, or the next one, will
    apply the rest) or when the index is not READY (a rebuild will take the work in). The
    done task rows are deleted in ``db``'s transaction, after the index committed them: a
    crash in between leaves them queued, and applying twice is harmless."""
    tasks = db.scalars(select(IndexTask).order_by(IndexTask.id).limit(batch)).all()
    if not tasks:
        return 0
    if index_state(db, backend) is not IndexState.READY:
        log.info("search index not ready: %s tasks wait for its rebuild", len(tasks))
        return None
    last_id = tasks[-1].id
    ids = sorted({t.document_id for t in tasks})
    docs = _index_docs(db, Document.id.in_(ids))
    live = {doc.doc_id for doc in docs}
    gone = [i for i in ids if i not in live]
    try:
        if wait:
            backend.delete(gone)
            backend.index(docs)
        elif not backend.try_index(docs, gone):
            log.info("index writer busy: %s tasks left for its holder", len(tasks))
            return None
    except IndexUnavailable as exc:
        log.info("search index unavailable (%s): %s tasks wait for its rebuild", exc, len(tasks))
        return None
    db.execute(delete(IndexTask).where(IndexTask.id <= last_id,
                                       IndexTask.document_id.in_(ids)))
    db.flush()
    return len(ids)


def live_batch(db: Session, after: int, batch: int = 500) -> list[IndexDoc]:
    """Return the index input of up to ``batch`` live documents with ids above ``after``."""
    return _index_docs(db, Document.id > after, limit=batch)


def live_documents(db: Session, batch: int = 500) -> Iterator[list[IndexDoc]]:
    """Yield every live document as index input, in batches by id."""
    last = 0
    while docs := live_batch(db, last, batch):
        last = docs[-1].doc_id
        yield docs
        db.expunge_all()


def queue_mark(db: Session) -> int:
    """Return the id of the newest queued task (0 when none): a rebuild starting now takes
    in the work of every task up to it."""
    return db.scalar(select(func.max(IndexTask.id))) or 0


def drop_tasks(db: Session, up_to: int) -> None:
    """Delete the queued tasks up to ``up_to`` (a rebuild took their work in)."""
    db.execute(delete(IndexTask).where(IndexTask.id <= up_to))
    db.flush()


def reindex(db: Session, backend: SearchBackend, *, batch: int = 500,
            progress: Callable[[int], None] | None = None) -> int:
    """Rebuild the index from the database; queued work from before the rebuild is dropped."""
    started_at = queue_mark(db)

    def batches():
        for docs in live_documents(db, batch):
            if progress:
                progress(len(docs))
            yield docs

    count = backend.rebuild(batches()) or 0
    drop_tasks(db, started_at)
    return count
