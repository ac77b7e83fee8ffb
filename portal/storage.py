"""Content-addressed file storage: a file's path is derived from its SHA-256, never from a name.

Files are written to a temporary name in ``<root>/tmp`` and renamed into place, so a reader
never sees half a file; folders are 0700 and files 0600 (private to the portal's user).
"""

from __future__ import annotations

import errno
import hashlib
import logging
import os
import re
import secrets
import socket
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


class StorageUnavailable(OSError):
    """The storage cannot take a file: the disk is full (``full``) or read-only."""

    def __init__(self, reason: str, cause: OSError | None = None) -> None:
        super().__init__(cause.errno if cause else errno.EIO, reason)
        #: "full" or "read_only"
        self.reason = reason


def _unavailable(exc: OSError) -> StorageUnavailable | None:
    """Return the StorageUnavailable an OSError means, if it means one."""
    if exc.errno in (errno.ENOSPC, errno.EDQUOT):
        return StorageUnavailable("full", exc)
    if exc.errno in (errno.EROFS, errno.EACCES, errno.EPERM):
        return StorageUnavailable("read_only", exc)
    return None


#: Temporary files name the host and process that wrote them: ``upload-<host>-<pid>-<hex>``.
_HOST = re.sub(r"[^A-Za-z0-9.]", "_", socket.gethostname())[:60] or "host"
_TMP_NAME = re.compile(
    r"upload-(?P<host>[A-Za-z0-9._]+)-(?P<pid>\d+)-[0-9a-f]+(?:\.[A-Za-z0-9_]+\.out)?")


def process_alive(pid: int) -> bool:
    """Tell whether a process with this id runs on this host."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


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
        tmp = self.tmp / f"upload-{_HOST}-{os.getpid()}-{secrets.token_hex(8)}"
        try:
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
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
        except BaseException as exc:
            tmp.unlink(missing_ok=True)
            if isinstance(exc, OSError) and (unavailable := _unavailable(exc)):
                raise unavailable from exc
            raise
        return Staged(tmp, digest.hexdigest(), size, head)

    def place(self, staged: Staged) -> bool:
        """Move a staged file into its content address; return False if that content was
        there already (the staged copy is then dropped). Call it under the file's lock
        (``services.files.claim``)."""
        final = self.path_for(staged.sha256)
        try:
            final.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            if final.exists():
                staged.path.unlink(missing_ok=True)
                return False
            os.replace(staged.path, final)
            fd = os.open(final.parent, os.O_RDONLY)
            try:
                os.fsync(fd)  # the rename itself survives a power cut
            finally:
                os.close(fd)
        except OSError as exc:
            if unavailable := _unavailable(exc):
                raise unavailable from exc
            raise
        return True

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

    def leftovers(self, older_than: float = 24 * 3600) -> list[Path]:
        """Return temporary files no running upload owns: written on this host by a process
        that has ended, or (from any host of a shared storage) older than ``older_than`` s."""
        cutoff = time.time() - older_than
        found = []
        for path in self.tmp.iterdir():
            if not path.is_file():
                continue
            match = _TMP_NAME.fullmatch(path.name)
            mine = match is not None and match["host"] == _HOST
            try:
                old = path.stat().st_mtime < cutoff
            except FileNotFoundError:
                continue  # finished meanwhile
            if old or (mine and not process_alive(int(match["pid"]))) or (
                    match is None and path.name.startswith("upload-")):
                found.append(path)
        return sorted(found)

    def remove_leftovers(self) -> list[str]:
        """Remove the temporary files no running upload owns (see ``leftovers``)."""
        removed = []
        for path in self.leftovers():
            path.unlink(missing_ok=True)
            removed.append(path.name)
        if removed:
            log.warning("removed %d leftover temporary files from %s", len(removed), self.tmp)
        return removed

    def free_bytes(self) -> int:
        """Return the space left for files on the storage's file system."""
        stats = os.statvfs(self.root)
        return stats.f_bavail * stats.f_frsize
