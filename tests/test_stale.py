"""The stale-edit helper on a form of its own: what it remembers, compares and marks."""

from __future__ import annotations

import json

from werkzeug.datastructures import MultiDict
from wtforms import BooleanField, Form, SelectField, StringField
from wtforms.fields.choices import SelectChoice

from portal.stale import TracksOriginal, mark_changes, remember


class _Form(TracksOriginal, Form):
    name = StringField("Name")
    colour = SelectField("Colour", choices=[SelectChoice("r", "Red"), SelectChoice("g", "Green")])
    urgent = BooleanField("Urgent")
    secret = StringField("Secret")


def _opened(**data) -> _Form:
    form = _Form(data={"name": "Anna", "colour": "r", "urgent": False, "secret": "s1", **data})
    remember(form)
    return form


def test_only_the_fields_changed_since_opening_are_marked_with_both_values(app):
    original = _opened().original.data
    sent = _Form(MultiDict({"name": "Anna Mária", "colour": "r", "original": original,
                            "secret": "s1"}))
    with app.test_request_context(headers={"Accept-Language": "en"}):
        changes = mark_changes(sent, _opened(colour="g", urgent=True))
    assert [(c.name, c.theirs, c.yours) for c in changes] == [
        ("colour", "Green", "Red"), ("urgent", "yes", "no")]
    assert sent.colour.change.label == "Colour" and not getattr(sent.name, "change", None)
    # The form now carries what the record holds, so sending it again is not stale.
    assert json.loads(sent.original.data)["colour"] == "g"


def test_without_an_original_the_fields_that_differ_from_the_record_are_marked(app):
    sent = _Form(MultiDict({"name": "Béla", "colour": "r", "secret": "s1"}))
    with app.test_request_context(headers={"Accept-Language": "en"}):
        changes = mark_changes(sent, _opened())
    assert [(c.name, c.theirs, c.yours) for c in changes] == [("name", "Anna", "Béla")]


def test_untracked_fields_are_never_remembered_or_marked(app):
    current = _Form(data={"name": "Anna", "colour": "r", "secret": "s2"})
    current.untracked = frozenset({"secret"})
    remember(current)
    assert "secret" not in json.loads(current.original.data)
    sent = _Form(MultiDict({"name": "Anna", "colour": "r", "secret": "mine",
                            "original": _opened().original.data}))
    with app.test_request_context(headers={"Accept-Language": "en"}):
        assert mark_changes(sent, current) == []
