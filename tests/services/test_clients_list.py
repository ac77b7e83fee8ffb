"""The clients service: the list's page in one statement, phone search, kind-only fields, and
migration 0011 filling the E.164 phone numbers of existing clients."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import select

from portal import migrate
from portal.db import make_engine
from portal.domain.money import Money
from portal.domain.text import search_key
from portal.models import Client, ClientKind, ClientStatus
from portal.models.ledger import Account
from portal.services import clients
from portal.services.base import SYSTEM, Actor
from portal.services.clients import ClientData, ClientFilter
from tests.conftest import make_client

TODAY = date(2026, 11, 30)


def _page(db, actor, **flt):
    return clients.list_clients(db, actor, ClientFilter(**flt), TODAY, 25)


def test_the_page_carries_count_coordinator_ticks_and_balances(app, db, staff):
    a = make_client(db, "Aladár", coordinator_id=staff.coordinator.id)
    make_client(db, "Béla")
    make_client(db, "Titkos", restricted=True)
    db.add_all([Account(client_id=a.id, number="100000001", currency="HUF", limit_minor=0,
                        opened_on=TODAY, balance_minor=5_000),
                Account(client_id=a.id, number="100000002", currency="HUF", limit_minor=0,
                        opened_on=TODAY, balance_minor=-1_000),
                Account(client_id=a.id, number="100000003", currency="EUR", limit_minor=0,
                        opened_on=TODAY, balance_minor=0)])
    db.commit()
    page = _page(db, Actor(staff.clerk), sort="name")
    assert page.total == 2 and [r.name for r in page.items] == ["Aladár", "Béla"]
    first, second = page.items
    assert first.coordinator_name == staff.coordinator.full_name and first.steps_done == 0
    assert first.balances == (Money(4_000, "HUF"), Money(0, "EUR"))
    assert second.balances == () and second.coordinator_name is None
    assert _page(db, Actor(staff.manager)).total == 3


@pytest.mark.parametrize("who", ["clerk", "coordinator", "coordinator2", "manager", "admin"])
def test_the_unfiltered_count_and_pages_hold_exactly_the_visible_clients(app, db, staff, who):
    # Every mix of restricted and coordinator: the unfiltered count is worked out as "all
    # clients less the hidden restricted ones", the pages in the order of the name index.
    for i, (restricted, coordinator) in enumerate(
            [(r, c) for r in (False, True) for c in (None, staff.coordinator, staff.coordinator2)]
            * 3):
        make_client(db, f"Ügyfél {9 - i % 10} {i:02d}", restricted=restricted,
                    coordinator_id=coordinator.id if coordinator else None)
    actor = Actor(getattr(staff, who))
    visible = {c.name for c in db.scalars(clients.visible_clients(actor))}
    pages, listed = [], []
    while not pages or pages[-1].page < pages[-1].pages:
        pages.append(clients.list_clients(db, actor, ClientFilter(page=len(pages) + 1), TODAY, 4))
        listed += [r.name for r in pages[-1].items]
    assert {p.total for p in pages} == {len(visible)}
    assert listed == sorted(visible, key=search_key)
    assert bool(visible) is (who != "admin")  # the administrator sees no client at all
    # A filter that every client passes counts the other way, and agrees.
    assert _page(db, actor, q="ugyfel").total == len(visible)


@pytest.mark.parametrize("typed", ["06 20 538 0348", "+36 20 538 0348", "06205380348",
                                   "20/538-0348"])
def test_phone_search_in_the_service(app, db, staff, typed):
    make_client(db, "Teri", phone="+36 20 538 0348")
    make_client(db, "Mária", phone="06 30 538 0348")
    found = _page(db, Actor(staff.clerk), q=typed)
    assert [r.name for r in found.items] == ["Teri"]


@pytest.mark.parametrize("typed", ["538 0348", "5380348", "C0000"])
def test_a_search_few_clients_match_still_lists_them_in_order(app, db, staff, typed):
    # Digits make the list read the table and sort, not walk the name index: same order.
    for name in ("Cecil", "Aladár", "Béla"):
        make_client(db, name, phone="+36 20 538 0348")
    make_client(db, "Dénes", phone="+36 30 111 2222", number="X1")
    names = [r.name for r in _page(db, Actor(staff.manager), q=typed).items]
    assert names == ["Aladár", "Béla", "Cecil"]
    backwards = _page(db, Actor(staff.manager), q=typed, sort="name", descending=True)
    assert [r.name for r in backwards.items] == ["Cecil", "Béla", "Aladár"]


def test_an_invalid_phone_is_kept_as_typed_and_found_by_its_text(app, db, staff):
    client = make_client(db, "Furcsa Feri", phone="12-34")
    assert client.phone_e164 is None
    assert [r.name for r in _page(db, Actor(staff.clerk), q="12-34").items] == ["Furcsa Feri"]


def _data(kind: ClientKind, **extra) -> ClientData:
    values = dict(kind=kind, name="X", tax_id=None, postal_code=None, city=None, street=None,
                  phone="06 30 123 4567", email=None, employer="Valahol Kft.",
                  income_minor=400_000, income_currency="HUF", status=ClientStatus.PROSPECT,
                  registration_number="01-09-123456", revenue_minor=9_000_000)
    values.update(extra)
    return ClientData(**values)


@pytest.mark.parametrize(("kind", "kept", "cleared"), [
    (ClientKind.PERSON, ("employer", "income_minor"), ("registration_number", "revenue_minor")),
    (ClientKind.COMPANY, ("registration_number", "revenue_minor"), ("employer", "income_minor")),
])
def test_a_client_keeps_only_its_kinds_fields(app, db, staff, kind, kept, cleared):
    client = clients.create_client(db, SYSTEM, _data(kind), today=TODAY, onboarding_days=10)
    assert all(getattr(client, f) is not None for f in kept)
    assert all(getattr(client, f) is None for f in cleared)
    assert client.phone_e164 == "+36301234567"


def test_migration_0011_fills_the_e164_numbers_of_existing_clients(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 'old.sqlite3'}")
    migrate.upgrade(engine, "0010")
    with engine.begin() as conn:
        for client_id, phone in ((1, "06 20 538 0348"), (2, "nem tudom"), (3, None)):
            conn.exec_driver_sql(
                "INSERT INTO clients (id, number, kind, name, income_currency, status, "
                "restricted, search_text, version, created_at, updated_at, language, phone) "
                f"VALUES ({client_id}, 'C00000{client_id}', 'person', 'N', 'HUF', 'active', 0, "
                "'n', 1, '2026-01-01', '2026-01-01', 'hu', ?)", (phone,))
    migrate.upgrade(engine)
    with engine.connect() as conn:
        rows = conn.execute(select(Client.id, Client.phone_e164).order_by(Client.id)).all()
        indexes = conn.exec_driver_sql("PRAGMA index_list(clients)").all()
    assert rows == [(1, "+36205380348"), (2, None), (3, None)]
    assert any(row[1] == "ix_clients_phone_e164" for row in indexes)
    engine.dispose()


def test_like_wildcards_typed_in_the_search_are_taken_literally(app, db, staff):
    make_client(db, "Alfa_Béta")
    make_client(db, "AlfaxBéta")
    make_client(db, "Száz% Kft.")
    make_client(db, "Százegy Kft.")
    actor = Actor(staff.manager)  # also searches the tax IDs (unmasked)
    assert [r.name for r in _page(db, actor, q="alfa_b").items] == ["Alfa_Béta"]
    assert [r.name for r in _page(db, actor, q="száz%").items] == ["Száz% Kft."]
    assert [r.name for r in _page(db, Actor(staff.clerk), q="alfa_b").items] == ["Alfa_Béta"]


def test_the_same_shape_of_list_reuses_its_statement_with_other_values(app, db, staff):
    make_client(db, "Kovács Eszter", coordinator_id=staff.coordinator.id, restricted=True)
    make_client(db, "Nagy Péter", coordinator_id=staff.coordinator2.id, restricted=True)
    mine = _page(db, Actor(staff.coordinator), q="kovacs")
    theirs = _page(db, Actor(staff.coordinator2), q="nagy")
    assert [r.name for r in mine.items] == ["Kovács Eszter"]
    assert [r.name for r in theirs.items] == ["Nagy Péter"]
    assert _page(db, Actor(staff.coordinator), q="nagy").total == 0
