"""Client list, record, edit and onboarding checklist."""

from __future__ import annotations

from datetime import date
from enum import Enum
from typing import NamedTuple, TypeVar

from flask import abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from wtforms.fields.choices import SelectChoice

from portal import changes
from portal.blueprints import actor, bounded_int, page_arg
from portal.blueprints.clients import bp
from portal.blueprints.clients.forms import ClientForm
from portal.blueprints.documents.forms import UploadForm
from portal.db import get_db
from portal.domain.identifiers import mask
from portal.domain.money import SUPPORTED_CURRENCIES, parse_amount
from portal.domain.onboarding import STEPS, Step, onboarding_state
from portal.domain.permissions import Perm, Role
from portal.i18n import (
    amount_text,
    date_filter,
    money_format,
    template_language,
    today,
    translated,
)
from portal.labels import STATUS_LABELS
from portal.models.clients import Client, ClientKind, ClientStatus
from portal.rendering import render, render_kept, wants_fragment
from portal.security import requires
from portal.services import clients as clients_service
from portal.services import users as users_service
from portal.services.base import Conflict
from portal.services.clients import KEEP, OPEN_STATUSES, ClientData, ClientFilter, ClientRow
from portal.stale import mark_changes, remember
from portal.templating import kept

E = TypeVar("E", bound=Enum)


def _filter_from_request() -> ClientFilter:
    args = request.args
    sort = args.get("sort", "name")
    return ClientFilter(
        q=args.get("q", "")[:100],
        status=_member(ClientStatus, args.get("status", "")),
        overdue_only=args.get("overdue") == "1",
        arrears_only=args.get("arrears") == "1",
        sort=sort if sort in clients_service.SORTS else "name",
        descending=args.get("dir") == "desc",
        page=page_arg(),
    )


def _member(enum: type[E], value: str) -> E | None:
    try:
        return enum(value)
    except ValueError:
        return None


def state_of(client: Client):
    """Return the onboarding summary of ``client`` as of today."""
    return onboarding_state(client.done_steps(), client.onboarding_due, today(),
                            open_status=client.status in OPEN_STATUSES)


class ListRow(NamedTuple):
    """One line of the client list, every value ready to show."""

    id: int
    url: str
    number: str
    name: str
    restricted: bool
    tax_id: str
    city: str
    status: str
    status_label: str
    coordinator: str
    #: Still being onboarded: the due date (or "complete") is shown.
    onboarding: bool
    complete: bool
    due: str
    overdue: bool
    balances: list[str]


def _list_rows(items: list[ClientRow], as_of: date) -> list[ListRow]:
    """Turn a page of the list into ready-made values: each URL, label, date and amount is
    worked out here once, so the template makes no call per row."""
    if not items:
        return []
    # One URL built, the others by putting each id in its place: url_for per row is slow.
    sample = url_for("clients.show", client_id=items[0].id)
    head, tail = sample.rsplit(str(items[0].id), 1)
    unmasked = current_user.can(Perm.TAX_ID_UNMASKED)
    labels = translated(STATUS_LABELS)
    amounts = {currency: money_format(currency) for currency in SUPPORTED_CURRENCIES}
    dates: dict[date, str] = {}
    rows = []
    for c in items:
        onboarding = c.status in OPEN_STATUSES
        complete = c.steps_done >= len(STEPS)
        overdue = (onboarding and not complete and c.onboarding_due is not None
                   and as_of > c.onboarding_due)
        due = ""
        if onboarding and not complete and c.onboarding_due is not None:
            due = dates.get(c.onboarding_due) or dates.setdefault(
                c.onboarding_due, date_filter(c.onboarding_due))
        rows.append(ListRow(
            c.id, f"{head}{c.id}{tail}", c.number or "", c.name, c.restricted,
            (c.tax_id if unmasked else mask(c.tax_id)) if c.tax_id else "", c.city or "",
            c.status.value, labels[c.status], c.coordinator_name or "", onboarding, complete,
            due, overdue, [amounts[m.currency](m.minor) for m in c.balances]))
    return rows


