"""Write and read the audit trail."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta, tzinfo
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from portal.models.audit import AuditEvent
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
    if actor_name:
        stmt = stmt.where(AuditEvent.actor == actor_name.strip().lower())
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

