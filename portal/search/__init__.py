"""Full-text search: the backend interface, its Whoosh implementation, and text extraction."""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path

from portal.search.backend import SearchBackend


class SearchProvider:
    """Open the search backend once per process, on first use (not at import or fork)."""

    def __init__(self, factory: Callable[[], SearchBackend]) -> None:
        self._factory = factory
        self._backend: SearchBackend | None = None
        self._lock = threading.Lock()

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


def whoosh_provider(index_dir: Path) -> SearchProvider:
    """Return a provider of the Whoosh backend on a local folder."""

    def factory() -> SearchBackend:
        from portal.search.whoosh_backend import WhooshBackend

        return WhooshBackend(index_dir)

    return SearchProvider(factory)
