"""Credit reviews: open and prepare a review, verify it, and decide it under the policy.

Every function takes the acting user, checks what it may do to this review (through
``portal.services.authz``), writes its audit row, and flushes; the request or command commits.
Changes to a review carry the version the user's form was based on: a change based on an
older version is refused with Conflict (409). The decision's authority check sits in one place
(``decision_authority``), where acting on behalf of a manager will plug in.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from fractions import Fraction
from typing import Any

from sqlalchemy import Select, and_, false, func, or_, select
from sqlalchemy.orm import Session, selectinload
from sqlalchemy.orm.exc import StaleDataError

from portal.db import utcnow
from portal.domain import policy as rules
from portal.domain.money import Money
from portal.domain.onboarding import Step
from portal.domain.permissions import Perm, Role
from portal.domain.policy import (
    Action,
    Evaluation,
    Figures,
    InvalidTransition,
    Item,
    ItemState,
    RiskGrade,
    Status,
)
from portal.domain.text import fold
from portal.models.clients import Client, OnboardingStep
from portal.models.credit import (
    Channel,
    ContactOutcome,
    CreditDecision,
    CreditPolicy,
    CreditReview,
    Evidence,
    Obligation,
    ObligationKind,
    ReferenceContact,
    ReviewKind,
)
from portal.models.documents import Document
from portal.services import audit, authz, ledger
from portal.services.base import Actor, Conflict, Forbidden, NotFound, Page, ServiceError, paginate
from portal.services.clients import get_client, visibility

log = logging.getLogger(__name__)


class Refused(ServiceError):
    """The change is not allowed as asked; ``reason`` says why (the views translate it)."""

    status = 422

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


# Policy --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PolicyData:
    effective_from: date
    max_dti_bp: int
    min_bureau_score: int
    max_income_multiple_x100: int
    min_residual_bp: int
    bureau_max_age_days: int
    required_items: frozenset[Item]
    #: ``{role: {currency: minor units or None for no limit}}``
    authority: dict[Role, dict[str, int | None]]
    review_months: dict[RiskGrade, int]
    note: str = ""


def as_policy(row: CreditPolicy) -> rules.Policy:
    """Turn a stored policy version into the domain's Policy."""
    return rules.Policy(
        version=row.version, effective_from=row.effective_from, max_dti_bp=row.max_dti_bp,
        min_bureau_score=row.min_bureau_score,
        max_income_multiple_x100=row.max_income_multiple_x100,
        min_residual_bp=row.min_residual_bp, bureau_max_age_days=row.bureau_max_age_days,
        required_items=frozenset(Item(i) for i in row.required_items),
        authority={Role(role): dict(limits) for role, limits in row.authority.items()},
        review_months={RiskGrade(g): int(m) for g, m in row.review_months.items()},
    )


def policy_in_force(db: Session, as_of: date) -> CreditPolicy:
    """Return the policy version in force on a day: the newest one effective by then."""
    row = db.scalar(select(CreditPolicy).where(CreditPolicy.effective_from <= as_of)
                    .order_by(CreditPolicy.effective_from.desc(), CreditPolicy.version.desc())
                    .limit(1))
    if row is None:
        row = db.scalar(select(CreditPolicy).order_by(CreditPolicy.version).limit(1))
    if row is None:
        raise NotFound("no credit policy")
    return row


def policy_versions(db: Session, actor: Actor) -> list[CreditPolicy]:
    """Return every policy version, newest first."""
    authz.require(actor, Perm.POLICY_VIEW)
    return list(db.scalars(select(CreditPolicy).order_by(CreditPolicy.version.desc())))


def get_policy(db: Session, actor: Actor, version: int) -> CreditPolicy:
    """Return one policy version."""
    authz.require(actor, Perm.POLICY_VIEW)
    row = db.scalar(select(CreditPolicy).where(CreditPolicy.version == version))
    if row is None:
        raise NotFound("no such policy version")
    return row


