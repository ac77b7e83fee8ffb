"""Changes on a review page: the figures, the bureau report, evidence, reference contacts,
the preparer's steps and the decisions. Each answers with a redirect to the review page, or
re-renders it with the user's input: 422 with the reason, 409 when someone else changed the
review first. A refused change leaves nothing behind (the request's transaction is rolled
back before the page is rendered again)."""

from __future__ import annotations

import logging
from datetime import UTC, datetime

from flask import abort, current_app, flash, redirect, request, url_for
from flask_babel import gettext as _

from portal.blueprints import actor, bounded_int
from portal.blueprints.documents.views import _apply_index_work_after, refusal_message
from portal.blueprints.reviews import bp
from portal.blueprints.reviews.forms import (
    REFERENCES,
    BureauForm,
    ContactForm,
    DecisionForm,
    EvidenceForm,
    PrepareForm,
    money_of,
)
from portal.blueprints.reviews.pages import (
    DECIDER_ACTIONS,
    PREPARER_ACTIONS,
    document_choices,
    refusal_text,
    render_review,
)
from portal.blueprints.reviews.views import review_form, review_formdata
from portal.db import get_db
from portal.domain.permissions import Perm
from portal.domain.policy import Action, Item, RiskGrade
from portal.i18n import office_tz, today
from portal.labels import ACTION_LABELS
from portal.models.credit import Channel, ContactOutcome
from portal.models.documents import DocType
from portal.security import requires
from portal.services import documents as documents_service
from portal.services import review_pages, reviews
from portal.services.base import Conflict
from portal.services.decision_records import file_decision_record
from portal.services.documents import FileMeta
from portal.services.documents import Refused as NotFiled
from portal.services.reviews import ContactData, DecisionData, Refused

log = logging.getLogger(__name__)

#: The document type an uploaded piece of evidence is filed as.
EVIDENCE_TYPES = {
    Item.BUREAU: DocType.CREDIT_REPORT,
    Item.EMPLOYMENT: DocType.INCOME_PROOF,
    Item.BANK: DocType.BANK_STATEMENT,
    Item.LENDERS: DocType.CORRESPONDENCE,
}


def _back(review_id: int, anchor: str | None = None):
    return redirect(url_for("reviews.show", review_id=review_id, _anchor=anchor))


def _again(review_id: int, status: int, **forms):
    """Roll back what the request did and show the review page as it is, with ``forms``."""
    db = get_db()
    db.rollback()
    review = reviews.get_review(db, actor(), review_id)
    return render_review(review, status=status, **forms)


def _conflict_message() -> str:
    return _("Someone else changed this review after you opened it. The page now shows it as "
             "it is; check it and do your part again.")


def _reference(item: str) -> Item:
    try:
        found = Item(item)
    except ValueError:
        abort(404)
    if found not in REFERENCES:
        abort(404)
    return found


def _file_upload(review, upload, item: Item) -> int:
    """File an uploaded document for the review's client and return its id; a file already
    filed for the client is taken as it is. Raises documents' Refused."""
    try:
        document = documents_service.file_document(
            get_db(), actor(), current_app.extensions["storage"], review.client_id,
            upload.stream, upload.filename, FileMeta(doc_type=EVIDENCE_TYPES[item]),
            max_bytes=current_app.config["MAX_UPLOAD_MB"] * 1024 * 1024)
    except NotFiled as exc:
        if exc.reason == "duplicate" and exc.existing:
            return exc.existing
        raise
    return document.id


@bp.post("/reviews/<int:review_id>/edit")
@requires(Perm.REVIEWS_PREPARE)
def update(review_id: int):
    """Save a review's figures and obligations, unless someone else saved first."""
    db = get_db()
    review = reviews.get_review(db, actor(), review_id)
    formdata, rows_only = review_formdata()
    form = review_form(formdata)
    if rows_only:
        return render_review(review, figures=form)
    if not form.validate():
        return render_review(review, status=422, figures=form)
    try:
        reviews.update_review(db, actor(), review.id, form.review_data,
                              expected_version=bounded_int(form.version.data, -1))
    except Conflict:
        db.rollback()
        current = reviews.get_review(db, actor(), review_id)
        form.version.data = str(current.version)
        return render_review(current, status=409, figures=form, message=_(
            "Someone else changed this review after you opened it. Your figures are kept "
            "below; compare them with the review and save again to overwrite."))
    except Refused as exc:
        form.form_errors.append(refusal_text(exc.reason))
        return _again(review_id, 422, figures=form)
    flash(_("Figures saved."), "success")
    return _back(review.id, "figures")


