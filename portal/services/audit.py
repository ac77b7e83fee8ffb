"""Write and read the audit trail."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from portal.models.audit import AuditEvent
from portal.models.clients import Client
from portal.models.credit import CreditReview
from portal.models.ledger import Account
from portal.models.users import User
from portal.services.base import Actor, Page, paginate


def record(
    db: Session,
    actor: Actor,
    action: str,
    *,
    object_type: str | None = None,
    object_id: int | None = None,
    object_label: str | None = None,
    details: dict[str, Any] | None = None,
) -> AuditEvent:
    """Add an audit row to the session; it commits with the change it describes."""
    event = AuditEvent(
        user_id=actor.user_id,
        actor=actor.username,
        action=action,
        object_type=object_type,
        object_id=object_id,
        object_label=object_label,
        ip=actor.ip,
        details=details,
    )
    db.add(event)
    return event


def diff(before: dict[str, Any], after: dict[str, Any]) -> dict[str, list[Any]]:
    """Return ``{field: [old, new]}`` for the fields whose value changed."""
    return {
        key: [_plain(before.get(key)), _plain(value)]
        for key, value in after.items()
        if before.get(key) != value
    }


def _plain(value: Any) -> Any:
    if isinstance(value, date | datetime):
        return value.isoformat()
    if hasattr(value, "value"):
        return value.value
    return value


def search_events(
    db: Session,
    *,
    actor_name: str = "",
    action: str = "",
    object_text: str = "",
    date_from: date | None = None,
    date_to: date | None = None,
    tz: tzinfo = UTC,
    page: int = 1,
    per_page: int = 50,
) -> Page[AuditEvent]:
    """Return audit events matching the filters, newest first; dates are days in ``tz``."""
    stmt = select(AuditEvent)
    if actor_name.strip():
        # A username as typed, or a part of a full name (the log shows full names).
        named = select(User.id).where(User.full_name.icontains(actor_name.strip(),
                                                               autoescape=True))
        stmt = stmt.where(or_(AuditEvent.actor == actor_name.strip().lower(),
                              AuditEvent.user_id.in_(named)))
    if action:
        stmt = stmt.where(AuditEvent.action.startswith(action.strip()))
    if object_text:
        stmt = stmt.where(AuditEvent.object_label.contains(object_text.strip()))
    if date_from:
        stmt = stmt.where(AuditEvent.at >= _start_of(date_from, tz))
    if date_to:
        stmt = stmt.where(AuditEvent.at < _start_of(date_to + timedelta(days=1), tz))
    stmt = stmt.order_by(AuditEvent.at.desc(), AuditEvent.id.desc())
    return paginate(db, stmt, page, per_page)


def _start_of(day: date, tz: tzinfo) -> datetime:
    return datetime.combine(day, time.min, tzinfo=tz).astimezone(UTC)


def actions(db: Session) -> list[str]:
    """Return every action name that occurs in the log, for the filter's choices."""
    return sorted(db.scalars(select(AuditEvent.action).distinct()))



@dataclass(frozen=True)
class Context:
    """What a page of audit rows refers to by id, looked up at once for showing it in words."""

    #: Full names by user id (actors, coordinators, users as objects).
    names: dict[int, str] = field(default_factory=dict)
    #: Full names by username (failed logins name a username; a deleted user's rows keep it).
    names_by_username: dict[str, str] = field(default_factory=dict)
    #: ``(object type, id) -> {"currency": ..., "income_currency": ..., "credit_currency": ...}``
    #: for amounts whose row does not say their currency.
    currencies: dict[tuple[str, int], dict[str, str | None]] = field(default_factory=dict)


def _ids(value: Any) -> Iterable[int]:
    values = value if isinstance(value, list) else [value]
    return (v for v in values if isinstance(v, int) and not isinstance(v, bool))


def context(db: Session, events: Sequence[AuditEvent]) -> Context:
    """Look up the names and currencies a page of audit rows refers to (a few queries)."""
    user_ids: set[int] = set()
    usernames: set[str] = set()
    objects: dict[str, set[int]] = {"client": set(), "account": set(), "review": set()}
    for event in events:
        if event.user_id is not None:
            user_ids.add(event.user_id)
        elif event.actor != "system":
            usernames.add(event.actor)
        if event.object_label and event.action.startswith("auth."):
            usernames.add(event.object_label)
        if event.object_type == "user" and event.object_id is not None:
            user_ids.add(event.object_id)
        if event.object_type in objects and event.object_id is not None:
            objects[event.object_type].add(event.object_id)
        user_ids.update(_ids((event.details or {}).get("coordinator_id")))
    names: dict[int, str] = {}
    by_username: dict[str, str] = {}
    if user_ids or usernames:
        rows = db.execute(select(User.id, User.username, User.full_name).where(
            or_(User.id.in_(user_ids), User.username.in_(usernames))))
        for user_id, username, full_name in rows:
            names[user_id] = full_name or username
            by_username[username] = full_name or username
    currencies: dict[tuple[str, int], dict[str, str | None]] = {}
    if objects["client"]:
        for cid, income, credit in db.execute(
                select(Client.id, Client.income_currency, Client.credit_currency)
                .where(Client.id.in_(objects["client"]))):
            currencies[("client", cid)] = {"income_currency": income, "credit_currency": credit}
    if objects["account"]:
        for aid, currency in db.execute(select(Account.id, Account.currency)
                                        .where(Account.id.in_(objects["account"]))):
            currencies[("account", aid)] = {"currency": currency}
    if objects["review"]:
        for rid, currency in db.execute(select(CreditReview.id, CreditReview.currency)
                                        .where(CreditReview.id.in_(objects["review"]))):
            currencies[("review", rid)] = {"currency": currency}
    return Context(names, by_username, currencies)
