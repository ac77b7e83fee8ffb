"""The Whoosh search backend: one index directory on local disk, shared by all processes.

Fields: ``exact``/``title`` hold folded words with positions (phrases, prefixes, spelling),
``stem``/``title_stem`` the stems of each word (see ``analysis``); ``doc_id`` (unique, stored,
sortable), ``client_id``, ``doc_type``, ``tags`` and ``doc_date`` (yyyymmdd, sortable) serve
filters, the mask of hidden clients and sorting. The text itself is not stored.

Filters are clauses of the query (``Require``). Hidden clients' documents are skipped by the
collector (``_Gate``) against a set of document numbers per segment, computed once per segment
and set of hidden clients: as a query clause (``AndNot`` of an ``Or`` over the hidden clients)
the mask cost more than the search itself (at 20k documents, p50 71 ms unmasked, 118 ms for a
coordinator, 316 ms for a clerk). Whoosh's own ``mask=``/``FilterCollector`` is not used: its
``TimeLimitCollector`` calls its child's ``collect`` directly, which would skip the filter.
The time limit is checked between matching documents (no SIGALRM: it only works in the main
thread and fires process-wide), so one slow matcher can overrun it.

Whether the index is complete is kept beside it, in marker files: ``portal-index-complete``
is written into a rebuilt index before it is swapped in (and into a readable index from before
the markers, once); ``portal-index-new`` into an index created empty because the folder was
missing. A NEW index takes no changes, so it stays empty until either every live document is
known to be queued for it (``adopt``) or a rebuild replaces it. A missing folder, a missing
marker or files that cannot be opened make the index DAMAGED; the state is checked on every
search (two ``stat`` calls and the directory listing Whoosh makes anyway).

A segment file truncated while a process has it mapped into memory kills that process with
SIGBUS (Whoosh maps segment files); damage found when the files are opened is reported.
"""

from __future__ import annotations

import logging
import os
import shutil
import tempfile
import threading
import time
from array import array
from collections import OrderedDict
from collections.abc import Iterable, Sequence
from contextlib import contextmanager
from datetime import date
from functools import lru_cache
from pathlib import Path

from whoosh import index as whoosh_index
from whoosh import query as wq
from whoosh.collectors import SortingCollector, TimeLimit, TopCollector, WrappingCollector
from whoosh.fields import ID, KEYWORD, NUMERIC, TEXT, Schema
from whoosh.filedb.filestore import FileStorage, RamStorage
from whoosh.index import TOC, EmptyIndexError, LockError
from whoosh.reading import EmptyReader, MultiReader, SegmentReader, TermNotFound
from whoosh.scoring import BM25F, BM25FScorer
from whoosh.searching import Searcher
from whoosh.sorting import FieldFacet, MultiFacet
from whoosh.util.filelock import FileLock, try_for
from whoosh.writing import NO_MERGE

from . import analysis
from .analysis import ParsedQuery, parse_query, word_query
from .backend import (
    MAX_QUERY_LENGTH,
    MAX_RESULTS,
    Hit,
    IndexDoc,
    IndexState,
    IndexUnavailable,
    SearchBackend,
    SearchQuery,
    SearchResult,
)

logger = logging.getLogger(__name__)

#: Seconds ``index``, ``delete`` and ``rebuild`` wait for the index's write lock.
LOCK_TIMEOUT = 30.0
#: Memory (MB) a rebuild's writer may pool postings in. A segment is written when the pool is
#: three quarters full (about 2,500 documents of 10 KB): a pool that overflows spills sorted
#: runs to disk and merges them back in Python, and merging segments goes through the same
#: pool, so both are avoided (merging 10 segments of 500 documents took longer than indexing
#: them). The process needs about this much memory more while it rebuilds.
REBUILD_POOL_MB = 1024
#: Hidden-document sets kept (per segment and set of hidden clients).
HIDDEN_CACHE_SIZE = 256
#: Documents a suggestion's words are spelled from (their accents; the index keeps none).
SPELLING_DOCS = 3
#: Characters of a document's text that are indexed.
MAX_INDEX_CHARS = 5_000_000
#: Whoosh's name of the index in its folder (its files are ``_MAIN_<n>.toc``, ``MAIN_*.seg``).
INDEXNAME = "MAIN"
#: Marker files in the index folder (see the module docstring).
COMPLETE_MARKER = "portal-index-complete"
NEW_MARKER = "portal-index-new"

