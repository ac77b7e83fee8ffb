"""The administrator's backups page: snapshots with time, size, verification state and age."""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta

import pytest

from portal.backup.run import take_backup
from portal.backup.store import BackupFolder
from portal.domain.permissions import Role
from portal.models.documents import DocType
from portal.services.base import SYSTEM
from portal.services.documents import FileMeta, file_document
from tests.conftest import make_client

pytestmark = pytest.mark.parametrize("backend", ["sqlite"])


def _backup(app, db, root, when: datetime):
    client = make_client(db, "Mentett Márta")
    file_document(db, SYSTEM, app.extensions["storage"], client.id,
                  io.BytesIO(f"mentés {when}".encode()), "m.txt", FileMeta(DocType.OTHER),
                  max_bytes=10**6)
    db.commit()
    return take_backup(app.extensions["db_engine"], app.extensions["storage"], root,
                       now=lambda: when)


def test_without_a_backup_folder_the_page_says_nothing_is_backed_up(app, as_role):
    html = as_role(Role.ADMIN).get("/admin/backups").get_data(as_text=True)
    assert 'id="backup-warning"' in html and "No backup folder is set" in html


@pytest.mark.parametrize("role", [Role.CLERK, Role.COORDINATOR, Role.MANAGER])
def test_only_the_administrator_sees_the_page(app, as_role, role):
    assert as_role(role).get("/admin/backups").status_code == 403


def test_snapshots_are_listed_with_size_verification_and_age(app, db, staff, as_role,
                                                             tmp_path):
    root = tmp_path / "bk"
    app.config["BACKUP_DIR"] = str(root)
    old = _backup(app, db, root, datetime.now(UTC) - timedelta(days=3))
    new = _backup(app, db, root, datetime.now(UTC) - timedelta(hours=2))
    folder = BackupFolder(root)
    folder.verify(old.name)
    client = as_role(Role.ADMIN)
    html = client.get("/admin/backups").get_data(as_text=True)
    assert html.count("<tr>") == 3  # the head and two snapshots
    assert "not verified yet" in html and "verified " in html
    assert "3 days" in html and "2 hours" in html
    # The only verified snapshot is three days old: the warning shows.
    assert "The newest verified snapshot is older than a day (3 days)" in html
    assert folder.verify(new.name).ok
    html = client.get("/admin/backups").get_data(as_text=True)
    assert 'id="backup-warning"' not in html and "not verified yet" not in html
    # A damaged file shows as problems found, and the warning is back.
    for sha256 in folder.manifest(new.name)["files"]:
        folder.file_path(sha256).write_bytes(b"damaged")
    folder.verify(new.name)
    html = client.get("/admin/backups").get_data(as_text=True)
    assert "2 problems found" in html and 'id="backup-warning"' in html


def test_check_warns_when_the_newest_verified_snapshot_is_older_than_a_day(app, db, staff,
                                                                           tmp_path):
    root = tmp_path / "bk"
    app.config["BACKUP_DIR"] = str(root)
    result = _backup(app, db, root, datetime.now(UTC) - timedelta(days=2))
    BackupFolder(root).verify(result.name)
    output = app.test_cli_runner().invoke(args=["check", "--quick"]).output
    assert f"warning: backup: the newest verified snapshot ({result.name}) is older than a day" \
        in output
    fresh = _backup(app, db, root, datetime.now(UTC))
    BackupFolder(root).verify(fresh.name)
    output = app.test_cli_runner().invoke(args=["check", "--quick"]).output
    assert "warning: backup" not in output


def test_the_page_in_hungarian(app, db, staff, as_role, tmp_path):
    root = tmp_path / "bk"
    app.config["BACKUP_DIR"] = str(root)
    _backup(app, db, root, datetime.now(UTC) - timedelta(hours=30))
    staff.admin.language = "hu"
    db.commit()
    html = as_role(Role.ADMIN).get("/admin/backups").get_data(as_text=True)
    assert "Biztonsági mentések" in html and "még nincs ellenőrizve" in html
    assert "Nincs még ellenőrzött mentés." in html and "Eltelt idő" in html
