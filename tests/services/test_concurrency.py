"""Several processes write at once (gunicorn runs several workers from day one)."""

from __future__ import annotations

import multiprocessing
from datetime import date

from sqlalchemy import func, select
from sqlalchemy.orm import sessionmaker

from portal.db import make_engine, transaction
from portal.models import AuditEvent, Client, ClientKind, ClientStatus
from portal.services.base import SYSTEM
from portal.services.clients import ClientData, create_client

PROCESSES = 4
EACH = 12


def _create_clients(url: str, worker: int) -> list[str]:
    """Create EACH clients through the service; return the errors met."""
    engine = make_engine(url)
    failures: list[str] = []
    for i in range(EACH):
        data = ClientData(kind=ClientKind.PERSON, name=f"Párhuzamos {worker}-{i}", tax_id=None,
                          postal_code=None, city=None, street=None, phone=None, email=None,
                          employer=None, income_minor=None, income_currency="HUF",
                          status=ClientStatus.PROSPECT)
        try:
            with transaction(sessionmaker(engine, expire_on_commit=False)) as db:
                create_client(db, SYSTEM, data, today=date(2026, 11, 30), onboarding_days=10)
        except Exception as exc:  # noqa: BLE001 - reported by the assertion below
            failures.append(repr(exc)[:300])
    engine.dispose()
    return failures


def test_parallel_client_creation_loses_nothing_and_numbers_stay_unique(app, db):
    url = app.config["SQLALCHEMY_DATABASE_URI"]
    context = multiprocessing.get_context("spawn")
    with context.Pool(PROCESSES) as pool:
        failures = pool.starmap(_create_clients, [(url, w) for w in range(PROCESSES)])
    assert failures == [[]] * PROCESSES
    numbers = db.scalars(select(Client.number)).all()
    assert len(numbers) == len(set(numbers)) == PROCESSES * EACH
    assert all(n and n.startswith("C") for n in numbers)
    created = db.scalar(select(func.count()).where(AuditEvent.action == "client.create"))
    assert created == PROCESSES * EACH
