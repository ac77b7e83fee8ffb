"""Hungarian tax identifiers: validation, normalisation and masking."""

from __future__ import annotations

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from portal.domain.identifiers import (
    InvalidIdentifier,
    company_check_digit,
    mask,
    normalise_registration_number,
    normalise_tax_id,
    person_check_digit,
)


def _digits(n: int) -> st.SearchStrategy[str]:
    return st.text(alphabet="0123456789", min_size=n, max_size=n)


@st.composite
def person_ids(draw: st.DrawFn) -> str:
    """Draw a valid adóazonosító jel: 8, eight random digits, then the check digit."""
    first_nine = "8" + draw(_digits(8))
    check = person_check_digit(first_nine)
    assume(check != 10)  # never issued
    return first_nine + str(check)


@st.composite
def company_ids(draw: st.DrawFn) -> str:
    """Draw a valid adószám in canonical form: 12345678-1-42."""
    first_seven = draw(_digits(7))
    vat = draw(st.sampled_from("12345"))
    county = draw(_digits(2))
    return f"{first_seven}{company_check_digit(first_seven)}-{vat}-{county}"


def _spread(draw: st.DrawFn, text: str) -> str:
    """Put random runs of whitespace between the characters of ``text``."""
    gaps = st.text(alphabet=" \t\u00a0", max_size=2)
    return draw(gaps) + "".join(ch + draw(gaps) for ch in text)


def _change_digit(draw: st.DrawFn, text: str, positions: list[int]) -> str:
    index = draw(st.sampled_from(positions))
    new = draw(st.sampled_from([d for d in "0123456789" if d != text[index]]))
    return text[:index] + new + text[index + 1 :]


# --- check digits -------------------------------------------------------------------------


def test_person_check_digit_example() -> None:
    # 8*1 + 1*2 + 2*3 + 3*4 + 4*5 + 5*6 + 6*7 + 7*8 + 8*9 = 248; 248 % 11 = 6
    assert person_check_digit("812345678") == 6


def test_person_check_digit_may_be_ten() -> None:
    # 8*1 + 1*8 + 3*9 = 43; 43 % 11 = 10
    assert person_check_digit("800000013") == 10
    for last in "0123456789":
        with pytest.raises(InvalidIdentifier, match="check digit"):
            normalise_tax_id("800000013" + last)


@pytest.mark.parametrize(
    ("first_seven", "expected"),
    [("1062579", 0), ("1077338", 1), ("0000000", 0), ("1000000", 1)],
)
def test_company_check_digit_examples(first_seven: str, expected: int) -> None:
    assert company_check_digit(first_seven) == expected


@given(_digits(7))
def test_company_check_digit_is_a_digit(first_seven: str) -> None:
    assert 0 <= company_check_digit(first_seven) <= 9


# --- personal tax IDs ----------------------------------------------------------------------


@given(person_ids())
def test_valid_person_id_normalises_to_itself(tax_id: str) -> None:
    assert normalise_tax_id(tax_id) == tax_id


@given(st.data())
def test_person_id_with_whitespace_normalises(data: st.DataObject) -> None:
    tax_id = data.draw(person_ids())
    assert normalise_tax_id(_spread(data.draw, tax_id)) == tax_id


@given(st.data())
def test_person_id_with_one_changed_digit_is_rejected(data: st.DataObject) -> None:
    tax_id = data.draw(person_ids())
    changed = _change_digit(data.draw, tax_id, list(range(10)))
    with pytest.raises(InvalidIdentifier):
        normalise_tax_id(changed)


@given(_digits(9), st.sampled_from("012345679"))
def test_ten_digits_not_starting_with_8_are_rejected(rest: str, first: str) -> None:
    with pytest.raises(InvalidIdentifier, match="start with 8"):
        normalise_tax_id(first + rest)


@given(_digits(7))
def test_person_id_whose_check_digit_would_be_ten_has_no_valid_form(middle: str) -> None:
    first_eight = "8" + middle
    partial = sum(int(d) * i for i, d in enumerate(first_eight, start=1))
    ninth = 5 * (10 - partial) % 11  # 9 * 5 = 45 = 1 (mod 11), so 9 * ninth + partial = 10
    assume(ninth < 10)
    first_nine = first_eight + str(ninth)
    assert person_check_digit(first_nine) == 10
    for last in "0123456789":
        with pytest.raises(InvalidIdentifier, match="check digit"):
            normalise_tax_id(first_nine + last)


# --- company tax numbers -------------------------------------------------------------------


@pytest.mark.parametrize(
    "raw",
    ["10625790-4-44", "10625790444", " 10625790 4 44 ", "10625790-444", "1062 5790-4-44"],
)
def test_real_company_number_normalises(raw: str) -> None:
    assert normalise_tax_id(raw) == "10625790-4-44"


