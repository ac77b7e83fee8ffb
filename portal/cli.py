"""The ``portal`` command: the server and every operational task."""

from __future__ import annotations

import functools
import sys
from pathlib import Path

import click
from flask import Flask, current_app
from flask.cli import FlaskGroup, with_appcontext
from sqlalchemy import func, select

from portal.db import get_db
from portal.domain.permissions import Role
from portal.models.documents import DocType


def _create_app() -> Flask:
    from portal import create_app

    return create_app()


main = FlaskGroup(create_app=_create_app, help="Credit Office Portal operations.")


def committing(command):
    """Run a command as one transaction: commit its session at the end, or roll back all of
    it if it fails (a security event carried by the error is still written)."""

    @functools.wraps(command)
    def run(*args, **kwargs):
        from portal.db import fail_request

        try:
            result = command(*args, **kwargs)
        except BaseException as exc:
            fail_request(exc)
            raise
        get_db().commit()
        return result

    return run


@click.group("db", help="Database migrations.")
def db_group() -> None:
    """Group the database commands."""


@db_group.command("upgrade")
@click.option("--revision", default="head", show_default=True)
@with_appcontext
def db_upgrade(revision: str) -> None:
    """Apply the database migrations."""
    from portal import migrate

    engine = current_app.extensions["db_engine"]
    migrate.upgrade(engine, revision)
    click.echo(f"database at revision {migrate.current_revision(engine)}")


@db_group.command("current")
@with_appcontext
def db_current() -> None:
    """Print the database's migration revision."""
    from portal import migrate

    click.echo(migrate.current_revision(current_app.extensions["db_engine"]) or "none")


@click.group("users", help="Staff accounts.")
def users_group() -> None:
    """Group the user commands."""


@users_group.command("create")
@click.argument("username")
@click.option("--role", type=click.Choice([r.value for r in Role]), required=True)
@click.option("--full-name", default=None, help="Defaults to the username.")
@click.option("--email", default=None)
@click.option("--language", type=click.Choice(["hu", "en"]), default=None)
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input.")
@with_appcontext
@committing
def users_create(username, role, full_name, email, language, password_stdin) -> None:
    """Create a staff account; the password comes from a prompt or standard input."""
    from portal.services import users as users_service
    from portal.services.base import SYSTEM, Conflict
    from portal.services.users import UserData, WeakPassword

    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    data = UserData(username=username, full_name=full_name or username, email=email,
                    role=Role(role), active=True, language=language)
    try:
        user = users_service.create_user(get_db(), SYSTEM, data, password)
    except Conflict as exc:
        raise click.ClickException(f"username {username!r} is taken") from exc
    except WeakPassword as exc:
        raise click.ClickException(
            f"password refused ({exc}): use at least {users_service.MIN_PASSWORD_LENGTH} "
            "characters, not containing the username"
        ) from exc
    click.echo(f"created {user.username} ({user.role.value})")


@click.command("seed-demo")
@click.option("--clients", default=200, show_default=True)
@with_appcontext
@committing
def seed_demo(clients: int) -> None:
    """Load demo users, clients, letters and credit reviews once; refused in production."""
    from portal import demo
    from portal.i18n import today

    if current_app.config["ENV"] == "production":
        raise click.ClickException("refusing to load demo data with PORTAL_ENV=production")
    day = today()
    report = demo.seed_demo(
        get_db(), today=day, onboarding_days=current_app.config["ONBOARDING_BUSINESS_DAYS"],
        clients=clients,
    )
    if report.already_present:
        click.echo("demo data already present: nothing to do")
        return
    from portal.demo import seed_documents
    from portal.demo.reviews import seed_reviews
    from portal.jobs import apply_index_queue
    from portal.models.documents import Document

    db = get_db()
    storage = current_app.extensions["storage"]
    before = db.scalar(select(func.count(Document.id))) or 0
    seed_documents(db, storage, today=day)
    db.commit()
    reviews = seed_reviews(db, storage, today=day)  # files bureau reports and records
    db.commit()
    from portal.demo.ledger import seed_ledger

    accounts = seed_ledger(db, today=day)
    db.commit()
    from portal.demo.dates import settle_dates

    settle_dates(db, today=day, onboarding_days=current_app.config["ONBOARDING_BUSINESS_DAYS"])
    db.commit()
    documents = (db.scalar(select(func.count(Document.id))) or 0) - before
    apply_index_queue(current_app.extensions["db_sessionmaker"],
                      current_app.extensions["search"].get(), wait=True)
    click.echo(f"demo data loaded: {report.users_created} users, "
               f"{report.clients_created} clients, {documents} documents, "
               f"{reviews} credit reviews, {accounts} accounts")


@click.group("documents", help="Client documents.")
def documents_group() -> None:
    """Group the document commands."""


