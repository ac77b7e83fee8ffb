"""Browser test: the administrator's backups page on a phone and a wide screen, in Hungarian."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from flask import Flask
from playwright.sync_api import Page, expect
from sqlalchemy import select, update

from portal.backup.run import take_backup
from portal.backup.store import BackupFolder
from portal.models import User
from tests.e2e.helpers import in_db, log_in


@pytest.fixture
def backups(live_app: Flask, tmp_path) -> Iterator[BackupFolder]:
    """Two snapshots of the live portal, the older one verified; the administrator in
    Hungarian. Both put back afterwards."""
    root = tmp_path / "backups"
    first = take_backup(live_app.extensions["db_engine"], live_app.extensions["storage"], root)
    take_backup(live_app.extensions["db_engine"], live_app.extensions["storage"], root)
    folder = BackupFolder(root)
    folder.verify(first.name)
    chosen = in_db(live_app, lambda db: db.scalar(
        select(User.language).where(User.username == "admin")))
    in_db(live_app, lambda db: db.execute(
        update(User).where(User.username == "admin").values(language="hu")))
    live_app.config["BACKUP_DIR"] = str(root)
    yield folder
    live_app.config["BACKUP_DIR"] = ""
    in_db(live_app, lambda db: db.execute(
        update(User).where(User.username == "admin").values(language=chosen)))


@pytest.mark.parametrize("width", [390, 1366])
def test_backups_page_reads_on_a_phone_and_a_wide_screen(page: Page, live_server: str,
                                                         backups: BackupFolder, hu, shot,
                                                         browser_log, width: int) -> None:
    page.set_viewport_size({"width": width, "height": 900})
    log_in(page, live_server, "admin")
    page.goto(f"{live_server}/admin/users")
    page.get_by_role("button", name=hu("Backups")).click()
    expect(page).to_have_url(f"{live_server}/admin/backups")
    expect(page.locator("h1")).to_have_text(hu("Backups"))
    rows = page.locator("#snapshot-table tbody tr")
    expect(rows).to_have_count(2)
    expect(rows.nth(0)).to_contain_text(hu("not verified yet"))
    expect(rows.nth(1)).to_contain_text(hu("verified %(when)s", when="").strip())
    # The older snapshot is verified and only minutes old: no warning.
    expect(page.locator("#backup-warning")).to_have_count(0)
    shot(page, f"backups-{width}")
    width_used = page.evaluate("document.documentElement.scrollWidth")
    assert width_used <= width, f"the page scrolls sideways ({width_used} px)"
    assert not browser_log.problems(), browser_log.problems()
