"""One blueprint per area of the office. Shared view helpers live here."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import request
from flask_login import current_user

from portal.services.base import Actor


def actor() -> Actor:
    """Return the acting user of this request, with the address it came from."""
    user = current_user._get_current_object() if current_user.is_authenticated else None
    return Actor(user, request.remote_addr)


def page_arg() -> int:
    """Return the ``page`` query argument as a positive int (1 when absent or invalid)."""
    return max(1, request.args.get("page", 1, type=int) or 1)


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
