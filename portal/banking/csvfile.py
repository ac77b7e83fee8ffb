"""Netbank CSV exports read into transactions through a column mapping remembered per bank.

:func:`sniff_csv` finds the encoding (UTF-8 with or without BOM, else Windows-1250), the
delimiter (``;``, tab or ``,``) and the header row (a bank may write a few lines about the
account first). :func:`guess_mapping` proposes a :class:`ColumnMapping` from the header names
so the mapping step starts filled in; :func:`parse_csv` reads the rows, a bad row reported
by its line number while the good rows are kept.

Columns are named by their header text (by 1-based position, ``"1"``, ``"2"``, … when the
file has no header), so a remembered mapping survives a bank reordering its columns.
"""

from __future__ import annotations

import csv
import io
import re
import unicodedata
from collections import Counter
from dataclasses import dataclass, fields

from portal.banking.model import (
    BankTransaction,
    Collector,
    Parsed,
    StatementRejected,
    collapse,
    content_id,
    normalise_account,
)
from portal.banking.values import (
    CURRENCY_WORDS,
    infer_decimal_mark,
    is_date,
    parse_date,
    parse_money,
)
from portal.domain.money import Money, MoneyError

_BOM = b"\xef\xbb\xbf"
_DELIMITERS = (";", "\t", ",")
_LOOK_AHEAD = 20
_UNIT = "line"


@dataclass(frozen=True)
class CsvFormat:
    encoding: str
    delimiter: str
    #: Index of the header record (0-based, records not lines), or -1 when there is none.
    header_index: int
    header: tuple[str, ...]


@dataclass(frozen=True)
class ColumnMapping:
    """Which column holds what; JSON-serialisable so it can be remembered per bank.

    ``amount`` (signed) wins over ``credit``/``debit`` (two unsigned columns, one filled per
    row). With a ``direction`` column (J/T, Jóváírás/Terhelés, C/D, CRDT/DBIT, +/-) the
    amount's sign comes from it. ``decimal_mark`` ``None`` infers it from the file's amounts.
    """

    date: str = ""
    amount: str = ""
    #: Credit or debit, when the amount column is unsigned.
    direction: str = ""
    credit: str = ""
    debit: str = ""
    currency: str = ""
    #: Used when there is no currency column or its cell is empty.
    fixed_currency: str = "HUF"
    counterparty_name: str = ""
    counterparty_account: str = ""
    #: Several columns are joined with a space (some banks split the Közlemény).
    reference: tuple[str, ...] = ()
    transaction_id: str = ""
    #: The bank's booking text, for display.
    description: str = ""
    decimal_mark: str | None = None

    def __post_init__(self) -> None:
        if self.decimal_mark not in (None, ",", "."):
            raise ValueError("decimal_mark must be ',', '.' or None")
        if isinstance(self.reference, str):
            object.__setattr__(self, "reference", (self.reference,) if self.reference else ())

    def missing(self) -> list[str]:
        """Return what a complete mapping still needs (empty when it can parse a file)."""
        needed = [] if self.date else ["date"]
        if not (self.amount or self.credit or self.debit):
            needed.append("amount")
        return needed

    def columns(self) -> set[str]:
        """Return every column this mapping reads."""
        named = {self.date, self.amount, self.direction, self.credit, self.debit, self.currency}
        named |= {self.counterparty_name, self.counterparty_account, self.transaction_id}
        named |= {self.description, *self.reference}
        return named - {""}

    def as_dict(self) -> dict[str, object]:
        """Return a JSON-serialisable dict."""
        values: dict[str, object] = {f.name: getattr(self, f.name) for f in fields(self)}
        values["reference"] = list(self.reference)
        return values

    @classmethod
    def from_dict(cls, values: dict[str, object]) -> ColumnMapping:
        """Build from :meth:`as_dict` output; unknown keys (from a later version) are ignored."""
        known = {f.name for f in fields(cls)}
        kwargs: dict = {}
        for key, value in values.items():
            if key not in known:
                continue
            if key == "reference":
                if not isinstance(value, list | tuple | str):
                    raise ValueError("reference must be a list of column names")
                value = (value,) if isinstance(value, str) else tuple(str(v) for v in value)
            elif key == "decimal_mark":
                value = None if value is None else str(value)
            elif not isinstance(value, str):
                raise ValueError(f"{key} must be a column name")
            kwargs[key] = value
        return cls(**kwargs)


