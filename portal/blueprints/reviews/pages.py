"""What the review views share: the review page with its forms, amounts written back into
form fields, the words for a refusal, and the review labels every template may use."""

from __future__ import annotations

import secrets

from flask_babel import gettext as _
from flask_login import current_user
from wtforms.fields.choices import SelectChoice

from portal.blueprints import actor
from portal.blueprints.reviews import bp
from portal.blueprints.reviews.forms import (
    REFERENCES,
    BureauForm,
    ContactForm,
    DecisionForm,
    EvidenceForm,
    PrepareForm,
    ReviewForm,
)
from portal.db import get_db
from portal.domain import policy as rules
from portal.domain.permissions import Perm, Role
from portal.domain.policy import Action, Item, Status
from portal.i18n import amount_text, date_filter, office_tz, today
from portal.labels import (
    ACTION_LABELS,
    CHANNEL_LABELS,
    CONTACT_OUTCOME_LABELS,
    ITEM_LABELS,
    ITEM_STATE_LABELS,
    OBLIGATION_KIND_LABELS,
    REVIEW_KIND_LABELS,
    REVIEW_STATUS_LABELS,
    RISK_GRADE_LABELS,
    ROLE_LABELS,
    RULE_LABELS,
    TYPE_LABELS,
    multiple,
    percent,
    policy_note,
    rule_reason,
)
from portal.models.credit import CreditReview
from portal.rendering import render
from portal.services import review_pages, reviews

#: The actions the preparer's side takes, and the decider's.
PREPARER_ACTIONS = (Action.START_VERIFICATION, Action.SUBMIT, Action.WITHDRAW)
DECIDER_ACTIONS = reviews.DECISIONS


def refusal_text(reason: str) -> str:
    """Say in the user's language why a change to a review was refused."""
    messages = {
        "note_needed": _("Write a note: a decline or a sending back says why."),
        "note_needed_for_failed_rules": _("Some rules are not met: an approval needs a note "
                                          "saying why it is approved all the same."),
        "approved_out_of_range": _("The limit granted must be more than zero and at most the "
                                   "requested limit."),
        "risk_grade_missing": _("Choose the client's risk grade for the approval."),
        "transition": _("This step is not possible in the review's present status."),
        "not_editable": _("The figures can be changed only while the review is being "
                          "prepared."),
        "nobody_higher": _("There is nobody higher to refer this review to."),
        "requested_not_positive": _("The requested limit must be more than zero."),
        "income_negative": _("The income cannot be negative."),
        "obligation_negative": _("An obligation cannot be negative."),
        "score_out_of_range": _("A bureau score is between 0 and 1000."),
        "report_in_future": _("The report date cannot be in the future."),
        "document_not_of_client": _("That document is not in this client's file."),
        "closed": _("The review is closed: nothing more can be logged on it."),
        "bureau_is_no_reference": _("The credit-bureau report has no contact log."),
        "contact_in_future": _("The contact cannot be in the future."),
    }
    return messages.get(reason, _("This change is not possible."))


def label_of(table):
    """Return a lookup that takes an enum member or its stored value."""
    return lambda value: table.get(value, value) if value is not None else ""


@bp.app_context_processor
def _review_labels():
    return {
        "review_kind_label": label_of(REVIEW_KIND_LABELS),
        "review_status_label": label_of(REVIEW_STATUS_LABELS),
        "risk_grade_label": label_of(RISK_GRADE_LABELS),
    }


# The review page ---------------------------------------------------------------------------


def may_prepare(review: CreditReview) -> bool:
    return current_user.can(Perm.REVIEWS_PREPARE) and review.status in rules.EDITABLE


def figures_form(review: CreditReview) -> ReviewForm:
    """Return the figures form filled from the stored review."""
    form = ReviewForm(formdata=None)
    form.kind.data = review.kind.value
    form.currency.data = review.currency
    form.requested.data = amount_text(review.requested_minor, review.currency)
    form.purpose.data = review.purpose
    form.monthly_income.data = amount_text(review.monthly_income_minor, review.currency)
    for obligation in review.obligations:
        form.obligations.append_entry({
            "lender": obligation.lender, "kind": obligation.kind.value,
            "outstanding": amount_text(obligation.outstanding_minor, review.currency),
            "monthly_payment": amount_text(obligation.monthly_payment_minor, review.currency),
        })
    form.version.data = str(review.version)
    return form


def document_choices(documents) -> list[SelectChoice]:
    """Offer the client's documents in a select: "— none —" first, then title, type, date."""
    choices = [SelectChoice("", _("— none —"))]
    for document in documents:
        when = date_filter(document.doc_date or document.created_at)
        choices.append(SelectChoice(str(document.id), f"{document.title} · "
                                    f"{TYPE_LABELS[document.doc_type]} · {when}"))
    return choices


