"""The backup folder: dated snapshots sharing one content-addressed file store.

Layout of a backup folder ``DIR`` (every folder 0700, every file 0600)::

    DIR/files/ab/cd/<sha256>            each stored file once, named by its SHA-256
    DIR/snapshots/<name>/manifest.json  what the snapshot holds (written last)
    DIR/snapshots/<name>/database.*     the database dump (SQLite file or pg_dump archive)
    DIR/snapshots/<name>/verification.json  the last ``--verify`` result
    DIR/snapshots/.partial-<name>-<pid> a snapshot being written (renamed when complete)

Nothing here touches the portal's database: these functions read and write the folder only,
so they are tested on their own and used by the command and the administrator page alike.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import re
import secrets
import shutil
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from portal.storage import process_alive

FORMAT = 1
MANIFEST = "manifest.json"
VERIFICATION = "verification.json"
CHUNK = 1024 * 1024
_SHA = re.compile(r"[0-9a-f]{64}")
SNAPSHOT_NAME = _NAME = re.compile(r"\d{8}T\d{6}Z(?:-\d+)?")
_PARTIAL = re.compile(r"\.partial-(?P<name>[^-]+(?:-\d+)?)-(?P<pid>\d+)-[0-9a-f]+")
#: Verification older than this no longer counts as "verified" on the administrator page.
STALE_AFTER = timedelta(days=1)

Progress = Callable[[str, int, int], None]


def _quiet(_stage: str, _done: int, _total: int) -> None:
    """Report no progress."""


class BackupError(Exception):
    """The backup folder or a snapshot cannot be used; the message says why."""


def private_dir(path: Path) -> Path:
    """Create ``path`` (and its parents) with mode 0700, tightening it if it exists."""
    path.mkdir(parents=True, exist_ok=True, mode=0o700)
    os.chmod(path, 0o700)
    return path


def sync_folder(path: Path) -> None:
    """Flush the file system holding ``path`` to disk (Linux ``syncfs``: that disk only, not
    every disk of the machine as ``sync`` does); ``sync`` where syncfs is missing."""
    try:
        import ctypes
        import ctypes.util

        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
        fd = os.open(path, os.O_RDONLY)
        try:
            if libc.syncfs(fd) == 0:
                return
        finally:
            os.close(fd)
    except (OSError, AttributeError):
        pass
    os.sync()


def sha256_of(path: Path) -> str:
    """Return the SHA-256 of a file, read in chunks."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while chunk := fh.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def write_private(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` (0600) through a temporary name, synced, then renamed."""
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(4)}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def copy_verified(source: Path, target: Path, sha256: str, tmp_dir: Path, *,
                  sync: bool = True, made: set[Path] | None = None) -> int | None:
    """Copy ``source`` to ``target`` (0600) through ``tmp_dir``, hashing as it goes; return
    the bytes copied, or None (keeping nothing) when the content does not have the expected
    digest. Without
    ``sync`` the caller flushes everything to disk once (``os.sync``) when done; ``made``
    remembers the folders known to exist (a copy of thousands of files saves a system call
    each)."""
    digest = hashlib.sha256()
    size = 0
    tmp = tmp_dir / f"copy-{os.getpid()}-{secrets.token_hex(8)}"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with open(source, "rb") as src, os.fdopen(fd, "wb") as out:
            while chunk := src.read(CHUNK):
                digest.update(chunk)
                out.write(chunk)
                size += len(chunk)
            out.flush()
            if sync:
                os.fsync(out.fileno())
        if digest.hexdigest() != sha256:
            tmp.unlink()
            return None
        if made is None or target.parent not in made:
            target.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            if made is not None:
                made.add(target.parent)
        os.replace(tmp, target)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return size


@dataclass(frozen=True)
class SnapshotInfo:
    """One snapshot as the administrator page and ``--keep`` see it."""

    name: str
    created_at: datetime
    #: Bytes of the database dump plus every file the snapshot lists (shared ones included).
    size: int
    files: int
    complete: bool
    #: When ``--verify`` last read it, and whether everything matched (None: never verified).
    verified_at: datetime | None
    verified_ok: bool | None
    problems: tuple[str, ...] = ()

    def age(self, now: datetime) -> timedelta:
        return now - self.created_at

    @property
    def verified(self) -> bool:
        return bool(self.verified_ok)


@dataclass
class Verification:
    snapshot: str
    problems: list[str] = field(default_factory=list)
    files_checked: int = 0
    bytes_checked: int = 0

    @property
    def ok(self) -> bool:
        return not self.problems