SCHEMA = Schema(
    doc_id=NUMERIC(int, bits=64, signed=False, unique=True, stored=True, sortable=True),
    client_id=ID(),
    doc_type=ID(),
    tags=KEYWORD(lowercase=True, commas=True),
    doc_date=NUMERIC(int, bits=32, sortable=True, default=0),  # undated sorts as oldest
    title=TEXT(analyzer=analysis.exact_analyzer(), phrase=True),
    title_stem=TEXT(analyzer=analysis.stem_analyzer(), phrase=False),
    exact=TEXT(analyzer=analysis.exact_analyzer(), phrase=True),
    stem=TEXT(analyzer=analysis.stem_analyzer(), phrase=False),
)
_NEWEST_FIRST = MultiFacet([FieldFacet("doc_date", reverse=True),
                            FieldFacet("doc_id", reverse=True)])


def _day(value: date | None) -> int | None:
    """Return a date as the integer yyyymmdd."""
    return None if value is None else value.year * 10000 + value.month * 100 + value.day


def _fields(doc: IndexDoc) -> dict:
    """Return the index fields of a document."""
    text = doc.text
    if len(text) > MAX_INDEX_CHARS:
        logger.warning("document %s: indexing only %d characters", doc.doc_id, MAX_INDEX_CHARS)
        text = text[:MAX_INDEX_CHARS]
    fields = {"doc_id": doc.doc_id, "client_id": str(doc.client_id), "doc_type": doc.doc_type,
              "title": doc.title, "title_stem": doc.title, "exact": text, "stem": text,
              "tags": ",".join(t.strip().lower() for t in doc.tags if t.strip())}
    if doc.doc_date is not None:
        fields["doc_date"] = _day(doc.doc_date)
    return fields


def constrain(q: wq.Query, sq: SearchQuery) -> wq.Query:
    """Return the query restricted to the filters (the hidden clients are left to _Gate)."""
    filters: list[wq.Query] = []
    if sq.client_id is not None:
        filters.append(wq.Term("client_id", str(sq.client_id)))
    if sq.doc_types:
        filters.append(wq.Or([wq.Term("doc_type", t) for t in sq.doc_types]))
    filters += [wq.Term("tags", t.strip().lower()) for t in sq.tags if t.strip()]
    if sq.date_from is not None or sq.date_to is not None:
        filters.append(wq.NumericRange("doc_date", _day(sq.date_from), _day(sq.date_to)))
    if filters:
        q = wq.Require(q, wq.And(filters))
    return q


#: Document numbers (in one segment) of hidden clients' documents.
Hidden = dict[int, frozenset[int]]  # leaf offset -> segment-relative document numbers
_NOTHING: frozenset[int] = frozenset()


class _Gate(WrappingCollector):
    """Pass matches to the child collector, skipping hidden documents, until a deadline.

    The child counts only what it is given, so totals leave the hidden documents out.
    """

    clock = staticmethod(time.perf_counter)

    def __init__(self, child, hidden: Hidden, timelimit: float) -> None:
        super().__init__(child)
        self.hidden, self.timelimit = hidden, timelimit
        self.skip, self.deadline = _NOTHING, 0.0

    def prepare(self, top_searcher, q, context):
        self.child.prepare(top_searcher, q, context)
        self.deadline = self.clock() + self.timelimit

    def set_subsearcher(self, subsearcher, offset):
        super().set_subsearcher(subsearcher, offset)
        self.skip = self.hidden.get(offset, _NOTHING)

    def collect_matches(self):
        child, skip, deadline, clock = self.child, self.skip, self.deadline, self.clock
        for sub_docnum in child.matches():
            if clock() > deadline:
                raise TimeLimit
            if sub_docnum not in skip:
                child.collect(sub_docnum)


class _NewestCollector(SortingCollector):
    """Sort by a facet but keep at most about ``2 * limit`` items in memory."""

    def collect(self, sub_docnum):
        key = super().collect(sub_docnum)
        if len(self.items) >= 2 * self.limit:
            self.items.sort(reverse=self.reverse)
            del self.items[self.limit :]
        return key


