"""Business days on the Hungarian calendar."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from portal.domain.calendar import (
    add_business_days,
    easter_sunday,
    hungarian_holidays,
    is_business_day,
)

dates = st.dates(min_value=date(1900, 1, 1), max_value=date(2199, 12, 31))
day_counts = st.integers(min_value=0, max_value=80)


def _gauss_easter(year: int) -> date:
    """Independent oracle: Gauss's Easter algorithm with the Gregorian corrections."""
    a, b, c = year % 19, year % 4, year % 7
    k = year // 100
    p = (13 + 8 * k) // 25
    q = k // 4
    m = (15 - p + k - q) % 30
    n = (4 + k - q) % 7
    d = (19 * a + m) % 30
    e = (2 * b + 4 * c + 6 * d + n) % 7
    if d == 29 and e == 6:
        return date(year, 4, 19)
    if d == 28 and e == 6 and (11 * m + 11) % 30 < 19:
        return date(year, 4, 18)
    return date(year, 3, 22) + timedelta(days=d + e)


@pytest.mark.parametrize(
    ("year", "expected"),
    [
        (2024, date(2024, 3, 31)),
        (2025, date(2025, 4, 20)),
        (2026, date(2026, 4, 5)),
        (2027, date(2027, 3, 28)),
        (2019, date(2019, 4, 21)),
        (2038, date(2038, 4, 25)),  # latest possible
        (2285, date(2285, 3, 22)),  # earliest possible
    ],
)
def test_easter_sunday_known_dates(year: int, expected: date) -> None:
    assert easter_sunday(year) == expected


@given(st.integers(min_value=1583, max_value=4099))
def test_easter_is_a_sunday_between_22_march_and_25_april(year: int) -> None:
    easter = easter_sunday(year)
    assert easter.weekday() == 6
    assert date(year, 3, 22) <= easter <= date(year, 4, 25)


@given(st.integers(min_value=1583, max_value=4099))
def test_easter_agrees_with_gauss_algorithm(year: int) -> None:
    assert easter_sunday(year) == _gauss_easter(year)


def test_hungarian_holidays_2026_exactly() -> None:
    assert hungarian_holidays(2026) == {
        date(2026, 1, 1),
        date(2026, 3, 15),
        date(2026, 4, 3),  # Good Friday
        date(2026, 4, 6),  # Easter Monday
        date(2026, 5, 1),
        date(2026, 5, 25),  # Whit Monday
        date(2026, 8, 20),
        date(2026, 10, 23),
        date(2026, 11, 1),
        date(2026, 12, 24),
        date(2026, 12, 25),
        date(2026, 12, 26),
    }


@pytest.mark.parametrize(
    "holiday",
    [date(2026, 3, 15), date(2026, 4, 3), date(2026, 5, 25), date(2026, 4, 6)],
    ids=["national-day", "good-friday", "whit-monday", "easter-monday"],
)
def test_named_2026_holidays_are_included(holiday: date) -> None:
    assert holiday in hungarian_holidays(2026)


@given(st.integers(min_value=1900, max_value=2199))
def test_movable_holidays_fall_on_their_weekdays(year: int) -> None:
    easter = easter_sunday(year)
    holidays = hungarian_holidays(year)
    assert len(holidays) == 12
    assert all(day.year == year for day in holidays)
    good_friday = easter - timedelta(days=2)
    easter_monday = easter + timedelta(days=1)
    whit_monday = easter + timedelta(days=50)
    assert {good_friday, easter_monday, whit_monday} <= holidays
    assert good_friday.weekday() == 4
    assert easter_monday.weekday() == 0
    assert whit_monday.weekday() == 0


@pytest.mark.parametrize(
    ("day", "expected"),
    [
        (date(2026, 3, 13), True),  # Friday
        (date(2026, 3, 14), False),  # Saturday
        (date(2026, 3, 15), False),  # Sunday and holiday
        (date(2026, 3, 16), True),  # Monday
        (date(2026, 4, 3), False),  # Good Friday
        (date(2026, 4, 6), False),  # Easter Monday
        (date(2026, 5, 25), False),  # Whit Monday
        (date(2026, 10, 23), False),  # Friday, national holiday
        (date(2026, 12, 24), False),  # Thursday, Christmas Eve
        (date(2026, 12, 28), True),  # Monday after Christmas
    ],
)
def test_is_business_day(day: date, expected: bool) -> None:
    assert is_business_day(day) is expected


