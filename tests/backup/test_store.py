"""The backup folder on its own: manifests, verification, pruning, partial snapshots."""

from __future__ import annotations

import hashlib
import json
import os
import stat
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from portal.backup.store import (
    MANIFEST,
    BackupError,
    BackupFolder,
    build_manifest,
    overdue,
    write_private,
)

T0 = datetime(2026, 11, 30, 7, 0, tzinfo=UTC)


def _put(folder: BackupFolder, content: bytes) -> str:
    sha256 = hashlib.sha256(content).hexdigest()
    path = folder.file_path(sha256)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(content)
    return sha256


def _snapshot(folder: BackupFolder, when: datetime, contents: list[bytes]) -> str:
    """Write a snapshot holding ``contents`` the way a backup does."""
    name = folder.new_name(when)
    partial = folder.begin(name)
    files = {_put(folder, c): len(c) for c in contents}
    dump = b"database of " + name.encode()
    write_private(partial / "database.sqlite3", dump)
    manifest = build_manifest(
        name=name, created_at=when, finished_at=when, portal_version="0.1.0", revision="0009",
        dialect="sqlite", database_file="database.sqlite3",
        database_sha256=hashlib.sha256(dump).hexdigest(), database_size=len(dump),
        row_counts={"users": 2}, files=files,
        ledger_sums=[{"currency": "HUF", "kind": "charge", "entries": 1, "amount_minor": 5}])
    folder.finish(partial, name, manifest)
    return name


def test_a_snapshot_is_named_by_its_time_and_lists_every_file(tmp_path):
    folder = BackupFolder(tmp_path / "bk")
    name = _snapshot(folder, T0, [b"one", b"two"])
    again = _snapshot(folder, T0, [b"one"])
    assert name == "20261130T070000Z" and again == "20261130T070000Z-2"
    assert folder.names() == [name, again]
    manifest = folder.manifest(name)
    assert manifest["files"] == {hashlib.sha256(b"one").hexdigest(): 3,
                                 hashlib.sha256(b"two").hexdigest(): 3}
    assert manifest["complete"] and manifest["migration_revision"] == "0009"
    assert manifest["ledger_sums"][0]["amount_minor"] == 5
    info = folder.info(name)
    assert info.files == 2 and info.size == 6 + manifest["database"]["size"]
    assert info.verified_ok is None  # never verified yet


def test_folders_and_files_are_private(tmp_path):
    folder = BackupFolder(tmp_path / "bk")
    name = _snapshot(folder, T0, [b"one"])
    for path in (folder.root, folder.files, folder.snapshots, folder.snapshots / name):
        assert stat.S_IMODE(path.stat().st_mode) == 0o700, path
    for path in (folder.snapshots / name / MANIFEST, folder.snapshots / name / "database.sqlite3"):
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, path


def test_verify_finds_a_flipped_byte_and_a_missing_file(tmp_path):
    folder = BackupFolder(tmp_path / "bk")
    name = _snapshot(folder, T0, [b"first file", b"second file", b"third file"])
    assert folder.verify(name, now=T0).ok
    assert folder.info(name).verified_ok is True

    flipped = folder.file_path(hashlib.sha256(b"first file").hexdigest())
    data = bytearray(flipped.read_bytes())
    data[3] ^= 0x01
    flipped.write_bytes(bytes(data))
    gone = folder.file_path(hashlib.sha256(b"third file").hexdigest())
    gone.unlink()
    result = folder.verify(name, now=T0)
    assert not result.ok
    assert result.problems == sorted([f"changed file: {flipped}", f"missing file: {gone}"],
                                     key=lambda p: p.rsplit("/", 1)[1])
    assert result.files_checked == 1
    info = folder.info(name)
    assert info.verified_ok is False and len(info.problems) == 2


