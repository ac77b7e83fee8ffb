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
from datetime import date
from functools import lru_cache
from pathlib import Path

from whoosh import index as whoosh_index
from whoosh import query as wq
from whoosh.collectors import SortingCollector, TimeLimit, TopCollector, WrappingCollector
from whoosh.fields import ID, KEYWORD, NUMERIC, TEXT, Schema
from whoosh.filedb.filestore import FileStorage
from whoosh.index import TOC, EmptyIndexError, LockError
from whoosh.reading import EmptyReader, MultiReader, SegmentReader, TermNotFound
from whoosh.scoring import BM25F, BM25FScorer
from whoosh.searching import Searcher
from whoosh.sorting import FieldFacet, MultiFacet
from whoosh.util.filelock import try_for
from whoosh.writing import NO_MERGE

from . import analysis
from .analysis import ParsedQuery, parse_query, word_query
from .backend import (
    MAX_QUERY_LENGTH,
    MAX_RESULTS,
    Hit,
    IndexDoc,
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
#: Characters of a document's text that are indexed.
MAX_INDEX_CHARS = 5_000_000

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


class WhooshBackend(SearchBackend):
    """Search with Whoosh in ``index_dir``; one refreshed searcher per instance."""

    def __init__(self, index_dir: Path) -> None:
        self._dir = Path(index_dir)
        self._lock = threading.RLock()
        self._ix = self._open_or_create()
        self._searcher: Searcher | None = None
        self._generation = -1
        self._hidden_cache: OrderedDict[tuple, frozenset[int]] = OrderedDict()
        self._weighting = _LengthCachedBM25F()
        self._fresh()

    def _open_or_create(self):
        """Open the index, creating it (under a lock, once) if it does not exist."""
        self._dir.mkdir(parents=True, exist_ok=True)
        if not whoosh_index.exists_in(self._dir):
            lock = FileStorage(str(self._dir)).lock("CREATE_LOCK")
            lock.acquire(blocking=True)
            try:
                if not whoosh_index.exists_in(self._dir):
                    logger.info("creating search index in %s", self._dir)
                    whoosh_index.create_in(self._dir, SCHEMA)
            finally:
                lock.release()
        return whoosh_index.open_dir(self._dir, schema=SCHEMA)

    def _fresh(self):
        """Return a searcher on the latest commit, reusing unchanged segments (lock held)."""
        if self._ix.latest_generation() == self._generation:
            return self._searcher
        for attempt in range(5):
            try:
                toc = TOC.read(self._ix.storage, self._ix.indexname, schema=SCHEMA)
                reader = self._reader(toc)
                break
            except (OSError, EmptyIndexError):  # a commit or a rebuild's swap in between
                if attempt == 4:
                    raise
                time.sleep(0.02 * (attempt + 1))
        self._searcher = Searcher(reader, fromindex=self._ix, weighting=self._weighting)
        self._generation = toc.generation
        self._weighting.keep_only({segment.segment_id() for segment in toc.segments})
        return self._searcher

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
                    leaf = SegmentReader(self._ix.storage, toc.schema, segment,
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
            self._apply(self._ix.writer(timeout=LOCK_TIMEOUT), docs, ())
            logger.debug("indexed %d documents in %.3f s", len(docs), time.perf_counter() - started)
        return len(docs)

    def try_index(self, docs: Iterable[IndexDoc], deletions: Iterable[int]) -> bool:
        """Apply changes only if the writer is free at once; False when another process has it."""
        docs, deletions = list(docs), list(deletions)
        if not docs and not deletions:
            return True
        try:
            writer = self._ix.writer(timeout=0)
        except LockError:
            logger.debug("search index locked; %d changes wait", len(docs) + len(deletions))
            return False
        self._apply(writer, docs, deletions)
        return True

    def delete(self, doc_ids: Iterable[int]) -> None:
        """Remove documents (unknown ids are ignored)."""
        ids = list(doc_ids)
        if ids:
            self._apply(self._ix.writer(timeout=LOCK_TIMEOUT), (), ids)

    def rebuild(self, batches: Iterable[Sequence[IndexDoc]]) -> int:
        """Build a fresh index next to the live one, one commit per batch, then swap it in."""
        started = time.perf_counter()
        lock = self._ix.lock("WRITELOCK")  # keep other writers out: their changes would be lost
        if not try_for(lock.acquire, timeout=LOCK_TIMEOUT):
            raise LockError(f"search index {self._dir} is locked")
        tmp = Path(tempfile.mkdtemp(prefix=f".{self._dir.name}.rebuild-", dir=self._dir.parent))
        old = tmp.with_name(tmp.name + ".old")
        try:
            count = self._build(tmp, batches)
            with self._lock:
                os.rename(self._dir, old)
                try:
                    os.rename(tmp, self._dir)
                except BaseException:
                    os.rename(old, self._dir)
                    raise
                self._close_searcher()
                self._ix = self._open_or_create()
                self._fresh()
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
        finally:
            lock.release()
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
        live, built = self._ix.latest_generation(), ix.latest_generation()
        if built <= live:
            toc = TOC.read(ix.storage, ix.indexname, built, schema=SCHEMA)
            TOC(toc.schema, toc.segments, live + 1).write(ix.storage, ix.indexname)
            ix.storage.delete_file(TOC._filename(ix.indexname, built))
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
            hidden = self._hidden(searcher, frozenset(query.hidden_client_ids))
            try:
                searcher.search_with_collector(q, _Gate(collector, hidden, query.time_limit),
                                               context=searcher.context(needs_current=filtered))
            except TimeLimit:
                partial = True
            results = collector.results()
            total = len(results)
            docnums = [results.docnum(i) for i in range(start, min(len(results.top_n), limit))]
            scores = [0.0 if by_date else float(results.score(i))
                      for i in range(start, start + len(docnums))]
            hits = [Hit(doc_id=int(searcher.stored_fields(n)["doc_id"]), score=s)
                    for n, s in zip(docnums, scores, strict=True)]
            suggestion = None
            if parsed.words and not partial and (total == 0 or parsed.has_or):
                suggestion = self._suggest(searcher, text, parsed, query, hidden)
        logger.debug("search %r: %d hits in %.3f s%s", text, total,
                     time.perf_counter() - started, " (partial)" if partial else "")
        return SearchResult(hits=hits, total=total, partial=partial, suggestion=suggestion,
                            terms=terms)

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
                 hidden: Hidden) -> str | None:
        """Return a corrected query that has visible hits, or None."""
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
        return fixed.strip() if _any(searcher, constrain(corrected.query, sq), hidden) else None

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

    def doc_ids(self) -> set[int]:
        """Return the ids of every indexed document (for consistency checks)."""
        with self._lock:
            reader = self._fresh().reader()
            return {int(fields["doc_id"]) for fields in reader.all_stored_fields()}

    def count(self) -> int:
        """Return the number of indexed documents."""
        with self._lock:
            return self._fresh().doc_count()

    def close(self) -> None:
        """Release searchers and file handles."""
        with self._lock:
            self._close_searcher()
            self._ix.close()

    def _close_searcher(self) -> None:
        """Close the current searcher and forget it (lock held)."""
        if self._searcher is not None:
            self._searcher.close()
        self._searcher, self._generation = None, -1


def _any(searcher, q: wq.Query, hidden: Hidden) -> bool:
    """Tell whether a query matches at least one document that is not hidden."""
    for sub, offset in searcher.leaf_searchers():
        skip = hidden.get(offset, _NOTHING)
        if any(n not in skip for n in q.matcher(sub).all_ids()):
            return True
    return False


#: A page highlights many documents for the same query: parse it once (read-only use).
_parsed_for_highlight = lru_cache(maxsize=256)(parse_query)
