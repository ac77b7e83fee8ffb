"""The search backend interface. Each backend parses the user's query itself.

The database is the truth; an index is a cache that ``rebuild`` can always recreate.
Permission filtering happens inside the search (``SearchQuery.hidden_client_ids``) so that
hits, counts and suggestions never include a document the user may not see; highlights are
built from the text in the database (``SearchBackend.highlight``).

An index knows whether it is complete (``IndexState``): a deleted folder, an index created
empty in its place, or files that cannot be read make it unusable until it is rebuilt, and
``search`` says so (``IndexUnavailable``) instead of answering from what is left.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date
from enum import StrEnum
from typing import Protocol

#: Longest query accepted, in characters; longer input is cut, not refused.
MAX_QUERY_LENGTH = 200
#: Most hits a search ever collects (paging beyond it is refused).
MAX_RESULTS = 1000


class IndexState(StrEnum):
    #: Complete: holds every live document except those whose work is still queued.
    READY = "ready"
    #: Created empty (its folder was missing) and never filled: it holds nothing yet.
    NEW = "new"
    #: Missing or unreadable.
    DAMAGED = "damaged"


class IndexUnavailable(Exception):
    """The index cannot answer (or take changes) until it is rebuilt."""

    def __init__(self, state: IndexState, detail: str = "") -> None:
        super().__init__(f"search index {state.value}{': ' + detail if detail else ''}")
        self.state = state


@dataclass(frozen=True)
class IndexDoc:
    """What the index knows of one document (its current version)."""

    doc_id: int
    client_id: int
    doc_type: str
    title: str
    text: str
    tags: tuple[str, ...] = ()
    doc_date: date | None = None


@dataclass(frozen=True)
class SearchQuery:
    text: str
    #: Documents of these clients never appear, are never counted and never suggested.
    hidden_client_ids: frozenset[int] = frozenset()
    client_id: int | None = None
    doc_types: tuple[str, ...] = ()
    tags: tuple[str, ...] = ()
    date_from: date | None = None
    date_to: date | None = None
    #: "relevance" or "date" (newest first).
    sort: str = "relevance"
    page: int = 1
    per_page: int = 20
    #: Seconds a query may run before the hits found so far are returned (``partial``).
    time_limit: float = 2.0


@dataclass(frozen=True)
class Hit:
    doc_id: int
    score: float


@dataclass(frozen=True)
class SearchResult:
    hits: Sequence[Hit]
    total: int
    #: The time limit cut the search short: ``hits`` and ``total`` are what was found in time.
    partial: bool = False
    #: A corrected query that has visible hits, when the query looks misspelled.
    suggestion: str | None = None
    #: The words to highlight, as the backend understood the query.
    terms: tuple[str, ...] = field(default=())
    #: Ids of a few visible documents the suggestion finds: an index that keeps words folded
    #: suggests them folded, and the caller spells them as these documents do.
    suggestion_docs: tuple[int, ...] = field(default=())


class SearchBackend(Protocol):
    """What the portal needs from a search engine."""

    def state(self) -> IndexState:
        """Return whether the index is complete, new and empty, or damaged."""

    def adopt(self) -> bool:
        """Declare a NEW (empty) index complete, because every live document is queued for it;
        False when the writer is busy (a rebuild may be under way)."""

    def index(self, docs: Iterable[IndexDoc]) -> int:
        """Add or replace documents; return how many. Waits for the writer if necessary.

        Raises ``IndexUnavailable`` unless the index is READY (the work stays queued).
        """

    def try_index(self, docs: Iterable[IndexDoc], deletions: Iterable[int]) -> bool:
        """Apply changes only if the writer is free at once; False when another process has it.

        Raises ``IndexUnavailable`` unless the index is READY.
        """

    def delete(self, doc_ids: Iterable[int]) -> None:
        """Remove documents (unknown ids are ignored)."""

    def search(self, query: SearchQuery) -> SearchResult:
        """Run a query; hits are ordered and paged as asked.

        Raises ``IndexUnavailable`` unless the index is READY.
        """

    def highlight(self, text: str, query: SearchQuery, *, limit: int = 3,
                  whole: bool = False) -> list[str]:
        """Return up to ``limit`` HTML-escaped passages of ``text``, matches in <mark>.

        With ``whole`` (a short text such as a title) the text comes back entire as one
        passage, or nothing comes back when no word of it matches.
        """

    def rebuild(self, batches: Iterable[Sequence[IndexDoc]], *,
                only_if_needed: bool = False) -> int | None:
        """Recreate the index from scratch from batches of documents; return the count.

        With ``only_if_needed`` nothing is done (None) when the index is READY once the
        writer is had: another process rebuilt it meanwhile.
        """

    def doc_ids(self) -> set[int]:
        """Return the ids of every indexed document (for consistency checks); raises
        ``IndexUnavailable`` when the index is DAMAGED."""

    def count(self) -> int:
        """Return the number of indexed documents; raises ``IndexUnavailable`` when DAMAGED."""

    def close(self) -> None:
        """Release searchers and file handles."""
