"""The credit policy's evaluation: the figures at the edges, authority routing, transitions."""

from __future__ import annotations

from datetime import date
from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from portal.domain.money import Money
from portal.domain.permissions import Role
from portal.domain.policy import (
    CLOSED,
    Action,
    Figures,
    InvalidTransition,
    Item,
    ItemState,
    Policy,
    RiskGrade,
    Rule,
    Status,
    add_months,
    allowed_actions,
    authority_needed,
    bp,
    evaluate,
    may_approve,
    next_review_due,
    next_status,
)

TODAY = date(2026, 11, 30)
POLICY = Policy(
    version=3, effective_from=date(2026, 1, 1), max_dti_bp=4000, min_bureau_score=600,
    max_income_multiple_x100=600, min_residual_bp=3000, bureau_max_age_days=90,
    required_items=frozenset({Item.BUREAU, Item.EMPLOYMENT}),
    authority={Role.COORDINATOR: {"HUF": 5_000_000, "EUR": 15_000_00},
               Role.MANAGER: {"HUF": None, "EUR": None}},
)
DONE = {Item.BUREAU: ItemState.DONE, Item.EMPLOYMENT: ItemState.DONE}


def figures(requested=3_000_000, income=600_000, payments=120_000, currency="HUF",
            score=700, report=date(2026, 11, 1), items=None) -> Figures:
    return Figures(requested=Money(requested, currency), monthly_income=Money(income, currency),
                   debt_payments=Money(payments, currency), bureau_score=score,
                   bureau_date=report, items=DONE if items is None else items)


def outcome(evaluation, rule: Rule):
    return next(o for o in evaluation.outcomes if o.rule is rule)


def test_a_sound_application_passes_every_rule():
    evaluation = evaluate(figures(), POLICY, TODAY)
    assert evaluation.passed and evaluation.failed == ()
    assert evaluation.dti == Fraction(1, 5) and bp(evaluation.dti) == 2000
    assert evaluation.income_multiple == 5 and evaluation.residual_share == Fraction(4, 5)


def test_dti_exactly_at_the_limit_passes_and_one_unit_above_fails():
    at = evaluate(figures(income=600_000, payments=240_000), POLICY, TODAY)
    assert outcome(at, Rule.DTI).passed and outcome(at, Rule.DTI).reason == "ok"
    over = evaluate(figures(income=600_000, payments=240_001), POLICY, TODAY)
    assert not outcome(over, Rule.DTI).passed and outcome(over, Rule.DTI).reason == "over"
    assert outcome(over, Rule.DTI).value == Fraction(240_001, 600_000)


def test_income_multiple_and_residual_at_their_edges():
    at = evaluate(figures(requested=3_600_000, income=600_000, payments=420_000), POLICY, TODAY)
    assert outcome(at, Rule.INCOME_MULTIPLE).passed  # exactly 6×
    assert outcome(at, Rule.RESIDUAL).passed  # exactly 30 % left
    over = evaluate(figures(requested=3_600_001, income=600_000, payments=420_001), POLICY,
                    TODAY)
    assert outcome(over, Rule.INCOME_MULTIPLE).reason == "over"
    assert outcome(over, Rule.RESIDUAL).reason == "under"


def test_zero_income_fails_the_income_rules_without_dividing_by_zero():
    evaluation = evaluate(figures(income=0, payments=0), POLICY, TODAY)
    for rule in (Rule.DTI, Rule.INCOME_MULTIPLE, Rule.RESIDUAL):
        assert outcome(evaluation, rule).reason == "no_income"
    assert evaluation.dti is None and evaluation.income_multiple is None


def test_no_debts_means_no_debt_burden():
    evaluation = evaluate(figures(payments=0), POLICY, TODAY)
    assert evaluation.dti == 0 and evaluation.residual_share == 1 and evaluation.passed


def test_eur_reviews_are_judged_in_eur_and_mixed_currencies_fail():
    eur = evaluate(figures(requested=10_000_00, income=2_500_00, payments=500_00,
                           currency="EUR"), POLICY, TODAY)
    assert eur.passed and bp(eur.dti) == 2000
    mixed = evaluate(Figures(requested=Money(10_000_00, "EUR"),
                             monthly_income=Money(600_000, "HUF"),
                             debt_payments=Money(0, "HUF"), bureau_score=700,
                             bureau_date=TODAY, items=DONE), POLICY, TODAY)
    assert outcome(mixed, Rule.DTI).reason == "currency" and not mixed.passed


def test_bureau_score_and_report_age():
    assert outcome(evaluate(figures(score=600), POLICY, TODAY), Rule.SCORE).passed
    assert outcome(evaluate(figures(score=599), POLICY, TODAY), Rule.SCORE).reason == "under"
    assert outcome(evaluate(figures(score=None), POLICY, TODAY), Rule.SCORE).reason == "missing"
    edge = date(2026, 9, 1)  # 90 days before 30 November
    assert (TODAY - edge).days == 90
    assert outcome(evaluate(figures(report=edge), POLICY, TODAY), Rule.BUREAU_AGE).passed
    old = evaluate(figures(report=date(2026, 8, 31)), POLICY, TODAY)
    assert outcome(old, Rule.BUREAU_AGE).reason == "too_old"
    future = evaluate(figures(report=date(2026, 12, 1)), POLICY, TODAY)
    assert not outcome(future, Rule.BUREAU_AGE).passed


