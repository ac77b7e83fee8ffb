"""What every service shares: the acting user, the errors views turn into status codes, paging."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from portal.domain.permissions import Perm, Role, allows
from portal.models.users import User

T = TypeVar("T")


@dataclass(frozen=True)
class Actor:
    """Who acts, and from where. ``user`` is None for the system (CLI jobs, seeding)."""

    user: User | None
    ip: str | None = None

    @property
    def user_id(self) -> int | None:
        return self.user.id if self.user else None

    @property
    def username(self) -> str:
        return self.user.username if self.user else "system"

    @property
    def role(self) -> Role | None:
        return self.user.role if self.user else None

    def can(self, perm: Perm) -> bool:
        return self.user is None or allows(self.user.role, perm)


SYSTEM = Actor(None)


class ServiceError(Exception):
    """Base of the errors a view turns into an HTTP status.

    ``keep``, when set, writes what must be kept although the change is refused (the audit
    row of a denied read): the transaction boundary rolls back, calls ``keep(session)`` and
    commits that alone.
    """

    status = 400

    def __init__(self, *args: object, keep: Callable[[Session], object] | None = None) -> None:
        super().__init__(*args)
        self.keep = keep


class NotFound(ServiceError):
    status = 404


class Forbidden(ServiceError):
    status = 403


class Conflict(ServiceError):
    """Someone else changed the record since the form was loaded."""

    status = 409


@dataclass(frozen=True)
class Page(Generic[T]):
    items: Sequence[T]
    total: int
    page: int
    per_page: int

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.per_page))

    @property
    def has_prev(self) -> bool:
        return self.page > 1

    @property
    def has_next(self) -> bool:
        return self.page < self.pages


def paginate(db: Session, stmt: Select, page: int, per_page: int) -> Page:
    """Run ``stmt`` for one page and count the whole result."""
    total = db.scalar(select(func.count()).select_from(stmt.order_by(None).subquery())) or 0
    pages = max(1, -(-total // per_page))
    page = min(max(1, page), pages)
    items = db.scalars(stmt.limit(per_page).offset((page - 1) * per_page)).all()
    return Page(items, total, page, per_page)


def unindexed(column: Any) -> Any:
    """Return the column wrapped so that the database does not pick an index for a condition
    on it: the condition is a filter on rows found another way (by id, in the order of
    another index)."""
    return func.coalesce(column, column)
