"""What a parsed bank statement gives: transactions, and the rows that could not be read.

Decisions shared by both formats:

* **Signs.** Credits (money in: a client's payment) are positive, debits (money out) negative.
  Debits are kept, not skipped, so that a statement reads back complete; the importer decides
  which ones it records.
* **Transaction ids** are the bank's own where the file has one (camt: ``AcctSvcrRef``, else
  ``NtryRef``, else the transaction's ``TxId``/``EndToEndId``; CSV: the mapped id column).
  Otherwise the id is ``sha256:`` plus the SHA-256 of the row's normalised content (see
  :func:`content_id`). The importer keeps each id once across all statements (one office
  account's ids never repeat; two banks' ids are not expected to meet: bank references carry
  their own formats, and a content hash covers date, amount, payer and reference), so
  importing the same file twice records nothing twice.
* **Whole-file problems** (too large, a DTD, not XML, not a camt.053, undecodable text) raise
  :class:`StatementRejected`; a bad row or entry is a :class:`ParseError` in ``Parsed.errors``
  while the good ones are kept.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections import Counter
from dataclasses import dataclass, field
from datetime import date

from portal.domain.money import Money


class StatementRejected(ValueError):
    """A whole file refused: too large, hostile XML, not a statement, unreadable text."""


@dataclass(frozen=True)
class BankTransaction:
    #: The bank's unique id for the booking (or a content hash; see the module docstring).
    transaction_id: str
    booked_on: date
    #: Credits positive, debits negative; integer minor units.
    amount: Money
    counterparty_name: str = ""
    #: IBAN or Hungarian GIRO (3×8 digits), upper case, without spaces or dashes.
    counterparty_account: str = ""
    #: Remittance information: what the payer wrote (``Ustrd``/``Strd`` text, Közlemény).
    reference: str = ""
    #: Short description for display (the bank's booking text or type).
    raw: str = ""
    #: The bank booked this to undo an earlier booking (camt ``RvslInd``): a returned or
    #: recalled payment is a reversal debit. CSV exports do not say so.
    reversal: bool = False
    #: The payer's end-to-end id (camt ``EndToEndId``), which a reversal repeats: what ties
    #: the two together. Empty when the bank gives none.
    end_to_end_id: str = ""

    @property
    def is_credit(self) -> bool:
        """Return True for money received."""
        return self.amount.minor > 0


@dataclass(frozen=True)
class ParseError:
    #: CSV: physical line number (1-based, the header included); camt: entry number (1-based).
    row: int
    message: str
    unit: str = "line"

    def __str__(self) -> str:
        return f"{self.unit} {self.row}: {self.message}"


@dataclass(frozen=True)
class Parsed:
    transactions: tuple[BankTransaction, ...] = ()
    errors: tuple[ParseError, ...] = ()
    #: Rows or entries left out on purpose (pending camt entries, empty lines), for display.
    skipped: int = 0

    @property
    def ok(self) -> bool:
        """Return True when every row was read."""
        return not self.errors


_ACCOUNT_NOISE = re.compile(r"[\s\-\u00a0]")


def normalise_account(text: str | None) -> str:
    """Return an account number without spaces or dashes, upper case.

    A Hungarian GIRO number written in its short 2×8 form gets its implied third group of
    zeros (``11773016-11111111`` → ``117730161111111100000000``) so that both forms match.
    """
    cleaned = _ACCOUNT_NOISE.sub("", text or "").upper()
    if len(cleaned) == 16 and cleaned.isdigit():
        cleaned += "0" * 8
    return cleaned


def collapse(text: str | None) -> str:
    """Return ``text`` with runs of white space made single spaces, trimmed."""
    return " ".join((text or "").split())


def content_id(
    booked_on: date, amount: Money, account: str, name: str, reference: str, seen: Counter
) -> str:
    """Return ``sha256:<hex>`` for a row without a bank id.

    Hashed: the booking date, amount, currency, counterparty account, counterparty name
    (case-folded) and reference, white space collapsed, plus the row's ordinal among identical
    rows of the same file (the second of two equal payments on one day is a different
    transaction). Nothing depends on the row's position in the file, so a re-export over a
    different date range gives the same ids.
    """
    key = json.dumps(
        [
            booked_on.isoformat(),
            amount.minor,
            amount.currency,
            normalise_account(account),
            collapse(name).casefold(),
            collapse(reference),
        ],
        ensure_ascii=False,
    )
    seen[key] += 1
    digest = hashlib.sha256(f"{key}\x1f{seen[key]}".encode()).hexdigest()
    return f"sha256:{digest}"


@dataclass
class Collector:
    """Gather transactions and errors; a repeated transaction id is an error on its row."""

    transactions: list[BankTransaction] = field(default_factory=list)
    errors: list[ParseError] = field(default_factory=list)
    skipped: int = 0
    _ids: set[str] = field(default_factory=set)

    def add(self, row: int, transaction: BankTransaction, unit: str) -> None:
        """Keep ``transaction`` unless its id was already seen in this file."""
        if transaction.transaction_id in self._ids:
            self.error(row, f"transaction id {transaction.transaction_id} repeated", unit)
            return
        self._ids.add(transaction.transaction_id)
        self.transactions.append(transaction)

    def error(self, row: int, message: str, unit: str) -> None:
        """Record a row that could not be read."""
        self.errors.append(ParseError(row, message, unit))

    def result(self) -> Parsed:
        """Return the frozen result."""
        return Parsed(tuple(self.transactions), tuple(self.errors), self.skipped)
