"""The ``portal`` command: the server and every operational task."""

from __future__ import annotations

import sys

import click
from flask import Flask, current_app
from flask.cli import FlaskGroup, with_appcontext

from portal.db import get_db
from portal.domain.permissions import Role


def _create_app() -> Flask:
    from portal import create_app

    return create_app()


main = FlaskGroup(create_app=_create_app, help="Credit Office Portal operations.")


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
def seed_demo(clients: int) -> None:
    """Load demo users and clients once; refused in production."""
    from portal.i18n import today
    from portal.services import demo

    if current_app.config["ENV"] == "production":
        raise click.ClickException("refusing to load demo data with PORTAL_ENV=production")
    report = demo.seed_demo(
        get_db(), today=today(), onboarding_days=current_app.config["ONBOARDING_BUSINESS_DAYS"],
        clients=clients,
    )
    if report.already_present:
        click.echo("demo data already present: nothing to do")
    else:
        click.echo(f"demo data loaded: {report.users_created} users, "
                   f"{report.clients_created} clients")


def register(app: Flask) -> None:
    """Attach the commands to the app's CLI (``flask --app portal`` sees them too)."""
    for command in (db_group, users_group, seed_demo):
        app.cli.add_command(command)