class BackupFolder:
    """A backup folder: its file store, its snapshots and its lock."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        self.files = self.root / "files"
        self.snapshots = self.root / "snapshots"
        self.tmp = self.files / "tmp"

    # -- layout ---------------------------------------------------------------------------

    def create(self) -> None:
        """Create the folder's layout, private to this user."""
        for folder in (self.root, self.files, self.tmp, self.snapshots):
            private_dir(folder)

    def file_path(self, sha256: str) -> Path:
        """Return where content with this digest lives in the store."""
        if not _SHA.fullmatch(sha256):
            raise ValueError("not a SHA-256 digest")
        return self.files / sha256[:2] / sha256[2:4] / sha256

    def has_file(self, sha256: str) -> bool:
        return self.file_path(sha256).is_file()

    def size_of(self, sha256: str) -> int | None:
        """Return the size of a stored file, None when the store lacks it (one system call,
        no path objects: a backup asks for every file of the portal)."""
        try:
            return os.stat(f"{self.files}/{sha256[:2]}/{sha256[2:4]}/{sha256}").st_size
        except FileNotFoundError:
            return None

    def stored(self) -> Iterator[str]:
        """Yield the digest of every file in the store."""
        for path in self.files.glob("[0-9a-f][0-9a-f]/[0-9a-f][0-9a-f]/*"):
            if _SHA.fullmatch(path.name):
                yield path.name

    @contextmanager
    def locked(self) -> Iterator[None]:
        """Hold the folder's lock: one backup or prune at a time (other hosts too, on a
        file system with working locks)."""
        self.create()
        fd = os.open(self.root / ".lock", os.O_RDWR | os.O_CREAT, 0o600)
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError as exc:
                raise BackupError(f"another backup or prune is running in {self.root}") from exc
            yield
        finally:
            os.close(fd)

    # -- snapshots ------------------------------------------------------------------------

    def new_name(self, now: datetime) -> str:
        """Return a snapshot name for ``now`` (UTC) not taken yet: ``20261130T073600Z``."""
        base = now.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")
        name, n = base, 1
        while (self.snapshots / name).exists():
            n += 1
            name = f"{base}-{n}"
        return name

    def begin(self, name: str) -> Path:
        """Create the partial folder a snapshot is written into."""
        self.create()
        partial = self.snapshots / f".partial-{name}-{os.getpid()}-{secrets.token_hex(4)}"
        partial.mkdir(mode=0o700)
        os.chmod(partial, 0o700)
        return partial

    def finish(self, partial: Path, name: str, manifest: dict[str, Any]) -> Path:
        """Flush what was copied to disk, write the manifest last, then give the snapshot
        its final name in one rename."""
        sync_folder(self.root)  # once for every file copied: no manifest lists a cached file
        write_private(partial / MANIFEST, dump_manifest(manifest))
        final = self.snapshots / name
        os.rename(partial, final)
        fd = os.open(self.snapshots, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
        return final

    def remove_partials(self) -> list[str]:
        """Remove partial snapshots whose writer has ended (an interrupted backup)."""
        removed = []
        if not self.snapshots.is_dir():
            return removed
        for path in self.snapshots.iterdir():
            match = _PARTIAL.fullmatch(path.name)
            if match and not process_alive(int(match["pid"])):
                shutil.rmtree(path, ignore_errors=True)
                removed.append(path.name)
        for path in self.tmp.glob("copy-*") if self.tmp.is_dir() else ():
            pid = path.name.split("-")[1]
            if pid.isdigit() and not process_alive(int(pid)):
                path.unlink(missing_ok=True)
        return removed

    def names(self) -> list[str]:
        """Return the complete snapshots' names, oldest first."""
        if not self.snapshots.is_dir():
            return []
        return sorted(p.name for p in self.snapshots.iterdir()
                      if _NAME.fullmatch(p.name) and (p / MANIFEST).is_file())

    def newest(self) -> str | None:
        names = self.names()
        return names[-1] if names else None

    def manifest(self, name: str) -> dict[str, Any]:
        """Read a snapshot's manifest; BackupError when there is none or it is not one."""
        path = self.snapshots / name / MANIFEST
        if not _NAME.fullmatch(name) or not path.is_file():
            raise BackupError(f"no snapshot {name!r} in {self.root}")
        try:
            manifest = json.loads(path.read_text("utf-8"))
        except (OSError, ValueError) as exc:
            raise BackupError(f"snapshot {name}: the manifest cannot be read ({exc})") from exc
        if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
            raise BackupError(f"snapshot {name}: not a manifest this portal reads")
        return manifest

    def info(self, name: str) -> SnapshotInfo:
        """Return what the administrator page shows of a snapshot."""
        manifest = self.manifest(name)
        files = manifest.get("files", {})
        size = int(manifest["database"]["size"]) + sum(int(s) for s in files.values())
        verified_at = verified_ok = None
        problems: tuple[str, ...] = ()
        try:
            record = json.loads((self.snapshots / name / VERIFICATION).read_text("utf-8"))
            verified_at = datetime.fromisoformat(record["verified_at"])
            verified_ok = bool(record["ok"])
            problems = tuple(record.get("problems", ()))
        except (OSError, ValueError, KeyError, TypeError):
            pass
        return SnapshotInfo(name=name, created_at=datetime.fromisoformat(manifest["created_at"]),
                            size=size, files=len(files), complete=bool(manifest["complete"]),
                            verified_at=verified_at, verified_ok=verified_ok, problems=problems)

    def infos(self) -> list[SnapshotInfo]:
        """Return every readable snapshot, newest first."""
        found = []
        for name in reversed(self.names()):
            try:
                found.append(self.info(name))
            except (BackupError, KeyError, TypeError, ValueError):
                continue
        return found

    # -- verification and pruning ---------------------------------------------------------

    def verify(self, name: str, progress: Progress = _quiet, *,
               now: datetime | None = None) -> Verification:
        """Re-read the snapshot's database dump and every file it lists, compare each with
        the manifest, and record the outcome in the snapshot's ``verification.json``."""
        manifest = self.manifest(name)
        result = Verification(name)
        folder = self.snapshots / name
        database = manifest["database"]
        dump = folder / database["file"]
        if not dump.is_file():
            result.problems.append(f"missing database dump: {dump}")
        elif sha256_of(dump) != database["sha256"]:
            result.problems.append(f"changed database dump: {dump}")
        files = manifest.get("files", {})
        for missing in manifest.get("missing", []):
            result.problems.append(f"not backed up (missing from the portal's storage when "
                                   f"the backup ran): {missing}")
        total = len(files)
        for done, (sha256, size) in enumerate(sorted(files.items()), 1):
            path = self.file_path(sha256)
            if not path.is_file():
                result.problems.append(f"missing file: {path}")
            elif sha256_of(path) != sha256:
                result.problems.append(f"changed file: {path}")
            else:
                result.files_checked += 1
                result.bytes_checked += int(size)
            if done % 200 == 0 or done == total:
                progress("verifying files", done, total)
        record = {"verified_at": (now or datetime.now(UTC)).isoformat(), "ok": result.ok,
                  "files_checked": result.files_checked, "problems": result.problems[:200]}
        write_private(folder / VERIFICATION, dump_manifest(record))
        return result

    def prune(self, keep: int) -> tuple[list[str], int]:
        """Keep the newest ``keep`` snapshots; remove the older ones and every stored file
        no remaining snapshot lists. Return the removed snapshots and the number of files."""
        if keep < 1:
            raise BackupError("--keep needs at least 1: the newest snapshot is always kept")
        self.remove_partials()
        names = self.names()
        doomed = names[:-keep]
        for name in doomed:
            # Renamed first, so a snapshot is either whole or gone, never half-deleted.
            trash = self.snapshots / f".partial-{name}-{os.getpid()}-{secrets.token_hex(4)}"
            os.rename(self.snapshots / name, trash)
            shutil.rmtree(trash)
        needed: set[str] = set()
        for name in names[-keep:]:
            needed.update(self.manifest(name).get("files", {}))
        removed = 0
        for sha256 in set(self.stored()) - needed:
            self.file_path(sha256).unlink(missing_ok=True)
            removed += 1
        return doomed, removed


def dump_manifest(manifest: dict[str, Any]) -> bytes:
    """Serialise a manifest (sorted keys, so the same content gives the same bytes; one line,
    which the C encoder writes ten times faster than an indented one for 20k files)."""
    return json.dumps(manifest, sort_keys=True, ensure_ascii=False).encode("utf-8")


def build_manifest(*, name: str, created_at: datetime, finished_at: datetime,
                   portal_version: str, revision: str | None, dialect: str,
                   database_file: str, database_sha256: str, database_size: int,
                   row_counts: dict[str, int], ledger_sums: Iterable[dict[str, Any]],
                   files: dict[str, int], missing: Iterable[str] = (),
                   schema: str | None = None) -> dict[str, Any]:
    """Return the manifest of a snapshot: what it is, what it holds, and every digest."""
    missing = sorted(set(missing))
    return {
        "format": FORMAT,
        "snapshot": name,
        "created_at": created_at.astimezone(UTC).isoformat(),
        "finished_at": finished_at.astimezone(UTC).isoformat(),
        "portal_version": portal_version,
        "migration_revision": revision,
        "database": {"dialect": dialect, "file": database_file, "sha256": database_sha256,
                     "size": database_size, "schema": schema},
        "row_counts": dict(sorted(row_counts.items())),
        "ledger_sums": sorted(ledger_sums, key=lambda s: (s["currency"], s["kind"])),
        "files": dict(sorted(files.items())),
        "file_bytes": sum(files.values()),
        "missing": missing,
        "complete": not missing,
    }


def newest_verified(infos: Iterable[SnapshotInfo]) -> SnapshotInfo | None:
    """Return the newest snapshot that was verified without a problem."""
    verified = [i for i in infos if i.verified_ok and i.complete]
    return max(verified, key=lambda i: i.created_at, default=None)


def overdue(infos: Iterable[SnapshotInfo], now: datetime) -> bool:
    """Tell whether the newest verified snapshot is older than a day (or there is none)."""
    newest = newest_verified(infos)
    return newest is None or now - newest.created_at > STALE_AFTER
