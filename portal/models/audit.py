"""The audit trail: who did or read what, when, from where. Rows are only ever added."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, DateTime, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from portal.db import Base, utcnow


class AuditEvent(Base):
    __tablename__ = "audit_events"
    __table_args__ = (
        Index("ix_audit_events_object", "object_type", "object_id"),
        #: Failed logins and password checks are counted per address over a time window.
        Index("ix_audit_events_throttle", "action", "ip", "at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, index=True)
    user_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), index=True
    )
    #: Username at the time of the event (kept if the account is renamed).
    actor: Mapped[str] = mapped_column(String(64))
    #: Dotted verb, e.g. ``client.view``, ``client.update``, ``auth.login_failed``.
    action: Mapped[str] = mapped_column(String(64), index=True)
    object_type: Mapped[str | None] = mapped_column(String(32))
    object_id: Mapped[int | None] = mapped_column()
    #: Human-readable name of the object at the time (client number, username).
    object_label: Mapped[str | None] = mapped_column(String(200))
    ip: Mapped[str | None] = mapped_column(String(45))
    #: What changed: ``{"field": [old, new]}`` for updates, free details otherwise.
    details: Mapped[dict[str, Any] | None] = mapped_column(JSON)
