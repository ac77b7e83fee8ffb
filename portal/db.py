"""Database engine, the session of the current request, the declarative base, and the
transaction boundary.

**One transaction per request or command.** Services add and change rows and ``flush()``;
they never commit or roll back. The boundary does, once:

- a web request commits after its view returned a response (whatever its status), and rolls
  back everything when an exception escapes the view (``init_app`` below);
- a CLI command, job or test uses ``transaction(sessions)``, which commits at the end of the
  block or rolls back on any exception.

So a change that writes several things (a document, its index work, its audit row) writes all
of them or none. What must happen only once the rows are safely committed (or only if they
were not), such as removing a file nobody refers to any more, is registered with
``on_commit`` / ``on_rollback``. A security event that must be kept even though the request
fails (a denied read) travels on the exception (``ServiceError.keep``) and is written by the
boundary after the rollback.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from enum import StrEnum

from flask import Flask, current_app, g
from sqlalchemy import Enum, MetaData, create_engine, event
from sqlalchemy.engine import Engine
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker

log = logging.getLogger(__name__)

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


def str_enum(cls: type[StrEnum], name: str) -> Enum:
    """Return a column type storing ``cls`` by value as a string with a CHECK constraint."""
    return Enum(
        cls,
        name=name,
        native_enum=False,
        length=20,
        create_constraint=True,
        values_callable=lambda members: [m.value for m in members],
    )


def utcnow() -> datetime:
    """Return the current time in UTC (timezone-aware)."""
    return datetime.now(UTC)


def _sqlite_pragmas(dbapi_connection, _record) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def _sqlite_savepoint(conn, _name) -> None:
    """Begin the transaction before a first SAVEPOINT on SQLite.

    The sqlite3 driver emits BEGIN only before its first INSERT, UPDATE or DELETE. A SAVEPOINT
    issued before that starts a transaction of its own, and releasing it would commit
    everything so far: a savepoint must sit inside the request's transaction.
    """
    dbapi = conn.connection.dbapi_connection
    if not dbapi.in_transaction:
        dbapi.execute("BEGIN")


def make_engine(url: str) -> Engine:
    """Create an engine; SQLite connections get WAL, a busy timeout and foreign keys. Its
    commits replace the data tokens of the pages whose tables they wrote (``portal.changes``)."""
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"timeout": 10})
        event.listen(engine, "connect", _sqlite_pragmas)
        event.listen(engine, "savepoint", _sqlite_savepoint)
    else:
        engine = create_engine(url, pool_pre_ping=True)
    from portal import changes  # it reads a model, and the models need this module

    changes.install(engine)
    return engine


def init_app(app: Flask) -> None:
    """Bind an engine and a session factory to the app; close the session after each request
    (``commit_requests`` adds the commit)."""
    engine = make_engine(app.config["SQLALCHEMY_DATABASE_URI"])
    app.extensions["db_engine"] = engine
    app.extensions["db_sessionmaker"] = sessionmaker(bind=engine, expire_on_commit=False)

    @app.teardown_appcontext
    def _close_session(_exc: BaseException | None) -> None:
        session: Session | None = g.pop("db_session", None)
        if session is not None:
            session.close()  # rolls back whatever was not committed


def commit_requests(app: Flask) -> None:
    """Commit each request's transaction once its view has returned a response.

    Registered last, so it runs first among the ``after_request`` hooks: a response that
    replaces a failed commit still gets the security headers and the rest.
    """

    @app.after_request
    def _commit(response):
        # Runs before the response is sent, so a failed commit still becomes an error page.
        session: Session | None = g.get("db_session")
        if session is None or g.get("db_failed"):
            return response
        try:
            session.commit()
        except Exception as exc:  # noqa: BLE001 - turned into an error response
            fail_request(exc)
            from portal.errors import response_for_failed_commit

            return response_for_failed_commit(exc)
        return response


def fail_request(exc: BaseException | None = None) -> None:
    """Roll back the request's transaction and keep it from committing (error handlers call
    this); a security event carried by ``exc`` is then written in a transaction of its own."""
    g.db_failed = True
    session: Session | None = g.get("db_session")
    if session is None:
        return
    try:
        session.rollback()
        keep = getattr(exc, "keep", None)
        if keep is not None:
            keep(session)
            session.commit()
    except Exception:  # noqa: BLE001 - the database itself may be what failed
        log.exception("rollback after an error failed")
        session.rollback()


@contextmanager
def transaction(sessions: sessionmaker[Session]) -> Iterator[Session]:
    """Run one unit of work outside a request: commit at the end, roll back on any error."""
    session = sessions()
    try:
        yield session
        session.commit()
    except BaseException as exc:
        session.rollback()
        keep = getattr(exc, "keep", None)
        if keep is not None:
            keep(session)
            session.commit()
        raise
    finally:
        session.close()


def on_commit(session: Session, action: Callable[[], None]) -> None:
    """Run ``action`` once the session's current transaction has committed."""
    session.info.setdefault("on_commit", []).append(action)


def on_rollback(session: Session, action: Callable[[], None]) -> None:
    """Run ``action`` if the session's outermost transaction is rolled back instead (a
    savepoint rolled back alone does not run it: the outer transaction may still commit)."""
    session.info.setdefault("on_rollback", []).append(action)


def _run(session: Session, key: str) -> None:
    actions = session.info.pop(key, [])
    session.info.pop("on_rollback" if key == "on_commit" else "on_commit", None)
    for action in actions:
        try:
            action()
        except Exception:  # noqa: BLE001 - the transaction's outcome stands; log and go on
            log.exception("%s action failed", key)


@event.listens_for(Session, "after_commit")
def _after_commit(session: Session) -> None:
    _run(session, "on_commit")


@event.listens_for(Session, "after_soft_rollback")
def _after_rollback(session: Session, previous) -> None:
    if previous.parent is None:  # the outermost transaction, not a savepoint
        _run(session, "on_rollback")


def get_db() -> Session:
    """Return the session of the current app context, opening it on first use."""
    if "db_session" not in g:
        g.db_session = current_app.extensions["db_sessionmaker"]()
    return g.db_session
