"""Throttle password guessing, counted in the database so every worker and host sees it.

Failed attempts are audit rows already (``auth.login_failed``, ``auth.password_failed``): a
check counts the rows of one action from one address (or by one user) within the limit's
window, using the index ``ix_audit_events_throttle (action, ip, at)``, and refuses once the
count reaches the limit. A refused attempt is recorded as a failed one too (stamped with the
``now`` it was judged at), so whoever keeps trying stays refused, and the wait it is told
counts that attempt as well: who waits as told is let in. Successful attempts never count.

Two requests checked at the same moment may both pass before either has committed its
failure, so a burst can overshoot the limit by the number of requests served in parallel;
unlike a counter per worker process, it does not grow with the number of workers or hosts.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from portal.domain.rate_limits import Limit, Verdict, judge, lookback
from portal.models.audit import AuditEvent
from portal.services import audit
from portal.services.base import Actor

log = logging.getLogger(__name__)

#: A failed login (unknown user, wrong password, inactive account, or refused as throttled).
LOGIN_FAILED = "auth.login_failed"
#: A wrong current password when changing one's own password (or refused as throttled).
PASSWORD_FAILED = "auth.password_failed"


def recent_attempts(
    db: Session,
    action: str,
    limits: Sequence[Limit],
    now: datetime,
    *,
    ip: str | None = None,
    user_id: int | None = None,
) -> list[datetime]:
    """Return the times of the newest rows of ``action`` that ``limits`` need to see, newest
    first: those from address ``ip``, or when ``user_id`` is given those by that user from
    any address."""
    count, window = lookback(limits)
    now = now.astimezone(UTC)
    stmt = select(AuditEvent.at).where(AuditEvent.action == action, AuditEvent.at > now - window)
    if user_id is not None:
        stmt = stmt.where(AuditEvent.user_id == user_id)
    else:
        stmt = stmt.where(AuditEvent.ip.is_(None) if ip is None else AuditEvent.ip == ip)
    stmt = stmt.order_by(AuditEvent.at.desc()).limit(count)
    return [_aware(moment) for moment in db.scalars(stmt)]


def admit_login(
    db: Session, ip: str | None, username: str, limits: Sequence[Limit], now: datetime
) -> Verdict:
    """Judge one more login attempt from ``ip`` against the failed logins from there; a
    refused attempt is recorded and logged as a failed login."""
    verdict = judge(limits, [recent_attempts(db, LOGIN_FAILED, limits, now, ip=ip)], now)
    if not verdict.allowed:
        _record_refused(db, Actor(None, ip), LOGIN_FAILED, verdict, now,
                        label=username.strip().lower()[:64])
    return verdict


def admit_password_check(
    db: Session, actor: Actor, limits: Sequence[Limit], now: datetime
) -> Verdict:
    """Judge one more check of ``actor``'s current password: the wrong current passwords from
    the address, and those of the user from any address, must both be under the limit; a
    refused attempt is recorded and logged as a wrong one."""
    counters = [recent_attempts(db, PASSWORD_FAILED, limits, now, ip=actor.ip)]
    if actor.user_id is not None:
        counters.append(recent_attempts(db, PASSWORD_FAILED, limits, now, user_id=actor.user_id))
    verdict = judge(limits, counters, now)
    if not verdict.allowed:
        _record_refused(db, actor, PASSWORD_FAILED, verdict, now, label=actor.username)
    return verdict


def _record_refused(
    db: Session, actor: Actor, action: str, verdict: Verdict, now: datetime, *, label: str
) -> None:
    event = audit.record(
        db, actor, action,
        object_type="user" if actor.user_id is not None else None,
        object_id=actor.user_id,
        object_label=label,
        details={"throttled": True, "retry_after": verdict.retry_after},
    )
    event.at = now.astimezone(UTC)  # when it was judged: the next judgement counts it so
    log.warning("throttled %s for %r from %s; retry after %d s",
                action, label, actor.ip, verdict.retry_after)


def _aware(moment: datetime) -> datetime:
    """SQLite returns naive datetimes (stored as UTC); make them comparable."""
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
