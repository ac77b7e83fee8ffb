"""Money as integer minor units; reading and formatting amounts."""

from __future__ import annotations

import re
from decimal import Decimal
from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from portal.domain.money import (
    SUPPORTED_CURRENCIES,
    Money,
    MoneyError,
    exponent,
    format_money,
    money_formatter,
    parse_amount,
)

minors = st.integers(min_value=-(10**15), max_value=10**15)
currencies = st.sampled_from(SUPPORTED_CURRENCIES)


def money(currency: str = "HUF") -> st.SearchStrategy[Money]:
    return st.builds(Money, minors, st.just(currency))


any_money = currencies.flatmap(money)


def test_exponents() -> None:
    assert exponent("HUF") == 0
    assert exponent("EUR") == 2


@pytest.mark.parametrize("currency", ["USD", "huf", "", "XXX"])
def test_unsupported_currency_is_rejected(currency: str) -> None:
    with pytest.raises(MoneyError):
        exponent(currency)
    with pytest.raises(MoneyError):
        Money(1, currency)


def test_default_currency_is_huf() -> None:
    assert Money(5).currency == "HUF"


@pytest.mark.parametrize(
    "minor", [1.0, 0.5, float("nan"), Decimal("1"), Fraction(1, 1), "1", True, False, None]
)
def test_minor_must_be_a_real_int(minor: object) -> None:
    with pytest.raises(TypeError):
        Money(minor)  # type: ignore[arg-type]


@given(st.floats(allow_nan=True, allow_infinity=True), currencies)
def test_no_float_is_ever_accepted_as_minor(value: float, currency: str) -> None:
    with pytest.raises(TypeError):
        Money(value, currency)  # type: ignore[arg-type]


@given(minors, minors, currencies)
def test_addition_adds_minor_units(a: int, b: int, currency: str) -> None:
    total = Money(a, currency) + Money(b, currency)
    assert total == Money(a + b, currency)
    assert type(total.minor) is int


@given(currencies.flatmap(lambda c: st.tuples(money(c), money(c), money(c))))
def test_addition_is_commutative_and_associative(triple: tuple[Money, Money, Money]) -> None:
    a, b, c = triple
    assert a + b == b + a
    assert (a + b) + c == a + (b + c)


@given(currencies.flatmap(lambda c: st.tuples(money(c), money(c))))
def test_subtraction_undoes_addition(pair: tuple[Money, Money]) -> None:
    a, b = pair
    assert (a + b) - b == a
    assert a - a == Money(0, a.currency)


@given(minors, minors)
def test_mixing_currencies_raises(a: int, b: int) -> None:
    huf, eur = Money(a, "HUF"), Money(b, "EUR")
    for left, right in [(huf, eur), (eur, huf)]:
        with pytest.raises(MoneyError, match="cannot mix"):
            left + right
        with pytest.raises(MoneyError, match="cannot mix"):
            left - right


def test_money_is_frozen() -> None:
    with pytest.raises(AttributeError):
        Money(1).minor = 2  # type: ignore[misc]


@given(minors)
def test_same_amount_different_currency_is_not_equal(minor: int) -> None:
    assert Money(minor, "HUF") != Money(minor, "EUR")


@pytest.mark.parametrize(
    ("amount", "expected"),
    [
        (Money(123450, "EUR"), Decimal("1234.50")),
        (Money(-5, "EUR"), Decimal("-0.05")),
        (Money(1234, "HUF"), Decimal("1234")),
    ],
)
def test_as_decimal(amount: Money, expected: Decimal) -> None:
    assert amount.as_decimal() == expected


@given(any_money)
def test_as_decimal_is_exact(amount: Money) -> None:
    value = amount.as_decimal()
    assert isinstance(value, Decimal)
    assert value * 10 ** exponent(amount.currency) == amount.minor


@pytest.mark.parametrize(
    ("text", "currency", "expected"),
    [
        ("1.234", "HUF", Money(1234, "HUF")),
        ("1,234", "HUF", Money(1234, "HUF")),
        ("1.234.567", "HUF", Money(1234567, "HUF")),
        ("1 234 567", "HUF", Money(1234567, "HUF")),
        ("1\u00a0234\u00a0567 Ft", "HUF", Money(1234567, "HUF")),
        ("1\u202f234 Ft", "HUF", Money(1234, "HUF")),
        ("1'234", "HUF", Money(1234, "HUF")),
        ("  750 HUF ", "HUF", Money(750, "HUF")),
        ("750ft", "HUF", Money(750, "HUF")),
        ("-1 500", "HUF", Money(-1500, "HUF")),
        ("1234,00", "HUF", Money(1234, "HUF")),
        ("1.234,50", "EUR", Money(123450, "EUR")),
        ("1,234.50", "EUR", Money(123450, "EUR")),
        ("12,5", "EUR", Money(1250, "EUR")),
        ("12.5", "EUR", Money(1250, "EUR")),
        ("1234,50", "EUR", Money(123450, "EUR")),
        ("0,05 €", "EUR", Money(5, "EUR")),
        ("1 234,50 EUR", "EUR", Money(123450, "EUR")),
        ("-1.234,50", "EUR", Money(-123450, "EUR")),
        ("12", "EUR", Money(1200, "EUR")),
        ("1.234", "EUR", Money(123400, "EUR")),
    ],
)
def test_parse_amount_examples(text: str, currency: str, expected: Money) -> None:
    assert parse_amount(text, currency) == expected


