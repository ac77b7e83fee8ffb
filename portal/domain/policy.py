"""The company's credit protocol as data, and the evaluation of a review against it.

Pure: no Flask, no SQLAlchemy, no clock (the caller passes ``as_of``). Money is integer minor
units with a currency; ratios are kept as exact fractions and shown in basis points
(1 bp = 0.01 %), so a figure exactly at a limit passes the same way every time.

Definitions (``shared/notes/credit-domain.md``):

- **DTI** (debt-to-income) = monthly debt payments / gross monthly income. The payments are
  those of the client's existing obligations as entered on the review.
- **Income multiple** = requested limit / gross monthly income.
- **Residual share** = (income − monthly debt payments) / income: what is left of income
  after all debt payments.
- With no income, DTI and the multiple are unbounded and those rules fail ("no income").
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from enum import StrEnum
from fractions import Fraction

from portal.domain.money import Money
from portal.domain.permissions import Role


class RiskGrade(StrEnum):
    HIGH = "high"
    MEDIUM = "medium"
    LOW = "low"


class Item(StrEnum):
    """The verification checklist of a review."""

    BUREAU = "bureau"
    EMPLOYMENT = "employment"
    BANK = "bank"
    LENDERS = "lenders"


class ItemState(StrEnum):
    #: Nothing yet, or only unanswered contacts.
    OPEN = "open"
    #: Evidence that confirms it: a document, a confirmed contact, a bureau report with its score.
    DONE = "done"
    #: A contact said it is not so (not confirmed).
    FAILED = "failed"


class Rule(StrEnum):
    DTI = "dti"
    SCORE = "score"
    BUREAU_AGE = "bureau_age"
    INCOME_MULTIPLE = "income_multiple"
    RESIDUAL = "residual"
    VERIFICATION = "verification"


@dataclass(frozen=True)
class Policy:
    """One version of the credit protocol."""

    version: int
    effective_from: date
    #: Most monthly debt payments may be of income, in basis points (4000 = 40 %).
    max_dti_bp: int
    min_bureau_score: int
    #: Largest limit as a multiple of monthly income, in hundredths (600 = 6×).
    max_income_multiple_x100: int
    #: Minimum share of income left after all debt payments, in basis points.
    min_residual_bp: int
    #: Oldest a credit-bureau report may be, in days, on the day of the evaluation.
    bureau_max_age_days: int
    required_items: frozenset[Item]
    #: Largest limit each role may approve, per currency; None means no limit. A role or a
    #: currency not listed may approve nothing.
    authority: Mapping[Role, Mapping[str, int | None]]
    #: Months until the next periodic review, per risk grade.
    review_months: Mapping[RiskGrade, int] = field(default_factory=lambda: {
        RiskGrade.HIGH: 1, RiskGrade.MEDIUM: 3, RiskGrade.LOW: 12})


@dataclass(frozen=True)
class Figures:
    """What a review says about the client, in the review's currency."""

    requested: Money
    monthly_income: Money
    #: Monthly payments of every existing obligation.
    debt_payments: Money
    bureau_score: int | None = None
    bureau_date: date | None = None
    items: Mapping[Item, ItemState] = field(default_factory=dict)


@dataclass(frozen=True)
class Outcome:
    rule: Rule
    passed: bool
    #: The figure judged and the limit, for the reason shown to people (None: not available).
    value: Fraction | int | None
    limit: Fraction | int | None
    #: Why, as a short code the views translate: "ok", "over", "under", "no_income",
    #: "missing", "too_old", "open", "failed", "currency".
    reason: str
    #: For the verification rule: the required items that are not done.
    items: tuple[Item, ...] = ()


@dataclass(frozen=True)
class Evaluation:
    dti: Fraction | None
    income_multiple: Fraction | None
    residual_share: Fraction | None
    outcomes: tuple[Outcome, ...]

    @property
    def passed(self) -> bool:
        return all(o.passed for o in self.outcomes)

    @property
    def failed(self) -> tuple[Outcome, ...]:
        return tuple(o for o in self.outcomes if not o.passed)


def ratio(numerator: int, denominator: int) -> Fraction | None:
    """Return numerator / denominator exactly, or None when the denominator is not positive."""
    return Fraction(numerator, denominator) if denominator > 0 else None


def bp(value: Fraction | None) -> int | None:
    """Return a ratio in basis points, rounded half up (for display; rules compare exactly)."""
    if value is None:
        return None
    scaled = value * 10_000
    return int(scaled) + (1 if scaled - int(scaled) >= Fraction(1, 2) else 0)


def evaluate(figures: Figures, policy: Policy, as_of: date) -> Evaluation:
    """Judge the figures against every rule of the policy, as of a day."""
    income = figures.monthly_income.minor
    payments = figures.debt_payments.minor
    same = (figures.requested.currency == figures.monthly_income.currency
            == figures.debt_payments.currency)
    dti = ratio(payments, income) if same else None
    multiple = ratio(figures.requested.minor, income) if same else None
    residual = ratio(income - payments, income) if same else None
    outcomes = [
        _at_most(Rule.DTI, dti, Fraction(policy.max_dti_bp, 10_000), same, income),
        _score(figures, policy),
        _bureau_age(figures, policy, as_of),
        _at_most(Rule.INCOME_MULTIPLE, multiple, Fraction(policy.max_income_multiple_x100, 100),
                 same, income),
        _at_least(Rule.RESIDUAL, residual, Fraction(policy.min_residual_bp, 10_000), same,
                  income),
        _verification(figures, policy),
    ]
    return Evaluation(dti, multiple, residual, tuple(outcomes))


