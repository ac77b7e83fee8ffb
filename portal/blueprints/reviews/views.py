"""Credit reviews: the queue, the credit policy, opening a review, the review page and the
figures and rule outcomes that update as amounts are typed."""

from __future__ import annotations

import re

from flask import current_app, flash, make_response, redirect, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from werkzeug.datastructures import MultiDict

from portal.blueprints import actor, page_arg
from portal.blueprints.reviews import bp
from portal.blueprints.reviews.forms import MAX_OBLIGATIONS, PolicyForm, ReviewForm, show_scaled
from portal.blueprints.reviews.pages import evaluation_labels, render_review, typed_evaluation
from portal.db import get_db
from portal.domain.permissions import Perm, Role
from portal.domain.policy import RiskGrade, Status
from portal.i18n import amount_text, date_filter, language, today
from portal.labels import ITEM_LABELS, REVIEW_STATUS_LABELS
from portal.models.credit import CreditPolicy, ReviewKind
from portal.rendering import render, wants_fragment
from portal.security import requires
from portal.services import clients as clients_service
from portal.services import reviews
from portal.services.reviews import ReviewFilter

_ROW = re.compile(r"obligations-(\d+)-")


# The queue ---------------------------------------------------------------------------------


def _filter_from_request() -> ReviewFilter:
    args = request.args
    try:
        status = Status(args.get("status", ""))
    except ValueError:
        status = None
    return ReviewFilter(
        q=args.get("q", "")[:100], status=status, mine_to_decide=args.get("mine") == "1",
        prepared_by_me=args.get("prepared") == "1", periodic_due=args.get("due") == "1",
        page=page_arg(),
    )


@bp.get("/reviews/")
@requires(Perm.REVIEWS_VIEW)
def index():
    """List the credit reviews the user may see; the filters apply as the user types."""
    db, who = get_db(), actor()
    flt = _filter_from_request()
    page = reviews.list_reviews(db, who, flt, today(), current_app.config["PAGE_SIZE"])
    if wants_fragment():  # the table alone: the counts and due clients are not part of it
        return render("reviews/index.html", "reviews/_table.html", page=page, flt=flt,
                      statuses=REVIEW_STATUS_LABELS)
    return render(
        "reviews/index.html", "reviews/_table.html", page=page, flt=flt,
        statuses=REVIEW_STATUS_LABELS, counts=reviews.status_counts(db, who),
        awaiting=reviews.awaiting_my_decision(db, who),
        due=reviews.clients_due_for_review(db, who, today(), limit=10),
    )


# The credit policy -------------------------------------------------------------------------


def _policy_form(row: CreditPolicy) -> PolicyForm:
    """Return the policy form filled from a version, to be changed and saved as a new one."""
    lang = language()
    authority = row.authority
    form = PolicyForm(formdata=None, effective_from=today(),
                      min_bureau_score=row.min_bureau_score,
                      bureau_max_age_days=row.bureau_max_age_days,
                      required_items=list(row.required_items),
                      review_high=row.review_months.get(RiskGrade.HIGH.value),
                      review_medium=row.review_months.get(RiskGrade.MEDIUM.value),
                      review_low=row.review_months.get(RiskGrade.LOW.value))
    form.max_dti.data = show_scaled(row.max_dti_bp, 2, lang)
    form.max_income_multiple.data = show_scaled(row.max_income_multiple_x100, 2, lang)
    form.min_residual.data = show_scaled(row.min_residual_bp, 2, lang)
    for role, currency, field in ((Role.COORDINATOR, "HUF", form.coordinator_huf),
                                  (Role.COORDINATOR, "EUR", form.coordinator_eur),
                                  (Role.MANAGER, "HUF", form.manager_huf),
                                  (Role.MANAGER, "EUR", form.manager_eur)):
        field.data = amount_text(authority.get(role.value, {}).get(currency), currency)
    return form


def _policy_page(form: PolicyForm | None = None, status: int = 200):
    db, who = get_db(), actor()
    in_force = reviews.policy_in_force(db, today())
    if form is None and current_user.can(Perm.POLICY_EDIT):
        form = _policy_form(in_force)
    return render("reviews/policy.html", status=status, policy=in_force, in_force=in_force,
                  versions=reviews.policy_versions(db, who), form=form, items=ITEM_LABELS,
                  today=today(), **evaluation_labels())


@bp.get("/reviews/policy")
@requires(Perm.POLICY_VIEW)
def policy():
    """Show the credit policy in force and its earlier versions (and, to admins, the form)."""
    return _policy_page()


@bp.post("/reviews/policy")
@requires(Perm.POLICY_EDIT)
def save_policy():
    """Save the credit policy as a new version, in force from the day given."""
    form = PolicyForm()
    if not form.validate():
        return _policy_page(form, status=422)
    row = reviews.save_policy(get_db(), actor(), form.policy_data())
    flash(_("Credit policy version %(version)s saved, in force from %(date)s.",
            version=row.version, date=date_filter(row.effective_from)), "success")
    return redirect(url_for("reviews.policy"))


