"""Credit reviews: the policy versions, the reviews with their obligations, verification
evidence and reference contacts, and the decisions taken on them."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.db import Base, str_enum, utcnow
from portal.domain.policy import Action, Item, RiskGrade, Status
from portal.models.clients import Client
from portal.models.documents import Document
from portal.models.users import User


class ReviewKind(StrEnum):
    NEW_LIMIT = "new_limit"
    LIMIT_INCREASE = "limit_increase"
    PERIODIC = "periodic"


class ObligationKind(StrEnum):
    MORTGAGE = "mortgage"
    PERSONAL_LOAN = "personal_loan"
    CAR_LOAN = "car_loan"
    CREDIT_CARD = "credit_card"
    OVERDRAFT = "overdraft"
    OTHER = "other"


class Channel(StrEnum):
    PHONE = "phone"
    EMAIL = "email"
    LETTER = "letter"


class ContactOutcome(StrEnum):
    CONFIRMED = "confirmed"
    NOT_CONFIRMED = "not_confirmed"
    NO_ANSWER = "no_answer"


class CreditPolicy(Base):
    """One version of the credit protocol; a new version is saved, never an edit in place."""

    __tablename__ = "credit_policies"

    id: Mapped[int] = mapped_column(primary_key=True)
    version: Mapped[int] = mapped_column(Integer, unique=True)
    #: The day from which decisions are made under this version.
    effective_from: Mapped[date] = mapped_column(Date, index=True)
    #: Basis points (4000 = 40 %).
    max_dti_bp: Mapped[int] = mapped_column(Integer)
    min_bureau_score: Mapped[int] = mapped_column(Integer)
    #: Hundredths of monthly income (600 = 6×).
    max_income_multiple_x100: Mapped[int] = mapped_column(Integer)
    #: Basis points of income left after all debt payments.
    min_residual_bp: Mapped[int] = mapped_column(Integer)
    bureau_max_age_days: Mapped[int] = mapped_column(Integer)
    #: Item values (``portal.domain.policy.Item``) that must be done before a decision.
    required_items: Mapped[list[str]] = mapped_column(JSON)
    #: ``{role: {currency: largest limit in minor units, or null for no limit}}``.
    authority: Mapped[dict[str, dict[str, int | None]]] = mapped_column(JSON)
    #: ``{risk grade: months until the next periodic review}``.
    review_months: Mapped[dict[str, int]] = mapped_column(JSON)
    note: Mapped[str] = mapped_column(String(500), default="")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))

    created_by: Mapped[User | None] = relationship()


class CreditReview(Base):
    __tablename__ = "credit_reviews"

    id: Mapped[int] = mapped_column(primary_key=True)
    client_id: Mapped[int] = mapped_column(ForeignKey("clients.id"), index=True)
    kind: Mapped[ReviewKind] = mapped_column(str_enum(ReviewKind, "review_kind"))
    status: Mapped[Status] = mapped_column(str_enum(Status, "review_status"), index=True,
                                           default=Status.DRAFT)
    requested_minor: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3), default="HUF")
    purpose: Mapped[str] = mapped_column(String(500), default="")
    #: Gross monthly income, in the review's currency.
    monthly_income_minor: Mapped[int] = mapped_column(BigInteger, default=0)
    bureau_score: Mapped[int | None] = mapped_column(Integer)
    bureau_date: Mapped[date | None] = mapped_column(Date)
    #: The least role that may decide, set when submitted (or referred up); None before.
    needed_role: Mapped[str | None] = mapped_column(String(20), index=True)
    prepared_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), index=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow,
                                                 onupdate=utcnow)
    submitted_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    closed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    #: Optimistic lock: a change based on an older version is refused (409).
    version: Mapped[int] = mapped_column(Integer, default=1)

    client: Mapped[Client] = relationship()
    prepared_by: Mapped[User | None] = relationship()
    obligations: Mapped[list[Obligation]] = relationship(
        back_populates="review", cascade="all, delete-orphan", order_by="Obligation.id")
    evidence: Mapped[list[Evidence]] = relationship(
        back_populates="review", cascade="all, delete-orphan", order_by="Evidence.id")
    contacts: Mapped[list[ReferenceContact]] = relationship(
        back_populates="review", cascade="all, delete-orphan",
        order_by="ReferenceContact.contacted_at")
    decisions: Mapped[list[CreditDecision]] = relationship(
        back_populates="review", cascade="all, delete-orphan", order_by="CreditDecision.id")

    __mapper_args__ = {"version_id_col": version}
    #: The queue's order (newest change first) and counts per status and client, however the
    #: planner joins clients (migration 0006).
    __table_args__ = (Index("ix_credit_reviews_updated_at_id", "updated_at", "id"),
                      Index("ix_credit_reviews_client_id_status", "client_id", "status"),
                      Index("ix_credit_reviews_status_client_id", "status", "client_id"))


class Obligation(Base):
    """A debt the client already has: what is left of it and what it costs a month."""

    __tablename__ = "review_obligations"

    id: Mapped[int] = mapped_column(primary_key=True)
    review_id: Mapped[int] = mapped_column(ForeignKey("credit_reviews.id", ondelete="CASCADE"),
                                           index=True)
    lender: Mapped[str] = mapped_column(String(200))
    kind: Mapped[ObligationKind] = mapped_column(str_enum(ObligationKind, "obligation_kind"))
    outstanding_minor: Mapped[int] = mapped_column(BigInteger)
    monthly_payment_minor: Mapped[int] = mapped_column(BigInteger)

    review: Mapped[CreditReview] = relationship(back_populates="obligations")


class Evidence(Base):
    """A document from the client's file that backs one verification item."""

    __tablename__ = "review_evidence"

    id: Mapped[int] = mapped_column(primary_key=True)
    review_id: Mapped[int] = mapped_column(ForeignKey("credit_reviews.id", ondelete="CASCADE"),
                                           index=True)
    item: Mapped[Item] = mapped_column(str_enum(Item, "review_item"))
    document_id: Mapped[int] = mapped_column(ForeignKey("documents.id"))
    added_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    added_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))

    review: Mapped[CreditReview] = relationship(back_populates="evidence")
    document: Mapped[Document] = relationship()
    added_by: Mapped[User | None] = relationship()


