"""Dates and amounts as Hungarian and English netbank exports write them. No floats."""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal

from portal.domain.money import Money, MoneyError, exponent, parse_amount

_DATE_FIRST = re.compile(r"(\d{4})[.\-/](\d{1,2})[.\-/](\d{1,2})\.?(?:[ T].*)?")
_DAY_FIRST = re.compile(r"(\d{1,2})[./](\d{1,2})[./](\d{4})\.?(?:[ T].*)?")


def parse_date(text: str) -> date:
    """Read ``2026.11.30.``, ``2026.11.30``, ``2026-11-30``, ``30.11.2026`` (a time may follow)."""
    text = text.strip()
    if match := _DATE_FIRST.fullmatch(text):
        year, month, day = match.groups()
    elif match := _DAY_FIRST.fullmatch(text):
        day, month, year = match.groups()
    else:
        raise ValueError(f"date {text!r} not understood")
    try:
        return date(int(year), int(month), int(day))
    except ValueError as exc:
        raise ValueError(f"date {text!r} does not exist") from exc


def is_date(text: str) -> bool:
    try:
        parse_date(text)
    except ValueError:
        return False
    return True


CURRENCY_WORDS = {"FT": "HUF", "FORINT": "HUF", "€": "EUR"}
_SYMBOL = re.compile(r"^(HUF|FT|EUR|€)|(HUF|FT|EUR|€)$", re.IGNORECASE)


def parse_money(text: str, currency: str, decimal_mark: str | None = None) -> Money:
    """Read a CSV amount: ``1 234 567,89``, ``1.234.567,89``, ``-12 000``, ``12000 Ft``.

    With ``decimal_mark`` known, the other mark may only group thousands; without it the
    rules of :func:`portal.domain.money.parse_amount` apply. More decimals than the currency
    has is an error, never rounding; so are more than 18 digits before the mark.
    """
    text = text.strip().replace("\u2212", "-").removeprefix("+")
    if decimal_mark is None:
        if len(re.sub(r"\D", "", text).lstrip("0")) > 20:
            raise MoneyError(f"amount {text!r} is too large")
        return parse_amount(text, currency)
    cleaned = re.sub(r"[\s\u00a0\u202f']", "", text)
    negative = cleaned.startswith("-")
    cleaned = cleaned.removeprefix("-")
    if symbol := _SYMBOL.search(cleaned):
        written = symbol.group(0).upper()
        if CURRENCY_WORDS.get(written, written) != currency:
            raise MoneyError(f"amount is in {written}, not {currency}")
        cleaned = cleaned[: symbol.start()] + cleaned[symbol.end() :]
        if cleaned.startswith("-") and not negative:
            negative, cleaned = True, cleaned[1:]
    grouping = re.escape("." if decimal_mark == "," else ",")
    mark = re.escape(decimal_mark)
    shape = rf"(?P<int>\d{{1,3}}(?:{grouping}\d{{3}})+|\d+)(?:{mark}(?P<frac>\d+))?"
    match = re.fullmatch(shape, cleaned)
    if not match:
        raise MoneyError(f"amount {text!r} not understood")
    return exact_money(match["int"], match["frac"] or "", currency, negative, text)


def exact_money(integer: str, fraction: str, currency: str, negative: bool, text: str) -> Money:
    """Return the Money for digits before and after the decimal mark, refusing rounding."""
    digits = exponent(currency)
    integer = re.sub(r"\D", "", integer).lstrip("0") or "0"
    fraction = fraction.rstrip("0")
    if len(integer) > 18:
        raise MoneyError(f"amount {text!r} is too large")
    if len(fraction) > digits:
        raise MoneyError(f"amount {text!r} has more decimals than {currency} has ({digits})")
    minor = int(Decimal(f"{integer}.{fraction or '0'}").scaleb(digits))
    return Money(-minor if negative else minor, currency)


def infer_decimal_mark(values: list[str]) -> str | None:
    """Return ``,`` or ``.`` when the amounts show one as a decimal mark (1 or 2 digits after)."""
    comma = any(re.search(r",\d{1,2}(\D*)$", v.strip()) for v in values)
    point = any(re.search(r"\.\d{1,2}(\D*)$", v.strip()) for v in values)
    if comma != point:
        return "," if comma else "."
    return None