@documents_group.command("import")
@click.argument("folder", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--client", "client_number", required=True, help="Client number, e.g. C000123.")
@click.option("--type", "doc_type", type=click.Choice([t.value for t in DocType]),
              default=DocType.OTHER.value, show_default=True)
@click.option("--tags", default="", help="Comma-separated tags for every file.")
@click.option("--jobs", default=2, show_default=True,
              help="Files read at once (text extraction runs in its own processes).")
@with_appcontext
def documents_import(folder: Path, client_number: str, doc_type: str, tags: str,
                     jobs: int) -> None:
    """File every file under FOLDER (recursively) for a client; files already filed are skipped."""
    from portal.models.clients import Client
    from portal.services import documents as documents_service
    from portal.services.imports import files_under, import_files

    db = get_db()
    client = db.scalar(select(Client).where(Client.number == client_number.strip().upper()))
    if client is None:
        raise click.ClickException(f"no client numbered {client_number}")
    files = files_under(folder)
    meta = documents_service.FileMeta(doc_type=DocType(doc_type),
                                      tags=documents_service.normalise_tags(tags))
    with click.progressbar(length=len(files), label=f"Filing for {client.number}",
                           show_pos=True) as bar:
        summary = import_files(
            current_app.extensions["db_sessionmaker"], current_app.extensions["storage"],
            current_app.extensions["search"].get(), client.id, files, meta,
            max_bytes=current_app.config["MAX_UPLOAD_MB"] * 1024 * 1024, jobs=jobs,
            progress=lambda _path: bar.update(1))
    click.echo(f"filed {summary.filed}, duplicates {summary.duplicates}, "
               f"refused {len(summary.refused)}, index queue empty: {summary.indexed}")
    for path, reason in sorted(summary.refused):
        click.echo(f"  refused {path.relative_to(folder)}: {reason}")


@click.group("search", help="The full-text index.")
def search_group() -> None:
    """Group the search commands."""


@search_group.command("reindex")
@click.option("--batch", default=500, show_default=True)
@with_appcontext
@committing
def search_reindex(batch: int) -> None:
    """Rebuild the search index from the database, in batches."""
    from portal.models.documents import Document
    from portal.services import search as search_service

    db = get_db()
    total = db.scalar(select(func.count(Document.id)).where(Document.deleted_at.is_(None)))
    with click.progressbar(length=total or 0, label="Reindexing", show_pos=True) as bar:
        count = search_service.reindex(db, current_app.extensions["search"].get(),
                                       batch=batch, progress=bar.update)
    click.echo(f"indexed {count} documents")


@search_group.command("apply")
@with_appcontext
def search_apply() -> None:
    """Apply queued index work now (waits for the index writer)."""
    from portal.jobs import apply_index_queue

    done = apply_index_queue(current_app.extensions["db_sessionmaker"],
                             current_app.extensions["search"].get(), wait=True)
    click.echo(f"applied index work for {done} documents")


@click.command("check")
@click.option("--quick", is_flag=True, help="Skip recomputing every file's SHA-256.")
@click.option("--repair", is_flag=True,
              help="Remove orphan files and leftover temporary files, then report.")
@with_appcontext
def check_command(quick: bool, repair: bool) -> None:
    """Compare database, files on disk and search index; exit 1 on any difference."""
    from portal.services import check as check_service

    storage = current_app.extensions["storage"]
    backend = current_app.extensions["search"].get()
    report = check_service.check(get_db(), storage, backend, verify_hashes=not quick)
    if repair and (report.orphan_files or report.leftovers):
        for name in check_service.repair(get_db(), storage, report):
            click.echo(f"removed: {name}")
        report = check_service.check(get_db(), storage, backend, verify_hashes=not quick)
    lines = (
        [f"missing file: document {d} version {n} ({s})" for d, n, s in report.missing_files]
        + [f"checksum mismatch: document {d} version {n} ({s})"
           for d, n, s in report.checksum_mismatches]
        + [f"orphan file (no version refers to it): {s}" for s in report.orphan_files]
        + [f"leftover temporary file of an interrupted upload or extraction: {n}"
           for n in report.leftovers]
        + ([f"search index is {report.index_unusable}: it cannot be compared (searches use "
             "titles only until it is rebuilt)"] if report.index_unusable else [])
        + [f"document missing from the index: {d}" for d in report.missing_from_index]
        + [f"index holds a document that is deleted or unknown: {d}"
           for d in report.extra_in_index]
        + [f"account {n}: stored balance {stored} differs from its entries' sum {total} "
           "(minor units)" for n, stored, total in report.balance_drift]
    )
    for line in lines:
        click.echo(line)
    if report.pending_tasks:
        click.echo(f"queued: {report.pending_tasks} documents wait in the index queue "
                   "(applied with the next upload or search, or `portal search apply`)")
    from portal.backup.commands import backup_warning

    if warning := backup_warning(current_app.config.get("BACKUP_DIR")):
        click.echo(f"warning: {warning}")
    click.echo(f"checked {report.versions_checked} file versions: "
               + ("no differences" if report.clean else f"{len(lines)} differences"))
    get_db().rollback()
    if not report.clean:
        hints = []
        if report.orphan_files or report.leftovers:
            hints.append("`portal check --repair` removes orphan and leftover files")
        if report.missing_from_index or report.extra_in_index or report.index_unusable:
            hints.append("`portal search reindex` rebuilds the index")
        if report.missing_files or report.checksum_mismatches:
            hints.append("missing or damaged files must come back from a backup")
        if report.balance_drift:
            hints.append("a stored balance that drifted means an entry was written around the "
                         "database trigger: report it; the account page and reports use the sums")
        click.echo("repair: " + "; ".join(hints), err=True)
        sys.exit(1)


@click.group("payments", help="Bank statements and payments.")
def payments_group() -> None:
    """Group the payment commands."""


_REASONS = {
    "no_account": "no account number found in the reference",
    "currency": "the account is in another currency",
    "closed": "the account is closed",
    "reversal_unknown": "the bank took back a payment not found here (reverse it by hand)",
    "bank_reversal": "booked by the bank as a reversal, not a client's payment",
    "reversed": "taken back by the bank before it was recorded",
    "reversed_already": "the payment had been reversed already",
}


@payments_group.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--mapping", "mapping_file", default=None,
              type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="JSON column mapping for a CSV the portal does not know yet.")
