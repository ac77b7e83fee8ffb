"""Logging in and out, sessions, CSRF, throttling, cookies and headers."""

from __future__ import annotations

from sqlalchemy import select

from portal.domain.permissions import Role
from portal.models import AuditEvent, UserSession
from tests.conftest import PASSWORD, csrf_token, login, post


def _cookie(response, name="portal_session") -> str:
    for header in response.headers.getlist("Set-Cookie"):
        if header.startswith(name + "="):
            return header
    raise AssertionError(f"no {name} cookie set")


def test_login_lands_on_clients_and_records_the_event(app, db, staff):
    client = app.test_client()
    response = login(client, "coordinator")
    assert response.status_code == 302
    assert response.headers["Location"] == "/"
    assert client.get("/clients/").status_code == 200
    actions = db.scalars(select(AuditEvent.action)).all()
    assert "auth.login" in actions


def test_unknown_user_and_wrong_password_get_the_same_answer(app, db, staff):
    client = app.test_client()
    unknown = login(client, "nobody-here", PASSWORD)
    wrong = login(client, "clerk", "not-the-password")
    assert unknown.status_code == wrong.status_code == 422

    def message(response):
        html = response.get_data(as_text=True)
        return html[html.index('class="field-error"'):][:200]

    assert message(unknown) == message(wrong)
    failures = db.scalars(
        select(AuditEvent.object_label).where(AuditEvent.action == "auth.login_failed")
    ).all()
    assert sorted(failures) == ["clerk", "nobody-here"]


def test_deactivated_user_cannot_log_in(app, db, staff):
    staff.clerk.active = False
    db.commit()
    assert login(app.test_client(), "clerk").status_code == 422


def test_failed_logins_are_throttled(app, staff):
    client = app.test_client()
    codes = [login(client, "clerk", "wrong-password").status_code for _ in range(6)]
    assert codes[:5] == [422] * 5
    assert codes[5] == 429
    # Even the right password is refused while throttled.
    assert login(client, "clerk").status_code == 429


def test_successful_logins_do_not_count_towards_the_throttle(app, staff):
    client = app.test_client()
    for _ in range(7):
        assert login(client, "clerk").status_code == 302
        post(client, "/logout")


def test_session_cookie_flags(app, staff):
    client = app.test_client()
    cookie = _cookie(login(client, "clerk"))
    assert "HttpOnly" in cookie
    assert "SameSite=Lax" in cookie
    assert "Secure" not in cookie  # plain HTTP in development


def test_session_cookie_is_secure_over_https(app, staff):
    client = app.test_client()
    token = csrf_token(client)
    response = client.post(
        "/login", base_url="https://localhost",
        data={"username": "clerk", "password": PASSWORD, "csrf_token": token},
        headers={"Referer": "https://localhost/login"},
    )
    assert response.status_code == 302
    assert "Secure" in _cookie(response)
    assert "Strict-Transport-Security" in response.headers


def test_session_is_rotated_at_login(app, staff):
    client = app.test_client()
    client.get("/login")
    with client.session_transaction() as before:
        before["planted"] = "by an attacker"
    login(client, "clerk")
    with client.session_transaction() as after:
        assert "planted" not in after
        assert after["_user_id"]


def test_old_cookie_is_dead_after_logout(app, staff):
    client = app.test_client()
    login(client, "clerk")
    stolen = client.get_cookie("portal_session").value
    assert post(client, "/logout").status_code == 302
    replay = app.test_client()
    replay.set_cookie("portal_session", stolen)
    response = replay.get("/clients/")
    assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_password_change_ends_other_sessions_but_keeps_this_one(app, db, staff):
    laptop, phone = app.test_client(), app.test_client()
    login(laptop, "clerk")
    login(phone, "clerk")
    old_cookie = laptop.get_cookie("portal_session").value
    response = post(laptop, "/account/password", {
        "current": PASSWORD, "new": "a-brand-new-secret", "confirm": "a-brand-new-secret",
    })
    assert response.status_code == 302
    assert laptop.get("/clients/").status_code == 200  # the changer stays logged in
    assert phone.get("/clients/").status_code == 302  # every other session ended
    replay = app.test_client()
    replay.set_cookie("portal_session", old_cookie)
    assert replay.get("/clients/").status_code == 302  # and the pre-change cookie is dead
    assert login(app.test_client(), "clerk", "a-brand-new-secret").status_code == 302