@given(company_ids())
def test_valid_company_number_normalises_to_itself(tax_id: str) -> None:
    assert normalise_tax_id(tax_id) == tax_id


@given(company_ids())
def test_company_number_without_hyphens_normalises(tax_id: str) -> None:
    assert normalise_tax_id(tax_id.replace("-", "")) == tax_id


@given(st.data())
def test_company_number_with_whitespace_normalises(data: st.DataObject) -> None:
    tax_id = data.draw(company_ids())
    assert normalise_tax_id(_spread(data.draw, tax_id.replace("-", ""))) == tax_id


@given(st.data())
def test_company_number_with_one_changed_base_digit_is_rejected(data: st.DataObject) -> None:
    # Only the first eight digits are covered by the check digit (VAT and county codes are not).
    tax_id = data.draw(company_ids())
    changed = _change_digit(data.draw, tax_id, list(range(8)))
    with pytest.raises(InvalidIdentifier, match="check digit"):
        normalise_tax_id(changed)


@pytest.mark.parametrize("raw", ["123456789", "123456789012", "12345", "1234567"])
def test_wrong_number_of_digits_is_rejected(raw: str) -> None:
    with pytest.raises(InvalidIdentifier, match="10 digits"):
        normalise_tax_id(raw)


# --- other (foreign) identifiers ----------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("DE123456789", "DE123456789"),
        ("de123456789", "DE123456789"),
        ("  AT   U123 4567 ", "AT U123 4567"),
        ("ab-12/34", "AB-12/34"),
        ("ABCDE", "ABCDE"),
        ("A" * 20, "A" * 20),
    ],
)
def test_foreign_identifier_is_upper_cased_and_spaces_collapsed(raw: str, expected: str) -> None:
    assert normalise_tax_id(raw) == expected


@pytest.mark.parametrize(
    "raw",
    ["", "   ", "ABCD", "A" * 21, "-ABCDE", "ABCDE-", "AB#1234", "ÁRVÍZ123", "AB_1234"],
)
def test_malformed_identifier_is_rejected(raw: str) -> None:
    with pytest.raises(InvalidIdentifier):
        normalise_tax_id(raw)


def test_invalid_identifier_is_a_value_error() -> None:
    assert issubclass(InvalidIdentifier, ValueError)


# --- masking -------------------------------------------------------------------------------


def test_mask_example() -> None:
    assert mask("8123456789") == "•••••••789"
    assert mask("10625790-4-44") == "••••••••••-44"


@pytest.mark.parametrize("empty", [None, ""])
def test_mask_of_nothing_is_empty(empty: str | None) -> None:
    assert mask(empty) == ""


@given(st.text(min_size=4).filter(lambda s: "•" not in s))
def test_mask_keeps_only_the_last_three_characters(identifier: str) -> None:
    masked = mask(identifier)
    assert len(masked) == len(identifier)
    assert masked[-3:] == identifier[-3:]
    assert set(masked[:-3]) == {"•"}


@given(st.text(min_size=1), st.integers(min_value=0, max_value=30))
def test_mask_with_visible_count(identifier: str, visible: int) -> None:
    masked = mask(identifier, visible)
    shown = min(visible, len(identifier))
    assert len(masked) == len(identifier)
    assert masked[len(masked) - shown :] == identifier[len(identifier) - shown :]
    assert masked[: len(masked) - shown] == "•" * (len(identifier) - shown)


@pytest.mark.parametrize("raw", ["8123-456-789", "10625790-4-4", "12345", "1234567890123"])
def test_digits_alone_must_be_a_valid_hungarian_identifier(raw: str) -> None:
    with pytest.raises(InvalidIdentifier):
        normalise_tax_id(raw)


@pytest.mark.parametrize("raw", ["DE 123456789", "at u12345678", "GB 123 4567 89"])
def test_foreign_identifiers_start_with_a_country_code(raw: str) -> None:
    assert normalise_tax_id(raw) == " ".join(raw.upper().split())


@pytest.mark.parametrize("raw", ["01-09-123456", "Cg. 01-09-123456", "cg.01 09 123456",
                                 "0109123456", "01.09.123456"])
def test_registration_number_normalises(raw: str) -> None:
    assert normalise_registration_number(raw) == "01-09-123456"


@pytest.mark.parametrize("raw", ["21-09-123456", "00-09-123456", "1-9-12345", "01-09-1234567",
                                 "12345678-1-42", "abc"])
def test_malformed_registration_number_is_refused(raw: str) -> None:
    with pytest.raises(InvalidIdentifier):
        normalise_registration_number(raw)
