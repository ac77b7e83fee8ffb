"""Bank statements read into transactions: ISO 20022 camt.053 XML and netbank CSV exports.

Pure functions over the file's bytes (no database, no clock, no network). The importer that
records transactions and matches them to accounts is built on top of :class:`Parsed`.
"""

from portal.banking.camt import parse_camt053
from portal.banking.csvfile import ColumnMapping, CsvFormat, guess_mapping, parse_csv, sniff_csv
from portal.banking.model import (
    BankTransaction,
    Parsed,
    ParseError,
    StatementRejected,
    normalise_account,
)

__all__ = [
    "BankTransaction",
    "ColumnMapping",
    "CsvFormat",
    "ParseError",
    "Parsed",
    "StatementRejected",
    "guess_mapping",
    "normalise_account",
    "parse_camt053",
    "parse_csv",
    "sniff_csv",
]