class _LengthCachedBM25F(BM25F):
    """Whoosh's BM25F, reading each document's field length from a list kept per segment.

    Whoosh reads the length through six calls down to a column file for every posting it
    scores, which was half of a word query's time. The lists are filled once per segment
    and field (a segment's documents never change) and dropped with the segment.
    """

    def __init__(self) -> None:
        super().__init__()
        self.lengths: dict[tuple[str, str], array] = {}

    def scorer(self, searcher, fieldname, text, qf=1):
        reader = searcher.reader()
        if not searcher.schema[fieldname].scorable or not isinstance(reader, SegmentReader):
            return super().scorer(searcher, fieldname, text, qf)
        key = (reader.segment().segment_id(), fieldname)
        lengths = self.lengths.get(key)
        if lengths is None:
            lengths = self.lengths[key] = array("I", (
                reader.doc_field_length(n, fieldname, 1) or 0
                for n in range(reader.doc_count_all())))
        return _LengthCachedScorer(searcher, fieldname, text, self.B, self.K1, qf, lengths)

    def keep_only(self, segment_ids: set[str]) -> None:
        """Forget the lists of segments that are gone."""
        for key in [k for k in self.lengths if k[0] not in segment_ids]:
            del self.lengths[key]


class _LengthCachedScorer(BM25FScorer):
    def __init__(self, searcher, fieldname, text, B, K1, qf, lengths: array) -> None:
        super().__init__(searcher, fieldname, text, B, K1, qf=qf)
        self.lengths = lengths

    def score(self, matcher):
        return self._score(matcher.weight(), self.lengths[matcher.id()])


class _Storage(FileStorage):
    """Whoosh's file storage, closing the files that a failed open left open (Whoosh does
    not: a damaged segment would leave its file open until the garbage collector came)."""

    def __init__(self, path: str) -> None:
        super().__init__(path)
        self._opening = threading.local()

    def open_file(self, name, **kwargs):
        f = super().open_file(name, **kwargs)
        opened = getattr(self._opening, "files", None)
        if opened is not None:
            opened.append(f)
        return f

    @contextmanager
    def closing_on_failure(self):
        """Close the files opened in this block (by this thread) if the block fails."""
        self._opening.files = opened = []
        try:
            yield
        except BaseException:
            for f in opened:
                try:
                    f.close()
                except Exception:  # noqa: BLE001, S110 - closing what may be half-open
                    pass
            raise
        finally:
            self._opening.files = None