def save_policy(db: Session, actor: Actor, data: PolicyData) -> CreditPolicy:
    """Save the protocol as a new version, effective from ``data.effective_from``."""
    authz.require(actor, Perm.POLICY_EDIT)
    latest = db.scalar(select(func.max(CreditPolicy.version))) or 0
    row = CreditPolicy(
        version=latest + 1, effective_from=data.effective_from, max_dti_bp=data.max_dti_bp,
        min_bureau_score=data.min_bureau_score,
        max_income_multiple_x100=data.max_income_multiple_x100,
        min_residual_bp=data.min_residual_bp, bureau_max_age_days=data.bureau_max_age_days,
        required_items=[i.value for i in Item if i in data.required_items],
        authority={role.value: dict(limits) for role, limits in data.authority.items()},
        review_months={g.value: m for g, m in data.review_months.items()},
        note=data.note.strip()[:500], created_by_id=actor.user_id,
    )
    db.add(row)
    db.flush()
    audit.record(db, actor, "policy.save", object_type="policy", object_id=row.id,
                 object_label=f"v{row.version}",
                 details={"effective_from": row.effective_from.isoformat(),
                          "max_dti_bp": row.max_dti_bp, "min_bureau_score": row.min_bureau_score,
                          "max_income_multiple_x100": row.max_income_multiple_x100,
                          "min_residual_bp": row.min_residual_bp,
                          "bureau_max_age_days": row.bureau_max_age_days,
                          "required_items": row.required_items, "authority": row.authority,
                          "review_months": row.review_months})
    return row


# Reading reviews -----------------------------------------------------------------------------


def get_review(db: Session, actor: Actor, review_id: int) -> CreditReview:
    """Return a review the actor may see (through its client)."""
    review = db.scalar(
        select(CreditReview).where(CreditReview.id == review_id)
        .options(selectinload(CreditReview.client), selectinload(CreditReview.obligations),
                 selectinload(CreditReview.evidence).selectinload(Evidence.document),
                 selectinload(CreditReview.contacts), selectinload(CreditReview.decisions),
                 selectinload(CreditReview.prepared_by))
    )
    if review is None:
        raise NotFound("no such review")
    authz.require(actor, Perm.REVIEWS_VIEW, client=review.client)
    if review.client.restricted:
        audit.record(db, actor, "review.view", object_type="review", object_id=review.id,
                     object_label=review.client.number)
    return review


def item_states(review: CreditReview) -> dict[Item, ItemState]:
    """Return each verification item's state from its evidence.

    The bureau report is done with a document, a score and a report date. A reference is done
    with a document or a confirmed contact; its newest contact saying "not confirmed" (and no
    document) fails it; unanswered contacts leave it open.
    """
    documents = {e.item for e in review.evidence}
    states: dict[Item, ItemState] = {}
    for item in Item:
        if item is Item.BUREAU:
            done = (item in documents and review.bureau_score is not None
                    and review.bureau_date is not None)
            states[item] = ItemState.DONE if done else ItemState.OPEN
            continue
        answered = [c for c in review.contacts
                    if c.item is item and c.outcome is not ContactOutcome.NO_ANSWER]
        if item in documents or any(c.outcome is ContactOutcome.CONFIRMED for c in answered):
            states[item] = ItemState.DONE
        elif answered:
            states[item] = ItemState.FAILED
        else:
            states[item] = ItemState.OPEN
    return states


def debt_payments(review: CreditReview) -> Money:
    """Return the monthly payments of the review's obligations."""
    return Money(sum(o.monthly_payment_minor for o in review.obligations), review.currency)


def figures_of(review: CreditReview) -> Figures:
    """Return the review's figures as the policy sees them."""
    return Figures(
        requested=Money(review.requested_minor, review.currency),
        monthly_income=Money(review.monthly_income_minor, review.currency),
        debt_payments=debt_payments(review), bureau_score=review.bureau_score,
        bureau_date=review.bureau_date, items=item_states(review),
    )


