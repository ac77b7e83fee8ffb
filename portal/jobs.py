"""Work that runs beside requests rather than inside one: each step is a transaction of its own.

A request or CLI command commits once (see ``portal.db``); a job that works through a queue
commits after each batch instead, so that what is done stays done if it stops halfway.
"""

from __future__ import annotations

import logging

from sqlalchemy.orm import Session, sessionmaker

from portal.db import transaction
from portal.search.backend import SearchBackend
from portal.services import search as search_service

log = logging.getLogger(__name__)


def apply_index_queue(sessions: sessionmaker[Session], backend: SearchBackend, *,
                      batch: int = 200, wait: bool = False) -> int:
    """Apply queued index work, one transaction per batch; return how many documents were done.

    Without ``wait`` it stops at once when another process holds the index writer.
    """
    done = 0
    while True:
        with transaction(sessions) as db:
            count = search_service.apply_batch(db, backend, batch=batch, wait=wait)
        if not count:
            return done
        done += count
