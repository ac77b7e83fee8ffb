"""The audit log in words: who, what and which values, as people read them.

An audit row keeps codes (``client.update``, ``income_minor: [450000, 520000]``,
``coordinator_id: 2``); this module turns a page of rows into the action's label, the
fields' labels as the forms call them, and values formatted for the reader's language (money
with its currency, names instead of user ids, yes/no, dates). The labels live in
``portal.labels``; the names and currencies come from ``audit.context`` in one go.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from fractions import Fraction
from typing import Any

from flask_babel import gettext as _
from flask_babel import ngettext

from portal.domain.onboarding import Step
from portal.domain.permissions import Role
from portal.domain.policy import Item, RiskGrade, Rule
from portal.domain.text import fold
from portal.i18n import date_filter, money_parts, number
from portal.labels import (
    AUDIT_ACTION_LABELS,
    AUDIT_FIELD_LABELS,
    CHANNEL_LABELS,
    CONTACT_OUTCOME_LABELS,
    ITEM_LABELS,
    KIND_LABELS,
    OBLIGATION_KIND_LABELS,
    REVIEW_KIND_LABELS,
    RISK_GRADE_LABELS,
    ROLE_LABELS,
    RULE_LABELS,
    STATUS_LABELS,
    STEP_LABELS,
    TEXT_STATUS_LABELS,
    TYPE_LABELS,
    multiple,
    percent,
)
from portal.models.audit import AuditEvent
from portal.models.clients import ClientKind, ClientStatus
from portal.models.credit import Channel, ContactOutcome, ObligationKind, ReviewKind
from portal.models.documents import DocType, TextStatus
from portal.services.audit import Context
from portal.templating import filesize, tax_id

#: Amounts in minor units, and the detail key (or the object's) that names their currency.
MONEY_KEYS = {
    "income_minor": "income_currency", "revenue_minor": "income_currency",
    "credit_limit": "credit_currency",
    "amount": "currency", "limit": "currency", "requested": "currency",
    "monthly_income": "currency", "approved": "currency",
}
DATE_KEYS = {"opened_on", "booked_on", "due_on", "effective_from", "report_date",
             "next_review_due", "doc_date"}
#: Row ids in the details: shown as "no. 12".
ID_KEYS = {"entry", "reverses", "write_off", "document", "review", "account"}
#: Enum values by key (``"<area>.<key>"`` first): the enum and its labels.
ENUMS = {
    "client.kind": (ClientKind, KIND_LABELS),
    "review.kind": (ReviewKind, REVIEW_KIND_LABELS),
    "status": (ClientStatus, STATUS_LABELS),
    "role": (Role, ROLE_LABELS),
    "to": (Role, ROLE_LABELS),
    "step": (Step, STEP_LABELS),
    "type": (DocType, TYPE_LABELS),
    "doc_type": (DocType, TYPE_LABELS),
    "text": (TextStatus, TEXT_STATUS_LABELS),
    "item": (Item, ITEM_LABELS),
    "channel": (Channel, CHANNEL_LABELS),
    "outcome": (ContactOutcome, CONTACT_OUTCOME_LABELS),
    "risk_grade": (RiskGrade, RISK_GRADE_LABELS),
}
#: Languages are named in themselves, as the language menus do.
LANGUAGES = {"hu": "Magyar", "en": "English"}
FORMATS = {"camt053": "camt.053", "csv": "CSV"}
#: Keys whose value is a list (not a change from one value to another).
LIST_VALUES = {"failed_rules", "required_items"}


@dataclass(frozen=True)
class Detail:
    """One field of a row's details: a value, or a change from ``before`` to ``value``.
    None stands for "not set"."""

    label: str
    value: str | None
    before: str | None = None
    changed: bool = False


@dataclass(frozen=True)
class Row:
    event: AuditEvent
    who: str
    #: The username beside the name (None for the system or an unknown name).
    username: str | None
    action: str
    object: str
    details: list[Detail]


def action_label(action: str) -> str:
    """Return an action's words (the code itself only for an action no label knows)."""
    label = AUDIT_ACTION_LABELS.get(action)
    return str(label) if label is not None else action


