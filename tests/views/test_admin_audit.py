"""User administration, one's own settings, the audit log, error pages and health."""

from __future__ import annotations

import ast
import re
from dataclasses import fields
from pathlib import Path

from flask_babel import force_locale
from sqlalchemy import select

from portal import labels
from portal.domain.ledger import EntryKind
from portal.domain.permissions import Role
from portal.domain.policy import Action
from portal.models import AuditEvent, Client, User
from portal.services.clients import ClientData
from tests.conftest import login, make_client, post

NEW_USER = {"username": "Uj.Kolléga", "full_name": "Új Kolléga", "email": "uj@example.hu",
            "role": "coordinator", "language": "hu", "active": "y",
            "password": "kezdo-jelszo-2026"}


def test_admin_creates_a_user_who_can_then_log_in(app, db, staff, as_role):
    admin = as_role(Role.ADMIN)
    bad = post(admin, "/admin/users/new", {**NEW_USER, "username": "has space"})
    assert bad.status_code == 422
    response = post(admin, "/admin/users/new", {**NEW_USER, "username": "uj.kollega"})
    assert response.status_code == 302
    user = db.scalar(select(User).where(User.username == "uj.kollega"))
    assert user.role is Role.COORDINATOR and user.language == "hu"
    assert user.password_hash.startswith("scrypt:")
    assert login(app.test_client(), "uj.kollega", "kezdo-jelszo-2026").status_code == 302
    event = db.scalar(select(AuditEvent).where(AuditEvent.action == "user.create"))
    assert event.actor == "admin" and event.object_label == "uj.kollega"


def test_duplicate_username_and_weak_password_are_refused(app, db, staff, as_role):
    admin = as_role(Role.ADMIN)
    taken = post(admin, "/admin/users/new", {**NEW_USER, "username": "CLERK"})
    assert taken.status_code == 422 and "This username is taken." in taken.get_data(as_text=True)
    weak = post(admin, "/admin/users/new", {**NEW_USER, "username": "peter",
                                            "password": "peter-12345"})
    assert weak.status_code == 422
    short = post(admin, "/admin/users/new", {**NEW_USER, "username": "anna", "password": "rövid"})
    assert short.status_code == 422
    assert db.scalar(select(User).where(User.username.in_(["peter", "anna"]))) is None


def test_admin_changes_a_role_and_the_user_is_logged_out(app, db, staff, as_role):
    clerk = as_role(Role.CLERK)
    admin = as_role(Role.ADMIN)
    response = post(admin, f"/admin/users/{staff.clerk.id}", {
        "username": "ignored-rename", "full_name": "Clerk Promoted", "role": "coordinator",
        "language": "", "active": "y"})
    assert response.status_code == 302
    db.expire_all()
    assert staff.clerk.role is Role.COORDINATOR and staff.clerk.username == "clerk"
    assert clerk.get("/clients/").status_code == 302  # old session ended with the old role
    event = db.scalar(select(AuditEvent).where(AuditEvent.action == "user.update"))
    assert event.details["role"] == ["clerk", "coordinator"]


def test_admin_cannot_demote_or_deactivate_themselves(app, db, staff, as_role):
    admin = as_role(Role.ADMIN)
    response = post(admin, f"/admin/users/{staff.admin.id}", {
        "username": "admin", "full_name": "Admin", "role": "admin", "language": ""})
    assert response.status_code == 422
    db.expire_all()
    assert staff.admin.active is True


def test_admin_resets_a_password(app, db, staff, as_role):
    clerk = as_role(Role.CLERK)
    response = post(as_role(Role.ADMIN), f"/admin/users/{staff.clerk.id}/password",
                    {"password": "uj-titkos-jelszo"})
    assert response.status_code == 302
    assert clerk.get("/clients/").status_code == 302
    assert login(app.test_client(), "clerk", "uj-titkos-jelszo").status_code == 302


