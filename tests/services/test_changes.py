"""Data tokens (``portal.changes``): replaced by the commits that write a watched page's tables,
in the same transaction, and by nothing else."""

from __future__ import annotations

from datetime import date

from sqlalchemy import text, update

from portal import changes
from portal.models import AuditEvent, Client
from portal.models.ledger import Account
from portal.services.clients import CLIENT_LIST
from tests.conftest import make_client


def _token(app) -> int:
    with app.extensions["db_sessionmaker"]() as fresh:
        return changes.token(fresh, CLIENT_LIST)


def test_the_client_list_watches_the_tables_its_statement_reads():
    watched = changes.WATCHED[CLIENT_LIST]
    assert {"clients", "users", "accounts", "onboarding_steps", "ledger_entries"} <= watched
    assert not watched & {"audit_events", "user_sessions", "documents", "data_versions"}


def test_a_flush_of_a_watched_table_replaces_the_token_at_commit(app, db):
    client = make_client(db, "Első Emma")
    before = _token(app)
    client.name = "Második Emma"
    db.flush()
    assert _token(app) == before  # not committed yet: another session sees the old token
    db.commit()
    assert _token(app) != before


def test_a_core_statement_counts_as_a_write(app, db, staff):
    client = make_client(db)
    db.add(Account(client_id=client.id, number="100000001", currency="HUF", limit_minor=0,
                   opened_on=date.today()))
    db.commit()
    before = _token(app)
    db.execute(update(Account).values(balance_minor=5_000))
    db.commit()
    assert _token(app) != before


def test_writes_to_other_tables_and_reads_keep_the_token(app, db, staff):
    make_client(db)
    before = _token(app)
    db.add(AuditEvent(actor="clerk", action="client.view", object_type="client"))
    db.commit()
    db.execute(text("SELECT count(*) FROM clients")).scalar()
    db.get(Client, 1)
    db.commit()
    assert _token(app) == before


def test_a_rolled_back_write_keeps_the_token_and_is_forgotten(app, db):
    client = make_client(db, "Visszavont Vera")
    before = _token(app)
    db.execute(update(Client).where(Client.id == client.id).values(city="Pécs"))
    db.rollback()
    db.execute(text("SELECT 1")).scalar()  # the same connection, a read-only transaction
    db.commit()
    assert _token(app) == before


def test_sql_text_that_writes_counts_as_writing_every_table(app, db):
    make_client(db)
    before = _token(app)
    db.execute(text("UPDATE clients SET city = 'Győr'"))
    db.commit()
    assert _token(app) != before


def test_the_token_and_the_rows_become_visible_together(app, db):
    """A reader that sees the new token sees the new rows: the token is replaced inside the
    writer's transaction, as its last statement."""
    client = make_client(db, "Régi Rozália")
    sessions = app.extensions["db_sessionmaker"]
    before = _token(app)
    with sessions() as writer:
        writer.get(Client, client.id).name = "Új Rozália"
        writer.flush()
        with sessions() as reader:
            assert changes.token(reader, CLIENT_LIST) == before
            assert reader.get(Client, client.id).name == "Régi Rozália"
        writer.commit()
    with sessions() as reader:
        assert changes.token(reader, CLIENT_LIST) != before
        assert reader.get(Client, client.id).name == "Új Rozália"
