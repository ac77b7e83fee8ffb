"""Client list, record, edit, onboarding checklist, confidentiality and audit."""

from __future__ import annotations

import re
from datetime import date, timedelta

import pytest
from sqlalchemy import func, select

from portal.domain.calendar import is_business_day
from portal.domain.identifiers import person_check_digit
from portal.domain.permissions import Role
from portal.models import AuditEvent, Client, ClientStatus, OnboardingStep
from tests.conftest import make_client, post

VALID_TAX_ID = "8123456780"[:9] + str(person_check_digit("812345678"))


def _form(**overrides) -> dict:
    data = {
        "kind": "person", "name": "Próba Ödön", "tax_id": VALID_TAX_ID, "postal_code": "1051",
        "city": "Budapest", "street": "Október 6. utca 3.", "phone": "+36 30 123 4567",
        "email": "odon@example.hu", "employer": "Példa Kft.", "income": "450 000",
        "income_currency": "HUF", "status": "onboarding", "coordinator_id": "",
    }
    data.update(overrides)
    return data


def _count(db, model) -> int:
    db.expire_all()
    return db.scalar(select(func.count()).select_from(model))


# The list ---------------------------------------------------------------------------------


def test_live_filter_matches_without_accents_and_returns_a_fragment(app, db, staff, as_role):
    make_client(db, "Kovács Eszter")
    make_client(db, "Oliver Bennett")
    clerk = as_role(Role.CLERK)
    fragment = clerk.get("/clients/?q=kovacs", headers={"HX-Request": "true"})
    html = fragment.get_data(as_text=True)
    assert fragment.status_code == 200
    assert "<html" not in html and "Kovács Eszter" in html and "Oliver Bennett" not in html
    assert "HX-Request" in fragment.headers["Vary"]
    page = clerk.get("/clients/?q=kovacs")
    assert "<html" in page.get_data(as_text=True)
    assert "HX-Request" in page.headers["Vary"]


def test_boosted_and_history_restore_requests_get_the_full_page(app, db, staff, as_role):
    clerk = as_role(Role.CLERK)
    for extra in ({"HX-Boosted": "true"}, {"HX-History-Restore-Request": "true"}):
        html = clerk.get("/clients/", headers={"HX-Request": "true", **extra}).get_data(
            as_text=True)
        assert "<html" in html


def test_filter_by_number_status_and_overdue(app, db, staff, as_role):
    old = make_client(db, "Late Larry", status=ClientStatus.ONBOARDING,
                      onboarding_due=date.today() - timedelta(days=3))
    make_client(db, "Done Dora", status=ClientStatus.ONBOARDING,
                onboarding_due=date.today() - timedelta(days=3))
    done = db.scalar(select(Client).where(Client.name == "Done Dora"))
    for step in ("identity_verified", "contract_signed", "credit_review_done",
                 "account_opened"):
        db.add(OnboardingStep(client_id=done.id, step=step))
    make_client(db, "Active Anna", status=ClientStatus.ACTIVE)
    db.commit()
    clerk = as_role(Role.CLERK)

    def names(query):
        html = clerk.get(f"/clients/?{query}").get_data(as_text=True)
        return {n for n in ("Late Larry", "Done Dora", "Active Anna") if n in html}

    assert names(f"q={old.number}") == {"Late Larry"}
    assert names("status=active") == {"Active Anna"}
    assert names("overdue=1") == {"Late Larry"}  # a complete checklist is never overdue
    assert "badge-overdue" in clerk.get("/clients/?overdue=1").get_data(as_text=True)


def test_paging_and_sorting(app, db, staff, as_role):
    for i in range(30):
        make_client(db, f"Ügyfél {i:02d}")
    make_client(db, "Ábel Ádám")
    clerk = as_role(Role.CLERK)
    first = clerk.get("/clients/?sort=name").get_data(as_text=True)
    assert "31 clients" in first and "Page 1 of 2" in first
    # Accented initials sort with their base letter: Ábel comes first, Ügyfél after T.
    assert first.index("Ábel Ádám") < first.index("Ügyfél 00")
    second = clerk.get("/clients/?sort=name&page=2").get_data(as_text=True)
    assert "Ügyfél 29" in second and "Ügyfél 00" not in second
    descending = clerk.get("/clients/?sort=name&dir=desc").get_data(as_text=True)
    assert "Ügyfél 29" in descending and "Ábel Ádám" not in descending


