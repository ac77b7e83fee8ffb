"""Clients: the list with its filters, the record, and the onboarding checklist."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import date
from enum import Enum
from functools import lru_cache
from typing import Any, Literal

from sqlalchemy import (
    BigInteger,
    Date,
    Integer,
    Select,
    and_,
    asc,
    bindparam,
    case,
    desc,
    exists,
    false,
    func,
    literal,
    or_,
    select,
    true,
)
from sqlalchemy.orm import Session, aliased
from sqlalchemy.orm.exc import StaleDataError

from portal import changes
from portal.domain.identifiers import InvalidIdentifier, normalise_tax_id
from portal.domain.ledger import EntryKind
from portal.domain.money import SUPPORTED_CURRENCIES, Money
from portal.domain.onboarding import STEPS, Step, due_date
from portal.domain.permissions import Perm, Role
from portal.domain.phones import e164_or_none, search_forms
from portal.domain.text import fold, search_key
from portal.models.clients import Client, ClientKind, ClientStatus, OnboardingStep
from portal.models.ledger import Account, LedgerEntry
from portal.models.users import User
from portal.services import audit, authz
from portal.services.base import Actor, Conflict, NotFound, Page, unindexed

OPEN_STATUSES = (ClientStatus.PROSPECT, ClientStatus.ONBOARDING)
# What clients owe, in SQL over ledger_entries (the same sums as portal.domain.ledger) -------

_reversal = aliased(LedgerEntry)
#: An entry that counts: not cancelled by a reversal (reversals themselves move nothing).
_kept = ~exists().where(_reversal.reverses_id == LedgerEntry.id)
_debit = or_(LedgerEntry.kind.in_((EntryKind.CHARGE, EntryKind.FEE)),
             and_(LedgerEntry.kind == EntryKind.ADJUSTMENT, LedgerEntry.amount_minor > 0))
#: The effect of an entry on what the client owes: + debits, − payments, write-offs and
#: negative adjustments, 0 recoveries and reversals.
_signed = case((LedgerEntry.kind.in_((EntryKind.CHARGE, EntryKind.FEE, EntryKind.ADJUSTMENT)),
                LedgerEntry.amount_minor),
               (LedgerEntry.kind.in_((EntryKind.PAYMENT, EntryKind.WRITE_OFF)),
                -LedgerEntry.amount_minor), else_=0)


def _balance_of_client(currency: str) -> Any:
    """Return a client's balance in ``currency`` over its accounts, as a correlated subquery
    (from each account's stored balance, which the database keeps equal to its entries' sum)."""
    return (select(func.coalesce(func.sum(Account.balance_minor), 0))
            .where(Account.client_id == Client.id, Account.currency == currency)
            .scalar_subquery())


def has_overdue_charge(as_of: date) -> Any:
    """Return a condition: the client has an account with a debit past due and still open.

    Credits pay the debits oldest due first, whenever they were booked, so what is open of
    the debits due before ``as_of`` is Σ those debits − Σ credits (when positive); the same
    figure as ``Statement.overdue``.
    """
    open_overdue = (select(func.coalesce(func.sum(case(
        (and_(_debit, LedgerEntry.due_on < as_of), LedgerEntry.amount_minor),
        (_signed < 0, _signed), else_=0)), 0))
        .where(LedgerEntry.account_id == Account.id, _kept).scalar_subquery())
    return exists().where(Account.client_id == Client.id, open_overdue > 0)


SORTS = {
    # The folded name leads search_text, so "Építő" sorts with "Epito", not after "Z".
    "name": Client.search_text,
    "number": Client.number,
    "status": Client.status,
    "due": Client.onboarding_due,
    "created": Client.created_at,
    # Forint balances first; among equal ones (no forint account, say) the euro balances.
    "balance": _balance_of_client("HUF"),
}


class Keep(Enum):
    """A field's value in ``ClientData`` that leaves the stored value as it is."""

    KEEP = "keep"


#: ``ClientData.tax_id`` of a user who saw the stored tax ID masked and sent the mask back.
KEEP = Keep.KEEP


