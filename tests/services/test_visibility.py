"""The list's SQL filter and the record's check agree on who sees which client."""

from __future__ import annotations

from itertools import product

from sqlalchemy import select

from portal.domain.permissions import may_see_client
from portal.models import Client
from portal.services.base import Actor, Forbidden
from portal.services.clients import get_client, visible_clients
from portal.services.search import hidden_client_ids
from tests.conftest import make_client


def _opens(db, actor: Actor, client_id: int) -> bool:
    try:
        get_client(db, actor, client_id, audit_read=False)
    except Forbidden:
        return False
    return True


def test_list_filter_and_record_check_agree_for_every_role(app, db, staff):
    owners = [None, staff.coordinator.id, staff.coordinator2.id, staff.manager.id]
    for n, (restricted, owner) in enumerate(product([False, True], owners)):
        make_client(db, f"Ügyfél {n}", restricted=restricted, coordinator_id=owner)
    clients = db.scalars(select(Client)).all()
    for user in (staff.clerk, staff.coordinator, staff.coordinator2, staff.manager, staff.admin):
        actor = Actor(user)
        listed = {c.id for c in db.scalars(visible_clients(actor))}
        # The search mask is exactly the complement: no client is in neither or both.
        assert hidden_client_ids(db, actor) == {c.id for c in clients} - listed
        for client in clients:
            expected = may_see_client(user.role, user.id, restricted=client.restricted,
                                      coordinator_id=client.coordinator_id)
            assert (client.id in listed) is expected, (user.username, client.name)
            assert _opens(db, actor, client.id) is expected, (user.username, client.name)