class ReferenceContact(Base):
    """One attempt to check a reference: whom, how, when, and what they said."""

    __tablename__ = "review_contacts"

    id: Mapped[int] = mapped_column(primary_key=True)
    review_id: Mapped[int] = mapped_column(ForeignKey("credit_reviews.id", ondelete="CASCADE"),
                                           index=True)
    item: Mapped[Item] = mapped_column(str_enum(Item, "review_item"))
    contact_name: Mapped[str] = mapped_column(String(200))
    channel: Mapped[Channel] = mapped_column(str_enum(Channel, "contact_channel"))
    contacted_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    outcome: Mapped[ContactOutcome] = mapped_column(str_enum(ContactOutcome, "contact_outcome"))
    note: Mapped[str] = mapped_column(Text, default="")
    logged_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    logged_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))

    review: Mapped[CreditReview] = relationship(back_populates="contacts")
    logged_by: Mapped[User | None] = relationship()


class CreditDecision(Base):
    """What a decider did with a review, and everything it was based on, frozen at the time.

    ``figures`` and ``rules`` keep the evaluation as it was (a later policy change or an edit
    does not alter them); ``policy_version`` names the protocol it was made under.
    """

    __tablename__ = "credit_decisions"

    id: Mapped[int] = mapped_column(primary_key=True)
    review_id: Mapped[int] = mapped_column(ForeignKey("credit_reviews.id", ondelete="CASCADE"),
                                           index=True)
    action: Mapped[Action] = mapped_column(str_enum(Action, "decision_action"))
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    decided_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    policy_id: Mapped[int] = mapped_column(ForeignKey("credit_policies.id"))
    policy_version: Mapped[int] = mapped_column(Integer)
    approved_minor: Mapped[int | None] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3))
    risk_grade: Mapped[RiskGrade | None] = mapped_column(str_enum(RiskGrade, "risk_grade"))
    note: Mapped[str] = mapped_column(Text, default="")
    #: ``{"requested", "monthly_income", "debt_payments", "dti_bp", "income_multiple_x100",
    #: "residual_bp", "bureau_score", "bureau_date"}`` at the time of the decision.
    figures: Mapped[dict[str, Any]] = mapped_column(JSON)
    #: ``[{"rule", "passed", "reason", "value", "limit", "items"}]`` at the time of the decision.
    rules: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    #: The filed decision record (approvals and declines).
    document_id: Mapped[int | None] = mapped_column(ForeignKey("documents.id"))
    #: The form's one-time token: a double-submitted decision is recorded once.
    request_token: Mapped[str] = mapped_column(String(64), unique=True)

    review: Mapped[CreditReview] = relationship(back_populates="decisions")
    decided_by: Mapped[User | None] = relationship()
    policy: Mapped[CreditPolicy] = relationship()
    document: Mapped[Document | None] = relationship()