@dataclass(frozen=True)
class ClientData:
    """What a user may type about a client. ``coordinator_id`` and ``restricted`` are None
    when the actor may not change them (then they stay as they are); ``tax_id`` is ``KEEP``
    to leave the stored one."""

    kind: ClientKind
    name: str
    tax_id: str | None | Literal[Keep.KEEP]
    postal_code: str | None
    city: str | None
    street: str | None
    phone: str | None
    email: str | None
    employer: str | None
    income_minor: int | None
    income_currency: str
    status: ClientStatus
    coordinator_id: int | None = None
    restricted: bool | None = None
    #: Letters and decision records go out in it ("hu", "en"); None keeps it as it is.
    language: str | None = None
    #: A company's registration number (normalised) and annual revenue.
    registration_number: str | None = None
    revenue_minor: int | None = None


#: The fields that belong to one kind of client only; the other kind's are always empty.
PERSON_ONLY = ("employer", "income_minor")
COMPANY_ONLY = ("registration_number", "revenue_minor")


@dataclass(frozen=True)
class ClientFilter:
    q: str = ""
    status: ClientStatus | None = None
    overdue_only: bool = False
    #: Only clients with a charge (or fee) past due and not paid.
    arrears_only: bool = False
    sort: str = "name"
    descending: bool = False
    page: int = 1


#: Which clients a kind of actor sees (``_seeing``); ``me`` is the actor's user id.
_SEEING = {
    # No condition at all: "restricted IS 1 OR restricted IS 0" led SQLite to start a join
    # from the restricted index and sort every row (review queue p95 127 -> see bench).
    "all": true(),
    "none": false(),
    # Conditions on rows found in the order of the list's sort index: most clients pass them,
    # and with their own indexes SQLite gathered and sorted every visible client first.
    "own": or_(unindexed(Client.restricted).is_(False),
               unindexed(Client.coordinator_id) == bindparam("me")),
    "open": unindexed(Client.restricted).is_(False),
}


def _count_clients(where: Any = None) -> Select:
    stmt = select(func.count()).select_from(Client)
    return stmt if where is None else stmt.where(where)


#: How many clients a kind of actor sees when no filter narrows the list: all clients less the
#: restricted ones hidden from them. Counting the whole table reads the smallest index, and
#: the restricted clients are few; counting the visible ones row by row took five times as long.
_UNFILTERED_COUNT = {
    "all": _count_clients(),
    "none": select(literal(0)),
    "own": select(_count_clients().scalar_subquery() - _count_clients(and_(
        Client.restricted.is_(True),
        Client.coordinator_id.is_distinct_from(bindparam("me")))).scalar_subquery()),
    "open": select(_count_clients().scalar_subquery()
                   - _count_clients(Client.restricted.is_(True)).scalar_subquery()),
}


def _seeing(actor: Actor) -> str:
    if actor.user is None or actor.can(Perm.CLIENTS_SEE_ALL_RESTRICTED):
        return "all"
    if not actor.can(Perm.CLIENTS_VIEW):
        return "none"
    if actor.role is Role.COORDINATOR:
        return "own"
    return "open"


def visibility(actor: Actor) -> Any:
    """Return the WHERE clause that limits clients to those ``actor`` may see."""
    seeing = _seeing(actor)
    if seeing == "own":  # as _SEEING["own"], with the actor's id in place
        return or_(unindexed(Client.restricted).is_(False),
                   unindexed(Client.coordinator_id) == actor.user_id)
    return _SEEING[seeing]


def visible_clients(actor: Actor) -> Select[tuple[Client]]:
    """Return a SELECT of the clients ``actor`` may see."""
    return select(Client).where(visibility(actor))


@dataclass(frozen=True)
class ClientRow:
    """One line of the client list: what it shows, read by the one query of the page."""

    id: int
    number: str | None
    name: str
    tax_id: str | None
    city: str | None
    status: ClientStatus
    restricted: bool
    onboarding_due: date | None
    coordinator_name: str | None
    #: How many onboarding items are ticked.
    steps_done: int
    #: The balance per currency the client has accounts in (forint first).
    balances: tuple[Money, ...]


