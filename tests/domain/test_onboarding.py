"""The onboarding checklist and when it is overdue."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from portal.domain.calendar import add_business_days, is_business_day
from portal.domain.onboarding import STEPS, OnboardingState, Step, due_date, onboarding_state

dates = st.dates(min_value=date(2000, 1, 1), max_value=date(2100, 12, 31))
step_lists = st.lists(st.sampled_from(STEPS), max_size=8)
incomplete = st.sets(st.sampled_from(STEPS), max_size=len(STEPS) - 1)


def test_steps_are_in_office_order() -> None:
    assert STEPS == (
        Step.IDENTITY_VERIFIED,
        Step.CONTRACT_SIGNED,
        Step.CREDIT_REVIEW_DONE,
        Step.ACCOUNT_OPENED,
    )


def test_due_date_from_a_friday_skips_the_weekend() -> None:
    friday = date(2026, 3, 13)
    assert friday.weekday() == 4
    assert due_date(friday, 1) == date(2026, 3, 16)
    assert due_date(friday, 5) == date(2026, 3, 20)


def test_due_date_from_a_friday_skips_easter() -> None:
    # Mon 30, Tue 31, Wed 1, Thu 2 April; Good Friday 3 and Easter Monday 6 April are off.
    assert due_date(date(2026, 3, 27), 5) == date(2026, 4, 7)


@given(dates, st.integers(min_value=1, max_value=30))
def test_due_date_is_a_business_day_after_creation(created: date, days: int) -> None:
    due = due_date(created, days)
    assert due > created
    assert is_business_day(due)
    assert due == add_business_days(created, days)


@given(step_lists, st.one_of(st.none(), dates), dates, st.booleans())
def test_state_follows_the_overdue_rule(
    done: list[Step], due: date | None, as_of: date, open_status: bool
) -> None:
    state = onboarding_state(done, due, as_of, open_status=open_status)
    complete = set(done) == set(STEPS)
    overdue = open_status and not complete and due is not None and as_of > due
    assert state == OnboardingState(
        done=len(set(done)),
        total=len(STEPS),
        complete=complete,
        overdue=overdue,
        days_overdue=(as_of - due).days if overdue and due is not None else 0,
    )


@given(st.permutations(STEPS), st.one_of(st.none(), dates), dates, st.booleans())
def test_complete_checklist_is_never_overdue(
    done: list[Step], due: date | None, as_of: date, open_status: bool
) -> None:
    state = onboarding_state(done, due, as_of, open_status=open_status)
    assert state.complete
    assert state.done == state.total == 4
    assert not state.overdue
    assert state.days_overdue == 0


@given(incomplete, dates, st.integers(min_value=1, max_value=400))
def test_not_open_status_is_never_overdue(done: set[Step], due: date, late: int) -> None:
    state = onboarding_state(done, due, due + timedelta(days=late), open_status=False)
    assert not state.overdue
    assert state.days_overdue == 0


@given(incomplete, dates)
def test_due_today_is_not_overdue(done: set[Step], due: date) -> None:
    state = onboarding_state(done, due, due, open_status=True)
    assert not state.overdue
    assert state.days_overdue == 0


@given(incomplete, dates, st.integers(min_value=1, max_value=400))
def test_past_due_open_incomplete_is_overdue_by_calendar_days(
    done: set[Step], due: date, late: int
) -> None:
    state = onboarding_state(done, due, due + timedelta(days=late), open_status=True)
    assert state.overdue
    assert state.days_overdue == late
    assert not state.complete


@given(incomplete, dates)
def test_no_due_date_is_never_overdue(done: set[Step], as_of: date) -> None:
    state = onboarding_state(done, None, as_of, open_status=True)
    assert not state.overdue
    assert state.days_overdue == 0


def test_duplicate_ticks_count_once() -> None:
    done = [Step.CONTRACT_SIGNED, Step.CONTRACT_SIGNED, Step.IDENTITY_VERIFIED]
    state = onboarding_state(done, date(2026, 1, 5), date(2026, 1, 9), open_status=True)
    assert state == OnboardingState(
        done=2, total=4, complete=False, overdue=True, days_overdue=4
    )


@pytest.mark.parametrize("open_status", [True, False])
def test_empty_checklist_before_due(open_status: bool) -> None:
    state = onboarding_state([], date(2026, 1, 9), date(2026, 1, 5), open_status=open_status)
    assert state == OnboardingState(
        done=0, total=4, complete=False, overdue=False, days_overdue=0
    )


def test_state_is_frozen() -> None:
    state = onboarding_state([], None, date(2026, 1, 5), open_status=True)
    with pytest.raises(AttributeError):
        state.overdue = True  # type: ignore[misc]
