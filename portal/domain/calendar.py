"""Business days on the Hungarian calendar.

Not worked: Saturdays and Sundays, the public holidays of the Labour Code (Mt. 102. §: 1 Jan,
15 Mar, Good Friday, Easter Sunday and Monday, 1 May, Whit Sunday and Monday, 20 Aug, 23 Oct,
1 Nov, 25 and 26 Dec), and the rest days that the government's yearly decree moves onto a
bridging day (2 January 2026, for example). Worked: the Saturdays the same decree makes working
days in exchange (10 January 2026). Christmas Eve is not a public holiday: it is a day off only
in a year whose decree moves a rest day onto it (2024, 2025 and 2026 did).

The dates come from the maintained ``holidays`` package (country HU), which carries each
year's decree (for Hungary, its substituted days: the day off, and the Saturday worked for it).
A year whose decree the installed package does not know yet has its public holidays only:
upgrading the pinned package brings the new decree. The package covers 1945 to 2100; outside
that only weekends are days off.
"""

from __future__ import annotations

from datetime import date, timedelta
from functools import lru_cache

import holidays


@lru_cache(maxsize=256)
def _hungarian_year(year: int) -> tuple[frozenset[date], frozenset[date]]:
    """Return the days off and the working weekend days of ``year``, as the package has them."""
    hu = holidays.country_holidays("HU", years=year)
    days_off = frozenset(day for day in hu if day.year == year)
    working = frozenset(day for day in hu.weekend_workdays if day.year == year)
    return days_off, working


def hungarian_holidays(year: int) -> frozenset[date]:
    """Return the days off of ``year``: public holidays and the decree's moved rest days."""
    return _hungarian_year(year)[0]


def working_saturdays(year: int) -> frozenset[date]:
    """Return the Saturdays of ``year`` that the government's decree makes working days."""
    return _hungarian_year(year)[1]


def is_business_day(day: date) -> bool:
    """Tell whether ``day`` is worked: a weekday that is no day off, or a working Saturday."""
    if day.weekday() >= 5:
        return day in working_saturdays(day.year)
    return day not in hungarian_holidays(day.year)


def add_business_days(start: date, days: int) -> date:
    """Return the date ``days`` business days after ``start`` (``start`` itself not counted)."""
    if days < 0:
        raise ValueError("days must not be negative")
    current = start
    remaining = days
    while remaining:
        current += timedelta(days=1)
        if is_business_day(current):
            remaining -= 1
    return current