@bp.post("/reviews/<int:review_id>/bureau")
@requires(Perm.REVIEWS_PREPARE)
def bureau(review_id: int):
    """Record the credit-bureau report: the document (picked or uploaded), score and date."""
    db = get_db()
    review = reviews.get_review(db, actor(), review_id)
    form = BureauForm()
    form.document_id.choices = document_choices(
        review_pages.client_documents(db, actor(), review.client_id))
    upload = form.file.data if form.file.data and form.file.data.filename else None
    valid = form.validate()
    if valid and not (upload or form.document_id.data or form.score.data is not None
                      or form.report_date.data):
        form.form_errors.append(_("Pick or upload the report, or enter its score and date."))
        valid = False
    if valid and form.report_date.data and form.report_date.data > today():
        form.report_date.errors.append(refusal_text("report_in_future"))
        valid = False
    if not valid:
        return render_review(review, status=422, bureau=form)
    try:
        document_id = _file_upload(review, upload, Item.BUREAU) if upload else \
            bounded_int(form.document_id.data)
        reviews.set_bureau_report(
            db, actor(), review.id, score=form.score.data, report_date=form.report_date.data,
            document_id=document_id, as_of=today(),
            expected_version=bounded_int(form.version.data, -1))
    except NotFiled as exc:
        form.file.errors.append(refusal_message(exc))
        return _again(review_id, 422, bureau=form)
    except Refused as exc:
        form.form_errors.append(refusal_text(exc.reason))
        return _again(review_id, 422, bureau=form)
    except Conflict:
        return _again(review_id, 409, message=_conflict_message())
    flash(_("Credit-bureau report recorded."), "success")
    return _apply_index_work_after(_back(review.id, "item-bureau"))


@bp.post("/reviews/<int:review_id>/items/<item>/evidence")
@requires(Perm.REVIEWS_PREPARE)
def evidence(review_id: int, item: str):
    """Back a reference with a document from the client's file, or with one uploaded now."""
    which = _reference(item)
    db = get_db()
    review = reviews.get_review(db, actor(), review_id)
    form = EvidenceForm(prefix=f"evidence-{which}")
    form.document_id.choices = document_choices(
        review_pages.client_documents(db, actor(), review.client_id))
    upload = form.file.data if form.file.data and form.file.data.filename else None
    valid = form.validate()
    if valid and not (upload or form.document_id.data):
        form.form_errors.append(_("Pick a document from the client's file, or upload one."))
        valid = False
    if not valid:
        return render_review(review, status=422, evidence={which: form})
    try:
        document_id = _file_upload(review, upload, which) if upload else \
            bounded_int(form.document_id.data, -1)
        reviews.attach_evidence(db, actor(), review.id, which, document_id,
                                expected_version=bounded_int(form.version.data, -1))
    except NotFiled as exc:
        form.file.errors.append(refusal_message(exc))
        return _again(review_id, 422, evidence={which: form})
    except Refused as exc:
        form.form_errors.append(refusal_text(exc.reason))
        return _again(review_id, 422, evidence={which: form})
    except Conflict:
        return _again(review_id, 409, message=_conflict_message())
    flash(_("Document attached."), "success")
    return _apply_index_work_after(_back(review.id, f"item-{which}"))


