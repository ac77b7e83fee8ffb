"""Every search example the README gives finds something in the demo data.

The examples are read from README.md itself (`query` finds *form*), so an example added or
changed there is checked too: each document-search example must find a demo document whose
highlighted passage shows the form, and each client-filter example a demo client.
"""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path

from portal.db import transaction
from portal.demo import DEMO_LOGINS, seed_demo, seed_documents
from portal.jobs import apply_index_queue
from tests.conftest import login

README = Path(__file__).resolve().parents[2] / "README.md"
EXAMPLE = re.compile(r"`([^`]+)` finds \*([^*]+)\*")
TODAY = date(2026, 11, 27)


def _examples(bullet: str) -> list[tuple[str, str]]:
    """The examples of the README's feature bullet that starts with ``- **<bullet>**``."""
    text = README.read_text(encoding="utf-8")
    start = text.index(f"- **{bullet}**")
    end = text.find("\n- **", start + 1)
    return EXAMPLE.findall(" ".join(text[start:end].split()))


def test_the_readme_gives_search_examples():
    assert [q for q, _ in _examples("Document search")] == [
        "hitelkepesseg", "hitelkártya", "statements"]
    assert _examples("Clients") == [("kovacs", "Kovács")]


def test_every_readme_search_example_finds_a_demo_document(app, db):
    sessions = app.extensions["db_sessionmaker"]
    with transaction(sessions) as session:
        seed_demo(session, today=TODAY, onboarding_days=10, clients=60)
        seed_documents(session, app.extensions["storage"], today=TODAY)
    apply_index_queue(sessions, app.extensions["search"].get(), wait=True)
    manager = app.test_client()
    password = next(p for name, _, p, _ in DEMO_LOGINS if name == "manager")
    assert login(manager, "manager", password).status_code == 302
    for query, form in _examples("Document search"):
        html = manager.get("/documents/search", query_string={"q": query},
                           headers={"HX-Request": "true"}).get_data(as_text=True)
        marked = [m.casefold() for m in re.findall(r"<mark>([^<]+)</mark>", html)]
        assert any(form.casefold() in word for word in marked), (query, form, marked)
    for query, form in _examples("Clients"):
        html = manager.get("/clients/", query_string={"q": query},
                           headers={"HX-Request": "true"}).get_data(as_text=True)
        assert form in html, (query, form)