def test_verification_needs_every_required_item_done():
    open_ = evaluate(figures(items={Item.BUREAU: ItemState.DONE}), POLICY, TODAY)
    rule = outcome(open_, Rule.VERIFICATION)
    assert (rule.passed, rule.reason, rule.items) == (False, "open", (Item.EMPLOYMENT,))
    failed = evaluate(figures(items={Item.BUREAU: ItemState.DONE,
                                     Item.EMPLOYMENT: ItemState.FAILED}), POLICY, TODAY)
    assert outcome(failed, Rule.VERIFICATION).reason == "failed"
    # Items the policy does not require do not matter.
    extra = evaluate(figures(items={**DONE, Item.BANK: ItemState.FAILED}), POLICY, TODAY)
    assert outcome(extra, Rule.VERIFICATION).passed


def test_authority_is_routed_by_amount_and_currency():
    assert authority_needed(POLICY, Money(5_000_000, "HUF")) is Role.COORDINATOR
    assert authority_needed(POLICY, Money(5_000_001, "HUF")) is Role.MANAGER
    assert authority_needed(POLICY, Money(15_000_01, "EUR")) is Role.MANAGER
    assert may_approve(POLICY, Role.MANAGER, Money(10**12, "HUF"))
    assert not may_approve(POLICY, Role.CLERK, Money(1, "HUF"))
    hufs_only = Policy(**{**POLICY.__dict__, "authority": {Role.COORDINATOR: {"HUF": 10},
                                                           Role.MANAGER: {"HUF": None}}})
    assert not may_approve(hufs_only, Role.MANAGER, Money(1, "EUR"))
    assert authority_needed(hufs_only, Money(1, "EUR")) is None


def test_transitions_follow_the_table_and_closed_reviews_never_move():
    assert next_status(Status.DRAFT, Action.START_VERIFICATION) is Status.VERIFICATION
    assert next_status(Status.VERIFICATION, Action.SUBMIT) is Status.AWAITING_DECISION
    assert next_status(Status.AWAITING_DECISION, Action.SEND_BACK) is Status.VERIFICATION
    assert next_status(Status.AWAITING_DECISION, Action.REFER_UP) is Status.AWAITING_DECISION
    with pytest.raises(InvalidTransition):
        next_status(Status.DRAFT, Action.APPROVE)
    for status in CLOSED:
        assert allowed_actions(status) == ()
        for action in Action:
            with pytest.raises(InvalidTransition):
                next_status(status, action)


def test_periodic_review_interval_by_grade_clamps_month_ends():
    assert next_review_due(POLICY, RiskGrade.HIGH, date(2026, 1, 31)) == date(2026, 2, 28)
    assert next_review_due(POLICY, RiskGrade.MEDIUM, date(2026, 11, 30)) == date(2027, 2, 28)
    assert next_review_due(POLICY, RiskGrade.LOW, date(2028, 2, 29)) == date(2029, 2, 28)
    assert add_months(date(2027, 12, 15), 1) == date(2028, 1, 15)


amounts = st.integers(min_value=0, max_value=10**12)


@given(requested=amounts, income=amounts, payments=amounts)
def test_every_rule_agrees_with_exact_arithmetic(requested, income, payments):
    evaluation = evaluate(figures(requested=requested or 1, income=income, payments=payments),
                          POLICY, TODAY)
    if income == 0:
        assert evaluation.dti is None and not evaluation.passed
        return
    # Cross-multiplied integers: no float, no rounding.
    assert outcome(evaluation, Rule.DTI).passed == (payments * 10_000 <= 4000 * income)
    assert outcome(evaluation, Rule.INCOME_MULTIPLE).passed == (
        (requested or 1) * 100 <= 600 * income)
    assert outcome(evaluation, Rule.RESIDUAL).passed == ((income - payments) * 10_000
                                                         >= 3000 * income)
    assert evaluation.dti + evaluation.residual_share == 1


@given(st.fractions(min_value=0, max_value=100))
def test_basis_points_round_half_up(value):
    result = bp(value)
    assert abs(Fraction(result) - value * 10_000) <= Fraction(1, 2)
    assert result == int(value * 10_000 + Fraction(1, 2))


@given(start=st.dates(min_value=date(2000, 1, 1), max_value=date(2100, 12, 31)),
       months=st.integers(min_value=0, max_value=36))
def test_adding_months_lands_in_the_right_month_and_never_overshoots(start, months):
    result = add_months(start, months)
    assert (result.year * 12 + result.month) - (start.year * 12 + start.month) == months
    assert result.day <= start.day
