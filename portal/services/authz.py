"""Object-level authorization: may this actor do this, to this client, for this amount.

Views declare the one permission a route needs (``security.requires``) and the request hook
checks the role. Services check the object here, in one place, whoever calls them (a view, the
CLI, a job): the permission again (a service can be reached without the view), the client's
confidentiality, and an amount against the actor's approval limit. The system actor (CLI jobs,
seeding) may do everything.
"""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy.orm import Session

from portal.domain.money import Money
from portal.domain.permissions import Perm, may_see_client
from portal.models.clients import Client
from portal.services import audit
from portal.services.base import Actor, Forbidden

#: Returns the most an actor may decide alone, or None for no limit (from the credit policy).
ApprovalLimit = Callable[[Actor], Money | None]


def require(actor: Actor, perm: Perm, *, client: Client | None = None,
            amount: Money | None = None, limit: ApprovalLimit | None = None) -> None:
    """Raise Forbidden unless ``actor`` may do ``perm`` (to ``client``, for ``amount``).

    An ``amount`` needs a ``limit``: deciding an amount with nothing to check it against is
    refused rather than allowed.
    """
    if actor.user is None:
        return
    if not actor.can(perm):
        raise Forbidden(f"{actor.username} may not {perm.value}")
    if client is not None:
        require_client(actor, client)
    if amount is not None:
        ceiling = limit(actor) if limit is not None else Money(0, amount.currency)
        if ceiling is not None and (ceiling.currency != amount.currency or amount > ceiling):
            raise Forbidden(f"{amount} is over the approval limit of {actor.username}")


def require_client(actor: Actor, client: Client) -> None:
    """Raise Forbidden (and keep an audit row of the attempt) unless ``actor`` may see
    ``client``: a restricted client only its coordinator and managers."""
    if actor.user is None:
        return
    if actor.role is not None and may_see_client(
        actor.role, actor.user.id, restricted=client.restricted,
        coordinator_id=client.coordinator_id,
    ):
        return
    client_id, number = client.id, client.number

    def keep(session: Session) -> None:
        audit.record(session, actor, "client.view_denied", object_type="client",
                     object_id=client_id, object_label=number)

    raise Forbidden("restricted client", keep=keep)