def _at_most(rule: Rule, value: Fraction | None, limit: Fraction, same: bool,
             income: int) -> Outcome:
    if not same:
        return Outcome(rule, False, None, limit, "currency")
    if value is None or income <= 0:
        return Outcome(rule, False, None, limit, "no_income")
    return Outcome(rule, value <= limit, value, limit, "ok" if value <= limit else "over")


def _at_least(rule: Rule, value: Fraction | None, limit: Fraction, same: bool,
              income: int) -> Outcome:
    if not same:
        return Outcome(rule, False, None, limit, "currency")
    if value is None or income <= 0:
        return Outcome(rule, False, None, limit, "no_income")
    return Outcome(rule, value >= limit, value, limit, "ok" if value >= limit else "under")


def _score(figures: Figures, policy: Policy) -> Outcome:
    score, limit = figures.bureau_score, policy.min_bureau_score
    if score is None:
        return Outcome(Rule.SCORE, False, None, limit, "missing")
    return Outcome(Rule.SCORE, score >= limit, score, limit, "ok" if score >= limit else "under")


def _bureau_age(figures: Figures, policy: Policy, as_of: date) -> Outcome:
    limit = policy.bureau_max_age_days
    if figures.bureau_date is None:
        return Outcome(Rule.BUREAU_AGE, False, None, limit, "missing")
    age = (as_of - figures.bureau_date).days
    ok = 0 <= age <= limit
    return Outcome(Rule.BUREAU_AGE, ok, age, limit, "ok" if ok else "too_old")


def _verification(figures: Figures, policy: Policy) -> Outcome:
    required = [i for i in Item if i in policy.required_items]
    failed = tuple(i for i in required if figures.items.get(i) is ItemState.FAILED)
    open_ = tuple(i for i in required if figures.items.get(i, ItemState.OPEN) is ItemState.OPEN)
    if failed:
        return Outcome(Rule.VERIFICATION, False, None, None, "failed", failed + open_)
    if open_:
        return Outcome(Rule.VERIFICATION, False, None, None, "open", open_)
    return Outcome(Rule.VERIFICATION, True, None, None, "ok")


# Authority ---------------------------------------------------------------------------------

#: Roles that decide reviews, from the least authority to the most.
DECIDING_ROLES = (Role.COORDINATOR, Role.MANAGER)


def may_approve(policy: Policy, role: Role | None, amount: Money) -> bool:
    """Tell whether ``role`` may approve a limit of ``amount`` under the policy."""
    if role is None:
        return False
    limits = policy.authority.get(role, {})
    if amount.currency not in limits:
        return False
    ceiling = limits[amount.currency]
    return ceiling is None or amount.minor <= ceiling


def authority_needed(policy: Policy, amount: Money) -> Role | None:
    """Return the least role that may approve ``amount``, or None if no role may."""
    for role in DECIDING_ROLES:
        if may_approve(policy, role, amount):
            return role
    return None


# The review's life --------------------------------------------------------------------------


class Status(StrEnum):
    DRAFT = "draft"
    VERIFICATION = "verification"
    AWAITING_DECISION = "awaiting_decision"
    APPROVED = "approved"
    DECLINED = "declined"
    WITHDRAWN = "withdrawn"


class Action(StrEnum):
    START_VERIFICATION = "start_verification"
    SUBMIT = "submit"
    APPROVE = "approve"
    DECLINE = "decline"
    REFER_UP = "refer_up"
    SEND_BACK = "send_back"
    WITHDRAW = "withdraw"


#: Where each action may be taken from, and where it leads. Approved, declined and
#: withdrawn reviews are closed: nothing moves them.
TRANSITIONS: Mapping[Action, tuple[frozenset[Status], Status]] = {
    Action.START_VERIFICATION: (frozenset({Status.DRAFT}), Status.VERIFICATION),
    Action.SUBMIT: (frozenset({Status.DRAFT, Status.VERIFICATION}), Status.AWAITING_DECISION),
    Action.APPROVE: (frozenset({Status.AWAITING_DECISION}), Status.APPROVED),
    Action.DECLINE: (frozenset({Status.AWAITING_DECISION}), Status.DECLINED),
    Action.REFER_UP: (frozenset({Status.AWAITING_DECISION}), Status.AWAITING_DECISION),
    Action.SEND_BACK: (frozenset({Status.AWAITING_DECISION}), Status.VERIFICATION),
    Action.WITHDRAW: (frozenset({Status.DRAFT, Status.VERIFICATION, Status.AWAITING_DECISION}),
                      Status.WITHDRAWN),
}
CLOSED = frozenset({Status.APPROVED, Status.DECLINED, Status.WITHDRAWN})
#: Figures and obligations may be changed only while the review is being prepared.
EDITABLE = frozenset({Status.DRAFT, Status.VERIFICATION})


class InvalidTransition(ValueError):
    """The action is not allowed from the review's status."""


def next_status(status: Status, action: Action) -> Status:
    """Return the status ``action`` leads to from ``status``, or raise InvalidTransition."""
    sources, target = TRANSITIONS[action]
    if status not in sources:
        raise InvalidTransition(f"{action.value} is not allowed from {status.value}")
    return target


def allowed_actions(status: Status) -> tuple[Action, ...]:
    """Return the actions allowed from ``status``, in the order of the enum."""
    return tuple(a for a in Action if status in TRANSITIONS[a][0])


def add_months(day: date, months: int) -> date:
    """Return ``day`` plus whole months, clamped to the month's end (31 Jan + 1 → 28/29 Feb)."""
    import calendar

    month_index = day.month - 1 + months
    year, month = day.year + month_index // 12, month_index % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def next_review_due(policy: Policy, grade: RiskGrade, decided_on: date) -> date:
    """Return when the next periodic review is due for a client of ``grade``."""
    return add_months(decided_on, policy.review_months[grade])
