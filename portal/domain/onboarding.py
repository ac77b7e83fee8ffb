"""The onboarding checklist of a new client and when it is overdue."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import date
from enum import StrEnum

from portal.domain.calendar import add_business_days


class Step(StrEnum):
    """Checklist items, in the order the office does them."""

    IDENTITY_VERIFIED = "identity_verified"
    CONTRACT_SIGNED = "contract_signed"
    CREDIT_REVIEW_DONE = "credit_review_done"
    ACCOUNT_OPENED = "account_opened"


STEPS: tuple[Step, ...] = tuple(Step)


def due_date(created_on: date, business_days: int) -> date:
    """Return the onboarding due date: ``business_days`` working days after creation."""
    return add_business_days(created_on, business_days)


@dataclass(frozen=True)
class OnboardingState:
    done: int
    total: int
    complete: bool
    overdue: bool
    days_overdue: int


def onboarding_state(
    done: Collection[Step], due: date | None, as_of: date, *, open_status: bool
) -> OnboardingState:
    """Summarise a checklist as of a date.

    Overdue means: the client is still being onboarded (``open_status``), some item is not
    ticked, and the due date has passed.
    """
    complete = set(done) >= set(STEPS)
    overdue = open_status and not complete and due is not None and as_of > due
    days = (as_of - due).days if overdue and due is not None else 0
    return OnboardingState(len(set(done)), len(STEPS), complete, overdue, days)