@click.option("--bank", default="", help="Bank name the CSV mapping is remembered under.")
@click.option("--confirm", is_flag=True, help="Record the matched lines: payments, and the "
              "bank's reversals of recorded payments (reversed in the ledger).")
@with_appcontext
@committing
def payments_import(file: Path, mapping_file: Path | None, bank: str, confirm: bool) -> None:
    """Import a camt.053 or CSV bank statement; unmatched lines wait for `/payments/unmatched`."""
    import json

    from portal.banking import ColumnMapping
    from portal.domain.money import Money
    from portal.i18n import today
    from portal.models.banking import LineStatus
    from portal.services import statements
    from portal.services.base import SYSTEM

    limit = current_app.config["MAX_UPLOAD_MB"] * 1024 * 1024
    if file.stat().st_size > limit:
        raise click.ClickException(f"{file} is larger than the {limit // 2**20} MB limit")
    mapping = None
    if mapping_file is not None:
        try:
            given = json.loads(mapping_file.read_text("utf-8"))
            if isinstance(given.get("mapping"), dict):  # this command's own proposal, saved
                given = given["mapping"]
            mapping = ColumnMapping.from_dict(given)
        except (ValueError, TypeError, AttributeError) as exc:
            raise click.ClickException(f"{mapping_file}: not a column mapping ({exc})") from exc
    db = get_db()
    try:
        result = statements.stage(db, SYSTEM, file.name, file.read_bytes(), mapping=mapping,
                                  bank_name=bank)
    except statements.Rejected as exc:
        raise click.ClickException(f"{file}: not a readable statement: {exc.reason}") from exc
    if isinstance(result, statements.NeedsMapping):
        click.echo(json.dumps({"header": list(result.header),
                               "mapping": result.proposal.as_dict()},
                              ensure_ascii=False, indent=2))
        click.echo("this CSV's columns are not known yet: check the proposed mapping above, "
                   "save it to a file and pass it with --mapping FILE", err=True)
        sys.exit(2)
    statement = result.statement
    matched = [x for x in result.lines if x.status is LineStatus.MATCHED]
    unmatched = [x for x in result.lines if x.status is not LineStatus.MATCHED]
    set_aside = sum(1 for x in unmatched if x.status is LineStatus.IGNORED)
    click.echo(f"new lines: {statement.new_lines} (matched {len(matched)}, unmatched "
               f"{len(unmatched) - set_aside}"
               + (f", taken back by the bank {set_aside}" if set_aside else "")
               + f"); already imported: {statement.known_lines}; "
               f"debits left out: {statement.debits}; rows not read: {len(statement.errors)}")
    for error in statement.errors:
        click.echo(f"  not read: {error}")
    for line in unmatched:
        amount = Money(line.amount_minor, line.currency).as_decimal()
        state = "set aside" if line.status is LineStatus.IGNORED else "unmatched"
        click.echo(f"  {state}: {line.booked_on} {amount} {line.currency} "
                   f"{line.counterparty_name!r} {line.reference!r}: "
                   f"{_REASONS.get(line.reason or '', line.reason)}")
    if confirm and matched:
        done = statements.confirm(db, SYSTEM, [x.id for x in matched], as_of=today())
        click.echo(f"recorded: {done} payments" if not any(x.is_reversal for x in matched)
                   else f"recorded: {done} lines (payments and reversals)")
    elif matched:
        click.echo("matched lines wait for confirmation (--confirm, or /payments/unmatched)")


def register(app: Flask) -> None:
    """Attach the commands to the app's CLI (``flask --app portal`` sees them too)."""
    for command in (db_group, users_group, seed_demo, documents_group, search_group,
                    check_command):
        app.cli.add_command(command)
    app.cli.add_command(payments_group)
    from portal.backup.commands import backup_command, restore_command

    app.cli.add_command(backup_command)
    app.cli.add_command(restore_command)
