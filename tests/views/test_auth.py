"""Logging in and out, sessions, CSRF, throttling, cookies and headers."""

from __future__ import annotations

import logging
import re
from datetime import timedelta

from sqlalchemy import select

from portal.db import utcnow
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


def _seed_failures(db, action, ages, *, ip="127.0.0.1", user=None):
    """Record failed attempts ``ages`` ago, as other workers or hosts would have."""
    now = utcnow()
    for age in ages:
        db.add(AuditEvent(action=action, ip=ip, at=now - age, actor=user.username if user else
                          "system", user_id=user.id if user else None))
    db.commit()


def _client_from(app, address):
    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = address
    return client


def _refused(response) -> int:
    """Assert ``response`` is the throttle's answer; return its Retry-After in seconds."""
    assert response.status_code == 429
    assert 'data-status="429"' in response.get_data(as_text=True)  # the portal's error page
    return int(response.headers["Retry-After"])


def _failures(db, action="auth.login_failed"):
    return db.execute(select(AuditEvent.ip, AuditEvent.details)
                      .where(AuditEvent.action == action).order_by(AuditEvent.id)).all()


def test_failed_logins_are_throttled(app, db, staff, caplog):
    app.config["LOGIN_RATE_LIMIT"] = "5 per hour"
    client = app.test_client()
    codes = [login(client, "clerk", "wrong-password").status_code for _ in range(5)]
    assert codes == [422] * 5
    with caplog.at_level(logging.WARNING, logger="portal.services.throttle"):
        retry_after = _refused(login(client, "nobody-here", "wrong-password"))
    assert 0 < retry_after <= 3600
    assert "throttled auth.login_failed for 'nobody-here' from 127.0.0.1" in caplog.text
    # The refused attempt is recorded as a failed login too, so it keeps counting.
    failures = _failures(db)
    assert len(failures) == 6
    assert failures[-1].details["throttled"] is True


def test_failures_recorded_by_other_workers_throttle_this_one(app, db, staff):
    app.config["LOGIN_RATE_LIMIT"] = "5 per hour"
    _seed_failures(db, "auth.login_failed", [timedelta(minutes=m) for m in (55, 54, 3, 2, 1)])
    client = app.test_client()
    retry_after = _refused(login(client, "clerk"))  # the right password is refused too
    # The refused attempt counts as well: free again once the failure 54 minutes ago leaves
    # the hour.
    assert 0 < retry_after <= 6 * 60
    assert client.get("/clients/").status_code == 302  # not logged in
    assert not db.scalars(select(UserSession)).all()
    assert "auth.login" not in db.scalars(select(AuditEvent.action)).all()
    assert _failures(db)[-1].details["throttled"] is True


def test_failures_older_than_the_window_do_not_count(app, db, staff):
    app.config["LOGIN_RATE_LIMIT"] = "5 per minute"
    _seed_failures(db, "auth.login_failed", [timedelta(minutes=m) for m in (5, 4, 3, 2, 1)])
    assert login(app.test_client(), "clerk").status_code == 302


def _without_token_times(response) -> str:
    """The page with the time in its CSRF tokens left out: a token is signed with the second
    it was made in, so two answers a moment apart may carry different ones."""
    page = response.get_data(as_text=True)
    return re.sub(r'("|value=")([\w-]+)\.[\w-]+\.[\w-]+"', r'\1\2"', page)


def test_login_throttle_counts_per_address(app, db, staff):
    app.config["LOGIN_RATE_LIMIT"] = "5 per hour"
    _seed_failures(db, "auth.login_failed", [timedelta(seconds=s) for s in range(1, 6)],
                   ip="10.0.0.1")
    attacker = _client_from(app, "10.0.0.1")
    # Unknown user and wrong password still get the same answer while throttled.
    unknown = login(attacker, "nobody-here", "wrong-password")
    wrong = login(attacker, "clerk", "wrong-password")
    assert _refused(unknown) and _refused(wrong)
    assert _without_token_times(unknown) == _without_token_times(wrong)
    colleague = _client_from(app, "10.0.0.2")
    assert login(colleague, "clerk", "wrong-password").status_code == 422
    assert login(colleague, "clerk").status_code == 302
    assert [row.ip for row in _failures(db)][-3:] == ["10.0.0.1", "10.0.0.1", "10.0.0.2"]


def test_password_change_records_a_wrong_current_password(app, db, staff):
    client = app.test_client()
    login(client, "clerk")
    response = post(client, "/account/password", {
        "current": "wrong-one", "new": "a-brand-new-secret", "confirm": "a-brand-new-secret",
    })
    assert response.status_code == 422
    rows = db.execute(select(AuditEvent.user_id, AuditEvent.ip)
                      .where(AuditEvent.action == "auth.password_failed")).all()
    assert rows == [(staff.clerk.id, "127.0.0.1")]


def test_wrong_current_passwords_are_throttled(app, db, staff):
    app.config["LOGIN_RATE_LIMIT"] = "5 per hour"
    client = app.test_client()
    login(client, "clerk")
    change = {"new": "a-brand-new-secret", "confirm": "a-brand-new-secret"}
    for _ in range(5):
        response = post(client, "/account/password", {"current": "wrong-one", **change})
        assert response.status_code == 422
    # Refused without looking at it, even the right current password.
    retry_after = _refused(post(client, "/account/password", {"current": PASSWORD, **change}))
    assert 0 < retry_after <= 3600
    assert len(_failures(db, "auth.password_failed")) == 6
    assert login(app.test_client(), "clerk").status_code == 302  # password unchanged


def test_password_throttle_follows_the_user_across_addresses(app, db, staff):
    app.config["LOGIN_RATE_LIMIT"] = "5 per hour"
    for n in range(5):
        _seed_failures(db, "auth.password_failed", [timedelta(minutes=1)],
                       ip=f"10.0.0.{n}", user=staff.clerk)
    clerk = _client_from(app, "10.0.1.1")
    login(clerk, "clerk")
    assert _refused(post(clerk, "/account/password", {
        "current": PASSWORD, "new": "a-brand-new-secret", "confirm": "a-brand-new-secret"}))
    # Another user at that address is not affected.
    other = _client_from(app, "10.0.1.1")
    login(other, "coordinator")
    assert post(other, "/account/password", {
        "current": "wrong-one", "new": "a-brand-new-secret", "confirm": "a-brand-new-secret",
    }).status_code == 422


def test_password_throttle_counts_per_address(app, db, staff):
    app.config["LOGIN_RATE_LIMIT"] = "5 per hour"
    _seed_failures(db, "auth.password_failed", [timedelta(minutes=1)] * 5,
                   user=staff.coordinator)
    clerk = app.test_client()
    login(clerk, "clerk")
    assert _refused(post(clerk, "/account/password", {
        "current": PASSWORD, "new": "a-brand-new-secret", "confirm": "a-brand-new-secret"}))


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


def test_pages_do_not_send_the_session_cookie_again(app, staff, as_role):
    # The login session ends a fixed time after login on the server, so a page that changes
    # nothing in the session does not sign and send the cookie again.
    clerk = as_role(Role.CLERK)
    clerk.get("/clients/")  # the first page may add the CSRF secret to the session
    response = clerk.get("/clients/")
    assert response.status_code == 200
    assert "Set-Cookie" not in response.headers
