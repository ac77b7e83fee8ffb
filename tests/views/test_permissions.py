"""Every route declares a permission, and every role gets 403 where it lacks it."""

from __future__ import annotations

import io

import pytest

from portal.domain.permissions import Perm, Role, allows
from portal.models import DocType
from portal.security import declared_permission
from portal.services.base import SYSTEM
from portal.services.documents import FileMeta, file_document
from tests.conftest import csrf_token, make_client

#: Values for URL parameters, so every rule can be turned into a real URL.
URL_VALUES = {
    "client_id": 1, "user_id": 1, "document_id": 1, "step": "identity_verified",
    "filename": "css/portal.css",
}


def _routes(app):
    for rule in app.url_map.iter_rules():
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            yield rule, method


def test_every_route_declares_a_permission(app):
    undeclared = [
        rule.rule for rule in app.url_map.iter_rules()
        if declared_permission(app, rule.endpoint) is None
    ]
    assert undeclared == []


def test_an_undeclared_route_is_refused_not_served(app, as_role):
    @app.get("/undeclared-test-route")
    def undeclared():  # pragma: no cover - must never run
        return "secret"

    client = as_role(Role.MANAGER)
    response = client.get("/undeclared-test-route")
    assert response.status_code == 403
    assert "secret" not in response.get_data(as_text=True)


@pytest.mark.parametrize("role", list(Role))
def test_role_route_matrix(app, db, staff, as_role, role):
    """Forbidden: 403 (page and htmx alike). Allowed: never 403, never 500."""
    row = make_client(db, "Matrix Client")  # id 1, unrestricted
    file_document(db, SYSTEM, app.extensions["storage"], row.id, io.BytesIO(b"matrix note"),
                  "note.txt", FileMeta(DocType.OTHER), max_bytes=10**6)  # document 1
    db.commit()
    client = as_role(role)
    token = csrf_token(client, "/account/")
    checked = 0
    for rule, method in _routes(app):
        perm = declared_permission(app, rule.endpoint)
        if perm in (Perm.PUBLIC,) or rule.endpoint == "auth.logout":
            continue
        url = rule.build(URL_VALUES, append_unknown=False)[1]
        for htmx in (False, True):
            headers = {"HX-Request": "true"} if htmx else {}
            if method == "GET":
                response = client.get(url, headers=headers)
            else:
                response = client.post(url, data={"csrf_token": token}, headers=headers)
            response.close()  # file responses hold their file open until closed
            checked += 1
            where = f"{method} {url} as {role} (htmx={htmx})"
            if allows(role, perm):
                assert response.status_code not in (403, 500), where
            else:
                assert response.status_code == 403, where
                assert "<html" not in response.get_data(as_text=True) or not htmx, where
    assert checked > 20


def test_anonymous_is_sent_to_login_everywhere_but_public_routes(app, staff):
    client = app.test_client()
    for rule, method in _routes(app):
        perm = declared_permission(app, rule.endpoint)
        if perm is Perm.PUBLIC or method != "GET":
            continue
        url = rule.build(URL_VALUES, append_unknown=False)[1]
        response = client.get(url)
        response.close()
        assert response.status_code == 302, url
        assert "/login" in response.headers["Location"], url
        htmx = client.get(url, headers={"HX-Request": "true"})
        assert htmx.status_code == 401 and "/login" in htmx.headers["HX-Redirect"], url
