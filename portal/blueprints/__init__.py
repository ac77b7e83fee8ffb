"""One blueprint per area of the office. Shared view helpers live here."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import request
from flask_login import current_user
from werkzeug.routing import IntegerConverter, ValidationError

from portal.services.base import Actor

#: The largest id (and page number) the portal accepts: ids are 32-bit on PostgreSQL.
MAX_ID = 2**31 - 1


class IdConverter(IntegerConverter):
    """``<int:…>`` in every URL: 1 to ``MAX_ID``, so a larger number is 404, not an error."""

    def __init__(self, map, fixed_digits=0, min=1, max=MAX_ID, signed=False) -> None:
        super().__init__(map, fixed_digits, min, max, signed)

    def to_python(self, value: str) -> int:
        if len(value.lstrip("0")) > len(str(self.max)):  # not int() of thousands of digits
            raise ValidationError()
        return super().to_python(value)


def bounded_int(value: str | None, default: int | None = None) -> int | None:
    """Return ``value`` as an int from 1 to ``MAX_ID``, or ``default`` if it is not one."""
    if not value or not (value.isascii() and value.isdigit()) or len(value) > len(str(MAX_ID)):
        return default
    number = int(value)
    return number if 1 <= number <= MAX_ID else default


def actor() -> Actor:
    """Return the acting user of this request, with the address it came from."""
    user = current_user._get_current_object() if current_user.is_authenticated else None
    return Actor(user, request.remote_addr)


def page_arg() -> int:
    """Return the ``page`` query argument from 1 to ``MAX_ID`` (1 when absent or invalid).

    A number past the last page shows the last page (``paginate``), however large.
    """
    page = request.args.get("page", "").strip()
    if not (page.isascii() and page.isdigit()):
        return 1
    digits = page.lstrip("0")
    return MAX_ID if len(digits) > len(str(MAX_ID)) else min(max(1, int(digits or 0)), MAX_ID)


def safe_next(target: str | None, default: str) -> str:
    """Return ``target`` if it is a path on this site, else ``default`` (no open redirect)."""
    if not target:
        return default
    if "\\" in target or any(ord(ch) < 32 for ch in target):
        return default  # browsers read "/\\evil.example" as "//evil.example"
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return default
    return target
