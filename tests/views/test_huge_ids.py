"""Ids and page numbers beyond what the database holds answer 404 (or a page), never 500.

Ids are 32-bit on PostgreSQL; SQLite refuses integers past 64 bits (OverflowError).
"""

from __future__ import annotations

import io

import pytest
from werkzeug.routing import IntegerConverter

from portal.domain.permissions import Role
from portal.models import DocType
from portal.services.base import SYSTEM
from portal.services.documents import FileMeta, file_document
from tests.conftest import csrf_token, make_client, post

MAX_ID = 2**31 - 1
OUT_OF_RANGE = ["0", str(2**31), str(2**63), "99999999999999999999", "9" * 5000]
OTHER_VALUES = {"step": "identity_verified", "filename": "css/portal.css", "item": "employment"}


@pytest.fixture
def scene(app, db, staff):
    """Client 1 with document 1."""
    row = make_client(db, "Huge Ids Kft.")
    file_document(db, SYSTEM, app.extensions["storage"], row.id, io.BytesIO(b"a short note"),
                  "note.txt", FileMeta(DocType.OTHER), max_bytes=10**6)
    db.commit()
    return row


def _id_rules(app):
    for rule in app.url_map.iter_rules():
        ints = {name: conv for name, conv in rule._converters.items()
                if isinstance(conv, IntegerConverter)}
        if ints:
            yield rule, ints


def test_every_id_in_a_url_is_bounded(app):
    converters = [conv for _, ints in _id_rules(app) for conv in ints.values()]
    assert len(converters) >= 10
    assert {(conv.min, conv.max, conv.signed) for conv in converters} == {(1, MAX_ID, False)}


@pytest.mark.parametrize("value", OUT_OF_RANGE, ids=lambda v: v[:20])
def test_ids_out_of_range_are_not_found(app, scene, as_role, value):
    client = as_role(Role.ADMIN if len(value) % 2 else Role.MANAGER)
    token = csrf_token(client, "/account/")
    checked = 0
    for rule, ints in _id_rules(app):
        url = rule.build({**OTHER_VALUES, **dict.fromkeys(ints, 1)}, append_unknown=False)[1]
        url = url.replace("/1", f"/{value}", 1)
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            if method == "GET":
                response = client.get(url)
            else:
                response = client.post(url, data={"csrf_token": token})
            response.close()
            assert response.status_code == 404, f"{method} {url}"
            checked += 1
    assert checked >= 14


def test_the_largest_id_is_looked_up(app, scene, as_role):
    client = as_role(Role.MANAGER)
    for url in [f"/clients/{MAX_ID}", f"/documents/{MAX_ID}", f"/clients/{MAX_ID}/edit"]:
        assert client.get(url).status_code == 404, url
    assert client.get("/clients/1").status_code == 200


@pytest.mark.parametrize("page", ["99999999999999999999", str(2**31), "-99999999999999999999",
                                  "1e9", "x", "9" * 5000], ids=lambda v: v[:20])
def test_huge_or_odd_page_numbers_show_a_page(app, scene, as_role, page):
    manager, admin = as_role(Role.MANAGER), as_role(Role.ADMIN)
    for who, url in [(manager, "/clients/"), (manager, "/audit/"), (admin, "/admin/users"),
                     (manager, "/documents/search?q=note"), (manager, "/documents/trash")]:
        joiner = "&" if "?" in url else "?"
        for headers in ({}, {"HX-Request": "true"}):
            response = who.get(f"{url}{joiner}page={page}", headers=headers)
            assert response.status_code == 200, f"{url} page={page}"


@pytest.mark.parametrize("version", ["99999999999999999999", str(2**31), "0", "-1"])
def test_a_huge_version_of_a_document_is_not_found(app, scene, as_role, version):
    client = as_role(Role.MANAGER)
    for action in ("/view", "/download"):
        response = client.get(f"/documents/1{action}?version={version}")
        response.close()
        assert response.status_code == 404, f"{action} version={version}"
    current = client.get("/documents/1/view?version=1")
    current.close()
    assert current.status_code == 200


def _client_form(**extra) -> dict:
    return {"kind": "person", "name": "Huge Ids Kft.", "income_currency": "HUF",
            "status": "active", "coordinator_id": "", **extra}


@pytest.mark.parametrize("coordinator", ["99999999999999999999", str(2**31), "-1", "x"])
def test_a_huge_coordinator_id_is_refused_as_a_choice(app, scene, as_role, coordinator):
    client = as_role(Role.MANAGER)
    created = post(client, "/clients/new", _client_form(coordinator_id=coordinator))
    assert created.status_code == 422
    edited = post(client, "/clients/1/edit", _client_form(coordinator_id=coordinator,
                                                          version="1"))
    assert edited.status_code == 422


@pytest.mark.parametrize("version", ["99999999999999999999", str(2**31), "-1", "x", "1.5"])
def test_a_huge_or_odd_record_version_is_a_conflict(app, db, scene, as_role, version):
    client = as_role(Role.MANAGER)
    response = post(client, "/clients/1/edit", _client_form(name="Changed Kft.",
                                                            version=version))
    assert response.status_code == 409
    db.expire_all()
    assert db.get(type(scene), scene.id).name == "Huge Ids Kft."