def test_ordinary_forms_cannot_change_a_role(app, db, staff, as_role):
    """Role fields are only read by the admin's user form."""
    clerk = as_role(Role.CLERK)
    language = post(clerk, "/account/language", {"language": "hu", "role": "manager",
                                                  "next": "/"})
    created = post(clerk, "/clients/new", {"name": "X", "kind": "person", "status": "prospect",
                                           "income_currency": "HUF", "coordinator_id": "",
                                           "role": "manager"})
    assert (language.status_code, created.status_code) == (302, 302)  # both forms were saved
    db.expire_all()
    assert staff.clerk.language == "hu" and db.scalar(select(Client.name)) == "X"
    assert staff.clerk.role is Role.CLERK


def test_manager_browses_and_filters_the_audit_log(app, db, staff, as_role):
    row = make_client(db, "Napló Nándor", restricted=True, coordinator_id=staff.coordinator.id)
    as_role(Role.COORDINATOR).get(f"/clients/{row.id}")
    manager = as_role(Role.MANAGER)
    page = manager.get("/audit/").get_data(as_text=True)
    assert "client.view" in page and "auth.login" in page
    only = manager.get("/audit/?action=client.view&user=coordinator",
                       headers={"HX-Request": "true"})
    html = only.get_data(as_text=True)
    assert "<html" not in html and "1 event" in html and row.number in html
    none = manager.get("/audit/?user=clerk&action=client.view").get_data(as_text=True)
    assert "No event matches these filters." in none
    today = manager.get("/audit/?date_from=2000-01-01&date_to=2000-01-02").get_data(as_text=True)
    assert "0 events" in today


def test_error_pages_for_page_and_htmx_requests(app, staff, as_role):
    clerk = as_role(Role.CLERK)
    page = clerk.get("/no-such-page")
    fragment = clerk.get("/no-such-page", headers={"HX-Request": "true"})
    assert page.status_code == fragment.status_code == 404
    assert "<html" in page.get_data(as_text=True)
    assert "<html" not in fragment.get_data(as_text=True)
    assert 'data-status="404"' in fragment.get_data(as_text=True)
    wrong_method = clerk.delete("/clients/")
    assert wrong_method.status_code == 405 and "GET" in wrong_method.headers["Allow"]


def test_request_over_the_size_limit_gets_413(app, staff, as_role):
    app.config["MAX_CONTENT_LENGTH"] = 1024
    response = as_role(Role.CLERK).post("/clients/new", data={"name": "x" * 4096})
    assert response.status_code == 413


def test_healthz_reports_database_and_storage(app, tmp_path):
    response = app.test_client().get("/healthz")
    assert response.status_code == 200
    assert response.get_json() == {"status": "ok", "database": "ok", "storage": "ok",
                                   "search": "ok"}
    app.config["STORAGE_DIR"] = str(tmp_path / "gone")
    broken = app.test_client().get("/healthz")
    assert broken.status_code == 503 and broken.get_json()["storage"] == "error"


def test_user_list_shows_full_names_first_linked_to_the_edit_page(app, db, staff, as_role):
    html = as_role(Role.ADMIN).get("/admin/users").get_data(as_text=True)
    table = html[html.index('id="user-table"'):]
    head = re.findall(r'<th scope="col">([^<]+)</th>', table)
    assert head[:3] == ["Full name", "Username", "Role"]
    row = re.search(r"<tr[^>]*>\s*<td[^>]*>(.*?)</td>\s*<td[^>]*>(.*?)</td>",
                    table[table.index("<tbody>"):], re.S)
    first_user = db.scalar(select(User).order_by(User.full_name))
    assert row.group(1) == (f'<a href="/admin/users/{first_user.id}">'
                            f"{first_user.full_name}</a>")
    assert row.group(2) == first_user.username


def test_user_list_status_is_written_as_elsewhere(app, db, staff, as_role):
    staff.clerk.active = False
    staff.admin.language = "hu"
    db.commit()
    html = as_role(Role.ADMIN).get("/admin/users").get_data(as_text=True)
    statuses = re.findall(r'data-label="Állapot">(?:<span[^>]*>)?([^<]+)<', html)
    assert set(statuses) == {"Aktív", "Letiltva"}  # capitalised as the client statuses are


# The audit log in words --------------------------------------------------------------------