def evaluate_review(review: CreditReview, policy: CreditPolicy, as_of: date) -> Evaluation:
    """Judge a review against a policy version, as of a day."""
    return rules.evaluate(figures_of(review), as_policy(policy), as_of)


# The queue -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class ReviewFilter:
    q: str = ""
    status: Status | None = None
    #: Awaiting a decision the actor may take (not their own, within their authority).
    mine_to_decide: bool = False
    prepared_by_me: bool = False
    #: Open periodic reviews, and reviews of clients whose periodic review is due.
    periodic_due: bool = False
    page: int = 1


def _visible(actor: Actor) -> Select:
    return (select(CreditReview).join(Client, Client.id == CreditReview.client_id)
            .where(visibility(actor)))


def covered_roles(role: Role | None) -> tuple[Role, ...]:
    """Return the roles whose reviews a user of ``role`` may decide (their own and below)."""
    if role not in rules.DECIDING_ROLES:
        return ()
    return rules.DECIDING_ROLES[: rules.DECIDING_ROLES.index(role) + 1]


def _decidable_by(actor: Actor) -> Any:
    """The reviews awaiting a decision ``actor`` may take (role, never their own)."""
    roles = [r.value for r in covered_roles(actor.role)]
    if actor.user is None or not actor.can(Perm.REVIEWS_DECIDE) or not roles:
        return false()
    return and_(CreditReview.status == Status.AWAITING_DECISION,
                CreditReview.needed_role.in_(roles),
                or_(CreditReview.prepared_by_id.is_(None),
                    CreditReview.prepared_by_id != actor.user_id))


def list_reviews(db: Session, actor: Actor, flt: ReviewFilter, as_of: date,
                 per_page: int) -> Page[CreditReview]:
    """Return one page of the reviews ``actor`` may see, newest change first."""
    authz.require(actor, Perm.REVIEWS_VIEW)
    stmt = _visible(actor).options(selectinload(CreditReview.client),
                                   selectinload(CreditReview.prepared_by))
    for term in fold(flt.q).split()[:6]:
        stmt = stmt.where(Client.search_text.contains(term, autoescape=True))
    if flt.status is not None:
        stmt = stmt.where(CreditReview.status == flt.status)
    if flt.mine_to_decide:
        stmt = stmt.where(_decidable_by(actor))
    if flt.prepared_by_me:
        stmt = stmt.where(CreditReview.prepared_by_id == actor.user_id)
    if flt.periodic_due:
        stmt = stmt.where(CreditReview.status.not_in(rules.CLOSED), or_(
            CreditReview.kind == ReviewKind.PERIODIC, Client.next_review_due <= as_of))
    stmt = stmt.order_by(CreditReview.updated_at.desc(), CreditReview.id.desc())
    return paginate(db, stmt, flt.page, per_page)


def status_counts(db: Session, actor: Actor) -> dict[Status, int]:
    """Count the reviews ``actor`` may see, per status."""
    authz.require(actor, Perm.REVIEWS_VIEW)
    stmt = (select(CreditReview.status, func.count())
            .join(Client, Client.id == CreditReview.client_id)
            .where(visibility(actor)).group_by(CreditReview.status))
    counts = dict.fromkeys(Status, 0)
    counts.update({Status(status): n for status, n in db.execute(stmt)})
    return counts


def awaiting_my_decision(db: Session, actor: Actor) -> int:
    """Count the reviews waiting for a decision ``actor`` may take."""
    stmt = (select(func.count()).select_from(CreditReview)
            .join(Client, Client.id == CreditReview.client_id)
            .where(visibility(actor), _decidable_by(actor)))
    return db.scalar(stmt) or 0