def _normalise_name(name: str) -> str:
    """Return a header name without accents, case or punctuation: ``osszeg huf``."""
    stripped = unicodedata.normalize("NFKD", name)
    stripped = "".join(c for c in stripped if not unicodedata.combining(c)).casefold()
    return " ".join(re.sub(r"[^0-9a-z]+", " ", stripped).split())


#: Field → header names, best first (compared after :func:`_normalise_name`). The order of the
#: fields matters: a column taken by an earlier field is not offered to a later one.
_SYNONYMS: dict[str, tuple[str, ...]] = {
    "transaction_id": (
        "tranzakcio azonosito", "tranzakcioazonosito", "tranzakcio azonositoja",
        "banki azonosito", "banki referencia", "azonosito", "transaction id",
        "transaction reference", "bank reference", "id",
    ),
    "direction": (
        "jovairas terheles", "terheles jovairas", "j t", "t j", "irany", "tranzakcio iranya",
        "terhelesi jovairasi jelzo", "credit debit", "debit credit", "c d", "d c", "cdtdbtind",
        "direction",
    ),
    "credit": ("jovairas", "jovairas osszege", "jovairt osszeg", "credit", "credit amount"),
    "debit": ("terheles", "terheles osszege", "terhelt osszeg", "debit", "debit amount"),
    "counterparty_account": (
        "partner szamlaszama", "partner szamlaszam", "partner bankszamlaszama",
        "ellenoldali szamlaszam", "ellenoldali szamlaszama", "ellenszamla",
        "counterparty account", "partner account", "account number", "account", "iban",
    ),
    "counterparty_name": (
        "partner neve", "partner nev", "ellenoldali nev", "ellenoldal neve", "partner",
        "counterparty", "counterparty name", "payer", "payer name", "name",
    ),
    "date": (
        "konyveles datuma", "konyvelesi datum", "konyveles napja", "konyvelesi nap",
        "datum", "tranzakcio datuma", "booking date", "posting date", "transaction date",
        "date", "erteknap", "ertek nap", "value date",
    ),
    "currency": ("devizanem", "deviza", "penznem", "currency", "ccy"),
    "amount": ("osszeg", "tranzakcio osszege", "amount", "transaction amount"),
    "reference": ("kozlemeny", "reference", "payment reference", "remittance information",
                  "details", "narrative", "memo"),
    "description": ("tranzakcio tipusa", "megnevezes", "tipus", "description", "type",
                    "transaction type"),
}
#: Words that claim a column for a field when no exact name matched (``Összeg (HUF)``).
_KEYWORDS = {
    "credit": ("jovairas", "jovairt", "credit"),
    "debit": ("terheles", "terhelt", "debit"),
    "date": ("konyveles", "datum", "date"),
    "currency": ("deviza", "devizanem", "penznem", "currency"),
    "amount": ("osszeg", "amount"),
    "reference": ("kozlemeny",),
}