# Confidentiality ------------------------------------------------------------------------


@pytest.fixture
def secret(db, staff):
    return make_client(db, "Titkos Tamás", restricted=True, coordinator_id=staff.coordinator.id,
                       tax_id=VALID_TAX_ID)


@pytest.mark.parametrize(("who", "sees"), [
    (Role.CLERK, False), ("coordinator2", False), (Role.COORDINATOR, True), (Role.MANAGER, True),
])
def test_restricted_client_visibility(app, db, staff, as_role, secret, who, sees):
    make_client(db, "Nyilvános Nóra")
    client = as_role(who)
    listing = client.get("/clients/").get_data(as_text=True)
    assert ("Titkos Tamás" in listing) is sees
    assert ("2 clients" if sees else "1 client") in listing
    by_tax_id = client.get(f"/clients/?q={VALID_TAX_ID}").get_data(as_text=True)
    assert ("Titkos Tamás" in by_tax_id) is sees
    detail = client.get(f"/clients/{secret.id}")
    assert detail.status_code == (200 if sees else 403)
    htmx = client.get(f"/clients/{secret.id}", headers={"HX-Request": "true"})
    assert htmx.status_code == (200 if sees else 403)
    tick = post(client, f"/clients/{secret.id}/steps/identity_verified", {"done": "1"})
    assert tick.status_code == (302 if sees else 403)


def test_admin_sees_no_client_data(app, db, staff, as_role, secret):
    admin = as_role(Role.ADMIN)
    assert admin.get("/clients/").status_code == 403
    assert admin.get(f"/clients/{secret.id}").status_code == 403


def test_reading_a_restricted_client_is_audited(app, db, staff, as_role, secret):
    manager = as_role(Role.MANAGER)
    manager.get(f"/clients/{secret.id}")
    events = db.scalars(select(AuditEvent).where(AuditEvent.action == "client.view")).all()
    assert [(e.actor, e.object_id, e.ip) for e in events] == [("manager", secret.id, "127.0.0.1")]
    as_role(Role.CLERK).get(f"/clients/{secret.id}")
    denied = db.scalars(select(AuditEvent).where(AuditEvent.action == "client.view_denied"))
    assert [e.actor for e in denied] == ["clerk"]


def test_tax_id_is_masked_for_clerks_only(app, db, staff, as_role):
    row = make_client(db, "Adó Adél", tax_id=VALID_TAX_ID)
    clerk_html = as_role(Role.CLERK).get(f"/clients/{row.id}").get_data(as_text=True)
    assert VALID_TAX_ID not in clerk_html and "•••••••" + VALID_TAX_ID[-3:] in clerk_html
    coordinator_html = as_role(Role.COORDINATOR).get(f"/clients/{row.id}").get_data(as_text=True)
    assert VALID_TAX_ID in coordinator_html


def test_clerk_finds_a_company_by_its_whole_tax_number_typed_any_way(app, db, staff, as_role):
    make_client(db, "Példa Kft.", tax_id="10625790-4-44")
    clerk = as_role(Role.CLERK)
    for typed in ("10625790-4-44", "10625790444"):
        assert "Példa Kft." in clerk.get(f"/clients/?q={typed}").get_data(as_text=True)
    assert "Példa Kft." not in clerk.get("/clients/?q=10625790").get_data(as_text=True)


def test_clerk_cannot_probe_tax_ids_by_prefix(app, db, staff, as_role):
    make_client(db, "Adó Adél", tax_id=VALID_TAX_ID)
    clerk = as_role(Role.CLERK)
    assert "Adó Adél" not in clerk.get(f"/clients/?q={VALID_TAX_ID[:6]}").get_data(as_text=True)
    assert "Adó Adél" in clerk.get(f"/clients/?q={VALID_TAX_ID}").get_data(as_text=True)
    coordinator = as_role(Role.COORDINATOR)
    assert "Adó Adél" in coordinator.get(f"/clients/?q={VALID_TAX_ID[:6]}").get_data(as_text=True)


