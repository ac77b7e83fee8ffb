"""Text normalisation shared by filters and search."""

from __future__ import annotations

import unicodedata


def fold(text: str) -> str:
    """Return ``text`` lower-cased with accents removed: ``Kovács Ődön`` -> ``kovacs odon``."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


def search_key(*parts: str | None) -> str:
    """Join the non-empty parts into one folded string for substring filtering."""
    return " ".join(fold(p) for p in parts if p)
