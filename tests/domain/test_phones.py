"""Phone numbers normalised to E.164 however they were typed."""

import pytest

from portal.domain.phones import InvalidPhone, e164_or_none, search_forms, to_e164


@pytest.mark.parametrize("typed", ["06 20 538 0348", "+36 20 538 0348", "06205380348",
                                   "20/538-0348", "0036 20 538 0348", "+36-20-538-0348",
                                   "(06 20) 538 0348"])
def test_every_way_of_typing_a_mobile_number_gives_one_e164(typed):
    assert to_e164(typed) == "+36205380348"


def test_a_budapest_number_and_a_foreign_one():
    assert to_e164("06 1 234 5678") == "+3612345678"
    assert to_e164("1/234-5678") == "+3612345678"
    assert to_e164("+44 20 7946 0958") == "+442079460958"


@pytest.mark.parametrize(("typed", "reason"), [
    ("12345", "too short"), ("06 20 538 03481", "too long"), ("06 99 123 4567", "invalid"),
    ("06-20-abc", "invalid"), ("", "invalid"),
])
def test_what_is_no_phone_number_is_refused_with_its_reason(typed, reason):
    with pytest.raises(InvalidPhone) as exc:
        to_e164(typed)
    assert str(exc.value) == reason


def test_e164_or_none():
    assert e164_or_none(None) is None
    assert e164_or_none("not a number") is None
    assert e164_or_none("06 30 123 4567") == "+36301234567"


@pytest.mark.parametrize("typed", ["06 20 538 0348", "+36 20 538 0348", "06205380348",
                                   "20/538-0348", "0036205380348"])
def test_search_forms_of_a_whole_number(typed):
    assert search_forms(typed) == ("+36205380348", "205380348")


def test_search_forms_of_a_number_being_typed():
    assert search_forms("06 20 538 0") == (None, "205380")
    assert search_forms("+36 20 538 03") == (None, "2053803")


@pytest.mark.parametrize("query", ["06 20 5", "kovács", "C000123", "12-34", ""])
def test_no_phone_search_for_words_or_few_digits(query):
    assert search_forms(query) == (None, None)
