"""Content-addressed file storage: a file's path is derived from its SHA-256, never from a name.

Files are written to a temporary name in ``<root>/tmp`` and renamed into place, so a reader
never sees half a file; folders are 0700 and files 0600 (private to the portal's user).
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
import secrets
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

log = logging.getLogger(__name__)

_SHA = re.compile(r"[0-9a-f]{64}")
CHUNK = 1024 * 1024


class TooLarge(Exception):
    """The file is larger than the configured limit."""


@dataclass(frozen=True)
class Staged:
    """A file written to the temporary area, hashed and measured, not yet in place."""

    path: Path
    sha256: str
    size: int
    head: bytes


class Storage:
    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        self.tmp = self.root / "tmp"
        self.tmp.mkdir(parents=True, exist_ok=True, mode=0o700)

    def path_for(self, sha256: str) -> Path:
        """Return where the content with this digest lives."""
        if not _SHA.fullmatch(sha256):
            raise ValueError("not a SHA-256 digest")
        return self.root / sha256[:2] / sha256[2:4] / sha256

    def stage(self, stream: BinaryIO, max_bytes: int) -> Staged:
        """Copy ``stream`` into the temporary area, hashing it; refuse more than ``max_bytes``."""
        digest = hashlib.sha256()
        size = 0
        head = b""
        tmp = self.tmp / f"upload-{os.getpid()}-{secrets.token_hex(8)}"
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            with os.fdopen(fd, "wb") as out:
                while chunk := stream.read(CHUNK):
                    size += len(chunk)
                    if size > max_bytes:
                        raise TooLarge()
                    if len(head) < 8192:
                        head += chunk[: 8192 - len(head)]
                    digest.update(chunk)
                    out.write(chunk)
                out.flush()
                os.fsync(out.fileno())
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise
        return Staged(tmp, digest.hexdigest(), size, head)

    def commit(self, staged: Staged) -> Path:
        """Move a staged file into its content address (a no-op if that content is there)."""
        final = self.path_for(staged.sha256)
        final.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        if final.exists():
            staged.path.unlink(missing_ok=True)
        else:
            os.replace(staged.path, final)
        return final

    def discard(self, staged: Staged) -> None:
        """Remove a staged file that will not be kept."""
        staged.path.unlink(missing_ok=True)

    def remove(self, sha256: str) -> None:
        """Delete stored content (the caller has checked nothing refers to it)."""
        self.path_for(sha256).unlink(missing_ok=True)

    def exists(self, sha256: str) -> bool:
        return self.path_for(sha256).is_file()

    def hash_of(self, sha256: str) -> str:
        """Recompute the digest of stored content (for consistency checks)."""
        digest = hashlib.sha256()
        with open(self.path_for(sha256), "rb") as fh:
            while chunk := fh.read(CHUNK):
                digest.update(chunk)
        return digest.hexdigest()

    def stored(self) -> Iterator[str]:
        """Yield the digest of every file in the store."""
        for path in self.root.glob("[0-9a-f][0-9a-f]/[0-9a-f][0-9a-f]/*"):
            if _SHA.fullmatch(path.name):
                yield path.name

    def stale_temporaries(self, older_than: float = 3600) -> list[Path]:
        """Return temporary files left by an upload that died more than ``older_than`` s ago."""
        cutoff = time.time() - older_than
        return [p for p in self.tmp.iterdir() if p.is_file() and p.stat().st_mtime < cutoff]
