"""List links (sort orders, pages) are built without Werkzeug where the path takes no
argument; they must be exactly the URLs ``url_for`` builds, and leave out what is empty."""

from __future__ import annotations

import pytest
from flask import url_for

from portal.templating import list_url

CASES = [
    ("clients.index", {"q": "kovács éva/x&y=1+2", "status": "", "sort": "name"}, {"page": 3}),
    ("clients.index", {"q": "", "overdue": None}, {"page": 1}),
    ("clients.index", {"q": "a b!$'()*,/:;?@ü%#"}, {"dir": "desc"}),
    ("accounts.show", {"account_id": 5}, {"page": 2}),
    ("reviews.index", {"q": "x", "status": "awaiting_decision"}, {"page": 2}),
    ("audit.index", {"action": "client.view"}, {"page": 2}),
]


@pytest.mark.parametrize("base_url", ["http://localhost/", "http://localhost/portal/"])
def test_list_links_are_what_url_for_builds(app, base_url):
    for _twice in range(2):  # the second time from the kept path
        with app.test_request_context("/", base_url=base_url):
            for endpoint, args, changes in CASES:
                kept = {key: value for key, value in {**args, **changes}.items()
                        if value not in ("", None) and not (key == "page" and value == 1)}
                assert list_url(endpoint, args, **changes) == url_for(endpoint, **kept)
    with app.test_request_context("/", base_url="http://localhost/portal/"):
        assert list_url("clients.index", {"q": "", "sort": "name"}, page=1) == (
            "/portal/clients/?sort=name")
