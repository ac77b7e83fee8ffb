"""Demo seeding: one account per role, valid realistic clients, and a second run adds nothing."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterator
from datetime import date

import pytest
from sqlalchemy import func, select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

import portal.models  # noqa: F401  (registers every table)
from portal.db import Base, make_engine
from portal.demo.clients import DEMO_LOGINS, SeedReport, seed_demo
from portal.domain.identifiers import normalise_tax_id
from portal.domain.onboarding import STEPS, onboarding_state
from portal.domain.permissions import Role
from portal.models import AuditEvent, Client, ClientKind, ClientStatus, User
from portal.services.users import authenticate

TODAY = date(2026, 11, 27)
DAYS = 10
OPEN = (ClientStatus.PROSPECT, ClientStatus.ONBOARDING)


def _memory_session() -> tuple[Session, Engine]:
    engine = make_engine("sqlite://")
    Base.metadata.create_all(engine)
    return Session(engine), engine


@pytest.fixture(scope="module")
def seeded() -> Iterator[tuple[Session, SeedReport]]:
    """Seed an in-memory database once for the read-only tests of this module."""
    db, engine = _memory_session()
    report = seed_demo(db, today=TODAY, onboarding_days=DAYS)
    yield db, report
    db.close()
    engine.dispose()


@pytest.fixture(scope="module")
def clients(seeded: tuple[Session, SeedReport]) -> list[Client]:
    db, _ = seeded
    return list(db.scalars(select(Client).order_by(Client.id)))


def test_first_run_creates_every_account_and_client(seeded: tuple[Session, SeedReport]) -> None:
    db, report = seeded
    assert report == SeedReport(users_created=5, clients_created=200, already_present=False)
    assert db.scalar(select(func.count(User.id))) == 5
    assert db.scalar(select(func.count(Client.id))) == 200
    assert {role for _, role, _, _ in DEMO_LOGINS} == set(Role)


def test_demo_logins_work(seeded: tuple[Session, SeedReport]) -> None:
    db, _ = seeded
    for username, role, password, full_name in DEMO_LOGINS:
        user = authenticate(db, username, password, ip=None)
        assert user is not None, username
        assert (user.role, user.full_name, user.active) == (role, full_name, True)
    languages = {u.username: u.language for u in db.scalars(select(User))}
    assert languages == {
        "clerk": "hu", "coordinator": "hu", "coordinator2": "en", "manager": "hu", "admin": "en",
    }


def test_second_run_adds_nothing(seeded: tuple[Session, SeedReport]) -> None:
    db, _ = seeded
    events = db.scalar(select(func.count(AuditEvent.id)))
    report = seed_demo(db, today=TODAY, onboarding_days=DAYS)
    assert report == SeedReport(users_created=0, clients_created=0, already_present=True)
    assert db.scalar(select(func.count(User.id))) == 5
    assert db.scalar(select(func.count(Client.id))) == 200
    assert db.scalar(select(func.count(AuditEvent.id))) == events


def test_tax_ids_are_valid_and_unique(clients: list[Client]) -> None:
    for client in clients:
        assert client.tax_id is not None
        assert normalise_tax_id(client.tax_id) == client.tax_id
        if client.kind is ClientKind.PERSON:
            assert re.fullmatch(r"8\d{9}", client.tax_id)
        else:
            assert re.fullmatch(r"\d{8}-[123]-(0[2-9]|[1-3]\d|4[0-4])", client.tax_id)
    assert len({c.tax_id for c in clients}) == len(clients)


def test_names_and_contacts_look_hungarian(clients: list[Client]) -> None:
    kinds = Counter(c.kind for c in clients)
    assert 0.65 <= kinds[ClientKind.PERSON] / len(clients) <= 0.85
    names = " ".join(c.name for c in clients)
    assert set("őűáé") <= set(names.lower())
    assert any(c.name == c.name.encode("ascii", "ignore").decode() and c.kind is ClientKind.PERSON
               for c in clients), "some English names too"
    companies = [c for c in clients if c.kind is ClientKind.COMPANY]
    assert all(c.name.endswith(("Kft.", "Zrt.", "Bt.", "Ltd.")) for c in companies)
    assert len({c.name for c in companies}) == len(companies)
    for client in clients:
        assert re.fullmatch(r"[a-z0-9.-]+@example\.(hu|com)", client.email or ""), client.email
        assert re.fullmatch(r"\+36 (1|20|30|70) \d{3} \d{4}", client.phone or ""), client.phone
        assert re.fullmatch(r"\d{4}", client.postal_code or "")
        assert client.city and client.street
    assert len({c.email for c in clients}) == len(clients)


def test_income_only_for_persons_in_range(clients: list[Client]) -> None:
    for client in clients:
        assert client.income_currency == "HUF"
        if client.kind is ClientKind.COMPANY:
            assert client.income_minor is None and client.employer is None
        else:
            assert client.income_minor is not None
            assert 250_000 <= client.income_minor <= 1_800_000
            assert client.income_minor % 1000 == 0
    assert any(c.employer for c in clients) and any(
        c.employer is None for c in clients if c.kind is ClientKind.PERSON
    )


def test_coordinators_and_restriction(
    seeded: tuple[Session, SeedReport], clients: list[Client]
) -> None:
    db, _ = seeded
    roles = {u.id: u.role for u in db.scalars(select(User))}
    assigned = {c.coordinator_id for c in clients}
    assert None in assigned
    assert {roles[i] for i in assigned - {None}} == {Role.COORDINATOR, Role.MANAGER}
    restricted = [c for c in clients if c.restricted]
    assert 4 <= len(restricted) <= 30
    assert all(c.coordinator_id is not None for c in restricted)


def test_statuses_and_checklists(clients: list[Client]) -> None:
    statuses = Counter(c.status for c in clients)
    assert set(statuses) == set(ClientStatus)
    assert statuses[ClientStatus.ACTIVE] > statuses[ClientStatus.ONBOARDING]
    assert statuses[ClientStatus.ONBOARDING] > statuses[ClientStatus.CLOSED]
    for client in clients:
        done = client.done_steps()
        if client.status in (ClientStatus.ACTIVE, ClientStatus.CLOSED):
            assert done == set(STEPS)
        elif client.status is ClientStatus.PROSPECT:
            assert done == set()
        else:
            assert len(done) < len(STEPS)
    overdue = [
        onboarding_state(c.done_steps(), c.onboarding_due, TODAY, open_status=True).overdue
        for c in clients
        if c.status in OPEN
    ]
    assert any(overdue) and not all(overdue)


def test_same_seed_gives_same_clients(clients: list[Client]) -> None:
    db, engine = _memory_session()
    try:
        seed_demo(db, today=TODAY, onboarding_days=DAYS)
        again = list(db.scalars(select(Client).order_by(Client.id)))
        assert [(c.name, c.tax_id, c.status) for c in again] == [
            (c.name, c.tax_id, c.status) for c in clients
        ]
    finally:
        db.close()
        engine.dispose()