def clients_due_for_review(db: Session, actor: Actor, as_of: date,
                           limit: int = 50) -> list[Client]:
    """Return clients whose periodic review is due and who have no open review."""
    open_review = (select(CreditReview.id).where(CreditReview.client_id == Client.id,
                                                 CreditReview.status.not_in(rules.CLOSED))
                   .exists())
    stmt = (select(Client).where(visibility(actor), Client.next_review_due <= as_of,
                                 ~open_review)
            .order_by(Client.next_review_due, Client.id).limit(limit))
    return list(db.scalars(stmt))


def reviews_of_client(db: Session, actor: Actor, client_id: int) -> list[CreditReview]:
    """Return a client's reviews, newest first."""
    client = get_client(db, actor, client_id, audit_read=False)
    authz.require(actor, Perm.REVIEWS_VIEW, client=client)
    return list(db.scalars(select(CreditReview).where(CreditReview.client_id == client.id)
                           .order_by(CreditReview.created_at.desc(), CreditReview.id.desc())))


# Preparing a review --------------------------------------------------------------------------


@dataclass(frozen=True)
class ObligationData:
    lender: str
    kind: ObligationKind
    outstanding_minor: int
    monthly_payment_minor: int


@dataclass(frozen=True)
class ReviewData:
    kind: ReviewKind
    requested_minor: int
    currency: str
    purpose: str
    monthly_income_minor: int
    obligations: tuple[ObligationData, ...] = ()


def _check_figures(data: ReviewData) -> None:
    if data.requested_minor <= 0:
        raise Refused("requested_not_positive")
    if data.monthly_income_minor < 0:
        raise Refused("income_negative")
    for obligation in data.obligations:
        if obligation.outstanding_minor < 0 or obligation.monthly_payment_minor < 0:
            raise Refused("obligation_negative")


def _obligations(data: ReviewData) -> list[Obligation]:
    return [Obligation(lender=o.lender.strip()[:200], kind=o.kind,
                       outstanding_minor=o.outstanding_minor,
                       monthly_payment_minor=o.monthly_payment_minor)
            for o in data.obligations]


def open_review(db: Session, actor: Actor, client_id: int, data: ReviewData) -> CreditReview:
    """Open a review for a client, as a draft prepared by ``actor``."""
    client = get_client(db, actor, client_id, audit_read=False)
    authz.require(actor, Perm.REVIEWS_PREPARE, client=client)
    _check_figures(data)
    review = CreditReview(
        client_id=client.id, kind=data.kind, status=Status.DRAFT,
        requested_minor=data.requested_minor, currency=data.currency,
        purpose=data.purpose.strip()[:500], monthly_income_minor=data.monthly_income_minor,
        prepared_by_id=actor.user_id, obligations=_obligations(data),
    )
    db.add(review)
    db.flush()
    audit.record(db, actor, "review.open", object_type="review", object_id=review.id,
                 object_label=client.number,
                 details={"kind": data.kind.value, "requested": data.requested_minor,
                          "currency": data.currency,
                          "monthly_income": data.monthly_income_minor,
                          "obligations": len(data.obligations)})
    return review


def _for_change(db: Session, actor: Actor, review_id: int, perm: Perm,
                expected_version: int | None) -> CreditReview:
    review = get_review(db, actor, review_id)
    authz.require(actor, perm, client=review.client)
    if expected_version is not None and review.version != expected_version:
        raise Conflict("review changed by someone else")
    return review


def _editable(review: CreditReview) -> None:
    if review.status not in rules.EDITABLE:
        raise Refused("not_editable")


def _flush(db: Session) -> None:
    try:
        db.flush()
    except StaleDataError as exc:
        raise Conflict("review changed by someone else") from exc


