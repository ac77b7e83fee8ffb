"""User administration, one's own settings, the audit log, error pages and health."""

from __future__ import annotations

import re

from sqlalchemy import select

from portal.domain.permissions import Role
from portal.models import AuditEvent, Client, User
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
    row = re.search(r"<tr[^>]*>\s*<td>(.*?)</td>\s*<td[^>]*>(.*?)</td>",
                    table[table.index("<tbody>"):], re.S)
    first_user = db.scalar(select(User).order_by(User.full_name))
    assert row.group(1) == (f'<a href="/admin/users/{first_user.id}">'
                            f"{first_user.full_name}</a>")
    assert row.group(2) == first_user.username