CLIENT_FORM = {
    "kind": "person", "name": "Napló Nándor", "tax_id": "", "postal_code": "1051",
    "city": "Budapest", "street": "", "phone": "", "email": "", "employer": "",
    "income": "450 000", "income_currency": "HUF", "status": "onboarding",
    "coordinator_id": "", "language": "hu",
}


def _name_staff(db, staff) -> None:
    staff.coordinator.full_name = "Kiss Katalin"
    staff.manager.full_name = "Nagy Márta"
    staff.clerk.full_name = "Tóth Tamás"
    db.commit()


def _table(client, query: str = "") -> str:
    """The log's rows alone (the htmx fragment, without the filter's choices)."""
    html = client.get(f"/audit/{query}", headers={"HX-Request": "true"}).get_data(as_text=True)
    return html[html.index("<tbody>"):html.index("</tbody>")]


def _cells(table: str) -> list[list[str]]:
    rows = re.findall(r"<tr>(.*?)</tr>", table.replace("\xa0", " "), re.S)
    return [[re.sub(r"<[^>]+>", "", c).strip() for c in re.findall(r"<td[^>]*>(.*?)</td>", r,
                                                                     re.S)] for r in rows]


def test_audit_log_shows_actions_fields_and_values_in_words(app, db, staff, as_role):
    _name_staff(db, staff)
    manager = as_role(Role.MANAGER)
    created = post(manager, "/clients/new", {**CLIENT_FORM,
                                             "coordinator_id": str(staff.coordinator.id),
                                             "restricted": "y"})
    assert created.status_code == 302
    client = db.scalar(select(Client).where(Client.name == "Napló Nándor"))
    as_role(Role.CLERK).get(f"/clients/{client.id}")  # refused: restricted
    table = _table(manager)
    for code in ("auth.login", "client.create", "client.view_denied", "income_minor",
                 "coordinator_id", "restricted:", "∅", "✓", "✗", "450000"):
        assert code not in table, code
    cells = _cells(table)
    actions = [row[2] for row in cells]
    assert actions[:4] == ["Client refused (restricted)", "Logged in", "Client created",
                           "Logged in"]
    refused, creation = cells[0], cells[2]
    assert refused[1] == "Tóth Tamás (clerk)" and refused[3] == client.number
    assert creation[1] == "Nagy Márta (manager)"
    details = creation[5]
    assert "Monthly income: HUF 450,000" in details
    assert "Coordinator: Kiss Katalin" in details
    assert "Restricted: yes" in details
    assert "Kind: Person" in details and "Status: Onboarding" in details
    assert "Language of letters and decisions: Magyar" in details


def test_a_change_reads_before_and_after_in_words(app, db, staff, as_role):
    _name_staff(db, staff)
    row = make_client(db, "Előtte Elek", income_minor=450_000, income_currency="HUF")
    manager = as_role(Role.MANAGER)
    edited = post(manager, f"/clients/{row.id}/edit",
                  {**CLIENT_FORM, "name": "Előtte Elek", "income": "520 000",
                   "coordinator_id": str(staff.coordinator.id), "restricted": "y",
                   "status": "active", "version": str(row.version)})
    assert edited.status_code == 302, edited.get_data(as_text=True)[:300]
    change = next(r for r in _cells(_table(manager)) if r[2] == "Client changed")
    details = change[5]
    assert "Monthly income: HUF 450,000 → HUF 520,000" in details
    assert "Coordinator: not set → Kiss Katalin" in details
    assert "Restricted: no → yes" in details
    assert "Postal code: not set → 1051" in details


def test_audit_log_in_hungarian(app, db, staff, as_role):
    _name_staff(db, staff)
    staff.manager.language = "hu"
    db.commit()
    manager = as_role(Role.MANAGER)
    assert post(manager, "/clients/new", CLIENT_FORM).status_code == 302
    cells = _cells(_table(manager))
    assert [row[2] for row in cells[:2]] == ["Ügyfél létrehozva", "Bejelentkezett"]
    assert "Havi jövedelem: 450 000 Ft" in cells[0][5]
    assert "Korlátozott: nem" in cells[0][5]
    assert "Levelek és döntések nyelve: Magyar" in cells[0][5]


