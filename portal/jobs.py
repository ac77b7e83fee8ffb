"""Work that runs beside requests rather than inside one: each step is a transaction of its own.

A request or CLI command commits once (see ``portal.db``); a job that works through a queue
commits after each batch instead, so that what is done stays done if it stops halfway.
"""

from __future__ import annotations

import logging

from sqlalchemy.orm import Session, sessionmaker
from whoosh.index import LockError

from portal.db import transaction
from portal.search import SearchProvider
from portal.search.backend import IndexState, SearchBackend
from portal.services import search as search_service

log = logging.getLogger(__name__)


def apply_index_queue(sessions: sessionmaker[Session], backend: SearchBackend, *,
                      batch: int = 200, wait: bool = False) -> int:
    """Apply queued index work, one transaction per batch; return how many documents were done.

    Without ``wait`` it stops at once when another process holds the index writer. It stops
    too while the index is not READY (the work stays queued for after the rebuild).
    """
    done = 0
    while True:
        with transaction(sessions) as db:
            count = search_service.apply_batch(db, backend, batch=batch, wait=wait)
        if not count:
            return done
        done += count


def rebuild_index(sessions: sessionmaker[Session], backend: SearchBackend, *,
                  batch: int = 500, only_if_needed: bool = False) -> int | None:
    """Rebuild the index from the database, reading each batch in a transaction of its own;
    then apply the work queued meanwhile. Return the count (None: not needed after all).

    Tasks queued before the rebuild began are dropped once it is swapped in: the documents
    were read after them. With ``only_if_needed`` nothing is rebuilt if the index is READY
    once the writer is had (another process rebuilt it while this one waited).
    """
    with transaction(sessions) as db:
        mark = search_service.queue_mark(db)

    def batches():
        last = 0
        while True:
            with transaction(sessions) as db:
                docs = search_service.live_batch(db, last, batch)
            if not docs:
                return
            last = docs[-1].doc_id
            yield docs

    count = backend.rebuild(batches(), only_if_needed=only_if_needed)
    if count is not None:
        with transaction(sessions) as db:
            search_service.drop_tasks(db, mark)
    apply_index_queue(sessions, backend)
    return count


def repair_index(sessions: sessionmaker[Session], provider: SearchProvider) -> str:
    """Start rebuilding the index in a background thread of this process unless one runs;
    return "rebuilding", or "error" when the last attempt failed a moment ago.

    Another process rebuilding already holds the index's write lock: this process's rebuild
    waits for it (retrying after each lock timeout) and then finds the index READY.
    """

    def job(backend: SearchBackend) -> None:
        while True:
            try:
                rebuild_index(sessions, backend, only_if_needed=True)
                return
            except LockError:
                if backend.state() is IndexState.READY:
                    return
                log.info("search index writer busy; the rebuild waits for it")

    return "rebuilding" if provider.rebuild_in_background(job) else "error"
