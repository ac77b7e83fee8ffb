"""Limits on failed attempts: read a setting such as "10 per minute" and judge the attempts.

Pure: the caller passes the times of the attempts it found and ``now``; nothing here reads the
clock or a database.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import lru_cache

#: Seconds in each unit a limit may be written in.
UNITS = {"second": 1, "minute": 60, "hour": 3600, "day": 86400}

_LIMIT = re.compile(
    r"\s*(\d+)\s*(?:/|per\b)\s*(\d+)?\s*(second|minute|hour|day)s?\s*", re.IGNORECASE
)
_SEPARATORS = re.compile(r"[,;|]")


@dataclass(frozen=True)
class Limit:
    """At most ``count`` attempts within any ``window``."""

    count: int
    window: timedelta


@dataclass(frozen=True)
class Verdict:
    """Whether one more attempt may be made now; if not, in how many whole seconds."""

    allowed: bool
    #: Seconds until the attempts counted against the limit have thinned out enough (at
    #: least 1 when refused, 0 when allowed).
    retry_after: int = 0


ALLOWED = Verdict(True)


@lru_cache(maxsize=16)
def parse_limits(text: str) -> tuple[Limit, ...]:
    """Read "10 per minute", "10/minute", "20 per hour" or "5 per 10 minutes" (several may be
    joined with ";" or ","); raise ValueError for anything else."""
    parts = [part for part in _SEPARATORS.split(text) if part.strip()]
    if not parts:
        raise ValueError(f"no rate limit in {text!r} (write e.g. '10 per minute')")
    limits = []
    for part in parts:
        match = _LIMIT.fullmatch(part)
        if match is None:
            raise ValueError(f"not a rate limit: {part.strip()!r} (write e.g. '10 per minute')")
        count, multiple = int(match[1]), int(match[2] or 1)
        if count < 1 or multiple < 1:
            raise ValueError(f"a rate limit needs a count and a period above 0: {part.strip()!r}")
        seconds = multiple * UNITS[match[3].lower()]
        limits.append(Limit(count, timedelta(seconds=seconds)))
    return tuple(limits)


def lookback(limits: Sequence[Limit]) -> tuple[int, timedelta]:
    """Return how many of the newest attempts, from how far back, ``judge`` needs to see."""
    return max(limit.count for limit in limits), max(limit.window for limit in limits)


def judge(
    limits: Sequence[Limit], counters: Sequence[Iterable[datetime]], now: datetime
) -> Verdict:
    """Judge one more attempt against each counter's earlier attempts (one counter per key the
    attempt is counted under: its address, its user). Refuse when, for any counter and limit,
    the window before ``now`` holds ``count`` or more of them.

    Each counter needs only its newest ``lookback(limits)`` attempts. A refused attempt is
    recorded and counts as well, under every key, so the wait lasts until every counter, this
    attempt included, holds fewer than ``count`` in every window: for each, retry_after =
    ceil(t + window - now), where t is the count-th newest of its attempts in the window
    (after ``count`` earlier attempts, the second oldest of them). It is at least 1 and at
    most the window (a host whose clock runs ahead must not make it longer).
    """
    earlier = [sorted(counter, reverse=True) for counter in counters]
    if all(len(_in_window(times, limit, now)) < limit.count
           for times in earlier for limit in limits):
        return ALLOWED
    with_this = [sorted([now, *times], reverse=True) for times in earlier]
    return Verdict(False, max(_wait(limit, times, now) for times in with_this for limit in limits))


def _in_window(newest_first: list[datetime], limit: Limit, now: datetime) -> list[datetime]:
    return [moment for moment in newest_first if moment > now - limit.window]


def _wait(limit: Limit, newest_first: list[datetime], now: datetime) -> int:
    """Return the whole seconds until fewer than ``limit.count`` attempts are in its window."""
    in_window = _in_window(newest_first, limit, now)
    if len(in_window) < limit.count:
        return 0
    free_at = in_window[limit.count - 1] + limit.window
    seconds = math.ceil((free_at - now).total_seconds())
    return min(max(seconds, 1), math.ceil(limit.window.total_seconds()))