def update_review(db: Session, actor: Actor, review_id: int, data: ReviewData, *,
                  expected_version: int) -> CreditReview:
    """Save the review's figures and obligations (while it is being prepared)."""
    review = _for_change(db, actor, review_id, Perm.REVIEWS_PREPARE, expected_version)
    _editable(review)
    _check_figures(data)
    before = {"kind": review.kind, "requested": review.requested_minor,
              "currency": review.currency, "purpose": review.purpose,
              "monthly_income": review.monthly_income_minor,
              "obligations": [(o.lender, o.kind.value, o.outstanding_minor,
                               o.monthly_payment_minor) for o in review.obligations]}
    review.kind = data.kind
    review.requested_minor = data.requested_minor
    review.currency = data.currency
    review.purpose = data.purpose.strip()[:500]
    review.monthly_income_minor = data.monthly_income_minor
    review.obligations = _obligations(data)
    after = {"kind": review.kind, "requested": review.requested_minor,
             "currency": review.currency, "purpose": review.purpose,
             "monthly_income": review.monthly_income_minor,
             "obligations": [(o.lender, o.kind.value, o.outstanding_minor,
                              o.monthly_payment_minor) for o in review.obligations]}
    changes = audit.diff(before, after)
    if changes:
        review.updated_at = utcnow()
        audit.record(db, actor, "review.update", object_type="review", object_id=review.id,
                     object_label=review.client.number, details=changes)
    _flush(db)
    return review


def _client_document(db: Session, review: CreditReview, document_id: int) -> Document:
    document = db.get(Document, document_id)
    if document is None or document.client_id != review.client_id or document.deleted_at:
        raise Refused("document_not_of_client")
    return document


def set_bureau_report(db: Session, actor: Actor, review_id: int, *, score: int | None,
                      report_date: date | None, document_id: int | None, as_of: date,
                      expected_version: int) -> CreditReview:
    """Record the credit-bureau report: its score, its date and the document it is in."""
    review = _for_change(db, actor, review_id, Perm.REVIEWS_PREPARE, expected_version)
    _editable(review)
    if score is not None and not 0 <= score <= 1000:
        raise Refused("score_out_of_range")
    if report_date is not None and report_date > as_of:
        raise Refused("report_in_future")
    before = {"score": review.bureau_score, "report_date": review.bureau_date}
    review.bureau_score, review.bureau_date = score, report_date
    if document_id is not None:
        document = _client_document(db, review, document_id)
        if not any(e.item is Item.BUREAU and e.document_id == document.id
                   for e in review.evidence):
            review.evidence.append(Evidence(item=Item.BUREAU, document_id=document.id,
                                            added_by_id=actor.user_id))
    review.updated_at = utcnow()
    audit.record(db, actor, "review.bureau", object_type="review", object_id=review.id,
                 object_label=review.client.number,
                 details={**audit.diff(before, {"score": score, "report_date": report_date}),
                          "document": document_id})
    _flush(db)
    return review


def attach_evidence(db: Session, actor: Actor, review_id: int, item: Item,
                    document_id: int, *, expected_version: int) -> CreditReview:
    """Back a verification item with a document from the client's file."""
    review = _for_change(db, actor, review_id, Perm.REVIEWS_PREPARE, expected_version)
    _editable(review)
    document = _client_document(db, review, document_id)
    if any(e.item is item and e.document_id == document.id for e in review.evidence):
        return review
    review.evidence.append(Evidence(item=item, document_id=document.id,
                                    added_by_id=actor.user_id))
    review.updated_at = utcnow()
    audit.record(db, actor, "review.evidence", object_type="review", object_id=review.id,
                 object_label=review.client.number,
                 details={"item": item.value, "document": document.id})
    _flush(db)
    return review


@dataclass(frozen=True)
class ContactData:
    item: Item
    contact_name: str
    channel: Channel
    contacted_at: datetime
    outcome: ContactOutcome
    note: str = ""