@pytest.mark.parametrize("text", ["12,5", "1,05", "1.234,5", "1 234.56", "0,1 Ft"])
def test_parse_amount_rejects_decimals_for_huf(text: str) -> None:
    with pytest.raises(MoneyError, match="too many decimals"):
        parse_amount(text, "HUF")


@pytest.mark.parametrize("text", ["12,345,6", "1,2345", "1.234,567", "1,234.567"])
def test_parse_amount_rejects_three_decimals_for_eur(text: str) -> None:
    with pytest.raises(MoneyError):
        parse_amount(text, "EUR")


@pytest.mark.parametrize(
    "text",
    ["", "   ", "Ft", "abc", "12a", "1-2", "--5", "1.23.4", "12,34,5", "1..2", "1e5", "0x10"],
)
def test_parse_amount_rejects_non_amounts(text: str) -> None:
    with pytest.raises(MoneyError):
        parse_amount(text, "HUF")


def test_parse_amount_rejects_unsupported_currency() -> None:
    with pytest.raises(MoneyError):
        parse_amount("12", "USD")


@given(minors)
def test_parse_plain_integer_huf(value: int) -> None:
    assert parse_amount(str(value), "HUF") == Money(value, "HUF")


@given(st.integers(min_value=0, max_value=10**12), st.integers(min_value=0, max_value=99))
def test_parse_eur_with_comma_decimal_mark(units: int, cents: int) -> None:
    assert parse_amount(f"{units},{cents:02d}", "EUR") == Money(units * 100 + cents, "EUR")


@given(st.integers(min_value=0, max_value=10**12), st.integers(min_value=0, max_value=99))
def test_parse_eur_with_point_decimal_mark_and_grouping(units: int, cents: int) -> None:
    assert parse_amount(f"{units:,}.{cents:02d}", "EUR") == Money(units * 100 + cents, "EUR")


@given(any_money)
def test_parse_amount_never_returns_a_float(amount: Money) -> None:
    parsed = parse_amount(format_money(amount, "hu"), amount.currency)
    assert type(parsed.minor) is int


def test_format_money_hungarian() -> None:
    assert format_money(Money(1234567, "HUF"), "hu") == "1\u00a0234\u00a0567\u00a0Ft"
    assert format_money(Money(123450, "EUR"), "hu") == "1\u00a0234,50\u00a0EUR"


@pytest.mark.parametrize("locale", ["en", "en_US", "en_GB"])
def test_format_money_english_keeps_symbol_apart_with_no_break_space(locale: str) -> None:
    assert format_money(Money(1234567, "HUF"), locale) == "HUF\u00a01,234,567"
    assert format_money(Money(123450, "EUR"), locale) == "€\u00a01,234.50"


@pytest.mark.parametrize("locale", ["hu", "en", "de"])
@pytest.mark.parametrize(
    ("amount", "digits"),
    [(Money(1234, "HUF"), "1234"), (Money(1234, "EUR"), "1234"), (Money(100, "EUR"), "100")],
)
def test_format_money_shows_exactly_the_currency_decimals(
    locale: str, amount: Money, digits: str
) -> None:
    # 1234 Ft has no decimals ("1234", not "1234,00"); 12,34 EUR and 1,00 EUR keep both cents.
    assert re.sub(r"\D", "", format_money(amount, locale)) == digits


@pytest.mark.parametrize("locale", ["hu", "hu_HU", "de"])
@given(amount=any_money)
def test_format_then_parse_round_trips(locale: str, amount: Money) -> None:
    assert parse_amount(format_money(amount, locale), amount.currency) == amount


@pytest.mark.parametrize("locale", ["en", "en_US"])
@given(amount=any_money)
def test_format_then_parse_round_trips_in_english(locale: str, amount: Money) -> None:
    assert parse_amount(format_money(amount, locale), amount.currency) == amount


@pytest.mark.parametrize("text", [".", ",", "-.", ". Ft"])
def test_parse_amount_rejects_marks_without_digits(text: str) -> None:
    with pytest.raises(MoneyError):
        parse_amount(text, "HUF")


@pytest.mark.parametrize(
    ("text", "currency"), [("100 EUR", "HUF"), ("100 €", "HUF"), ("100 Ft", "EUR")]
)
def test_parse_amount_rejects_a_suffix_of_another_currency(text: str, currency: str) -> None:
    with pytest.raises(MoneyError):
        parse_amount(text, currency)


@pytest.mark.parametrize(
    ("text", "currency"),
    [("0,001", "EUR"), ("0.123", "EUR"), ("0,500", "HUF"), ("00.123", "HUF")],
)
def test_parse_amount_rejects_grouping_after_a_leading_zero(text: str, currency: str) -> None:
    # Read as a decimal these have too many decimals; read as grouping they are malformed.
    with pytest.raises(MoneyError):
        parse_amount(text, currency)


@pytest.mark.parametrize("locale", ["hu_HU", "en_GB"])
@pytest.mark.parametrize("currency", ["HUF", "EUR"])
@given(minor=st.integers(min_value=-(10**15), max_value=10**15))
def test_the_fast_formatter_of_a_list_agrees_with_babel(currency, locale, minor):
    formatter = money_formatter(currency, locale)
    assert formatter.__name__ == "fast"  # the shortcut is taken for the portal's currencies
    assert formatter(minor) == format_money(Money(minor, currency), locale)
