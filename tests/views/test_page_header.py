"""The page header is rendered once per language, user name, role and page, then kept: what
belongs to one request (the CSRF token, the language switch's return path) must still be that
request's, and what belongs to one user must never reach another."""

from __future__ import annotations

import re

from portal.domain.permissions import Role
from tests.conftest import make_user

_HEADER = re.compile(r'<header class="portal-header">.*?</header>', re.S)
_TOKENS = re.compile(r'name="csrf_token" value="([^"]+)"')
_NEXT = re.compile(r'name="next" value="([^"]*)"')


def _header(client, path: str) -> str:
    response = client.get(path)
    assert response.status_code == 200
    return _HEADER.search(response.get_data(as_text=True)).group(0)


def test_users_of_one_role_each_see_their_own_name(app, db, staff, as_role):
    make_user(db, "clerk2", Role.CLERK, full_name="Második Klára")
    first, second = as_role("clerk"), as_role("clerk2")
    assert staff.clerk.full_name in _header(first, "/clients/")
    mine = _header(second, "/clients/")
    assert "Második Klára" in mine and staff.clerk.full_name not in mine
    assert "Második Klára" not in _header(first, "/clients/")


def test_each_request_gets_its_own_token_and_return_path(app, staff, as_role):
    first, second = as_role(Role.CLERK), as_role(Role.CLERK)
    one = _header(first, "/clients/?q=kov")
    other = _header(second, "/clients/?q=nagy&status=active")
    assert _NEXT.search(one).group(1) == "/clients/?q=kov"
    assert _NEXT.search(other).group(1) == "/clients/?q=nagy&amp;status=active"
    # The header's forms carry the token of their own session, and it works there.
    token = _TOKENS.search(other).group(1)
    assert token != _TOKENS.search(one).group(1)
    assert set(_TOKENS.findall(other)) == {token}
    response = second.post("/logout", data={"csrf_token": token})
    assert response.status_code == 302
    assert second.get("/clients/").status_code == 302  # logged out: sent to the login page


def test_a_kept_header_is_what_rendering_it_afresh_gives(app, staff, as_role):
    manager = as_role(Role.MANAGER)
    for path in ("/clients/", "/reviews/", "/audit/", "/account/"):
        kept = _header(manager, path)
        app.extensions["page_headers"].clear()
        fresh = _header(manager, path)
        assert _TOKENS.sub("", kept) == _TOKENS.sub("", fresh)
        assert 'aria-current="page"' in kept


def test_the_header_follows_the_page_and_the_language(app, db, staff, as_role):
    manager = as_role(Role.MANAGER)
    clients, audit = _header(manager, "/clients/"), _header(manager, "/audit/")
    assert '<a href="/clients/" aria-current="page">' in clients
    assert '<a href="/clients/" aria-current="page">' not in audit
    assert 'aria-current="page">Audit log</a>' in audit
    staff.manager.language = "hu"
    db.commit()
    assert 'aria-current="page">Ügyfelek</a>' in _header(manager, "/clients/")
