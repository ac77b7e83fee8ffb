"""Business days on the Hungarian calendar: weekends and public holidays are not worked."""

from __future__ import annotations

from datetime import date, timedelta
from functools import lru_cache


def easter_sunday(year: int) -> date:
    """Return Easter Sunday of ``year`` (Gregorian calendar, anonymous computus)."""
    a = year % 19
    b, c = divmod(year, 100)
    d, e = divmod(b, 4)
    f = (b + 8) // 25
    g = (b - f + 1) // 3
    h = (19 * a + b - d - g + 15) % 30
    i, k = divmod(c, 4)
    ell = (32 + 2 * e + 2 * i - h - k) % 7
    m = (a + 11 * h + 22 * ell) // 451
    month, day = divmod(h + ell - 7 * m + 114, 31)
    return date(year, month, day + 1)


@lru_cache(maxsize=64)
def hungarian_holidays(year: int) -> frozenset[date]:
    """Return Hungary's public holidays (munkaszüneti napok) of ``year``.

    Fixed days: 1 Jan, 15 Mar, 1 May, 20 Aug, 23 Oct, 1 Nov, 24-26 Dec; movable ones:
    Good Friday, Easter Monday and Whit Monday. Bridging days moved by government decree
    are not included: they change every year.
    """
    easter = easter_sunday(year)
    fixed = [(1, 1), (3, 15), (5, 1), (8, 20), (10, 23), (11, 1), (12, 24), (12, 25), (12, 26)]
    days = {date(year, m, d) for m, d in fixed}
    days |= {easter - timedelta(days=2), easter + timedelta(days=1), easter + timedelta(days=50)}
    return frozenset(days)


def is_business_day(day: date) -> bool:
    """Tell whether ``day`` is a working day: Monday to Friday and not a public holiday."""
    return day.weekday() < 5 and day not in hungarian_holidays(day.year)


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
