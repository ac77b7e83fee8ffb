"""Hungarian tax identifiers: validation and masking.

- Person, *adóazonosító jel*: 10 digits starting with 8; the 10th digit is the sum of the
  first nine, each multiplied by its position (1-9), modulo 11 (a remainder of 10 is never issued).
- Company, *adószám*: ``12345678-1-42``; the 8th digit checks the first seven with weights
  9, 7, 3, 1, 9, 7, 3: ``(10 - sum % 10) % 10``.
A number made of digits alone must be a valid Hungarian identifier. Foreign identifiers start
with their two-letter country code (``DE 123456789``) and are then accepted as 5-20 letters,
digits, spaces, ``-`` or ``/``.
- Company registration number, *cégjegyzékszám*: ``01-09-123456`` (the registry court, the
  company form, a six-digit serial), also typed with spaces, dots or a leading ``Cg.``.
"""

from __future__ import annotations

import re

_PERSON = re.compile(r"8\d{9}")
_COMPANY = re.compile(r"(\d{8})-?(\d)-?(\d{2})")
_OTHER = re.compile(r"[A-Z0-9][A-Z0-9 /-]{3,18}[A-Z0-9]")
_REGISTRATION = re.compile(r"(?:CG\.?)?\s*(\d{2})[\s.-]*(\d{2})[\s.-]*(\d{6})")


class InvalidIdentifier(ValueError):
    """The identifier is malformed or its check digit is wrong."""


def person_check_digit(first_nine: str) -> int:
    """Return the check digit of a personal tax ID from its first nine digits (may be 10)."""
    return sum(int(d) * i for i, d in enumerate(first_nine, start=1)) % 11


def company_check_digit(first_seven: str) -> int:
    """Return the 8th digit of a tax number from its first seven digits."""
    total = sum(int(d) * w for d, w in zip(first_seven, (9, 7, 3, 1, 9, 7, 3), strict=True))
    return (10 - total % 10) % 10


def normalise_tax_id(raw: str) -> str:
    """Return the canonical form of a tax identifier, or raise InvalidIdentifier."""
    text = " ".join(raw.upper().split())
    compact = text.replace(" ", "")
    if compact.isdigit() and len(compact) == 10:
        if not _PERSON.fullmatch(compact):
            raise InvalidIdentifier("personal tax ID must start with 8")
        if person_check_digit(compact[:9]) != int(compact[9]):
            raise InvalidIdentifier("check digit does not match")
        return compact
    company = _COMPANY.fullmatch(compact)
    if company:
        base, vat, county = company.groups()
        if company_check_digit(base[:7]) != int(base[7]):
            raise InvalidIdentifier("check digit does not match")
        return f"{base}-{vat}-{county}"
    if not re.match(r"[A-Z]{2}", compact):
        raise InvalidIdentifier("a Hungarian tax ID has 10 digits, a tax number 11")
    if _OTHER.fullmatch(text):
        return text
    raise InvalidIdentifier("not a tax identifier")


def normalise_registration_number(raw: str) -> str:
    """Return a company registration number as ``01-09-123456``, or raise InvalidIdentifier."""
    found = _REGISTRATION.fullmatch(raw.strip().upper())
    if not found or not 1 <= int(found.group(1)) <= 20:
        raise InvalidIdentifier("not a registration number")
    return "-".join(found.groups())


def mask(identifier: str | None, visible: int = 3) -> str:
    """Hide all but the last ``visible`` characters: ``8123456789`` -> ``•••••••789``."""
    if not identifier:
        return ""
    keep = identifier[-visible:] if visible else ""
    return "•" * (len(identifier) - len(keep)) + keep
