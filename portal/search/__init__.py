"""Full-text search: the backend interface, its Whoosh implementation, and text extraction."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from pathlib import Path

from portal.search.backend import IndexState, SearchBackend

log = logging.getLogger(__name__)

#: Seconds after a failed background rebuild before another one is started.
REBUILD_RETRY_SECONDS = 60.0


class SearchProvider:
    """Open the search backend once per process, on first use (not at import or fork).

    It also runs the rebuild of an index that cannot be used: at most one background thread
    per process. The backend rebuilds in place and reopens its index when the rebuild is
    swapped in, so what ``get`` hands out afterwards answers from the new index.
    """

    def __init__(self, factory: Callable[[], SearchBackend]) -> None:
        self._factory = factory
        self._backend: SearchBackend | None = None
        self._lock = threading.Lock()
        self._rebuild: threading.Thread | None = None
        self._failed_at: float | None = None

    def get(self) -> SearchBackend:
        if self._backend is None:
            with self._lock:
                if self._backend is None:
                    self._backend = self._factory()
        return self._backend

    def close(self) -> None:
        if self._backend is not None:
            self._backend.close()
            self._backend = None

    def rebuild_in_background(self, job: Callable[[SearchBackend], object]) -> bool:
        """Run ``job(backend)`` in a daemon thread unless one is running; return False when
        none runs because the last one failed less than REBUILD_RETRY_SECONDS ago."""
        backend = self.get()
        with self._lock:
            if self._rebuild is not None and self._rebuild.is_alive():
                return True
            if (self._failed_at is not None
                    and time.monotonic() - self._failed_at < REBUILD_RETRY_SECONDS):
                return False
            self._rebuild = threading.Thread(target=self._run, args=(job, backend),
                                             name="search-index-rebuild", daemon=True)
            self._rebuild.start()
            log.warning("search index unusable: rebuilding it in the background")
            return True

    def _run(self, job: Callable[[SearchBackend], object], backend: SearchBackend) -> None:
        try:
            job(backend)
        except Exception:  # noqa: BLE001 - reported by status() and retried later
            log.exception("rebuilding the search index failed")
            self._failed_at = time.monotonic()
        else:
            self._failed_at = None

    @property
    def rebuild_thread(self) -> threading.Thread | None:
        """The last background rebuild started in this process (for tests and diagnostics)."""
        return self._rebuild

    @property
    def rebuilding(self) -> bool:
        """Tell whether a background rebuild runs in this process."""
        thread = self._rebuild
        return thread is not None and thread.is_alive()

    def wait_for_rebuild(self, timeout: float | None = None) -> bool:
        """Wait until the background rebuild (if any) ends; False if it still runs."""
        thread = self._rebuild
        if thread is not None:
            thread.join(timeout)
        return not self.rebuilding

    def status(self) -> str:
        """Return "ok" (the index is READY), "rebuilding", or "error"."""
        try:
            ready = self.get().state() is IndexState.READY
        except Exception:  # noqa: BLE001 - any failure means "not usable"
            log.exception("search index state")
            ready = False
        if ready:
            return "ok"
        return "rebuilding" if self.rebuilding else "error"


def whoosh_provider(index_dir: Path) -> SearchProvider:
    """Return a provider of the Whoosh backend on a local folder."""

    def factory() -> SearchBackend:
        from portal.search.whoosh_backend import WhooshBackend

        return WhooshBackend(index_dir)

    return SearchProvider(factory)
