"""Limits on failed attempts: the setting's syntax, and when one more attempt is refused."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from portal.domain.rate_limits import ALLOWED, Limit, Verdict, judge, lookback, parse_limits

NOW = datetime(2026, 3, 2, 9, 30, tzinfo=UTC)


def _ago(*seconds: float) -> list[datetime]:
    return [NOW - timedelta(seconds=s) for s in seconds]


@pytest.mark.parametrize(("text", "count", "seconds"), [
    ("10 per minute", 10, 60),
    ("5 per minute", 5, 60),
    ("20 per hour", 20, 3600),
    ("10/minute", 10, 60),
    ("10 / minute", 10, 60),
    ("  3 PER Second ", 3, 1),
    ("100 per day", 100, 86400),
    ("5 per 10 minutes", 5, 600),
    ("5/2hours", 5, 7200),
    ("1000 per minute", 1000, 60),
])
def test_parses_one_limit(text, count, seconds):
    assert parse_limits(text) == (Limit(count, timedelta(seconds=seconds)),)


def test_parses_several_limits():
    assert parse_limits("10 per minute; 100 per day") == (
        Limit(10, timedelta(minutes=1)), Limit(100, timedelta(days=1)))
    assert parse_limits("10/minute,100/day") == parse_limits("10 per minute; 100 per day")


@pytest.mark.parametrize("text", [
    "", " ", ";", "ten per minute", "10 per fortnight", "10 per", "per minute", "10 minutes",
    "0 per minute", "10 per 0 minutes", "-1 per minute", "10 perminute", "10 per minute x",
    "10 per month",
])
def test_refuses_what_is_not_a_limit(text):
    with pytest.raises(ValueError):
        parse_limits(text)


def test_lookback_covers_the_largest_count_and_window():
    limits = parse_limits("3 per minute; 20 per hour")
    assert lookback(limits) == (20, timedelta(hours=1))


def test_allows_until_the_count_is_reached():
    limits = parse_limits("5 per minute")
    assert judge(limits, [_ago(50, 40, 30, 20)], NOW) == ALLOWED
    assert judge(limits, [[]], NOW) == ALLOWED


def test_refuses_at_the_limit_until_the_count_with_this_attempt_drops_below_it():
    limits = parse_limits("5 per minute")
    # Five earlier plus this refused one: free once the second oldest (40 s ago) leaves.
    assert judge(limits, [_ago(50, 40, 30, 20, 10)], NOW) == Verdict(False, 20)
    # Seven earlier: four must leave, the fourth oldest (20 s ago) in 40 s.
    assert judge(limits, [_ago(59, 58, 30, 20, 10, 5, 1)], NOW) == Verdict(False, 40)


def test_the_window_is_open_at_its_start():
    limits = parse_limits("2 per minute")
    assert judge(limits, [_ago(60, 60, 10)], NOW) == ALLOWED
    # With the refused one, free when the one 10.5 s ago leaves: in 49.5 s, rounded up.
    assert judge(limits, [_ago(59.5, 10.5)], NOW) == Verdict(False, 50)


def test_a_limit_of_one_waits_the_whole_window():
    assert judge(parse_limits("1 per hour"), [_ago(1800)], NOW) == Verdict(False, 3600)


def test_attempts_stamped_ahead_by_a_fast_clock_count_but_do_not_lengthen_the_wait():
    ahead = [NOW + timedelta(seconds=30)] * 3
    assert judge(parse_limits("3 per minute"), [ahead], NOW) == Verdict(False, 60)


def test_every_counter_and_limit_must_allow():
    limits = parse_limits("3 per minute; 5 per hour")
    assert judge(limits, [_ago(3000, 2000, 1000, 30), _ago(10)], NOW) == ALLOWED
    # The hour is full (five with 20 s ago); with the refused one too, free in 1600 s.
    assert judge(limits, [_ago(10), _ago(3000, 2000, 1000, 30, 20)], NOW) == Verdict(False, 1600)
    # Refused by the first counter (free in 200 s), the attempt counts under the second too:
    # its four in the hour become five, so it waits for its oldest (3000 s ago) to leave.
    assert judge(parse_limits("5 per hour"),
                 [_ago(3500, 3400, 3300, 3200, 3100), _ago(3000, 1000, 500, 400)],
                 NOW) == Verdict(False, 600)


limit_strategy = st.builds(
    Limit, st.integers(min_value=1, max_value=12),
    st.integers(min_value=1, max_value=3600).map(lambda s: timedelta(seconds=s)),
)
ages = st.lists(st.integers(min_value=0, max_value=8000_000).map(lambda ms: ms / 1000),
                max_size=30)


@given(st.lists(limit_strategy, min_size=1, max_size=3), st.lists(ages, min_size=1,
                                                                      max_size=3))
def test_refused_exactly_when_a_window_is_full_and_let_in_after_the_wait(limits, counters):
    attempts = [_ago(*counter) for counter in counters]
    verdict = judge(limits, attempts, NOW)
    full = any(sum(t > NOW - limit.window for t in times) >= limit.count
               for times in attempts for limit in limits)
    assert verdict.allowed is not full
    if verdict.allowed:
        assert verdict.retry_after == 0
        return
    assert 1 <= verdict.retry_after <= max(limit.window for limit in limits).total_seconds()
    # The refused attempt counts under every key; whoever then waits as told is let in ...
    counted = [[*times, NOW] for times in attempts]
    later = NOW + timedelta(seconds=verdict.retry_after)
    assert judge(limits, counted, later).allowed
    # ... and not a second sooner.
    if verdict.retry_after > 1:
        sooner = later - timedelta(seconds=1)
        assert not judge(limits, counted, sooner).allowed
