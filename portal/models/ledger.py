"""Credit accounts and their ledger: entries are only ever added, never changed or deleted.

The database enforces it: triggers (migration 0007) refuse UPDATE and DELETE on
``ledger_entries`` on SQLite and PostgreSQL alike. A correction is a reversal entry that points
at the entry it cancels. A balance is a sum of entries; ``Account.balance_minor`` is a cache of
that sum kept by a database trigger (migration 0010) and compared with it by ``portal check``.
"""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
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
from portal.domain.ledger import EntryKind
from portal.models.clients import Client
from portal.models.users import User


class AccountStatus(StrEnum):
    OPEN = "open"
    CLOSED = "closed"


class WriteOffStatus(StrEnum):
    PROPOSED = "proposed"
    APPROVED = "approved"
    REJECTED = "rejected"


class Account(Base):
    """A client's credit account: its number, currency and limit."""

    __tablename__ = "accounts"
    __table_args__ = (
        #: The client list sorted by balance sums a client's accounts from here.
        Index("ix_accounts_client_balance", "client_id", "currency", "balance_minor"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    client_id: Mapped[int] = mapped_column(ForeignKey("clients.id"), index=True)
    #: Shown to people and written on payments by clients (matched on bank imports).
    number: Mapped[str] = mapped_column(String(34), unique=True)
    currency: Mapped[str] = mapped_column(String(3))
    limit_minor: Mapped[int] = mapped_column(BigInteger, default=0)
    opened_on: Mapped[date] = mapped_column(Date)
    status: Mapped[AccountStatus] = mapped_column(str_enum(AccountStatus, "account_status"),
                                                  default=AccountStatus.OPEN, index=True)
    closed_on: Mapped[date | None] = mapped_column(Date)
    #: The approved credit review that opened it, if one did.
    review_id: Mapped[int | None] = mapped_column(ForeignKey("credit_reviews.id"))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    #: The sum of the account's entries' effects, kept by the trigger ``ledger_entries_balance``
    #: (migration 0010) on every entry inserted; never written by the application. For lists;
    #: the account page and the reports sum the entries themselves.
    balance_minor: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    #: Optimistic lock for the account's own fields (never for its entries).
    version: Mapped[int] = mapped_column(Integer, default=1)

    client: Mapped[Client] = relationship()
    created_by: Mapped[User | None] = relationship()

    __mapper_args__ = {"version_id_col": version}


class LedgerEntry(Base):
    """One entry of an account's ledger. Append-only (enforced by database triggers)."""

    __tablename__ = "ledger_entries"
    __table_args__ = (
        CheckConstraint("amount_minor <> 0", name="amount_not_zero"),
        #: Only an adjustment carries a sign of its own; every other kind is positive and its
        #: kind says which way it moves the balance.
        CheckConstraint("amount_minor > 0 OR kind = 'adjustment'", name="amount_positive"),
        CheckConstraint("(kind = 'reversal') = (reverses_id IS NOT NULL)",
                        name="reversal_points_back"),
        Index("ix_ledger_entries_account_booked", "account_id", "booked_on", "id"),
        #: Covers the sums over the whole book (balances, aging, KPIs): no row lookups.
        Index("ix_ledger_entries_account_totals", "account_id", "currency", "kind",
              "booked_on", "due_on", "amount_minor"),
        #: Covers the sums by month (KPIs): read in order of the day booked, from the first.
        Index("ix_ledger_entries_currency_booked", "currency", "booked_on", "kind",
              "account_id", "amount_minor"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"))
    kind: Mapped[EntryKind] = mapped_column(str_enum(EntryKind, "entry_kind"))
    #: Minor units in the account's currency (an entry in another currency is refused).
    amount_minor: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3))
    booked_on: Mapped[date] = mapped_column(Date)
    #: For charges and fees: when it must be paid (aging counts from here).
    due_on: Mapped[date | None] = mapped_column(Date, index=True)
    #: For a reversal: the entry it cancels.
    reverses_id: Mapped[int | None] = mapped_column(ForeignKey("ledger_entries.id"),
                                                    unique=True)
    #: For payments: how it came (transfer, cash, card) and the reference the client wrote.
    method: Mapped[str | None] = mapped_column(String(20))
    reference: Mapped[str | None] = mapped_column(String(140))
    #: The form's one-time key: a payment submitted twice is recorded once.
    idempotency_key: Mapped[str | None] = mapped_column(String(64), unique=True)
    #: A bank statement's transaction id: a statement imported twice is recorded once.
    bank_transaction_id: Mapped[str | None] = mapped_column(String(120), unique=True)
    note: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))

    account: Mapped[Account] = relationship()
    created_by: Mapped[User | None] = relationship()


class WriteOff(Base):
    """A proposal to write off (part of) an account's balance, and its approval.

    Approving it adds the write-off entry; proposer and approver are never the same person.
    """

    __tablename__ = "write_offs"

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"), index=True)
    amount_minor: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3))
    reason: Mapped[str] = mapped_column(Text)
    status: Mapped[WriteOffStatus] = mapped_column(str_enum(WriteOffStatus, "write_off_status"),
                                                   default=WriteOffStatus.PROPOSED, index=True)
    proposed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id",
                                                                  ondelete="SET NULL"))
    proposed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id",
                                                                 ondelete="SET NULL"))
    decided_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    decision_note: Mapped[str] = mapped_column(Text, default="")
    #: The write-off entry an approval added.
    entry_id: Mapped[int | None] = mapped_column(ForeignKey("ledger_entries.id"))

    account: Mapped[Account] = relationship()
