"""Clients and their onboarding checklist."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum

from sqlalchemy import (
    BigInteger,
    Boolean,
    Date,
    DateTime,
    ForeignKey,
    Integer,
    String,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.db import Base, str_enum, utcnow
from portal.domain.onboarding import Step
from portal.models.users import User


class ClientKind(StrEnum):
    PERSON = "person"
    COMPANY = "company"


class ClientStatus(StrEnum):
    PROSPECT = "prospect"
    ONBOARDING = "onboarding"
    ACTIVE = "active"
    CLOSED = "closed"


class Client(Base):
    __tablename__ = "clients"

    id: Mapped[int] = mapped_column(primary_key=True)
    #: Client number assigned by the portal (``C000123``), never typed by a user.
    number: Mapped[str | None] = mapped_column(String(16), unique=True)
    kind: Mapped[ClientKind] = mapped_column(str_enum(ClientKind, "client_kind"))
    name: Mapped[str] = mapped_column(String(200))
    #: Tax number (company, ``12345678-1-42``) or tax ID (person, 10 digits), normalised.
    tax_id: Mapped[str | None] = mapped_column(String(32), index=True)
    postal_code: Mapped[str | None] = mapped_column(String(16))
    city: Mapped[str | None] = mapped_column(String(100))
    street: Mapped[str | None] = mapped_column(String(200))
    #: The phone number as the user typed it.
    phone: Mapped[str | None] = mapped_column(String(40))
    #: ``phone`` normalised to E.164 (``+36205380348``; read as Hungarian without a country
    #: code), so a number is found however it is typed; None when it is no valid number.
    phone_e164: Mapped[str | None] = mapped_column(String(16), index=True)
    email: Mapped[str | None] = mapped_column(String(254))
    #: A person's employer (None for a company).
    employer: Mapped[str | None] = mapped_column(String(200))
    #: A person's monthly income in minor units of ``income_currency`` (HUF has none: whole
    #: forints); None for a company.
    income_minor: Mapped[int | None] = mapped_column(BigInteger)
    #: The currency of ``income_minor`` (a person) or ``revenue_minor`` (a company).
    income_currency: Mapped[str] = mapped_column(String(3), default="HUF")
    #: A company's registration number (cégjegyzékszám, ``01-09-123456``); None for a person.
    registration_number: Mapped[str | None] = mapped_column(String(32))
    #: A company's annual revenue in minor units of ``income_currency``; None for a person.
    revenue_minor: Mapped[int | None] = mapped_column(BigInteger)
    status: Mapped[ClientStatus] = mapped_column(
        str_enum(ClientStatus, "client_status"), index=True
    )
    coordinator_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), index=True
    )
    #: Visible only to the assigned coordinator and to managers.
    restricted: Mapped[bool] = mapped_column(Boolean, default=False, index=True)
    onboarding_due: Mapped[date | None] = mapped_column(Date)
    #: Lower-case, accent-folded name, number, e-mail and phone, for the live filter.
    search_text: Mapped[str] = mapped_column(String(700), default="", index=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), default=utcnow, onupdate=utcnow
    )
    #: The approved credit limit (set by an approved credit review), in ``credit_currency``.
    credit_limit_minor: Mapped[int | None] = mapped_column(BigInteger)
    credit_currency: Mapped[str | None] = mapped_column(String(3))
    #: "high", "medium" or "low" (``portal.domain.policy.RiskGrade``), from the last approval.
    risk_grade: Mapped[str | None] = mapped_column(String(10))
    #: When the next periodic credit review is due (by the risk grade's interval).
    next_review_due: Mapped[date | None] = mapped_column(Date, index=True)
    #: The language letters and decision records go out in ("hu" or "en").
    language: Mapped[str] = mapped_column(String(2), default="hu")
    #: Optimistic lock: an edit based on an older version is refused.
    version: Mapped[int] = mapped_column(Integer, default=1)

    coordinator: Mapped[User | None] = relationship(foreign_keys=[coordinator_id])
    steps: Mapped[list[OnboardingStep]] = relationship(
        back_populates="client", cascade="all, delete-orphan", order_by="OnboardingStep.step"
    )

    __mapper_args__ = {"version_id_col": version}

    def done_steps(self) -> set[Step]:
        return {s.step for s in self.steps}


class OnboardingStep(Base):
    """A ticked onboarding item; an unticked item has no row."""

    __tablename__ = "onboarding_steps"
    __table_args__ = (UniqueConstraint("client_id", "step"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    client_id: Mapped[int] = mapped_column(ForeignKey("clients.id", ondelete="CASCADE"))
    step: Mapped[Step] = mapped_column(str_enum(Step, "onboarding_step"))
    done_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    done_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))

    client: Mapped[Client] = relationship(back_populates="steps")
    done_by: Mapped[User | None] = relationship()
