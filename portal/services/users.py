"""Staff accounts, passwords and login sessions."""

from __future__ import annotations

import hashlib
import logging
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import bindparam, select, update
from sqlalchemy.orm import Session
from werkzeug.security import check_password_hash, generate_password_hash

from portal.db import utcnow
from portal.domain.permissions import Perm, Role
from portal.models.users import User, UserSession
from portal.services import audit, authz, throttle
from portal.services.base import Actor, Conflict, NotFound, Page, ServiceError, paginate

log = logging.getLogger(__name__)

MIN_PASSWORD_LENGTH = 10
#: Compared against when the username is unknown, so both failures take the same time.
_DUMMY_HASH = generate_password_hash("not-a-real-password-at-all")


class WeakPassword(ServiceError):
    status = 422


def hash_password(password: str) -> str:
    """Return a Werkzeug scrypt hash of ``password``."""
    return generate_password_hash(password, method="scrypt")


def check_strength(password: str, username: str) -> None:
    """Refuse passwords that are short or contain the username."""
    if len(password) < MIN_PASSWORD_LENGTH:
        raise WeakPassword("too short")
    if username and username.lower() in password.lower():
        raise WeakPassword("contains the username")


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass(frozen=True)
class UserData:
    username: str
    full_name: str
    email: str | None
    role: Role
    active: bool
    language: str | None


def get_user(db: Session, user_id: int) -> User:
    """Return a user or raise NotFound."""
    user = db.get(User, user_id)
    if user is None:
        raise NotFound("no such user")
    return user


def find_by_username(db: Session, username: str) -> User | None:
    """Return the user with this login name (case-insensitive), or None."""
    return db.scalar(select(User).where(User.username == username.strip().lower()))


def list_users(db: Session, page: int = 1, per_page: int = 50) -> Page[User]:
    """Return every account, active ones first, by name."""
    stmt = select(User).order_by(User.active.desc(), User.full_name)
    return paginate(db, stmt, page, per_page)


def coordinators(db: Session) -> list[User]:
    """Return the active users who can be assigned to a client (coordinators and managers)."""
    stmt = (
        select(User)
        .where(User.active.is_(True), User.role.in_([Role.COORDINATOR, Role.MANAGER]))
        .order_by(User.full_name)
    )
    return list(db.scalars(stmt))


def create_user(db: Session, actor: Actor, data: UserData, password: str) -> User:
    """Create an account; the username must be new."""
    authz.require(actor, Perm.USERS_MANAGE)
    username = data.username.strip().lower()
    if find_by_username(db, username) is not None:
        raise Conflict("username taken")
    check_strength(password, username)
    user = User(
        username=username,
        full_name=data.full_name.strip(),
        email=data.email or None,
        role=data.role,
        active=data.active,
        language=data.language or None,
        password_hash=hash_password(password),
    )
    db.add(user)
    db.flush()
    audit.record(
        db, actor, "user.create", object_type="user", object_id=user.id, object_label=username,
        details={"role": data.role.value},
    )
    log.info("user %s created by %s", username, actor.username)
    return user


def update_user(db: Session, actor: Actor, user_id: int, data: UserData) -> User:
    """Change an account's name, e-mail, role, language or active flag."""
    authz.require(actor, Perm.USERS_MANAGE)
    user = get_user(db, user_id)
    if actor.user_id == user.id and (not data.active or data.role != user.role):
        raise Conflict("you cannot deactivate yourself or change your own role")
    before = {
        "full_name": user.full_name, "email": user.email, "role": user.role,
        "active": user.active, "language": user.language,
    }
    user.full_name = data.full_name.strip()
    user.email = data.email or None
    user.role = data.role
    user.active = data.active
    user.language = data.language or None
    after = {
        "full_name": user.full_name, "email": user.email, "role": user.role,
        "active": user.active, "language": user.language,
    }
    changes = audit.diff(before, after)
    if before["active"] and not user.active or before["role"] != user.role:
        revoke_sessions(db, user)
    if changes:
        audit.record(
            db, actor, "user.update", object_type="user", object_id=user.id,
            object_label=user.username, details=changes,
        )
    return user


def set_password(db: Session, actor: Actor, user_id: int, password: str) -> User:
    """Set a new password for someone (an admin's reset); all their sessions end."""
    authz.require(actor, Perm.USERS_MANAGE)
    user = get_user(db, user_id)
    check_strength(password, user.username)
    user.password_hash = hash_password(password)
    revoke_sessions(db, user)
    audit.record(db, actor, "user.password_reset", object_type="user", object_id=user.id,
                 object_label=user.username)
    return user


