"""Fixtures: an app with its own database, instance and storage folders for each test.

The suite runs on SQLite always and on PostgreSQL too when ``PORTAL_TEST_DATABASE_URL`` is
set (``.ci/run`` sets it). On PostgreSQL the tables live in a schema of their own, migrated
once per run and emptied after each test.
"""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from hypothesis import settings
from sqlalchemy import create_engine, text
from werkzeug.security import generate_password_hash

from portal import create_app, migrate
from portal.db import Base
from portal.domain.permissions import Role
from portal.models import Client, ClientKind, ClientStatus, User
from portal.services.clients import refresh_search_text

#: CI (``CI=true``) tries the same examples on every run and prints a failure's reproduction
#: blob; a developer's run keeps Hypothesis's random search (and its example database).
settings.register_profile("ci", derandomize=True, database=None, print_blob=True)
settings.load_profile("ci" if os.environ.get("CI") == "true" else "default")

PG_URL = os.environ.get("PORTAL_TEST_DATABASE_URL", "")
#: Rows the migrations insert, put back after each PostgreSQL test empties the tables.
_MIGRATION_ROWS: list = []
#: Each concurrent run (a developer's and CI's, say) needs a schema of its own.
PG_SCHEMA = os.environ.get("PORTAL_TEST_PG_SCHEMA", "portal_test")
BACKENDS = ["sqlite"] + (["postgresql"] if PG_URL else [])

#: Every fixture user's password. Hashed with cheap scrypt parameters so tests stay fast.
PASSWORD = "correct-horse-battery"
_HASH = generate_password_hash(PASSWORD, method="scrypt:1024:8:1")
ROLES = [Role.CLERK, Role.COORDINATOR, Role.MANAGER, Role.ADMIN]


def _pg_url() -> str:
    joiner = "&" if "?" in PG_URL else "?"
    return f"{PG_URL}{joiner}options=-csearch_path%3D{PG_SCHEMA}"


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory) -> Path:
    """Migrate a SQLite database once; each test gets a copy."""
    path = tmp_path_factory.mktemp("template") / "portal.sqlite3"
    from portal.db import make_engine

    engine = make_engine(f"sqlite:///{path}")
    migrate.upgrade(engine)
    engine.dispose()
    return path


@pytest.fixture(scope="session")
def pg_schema() -> Iterator[str]:
    """Create and migrate a fresh PostgreSQL schema for this run."""
    admin = create_engine(PG_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f"DROP SCHEMA IF EXISTS {PG_SCHEMA} CASCADE"))
        conn.execute(text(f"CREATE SCHEMA {PG_SCHEMA}"))
    from portal.db import make_engine

    engine = make_engine(_pg_url())
    migrate.upgrade(engine)
    with engine.connect() as conn:  # rows the migrations seed (the first credit policy)
        for table in Base.metadata.sorted_tables:
            rows = [dict(row._mapping) for row in conn.execute(table.select())]
            if rows:
                _MIGRATION_ROWS.append((table, rows))
    engine.dispose()
    yield _pg_url()
    with admin.connect() as conn:
        conn.execute(text(f"DROP SCHEMA IF EXISTS {PG_SCHEMA} CASCADE"))
    admin.dispose()


@pytest.fixture(params=BACKENDS)
def backend(request) -> str:
    return request.param


@pytest.fixture
def app(backend, tmp_path, request) -> Iterator[Flask]:
    """An app on a database of its own, with its own instance and storage folders."""
    if backend == "sqlite":
        db_file = tmp_path / "portal.sqlite3"
        shutil.copy(request.getfixturevalue("sqlite_template"), db_file)
        url = f"sqlite:///{db_file}"
    else:
        url = request.getfixturevalue("pg_schema")
    app = create_app(
        {
            "TESTING": True,
            "DATABASE_URL": url,
            "INSTANCE_PATH": str(tmp_path / "instance"),
            "STORAGE_DIR": str(tmp_path / "storage"),
            "LOGIN_RATE_LIMIT": "5 per minute",
        }
    )
    yield app
    engine = app.extensions["db_engine"]
    if backend == "postgresql":
        tables = ", ".join(t.name for t in Base.metadata.sorted_tables)
        with engine.begin() as conn:
            conn.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
            for table, rows in _MIGRATION_ROWS:  # as a freshly migrated database has them
                conn.execute(table.insert(), rows)
                if "id" in table.c:
                    conn.execute(text(f"SELECT setval(pg_get_serial_sequence('{table.name}', "
                                      f"'id'), (SELECT max(id) FROM {table.name}))"))
    engine.dispose()