def test_failed_logins_name_the_user_or_the_name_tried(app, db, staff, as_role):
    _name_staff(db, staff)
    assert login(app.test_client(), "nincs.ilyen", "rossz-jelszo").status_code != 302
    assert login(app.test_client(), "clerk", "rossz-jelszo").status_code != 302
    cells = _cells(_table(as_role(Role.MANAGER), "?action=auth.login_failed"))
    assert [(row[1], row[2]) for row in cells] == [
        ("Tóth Tamás (clerk)", "Failed login"),
        ("Unknown user", "Failed login as “nincs.ilyen”"),
    ]
    assert not any("system" in cell.lower() for row in cells for cell in row)


def test_the_action_filter_offers_words_sorted_by_them(app, db, staff, as_role):
    staff.manager.language = "hu"
    db.commit()
    manager = as_role(Role.MANAGER)
    assert post(manager, "/clients/new", CLIENT_FORM).status_code == 302
    login(app.test_client(), "nincs.ilyen", "rossz-jelszo")
    html = manager.get("/audit/").get_data(as_text=True)
    select_html = html[html.index('name="action"'):]
    select_html = select_html[:select_html.index("</select>")]
    options = re.findall(r'<option[^>]*value="([^"]*)"[^>]*>([^<]*)</option>', select_html)
    assert options[0] == ("", "Minden művelet")
    offered = dict(options[1:])
    assert offered == {"auth.login": "Bejelentkezett", "auth.login_failed":
                       "Sikertelen bejelentkezés", "client.create": "Ügyfél létrehozva"}
    labels = [label for _, label in options[1:]]
    assert labels == ["Bejelentkezett", "Sikertelen bejelentkezés", "Ügyfél létrehozva"]


# Every action and detail the code records has words ------------------------------------

PORTAL = Path(__file__).resolve().parents[2] / "portal"
#: Actions built with an f-string: ``f"<area>.{member.value}"`` over an enum.
ACTION_FAMILIES = {"ledger": EntryKind, "review": Action}


class _Source:
    """Every module of the portal, parsed, with what the action finder needs to look up."""

    def __init__(self) -> None:
        self.trees = {path: ast.parse(path.read_text(encoding="utf-8"))
                      for path in sorted(PORTAL.rglob("*.py"))}
        self.parents: dict[ast.AST, ast.AST] = {}
        self.constants: dict[str, str] = {}
        for tree in self.trees.values():
            for node in ast.walk(tree):
                for child in ast.iter_child_nodes(node):
                    self.parents[child] = node
            for node in tree.body:  # module-level NAME = "text"
                if isinstance(node, ast.Assign) and isinstance(node.value, ast.Constant) \
                        and isinstance(node.value.value, str):
                    for target in node.targets:
                        if isinstance(target, ast.Name):
                            self.constants[target.id] = node.value.value

    def function_of(self, node: ast.AST) -> ast.FunctionDef | None:
        while node in self.parents:
            node = self.parents[node]
            if isinstance(node, ast.FunctionDef):
                return node
        return None

    def calls(self, name: str):
        for path, tree in self.trees.items():
            for node in ast.walk(tree):
                if isinstance(node, ast.Call) and name in (
                        getattr(node.func, "id", None), getattr(node.func, "attr", None)):
                    yield path, node

    def values(self, expr: ast.AST, where: str) -> set[str]:
        """Every text ``expr`` can be, or a failure naming the place it cannot be told."""
        if isinstance(expr, ast.Constant):
            return set() if expr.value is None else {expr.value}
        if isinstance(expr, ast.IfExp):
            return self.values(expr.body, where) | self.values(expr.orelse, where)
        if isinstance(expr, ast.JoinedStr):
            prefix = expr.values[0].value if isinstance(expr.values[0], ast.Constant) else ""
            area = prefix.rstrip(".")
            assert area in ACTION_FAMILIES, f"{where}: teach this test the family {prefix!r}"
            return {f"{area}.{member.value}" for member in ACTION_FAMILIES[area]}
        if isinstance(expr, ast.Attribute) and expr.attr in self.constants:
            return {self.constants[expr.attr]}
        if isinstance(expr, ast.Name):
            function = self.function_of(expr)
            if function is not None:
                assigned = [node.value for node in ast.walk(function)
                            if isinstance(node, ast.Assign) and any(
                                getattr(t, "id", None) == expr.id for t in node.targets)]
                if assigned:
                    return set().union(*(self.values(v, where) for v in assigned))
                params = function.args.args + function.args.kwonlyargs
                names = [p.arg for p in params]
                if expr.id in names:
                    return self._argument(function, names, expr.id, where)
            if expr.id in self.constants:
                return {self.constants[expr.id]}
        raise AssertionError(f"{where}: cannot tell which action {ast.unparse(expr)} is")

    def _argument(self, function: ast.FunctionDef, names: list[str], name: str,
                  where: str) -> set[str]:
        found: set[str] = set()
        defaults = dict(zip(reversed([p.arg for p in function.args.args]),
                            reversed(function.args.defaults), strict=False))
        defaults.update({p.arg: d for p, d in zip(function.args.kwonlyargs,
                                                  function.args.kw_defaults, strict=True) if d})
        if name in defaults:
            found |= self.values(defaults[name], where)
        position = [p.arg for p in function.args.args].index(name) \
            if name in [p.arg for p in function.args.args] else None
        for path, call in self.calls(function.name):
            place = f"{path.relative_to(PORTAL.parent)}:{call.lineno}"
            for keyword in call.keywords:
                if keyword.arg == name:
                    found |= self.values(keyword.value, place)
            if position is not None and position < len(call.args):
                found |= self.values(call.args[position], place)
        return found


