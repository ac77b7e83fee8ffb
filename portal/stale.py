"""Stale edits: which fields a colleague changed since a form was opened, beside the user's.

An edit form carries, in the hidden field ``original``, its values as they were when it was
opened. When saving is refused because the record changed meanwhile (409), the view fills the
same form class from the record as it is now and calls ``mark_changes``: every field whose
value differs between the two snapshots is marked (``field.change``) with the colleague's
value and the user's, which the ``field`` macro shows; the form then carries the current
values as its new ``original``, so saving it again is a decision to overwrite, and succeeds.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date

from flask_babel import gettext as _
from wtforms import Form, HiddenField
from wtforms.fields import BooleanField, SelectFieldBase

#: Fields never compared: the form's own machinery.
_SKIPPED = frozenset({"csrf_token", "original", "version"})


class TracksOriginal:
    """Mixin of an edit form: ``original`` holds the values it was opened with (JSON)."""

    original = HiddenField()
    #: Names of fields the user is not shown: never remembered, compared or marked.
    untracked: frozenset[str] = frozenset()


@dataclass(frozen=True)
class Change:
    """A field a colleague changed: their (current) value and the user's, as shown."""

    name: str
    label: str
    theirs: str
    yours: str


def _raw(field) -> str:
    """Return a field's value as a comparable string."""
    data = field.data
    if isinstance(field, BooleanField):
        return "1" if data else ""
    if isinstance(data, list | tuple):
        return ",".join(sorted(str(v) for v in data))
    if isinstance(data, date):
        return data.isoformat()
    if isinstance(field, SelectFieldBase):
        return "" if data is None else str(data)
    value = field._value() if hasattr(field, "_value") else data
    return "" if value is None else str(value).strip()


def shown(field) -> str:
    """Return a field's value as the user reads it: a choice's label, yes or no, the text."""
    if isinstance(field, BooleanField):
        return _("yes") if field.data else _("no")
    if isinstance(field, SelectFieldBase):
        return ", ".join(str(label) for _value, label, selected, *_rest in field.iter_choices()
                         if selected)
    return _raw(field)


def values(form: Form) -> dict[str, str]:
    """Return the comparable values of a form's fields (its machinery and the fields the user
    is not shown left out)."""
    skip = _SKIPPED | getattr(form, "untracked", frozenset())
    return {field.name: _raw(field) for field in form
            if field.name not in skip and field.type != "SubmitField"}


def remember(form: Form) -> None:
    """Record the form's current values as the ones it was opened with."""
    form.original.data = json.dumps(values(form), ensure_ascii=False, sort_keys=True)


def opened_with(form: Form) -> dict[str, str] | None:
    """Return the values the form was opened with, or None when it does not say."""
    try:
        snapshot = json.loads(form.original.data or "")
    except ValueError:
        return None
    if not isinstance(snapshot, dict):
        return None
    return {str(k): str(v) for k, v in snapshot.items()}


def mark_changes(form: Form, current: Form) -> list[Change]:
    """Mark the fields of ``form`` (the user's input) that changed between its ``original`` and
    ``current`` (the same form filled from the record as it is now); then make ``current``'s
    values the form's ``original``. Return the changes in the form's order.

    When the form carries no original (sent by an older page), every field whose current
    value differs from the user's is marked.
    """
    before = opened_with(form)
    now = values(current)
    yours = values(form)
    changes = []
    for name, value in now.items():
        if name not in yours:
            continue
        changed = before.get(name, value) != value if before is not None else \
            yours[name] != value
        if not changed:
            continue
        change = Change(name=name, label=str(form[name].label.text),
                        theirs=shown(current[name]), yours=shown(form[name]))
        form[name].change = change
        changes.append(change)
    remember(current)
    form.original.data = current.original.data
    return changes