def log_contact(db: Session, actor: Actor, review_id: int, data: ContactData, *,
                now: datetime) -> ReferenceContact:
    """Log a contact with a reference (clerks too); it may be logged until the decision."""
    review = _for_change(db, actor, review_id, Perm.REVIEWS_CONTACT, None)
    if review.status in rules.CLOSED:
        raise Refused("closed")
    if data.item is Item.BUREAU:
        raise Refused("bureau_is_no_reference")
    if data.contacted_at > now:
        raise Refused("contact_in_future")
    contact = ReferenceContact(
        item=data.item, contact_name=data.contact_name.strip()[:200], channel=data.channel,
        contacted_at=data.contacted_at, outcome=data.outcome, note=data.note.strip()[:2000],
        logged_by_id=actor.user_id)
    review.contacts.append(contact)
    review.updated_at = utcnow()
    db.flush()
    audit.record(db, actor, "review.contact", object_type="review", object_id=review.id,
                 object_label=review.client.number,
                 details={"item": data.item.value, "channel": data.channel.value,
                          "outcome": data.outcome.value, "with": contact.contact_name})
    _flush(db)
    return contact


# Moving a review along -----------------------------------------------------------------------


def _move(review: CreditReview, action: Action) -> Status:
    try:
        return rules.next_status(review.status, action)
    except InvalidTransition as exc:
        raise Refused("transition") from exc


def start_verification(db: Session, actor: Actor, review_id: int, *,
                       expected_version: int) -> CreditReview:
    """Move a draft into verification."""
    review = _for_change(db, actor, review_id, Perm.REVIEWS_PREPARE, expected_version)
    review.status = _move(review, Action.START_VERIFICATION)
    review.updated_at = utcnow()
    audit.record(db, actor, "review.start_verification", object_type="review",
                 object_id=review.id, object_label=review.client.number)
    _flush(db)
    return review


def submit(db: Session, actor: Actor, review_id: int, *, as_of: date,
           expected_version: int) -> CreditReview:
    """Send the review for a decision, to the least role with authority for the amount."""
    review = _for_change(db, actor, review_id, Perm.REVIEWS_PREPARE, expected_version)
    target = _move(review, Action.SUBMIT)
    policy = as_policy(policy_in_force(db, as_of))
    needed = rules.authority_needed(policy, Money(review.requested_minor, review.currency))
    review.status = target
    review.needed_role = (needed or Role.MANAGER).value
    review.submitted_at = review.updated_at = utcnow()
    audit.record(db, actor, "review.submit", object_type="review", object_id=review.id,
                 object_label=review.client.number, details={"to": review.needed_role})
    _flush(db)
    return review


def withdraw(db: Session, actor: Actor, review_id: int, *, note: str,
             expected_version: int) -> CreditReview:
    """Withdraw a review that is not decided (the client no longer asks, say)."""
    review = _for_change(db, actor, review_id, Perm.REVIEWS_PREPARE, expected_version)
    review.status = _move(review, Action.WITHDRAW)
    review.closed_at = review.updated_at = utcnow()
    audit.record(db, actor, "review.withdraw", object_type="review", object_id=review.id,
                 object_label=review.client.number, details={"note": note.strip()[:500]})
    _flush(db)
    return review


# Deciding ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class DecisionData:
    action: Action
    #: The form's one-time token; the same token twice records the decision once.
    token: str
    note: str = ""
    #: For an approval: the limit granted (None: as requested) and the client's risk grade.
    approved_minor: int | None = None
    risk_grade: RiskGrade | None = None


DECISIONS = (Action.APPROVE, Action.DECLINE, Action.REFER_UP, Action.SEND_BACK)

#: Files the decision record of an approval or a decline; returns the document's id. Set by
#: the caller (it renders a PDF and files it through the normal filing path).
RecordFiler = Callable[[Session, Actor, CreditReview, CreditDecision], int | None]


