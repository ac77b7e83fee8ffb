"""Failed attempts counted in the database: what is counted, for whom, and for how long."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from portal.db import transaction
from portal.domain.permissions import Role
from portal.domain.rate_limits import parse_limits
from portal.models import AuditEvent, User
from portal.services import throttle, users
from portal.services.base import Actor
from tests.conftest import make_user

NOW = datetime(2026, 3, 2, 9, 30, tzinfo=UTC)
FIVE_A_MINUTE = parse_limits("5 per minute")


def _add(db, action, seconds_ago, *, ip="10.0.0.1", user=None):
    for age in seconds_ago:
        db.add(AuditEvent(action=action, ip=ip, at=NOW - timedelta(seconds=age),
                          actor=user.username if user else "system",
                          user_id=user.id if user else None))
    db.commit()


def _admit_login(db, ip="10.0.0.1", now=NOW):
    verdict = throttle.admit_login(db, ip, " Clerk ", FIVE_A_MINUTE, now)
    db.commit()
    return verdict


def test_counts_only_failed_logins_from_the_address_within_the_window(db):
    _add(db, throttle.LOGIN_FAILED, [50, 40, 30, 20])
    _add(db, throttle.LOGIN_FAILED, [61, 60])  # out of the window (60 s exactly is out too)
    _add(db, throttle.LOGIN_FAILED, [5, 4], ip="10.0.0.2")
    _add(db, throttle.PASSWORD_FAILED, [5])
    _add(db, "auth.login", [5])
    assert _admit_login(db).allowed
    _add(db, throttle.LOGIN_FAILED, [10])
    # Refused; the refusal counts too, so free once the second oldest (40 s ago) leaves.
    assert _admit_login(db).retry_after == 20


def test_a_refused_attempt_is_recorded_and_keeps_counting(db):
    _add(db, throttle.LOGIN_FAILED, [50, 40, 30, 20, 10])
    assert _admit_login(db).retry_after == 20
    refused = db.scalars(select(AuditEvent).order_by(AuditEvent.id.desc())).first()
    assert (refused.action, refused.ip, refused.object_label) == (
        throttle.LOGIN_FAILED, "10.0.0.1", "clerk")
    assert refused.details == {"throttled": True, "retry_after": 20}
    # Ten seconds on, the failure 50 s before NOW has left the window, but the refused
    # attempt took its place: whoever keeps trying stays refused.
    assert _admit_login(db, now=NOW + timedelta(seconds=10)).retry_after == 20
    # Whoever waits as told gets in.
    assert _admit_login(db, now=NOW + timedelta(seconds=30)).allowed


def test_retry_after_waits_until_the_count_drops_below_the_limit(db):
    _add(db, throttle.LOGIN_FAILED, [59, 58, 30, 20, 10, 5, 1])  # seven, limit five
    # With the refused one, eight: four must leave, the fourth oldest (20 s ago) in 40 s.
    assert _admit_login(db).retry_after == 40


def test_the_address_none_is_a_bucket_of_its_own(db):
    _add(db, throttle.LOGIN_FAILED, [5, 4, 3, 2, 1], ip=None)
    assert not _admit_login(db, ip=None).allowed
    assert _admit_login(db, ip="10.0.0.1").allowed


def test_several_limits_all_hold(db):
    limits = parse_limits("3 per minute; 5 per hour")
    _add(db, throttle.LOGIN_FAILED, [3000, 2000, 1000, 30])
    assert throttle.admit_login(db, "10.0.0.1", "x", limits, NOW).allowed
    _add(db, throttle.LOGIN_FAILED, [20])
    verdict = throttle.admit_login(db, "10.0.0.1", "x", limits, NOW)
    # Five in the hour with the refused one: free when the one 2000 s ago leaves.
    assert verdict.retry_after == 3600 - 2000


def test_password_checks_count_per_address_and_per_user(db):
    clerk = make_user(db, "clerk", Role.CLERK)
    other = make_user(db, "other", Role.CLERK)
    _add(db, throttle.PASSWORD_FAILED, [40, 30, 20, 10], ip="10.0.0.9", user=other)
    _add(db, throttle.PASSWORD_FAILED, [45, 35, 25, 15], ip="10.0.1.1", user=clerk)
    _add(db, throttle.LOGIN_FAILED, [5, 5, 5, 5, 5], ip="10.0.0.9")  # another counter
    here, elsewhere = Actor(clerk, "10.0.0.9"), Actor(clerk, "10.0.3.3")

    def admit(actor):
        verdict = throttle.admit_password_check(db, actor, FIVE_A_MINUTE, NOW)
        db.commit()
        return verdict

    assert admit(here).allowed  # four from the address, four by the user
    _add(db, throttle.PASSWORD_FAILED, [1], ip="10.0.0.9", user=other)
    # The address is full (other's five). With the refusal, the address is free once the
    # second oldest (30 s ago) leaves; the user's (now five) once theirs (45 s ago) leaves.
    assert admit(here).retry_after == 30
    # The refusal counted for the user: refused anywhere now, until the user's second
    # oldest (35 s ago) leaves.
    assert admit(elsewhere).retry_after == 25
    rows = db.execute(select(AuditEvent.ip, AuditEvent.user_id).where(
        AuditEvent.action == throttle.PASSWORD_FAILED, AuditEvent.at == NOW)).all()
    assert sorted(rows) == [("10.0.0.9", clerk.id), ("10.0.3.3", clerk.id)]


def test_a_wrong_current_password_is_kept_when_the_refusal_rolls_back(app, db):
    """Outside a view (a command, or a view that let the error escape) the transaction rolls
    back; the failed check is still recorded, once."""
    clerk = make_user(db, "clerk", Role.CLERK)
    sessions = app.extensions["db_sessionmaker"]
    with pytest.raises(users.WeakPassword), transaction(sessions) as session:
        actor = Actor(session.get(User, clerk.id), "10.0.0.7")
        users.change_own_password(session, actor, "wrong-one", "a-brand-new-secret", hours=1)
    rows = db.execute(select(AuditEvent.user_id, AuditEvent.ip, AuditEvent.object_label)
                      .where(AuditEvent.action == throttle.PASSWORD_FAILED)).all()
    assert rows == [(clerk.id, "10.0.0.7", "clerk")]