#: Hungary's public holidays as published (Labour Code §102; yearly calendars), 2020-2028:
#: the fixed days every year, and each year's Good Friday, Easter Monday and Whit Monday.
PUBLISHED_FIXED = [(1, 1), (3, 15), (5, 1), (8, 20), (10, 23), (11, 1), (12, 25), (12, 26)]
PUBLISHED_MOVABLE = {
    2020: (date(2020, 4, 10), date(2020, 4, 13), date(2020, 6, 1)),
    2021: (date(2021, 4, 2), date(2021, 4, 5), date(2021, 5, 24)),
    2022: (date(2022, 4, 15), date(2022, 4, 18), date(2022, 6, 6)),
    2023: (date(2023, 4, 7), date(2023, 4, 10), date(2023, 5, 29)),
    2024: (date(2024, 3, 29), date(2024, 4, 1), date(2024, 5, 20)),
    2025: (date(2025, 4, 18), date(2025, 4, 21), date(2025, 6, 9)),
    2026: (date(2026, 4, 3), date(2026, 4, 6), date(2026, 5, 25)),
    2027: (date(2027, 3, 26), date(2027, 3, 29), date(2027, 5, 17)),
    2028: (date(2028, 4, 14), date(2028, 4, 17), date(2028, 6, 5)),
}


@pytest.mark.parametrize("year", sorted(PUBLISHED_MOVABLE))
def test_published_public_holidays_are_not_business_days(year: int) -> None:
    good_friday, easter_monday, whit_monday = PUBLISHED_MOVABLE[year]
    published = {date(year, m, d) for m, d in PUBLISHED_FIXED} | {
        good_friday, easter_monday, whit_monday}
    assert published <= hungarian_holidays(year)
    assert not any(is_business_day(day) for day in published)
    # The days around Easter are worked: Maundy Thursday and the Tuesday after it.
    assert is_business_day(good_friday - timedelta(days=1))
    assert is_business_day(easter_monday + timedelta(days=1))
    assert is_business_day(whit_monday + timedelta(days=1))


@given(dates)
def test_zero_business_days_is_the_start_itself(start: date) -> None:
    assert add_business_days(start, 0) == start


@given(dates, st.integers(min_value=1, max_value=80))
def test_add_business_days_never_lands_on_weekend_or_holiday(start: date, days: int) -> None:
    result = add_business_days(start, days)
    assert result.weekday() < 5
    assert result not in hungarian_holidays(result.year)


@given(dates, st.integers(min_value=1, max_value=80))
def test_add_business_days_counts_exactly_that_many_working_days(start: date, days: int) -> None:
    result = add_business_days(start, days)
    span = (result - start).days
    worked = [start + timedelta(days=i) for i in range(1, span + 1)]
    assert sum(is_business_day(d) for d in worked) == days
    assert is_business_day(result)


@given(dates, day_counts, day_counts)
def test_add_business_days_is_monotonic(start: date, a: int, b: int) -> None:
    low, high = sorted((a, b))
    assert add_business_days(start, low) <= add_business_days(start, high)
    if low < high:
        assert add_business_days(start, low) < add_business_days(start, high)


@given(dates, day_counts, day_counts)
def test_add_business_days_composes(start: date, a: int, b: int) -> None:
    assert add_business_days(add_business_days(start, a), b) == add_business_days(start, a + b)


@given(dates, dates, st.integers(min_value=1, max_value=40))
def test_later_start_never_gives_earlier_result(d1: date, d2: date, days: int) -> None:
    early, late = sorted((d1, d2))
    assert add_business_days(early, days) <= add_business_days(late, days)


@pytest.mark.parametrize(
    ("start", "days", "expected"),
    [
        (date(2026, 3, 13), 1, date(2026, 3, 16)),  # Friday -> Monday
        (date(2026, 3, 14), 1, date(2026, 3, 16)),  # Saturday -> Monday
        (date(2026, 3, 27), 5, date(2026, 4, 7)),  # over Good Friday and Easter Monday
        (date(2026, 5, 22), 1, date(2026, 5, 26)),  # Friday before Whit Monday
        (date(2026, 12, 23), 1, date(2026, 12, 28)),  # over 24-26 December and a weekend
        (date(2026, 12, 31), 1, date(2027, 1, 4)),  # over New Year and a weekend
    ],
)
def test_add_business_days_examples(start: date, days: int, expected: date) -> None:
    assert add_business_days(start, days) == expected


@pytest.mark.parametrize("days", [-1, -10])
def test_add_business_days_rejects_negative(days: int) -> None:
    with pytest.raises(ValueError, match="negative"):
        add_business_days(date(2026, 1, 5), days)
