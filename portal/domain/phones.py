"""Phone numbers: one normalised form (E.164) however a number was typed.

``06 20 538 0348``, ``+36 20 538 0348``, ``06205380348``, ``20/538-0348`` and
``0036 20 538 0348`` are all ``+36205380348``. Numbers without a country code are read as
Hungarian (the ``06`` trunk prefix or none at all).
"""

from __future__ import annotations

import re

import phonenumbers
from phonenumbers import NumberParseException, ValidationResult

DEFAULT_REGION = "HU"
#: What a typed phone number may contain besides digits.
_PHONE_CHARS = re.compile(r"\+?[0-9 ()/.\-]+")
#: Digits a search needs before it compares them with stored numbers (a shorter run of digits
#: would find too many clients).
MIN_SEARCH_DIGITS = 6


class InvalidPhone(ValueError):
    """Not a phone number; ``str(exc)`` is ``"too short"``, ``"too long"`` or ``"invalid"``."""


def to_e164(typed: str, region: str = DEFAULT_REGION) -> str:
    """Return ``typed`` as E.164 (``+36205380348``); raise InvalidPhone if it is none."""
    text = typed.strip()
    if not _PHONE_CHARS.fullmatch(text):
        raise InvalidPhone("invalid")
    try:
        number = phonenumbers.parse(text, region)
    except NumberParseException as exc:
        reason = ("too short" if exc.error_type in (NumberParseException.TOO_SHORT_NSN,
                                                    NumberParseException.TOO_SHORT_AFTER_IDD)
                  else "too long" if exc.error_type == NumberParseException.TOO_LONG
                  else "invalid")
        raise InvalidPhone(reason) from exc
    possible = phonenumbers.is_possible_number_with_reason(number)
    if possible == ValidationResult.TOO_SHORT:
        raise InvalidPhone("too short")
    if possible == ValidationResult.TOO_LONG:
        raise InvalidPhone("too long")
    if not phonenumbers.is_valid_number(number):
        raise InvalidPhone("invalid")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def e164_or_none(typed: str | None, region: str = DEFAULT_REGION) -> str | None:
    """Return ``typed`` as E.164, or None when it is empty or no valid phone number."""
    if not typed:
        return None
    try:
        return to_e164(typed, region)
    except InvalidPhone:
        return None


def search_forms(query: str, region: str = DEFAULT_REGION) -> tuple[str | None, str | None]:
    """Return what a search box's ``query`` means as a phone number: (E.164, digits).

    The first is the whole number when ``query`` is one; the second, for a number still being
    typed, the national digits typed so far (without ``+36``, ``0036`` or the ``06`` prefix),
    which a stored E.164 number contains. Both are None when ``query`` is no phone number or
    has fewer than ``MIN_SEARCH_DIGITS`` national digits.
    """
    text = query.strip()
    if not _PHONE_CHARS.fullmatch(text):
        return None, None
    digits = re.sub(r"\D", "", text)
    code = str(phonenumbers.country_code_for_region(region))
    if text.startswith("+"):
        national = digits.removeprefix(code)
    elif digits.startswith("00"):
        national = digits[2:].removeprefix(code)
    elif region == "HU" and digits.startswith("06"):
        national = digits[2:]
    else:
        national = digits
    if len(national) < MIN_SEARCH_DIGITS:
        return None, None
    return e164_or_none(text, region), national