def guess_mapping(header: list[str] | tuple[str, ...]) -> ColumnMapping:
    """Propose a mapping from common Hungarian and English header names (may be incomplete)."""
    names = {_normalise_name(h): h for h in reversed(header) if h.strip()}
    taken: set[str] = set()
    chosen: dict[str, object] = {}
    for field_name, synonyms in _SYNONYMS.items():
        matches = [names[s] for s in synonyms if s in names and names[s] not in taken]
        if not matches:
            words = _KEYWORDS.get(field_name, ())
            matches = [
                h for n, h in names.items()
                if h not in taken and any(w in n.split() for w in words)
            ]
            matches.sort(key=list(header).index)
        if not matches:
            continue
        if field_name == "reference":
            pick = [h for h in header if h in matches or _normalise_name(h).startswith("kozlemeny")]
            pick = [h for h in pick if h not in taken]
            chosen["reference"] = tuple(pick)
            taken.update(pick)
        else:
            chosen[field_name] = matches[0]
            taken.add(matches[0])
    return ColumnMapping(**chosen)  # type: ignore[arg-type]


def _decode(data: bytes) -> tuple[str, str]:
    if data.startswith(_BOM):
        try:
            return data[len(_BOM):].decode("utf-8"), "utf-8-sig"
        except UnicodeDecodeError as exc:
            raise StatementRejected("the file says UTF-8 but is not") from exc
    try:
        return data.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        pass
    try:
        return data.decode("cp1250"), "cp1250"
    except UnicodeDecodeError as exc:
        raise StatementRejected("the file is neither UTF-8 nor Windows-1250 text") from exc


def _records(text: str, delimiter: str) -> csv.reader:
    return csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)


def sniff_csv(data: bytes, *, max_bytes: int = 20_000_000) -> CsvFormat:
    """Find the encoding, the delimiter and the header row of a CSV export."""
    if len(data) > max_bytes:
        raise StatementRejected(f"the file is larger than {max_bytes} bytes")
    text, encoding = _decode(data)
    best: tuple[tuple[int, int, int], str, list[list[str]]] | None = None
    for priority, delimiter in enumerate(reversed(_DELIMITERS)):
        try:
            rows = [r for _, r in zip(range(_LOOK_AHEAD), _records(text, delimiter), strict=False)]
        except csv.Error:
            continue
        widths = Counter(len(r) for r in rows if any(c.strip() for c in r))
        if not widths:
            continue
        width, count = widths.most_common(1)[0]
        score = (count if width > 1 else 0, width, priority)
        if best is None or score > best[0]:
            best = (score, delimiter, rows)
    if best is None or best[0][0] == 0:
        raise StatementRejected("no columns found: not a CSV with ';', ',' or tab between fields")
    _, delimiter, rows = best
    width = best[0][1]
    header_index = -1
    for index, row in enumerate(rows):
        if not guess_mapping(row).missing():
            header_index = index
            break
    if header_index < 0:
        for index, row in enumerate(rows):
            if len(row) == width and not any(is_date(c) for c in row):
                header_index = index
                break
    if header_index >= 0:
        header = tuple(c.strip() for c in rows[header_index])
    else:
        header = tuple(str(n) for n in range(1, width + 1))
    return CsvFormat(encoding, delimiter, header_index, header)


def parse_csv(
    data: bytes, mapping: ColumnMapping, *, fmt: CsvFormat | None = None,
    max_bytes: int = 20_000_000,
) -> Parsed:
    """Read the rows of a CSV export through ``mapping``; bad rows are reported by line.

    Raises :class:`StatementRejected` for a file too large or unreadable, or a mapping that
    is incomplete or names a column the file does not have.
    """
    fmt = fmt or sniff_csv(data, max_bytes=max_bytes)
    if len(data) > max_bytes:
        raise StatementRejected(f"the file is larger than {max_bytes} bytes")
    if missing := mapping.missing():
        raise StatementRejected(f"the column mapping lacks: {', '.join(missing)}")
    absent = sorted(mapping.columns() - set(fmt.header))
    if absent:
        raise StatementRejected(f"the file has no column {', '.join(map(repr, absent))}")
    try:
        text = data.decode(fmt.encoding)
    except (UnicodeDecodeError, LookupError) as exc:
        raise StatementRejected(f"the file is not {fmt.encoding} text") from exc
    position = {name: i for i, name in reversed(list(enumerate(fmt.header)))}
    try:
        rows = [(n, r) for n, r in _numbered(text, fmt.delimiter)][fmt.header_index + 1 :]
    except csv.Error as exc:
        raise StatementRejected(f"the CSV cannot be read: {exc}") from exc

    def cell(row: list[str], column: str) -> str:
        index = position.get(column)
        return row[index].strip() if column and index is not None and index < len(row) else ""

    mark = mapping.decimal_mark
    if mark is None:
        amount_columns = [c for c in (mapping.amount, mapping.credit, mapping.debit) if c]
        mark = infer_decimal_mark([cell(r, c) for _, r in rows for c in amount_columns])
    collector = Collector()
    seen: Counter = Counter()
    for line, row in rows:
        if not any(c.strip() for c in row):
            collector.skipped += 1
            continue
        try:
            transaction = _row(row, cell, mapping, mark, seen)
        except (ValueError, MoneyError) as exc:
            collector.error(line, str(exc), _UNIT)
            continue
        collector.add(line, transaction, _UNIT)
    return collector.result()