#: How many rendered pages of results a worker keeps for the client list (about 15 kB each).
RESULTS_KEPT = 500


@bp.get("/")
@requires(Perm.CLIENTS_VIEW)
def index():
    """List the clients the user may see; filters apply live as the user types."""
    flt = _filter_from_request()
    return render_kept("clients/index.html", _results(flt), flt=flt,
                       statuses=translated(STATUS_LABELS))


def _results(flt: ClientFilter) -> str:
    """Return the list's results (the count, the table, the pager) for ``flt``.

    They are rendered once per state of what the list reads and kept (``kept``): the key
    holds the list's data token, which every commit that writes a client, an account, a
    ledger entry, an onboarding item or a user replaces (``portal.changes``), and all else
    the results depend on: who looks (what they may see), their language, the day (what is
    overdue), the filter and the page.
    """
    db = get_db()
    as_of = today()
    per_page = current_app.config["PAGE_SIZE"]

    def make() -> str:
        page = clients_service.list_clients(db, actor(), flt, as_of, per_page)
        return render_template("clients/_table.html", page=page, flt=flt,
                               rows=_list_rows(page.items, as_of))

    if not current_app.config["KEEP_LIST_RESULTS"]:
        return make()
    token = changes.token(db, clients_service.CLIENT_LIST)
    if token is None:
        return make()
    user = current_user._get_current_object()
    key = (token, user.id, user.role, template_language(), as_of, flt, per_page,
           request.script_root)
    return kept(clients_service.CLIENT_LIST, key, make, RESULTS_KEPT)


def _form_choices(form: ClientForm) -> None:
    people = users_service.coordinators(get_db())
    form.coordinator_id.choices = [SelectChoice("", _("— none —"))] + [
        SelectChoice(str(u.id), u.full_name) for u in people
    ]


def _data(form: ClientForm) -> ClientData:
    company = form.kind.data == ClientKind.COMPANY.value
    income = revenue = None
    if not company and form.income.data and form.income.data.strip():
        income = parse_amount(form.income.data, form.income_currency.data).minor
    if company and form.revenue.data and form.revenue.data.strip():
        revenue = parse_amount(form.revenue.data, form.income_currency.data).minor
    can_assign = actor().can(Perm.CLIENTS_ASSIGN)
    return ClientData(
        kind=ClientKind(form.kind.data),
        name=form.name.data.strip(),
        tax_id=KEEP if form.keeps_tax_id() else form.tax_id.data or None,
        postal_code=(form.postal_code.data or "").strip() or None,
        city=(form.city.data or "").strip() or None,
        street=(form.street.data or "").strip() or None,
        phone=(form.phone.data or "").strip() or None,
        email=(form.email.data or "").strip().lower() or None,
        employer=None if company else (form.employer.data or "").strip() or None,
        income_minor=income,
        registration_number=(form.registration_number.data or None) if company else None,
        revenue_minor=revenue,
        income_currency=form.income_currency.data,
        status=ClientStatus(form.status.data),
        language=form.language.data,
        coordinator_id=int(form.coordinator_id.data) if can_assign and
        form.coordinator_id.data else None,
        restricted=bool(form.restricted.data) if can_assign else None,
    )


def _masked_tax_id(client: Client) -> str | None:
    """Return the client's tax ID masked if the user may not see it in full, else None."""
    if not client.tax_id or current_user.can(Perm.TAX_ID_UNMASKED):
        return None
    return mask(client.tax_id)


