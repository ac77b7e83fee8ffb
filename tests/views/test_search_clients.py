"""The document search box finds a client typed in it: by number or whole name, never one
the user may not see."""

from __future__ import annotations

import io
import re

import pytest

from portal.domain.permissions import Role
from portal.models import DocType
from portal.services.base import SYSTEM
from portal.services.documents import FileMeta, file_document
from tests.conftest import make_client
from tests.views.test_documents import _search


def _file(app, db, client_id: int, text: str, title: str) -> int:
    document = file_document(db, SYSTEM, app.extensions["storage"], client_id,
                             io.BytesIO(text.encode()), "doc.txt",
                             FileMeta(DocType.OTHER, title=title), max_bytes=10**6)
    db.commit()
    return document.id


@pytest.fixture
def office(app, db, staff):
    kovacs = make_client(db, "Kovács Eszter")
    nagy = make_client(db, "Nagy Béla")
    secret = make_client(db, "Titkos Tamás", restricted=True,
                         coordinator_id=staff.coordinator.id)
    _file(app, db, kovacs.id, "A szerződés aláírva.", "Eszter szerződése")
    _file(app, db, kovacs.id, "Jövedelemigazolás a munkáltatótól.", "Eszter igazolása")
    _file(app, db, nagy.id, "Kovács Eszter kezes a szerződésben.", "Béla kezessége")
    _file(app, db, secret.id, "Titkos Tamás szerződés.", "Tamás szerződése")
    return kovacs, nagy, secret


def _titles(html: str) -> set[str]:
    """Return the fixture documents' titles in the results (highlights taken out)."""
    text = re.sub(r"</?mark>", "", html)
    return {t for t in ("Eszter szerződése", "Eszter igazolása", "Béla kezessége",
                        "Tamás szerződése") if t in text}


@pytest.mark.parametrize("typed", ["Kovács Eszter", "kovacs eszter", "C000001", "c000001"])
def test_a_client_typed_in_the_box_lists_that_clients_documents(app, db, staff, as_role,
                                                                office, typed):
    html = _search(as_role(Role.CLERK), typed)
    assert _titles(html) == {"Eszter szerződése", "Eszter igazolása"}
    assert "Showing documents of client Kovács Eszter (C000001)." in html
    assert 'data-client-scope="C000001"' in html and "as_text=1" in html


def test_the_words_beside_the_client_search_its_documents(app, db, staff, as_role, office):
    clerk = as_role(Role.CLERK)
    for typed in ("Kovács Eszter szerződés", "szerződés kovacs eszter", "C000001 szerződés"):
        html = _search(clerk, typed)
        assert _titles(html) == {"Eszter szerződése"}, typed
        assert "of client Kovács Eszter (C000001) that match “szerződés”" in html, typed


def test_the_name_can_be_searched_as_text_instead(app, db, staff, as_role, office):
    html = _search(as_role(Role.CLERK), "Kovács Eszter", as_text="1")
    assert _titles(html) == {"Béla kezessége"}  # the name is in its text
    assert "data-client-scope" not in html


def test_a_client_the_user_may_not_see_gives_no_hint(app, db, staff, as_role, office):
    clerk, coordinator = as_role(Role.CLERK), as_role(Role.COORDINATOR)
    for typed in ("Titkos Tamás", "C000003", "titkos tamas szerzodes"):
        html = _search(clerk, typed)
        assert "data-client-scope" not in html and "data-client-choice" not in html, typed
        assert "C000003" not in html.replace(f"q={typed}", "") and "Tamás szerződése" \
            not in html, typed
    # Its coordinator sees it.
    html = _search(coordinator, "Titkos Tamás")
    assert _titles(html) == {"Tamás szerződése"} and 'data-client-scope="C000003"' in html


def test_several_clients_of_one_name_are_offered_to_pick(app, db, staff, as_role, office):
    twin = make_client(db, "Kovács Eszter")
    html = _search(as_role(Role.CLERK), "Kovács Eszter")
    assert "data-client-choice" in html and "data-client-scope" not in html
    assert "Kovács Eszter (C000001)" in html and f"Kovács Eszter ({twin.number})" in html


def test_a_part_of_a_name_is_text(app, db, staff, as_role, office):
    html = _search(as_role(Role.CLERK), "Eszter")
    assert "data-client-scope" not in html
    assert _titles(html) == {"Eszter szerződése", "Eszter igazolása", "Béla kezessége"}


def test_the_client_field_wins_over_the_box(app, db, staff, as_role, office):
    html = _search(as_role(Role.CLERK), "Kovács Eszter", client="C000002")
    assert _titles(html) == {"Béla kezessége"} and "data-client-scope" not in html