def _numbered(text: str, delimiter: str) -> list[tuple[int, list[str]]]:
    reader = _records(text, delimiter)
    return [(reader.line_num, row) for row in reader]


_CREDIT_WORDS = {"j", "jovairas", "jovairt", "c", "cr", "crdt", "credit", "be", "bejovo", "+"}
_DEBIT_WORDS = {"t", "terheles", "terhelt", "d", "dr", "dbit", "debit", "ki", "kimeno", "-"}


def _direction(text: str) -> int:
    """Return +1 for a credit, -1 for a debit, from what the bank writes in the column."""
    word = text.strip() if text.strip() in {"+", "-"} else _normalise_name(text)
    if word in _CREDIT_WORDS:
        return 1
    if word in _DEBIT_WORDS:
        return -1
    raise ValueError(f"credit or debit {text!r} not understood")


def _row(row, cell, mapping: ColumnMapping, mark: str | None, seen: Counter) -> BankTransaction:
    booked_text = cell(row, mapping.date)
    if not booked_text:
        raise ValueError("no date")
    booked_on = parse_date(booked_text)
    currency = cell(row, mapping.currency).upper() or mapping.fixed_currency.upper()
    currency = CURRENCY_WORDS.get(currency, currency)
    if mapping.amount:
        written = cell(row, mapping.amount)
        if not written:
            raise ValueError("no amount")
        amount = parse_money(written, currency, mark)
        if mapping.direction:
            sign = _direction(cell(row, mapping.direction))
            amount = Money(sign * abs(amount.minor), currency)
    else:
        credit_text, debit_text = cell(row, mapping.credit), cell(row, mapping.debit)
        credit = parse_money(credit_text, currency, mark) if credit_text else None
        debit = parse_money(debit_text, currency, mark) if debit_text else None
        if credit and credit.minor and debit and debit.minor:
            raise ValueError("both a credit and a debit amount")
        if credit and credit.minor:
            amount = Money(abs(credit.minor), currency)
        elif debit is not None:
            amount = Money(-abs(debit.minor), currency)
        elif credit is not None:
            amount = credit
        else:
            raise ValueError("no amount")
    name = collapse(cell(row, mapping.counterparty_name))
    account = normalise_account(cell(row, mapping.counterparty_account))
    reference = collapse(" ".join(cell(row, c) for c in mapping.reference))
    transaction_id = collapse(cell(row, mapping.transaction_id))
    if not transaction_id:
        transaction_id = content_id(booked_on, amount, account, name, reference, seen)
    raw = collapse(cell(row, mapping.description))
    raw = raw or " | ".join(c.strip() for c in row if c.strip())
    return BankTransaction(
        transaction_id=transaction_id,
        booked_on=booked_on,
        amount=amount,
        counterparty_name=name,
        counterparty_account=account,
        reference=reference,
        raw=raw[:200],
    )
