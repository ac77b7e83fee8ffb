"""Money as integer minor units plus an ISO 4217 currency. No floats anywhere.

The number of minor units per currency follows CLDR (through Babel): HUF has 0 digits
(amounts are whole forints), EUR has 2 (cents).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from functools import lru_cache

from babel.numbers import format_currency, get_currency_precision

SUPPORTED_CURRENCIES: tuple[str, ...] = ("HUF", "EUR")


class MoneyError(ValueError):
    """An amount that cannot be read as money in the given currency."""


def exponent(currency: str) -> int:
    """Return the number of decimal digits of ``currency``'s minor unit."""
    if currency not in SUPPORTED_CURRENCIES:
        raise MoneyError(f"unsupported currency {currency!r}")
    return _PRECISION[currency]


#: Looked up once: every Money checks its currency, and a report makes tens of thousands.
_PRECISION = {currency: get_currency_precision(currency) for currency in SUPPORTED_CURRENCIES}


@dataclass(frozen=True, order=True)
class Money:
    minor: int
    currency: str = "HUF"

    def __post_init__(self) -> None:
        if not isinstance(self.minor, int) or isinstance(self.minor, bool):
            raise TypeError("Money.minor must be an int")
        exponent(self.currency)

    def __add__(self, other: Money) -> Money:
        self._same(other)
        return Money(self.minor + other.minor, self.currency)

    def __sub__(self, other: Money) -> Money:
        self._same(other)
        return Money(self.minor - other.minor, self.currency)

    def _same(self, other: Money) -> None:
        if other.currency != self.currency:
            raise MoneyError(f"cannot mix {self.currency} and {other.currency}")

    def as_decimal(self) -> Decimal:
        """Return the amount in major units as an exact Decimal."""
        return Decimal(self.minor).scaleb(-exponent(self.currency))


_SPACES = re.compile(r"[\s\u00a0\u202f']")
#: What people write for each currency, before or after the number.
_SYMBOLS = {"HUF": ("HUF", "FT"), "EUR": ("EUR", "€")}


def _strip_symbol(text: str, currency: str) -> str:
    """Remove a currency symbol at either end; a symbol of another currency is an error."""
    upper = text.upper()
    for code, symbols in _SYMBOLS.items():
        for symbol in symbols:
            for at_start in (True, False):
                found = upper.startswith(symbol) if at_start else upper.endswith(symbol)
                if not found:
                    continue
                if code != currency:
                    raise MoneyError(f"amount is in {code}, not {currency}")
                return text[len(symbol) :] if at_start else text[: -len(symbol)]
    return text


def parse_amount(text: str, currency: str = "HUF") -> Money:
    """Read an amount typed by a person: ``1 234 567``, ``1234,50``, ``1,234.50``, ``HUF 1,234``.

    When both ``,`` and ``.`` occur, the last one is the decimal mark. A single mark is a
    decimal mark unless exactly three digits follow it and a non-zero digit precedes it
    (``1.234`` is grouping, ``0,001`` and ``12,5`` are decimals). More decimals than the
    currency has is an error, never rounding.
    """
    digits = exponent(currency)
    cleaned = _SPACES.sub("", text.strip())
    sign = "-" if cleaned.startswith("-") else ""
    cleaned = _strip_symbol(cleaned.removeprefix("-"), currency)
    if sign and cleaned.startswith("-"):
        raise MoneyError("not an amount")
    cleaned = sign + cleaned
    if not re.fullmatch(r"-?[0-9.,]*[0-9][0-9.,]*", cleaned):
        raise MoneyError("not an amount")
    integer_part, fraction = cleaned, ""
    last_mark = max(cleaned.rfind(","), cleaned.rfind("."))
    if last_mark >= 0:
        mark, tail = cleaned[last_mark], cleaned[last_mark + 1 :]
        head = cleaned[:last_mark].lstrip("-")
        both_kinds = "," in cleaned and "." in cleaned
        single = cleaned.count(mark) == 1
        if both_kinds or (single and (len(tail) != 3 or head.strip("0") == "")):
            integer_part, fraction = cleaned[:last_mark], tail
        if not re.fullmatch(r"-?\d{1,3}([.,]\d{3})*|-?\d*", integer_part):
            raise MoneyError("not an amount")
        if not fraction.isdigit() and fraction:
            raise MoneyError("not an amount")
    integer_part = integer_part.replace(",", "").replace(".", "")
    if integer_part in {"", "-"}:
        integer_part += "0"
    if len(fraction.rstrip("0")) > digits:
        raise MoneyError("too many decimals")
    try:
        value = Decimal(f"{integer_part}.{fraction or '0'}")
    except InvalidOperation as exc:
        raise MoneyError("not an amount") from exc
    return Money(int(value.scaleb(digits)), currency)


def format_money(money: Money, locale: str) -> str:
    """Format for ``locale``: ``1 234 567 Ft`` in Hungarian, ``HUF 1,234,567`` in English.

    English patterns put the symbol against the digits (``HUF1,234,567``); a no-break space
    keeps them apart. The currency's own number of decimals always wins over the pattern's.
    """
    pattern = "¤\u00a0#,##0.00" if locale.startswith("en") else None
    return format_currency(money.as_decimal(), money.currency, locale=locale, format=pattern)


#: Amounts a fast formatter must format exactly as Babel does before it is used.
_CHECKS = (0, 1, 7, 12, 99, 100, 999, 1000, 1234, 9999, 10000, 12345, 99999, 100000, 123456,
           1000000, 1234567, 10**9 + 7, 10**12 + 1)
_PROBE = re.compile(r"(?s)(.*?)1(?P<group>\D*)234(?P=group)567(?:(\D+)89)?(\D*)")


@lru_cache(maxsize=32)
def money_formatter(currency: str, locale: str) -> Callable[[int], str]:
    """Return a function formatting minor units of ``currency`` as ``format_money`` does.

    For pages with many amounts (a list of clients): Babel works out the pattern, symbols and
    precision for every amount; this reads them once from Babel's own rendering of
    1 234 567(.89) and its negative, and is used only if it then agrees with Babel on every
    amount of ``_CHECKS`` (positive and negative). Otherwise Babel formats each amount.
    """

    def slow(minor: int) -> str:
        return format_money(Money(minor, currency), locale)

    digits = exponent(currency)
    if digits not in (0, 2):
        return slow
    scale = 10**digits
    probe = 1234567 * scale + (89 if digits else 0)
    parts = [_PROBE.fullmatch(slow(value)) for value in (probe, -probe)]
    if not all(parts) or parts[0].group(2) != parts[1].group(2):
        return slow
    group, point = parts[0].group(2), parts[0].group(3) or ""
    (prefix, suffix), (minus_prefix, minus_suffix) = ((p.group(1), p.group(4)) for p in parts)

    def fast(minor: int) -> str:
        whole, cents = divmod(abs(minor), scale)
        number = f"{whole:,}".replace(",", group)
        if digits:
            number = f"{number}{point}{cents:02d}"
        if minor < 0:
            return f"{minus_prefix}{number}{minus_suffix}"
        return f"{prefix}{number}{suffix}"

    checks = [v * scale + (v % scale if digits else 0) for v in _CHECKS]
    if any(fast(v) != slow(v) or fast(-v) != slow(-v) for v in checks):
        return slow
    return fast