@pytest.fixture
def db(app):
    """A session on the app's database, for setting the scene and checking results.

    No app context is pushed: a test request would otherwise reuse it, sharing ``g`` (the
    CSRF token, the logged-in user, the request's session) between requests.
    """
    session = app.extensions["db_sessionmaker"]()
    yield session
    session.close()


@dataclass
class Staff:
    clerk: User
    coordinator: User
    coordinator2: User
    manager: User
    admin: User

    def by_role(self, role: Role) -> User:
        return getattr(self, role.value)


def make_user(db, username: str, role: Role, **extra) -> User:
    """Insert an active user with PASSWORD; English unless ``language`` says otherwise."""
    extra.setdefault("language", "en")
    user = User(username=username, full_name=extra.pop("full_name", username.title()),
                role=role, password_hash=_HASH, active=True, **extra)
    db.add(user)
    db.commit()
    return user


@pytest.fixture
def staff(db) -> Staff:
    """One active user of each role (and a second coordinator), all with PASSWORD."""
    return Staff(
        clerk=make_user(db, "clerk", Role.CLERK),
        coordinator=make_user(db, "coordinator", Role.COORDINATOR),
        coordinator2=make_user(db, "coordinator2", Role.COORDINATOR),
        manager=make_user(db, "manager", Role.MANAGER),
        admin=make_user(db, "admin", Role.ADMIN),
    )


def make_client(db, name: str = "Kovács Eszter", **fields) -> Client:
    """Insert a client directly (no audit): for setting the scene, not for testing creation."""
    values = dict(kind=ClientKind.PERSON, name=name, status=ClientStatus.ACTIVE,
                  income_currency="HUF", restricted=False, onboarding_due=date(2026, 12, 10))
    values.update(fields)
    client = Client(**values)
    db.add(client)
    db.flush()
    client.number = client.number or f"C{client.id:06d}"
    refresh_search_text(client)
    db.commit()
    return client


_TOKEN = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')
_HX_TOKEN = re.compile(r'"X-CSRFToken": "([^"]+)"')


def csrf_token(client: FlaskClient, path: str = "/login") -> str:
    """Fetch a page and return the CSRF token it carries."""
    html = client.get(path).get_data(as_text=True)
    match = _TOKEN.search(html) or _HX_TOKEN.search(html)
    assert match, f"no CSRF token on {path}"
    return match.group(1)


def login(client: FlaskClient, username: str, password: str = PASSWORD):
    """Log in through the real form; return the response."""
    token = csrf_token(client, "/login")
    return client.post("/login", data={"username": username, "password": password,
                                       "csrf_token": token})


@pytest.fixture
def as_role(app, staff):
    """Return a function giving a logged-in test client for a role name."""

    def make(who: Role | str) -> FlaskClient:
        """``who`` is a role, or a fixture username such as ``coordinator2``."""
        client = app.test_client()
        username = staff.by_role(who).username if isinstance(who, Role) else who
        response = login(client, username)
        assert response.status_code == 302, response.get_data(as_text=True)[:500]
        return client

    return make


def post(client: FlaskClient, path: str, data: dict | None = None, *, htmx: bool = False,
         token_from: str = "/account/"):
    """POST with a valid CSRF token taken from a page of the same session."""
    token = csrf_token(client, token_from)
    headers = {"HX-Request": "true"} if htmx else {}
    return client.post(path, data={**(data or {}), "csrf_token": token}, headers=headers)
