"""Business days on the Hungarian calendar (public holidays and the yearly decree)."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from portal.domain.calendar import (
    add_business_days,
    hungarian_holidays,
    is_business_day,
    working_saturdays,
)

#: The package covers 1945-2100; the property tests stay inside it.
dates = st.dates(min_value=date(1990, 1, 1), max_value=date(2099, 12, 31))
day_counts = st.integers(min_value=0, max_value=80)


def test_days_off_2026_exactly() -> None:
    assert hungarian_holidays(2026) == {
        date(2026, 1, 1),
        date(2026, 1, 2),  # moved rest day (worked on Saturday 10 January)
        date(2026, 3, 15),
        date(2026, 4, 3),  # Good Friday
        date(2026, 4, 5),  # Easter Sunday
        date(2026, 4, 6),  # Easter Monday
        date(2026, 5, 1),
        date(2026, 5, 24),  # Whit Sunday
        date(2026, 5, 25),  # Whit Monday
        date(2026, 8, 20),
        date(2026, 8, 21),  # moved rest day (worked on Saturday 8 August)
        date(2026, 10, 23),
        date(2026, 11, 1),
        date(2026, 12, 24),  # moved rest day (worked on Saturday 12 December)
        date(2026, 12, 25),
        date(2026, 12, 26),
    }


#: The government decrees of moved rest days: {year: {rest day: the Saturday worked for it}}
#: (NGM 10/2025 for 2026, 11/2024 for 2025, 15/2023 for 2024).
DECREES = {
    2024: {date(2024, 8, 19): date(2024, 8, 3), date(2024, 12, 24): date(2024, 12, 7),
           date(2024, 12, 27): date(2024, 12, 14)},
    2025: {date(2025, 5, 2): date(2025, 5, 17), date(2025, 10, 24): date(2025, 10, 18),
           date(2025, 12, 24): date(2025, 12, 13)},
    2026: {date(2026, 1, 2): date(2026, 1, 10), date(2026, 8, 21): date(2026, 8, 8),
           date(2026, 12, 24): date(2026, 12, 12)},
}


@pytest.mark.parametrize("year", sorted(DECREES))
def test_the_decree_moves_rest_days_and_working_saturdays(year: int) -> None:
    decree = DECREES[year]
    assert working_saturdays(year) == set(decree.values())
    for rest_day, saturday in decree.items():
        assert rest_day.weekday() < 5 and not is_business_day(rest_day)
        assert saturday.weekday() == 5 and is_business_day(saturday)
        assert rest_day in hungarian_holidays(year)


@pytest.mark.parametrize(
    ("day", "expected"),
    [
        (date(2026, 1, 2), False),  # Friday, moved rest day
        (date(2026, 1, 10), True),  # Saturday, working day by decree
        (date(2026, 1, 17), False),  # an ordinary Saturday
        (date(2026, 3, 13), True),  # Friday
        (date(2026, 3, 14), False),  # Saturday
        (date(2026, 3, 15), False),  # Sunday and holiday
        (date(2026, 3, 16), True),  # Monday
        (date(2026, 4, 3), False),  # Good Friday
        (date(2026, 4, 6), False),  # Easter Monday
        (date(2026, 5, 25), False),  # Whit Monday
        (date(2026, 8, 8), True),  # Saturday, working day by decree
        (date(2026, 8, 21), False),  # Friday, moved rest day
        (date(2026, 10, 23), False),  # Friday, national holiday
        (date(2026, 12, 12), True),  # Saturday, worked for Christmas Eve
        (date(2026, 12, 24), False),  # Thursday, Christmas Eve: moved rest day
        (date(2026, 12, 28), True),  # Monday after Christmas
    ],
)
def test_is_business_day(day: date, expected: bool) -> None:
    assert is_business_day(day) is expected


#: Each year 2010-2026 in which 24 December fell on a weekday, and the Saturday the decree
#: made a working day for it. The Labour Code does not list Christmas Eve among the public
#: holidays: it is a day off only through the decree.
CHRISTMAS_EVE_SWAPS = {
    2010: date(2010, 12, 11), 2012: date(2012, 12, 15), 2013: date(2013, 12, 7),
    2014: date(2014, 12, 13), 2015: date(2015, 12, 12), 2018: date(2018, 12, 1),
    2019: date(2019, 12, 7), 2020: date(2020, 12, 12), 2021: date(2021, 12, 11),
    2024: date(2024, 12, 7), 2025: date(2025, 12, 13), 2026: date(2026, 12, 12),
}


@pytest.mark.parametrize("year", range(2010, 2027))
def test_christmas_eve_on_a_weekday_is_off_only_by_the_decree(year: int) -> None:
    christmas_eve = date(year, 12, 24)
    if christmas_eve.weekday() >= 5:
        assert year not in CHRISTMAS_EVE_SWAPS
        assert not is_business_day(christmas_eve)
        return
    saturday = CHRISTMAS_EVE_SWAPS[year]
    assert not is_business_day(christmas_eve)
    assert saturday in working_saturdays(year)
    assert is_business_day(saturday)


def test_christmas_eve_is_no_public_holiday_of_its_own() -> None:
    # Without a decree moving a rest day onto it, 24 December is an ordinary day: in every
    # year the decree is known for, a weekday Christmas Eve off comes with a Saturday worked.
    for year in range(1991, 2027):
        christmas_eve = date(year, 12, 24)
        if christmas_eve.weekday() < 5 and not is_business_day(christmas_eve):
            assert any(d.month == 12 for d in working_saturdays(year)), year


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


@given(st.integers(min_value=1990, max_value=2099))
def test_working_saturdays_are_saturdays_of_their_year(year: int) -> None:
    assert all(d.year == year and d.weekday() == 5 for d in working_saturdays(year))
    assert all(d.year == year for d in hungarian_holidays(year))
    assert not working_saturdays(year) & hungarian_holidays(year)


@given(dates)
def test_zero_business_days_is_the_start_itself(start: date) -> None:
    assert add_business_days(start, 0) == start


@given(dates, st.integers(min_value=1, max_value=80))
def test_add_business_days_never_lands_on_a_day_off(start: date, days: int) -> None:
    result = add_business_days(start, days)
    assert result not in hungarian_holidays(result.year)
    assert result.weekday() < 5 or result in working_saturdays(result.year)


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
        (date(2025, 12, 31), 1, date(2026, 1, 5)),  # over New Year, 2 January and a weekend
        (date(2026, 1, 9), 1, date(2026, 1, 10)),  # Friday -> the working Saturday
        (date(2026, 8, 19), 1, date(2026, 8, 24)),  # over 20-21 August and a weekend
        (date(2026, 11, 30), 10, date(2026, 12, 12)),  # the working Saturday is counted
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