def _recorded() -> tuple[dict[str, str], dict[str, set[str]]]:
    """Return every action the code records (with a place) and each area's detail keys."""
    source = _Source()
    actions: dict[str, str] = {}
    keys: dict[str, set[str]] = {}
    for path, call in source.calls("record"):
        if getattr(call.func, "value", None) is None or \
                getattr(call.func.value, "id", None) != "audit":
            continue
        where = f"{path.relative_to(PORTAL.parent)}:{call.lineno}"
        action = call.args[2] if len(call.args) > 2 else next(
            k.value for k in call.keywords if k.arg == "action")
        found = source.values(action, where)
        for name in found:
            actions.setdefault(name, where)
        details = next((k.value for k in call.keywords if k.arg == "details"), None)
        for area in {name.split(".")[0] for name in found}:
            keys.setdefault(area, set()).update(_keys(source, details))
    return actions, keys


def _keys(source: _Source, expr: ast.AST | None) -> set[str]:
    """The keys of a details expression: a dict, ``audit.diff(before, after)``, a name."""
    if isinstance(expr, ast.Dict):
        found = {k.value for k in expr.keys if isinstance(k, ast.Constant)}
        for key, value in zip(expr.keys, expr.values, strict=True):
            if key is None:  # {**audit.diff(...), ...}
                found |= _keys(source, value)
        return found
    if isinstance(expr, ast.Call) and getattr(expr.func, "attr", None) == "diff":
        return _keys(source, expr.args[1])
    if isinstance(expr, ast.Name):
        function = source.function_of(expr)
        assigned = [node.value for node in ast.walk(function) if isinstance(node, ast.Assign)
                    and any(getattr(t, "id", None) == expr.id for t in node.targets)]
        return set().union(*(_keys(source, value) for value in assigned))
    return set()


def test_every_recorded_action_has_words():
    actions, _keys_by_area = _recorded()
    assert {"auth.login", "auth.login_failed", "auth.password_failed", "document.open",
            "document.download", "document.view", "ledger.payment", "review.approve",
            "write_off.reject", "client.view_denied"} <= set(actions)
    missing = {action: where for action, where in actions.items()
               if action not in labels.AUDIT_ACTION_LABELS}
    assert missing == {}, "add these to AUDIT_ACTION_LABELS in portal/labels.py"


