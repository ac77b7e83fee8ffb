"""Data tokens: a value that changes with every committed write to the tables a page reads.

A page that keeps what it rendered (the client list's results, ``portal.templating.kept``)
keys it on its token. The token is a random number in ``data_versions``; a commit that wrote
(INSERT, UPDATE or DELETE) into one of the tables a watched page reads replaces it, as the last
statement of that same transaction. So:

- the new token becomes visible exactly when the rows do, on every worker and every host;
  a request that reads the token first and then the rows can keep the rows under that token:
  it may read rows newer than the token (a commit in between), never older;
- a rolled-back transaction changes nothing;
- on PostgreSQL, the token's row is locked only from that last statement to the commit, so
  writers do not queue behind each other's work;
- a token names one state of the data: a restored backup brings its own token back with its
  rows.

Writes are noticed on the engine (``install``, from ``portal.db.make_engine``), so the ORM's
flushes, Core statements and SQL text (any statement that is not a read counts as a write to
every table) are all seen, whoever commits them: a request, a command, a job, a migration. The
tables a page reads are taken from its statements (``watch``), not listed by hand.
"""

from __future__ import annotations

import re
import secrets
from typing import Any

from sqlalchemy import Engine, Table, bindparam, event, select
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import TextClause
from sqlalchemy.sql.visitors import iterate

from portal.models.versions import DataVersion

#: Watched page name -> the names of the tables it reads.
WATCHED: dict[str, frozenset[str]] = {}

#: Where a connection notes the tables its transaction wrote (``"*"``: it ran SQL text that
#: writes, tables unknown).
_WRITTEN = "portal_written_tables"
#: SQL text that only reads (or steers the transaction); anything else counts as a write.
_READS = re.compile(r"\s*(SELECT|PRAGMA|SHOW|EXPLAIN|VALUES|SET|BEGIN|SAVEPOINT|RELEASE|"
                    r"ROLLBACK|COMMIT)\b", re.IGNORECASE)


def watch(name: str, *statements: Any) -> str:
    """Register page ``name`` as reading the tables of ``statements``; return ``name``.

    ``name`` (word characters) must have its row in ``data_versions`` (seeded by a migration).
    """
    if not re.fullmatch(r"\w+", name):
        raise ValueError(f"a page name is word characters only: {name!r}")
    tables = set()
    for statement in statements:
        tables.update(element.name for element in iterate(statement)
                      if isinstance(element, Table))
    WATCHED[name] = frozenset(tables) | WATCHED.get(name, frozenset())
    return name


def token(db: Session, name: str) -> int | None:
    """Return the current token of page ``name`` (None if it has no row: keep nothing)."""
    return db.execute(_TOKEN, {"name": name}).scalar()


#: The token query, built once (a list page runs it on every request).
_TOKEN = select(DataVersion.token).where(DataVersion.name == bindparam("name"))


def install(engine: Engine) -> None:
    """Replace the tokens of the pages whose tables a transaction on ``engine`` wrote."""
    event.listen(engine, "after_cursor_execute", _note_write)
    event.listen(engine, "commit", _replace_tokens)
    event.listen(engine, "rollback", _forget)


def _note_write(conn: Connection, _cursor, statement: str, _parameters, context,
                _executemany) -> None:
    if context is None:
        return
    compiled = context.compiled
    if context.isddl:  # a schema change (a migration): every page renders afresh
        name = "*"
    elif compiled is not None and not isinstance(compiled.statement, TextClause):
        if not (context.isinsert or context.isupdate or context.isdelete):
            return
        table = getattr(compiled.statement, "table", None)
        name = getattr(table, "name", None) or "*"
    elif _READS.match(statement):
        return
    else:
        name = "*"
    conn.info.setdefault(_WRITTEN, set()).add(name)


def _replace_tokens(conn: Connection) -> None:
    """Before the commit: one UPDATE of the tokens of the pages whose tables were written."""
    written = conn.info.pop(_WRITTEN, None)
    if not written:
        return
    if "*" in written:
        where = ""  # every page's token, registered in this process or not
    else:
        names = sorted(name for name, tables in WATCHED.items() if written & tables)
        if not names:
            return
        # The names (word characters, ``watch``) as literals, like the random integer below:
        # the two drivers write parameters differently.
        where = " WHERE name IN ({})".format(", ".join(f"'{name}'" for name in names))
    cursor = conn.connection.cursor()  # the driver's own: no events, inside this transaction
    try:
        if not _table_exists(conn, cursor):  # a migration before the table's own
            return
        cursor.execute(f"UPDATE data_versions SET token = {secrets.randbits(62)}{where}")
    finally:
        cursor.close()


def _table_exists(conn: Connection, cursor) -> bool:
    """Tell whether ``data_versions`` exists (asked each time: a restore or a migration may
    have just made or dropped it; a failed UPDATE would abort a PostgreSQL transaction)."""
    if conn.dialect.name == "sqlite":
        cursor.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' "
                       "AND name = 'data_versions'")
        return cursor.fetchone() is not None
    cursor.execute("SELECT to_regclass('data_versions')")
    return cursor.fetchone()[0] is not None


def _forget(conn: Connection) -> None:
    conn.info.pop(_WRITTEN, None)