def _escape_like(text: str) -> str:
    """Escape ``text`` for a LIKE pattern with ``ESCAPE '/'``."""
    return text.replace("/", "//").replace("%", "/%").replace("_", "/_")


@dataclass(frozen=True)
class _Search:
    """The shape of what a search box asks for (its values are bound parameters): per word
    ``"text"``, ``"tax"`` (also in the tax ID, for those who see it) or ``"taxid"`` (the whole
    tax ID typed by one who may not see it); the phone as ``"e164"``, ``"national"`` or None.
    ``few``: a word holds four digits or more (a client or tax number, a phone), so few
    clients match."""

    words: tuple[str, ...]
    phone: str | None
    few: bool = False


def _search(actor: Actor, query: str) -> tuple[_Search, dict[str, Any]]:
    """Return what ``query`` asks for and the values of its parameters: every word in the
    folded name, number, e-mail, phone or city (or the tax ID, as far as ``actor`` may see it),
    or the phone number however it was typed (the whole number, or the start of one)."""
    words, params = [], {}
    for i, term in enumerate(fold(query).split()[:8]):
        params[f"w{i}"] = _escape_like(term)
        if actor.can(Perm.TAX_ID_UNMASKED):
            words.append("tax")
            params[f"t{i}"] = _escape_like(term.upper())
            continue
        try:  # without the right to see tax IDs, only the whole identifier finds a client
            params[f"t{i}"] = normalise_tax_id(term)
            words.append("taxid")
        except InvalidIdentifier:
            words.append("text")
    e164, national = search_forms(query)
    phone = "e164" if e164 else "national" if national else None
    if phone:
        params["phone"] = e164 or _escape_like(national or "")
    few = phone is not None or any(sum(ch.isdigit() for ch in term) >= 4
                                   for term in query.split())
    return _Search(tuple(words), phone, few), params


def _search_condition(search: _Search) -> Any:
    words = []
    for i, kind in enumerate(search.words):
        matches = [Client.search_text.contains(bindparam(f"w{i}"), escape="/")]
        if kind == "tax":
            matches.append(Client.tax_id.contains(bindparam(f"t{i}"), escape="/"))
        elif kind == "taxid":
            matches.append(Client.tax_id == bindparam(f"t{i}"))
        words.append(or_(*matches))
    condition = and_(*words) if words else true()
    if search.phone == "e164":  # the whole number: the index finds it
        return or_(Client.phone_e164 == bindparam("phone"), condition)
    if search.phone == "national":  # being typed: the stored numbers containing its digits
        return or_(Client.phone_e164.contains(bindparam("phone"), escape="/"), condition)
    return condition


def _client_balance(currency: str) -> Any:
    """Return the client's balance in ``currency``, NULL without an account in it."""
    return (select(func.sum(Account.balance_minor))
            .where(Account.client_id == Client.id, Account.currency == currency)
            .scalar_subquery())


# The parts of the list's statement that never change, built once (building them took as
# long as SQLite takes to run the statement).
#: How many onboarding items the client has ticked.
_TICKED = (select(func.count(OnboardingStep.id)).where(OnboardingStep.client_id == Client.id)
           .scalar_subquery())
#: What a line of the list shows; the balances last, one per currency.
_ROW_COLUMNS = (Client.id, Client.number, Client.name, Client.tax_id, Client.city,
                Client.status, Client.restricted, Client.onboarding_due, User.full_name,
                _TICKED.label("steps_done"),
                *(_client_balance(c).label(f"balance_{c}") for c in SUPPORTED_CURRENCIES))
_EUR_BALANCE = _balance_of_client("EUR")


#: The date the overdue filters compare with.
_AS_OF = bindparam("as_of", type_=Date)