def decision_authority(actor: Actor, review: CreditReview, policy: rules.Policy,
                       amount: Money) -> None:
    """Raise Forbidden unless ``actor`` may decide ``review`` for ``amount``.

    The one place that says who decides: someone with review rights, not the preparer
    (four-eyes), whose role the review was sent to (or above), and whose approval authority
    under the policy covers the amount. Acting on behalf of a manager plugs in here.
    """
    authz.require(actor, Perm.REVIEWS_DECIDE, client=review.client)
    if actor.user is None:
        return
    if review.prepared_by_id == actor.user_id:
        raise Forbidden("nobody decides a review they prepared")
    role = actor.role
    if role not in rules.DECIDING_ROLES:
        raise Forbidden("this role does not decide reviews")
    needed = Role(review.needed_role) if review.needed_role else Role.COORDINATOR
    if needed not in covered_roles(role):
        raise Forbidden("the review waits for a higher authority")
    authz.require(actor, Perm.REVIEWS_DECIDE, amount=amount,
                  limit=lambda who: _limit(policy, who.role, amount.currency))


def _limit(policy: rules.Policy, role: Role | None, currency: str) -> Money | None:
    limits = policy.authority.get(role, {}) if role else {}
    if currency not in limits:
        return Money(0, currency)
    ceiling = limits[currency]
    return None if ceiling is None else Money(ceiling, currency)


def _frozen(review: CreditReview, evaluation: Evaluation) -> tuple[dict, list]:
    def number(value: Fraction | int | None) -> Any:
        if value is None or isinstance(value, int):
            return value
        return str(value)  # an exact fraction, e.g. "3/10"

    figures = {
        "requested": review.requested_minor, "currency": review.currency,
        "monthly_income": review.monthly_income_minor,
        "debt_payments": debt_payments(review).minor,
        "dti_bp": rules.bp(evaluation.dti),
        "income_multiple_x100": (None if evaluation.income_multiple is None
                                 else round(evaluation.income_multiple * 100)),
        "residual_bp": rules.bp(evaluation.residual_share),
        "bureau_score": review.bureau_score,
        "bureau_date": review.bureau_date.isoformat() if review.bureau_date else None,
    }
    outcomes = [{"rule": o.rule.value, "passed": o.passed, "reason": o.reason,
                 "value": number(o.value), "limit": number(o.limit),
                 "items": [i.value for i in o.items]} for o in evaluation.outcomes]
    return figures, outcomes


