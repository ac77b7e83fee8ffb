"""Text folding for filters and search."""

from __future__ import annotations

import unicodedata

import pytest
from hypothesis import given
from hypothesis import strategies as st

from portal.domain.text import fold, search_key

latin = st.text(st.characters(max_codepoint=0x24F))


def test_fold_hungarian_name() -> None:
    assert fold("Kovács Ődön Űrhajós") == "kovacs odon urhajos"


def test_fold_every_hungarian_accented_letter() -> None:
    assert fold("ÁÉÍÓÖŐÚÜŰ áéíóöőúüű") == "aeiooouuu aeiooouuu"


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("Straße", "strasse"),  # casefold, not lower
        ("ÁRVÍZTŰRŐ TÜKÖRFÚRÓGÉP", "arvizturo tukorfurogep"),
        ("Ko\u0301va\u0301cs", "kovacs"),  # already decomposed
        ("", ""),
        ("12-34/56", "12-34/56"),
    ],
)
def test_fold_examples(raw: str, expected: str) -> None:
    assert fold(raw) == expected


@given(latin)
def test_fold_leaves_no_combining_marks_and_no_capitals(text: str) -> None:
    folded = fold(text)
    assert not any(unicodedata.combining(ch) for ch in folded)
    assert folded == folded.casefold()


@given(latin)
def test_fold_is_idempotent_on_latin_text(text: str) -> None:
    assert fold(fold(text)) == fold(text)


@given(st.text(st.characters(max_codepoint=0x7F)))
def test_fold_of_ascii_is_lower(text: str) -> None:
    assert fold(text) == text.lower()


@given(latin)
def test_fold_ignores_composition(text: str) -> None:
    assert fold(unicodedata.normalize("NFC", text)) == fold(unicodedata.normalize("NFD", text))


def test_search_key_joins_folded_non_empty_parts() -> None:
    assert search_key("Kovács Ödön", None, "", "8123456786", "Győr") == (
        "kovacs odon 8123456786 gyor"
    )


def test_search_key_of_nothing_is_empty() -> None:
    assert search_key() == ""
    assert search_key(None, "") == ""


@given(st.lists(st.one_of(st.none(), latin)))
def test_search_key_finds_each_part_by_substring(parts: list[str | None]) -> None:
    key = search_key(*parts)
    for part in parts:
        if part:
            assert fold(part) in key
    assert key == " ".join(fold(p) for p in parts if p)