def test_every_recorded_detail_and_client_field_has_words():
    _actions, keys = _recorded()
    keys.setdefault("client", set()).update(f.name for f in fields(ClientData))
    keys.setdefault("user", set()).update(("full_name", "email", "role", "active", "language"))
    assert {"income_minor", "coordinator_id", "restricted"} <= keys["client"]
    assert {"amount", "currency", "booked_on"} <= keys["ledger"]
    missing = {f"{area}.{key}" for area, found in keys.items() for key in found
               if f"{area}.{key}" not in labels.AUDIT_FIELD_LABELS
               and key not in labels.AUDIT_FIELD_LABELS}
    assert missing == set(), "add these to AUDIT_FIELD_LABELS in portal/labels.py"


def test_audit_words_are_translated_to_hungarian(app):
    tables = [labels.AUDIT_ACTION_LABELS, labels.AUDIT_FIELD_LABELS]
    with app.test_request_context(), force_locale("hu"):
        same = [str(label) for table in tables for label in table.values()
                if str(label) == label._args[0]]
    assert same == []


def _words(event: AuditEvent, ctx=None) -> tuple[str, str, str, str]:
    from portal.blueprints.audit import present
    from portal.services.audit import Context

    row = present.rows([event], ctx or Context())[0]
    def shown(value: str | None) -> str:
        return "not set" if value is None else value

    details = " ".join(f"{d.label}: {shown(d.before)} → {shown(d.value)}" if d.changed else
                       f"{d.label}: {d.value}" for d in row.details).replace("\xa0", " ")
    return row.who, row.action, row.object, details


def test_policy_reviews_and_throttling_read_as_words(app):
    with app.test_request_context(), force_locale("en"):
        policy = AuditEvent(user_id=None, actor="system", action="policy.save",
                            object_type="policy", object_id=3, object_label="v3", details={
                                "effective_from": "2026-12-01", "max_dti_bp": 4000,
                                "min_bureau_score": 600, "max_income_multiple_x100": 450,
                                "required_items": ["bureau", "employment"],
                                "authority": {"coordinator": {"HUF": 5_000_000, "EUR": None}},
                                "review_months": {"high": 6, "low": 24}})
        assert _words(policy) == (
            "System", "Credit policy saved", "Credit policy, version 3",
            "In force from: 1 Dec 2026 Largest debt-to-income ratio (%): 40%"
            " Lowest credit-bureau score: 600"
            " Largest limit, as a multiple of monthly income: 4.5×"
            " Verification required before a decision: Credit-bureau report,"
            " Employment reference"
            " Approval authority: Coordinator: HUF 5,000,000, no limit"
            " Periodic review after (months): High risk: 6; Low risk: 24")
        update = AuditEvent(user_id=None, actor="system", action="review.update",
                            object_type="review", object_id=9, object_label="C000009", details={
                                "kind": ["new_limit", "limit_increase"],
                                "requested": [100_000_00, 150_000_00],
                                "currency": ["HUF", "EUR"],
                                "obligations": [[], [["OTP", "car_loan", 2_000_000, 50_000]]]})
        assert _words(update)[3] == (
            "Kind of review: New limit → Limit increase"
            " Requested limit: HUF 10,000,000 → € 150,000.00 Currency: HUF → EUR"
            " Obligations: not set → OTP (Car loan): € 20,000.00 owed, € 500.00 a month")
        throttled = AuditEvent(user_id=None, actor="system", action="auth.login_failed",
                               object_label="nobody", details={"throttled": True,
                                                               "retry_after": 42})
        assert _words(throttled) == ("Unknown user", "Failed login as “nobody”", "",
                                     "Refused: too many attempts: yes"
                                     " Next try allowed after: 42 seconds")


def test_the_user_filter_takes_a_username_or_part_of_a_full_name(app, db, staff, as_role):
    _name_staff(db, staff)
    as_role(Role.CLERK)
    manager = as_role(Role.MANAGER)
    for typed in ("clerk", "Tóth", "tamás"[:3]):
        who = {row[1] for row in _cells(_table(manager, f"?user={typed}"))}
        assert who == {"Tóth Tamás (clerk)"}, typed
    assert _cells(_table(manager, "?user=50%")) == [["No event matches these filters."]]
