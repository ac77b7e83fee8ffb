"""The decision record of a credit review: a PDF filed into the client's documents.

Rendered from ``reviews/decision_record.html`` (``portal.pdf``) in the client's language, from
what the decision froze (figures, rule outcomes, policy version), then filed through the
normal filing path, so its text is extracted and indexed and it is found like any other
document. Needs an app context (templates and translations); called by ``reviews.decide``
inside the request's or command's transaction.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from fractions import Fraction

from flask import current_app
from flask_babel import force_locale
from flask_babel import gettext as _
from sqlalchemy.orm import Session

from portal.domain.money import Money
from portal.domain.policy import Action, RiskGrade, Rule
from portal.labels import REVIEW_KIND_LABELS, RISK_GRADE_LABELS, RULE_LABELS, rule_reason
from portal.models.credit import CreditDecision, CreditPolicy, CreditReview
from portal.models.documents import DocType
from portal.models.users import User
from portal.pdf import render_pdf
from portal.services import documents as documents_service
from portal.services.base import Actor
from portal.services.documents import FileMeta


@dataclass(frozen=True)
class RuleLine:
    label: str
    passed: bool
    reason: str


@dataclass(frozen=True)
class DecisionRecord:
    """What the decision record template shows (see its contract in the template)."""

    client_name: str
    client_number: str
    review_id: int
    kind_label: str
    purpose: str
    requested: Money
    approved: Money | None
    monthly_income: Money
    debt_payments: Money
    outcome_label: str
    approved_flag: bool
    risk_grade_label: str | None
    note: str
    decided_by: str
    prepared_by: str
    decided_at: datetime
    policy_version: int
    policy_effective_from: date
    dti: Decimal | None
    income_multiple: Decimal | None
    residual_share: Decimal | None
    rules: list[RuleLine]
    next_review_due: date | None


def _percent(basis_points: int | None) -> Decimal | None:
    return None if basis_points is None else Decimal(basis_points) / 100


def build_record(db: Session, review: CreditReview, decision: CreditDecision) -> DecisionRecord:
    """Gather a decision's record in the active language (call under ``force_locale``)."""
    figures = decision.figures
    currency = figures["currency"]
    policy = db.get(CreditPolicy, decision.policy_id)
    decider = db.get(User, decision.decided_by_id) if decision.decided_by_id else None
    preparer = db.get(User, review.prepared_by_id) if review.prepared_by_id else None
    multiple = figures.get("income_multiple_x100")
    approved = decision.action is Action.APPROVE
    rules = [RuleLine(str(RULE_LABELS[Rule(r["rule"])]), r["passed"],
                      rule_reason(r["rule"], r["reason"],
                                  None if r["value"] is None else Fraction(r["value"]),
                                  None if r["limit"] is None else Fraction(r["limit"]),
                                  r.get("items", ())))
             for r in decision.rules]
    return DecisionRecord(
        client_name=review.client.name, client_number=review.client.number or "",
        review_id=review.id, kind_label=str(REVIEW_KIND_LABELS[review.kind]),
        purpose=review.purpose, requested=Money(figures["requested"], currency),
        approved=(Money(decision.approved_minor, currency)
                  if approved and decision.approved_minor is not None else None),
        monthly_income=Money(figures["monthly_income"], currency),
        debt_payments=Money(figures["debt_payments"], currency),
        outcome_label=_("Approved") if approved else _("Declined"), approved_flag=approved,
        risk_grade_label=(str(RISK_GRADE_LABELS[RiskGrade(decision.risk_grade)])
                          if decision.risk_grade else None),
        note=decision.note, decided_by=decider.full_name if decider else _("the portal"),
        prepared_by=preparer.full_name if preparer else "", decided_at=decision.decided_at,
        policy_version=decision.policy_version,
        policy_effective_from=policy.effective_from if policy else date.min,
        dti=_percent(figures.get("dti_bp")),
        income_multiple=None if multiple is None else Decimal(multiple) / 100,
        residual_share=_percent(figures.get("residual_bp")),
        rules=rules, next_review_due=review.client.next_review_due if approved else None,
    )


def file_decision_record(db: Session, actor: Actor, review: CreditReview,
                         decision: CreditDecision) -> int:
    """Render the decision record in the client's language and file it for the client;
    return the new document's id."""
    language = review.client.language or "hu"
    with force_locale(language):
        record = build_record(db, review, decision)
        pdf = render_pdf("reviews/decision_record.html", record=record)
        title = _("Credit decision %(number)s-%(review)s (%(outcome)s)",
                  number=record.client_number, review=review.id, outcome=record.outcome_label)
        # The tag a colleague searches for, in the language the record is written in.
        tag = _("credit-review")
    name = f"decision-{record.client_number}-{review.id}-{decision.id}.pdf"
    incoming = documents_service.read_upload(
        current_app.extensions["storage"], io.BytesIO(pdf), name,
        max_bytes=current_app.config["MAX_UPLOAD_MB"] * 1024 * 1024)
    try:
        document = documents_service.file_incoming(
            db, actor, current_app.extensions["storage"], review.client_id, incoming,
            FileMeta(doc_type=DocType.CREDIT_DECISION, title=title[:300],
                     tags=(tag,), doc_date=decision.decided_at.date()))
    finally:
        current_app.extensions["storage"].discard(incoming.staged)
    return document.id