@bp.route("/new", methods=["GET", "POST"])
@requires(Perm.CLIENTS_EDIT)
def create():
    """Show the new-client form; save a valid client and open its page."""
    form = ClientForm()
    _form_choices(form)
    if request.method == "GET":
        form.status.data = ClientStatus.PROSPECT.value
        if current_user.can(Perm.CLIENTS_ASSIGN) and current_user.role is not Role.MANAGER:
            form.coordinator_id.data = str(current_user.id)  # a coordinator takes on their own
    if form.validate_on_submit():
        client = clients_service.create_client(
            get_db(), actor(), _data(form), today=today(),
            onboarding_days=current_app.config["ONBOARDING_BUSINESS_DAYS"],
        )
        flash(_("Client %(number)s created.", number=client.number), "success")
        return redirect(url_for("clients.show", client_id=client.id))
    status = 422 if form.errors else 200
    return render("clients/form.html", status=status, form=form, client=None)


@bp.get("/<int:client_id>")
@requires(Perm.CLIENTS_VIEW)
def show(client_id: int):
    """Show a client's details and onboarding checklist."""
    client = clients_service.get_client(get_db(), actor(), client_id)
    return render("clients/show.html", client=client, state=state_of(client), steps=STEPS,
                  upload_form=UploadForm())


@bp.route("/<int:client_id>/edit", methods=["GET", "POST"])
@requires(Perm.CLIENTS_EDIT)
def edit(client_id: int):
    """Show the edit form; save a valid edit unless someone else saved first."""
    db = get_db()
    client = clients_service.get_client(db, actor(), client_id,
                                        audit_read=request.method == "GET")
    form = ClientForm(obj=client if request.method == "GET" else None)
    _form_choices(form)
    form.masked_tax_id = _masked_tax_id(client)
    if request.method == "POST" and not current_user.can(Perm.TAX_ID_UNMASKED):
        form.stale = bounded_int(form.version.data, -1) != client.version
    if request.method == "GET":
        _fill(form, client)
    if form.validate_on_submit():
        try:
            clients_service.update_client(db, actor(), client.id, _data(form),
                                          expected_version=bounded_int(form.version.data, -1))
        except Conflict:
            db.rollback()
            current = clients_service.get_client(db, actor(), client_id, audit_read=False)
            form.version.data = str(current.version)
            if form.keeps_tax_id():  # still "keep": the current record's, masked
                form.tax_id.data = _masked_tax_id(current) or ""
            form.masked_tax_id, form.stale = _masked_tax_id(current), False
            now = ClientForm(formdata=None, obj=current)
            _form_choices(now)
            now.masked_tax_id = form.masked_tax_id
            _fill(now, current)
            changes = mark_changes(form, now)
            return render("clients/form.html", status=409, form=form, client=current,
                          conflict=True, changes=changes)
        flash(_("Changes saved."), "success")
        return redirect(url_for("clients.show", client_id=client.id))
    status = 422 if form.errors else 200
    return render("clients/form.html", status=status, form=form, client=client)


def _fill(form: ClientForm, client: Client) -> None:
    """Fill the edit form's fields that are not plain attributes of ``client``, as opened."""
    form.coordinator_id.data = str(client.coordinator_id or "")
    form.version.data = str(client.version)
    if client.income_minor is not None:
        form.income.data = amount_text(client.income_minor, client.income_currency)
    if client.revenue_minor is not None:
        form.revenue.data = amount_text(client.revenue_minor, client.income_currency)
    if form.masked_tax_id:
        form.tax_id.data = form.masked_tax_id
    if not current_user.can(Perm.CLIENTS_ASSIGN):  # fields this user is not shown
        form.untracked = frozenset({"coordinator_id", "restricted"})
    remember(form)


@bp.post("/<int:client_id>/steps/<step>")
@requires(Perm.ONBOARDING_TICK)
def tick(client_id: int, step: str):
    """Tick or untick one onboarding item (``done=1`` or ``done=0``)."""
    item = _member(Step, step)
    if item is None:
        abort(404)
    done = request.form.get("done") == "1"
    client = clients_service.set_step(get_db(), actor(), client_id, item, done)
    if not wants_fragment():
        return redirect(url_for("clients.show", client_id=client.id))
    return render("clients/show.html", "clients/_checklist.html", client=client,
                  state=state_of(client), steps=STEPS)
