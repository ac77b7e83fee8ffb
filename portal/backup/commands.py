"""``portal backup`` and ``portal restore``."""

from __future__ import annotations

import sys
from datetime import UTC, datetime
from pathlib import Path

import click
from flask import current_app
from flask.cli import with_appcontext

from portal.backup.store import SNAPSHOT_NAME, BackupError, BackupFolder


def _progress():
    """Return a progress reporter writing a line per stage and per tenth done to stderr."""
    last: dict[str, int] = {}

    def report(stage: str, done: int, total: int) -> None:
        if stage == "retry":
            click.echo(f"a file went away during the backup (trash emptied): copying the "
                       f"database again (attempt {done + 1} of {total})", err=True)
            return
        step = done * 10 // total if total else 10
        if last.get(stage) == step:
            return
        last[stage] = step
        click.echo(f"{stage}: {done}/{total}", err=True)

    return report


def _folder(directory: Path | None, snapshot: str | None) -> tuple[Path, str | None]:
    """Return the backup folder and snapshot asked for; with PORTAL_BACKUP_DIR set, a lone
    argument that is a snapshot's name (and no folder) names the snapshot."""
    configured = current_app.config.get("BACKUP_DIR")
    if (configured and directory is not None and snapshot is None and not directory.exists()
            and SNAPSHOT_NAME.fullmatch(str(directory))):
        return Path(configured), str(directory)
    if directory is None and not configured:
        raise click.UsageError("give the backup folder, or set PORTAL_BACKUP_DIR")
    return Path(directory or configured), snapshot


@click.command("backup")
@click.argument("directory", required=False, type=click.Path(file_okay=False, path_type=Path))
@click.argument("snapshot", required=False)
@click.option("--verify", is_flag=True,
              help="Re-read a snapshot (the newest by default) and compare it with its manifest.")
@click.option("--keep", type=click.IntRange(min=1), default=None,
              help="After the backup, keep only the newest N snapshots.")
@click.option("--prune-only", is_flag=True, help="With --keep: prune without a new backup.")
@with_appcontext
def backup_command(directory: Path | None, snapshot: str | None, verify: bool,
                   keep: int | None, prune_only: bool) -> None:
    """Back up the database and every stored file into DIRECTORY (default PORTAL_BACKUP_DIR);
    exit 1 unless the snapshot is complete (or, with --verify, unless it matches)."""
    from portal.backup.run import take_backup

    root, snapshot = _folder(directory, snapshot)
    folder = BackupFolder(root)
    try:
        if verify:
            name = snapshot or folder.newest()
            if name is None:
                raise BackupError(f"no snapshot in {root}")
            result = folder.verify(name, _progress())
            for problem in result.problems:
                click.echo(problem)
            click.echo(f"snapshot {name}: {result.files_checked} files and the database dump "
                       "read; " + ("everything matches the manifest" if result.ok
                                   else f"{len(result.problems)} problems"))
            sys.exit(0 if result.ok else 1)
        if snapshot:
            raise click.UsageError("SNAPSHOT is only given with --verify")
        if prune_only and keep is None:
            raise click.UsageError("--prune-only needs --keep N")
        complete = True
        if not prune_only:
            result = take_backup(current_app.extensions["db_engine"],
                                 current_app.extensions["storage"], root, progress=_progress())
            for sha256 in result.missing:
                click.echo(f"not backed up: stored file {sha256} is missing or damaged in the "
                           "portal's storage (see `portal check`)")
            click.echo(f"snapshot {result.name}: {result.files} files "
                       f"({result.copied} new, {result.copied_bytes / 2**20:.1f} MB copied), "
                       f"{result.total_bytes / 2**20:.1f} MB in all; "
                       + ("complete" if result.complete else "INCOMPLETE"))
            complete = result.complete
        if keep is not None and complete:
            with folder.locked():
                removed, files = folder.prune(keep)
            click.echo(f"pruned {len(removed)} snapshots and {files} files no snapshot needs")
        sys.exit(0 if complete else 1)
    except BackupError as exc:
        raise click.ClickException(str(exc)) from exc


@click.command("restore")
@click.argument("directory", required=False, type=click.Path(file_okay=False, path_type=Path))
@click.argument("snapshot", required=False)
@click.option("--force", is_flag=True,
              help="Replace everything this instance holds (database, files, index).")
@with_appcontext
def restore_command(directory: Path | None, snapshot: str | None,
                    force: bool) -> None:
    """Restore a snapshot (the newest by default) into this empty instance: database, files,
    then the search index; then run `portal check`."""
    from portal.backup.run import restore_snapshot
    from portal.cli import check_command

    root, snapshot = _folder(directory, snapshot)
    try:
        result = restore_snapshot(
            current_app.extensions["db_engine"], current_app.extensions["storage"],
            current_app.extensions["db_sessionmaker"], current_app.extensions["search"].get,
            root, snapshot, force=force, progress=_progress())
    except BackupError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(f"restored snapshot {result.name}: database at revision {result.revision}"
               + (f", upgraded to {result.upgraded_to}" if result.upgraded_to else "")
               + f"; {result.files} files; {result.indexed} documents indexed")
    for line in result.count_differences:
        click.echo(f"row count differs: {line}")
    for sha256 in result.not_backed_up:
        click.echo(f"the snapshot lacks stored file {sha256} (missing when it was taken)")
    if not result.count_differences:
        click.echo("row counts match the manifest" if result.upgraded_to is None
                   else "row counts not compared (the database was upgraded)")
    click.echo("portal check:")
    click.get_current_context().invoke(check_command, quick=False, repair=False)


def backup_warning(root: str | None, now: datetime | None = None) -> str | None:
    """Return the warning `portal check` and the administrator page show when the newest
    verified snapshot is older than a day (None when there is no backup folder configured)."""
    from portal.backup.store import newest_verified, overdue

    if not root:
        return None
    infos = BackupFolder(Path(root)).infos()
    now = now or datetime.now(UTC)
    if not overdue(infos, now):
        return None
    newest = newest_verified(infos)
    if newest is None:
        return f"backup: no verified snapshot in {root} (`portal backup --verify`)"
    return (f"backup: the newest verified snapshot ({newest.name}) is older than a day")