# Creating and editing ---------------------------------------------------------------------


def test_create_client_numbers_it_sets_due_date_and_audits(app, db, staff, as_role):
    clerk = as_role(Role.CLERK)
    response = post(clerk, "/clients/new", _form())
    assert response.status_code == 302
    client = db.scalar(select(Client))
    assert response.headers["Location"] == f"/clients/{client.id}"
    assert client.number == f"C{client.id:06d}"
    assert client.income_minor == 450_000 and client.tax_id == VALID_TAX_ID
    assert client.onboarding_due is not None and client.onboarding_due > date.today()
    assert is_business_day(client.onboarding_due)  # a working Saturday counts
    event = db.scalar(select(AuditEvent).where(AuditEvent.action == "client.create"))
    assert event.object_id == client.id and event.actor == "clerk"


@pytest.mark.parametrize(("field", "value", "message"), [
    ("name", "", "This field is required."),
    ("tax_id", "8123456789" if VALID_TAX_ID != "8123456789" else "8123456788",
     "check digit does not match"),
    ("email", "not-an-email", "Invalid email address."),
    ("income", "12,5", "Too many decimals"),
    ("income", "sok", "Enter an amount"),
    ("income", "-100", "Income cannot be negative."),
    ("phone", "call me", "This is not a valid phone number."),
    ("phone", "06 1 23", "Too few digits for a phone number."),
    ("phone", "06 20 538 03481", "Too many digits for a phone number."),
    ("phone", "06 99 123 4567", "This is not a valid phone number."),
    ("status", "bogus", "Not a valid choice"),
])
def test_invalid_input_rerenders_with_422_and_saves_nothing(app, db, staff, as_role, field,
                                                          value, message):
    clerk = as_role(Role.CLERK)
    response = post(clerk, "/clients/new", _form(**{field: value}))
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert message in html
    assert 'value="Budapest"' in html  # the rest of the input is kept
    assert _count(db, Client) == 0
    assert _count(db, AuditEvent) == 1  # only the login


def test_clerk_cannot_restrict_or_assign_through_the_form(app, db, staff, as_role):
    clerk = as_role(Role.CLERK)
    response = post(clerk, "/clients/new",
                    _form(restricted="y", coordinator_id=str(staff.coordinator.id)))
    assert response.status_code == 302  # saved, without the fields a clerk may not set
    client = db.scalar(select(Client))
    assert client.restricted is False and client.coordinator_id is None


def test_coordinator_assigns_and_restricts(app, db, staff, as_role):
    coordinator = as_role(Role.COORDINATOR)
    response = post(coordinator, "/clients/new",
                    _form(restricted="y", coordinator_id=str(staff.coordinator2.id)))
    assert response.status_code == 302
    client = db.scalar(select(Client))
    assert client.restricted is True and client.coordinator_id == staff.coordinator2.id


def test_only_coordinators_and_managers_can_be_assigned(app, db, staff, as_role):
    response = post(as_role(Role.COORDINATOR), "/clients/new",
                    _form(coordinator_id=str(staff.clerk.id)))
    assert response.status_code == 422
    assert _count(db, Client) == 0


def test_edit_records_what_changed(app, db, staff, as_role):
    row = make_client(db, "Régi Név", city="Pécs")
    clerk = as_role(Role.CLERK)
    form = clerk.get(f"/clients/{row.id}/edit").get_data(as_text=True)
    assert 'value="Régi Név"' in form
    response = post(clerk, f"/clients/{row.id}/edit",
                    _form(name="Új Név", city="Pécs", tax_id="", version=str(row.version)))
    assert response.status_code == 302
    db.expire_all()
    assert db.get(Client, row.id).name == "Új Név"
    event = db.scalar(select(AuditEvent).where(AuditEvent.action == "client.update"))
    assert event.details["name"] == ["Régi Név", "Új Név"]
    assert "city" not in event.details