@bp.post("/reviews/<int:review_id>/items/<item>/contacts")
@requires(Perm.REVIEWS_CONTACT)
def contact(review_id: int, item: str):
    """Log a contact with a reference: whom, how, when, and what they said."""
    which = _reference(item)
    db = get_db()
    review = reviews.get_review(db, actor(), review_id)
    form = ContactForm(prefix=f"contact-{which}")
    if not form.validate():
        return render_review(review, status=422, contacts={which: form})
    when = form.contacted_at.data.replace(tzinfo=office_tz()).astimezone(UTC)
    try:
        reviews.log_contact(db, actor(), review.id, ContactData(
            item=which, contact_name=form.contact_name.data, channel=Channel(form.channel.data),
            contacted_at=when, outcome=ContactOutcome(form.outcome.data),
            note=form.note.data or ""), now=datetime.now(UTC))
    except Refused as exc:
        (form.contacted_at.errors if exc.reason == "contact_in_future"
         else form.form_errors).append(refusal_text(exc.reason))
        return _again(review_id, 422, contacts={which: form})
    flash(_("Contact logged."), "success")
    return _back(review.id, f"item-{which}")


@bp.post("/reviews/<int:review_id>/prepare")
@requires(Perm.REVIEWS_PREPARE)
def prepare(review_id: int):
    """Take a preparer's step: start verification, submit for a decision, or withdraw."""
    db = get_db()
    review = reviews.get_review(db, actor(), review_id)
    form = PrepareForm()
    try:
        action = Action(request.form.get("action", ""))
    except ValueError:
        action = None
    valid = form.validate()
    if valid and action not in PREPARER_ACTIONS:
        form.form_errors.append(refusal_text("transition"))
        valid = False
    if not valid:
        return render_review(review, status=422, prepare=form)
    version = bounded_int(form.version.data, -1)
    try:
        if action is Action.START_VERIFICATION:
            reviews.start_verification(db, actor(), review.id, expected_version=version)
            flash(_("Verification started."), "success")
        elif action is Action.SUBMIT:
            reviews.submit(db, actor(), review.id, as_of=today(), expected_version=version)
            flash(_("Submitted for a decision."), "success")
        else:
            reviews.withdraw(db, actor(), review.id, note=form.note.data or "",
                             expected_version=version)
            flash(_("Review withdrawn."), "info")
    except Refused as exc:
        form.form_errors.append(refusal_text(exc.reason))
        return _again(review_id, 422, prepare=form)
    except Conflict:
        return _again(review_id, 409, message=_conflict_message())
    return _back(review.id)


@bp.post("/reviews/<int:review_id>/decide")
@requires(Perm.REVIEWS_DECIDE)
def decide(review_id: int):
    """Approve (possibly a lower limit), decline, refer to a manager, or send back.

    The form's one-time token makes a form sent twice one decision; an approval or a decline
    files its decision record in the client's documents.
    """
    db = get_db()
    review = reviews.get_review(db, actor(), review_id)
    form = DecisionForm()
    try:
        action = Action(request.form.get("action", ""))
    except ValueError:
        action = None
    valid = form.validate()
    if valid and action not in DECIDER_ACTIONS:
        form.form_errors.append(refusal_text("transition"))
        valid = False
    approved = money_of(form.approved, review.currency) if action is Action.APPROVE else None
    if form.approved.errors:
        valid = False
    if not valid:
        return render_review(review, status=422, decision=form)
    data = DecisionData(
        action=action, token=form.token.data, note=form.note.data or "",
        approved_minor=approved.minor if approved else None,
        risk_grade=RiskGrade(form.risk_grade.data) if form.risk_grade.data else None)
    try:
        decision = reviews.decide(db, actor(), review.id, data, as_of=today(),
                                  expected_version=bounded_int(form.version.data, -1),
                                  file_record=file_decision_record)
    except Refused as exc:
        field = {"approved_out_of_range": form.approved, "risk_grade_missing": form.risk_grade,
                 "note_needed": form.note, "note_needed_for_failed_rules": form.note,
                 }.get(exc.reason)
        (field.errors if field else form.form_errors).append(refusal_text(exc.reason))
        return _again(review_id, 422, decision=form)
    except Conflict:
        return _again(review_id, 409, message=_conflict_message())
    log.info("review %s decided: %s (decision %s)", review_id, action, decision.id)
    flash(_("Decision recorded: %(action)s.", action=ACTION_LABELS[decision.action]),
          "success")
    return _apply_index_work_after(_back(review_id, "decisions"))
