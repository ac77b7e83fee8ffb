"""Every enum value has one label, in ``portal.labels``, translated, used everywhere."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest
from flask_babel import force_locale

from portal import labels
from portal.domain.onboarding import Step
from portal.domain.permissions import Role
from portal.filing.sniff import ACCEPTED
from portal.models.clients import ClientKind, ClientStatus
from portal.models.documents import DocType, TextStatus

PORTAL = Path(labels.__file__).parent
ENUM_LABELS = [
    (Role, labels.ROLE_LABELS),
    (ClientKind, labels.KIND_LABELS),
    (ClientStatus, labels.STATUS_LABELS),
    (Step, labels.STEP_LABELS),
    (DocType, labels.TYPE_LABELS),
    (TextStatus, labels.TEXT_STATUS_LABELS),
]


@pytest.mark.parametrize(("enum", "table"), ENUM_LABELS, ids=lambda x: getattr(x, "__name__", ""))
def test_every_enum_value_has_a_label(enum, table):
    assert set(table) == set(enum)


def test_every_accepted_file_type_has_a_label():
    assert set(labels.MIME_LABELS) == set(ACCEPTED)


def test_labels_import_without_flask_or_blueprints():
    code = ("import sys, portal.labels; "
            "assert not [m for m in sys.modules if m.startswith('portal.blueprints')]; "
            "print(sorted(str(v) for v in portal.labels.KIND_LABELS.values()) and 'ok')")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            cwd=PORTAL.parent, check=False)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "ok"


def _label_tables(path: Path) -> list[str]:
    """Return the names of module-level ``*_LABELS`` tables a module defines itself."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names = []
    for node in tree.body:
        targets = node.targets if isinstance(node, ast.Assign) else \
            [node.target] if isinstance(node, ast.AnnAssign) else []
        names += [t.id for t in targets if isinstance(t, ast.Name) and t.id.endswith("_LABELS")]
    return names


def test_no_module_but_labels_defines_label_tables():
    defined = {str(path.relative_to(PORTAL)): _label_tables(path)
               for path in PORTAL.rglob("*.py") if path.name != "labels.py"}
    assert {path: names for path, names in defined.items() if names} == {}


def test_forms_offer_the_labels_of_portal_labels(app):
    from portal.blueprints.admin.forms import UserForm
    from portal.blueprints.clients.forms import ClientForm
    from portal.blueprints.documents.forms import UploadForm

    with app.test_request_context():
        for form, field, table in [(UserForm, "role", labels.ROLE_LABELS),
                                   (ClientForm, "kind", labels.KIND_LABELS),
                                   (ClientForm, "status", labels.STATUS_LABELS),
                                   (UploadForm, "doc_type", labels.TYPE_LABELS)]:
            choices = {c.value: c.label for c in form(meta={"csrf": False})[field].choices}
            assert choices == {member.value: label for member, label in table.items()}


def test_labels_are_translated_to_hungarian(app):
    tables = [table for _, table in ENUM_LABELS] + [labels.MIME_LABELS]
    with app.test_request_context(), force_locale("hu"):
        untranslated = [str(label) for table in tables for label in table.values()
                        if str(label) == getattr(label, "_args", (None, str(label)))[-1]
                        and str(label) != "PDF"]
    assert untranslated == []


def test_rule_reasons_read_as_sentences_with_their_figures(app):
    from fractions import Fraction

    from portal.domain.policy import Rule

    with app.test_request_context():
        with force_locale("en"):
            assert labels.rule_reason(Rule.INCOME_MULTIPLE, "ok", Fraction(29, 10), 6) == (
                "The limit is 2.9× monthly income, within the 6× maximum.")
            assert labels.rule_reason(Rule.DTI, "over", Fraction(45, 100), Fraction(2, 5)) == (
                "45% is over the 40% maximum.")
        with force_locale("hu"):
            assert labels.rule_reason(Rule.INCOME_MULTIPLE, "over", 7, 6) == (
                "A hitelkeret a havi jövedelem 7×, meghaladja a felső határt (6×).")
            assert labels.percent(Fraction(425, 1000)) == "42,5%"