def decide(db: Session, actor: Actor, review_id: int, data: DecisionData, *, as_of: date,
           expected_version: int, file_record: RecordFiler | None = None) -> CreditDecision:
    """Decide a review: approve (possibly a lower limit), decline, refer up or send back.

    The decision keeps the policy version in force, the figures and every rule's outcome as
    they are now. An approval sets the client's limit, risk grade and next periodic review
    and ticks "credit review done"; an approval or a decline files a decision record.
    """
    existing = db.scalar(select(CreditDecision).where(CreditDecision.request_token == data.token))
    if existing is not None:
        if existing.review_id != review_id:
            raise Conflict("token reused")
        return existing  # the same form sent twice: already recorded
    if data.action not in DECISIONS:
        raise Refused("transition")
    review = _for_change(db, actor, review_id, Perm.REVIEWS_DECIDE, expected_version)
    target = _move(review, data.action)
    policy_row = policy_in_force(db, as_of)
    policy = as_policy(policy_row)
    requested = Money(review.requested_minor, review.currency)
    approved = None
    if data.action is Action.APPROVE:
        approved = requested if data.approved_minor is None else Money(data.approved_minor,
                                                                       review.currency)
        if not 0 < approved.minor <= requested.minor:
            raise Refused("approved_out_of_range")
        if data.risk_grade is None:
            raise Refused("risk_grade_missing")
    decision_authority(actor, review, policy, approved or requested)
    evaluation = rules.evaluate(figures_of(review), policy, as_of)
    note = data.note.strip()[:2000]
    if data.action is Action.APPROVE and not evaluation.passed and not note:
        raise Refused("note_needed_for_failed_rules")
    if data.action in (Action.DECLINE, Action.SEND_BACK) and not note:
        raise Refused("note_needed")
    if data.action is Action.REFER_UP:
        if review.needed_role == Role.MANAGER.value or actor.role is Role.MANAGER:
            raise Refused("nobody_higher")
        review.needed_role = Role.MANAGER.value
    figures, outcomes = _frozen(review, evaluation)
    decision = CreditDecision(
        action=data.action, decided_by_id=actor.user_id, policy_id=policy_row.id,
        policy_version=policy_row.version, approved_minor=approved.minor if approved else None,
        currency=review.currency,
        risk_grade=data.risk_grade if data.action is Action.APPROVE else None,
        note=note, figures=figures, rules=outcomes, request_token=data.token[:64],
    )
    review.decisions.append(decision)
    review.status = target
    review.updated_at = utcnow()
    if target in rules.CLOSED:
        review.closed_at = review.updated_at
    if data.action is Action.SEND_BACK:
        review.needed_role = None
    _flush(db)
    if data.action is Action.APPROVE:
        assert approved is not None and data.risk_grade is not None
        _apply_approval(db, actor, review, approved, data.risk_grade, policy, as_of)
    if data.action in (Action.APPROVE, Action.DECLINE) and file_record is not None:
        decision.document_id = file_record(db, actor, review, decision)
    audit.record(db, actor, f"review.{data.action.value}", object_type="review",
                 object_id=review.id, object_label=review.client.number,
                 details={"policy_version": policy_row.version,
                          "approved": decision.approved_minor, "currency": review.currency,
                          "risk_grade": data.risk_grade.value if data.risk_grade else None,
                          "failed_rules": [o["rule"] for o in outcomes if not o["passed"]],
                          "note": note[:200]})
    _flush(db)
    log.info("review %s: %s by %s", review.id, data.action.value, actor.username)
    return decision


def _apply_approval(db: Session, actor: Actor, review: CreditReview, approved: Money,
                    grade: RiskGrade, policy: rules.Policy, as_of: date) -> None:
    """Set the client's limit, risk grade and next review; tick "credit review done"; open the
    client's account with the approved limit (or set the open one's limit to it)."""
    client = review.client
    before = {"credit_limit": client.credit_limit_minor, "credit_currency": client.credit_currency,
              "risk_grade": client.risk_grade, "next_review_due": client.next_review_due}
    client.credit_limit_minor = approved.minor
    client.credit_currency = approved.currency
    client.risk_grade = grade.value
    client.next_review_due = rules.next_review_due(policy, grade, as_of)
    after = {"credit_limit": client.credit_limit_minor, "credit_currency": client.credit_currency,
             "risk_grade": client.risk_grade, "next_review_due": client.next_review_due}
    ticked = db.scalar(select(OnboardingStep.id).where(
        OnboardingStep.client_id == client.id, OnboardingStep.step == Step.CREDIT_REVIEW_DONE))
    if ticked is None:
        db.add(OnboardingStep(client_id=client.id, step=Step.CREDIT_REVIEW_DONE,
                              done_by_id=actor.user_id))
        audit.record(db, actor, "onboarding.tick", object_type="client", object_id=client.id,
                     object_label=client.number,
                     details={"step": Step.CREDIT_REVIEW_DONE.value, "review": review.id})
    audit.record(db, actor, "client.credit_limit", object_type="client", object_id=client.id,
                 object_label=client.number, details=audit.diff(before, after))
    ledger.open_for_approval(db, actor, client.id, approved, review_id=review.id,
                             opened_on=as_of)


def latest_decision(review: CreditReview) -> CreditDecision | None:
    """Return the review's last decision, if any."""
    return review.decisions[-1] if review.decisions else None


def obligations_total(obligations: Sequence[Obligation], currency: str) -> Money:
    """Return the outstanding balance of obligations."""
    return Money(sum(o.outstanding_minor for o in obligations), currency)
