"""Every search example the README gives finds something in the demo data.

The examples are read from README.md itself, so an example added or changed there is checked
too. In the document-search bullet every query in backticks (the search syntax aside) must
find a demo document; "`query` finds *form*" must highlight the form in a hit, and a typo
"`query` → *form*" must offer the form as "did you mean" (which finds a document). In the
clients bullet,
"`query` finds *form*" must list a client so named.
"""

from __future__ import annotations

import html
import re
from datetime import date
from pathlib import Path

from portal.db import transaction
from portal.demo import DEMO_LOGINS, seed_demo, seed_documents
from portal.jobs import apply_index_queue
from tests.conftest import login

README = Path(__file__).resolve().parents[2] / "README.md"
FINDS = re.compile(r"`([^`]+)` finds \*([^*]+)\*")
SUGGESTS = re.compile(r"`([^`]+)` → \*([^*]+)\*")
QUERY = re.compile(r"`([^`]+)`")
#: The search syntax the bullet explains, and its address: not queries of their own.
SYNTAX = {"OR", "NOT", '"a phrase"', "prefix*"}
TODAY = date(2026, 11, 27)


def _bullet(name: str) -> str:
    """The README's feature bullet that starts with ``- **<name>**``, on one line."""
    text = README.read_text(encoding="utf-8")
    start = text.index(f"- **{name}**")
    end = text.find("\n- **", start + 1)
    return " ".join(text[start:end].split())


def _queries(bullet: str) -> list[str]:
    return [q for q in QUERY.findall(bullet) if q not in SYNTAX and not q.startswith("/")]


def test_the_readme_gives_search_examples():
    documents = _bullet("Document search")
    assert [q for q, _ in FINDS.findall(documents)] == [
        "hitelkepesseg", "hitelkártya", "statements"]
    assert SUGGESTS.findall(documents)
    assert len(_queries(documents)) >= 6  # the client examples too
    assert FINDS.findall(_bullet("Clients")) == [("kovacs", "Kovács")]


def _search(browser, query: str) -> str:
    return browser.get("/documents/search", query_string={"q": query},
                       headers={"HX-Request": "true"}).get_data(as_text=True)


def test_every_readme_search_example_finds_a_demo_document(app, db):
    sessions = app.extensions["db_sessionmaker"]
    with transaction(sessions) as session:
        seed_demo(session, today=TODAY, onboarding_days=10, clients=60)
        seed_documents(session, app.extensions["storage"], today=TODAY)
    apply_index_queue(sessions, app.extensions["search"].get(), wait=True)
    manager = app.test_client()
    password = next(p for name, _, p, _ in DEMO_LOGINS if name == "manager")
    assert login(manager, "manager", password).status_code == 302
    documents = _bullet("Document search")
    typos = {query for query, _ in SUGGESTS.findall(documents)}  # they suggest instead
    for query in _queries(documents):
        if query in typos:
            continue
        page = _search(manager, query)
        assert 'class="doc-hit"' in page, f"README example `{query}` finds no demo document"
    for query, form in FINDS.findall(documents):
        marked = [m.casefold() for m in re.findall(r"<mark>([^<]+)</mark>", _search(manager,
                                                                                    query))]
        assert any(form.casefold() in word for word in marked), (query, form, marked)
    for query, form in SUGGESTS.findall(documents):
        page = html.unescape(_search(manager, query))
        suggestion = re.search(r'class="suggestion">.*?<a [^>]*>([^<]+)</a>', page, re.S)
        assert suggestion and form in suggestion.group(1), (query, form)
        assert 'class="doc-hit"' in _search(manager, suggestion.group(1))
    for query, form in FINDS.findall(_bullet("Clients")):
        page = manager.get("/clients/", query_string={"q": query},
                           headers={"HX-Request": "true"}).get_data(as_text=True)
        assert form in page, (query, form)