@bp.get("/reviews/policy/<int:version>")
@requires(Perm.POLICY_VIEW)
def policy_version(version: int):
    """Show one version of the credit policy."""
    db = get_db()
    row = reviews.get_policy(db, actor(), version)
    return render("reviews/policy_version.html", policy=row,
                  in_force=reviews.policy_in_force(db, today()), items=ITEM_LABELS,
                  **evaluation_labels())


# Opening a review --------------------------------------------------------------------------


def review_formdata() -> tuple[MultiDict | None, bool]:
    """Return a POST's form data, less the obligation row a "remove" button names, and
    whether the POST only adds or removes a row (then nothing is saved)."""
    if request.method != "POST":
        return None, False
    data = MultiDict(request.form)
    data.update(request.files)
    removed = data.get("remove_row")
    if removed is not None:
        prefix = f"obligations-{removed}-"
        for key in [k for k in data if k.startswith(prefix)]:
            data.poplist(key)
    return data, removed is not None or "add_row" in data


def review_form(formdata: MultiDict | None) -> ReviewForm:
    """Build the figures form; a POST's "add a row" button adds an empty row."""
    form = ReviewForm(formdata=formdata)
    if formdata is not None and "add_row" in formdata \
            and len(form.obligations) < MAX_OBLIGATIONS:
        form.obligations.append_entry()
    return form


@bp.route("/clients/<int:client_id>/reviews/new", methods=["GET", "POST"])
@requires(Perm.REVIEWS_PREPARE)
def create(client_id: int):
    """Show the form for a new credit review of a client; open a valid one and show it."""
    db = get_db()
    client = clients_service.get_client(db, actor(), client_id,
                                        audit_read=request.method == "GET")
    formdata, rows_only = review_formdata()
    form = review_form(formdata)
    status = 200
    if formdata is None:
        due = client.next_review_due is not None and client.next_review_due <= today()
        form.kind.data = (ReviewKind.PERIODIC if due else ReviewKind.NEW_LIMIT).value
        form.currency.data = client.income_currency or "HUF"
        form.monthly_income.data = amount_text(client.income_minor, form.currency.data)
        form.obligations.append_entry()
    elif not rows_only:
        if form.validate():
            review = reviews.open_review(db, actor(), client.id, form.review_data)
            flash(_("Credit review opened as a draft."), "success")
            return redirect(url_for("reviews.show", review_id=review.id))
        status = 422
    policy = reviews.policy_in_force(db, today())
    evaluation = typed_evaluation(None, form, policy, today()) if formdata is not None \
        else None
    return render("reviews/new.html", status=status, client=client, form=form, policy=policy,
                  evaluation=evaluation, **evaluation_labels())


@bp.get("/reviews/obligation-row")
@requires(Perm.REVIEWS_PREPARE)
def obligation_row():
    """Return an empty obligation row for the review form, numbered after the rows sent.

    ``remove=1`` returns nothing (the row asking is removed in place) and tells the page
    that the obligations changed, so the figures are worked out again.
    """
    if request.args.get("remove"):
        response = make_response("")
        response.headers["HX-Trigger"] = "obligations-changed"
        return response
    indices = {int(m.group(1)) for key in request.args if (m := _ROW.match(key))}
    form = ReviewForm(formdata=None, meta={"csrf": False})
    if len(indices) >= MAX_OBLIGATIONS:
        return make_response("")
    form.obligations.last_index = max(indices, default=-1)
    entry = form.obligations.append_entry()
    return render("reviews/_obligation_row.html", "reviews/_obligation_row.html", entry=entry,
                  **evaluation_labels())


# The live figures --------------------------------------------------------------------------


def _figures(review):
    db = get_db()
    form = ReviewForm(request.args, meta={"csrf": False})
    policy = reviews.policy_in_force(db, today())
    evaluation = typed_evaluation(review, form, policy, today())
    return render("reviews/evaluation.html", "reviews/_evaluation.html", review=review,
                  form=form, policy=policy, evaluation=evaluation, **evaluation_labels())


@bp.get("/reviews/evaluate")
@requires(Perm.REVIEWS_VIEW)
def evaluate():
    """Work out the figures and every rule for the amounts typed on a new review's form."""
    return _figures(None)


@bp.get("/reviews/<int:review_id>/evaluate")
@requires(Perm.REVIEWS_VIEW)
def evaluate_review(review_id: int):
    """Work out the figures and every rule for amounts typed on a review's form, with the
    review's bureau report and verification as they are."""
    return _figures(reviews.get_review(get_db(), actor(), review_id))


# The review page ---------------------------------------------------------------------------


@bp.get("/reviews/<int:review_id>")
@requires(Perm.REVIEWS_VIEW)
def show(review_id: int):
    """Show a review: figures, rules, verification checklist, actions and decisions."""
    return render_review(reviews.get_review(get_db(), actor(), review_id))


@bp.get("/clients/<int:client_id>/reviews")
@requires(Perm.REVIEWS_VIEW)
def of_client(client_id: int):
    """List a client's credit reviews (the client page loads this into its Credit section)."""
    db = get_db()
    client = clients_service.get_client(db, actor(), client_id, audit_read=not wants_fragment())
    items = reviews.reviews_of_client(db, actor(), client.id)
    return render("reviews/client.html", "reviews/_client_reviews.html", client=client,
                  reviews=items, today=today())