def change_own_password(
    db: Session, actor: Actor, current: str, new: str, *, hours: int
) -> str:
    """Change the actor's password; every session ends and a fresh one is returned (its token).

    A wrong current password is recorded (it counts towards the throttle) and refused with
    WeakPassword; the row is kept whether the caller answers the refusal (a 422 form) or lets
    the exception roll the transaction back (then ``keep`` writes it again).
    """
    user = actor.user
    assert user is not None
    if not check_password_hash(user.password_hash, current):
        user_id, username = user.id, user.username

        def record_failure(session: Session) -> None:
            audit.record(session, actor, throttle.PASSWORD_FAILED, object_type="user",
                         object_id=user_id, object_label=username)

        record_failure(db)
        log.warning("wrong current password for %s from %s", username, actor.ip)
        raise WeakPassword("current password is wrong", keep=record_failure)
    check_strength(new, user.username)
    user.password_hash = hash_password(new)
    revoke_sessions(db, user)
    audit.record(db, actor, "auth.password_change", object_type="user", object_id=user.id,
                 object_label=user.username)
    token = _open_session(db, user, actor.ip, None, hours)
    return token


def set_language(db: Session, actor: Actor, language: str | None) -> None:
    """Save the actor's interface language (None follows the browser)."""
    user = actor.user
    assert user is not None
    if user.language != language:
        audit.record(db, actor, "user.language", object_type="user", object_id=user.id,
                     object_label=user.username, details={"language": [user.language, language]})
        user.language = language


# Login sessions --------------------------------------------------------------------------


def authenticate(db: Session, username: str, password: str, ip: str | None) -> User | None:
    """Return the active user with these credentials, else None; failures are audited."""
    user = find_by_username(db, username)
    ok = check_password_hash(user.password_hash if user else _DUMMY_HASH, password)
    if user is None or not ok or not user.active:
        audit.record(db, Actor(None, ip), throttle.LOGIN_FAILED,
                     object_label=username.strip().lower()[:64])
        log.warning("failed login for %r from %s", username[:64], ip)
        return None
    return user


def start_session(
    db: Session, user: User, ip: str | None, user_agent: str | None, hours: int
) -> str:
    """Open a login session for ``user``; return the token for the cookie."""
    token = _open_session(db, user, ip, user_agent, hours)
    user.last_login_at = utcnow()
    audit.record(db, Actor(user, ip), "auth.login", object_type="user", object_id=user.id,
                 object_label=user.username)
    log.info("login %s from %s", user.username, ip)
    return token


def _open_session(
    db: Session, user: User, ip: str | None, user_agent: str | None, hours: int
) -> str:
    token = secrets.token_urlsafe(32)
    db.add(
        UserSession(
            user=user,
            token_hash=_token_hash(token),
            expires_at=utcnow() + timedelta(hours=hours),
            ip=ip,
            user_agent=(user_agent or "")[:255] or None,
        )
    )
    user.session_token = token
    return token


#: The user of a live session token and when the session ends: one query on every request,
#: built once.
_SESSION_USER = (
    select(User, UserSession.expires_at)
    .join(UserSession, UserSession.user_id == User.id)
    .where(UserSession.token_hash == bindparam("token_hash"), UserSession.revoked_at.is_(None))
)


def load_session(db: Session, token: str) -> User | None:
    """Return the user of a live session token (not revoked, not expired, user active)."""
    row = db.execute(_SESSION_USER, {"token_hash": _token_hash(token)}).first()
    if row is None or _aware(row.expires_at) <= utcnow() or not row.User.active:
        return None
    row.User.session_token = token
    return row.User


def end_session(db: Session, actor: Actor, token: str | None) -> None:
    """Revoke the session behind ``token`` (logout)."""
    if token:
        db.execute(
            update(UserSession)
            .where(UserSession.token_hash == _token_hash(token))
            .values(revoked_at=utcnow())
        )
    audit.record(db, actor, "auth.logout", object_type="user", object_id=actor.user_id,
                 object_label=actor.username)


def revoke_sessions(db: Session, user: User) -> None:
    """Revoke every open session of ``user`` (in the caller's transaction)."""
    db.execute(
        update(UserSession)
        .where(UserSession.user_id == user.id, UserSession.revoked_at.is_(None))
        .values(revoked_at=utcnow())
    )


def _aware(moment: datetime) -> datetime:
    """SQLite returns naive datetimes (stored as UTC); make them comparable."""
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