def action_choices(actions: Iterable[str]) -> list[tuple[str, str]]:
    """Return ``(action, label)`` pairs sorted by the label as read (accents aside)."""
    pairs = [(action, action_label(action)) for action in actions]
    return sorted(pairs, key=lambda pair: (fold(pair[1]), pair[1]))


def field_label(area: str, key: str) -> str:
    label = AUDIT_FIELD_LABELS.get(f"{area}.{key}", AUDIT_FIELD_LABELS.get(key))
    return str(label) if label is not None else key.replace("_", " ").capitalize()


def rows(events: Sequence[AuditEvent], ctx: Context) -> list[Row]:
    """Return the page's events in words."""
    return [_row(event, ctx) for event in events]


def _row(event: AuditEvent, ctx: Context) -> Row:
    who, username = _who(event, ctx)
    action = action_label(event.action)
    failed_login = event.action == "auth.login_failed"
    if failed_login and event.object_label and event.object_label not in ctx.names_by_username:
        action = _("Failed login as “%(name)s”", name=event.object_label)
    area = event.action.split(".", 1)[0]
    given = dict(event.details or {})
    if event.action.endswith(".create"):  # a new record: its values, not "not set -> value"
        given = {key: value[1] if _as_change(key, value) and value[0] is None else value
                 for key, value in given.items()}
    #: A currency already shown with its amount is not repeated on its own.
    shown_with = {MONEY_KEYS[key] for key, value in given.items()
                  if key in MONEY_KEYS and value is not None and not isinstance(value, list)}
    details = [_detail(area, key, value, event, ctx) for key, value in given.items()
               if not (key in shown_with and not isinstance(value, list))]
    details = [d for d in details if d.changed or d.value is not None]  # nothing to say
    return Row(event, who, username, action, _object(event, ctx), details)


def _who(event: AuditEvent, ctx: Context) -> tuple[str, str | None]:
    if event.user_id is not None:
        return ctx.names.get(event.user_id, event.actor), event.actor
    if event.actor != "system":  # the account is gone; the row kept its username
        return ctx.names_by_username.get(event.actor, event.actor), event.actor
    if event.action.startswith("auth.") and event.object_label:
        name = ctx.names_by_username.get(event.object_label)
        if name is not None:
            return name, event.object_label
        return _("Unknown user"), None
    return _("System"), None


def _object(event: AuditEvent, ctx: Context) -> str:
    if event.object_type == "user" and event.object_id == event.user_id:
        return ""  # their own login, logout, password or language: the "who" says it
    if event.object_type == "user" and event.object_id in ctx.names:
        return ctx.names[event.object_id]
    if event.object_type == "policy" and (event.object_label or "").startswith("v"):
        return _("Credit policy, version %(version)s", version=event.object_label[1:])
    if event.action == "auth.login_failed":
        return ""  # the name tried is in the action or the "who" column
    return event.object_label or ""


def _detail(area: str, key: str, value: Any, event: AuditEvent, ctx: Context) -> Detail:
    label = field_label(area, key)
    pair = _as_change(key, value)
    if pair is None:
        return Detail(label, _shown(area, key, value, event, ctx, None))
    old, new = pair
    return Detail(label, _shown(area, key, new, event, ctx, 1),
                  _shown(area, key, old, event, ctx, 0), changed=True)


def _as_change(key: str, value: Any) -> tuple[Any, Any] | None:
    """A change is kept as ``[old, new]`` (``audit.diff``); some keys hold a list as a value."""
    if isinstance(value, list) and len(value) == 2 and key not in LIST_VALUES:
        return value[0], value[1]
    return None