def test_password_change_refuses_a_wrong_current_password(app, staff):
    client = app.test_client()
    login(client, "clerk")
    response = post(client, "/account/password", {
        "current": "wrong-one", "new": "a-brand-new-secret", "confirm": "a-brand-new-secret",
    })
    assert response.status_code == 422
    assert login(app.test_client(), "clerk").status_code == 302  # old password still works


def test_deactivation_ends_sessions_at_once(app, db, staff, as_role):
    clerk = as_role(Role.CLERK)
    admin = as_role(Role.ADMIN)
    response = post(admin, f"/admin/users/{staff.clerk.id}", {
        "username": "clerk", "full_name": "Clerk", "role": "clerk", "language": "",
    })  # "active" unticked
    assert response.status_code == 302
    assert clerk.get("/clients/").status_code == 302
    sessions = db.scalars(select(UserSession).where(UserSession.user_id == staff.clerk.id)).all()
    assert sessions and all(s.revoked_at is not None for s in sessions)


def test_post_without_csrf_token_is_refused(app, staff, as_role):
    client = as_role(Role.CLERK)
    response = client.post("/clients/new", data={"name": "No Token", "kind": "person"})
    assert response.status_code == 400


def test_post_with_another_sessions_csrf_token_is_refused(app, staff, as_role):
    mine = as_role(Role.CLERK)
    foreign_token = csrf_token(as_role(Role.COORDINATOR), "/account/")
    response = mine.post("/clients/new", data={"name": "Foreign", "kind": "person",
                                               "status": "prospect",
                                               "csrf_token": foreign_token})
    assert response.status_code == 400


def test_htmx_requests_carry_the_token_in_a_header(app, db, staff, as_role):
    from tests.conftest import make_client

    client_row = make_client(db)
    clerk = as_role(Role.CLERK)
    token = csrf_token(clerk, "/clients/")
    url = f"/clients/{client_row.id}/steps/identity_verified"
    refused = clerk.post(url, data={"done": "1"}, headers={"HX-Request": "true"})
    assert refused.status_code == 400
    accepted = clerk.post(url, data={"done": "1"},
                          headers={"HX-Request": "true", "X-CSRFToken": token})
    assert accepted.status_code == 200


def test_login_redirects_only_to_local_paths(app, staff):
    client = app.test_client()
    token = csrf_token(client)
    for target, expected in [("/clients/?q=x", "/clients/?q=x"),
                             ("https://evil.example/", "/"), ("//evil.example/", "/"),
                             ("/\\evil.example/", "/"), ("/%5Cevil.example/", "/")]:
        client = app.test_client()
        token = csrf_token(client)
        response = client.post(f"/login?next={target}", data={
            "username": "clerk", "password": PASSWORD, "csrf_token": token})
        assert response.headers["Location"] == expected


def test_security_headers_on_every_page(app, staff, as_role):
    client = as_role(Role.CLERK)
    for path in ("/login", "/clients/", "/healthz", "/no-such-page"):
        response = client.get(path)
        csp = response.headers["Content-Security-Policy"]
        assert "unsafe-inline" not in csp and "unsafe-eval" not in csp
        assert "frame-ancestors 'none'" in csp
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        assert response.headers["Referrer-Policy"] == "same-origin"
        assert response.headers["Cache-Control"] == "no-store"


def test_pages_have_no_inline_scripts_or_styles(app, staff, as_role):
    """The CSP forbids them, so a page that had one would break in the browser."""
    import re

    client = as_role(Role.MANAGER)
    for path in ("/clients/", "/clients/new", "/audit/", "/account/"):
        html = client.get(path).get_data(as_text=True)
        assert not re.search(r"<script(?![^>]*\bsrc=)", html), path
        assert " style=" not in html and "<style" not in html, path
        assert " on" not in re.sub(r"\s(one|only|onboarding)\b", "", html).lower() or \
            not re.search(r"\son[a-z]+=", html), path