def test_stale_edit_gets_409_and_keeps_the_other_change(app, db, staff, as_role):
    row = make_client(db, "Eredeti")
    first, second = as_role(Role.CLERK), as_role(Role.COORDINATOR)
    version = str(row.version)
    assert post(first, f"/clients/{row.id}/edit",
                _form(name="Első", tax_id="", version=version)).status_code == 302
    late = post(second, f"/clients/{row.id}/edit", _form(name="Második", tax_id="",
                                                         version=version))
    assert late.status_code == 409
    assert 'value="Második"' in late.get_data(as_text=True)  # their input is not lost
    db.expire_all()
    assert db.get(Client, row.id).name == "Első"


def test_a_failed_save_leaves_no_client_and_no_audit_row(app, db, staff, as_role, monkeypatch):
    """The audit row is in the same transaction as the change: both or neither."""
    from portal.services import clients as clients_service

    def explode(*_args, **_kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(clients_service, "refresh_search_text", explode)
    response = post(as_role(Role.CLERK), "/clients/new", _form())
    assert response.status_code == 500
    assert "Traceback" not in response.get_data(as_text=True)
    assert _count(db, Client) == 0
    assert db.scalar(select(func.count()).where(AuditEvent.action == "client.create")) == 0


# A tax ID a clerk sees masked --------------------------------------------------------------

#: The tax ID of the hardening issue: a clerk read it in full in the edit form.
STORED_TAX_ID = "8797309117"
MASKED_TAX_ID = "•••••••117"
NEW_TAX_ID = "8123456786"


def _tax_id_value(html: str) -> str:
    match = re.search(r'<input[^>]*name="tax_id"[^>]*>', html)
    assert match, "no tax_id field"
    value = re.search(r'value="([^"]*)"', match.group())
    return value.group(1) if value else ""


def _edit_form(row, **overrides) -> dict:
    """The edit form of a ``make_client`` row as it was loaded, with ``overrides``."""
    unchanged = dict.fromkeys(["postal_code", "city", "street", "phone", "email", "employer",
                               "income"], "")
    return _form(**{**unchanged, "name": row.name, "status": "active",
                    "version": str(row.version), **overrides})


def _update_events(db) -> list[AuditEvent]:
    db.expire_all()
    return db.scalars(select(AuditEvent).where(AuditEvent.action == "client.update")).all()


def _stored_tax_id(db, row) -> str | None:
    db.expire_all()
    return db.get(Client, row.id).tax_id


@pytest.mark.parametrize("htmx", [False, True])
def test_clerk_edit_form_shows_the_tax_id_masked(app, db, staff, as_role, htmx):
    row = make_client(db, "Adó Adél", tax_id=STORED_TAX_ID)
    headers = {"HX-Request": "true"} if htmx else {}
    response = as_role(Role.CLERK).get(f"/clients/{row.id}/edit", headers=headers)
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert STORED_TAX_ID not in html and _tax_id_value(html) == MASKED_TAX_ID
    coordinator = as_role(Role.COORDINATOR).get(f"/clients/{row.id}/edit")
    assert _tax_id_value(coordinator.get_data(as_text=True)) == STORED_TAX_ID


@pytest.mark.parametrize("sent", [MASKED_TAX_ID, f"  {MASKED_TAX_ID} "])
def test_clerk_sending_the_masked_tax_id_back_keeps_it(app, db, staff, as_role, sent):
    row = make_client(db, "Adó Adél", tax_id=STORED_TAX_ID)
    clerk = as_role(Role.CLERK)
    shown = _tax_id_value(clerk.get(f"/clients/{row.id}/edit").get_data(as_text=True))
    assert shown.strip() == sent.strip()
    response = post(clerk, f"/clients/{row.id}/edit", _edit_form(row, name="Adó Adélka",
                                                                  tax_id=sent))
    assert response.status_code == 302
    assert _stored_tax_id(db, row) == STORED_TAX_ID
    [event] = _update_events(db)
    assert event.details == {"name": ["Adó Adél", "Adó Adélka"]}  # no tax ID, full or masked
    page = clerk.get(response.headers["Location"]).get_data(as_text=True)
    assert STORED_TAX_ID not in page and MASKED_TAX_ID in page


def test_clerk_typing_a_whole_new_tax_id_replaces_it(app, db, staff, as_role):
    row = make_client(db, "Adó Adél", tax_id=STORED_TAX_ID)
    clerk = as_role(Role.CLERK)
    response = post(clerk, f"/clients/{row.id}/edit", _edit_form(row, tax_id=NEW_TAX_ID))
    assert response.status_code == 302
    assert _stored_tax_id(db, row) == NEW_TAX_ID
    [event] = _update_events(db)
    assert event.details == {"tax_id": [STORED_TAX_ID, NEW_TAX_ID]}  # for managers' eyes
    html = clerk.get(f"/clients/{row.id}/edit").get_data(as_text=True)
    assert NEW_TAX_ID not in html and _tax_id_value(html) == "•••••••786"


def test_clerk_emptying_the_tax_id_removes_it(app, db, staff, as_role):
    row = make_client(db, "Adó Adél", tax_id=STORED_TAX_ID)
    response = post(as_role(Role.CLERK), f"/clients/{row.id}/edit", _edit_form(row, tax_id=""))
    assert response.status_code == 302
    assert _stored_tax_id(db, row) is None


@pytest.mark.parametrize("sent", ["•••••••118", "•••117", "8797309118"])
def test_clerk_altering_the_masked_tax_id_is_refused(app, db, staff, as_role, sent):
    row = make_client(db, "Adó Adél", tax_id=STORED_TAX_ID)
    response = post(as_role(Role.CLERK), f"/clients/{row.id}/edit", _edit_form(row, tax_id=sent))
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert STORED_TAX_ID not in html and _tax_id_value(html) == sent  # what they typed
    if sent.startswith("•"):
        assert "or leave the masked one as it is" in html
    assert _stored_tax_id(db, row) == STORED_TAX_ID and _update_events(db) == []


@pytest.mark.parametrize("htmx", [False, True])
def test_clerk_gets_no_tax_id_in_a_422_rerender(app, db, staff, as_role, htmx):
    row = make_client(db, "Adó Adél", tax_id=STORED_TAX_ID)
    response = post(as_role(Role.CLERK), f"/clients/{row.id}/edit",
                    _edit_form(row, tax_id=MASKED_TAX_ID, email="not-an-email"), htmx=htmx)
    html = response.get_data(as_text=True)
    assert response.status_code == 422 and "Invalid email address." in html
    assert STORED_TAX_ID not in html and _tax_id_value(html) == MASKED_TAX_ID
    assert _stored_tax_id(db, row) == STORED_TAX_ID


def test_clerk_gets_no_tax_id_in_a_409_conflict_and_keeps_it_on_saving_again(app, db, staff,
                                                                          as_role):
    row = make_client(db, "Adó Adél", tax_id=STORED_TAX_ID)
    clerk, coordinator = as_role(Role.CLERK), as_role(Role.COORDINATOR)
    stale = str(row.version)
    assert post(coordinator, f"/clients/{row.id}/edit",
                _edit_form(row, tax_id=NEW_TAX_ID)).status_code == 302
    late = post(clerk, f"/clients/{row.id}/edit",
                _edit_form(row, name="Adó Adélka", tax_id=MASKED_TAX_ID, version=stale))
    html = late.get_data(as_text=True)
    assert late.status_code == 409
    assert STORED_TAX_ID not in html and NEW_TAX_ID not in html
    assert _tax_id_value(html) == "•••••••786"  # the current record's, masked
    version = re.search(r'name="version"[^>]*value="(\d+)"', html).group(1)
    again = post(clerk, f"/clients/{row.id}/edit",
                 _edit_form(row, name="Adó Adélka", tax_id="•••••••786", version=version))
    assert again.status_code == 302
    db.expire_all()
    saved = db.get(Client, row.id)
    assert (saved.name, saved.tax_id) == ("Adó Adélka", NEW_TAX_ID)


def test_clerk_pages_never_carry_the_whole_tax_id(app, db, staff, as_role):
    row = make_client(db, "Adó Adél", tax_id=STORED_TAX_ID)
    clerk = as_role(Role.CLERK)
    for url in [f"/clients/{row.id}", f"/clients/{row.id}/edit", "/clients/",
                "/clients/?q=ado"]:
        for headers in ({}, {"HX-Request": "true"}):
            html = clerk.get(url, headers=headers).get_data(as_text=True)
            assert STORED_TAX_ID not in html, url
            assert MASKED_TAX_ID in html, url


# Onboarding checklist ---------------------------------------------------------------------


def test_ticking_an_item_returns_the_checklist_fragment_and_is_audited(app, db, staff, as_role):
    row = make_client(db, "Lépés Lili", status=ClientStatus.ONBOARDING)
    clerk = as_role(Role.CLERK)
    response = post(clerk, f"/clients/{row.id}/steps/contract_signed", {"done": "1"},
                    htmx=True)
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert html.lstrip().startswith('<article id="checklist"') and "<html" not in html
    assert 'data-step="contract_signed"\n                aria-pressed="true"' in html
    steps = db.scalars(select(OnboardingStep.step).where(OnboardingStep.client_id == row.id))
    assert [s.value for s in steps] == ["contract_signed"]
    event = db.scalar(select(AuditEvent).where(AuditEvent.action == "onboarding.tick"))
    assert event.details == {"step": "contract_signed"}
    # Unticking removes it again, also audited.
    untick = post(clerk, f"/clients/{row.id}/steps/contract_signed", {"done": "0"}, htmx=True)
    assert untick.status_code == 200 and 'aria-pressed="true"' not in untick.get_data(as_text=True)
    assert _count(db, OnboardingStep) == 0
    assert db.scalar(select(func.count()).where(AuditEvent.action == "onboarding.untick")) == 1


def test_a_complete_checklist_says_complete_once(app, db, staff, as_role):
    """Before: "Complete 4 of 4 done" (HU "Kész 4 lépésből 4 kész"); the count is for an
    unfinished checklist only."""
    row = make_client(db, "Kész Kornél", status=ClientStatus.ONBOARDING)
    clerk = as_role(Role.CLERK)
    steps = ["identity_verified", "contract_signed", "credit_review_done", "account_opened"]
    for step in steps[:3]:
        html = post(clerk, f"/clients/{row.id}/steps/{step}", {"done": "1"},
                    htmx=True).get_data(as_text=True)
    assert "3 of 4 done" in html and "Complete" not in html
    html = post(clerk, f"/clients/{row.id}/steps/{steps[3]}", {"done": "1"},
                htmx=True).get_data(as_text=True)
    assert "Complete" in html and "of 4 done" not in html


def test_ticking_without_htmx_redirects_back_to_the_client(app, db, staff, as_role):
    row = make_client(db)
    response = post(as_role(Role.CLERK), f"/clients/{row.id}/steps/account_opened",
                    {"done": "1"})
    assert response.status_code == 302 and response.headers["Location"] == f"/clients/{row.id}"


def test_unknown_step_and_unknown_client_are_404(app, db, staff, as_role):
    row = make_client(db)
    clerk = as_role(Role.CLERK)
    assert post(clerk, f"/clients/{row.id}/steps/bogus", {"done": "1"}).status_code == 404
    assert clerk.get("/clients/999999").status_code == 404


def test_overdue_onboarding_stands_out_on_the_client_page(app, db, staff, as_role):
    row = make_client(db, "Késő Kázmér", status=ClientStatus.ONBOARDING,
                      onboarding_due=date.today() - timedelta(days=4))
    html = as_role(Role.CLERK).get(f"/clients/{row.id}").get_data(as_text=True)
    assert 'class="checklist overdue"' in html
    assert "Overdue by 4 days" in html


def test_the_client_form_sets_the_language_of_letters_and_decisions(app, db, staff, as_role):
    from tests.conftest import make_client

    client = make_client(db, "Nyelv Nándor")
    coordinator = as_role(Role.COORDINATOR)
    page = coordinator.get(f"/clients/{client.id}/edit").get_data(as_text=True)
    assert 'name="language"' in page and '<option selected value="hu">' in page
    form = {"kind": "person", "name": "Nyelv Nándor", "status": "active",
            "income_currency": "HUF", "language": "en", "version": str(client.version),
            "coordinator_id": "", "tax_id": ""}
    response = post(coordinator, f"/clients/{client.id}/edit", form)
    assert response.status_code == 302, response.get_data(as_text=True)[:2000]
    db.expire_all()
    assert db.get(Client, client.id).language == "en"
    change = db.scalar(select(AuditEvent).where(AuditEvent.action == "client.update"))
    assert change.details["language"] == ["hu", "en"]