def _shown(area: str, key: str, value: Any, event: AuditEvent, ctx: Context,
           side: int | None) -> str | None:
    """Format one value of ``key`` for the reader (None: not set)."""
    if value is None or value == "" or value == []:
        if key == "language" and area == "user":
            return _("As the browser")
        if key == "failed_rules":
            return _("none")
        return None
    if isinstance(value, bool):
        return _("yes") if value else _("no")
    if key in MONEY_KEYS and isinstance(value, int):
        currency = _currency(MONEY_KEYS[key], event, ctx, side)
        return money_parts(value, currency) if currency else number(value)
    if key in DATE_KEYS and isinstance(value, str):
        try:
            return date_filter(date.fromisoformat(value))
        except ValueError:
            return value
    if key == "coordinator_id" and isinstance(value, int):
        return ctx.names.get(value, _("no. %(id)s", id=value))
    if key in ID_KEYS and isinstance(value, int):
        return _("no. %(id)s", id=value)
    if key == "language":
        return LANGUAGES.get(value, value)
    if key == "tax_id":
        return tax_id(value)
    if key == "format":
        return FORMATS.get(value, value)
    if key == "size" and isinstance(value, int):
        return filesize(value)
    if key == "retry_after" and isinstance(value, int):
        return ngettext("%(num)s second", "%(num)s seconds", value)
    if key in ("max_dti_bp", "min_residual_bp"):
        return percent(Fraction(value, 10_000))
    if key == "max_income_multiple_x100":
        return multiple(Fraction(value, 100))
    if key == "failed_rules":
        return ", ".join(_enum(Rule, RULE_LABELS, v) for v in value)
    if key == "required_items":
        return ", ".join(_enum(Item, ITEM_LABELS, v) for v in value)
    if key == "authority" and isinstance(value, dict):
        return _authority(value)
    if key == "review_months" and isinstance(value, dict):
        return "; ".join(f"{_enum(RiskGrade, RISK_GRADE_LABELS, grade)}: {number(months)}"
                         for grade, months in value.items())
    if key == "obligations" and isinstance(value, list):
        return _obligations(value, _currency("currency", event, ctx, side))
    enum = ENUMS.get(f"{area}.{key}", ENUMS.get(key))
    if enum is not None and isinstance(value, str):
        return _enum(*enum, value)
    if isinstance(value, int):
        return number(value)
    if isinstance(value, list):
        return ", ".join(str(v) for v in value)
    return str(value)


def _enum(enum: type, table: dict, value: str) -> str:
    try:
        return str(table[enum(value)])
    except (ValueError, KeyError):
        return str(value)


def _currency(key: str, event: AuditEvent, ctx: Context, side: int | None) -> str | None:
    """Return the currency of an amount: beside it in the details, else the object's now."""
    currency = (event.details or {}).get(key)
    if isinstance(currency, list) and len(currency) == 2:
        currency = currency[1 if side is None else side]
    if not currency and event.object_type and event.object_id is not None:
        currency = ctx.currencies.get((event.object_type, event.object_id), {}).get(key)
    return currency or None


def _authority(value: dict[str, dict[str, int | None]]) -> str:
    parts = []
    for role, limits in value.items():
        amounts = ", ".join(_("no limit") if minor is None else money_parts(minor, currency)
                            for currency, minor in limits.items())
        parts.append(f"{_enum(Role, ROLE_LABELS, role)}: {amounts}")
    return "; ".join(parts)


def _obligations(value: list, currency: str | None) -> str:
    def amount(minor: Any) -> str:
        if not isinstance(minor, int):
            return ""
        return money_parts(minor, currency) if currency else number(minor)

    shown = []
    for item in value:
        if not isinstance(item, list) or len(item) != 4:
            shown.append(str(item))
            continue
        lender, kind, outstanding, monthly = item
        shown.append(_("%(lender)s (%(kind)s): %(outstanding)s owed, %(monthly)s a month",
                       lender=lender, kind=_enum(ObligationKind, OBLIGATION_KIND_LABELS, kind),
                       outstanding=amount(outstanding), monthly=amount(monthly)))
    return "; ".join(shown)