class WhooshBackend(SearchBackend):
    """Search with Whoosh in ``index_dir``; one refreshed searcher per instance."""

    def __init__(self, index_dir: Path) -> None:
        self._dir = Path(index_dir)
        self._storage = _Storage(str(self._dir))
        self._lock = threading.RLock()
        self._ix: whoosh_index.FileIndex | None = None
        self._searcher: Searcher | None = None
        #: The TOC file the searcher was opened on: (generation, inode, mtime, size).
        self._key: tuple | None = None
        #: The last reason the index could not be used (logged once, not on every search).
        self._problem: str | None = None
        #: The TOC key last seen, and the one found damaged: it is not opened again until
        #: something changes on disk (a search meanwhile costs a stat, not a failed open).
        self._seen_key: tuple | None = None
        self._bad_key: tuple | None = None
        self._hidden_cache: OrderedDict[tuple, frozenset[int]] = OrderedDict()
        self._weighting = _LengthCachedBM25F()
        try:
            self._create_if_missing()
        except OSError as exc:
            self._damaged(exc)
        self.state()  # opens the searcher of a complete index now, not in the first search

    @contextmanager
    def _swap_lock(self):
        """Hold the lock (a file beside the index folder) that creating and swapping take."""
        lock = FileLock(str(self._dir.parent / f".{self._dir.name}.lock"))
        lock.acquire(blocking=True)
        try:
            yield
        finally:
            lock.release()

    def _create_if_missing(self) -> None:
        """Create an empty index marked NEW (under a lock, once) if the folder holds none."""
        self._dir.mkdir(parents=True, exist_ok=True)
        if TOC._latest_generation(self._storage, INDEXNAME) >= 0:
            return
        with self._swap_lock():
            if TOC._latest_generation(self._storage, INDEXNAME) < 0:
                logger.info("no search index in %s: created an empty one, to be filled from the "
                            "database", self._dir)
                (self._dir / NEW_MARKER).touch()  # before the TOC: see _marker
                (self._dir / COMPLETE_MARKER).unlink(missing_ok=True)
                whoosh_index.create_in(self._dir, SCHEMA)

    def _marker(self) -> IndexState | None:
        """Return what the markers say: READY, NEW, or None (no marker, or no folder)."""
        if (self._dir / COMPLETE_MARKER).exists():
            return IndexState.READY
        if (self._dir / NEW_MARKER).exists():
            return IndexState.NEW
        return None

    def _damaged(self, exc: BaseException, key: tuple | None = None) -> IndexUnavailable:
        """Forget the searcher of an index that cannot be used; return the error to raise.

        ``key``: the TOC key the failure was found at (not tried again until it changes).
        """
        detail = f"{type(exc).__name__}: {exc}"
        if detail != self._problem:
            logger.error("search index %s cannot be used (%s); it must be rebuilt",
                         self._dir, detail)
            self._problem = detail
        with self._lock:
            self._close_searcher()
            self._ix, self._bad_key = None, key
        return IndexUnavailable(IndexState.DAMAGED, detail)

    def state(self) -> IndexState:
        """Return whether the index is complete, new and empty, or damaged."""
        with self._lock:
            try:
                self._fresh()
            except IndexUnavailable as exc:
                return exc.state
        return IndexState.READY

    def _fresh(self) -> Searcher:
        """Return a searcher on the latest commit of a complete index (lock held).

        Raises IndexUnavailable when the index is NEW or cannot be opened.
        """
        marker = self._marker()
        if marker is IndexState.NEW:
            raise IndexUnavailable(IndexState.NEW)
        try:
            searcher = self._open_latest()
        except IndexUnavailable:
            raise
        except Exception as exc:  # whatever reading damaged files raises
            raise self._damaged(exc, self._seen_key) from exc
        if marker is None:  # a readable index from before the markers: complete
            try:
                self._mark_complete(self._dir)
                logger.info("search index %s adopted as complete", self._dir)
            except OSError:
                logger.warning("could not mark the search index %s complete", self._dir,
                               exc_info=True)
        self._problem = None
        return searcher

    def _read_toc(self, generation: int) -> TOC:
        """Read a TOC file; through memory, because Whoosh leaves the file open when it
        cannot parse it."""
        name = TOC._filename(INDEXNAME, generation)
        memory = RamStorage()
        memory.files[name] = (self._dir / name).read_bytes()
        return TOC.read(memory, INDEXNAME, generation, schema=SCHEMA)

    def _disk_key(self) -> tuple:
        """Return (generation, inode, mtime, size) of the latest TOC file, or ("missing",)."""
        generation = TOC._latest_generation(self._storage, INDEXNAME)
        if generation < 0:
            return ("missing",)
        stat = os.stat(self._dir / TOC._filename(INDEXNAME, generation))
        return (generation, stat.st_ino, stat.st_mtime_ns, stat.st_size)

    def _open_latest(self) -> Searcher:
        """Open a searcher on the latest TOC, reusing unchanged segments (lock held).

        A TOC whose key changes while it is read (a commit or a rebuild's swap) is tried
        again a few times; one found damaged before is not opened again while unchanged.
        """
        for attempt in range(5):
            try:
                key = self._disk_key()
                if key == self._bad_key:
                    raise IndexUnavailable(IndexState.DAMAGED, self._problem or "")
                self._seen_key = key
                if key == ("missing",):
                    raise EmptyIndexError(f"no index in {self._dir}")
                if key == self._key and self._searcher is not None:
                    return self._searcher
                toc = self._read_toc(key[0])
                with self._storage.closing_on_failure():
                    if self._ix is None:  # reads the TOC again, known to be readable
                        self._ix = whoosh_index.FileIndex(self._storage, SCHEMA, INDEXNAME)
                    reader = self._reader(toc)
                break
            except (OSError, EmptyIndexError):  # a commit or a rebuild's swap in between
                if attempt == 4:
                    raise
                time.sleep(0.02 * (attempt + 1))
        self._searcher = Searcher(reader, fromindex=self._ix, weighting=self._weighting)
        self._key, self._bad_key = key, None
        self._weighting.keep_only({segment.segment_id() for segment in toc.segments})
        return self._searcher

    @staticmethod
    def _mark_complete(directory: Path) -> None:
        """Write the marker saying the index in ``directory`` is complete (COMPLETE first)."""
        (directory / COMPLETE_MARKER).write_text(
            f"complete since {time.strftime('%Y-%m-%d %H:%M:%S %z')}\n")
        (directory / NEW_MARKER).unlink(missing_ok=True)

    def adopt(self) -> bool:
        """Declare a NEW, empty index complete (every live document is queued for it).

        Taken under the write lock, so that a rebuild swapping in meanwhile is not marked;
        False when the writer is busy or the index is not new and empty.
        """
        try:
            lock = self._storage.lock(f"{INDEXNAME}_WRITELOCK")
            if not lock.acquire(blocking=False):
                return False
        except OSError:
            return False
        try:
            with self._lock:
                if self._marker() is not IndexState.NEW:
                    return self._marker() is IndexState.READY
                try:
                    toc = self._read_toc(TOC._latest_generation(self._storage, INDEXNAME))
                except Exception:  # noqa: BLE001 - not readable: a rebuild will replace it
                    return False
                if toc.segments:  # it was written to after all: only a rebuild can tell
                    return False
                try:
                    self._mark_complete(self._dir)
                except OSError:
                    logger.warning("could not mark the search index %s complete", self._dir,
                                   exc_info=True)
                    return False
                logger.info("new search index %s adopted: every document is queued for it",
                            self._dir)
                return True
        finally:
            lock.release()

    def _reader(self, toc):
        """Open a reader on the TOC's segments, reusing the current searcher's readers.

        Not ``Searcher.refresh()``: whoosh-reloaded 2.7.5 adds the old reader's segments to
        the new ones there, so merged-away segments (and their documents) come back. A reader
        is reused only if its segment has the same id and the same number of deletions.
        """
        leaves = self._searcher.reader().leaf_readers() if self._searcher else []
        old = {(leaf.segment().segment_id(), leaf.segment().deleted_count()): leaf
               for leaf, _ in leaves if leaf.segment() is not None}
        readers, opened = [], []
        try:
            for segment in toc.segments:
                leaf = old.pop((segment.segment_id(), segment.deleted_count()), None)
                if leaf is None:
                    leaf = SegmentReader(self._storage, toc.schema, segment,
                                         generation=toc.generation)
                    opened.append(leaf)
                readers.append(leaf)
        except BaseException:
            for leaf in opened:
                leaf.close()
            raise
        for leaf in old.values():  # not reused; the current searcher is dropped, not closed
            leaf.close()
        if not readers:
            return EmptyReader(toc.schema)
        return readers[0] if len(readers) == 1 else MultiReader(readers, generation=toc.generation)

    def _writer(self, timeout: float):
        """Return a writer on a READY index; raise IndexUnavailable otherwise, LockError when
        the writer is not free within ``timeout`` seconds."""
        with self._lock:
            self._fresh()
            ix = self._ix
        try:
            writer = ix.writer(timeout=timeout)
        except LockError:
            raise
        except Exception as exc:  # the TOC cannot be read
            raise self._damaged(exc) from exc
        try:  # a rebuild may have swapped in, or the folder gone, while we waited
            with self._lock:
                self._fresh()
        except BaseException:
            writer.cancel()
            raise
        return writer

    def _apply(self, writer, docs: Sequence[IndexDoc], deletions: Iterable[int]) -> None:
        """Write changes with an open writer and commit (the writer holds the lock)."""
        try:
            latest = {doc.doc_id: doc for doc in docs}
            with self._lock:  # under the write lock nobody else can commit meanwhile
                searcher = self._fresh()
                known = {i for i in latest if searcher.document_number(doc_id=i) is not None}
            for doc_id in deletions:
                writer.delete_by_term("doc_id", doc_id)
            for doc_id, doc in latest.items():
                # update_document has to delete first, which is slow: only for known ids
                add = writer.update_document if doc_id in known else writer.add_document
                add(**_fields(doc))
        except BaseException:
            writer.cancel()
            raise
        writer.commit()

    def index(self, docs: Iterable[IndexDoc]) -> int:
        """Add or replace documents, waiting up to LOCK_TIMEOUT s for the writer."""
        docs = list(docs)
        if docs:
            started = time.perf_counter()
            self._apply(self._writer(LOCK_TIMEOUT), docs, ())
            logger.debug("indexed %d documents in %.3f s", len(docs), time.perf_counter() - started)
        return len(docs)

    def try_index(self, docs: Iterable[IndexDoc], deletions: Iterable[int]) -> bool:
        """Apply changes only if the writer is free at once; False when another process has it."""
        docs, deletions = list(docs), list(deletions)
        if not docs and not deletions:
            return True
        try:
            writer = self._writer(0)
        except LockError:
            logger.debug("search index locked; %d changes wait", len(docs) + len(deletions))
            return False
        self._apply(writer, docs, deletions)
        return True

    def delete(self, doc_ids: Iterable[int]) -> None:
        """Remove documents (unknown ids are ignored)."""
        ids = list(doc_ids)
        if ids:
            self._apply(self._writer(LOCK_TIMEOUT), (), ids)

    def rebuild(self, batches: Iterable[Sequence[IndexDoc]], *,
                only_if_needed: bool = False) -> int | None:
        """Build a fresh index next to the live one, one commit per batch, then swap it in.

        The live index's write lock is held throughout, so other writers (whose changes
        would be lost) and other rebuilds wait. With ``only_if_needed`` nothing is built
        (None) when the index is READY once the lock is had: another process rebuilt it.
        Works on a missing or damaged index too.
        """
        started = time.perf_counter()
        self._dir.mkdir(parents=True, exist_ok=True)  # the lock file lives in it
        lock = self._storage.lock(f"{INDEXNAME}_WRITELOCK")
        if not try_for(lock.acquire, timeout=LOCK_TIMEOUT):
            raise LockError(f"search index {self._dir} is locked")
        old = None
        try:
            if only_if_needed and self.state() is IndexState.READY:
                logger.info("search index %s is complete again; not rebuilt", self._dir)
                return None
            # What a rebuild killed halfway left (none runs: we hold the lock).
            for leftover in self._dir.parent.glob(f".{self._dir.name}.rebuild-*"):
                shutil.rmtree(leftover, ignore_errors=True)
            tmp = Path(tempfile.mkdtemp(prefix=f".{self._dir.name}.rebuild-",
                                        dir=self._dir.parent))
            try:
                count = self._build(tmp, batches)
                with self._lock, self._swap_lock():
                    if self._dir.exists():
                        old = tmp.with_name(tmp.name + ".old")
                        os.rename(self._dir, old)
                    try:
                        os.rename(tmp, self._dir)
                    except BaseException:
                        if old is not None:
                            os.rename(old, self._dir)
                            old = None
                        raise
                    self._close_searcher()
                    self._ix, self._problem, self._bad_key = None, None, None
                    self.state()
            except BaseException:
                shutil.rmtree(tmp, ignore_errors=True)
                raise
        finally:
            lock.release()
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
        logger.info("rebuilt the search index: %d documents in %.1f s", count,
                    time.perf_counter() - started)
        return count

    def _build(self, directory: Path, batches: Iterable[Sequence[IndexDoc]]) -> int:
        """Index batches into a new index in directory; return the document count."""
        ix = whoosh_index.create_in(directory, SCHEMA)
        seen: set[int] = set()
        full = REBUILD_POOL_MB * 1024 * 1024 * 3 // 4
        writer = None
        try:
            for batch in batches:
                for doc in batch:
                    if doc.doc_id in seen:
                        continue
                    seen.add(doc.doc_id)
                    if writer is None:
                        writer = ix.writer(limitmb=REBUILD_POOL_MB)
                    writer.add_document(**_fields(doc))
                    if getattr(writer.pool, "currentsize", 0) > full:
                        writer.commit(mergetype=NO_MERGE)
                        writer = None
            if writer is not None:
                writer.commit(mergetype=NO_MERGE)
                writer = None
        except BaseException:
            if writer is not None:
                writer.cancel()
            raise
        # Other processes refresh only when the generation number changes: make it newer.
        live = TOC._latest_generation(self._storage, INDEXNAME)
        built = ix.latest_generation()
        if built <= live:
            toc = TOC.read(ix.storage, ix.indexname, built, schema=SCHEMA)
            TOC(toc.schema, toc.segments, live + 1).write(ix.storage, ix.indexname)
            ix.storage.delete_file(TOC._filename(ix.indexname, built))
        self._mark_complete(directory)
        return len(seen)

    def search(self, query: SearchQuery) -> SearchResult:
        """Run a query; hits are ordered and paged as asked."""
        text = (query.text or "")[:MAX_QUERY_LENGTH]
        parsed = parse_query(text)
        terms = tuple(parsed.terms)
        if parsed.query is None and analysis.WORD_RE.search(text):  # only unusable words
            return SearchResult(hits=(), total=0, terms=terms)
        by_date = parsed.query is None or query.sort == "date"
        q = constrain(parsed.query or wq.Every(), query)
        per_page = max(1, min(query.per_page, MAX_RESULTS))
        start = (max(1, query.page) - 1) * per_page
        limit = max(1, min(start + per_page, MAX_RESULTS))
        if by_date:
            collector = _NewestCollector(_NEWEST_FIRST, limit=limit)
        else:
            # no block skipping or matcher pruning, so that every match is counted
            collector = TopCollector(limit=limit, usequality=False, replace=0)
        # Whoosh preloads an OR of words into arrays in segments under 5,000 documents unless
        # the matcher must stay "current"; preloading is faster for plain words (p50 97 vs
        # 114 ms at 20k) but defeats skipping to a filter's few documents (a client filter:
        # 52 vs 6 ms), so filtered searches keep the matchers current.
        filtered = bool(query.client_id is not None or query.doc_types or query.tags
                        or query.date_from or query.date_to)
        partial = False
        started = time.perf_counter()
        with self._lock:
            searcher = self._fresh()
            try:
                hidden = self._hidden(searcher, frozenset(query.hidden_client_ids))
                try:
                    searcher.search_with_collector(
                        q, _Gate(collector, hidden, query.time_limit),
                        context=searcher.context(needs_current=filtered))
                except TimeLimit:
                    partial = True
                results = collector.results()
                total = len(results)
                docnums = [results.docnum(i)
                           for i in range(start, min(len(results.top_n), limit))]
                scores = [0.0 if by_date else float(results.score(i))
                          for i in range(start, start + len(docnums))]
                hits = [Hit(doc_id=int(searcher.stored_fields(n)["doc_id"]), score=s)
                        for n, s in zip(docnums, scores, strict=True)]
                suggestion, spelled_in = None, ()
                if parsed.words and not partial and (total == 0 or parsed.has_or):
                    suggested = self._suggest(searcher, text, parsed, query, hidden)
                    if suggested is not None:
                        suggestion, spelled_in = suggested
            except Exception:
                # Damaged files, or a fault of ours? Open the index afresh: if that fails,
                # IndexUnavailable is raised (from this error); otherwise the error itself.
                self._close_searcher()
                self._fresh()
                raise
        logger.debug("search %r: %d hits in %.3f s%s", text, total,
                     time.perf_counter() - started, " (partial)" if partial else "")
        return SearchResult(hits=hits, total=total, partial=partial, suggestion=suggestion,
                            terms=terms, suggestion_docs=spelled_in)

    def _hidden(self, searcher, clients: frozenset[int]) -> Hidden:
        """Return the hidden clients' document numbers per leaf of the searcher (lock held).

        Kept per segment and set of hidden clients: a segment's documents never change
        client (a changed document is deleted and added again, in a newer segment), and
        there are only a few distinct sets (one for clerks, one per coordinator).
        """
        if not clients:
            return {}
        hidden: Hidden = {}
        for sub, offset in searcher.leaf_searchers():
            reader = sub.reader()
            segment = reader.segment() if isinstance(reader, SegmentReader) else None
            if segment is None:
                continue
            key = (segment.segment_id(), clients)
            docnums = self._hidden_cache.get(key)
            if docnums is None:
                found: set[int] = set()
                for client in clients:
                    try:
                        found.update(reader.postings("client_id", str(client)).all_ids())
                    except TermNotFound:
                        pass
                docnums = self._hidden_cache[key] = frozenset(found)
                while len(self._hidden_cache) > HIDDEN_CACHE_SIZE:
                    self._hidden_cache.popitem(last=False)
            else:
                self._hidden_cache.move_to_end(key)
            if docnums:
                hidden[offset] = docnums
        return hidden

    def _suggest(self, searcher, text: str, parsed: ParsedQuery, sq: SearchQuery,
                 hidden: Hidden) -> tuple[str, tuple[int, ...]] | None:
        """Return a corrected query that has visible hits and a few of those hits' ids (the
        index keeps words folded: the caller spells the corrections as those documents do),
        or None."""
        corrector = searcher.reader().corrector("exact")
        fixes: dict[str, str] = {}
        for word in parsed.words:
            if len(word) < 4 or _any(searcher, constrain(word_query(word), sq), hidden):
                continue
            maxdist = 1 if len(word) < 6 else 2
            for candidate in corrector.suggest(word, limit=5, maxdist=maxdist, prefix=1):
                visible = wq.Or([wq.Term("exact", candidate), wq.Term("title", candidate)])
                if candidate != word and _any(searcher, constrain(visible, sq), hidden):
                    fixes[word] = candidate
                    break
        if not fixes:
            return None
        fixed = analysis.WORD_RE.sub(lambda m: fixes.get(analysis.fold(m.group()), m.group()), text)
        corrected = parse_query(fixed)
        if fixed.strip() == text.strip() or corrected.query is None:
            return None
        found = _visible_ids(searcher, constrain(corrected.query, sq), hidden, SPELLING_DOCS)
        return (fixed.strip(), found) if found else None

    def highlight(self, text: str, query: SearchQuery, *, limit: int = 3,
                  whole: bool = False) -> list[str]:
        """Return up to ``limit`` escaped passages of ``text`` with the matches in <mark>."""
        parsed = _parsed_for_highlight(query.text or "")
        if not (parsed.exact or parsed.stems or parsed.prefixes):
            return []
        if whole:
            return analysis.highlight_passages(text, parsed.matches, limit=1,
                                               context=len(text), verdicts=parsed.verdicts)
        return analysis.highlight_passages(text, parsed.matches, limit=limit,
                                           enough=len(parsed.exact) + len(parsed.prefixes),
                                           verdicts=parsed.verdicts)

    def _readable(self) -> Searcher | None:
        """Return the searcher of a READY index, None for a NEW one (empty: it takes no
        changes); raise IndexUnavailable for a damaged one (lock held)."""
        try:
            return self._fresh()
        except IndexUnavailable as exc:
            if exc.state is IndexState.NEW:
                return None
            raise

    def doc_ids(self) -> set[int]:
        """Return the ids of every indexed document (for consistency checks)."""
        with self._lock:
            searcher = self._readable()
            if searcher is None:
                return set()
            return {int(fields["doc_id"]) for fields in searcher.reader().all_stored_fields()}

    def count(self) -> int:
        """Return the number of indexed documents."""
        with self._lock:
            searcher = self._readable()
            return 0 if searcher is None else searcher.doc_count()

    def close(self) -> None:
        """Release searchers and file handles."""
        with self._lock:
            self._close_searcher()
            if self._ix is not None:
                self._ix.close()
            self._ix = None

    def _close_searcher(self) -> None:
        """Close the current searcher and forget it (lock held)."""
        if self._searcher is not None:
            try:
                self._searcher.close()
            except Exception:  # noqa: BLE001 - closing files that are gone
                logger.debug("closing the searcher failed", exc_info=True)
        self._searcher, self._key = None, None


def _any(searcher, q: wq.Query, hidden: Hidden) -> bool:
    """Tell whether a query matches at least one document that is not hidden."""
    for sub, offset in searcher.leaf_searchers():
        skip = hidden.get(offset, _NOTHING)
        if any(n not in skip for n in q.matcher(sub).all_ids()):
            return True
    return False


def _visible_ids(searcher, q: wq.Query, hidden: Hidden, limit: int) -> tuple[int, ...]:
    """Return the ids of up to ``limit`` documents that match and are not hidden."""
    found: list[int] = []
    for sub, offset in searcher.leaf_searchers():
        skip = hidden.get(offset, _NOTHING)
        for n in q.matcher(sub).all_ids():
            if n not in skip:
                found.append(int(sub.stored_fields(n)["doc_id"]))
                if len(found) >= limit:
                    return tuple(found)
    return tuple(found)


#: A page highlights many documents for the same query: parse it once (read-only use).
_parsed_for_highlight = lru_cache(maxsize=256)(parse_query)
