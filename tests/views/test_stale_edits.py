"""A stale client edit (409) marks each field a colleague changed, with their value beside
the user's; the form then carries the current version, so saving again succeeds."""

from __future__ import annotations

import re

from portal.domain.permissions import Role
from portal.models import Client
from tests.conftest import make_client
from tests.html_forms import form_values


def _opened(browser, client_id: int) -> dict[str, str]:
    response = browser.get(f"/clients/{client_id}/edit")
    assert response.status_code == 200
    return form_values(response.get_data(as_text=True), f"/clients/{client_id}/edit")


def _note(html: str, field: str) -> str:
    return html.split(f'data-field="{field}"')[1].split("</small>")[0]


def test_a_stale_client_edit_marks_the_colleagues_fields(app, db, staff, as_role):
    row = make_client(db, "Kovács Eszter", city="Budapest", phone="+36 30 111 2222")
    mine, theirs = as_role(Role.COORDINATOR), as_role(Role.MANAGER)
    my_form, their_form = _opened(mine, row.id), _opened(theirs, row.id)
    their_form.update(city="Szeged", status="closed")
    assert theirs.post(f"/clients/{row.id}/edit", data=their_form).status_code == 302
    my_form.update(name="Kovács Eszter Anna", phone="+36 30 999 8888")
    late = mine.post(f"/clients/{row.id}/edit", data=my_form)
    html = late.get_data(as_text=True)
    assert late.status_code == 409
    db.expire_all()
    saved = db.get(Client, row.id)
    assert (saved.name, saved.city) == ("Kovács Eszter", "Szeged")  # nothing of mine
    city = _note(html, "city")
    assert re.search(r'class="theirs">Szeged<', city) and \
        re.search(r'class="yours">Budapest<', city)
    status = _note(html, "status")  # a choice shows its label, not its code
    assert re.search(r'class="theirs">Closed<', status) and \
        re.search(r'class="yours">Active<', status) and "closed" not in status
    for mine_only in ("name", "phone", "tax_id", "email"):
        assert f'data-field="{mine_only}"' not in html, mine_only
    assert html.count('data-changed="true"') == 2
    resent = form_values(html, f"/clients/{row.id}/edit")
    assert resent["name"] == "Kovács Eszter Anna" and resent["city"] == "Budapest"
    again = mine.post(f"/clients/{row.id}/edit", data=resent)
    assert again.status_code == 302
    db.expire_all()
    saved = db.get(Client, row.id)
    assert (saved.name, saved.city, saved.status.value) == ("Kovács Eszter Anna", "Budapest",
                                                            "active")


def test_a_clerk_is_not_shown_changes_of_fields_it_cannot_see(app, db, staff, as_role):
    row = make_client(db, "Szabó Péter")
    clerk, manager = as_role(Role.CLERK), as_role(Role.MANAGER)
    clerk_form, manager_form = _opened(clerk, row.id), _opened(manager, row.id)
    assert "coordinator_id" not in clerk_form
    manager_form.update(coordinator_id=str(staff.coordinator2.id))
    assert manager.post(f"/clients/{row.id}/edit", data=manager_form).status_code == 302
    late = clerk.post(f"/clients/{row.id}/edit", data={**clerk_form, "city": "Pécs"})
    html = late.get_data(as_text=True)
    assert late.status_code == 409
    assert 'data-field="coordinator_id"' not in html and "coordinator" not in \
        form_values(html, f"/clients/{row.id}/edit")["original"]




def test_a_clerk_saves_the_client_form_as_the_page_sends_it(app, db, staff, as_role):
    """The clerk's page has no coordinator field; its absence keeps the coordinator."""
    row = make_client(db, "Varga Vilma", coordinator_id=staff.coordinator.id)
    clerk = as_role(Role.CLERK)
    form = _opened(clerk, row.id)
    assert "coordinator_id" not in form and "restricted" not in form
    assert clerk.post(f"/clients/{row.id}/edit", data={**form, "city": "Pécs"}
                      ).status_code == 302
    db.expire_all()
    saved = db.get(Client, row.id)
    assert (saved.city, saved.coordinator_id) == ("Pécs", staff.coordinator.id)