def list_clients(
    db: Session, actor: Actor, flt: ClientFilter, as_of: date, per_page: int
) -> Page[ClientRow]:
    """Return one page of the clients ``actor`` may see, filtered and sorted.

    One statement reads the page and the count: an inner SELECT filters, sorts and cuts the
    page out; the outer one adds, for those rows only, the coordinator's name, the ticked
    onboarding items and the balances, and the count of all matches as a scalar subquery
    (evaluated once; ``count(*) OVER ()`` took SQLite three times as long). The statement is
    built once per shape (who sees what, which filters, which order) with every value a bound
    parameter: building and keying it took as long as SQLite takes to run it.
    """
    search, params = _search(actor, flt.q) if flt.q.strip() else (None, {})
    params.update(me=actor.user_id, status=flt.status, as_of=as_of)
    page_stmt, count_stmt = _statements(
        _seeing(actor), search, flt.status is not None, flt.overdue_only, flt.arrears_only,
        flt.sort if flt.sort in SORTS else None, flt.descending)
    page = max(1, flt.page)
    run = db.connection().execute  # plain rows: the ORM adds nothing to a list of columns
    rows = run(page_stmt, {**params, "limit": per_page, "offset": (page - 1) * per_page}).all()
    if not rows and page > 1:  # past the end (a filter narrowed the list): the last page
        total = run(count_stmt, params).scalar() or 0
        page = max(1, -(-total // per_page))
        rows = run(page_stmt, {**params, "limit": per_page,
                               "offset": (page - 1) * per_page}).all()
    # The columns by position (_ROW_COLUMNS, then the total): named access cost as much as
    # the statement.
    shown = len(_ROW_COLUMNS) - len(SUPPORTED_CURRENCIES)
    items = [ClientRow(*row[:shown], tuple(
        Money(int(minor), currency)
        for currency, minor in zip(SUPPORTED_CURRENCIES, row[shown:-1], strict=True)
        if minor is not None)) for row in rows]
    return Page(items, rows[0].total if rows else 0, page, per_page)


@lru_cache(maxsize=256)
def _statements(seeing: str, search: _Search | None, status: bool, overdue: bool,
                arrears: bool, sort: str | None, descending: bool) -> tuple[Select, Select]:
    """Return the page and count statements of one shape of the list."""
    stmt = select(Client.id).where(_SEEING[seeing])
    if search is not None:
        stmt = stmt.where(_search_condition(search))
    if status:
        stmt = stmt.where(Client.status == bindparam("status"))
    if overdue:
        stmt = stmt.where(and_(Client.status.in_(OPEN_STATUSES), Client.onboarding_due < _AS_OF,
                               _TICKED < len(STEPS)))
    if arrears:
        stmt = stmt.where(has_overdue_charge(_AS_OF))
    direction = desc if descending else asc
    columns = [SORTS[sort] if sort else Client.name] + ([_EUR_BALANCE] if sort == "balance"
                                                        else [])
    if search is not None and search.few:
        # Few matches: reading the whole table and sorting them beats walking the sort
        # index and looking up every client (a client number: 28 -> 11 ms at 20k clients).
        columns[0] = unindexed(columns[0])
    order = [*(direction(c) for c in columns), Client.id]
    filtered = search is not None or status or overdue or arrears
    count = (select(func.count()).select_from(stmt.subquery()) if filtered
             else _UNFILTERED_COUNT[seeing])
    cut = (stmt.order_by(*order).limit(bindparam("limit", type_=Integer))
           .offset(bindparam("offset", type_=BigInteger)).subquery("page"))  # a huge page
    page = (select(*_ROW_COLUMNS, count.scalar_subquery().label("total"))
            .join_from(cut, Client, Client.id == cut.c.id)
            .outerjoin(User, User.id == Client.coordinator_id)
            .order_by(*order))
    return page, count


#: The client list's data token (``portal.changes``): what it reads, taken from the list's
#: statement with every filter on (a search of each kind, overdue, arrears, by balance).
CLIENT_LIST = changes.watch("client_list", *_statements(
    "own", _Search(("text", "tax", "taxid"), "national", True), True, True, True, "balance",
    False))


def get_client(db: Session, actor: Actor, client_id: int, *, audit_read: bool = True) -> Client:
    """Return a client the actor may see; a read of a restricted client is audited."""
    client = db.get(Client, client_id)
    if client is None:
        raise NotFound("no such client")
    authz.require_client(actor, client)
    if client.restricted and audit_read:
        audit.record(db, actor, "client.view", object_type="client", object_id=client.id,
                     object_label=client.number)
    return client


def _fields(data: ClientData, actor: Actor) -> dict[str, Any]:
    fields = asdict(data)
    if fields["tax_id"] is KEEP:
        fields.pop("tax_id")  # neither changed nor in the audit diff
    if fields["language"] not in ("hu", "en"):
        fields.pop("language")
    # Only what fits the kind is kept: a person has no registration number, a company no
    # employer (whatever a form that showed both sent).
    for key in COMPANY_ONLY if data.kind is ClientKind.PERSON else PERSON_ONLY:
        fields[key] = None
    if not actor.can(Perm.CLIENTS_ASSIGN):
        fields.pop("coordinator_id")
        fields.pop("restricted")
    else:
        fields["restricted"] = bool(fields["restricted"])
    return fields


def _check_coordinator(db: Session, coordinator_id: int | None) -> None:
    if coordinator_id is None:
        return
    user = db.get(User, coordinator_id)
    if user is None or not user.active or user.role not in (Role.COORDINATOR, Role.MANAGER):
        raise Conflict("not a coordinator")


def refresh_search_text(client: Client) -> None:
    """Recompute what the filters search: the folded text and the phone number as E.164."""
    client.search_text = search_key(client.name, client.number, client.email, client.phone,
                                    client.city)[:700]
    client.phone_e164 = e164_or_none(client.phone)


def create_client(
    db: Session, actor: Actor, data: ClientData, *, today: date, onboarding_days: int
) -> Client:
    """Create a client, number it, and set its onboarding due date."""
    authz.require(actor, Perm.CLIENTS_EDIT)
    fields = _fields(data, actor)
    _check_coordinator(db, fields.get("coordinator_id"))
    client = Client(**fields, created_by_id=actor.user_id,
                    onboarding_due=due_date(today, onboarding_days))
    db.add(client)
    db.flush()
    client.number = f"C{client.id:06d}"
    refresh_search_text(client)
    audit.record(db, actor, "client.create", object_type="client", object_id=client.id,
                 object_label=client.number, details=audit.diff({}, fields))
    return client


def update_client(
    db: Session, actor: Actor, client_id: int, data: ClientData, *, expected_version: int
) -> Client:
    """Save an edit; refused with Conflict if the client changed since the form was loaded."""
    client = get_client(db, actor, client_id, audit_read=False)
    authz.require(actor, Perm.CLIENTS_EDIT, client=client)
    if client.version != expected_version:
        raise Conflict("changed by someone else")
    fields = _fields(data, actor)
    if "coordinator_id" in fields and fields["coordinator_id"] != client.coordinator_id:
        _check_coordinator(db, fields["coordinator_id"])
    before = {key: getattr(client, key) for key in fields}
    for key, value in fields.items():
        setattr(client, key, value)
    refresh_search_text(client)
    changes = audit.diff(before, fields)
    if not changes:
        return client
    audit.record(db, actor, "client.update", object_type="client", object_id=client.id,
                 object_label=client.number, details=changes)
    try:
        db.flush()
    except StaleDataError as exc:
        raise Conflict("changed by someone else") from exc
    return client


def set_step(db: Session, actor: Actor, client_id: int, step: Step, done: bool) -> Client:
    """Tick or untick one onboarding item."""
    client = get_client(db, actor, client_id, audit_read=False)
    authz.require(actor, Perm.ONBOARDING_TICK, client=client)
    existing = next((s for s in client.steps if s.step == step), None)
    if done and existing is None:
        client.steps.append(OnboardingStep(step=step, done_by_id=actor.user_id))
    elif not done and existing is not None:
        client.steps.remove(existing)
    else:
        return client
    audit.record(db, actor, "onboarding.tick" if done else "onboarding.untick",
                 object_type="client", object_id=client.id, object_label=client.number,
                 details={"step": step.value})
    db.flush()
    return client
