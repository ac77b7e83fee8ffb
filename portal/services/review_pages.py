"""Read-only helpers for the credit review pages: what the views show beside a review.

Nothing here changes a row. Deciding who may do what stays in ``portal.services.reviews``
(``decision_authority``); the helpers below ask it rather than restate it.
"""

from __future__ import annotations

from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from portal.domain import policy as rules
from portal.domain.money import Money
from portal.domain.permissions import Perm
from portal.domain.policy import Evaluation, Figures, Status
from portal.models.credit import CreditPolicy, CreditReview
from portal.models.documents import Document
from portal.services import authz, reviews
from portal.services.base import Actor, Forbidden
from portal.services.clients import get_client

#: At most this many documents are offered in a "pick from the client's file" list.
DOCUMENT_CHOICES = 200


def client_documents(db: Session, actor: Actor, client_id: int) -> list[Document]:
    """Return the client's documents that are not in the trash, newest first."""
    client = get_client(db, actor, client_id, audit_read=False)
    authz.require(actor, Perm.DOCUMENTS_VIEW, client=client)
    return list(db.scalars(
        select(Document).where(Document.client_id == client.id, Document.deleted_at.is_(None))
        .order_by(Document.created_at.desc(), Document.id.desc()).limit(DOCUMENT_CHOICES)))


def evaluate_typed(review: CreditReview | None, policy: CreditPolicy, as_of: date, *,
                   requested: Money, income: Money, payments: Money) -> Evaluation:
    """Judge figures as typed on a form against a policy version.

    The bureau report and the verification states are the review's as stored (every item
    open for a review not yet opened); only the typed amounts are the form's.
    """
    figures = Figures(
        requested=requested, monthly_income=income, debt_payments=payments,
        bureau_score=review.bureau_score if review else None,
        bureau_date=review.bureau_date if review else None,
        items=reviews.item_states(review) if review else {},
    )
    return rules.evaluate(figures, reviews.as_policy(policy), as_of)


def why_not_decide(actor: Actor, review: CreditReview, policy: CreditPolicy) -> str | None:
    """Return why ``actor`` may not decide ``review`` now, or None when they may.

    The reasons: "status" (not awaiting a decision), "permission" (the role never decides),
    "own" (they prepared it: four-eyes), "authority" (it waits for a higher role, or the
    requested amount is beyond the role's approval authority).
    """
    if review.status is not Status.AWAITING_DECISION:
        return "status"
    if not actor.can(Perm.REVIEWS_DECIDE):
        return "permission"
    if actor.user is not None and review.prepared_by_id == actor.user_id:
        return "own"
    try:
        reviews.decision_authority(actor, review, reviews.as_policy(policy),
                                   Money(review.requested_minor, review.currency))
    except Forbidden:
        return "authority"
    return None


def approval_limit(actor: Actor, policy: CreditPolicy, currency: str) -> Money | None:
    """Return the largest limit ``actor``'s role may approve in ``currency`` (None: no limit)."""
    limits = reviews.as_policy(policy).authority.get(actor.role, {}) if actor.role else {}
    if currency not in limits:
        return Money(0, currency)
    ceiling = limits[currency]
    return None if ceiling is None else Money(ceiling, currency)
