"""Imported bank statements: each statement line once, matched to an account or waiting for a
person to assign it, and the CSV column mappings remembered per bank."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, BigInteger, Date, DateTime, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.db import Base, str_enum, utcnow
from portal.models.ledger import Account, LedgerEntry


class LineStatus(StrEnum):
    #: Matched to an account by the reference; waits for a person to confirm it.
    MATCHED = "matched"
    #: No account found (or not one that can take it): waits to be assigned by hand.
    UNMATCHED = "unmatched"
    #: Recorded as a payment (``entry_id``).
    RECORDED = "recorded"
    #: Put aside by a person (not a client's payment).
    IGNORED = "ignored"


class StatementImport(Base):
    """One uploaded statement file."""

    __tablename__ = "statement_imports"

    id: Mapped[int] = mapped_column(primary_key=True)
    file_name: Mapped[str] = mapped_column(String(255))
    #: "camt053" or "csv".
    format: Mapped[str] = mapped_column(String(10))
    sha256: Mapped[str] = mapped_column(String(64), index=True)
    #: Lines new in this file (credits), lines already known from an earlier import, debits
    #: left out, rows that could not be read.
    new_lines: Mapped[int] = mapped_column(Integer, default=0)
    known_lines: Mapped[int] = mapped_column(Integer, default=0)
    debits: Mapped[int] = mapped_column(Integer, default=0)
    errors: Mapped[list[str]] = mapped_column(JSON, default=list)
    imported_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    imported_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id",
                                                                  ondelete="SET NULL"))


class StatementLine(Base):
    """A credit on a bank statement: a client's payment, until it is recorded or set aside.

    Or a bank's reversal of such a credit (a returned or recalled payment): a line with a
    negative amount and ``reverses_line_id``. Confirming it reverses the recorded payment.
    """

    __tablename__ = "statement_lines"

    id: Mapped[int] = mapped_column(primary_key=True)
    import_id: Mapped[int] = mapped_column(ForeignKey("statement_imports.id"), index=True)
    #: The bank's id of the booking; a statement imported twice adds nothing twice.
    transaction_id: Mapped[str] = mapped_column(String(200), unique=True)
    booked_on: Mapped[date] = mapped_column(Date)
    amount_minor: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3))
    counterparty_name: Mapped[str] = mapped_column(String(200), default="")
    counterparty_account: Mapped[str] = mapped_column(String(40), default="")
    reference: Mapped[str] = mapped_column(String(500), default="")
    #: The payer's end-to-end id (camt): a reversal repeats it; "" when the bank gave none.
    end_to_end_id: Mapped[str] = mapped_column(String(140), default="", server_default="",
                                               index=True)
    #: For a bank reversal: the credit line it takes back (each at most once).
    reverses_line_id: Mapped[int | None] = mapped_column(ForeignKey("statement_lines.id"),
                                                         unique=True)
    status: Mapped[LineStatus] = mapped_column(str_enum(LineStatus, "statement_line_status"),
                                               index=True)
    #: The account it was matched or assigned to.
    account_id: Mapped[int | None] = mapped_column(ForeignKey("accounts.id"))
    #: Why it waits or was set aside, for the person dealing with it: "no_account",
    #: "currency", "closed", "ignored"; for reversals "reversal" (of a recorded payment),
    #: "reversal_unknown" (no credit found to reverse), "bank_reversal" (a credit the bank
    #: booked as a reversal) and "reversed" (a credit the bank took back before it was recorded,
    #: and the reversal that did so).
    reason: Mapped[str | None] = mapped_column(String(20))
    entry_id: Mapped[int | None] = mapped_column(ForeignKey("ledger_entries.id"))

    statement: Mapped[StatementImport] = relationship()
    account: Mapped[Account | None] = relationship()
    entry: Mapped[LedgerEntry | None] = relationship()
    reverses: Mapped[StatementLine | None] = relationship(remote_side=[id])

    @property
    def is_reversal(self) -> bool:
        """Return True for a bank's reversal of an earlier credit (money out)."""
        return self.amount_minor < 0


class BankMapping(Base):
    """The CSV column mapping a bank's export needs, remembered by its header line."""

    __tablename__ = "bank_mappings"

    id: Mapped[int] = mapped_column(primary_key=True)
    #: The file's header, normalised: the same bank's exports share it.
    signature: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(100), default="")
    mapping: Mapped[dict[str, Any]] = mapped_column(JSON)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow,
                                                 onupdate=utcnow)