def test_verify_finds_a_changed_database_dump(tmp_path):
    folder = BackupFolder(tmp_path / "bk")
    name = _snapshot(folder, T0, [b"x"])
    (folder.snapshots / name / "database.sqlite3").write_bytes(b"something else")
    assert folder.verify(name).problems == [
        f"changed database dump: {folder.snapshots / name / 'database.sqlite3'}"]


def test_an_unknown_snapshot_or_manifest_is_refused(tmp_path):
    folder = BackupFolder(tmp_path / "bk")
    name = _snapshot(folder, T0, [b"x"])
    with pytest.raises(BackupError, match="no snapshot"):
        folder.manifest("20991231T000000Z")
    with pytest.raises(BackupError, match="no snapshot"):
        folder.manifest("../../etc")
    (folder.snapshots / name / MANIFEST).write_text(json.dumps({"format": 99}))
    with pytest.raises(BackupError, match="not a manifest"):
        folder.manifest(name)


def test_keep_prunes_older_snapshots_and_the_files_only_they_need(tmp_path):
    folder = BackupFolder(tmp_path / "bk")
    old = _snapshot(folder, T0, [b"shared", b"only in the oldest"])
    middle = _snapshot(folder, T0 + timedelta(days=1), [b"shared", b"middle"])
    new = _snapshot(folder, T0 + timedelta(days=2), [b"shared", b"newest"])
    removed, files = folder.prune(2)
    assert removed == [old] and files == 1
    assert folder.names() == [middle, new]
    assert not folder.has_file(hashlib.sha256(b"only in the oldest").hexdigest())
    for kept in (b"shared", b"middle", b"newest"):
        assert folder.has_file(hashlib.sha256(kept).hexdigest())
    assert folder.verify(middle).ok and folder.verify(new).ok
    with pytest.raises(BackupError):
        folder.prune(0)


def test_an_interrupted_snapshot_is_never_listed_and_is_cleared_later(tmp_path):
    folder = BackupFolder(tmp_path / "bk")
    done = _snapshot(folder, T0, [b"x"])
    partial = folder.begin("20261130T080000Z")  # a backup that never finished
    (partial / "database.sqlite3").write_bytes(b"half")
    assert folder.names() == [done]
    assert folder.remove_partials() == []  # its writer (this process) is still running
    dead = folder.snapshots / ".partial-20261130T090000Z-999999999-abcd"
    dead.mkdir()
    assert folder.remove_partials() == [dead.name]
    assert not dead.exists() and partial.exists()


def test_a_second_backup_lock_is_refused(tmp_path):
    folder = BackupFolder(tmp_path / "bk")
    with folder.locked():
        other = os.open(folder.root / ".lock", os.O_RDWR)
        try:
            import fcntl

            with pytest.raises(BlockingIOError):
                fcntl.flock(other, fcntl.LOCK_EX | fcntl.LOCK_NB)
        finally:
            os.close(other)


def test_overdue_when_the_newest_verified_snapshot_is_older_than_a_day(tmp_path):
    folder = BackupFolder(tmp_path / "bk")
    assert overdue(folder.infos(), T0)  # no snapshot at all
    name = _snapshot(folder, T0, [b"x"])
    assert overdue(folder.infos(), T0 + timedelta(hours=1))  # not verified yet
    folder.verify(name, now=T0)
    assert not overdue(folder.infos(), T0 + timedelta(hours=23))
    assert overdue(folder.infos(), T0 + timedelta(hours=25))
    newer = _snapshot(folder, T0 + timedelta(hours=24), [b"y"])
    assert overdue(folder.infos(), T0 + timedelta(hours=25))  # the newer one is unverified
    folder.verify(newer, now=T0 + timedelta(hours=25))
    assert not overdue(folder.infos(), T0 + timedelta(hours=25))


def test_write_private_leaves_no_temporary_file(tmp_path: Path):
    write_private(tmp_path / "a.json", b"{}")
    assert [p.name for p in tmp_path.iterdir()] == ["a.json"]