def decision_form(review: CreditReview) -> DecisionForm:
    """Return a fresh decision form with a new one-time token."""
    form = DecisionForm(formdata=None)
    form.version.data = str(review.version)
    form.token.data = secrets.token_urlsafe(32)
    form.approved.data = amount_text(review.requested_minor, review.currency)
    return form


def local_now_minutes():
    from datetime import datetime

    return datetime.now(office_tz()).replace(second=0, microsecond=0, tzinfo=None)


def render_review(review: CreditReview, *, status: int = 200, figures: ReviewForm | None = None,
                  bureau: BureauForm | None = None, evidence: dict | None = None,
                  contacts: dict | None = None, prepare: PrepareForm | None = None,
                  decision: DecisionForm | None = None, message: str | None = None):
    """Render the review page; a form passed in (with the user's input and its messages)
    takes the place of the fresh one."""
    db = get_db()
    who = actor()
    as_of = today()
    policy = reviews.policy_in_force(db, as_of)
    editable = may_prepare(review)
    documents = review_pages.client_documents(db, who, review.client_id) if editable else []
    choices = document_choices(documents)
    typed = figures is not None
    figures = figures or (figures_form(review) if editable else None)
    if editable:
        bureau = bureau or BureauForm(formdata=None, score=review.bureau_score,
                                      report_date=review.bureau_date)
        bureau.version.data = str(review.version)
        bureau.document_id.choices = choices
        evidence = evidence or {}
        for item in REFERENCES:
            form = evidence.get(item) or EvidenceForm(formdata=None, prefix=f"evidence-{item}")
            form.document_id.choices = choices
            form.version.data = str(review.version)
            evidence[item] = form
    may_log = current_user.can(Perm.REVIEWS_CONTACT) and review.status not in rules.CLOSED
    if may_log:
        contacts = contacts or {}
        for item in REFERENCES:
            contacts.setdefault(item, ContactForm(formdata=None, prefix=f"contact-{item}",
                                                  contacted_at=local_now_minutes()))
    allowed = rules.allowed_actions(review.status)
    preparer_actions = [a for a in PREPARER_ACTIONS if a in allowed] \
        if current_user.can(Perm.REVIEWS_PREPARE) else []
    prepare = prepare or PrepareForm(formdata=None)
    prepare.version.data = str(review.version)
    blocked = review_pages.why_not_decide(who, review, policy)
    decider_actions = [a for a in DECIDER_ACTIONS if a in allowed] if blocked is None else []
    if review.needed_role == Role.MANAGER.value or current_user.role is Role.MANAGER:
        # Nobody is above a manager: a referral would be refused.
        decider_actions = [a for a in decider_actions if a is not Action.REFER_UP]
    if decider_actions:
        decision = decision or decision_form(review)
        decision.version.data = str(review.version)
    evaluation = typed_evaluation(review, figures, policy, as_of) if typed \
        else reviews.evaluate_review(review, policy, as_of)
    return render(
        "reviews/show.html", status=status, review=review, policy=policy,
        evaluation=evaluation, states=reviews.item_states(review),
        debt_payments=reviews.debt_payments(review), figures=figures, bureau=bureau,
        evidence=evidence, contacts=contacts if may_log else None, prepare=prepare,
        preparer_actions=preparer_actions, decision=decision, decider_actions=decider_actions,
        blocked=blocked, message=message, editable=editable, references=REFERENCES,
        limit=review_pages.approval_limit(who, policy, review.currency),
        **evaluation_labels(),
    )


def typed_evaluation(review: CreditReview | None, form: ReviewForm, policy, as_of):
    """Evaluate the amounts typed on a form, or return None when one cannot be read."""
    requested, income, payments = form.amounts()
    if requested is None or income is None or payments is None:
        return None
    return review_pages.evaluate_typed(review, policy, as_of, requested=requested,
                                       income=income, payments=payments)


def evaluation_labels() -> dict:
    """The labels and formatters the review templates use."""
    return {
        "rule_label": RULE_LABELS.get, "rule_reason": rule_reason, "percent": percent,
        "multiple": multiple, "policy_note": policy_note, "item_label": ITEM_LABELS.get,
        "Item": Item, "Status": Status,
        "item_state_label": ITEM_STATE_LABELS.get, "action_label": ACTION_LABELS.get,
        "obligation_kind_label": OBLIGATION_KIND_LABELS.get,
        "channel_label": CHANNEL_LABELS.get, "outcome_label": CONTACT_OUTCOME_LABELS.get,
        "role_label": ROLE_LABELS.get, "Action": Action,
    }
