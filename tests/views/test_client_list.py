"""The client list (phones found however typed, one query per page, cells labelled for phones)
and the client form's kind-dependent fields."""

from __future__ import annotations

import re
from datetime import date, timedelta

import pytest
from sqlalchemy import event, select

from portal import changes, create_app
from portal.blueprints.clients import views
from portal.domain.ledger import EntryKind
from portal.domain.money import Money
from portal.domain.permissions import Role
from portal.models import Client, ClientKind, ClientStatus, OnboardingStep, User
from portal.models.ledger import Account, LedgerEntry
from portal.services import ledger
from portal.services.base import Actor
from portal.services.clients import CLIENT_LIST
from tests.conftest import make_client, post

HX = {"HX-Request": "true"}


def _names(client, query: str, *candidates: str) -> set[str]:
    html = client.get("/clients/", query_string={"q": query}, headers=HX).get_data(as_text=True)
    return {name for name in candidates if name in html}


@pytest.mark.parametrize("typed", ["06 20 538 0348", "+36 20 538 0348", "06205380348",
                                   "20/538-0348", "0036 20 538 0348", "+36-20-538-0348"])
def test_a_phone_number_finds_its_client_however_it_is_typed(app, db, staff, as_role, typed):
    make_client(db, "Telefonos Teri", phone="+36 20 538 0348")
    make_client(db, "Vezetékes Vilma", phone="06 1 234 5678")
    make_client(db, "Másik Mária", phone="06 30 538 0348")  # the same subscriber digits
    clerk = as_role(Role.CLERK)
    assert _names(clerk, typed, "Telefonos Teri", "Vezetékes Vilma",
                  "Másik Mária") == {"Telefonos Teri"}


def test_a_client_typed_in_another_form_is_found_too(app, db, staff, as_role):
    make_client(db, "Régi Rezső", phone="20/538-0348")  # typed without a prefix
    clerk = as_role(Role.CLERK)
    assert _names(clerk, "+36 20 538 0348", "Régi Rezső") == {"Régi Rezső"}
    assert _names(clerk, "06 1 234 5678", "Régi Rezső") == set()


def test_a_number_being_typed_finds_the_clients_it_could_be(app, db, staff, as_role):
    make_client(db, "Telefonos Teri", phone="+36 20 538 0348")
    make_client(db, "Másik Mária", phone="06 30 111 2222")
    clerk = as_role(Role.CLERK)
    assert _names(clerk, "06 20 538 0", "Telefonos Teri", "Másik Mária") == {"Telefonos Teri"}
    assert _names(clerk, "+36 20 538", "Telefonos Teri", "Másik Mária") == {"Telefonos Teri"}


def test_the_form_stores_the_number_as_typed_and_as_e164(app, db, staff, as_role):
    clerk = as_role(Role.CLERK)
    response = post(clerk, "/clients/new", {
        "kind": "person", "name": "Új Ubul", "phone": "06 20 538 0348", "income_currency": "HUF",
        "status": "prospect", "language": "hu", "coordinator_id": ""})
    assert response.status_code == 302
    client = db.scalar(select(Client).where(Client.name == "Új Ubul"))
    assert (client.phone, client.phone_e164) == ("06 20 538 0348", "+36205380348")
    client_id = client.id
    post(clerk, f"/clients/{client_id}/edit", {
        "kind": "person", "name": "Új Ubul", "phone": "+36 30 123 4567",
        "income_currency": "HUF", "status": "prospect", "language": "hu",
        "coordinator_id": "", "version": str(client.version)})
    db.expire_all()
    assert db.get(Client, client_id).phone_e164 == "+36301234567"


def test_the_phone_message_is_in_hungarian(app, db, staff, as_role):
    staff.clerk.language = "hu"
    db.commit()
    clerk = as_role(Role.CLERK)
    response = post(clerk, "/clients/new", {
        "kind": "person", "name": "Új Ubul", "phone": "06 1 23", "income_currency": "HUF",
        "status": "prospect", "language": "hu", "coordinator_id": ""})
    assert response.status_code == 422
    assert "túl kevés számjegy" in response.get_data(as_text=True)


# The list: one query, every cell labelled ---------------------------------------------------


def _list_statements(app, client, path: str) -> list[str]:
    seen: list[str] = []

    def count(conn, cursor, statement, parameters, context, executemany):
        seen.append(statement)

    engine = app.extensions["db_engine"]
    event.listen(engine, "before_cursor_execute", count)
    try:
        assert client.get(path).status_code == 200
    finally:
        event.remove(engine, "before_cursor_execute", count)
    return [s for s in seen if "clients" in s]


def test_one_query_reads_a_page_of_the_list_with_its_count(app, db, staff, as_role):
    for i in range(30):
        client = make_client(db, f"Ügyfél {i:02d}", coordinator_id=staff.coordinator.id,
                             status=ClientStatus.ONBOARDING)
        db.add(OnboardingStep(client_id=client.id, step="identity_verified"))
    db.commit()
    manager = as_role(Role.MANAGER)
    for path in ("/clients/", "/clients/?sort=balance&dir=desc", "/clients/?q=ugyfel&page=2",
                 "/clients/?overdue=1&arrears=1"):
        assert len(_list_statements(app, manager, path)) == 1, path


def test_a_page_past_the_end_shows_the_last_page(app, db, staff, as_role):
    for i in range(30):
        make_client(db, f"Ügyfél {i:02d}")
    html = as_role(Role.CLERK).get("/clients/?page=9").get_data(as_text=True)
    assert "30 clients" in html and "Page 2 of 2" in html and "Ügyfél 29" in html


def test_sort_and_page_links_carry_only_the_filters_in_use(app, db, staff, as_role):
    for i in range(30):
        make_client(db, f"Ügyfél {i:02d}", status=ClientStatus.ACTIVE)
    clerk = as_role(Role.CLERK)
    html = clerk.get("/clients/").get_data(as_text=True)
    assert 'href="/clients/?sort=number&amp;dir=asc"' in html
    assert 'href="/clients/?sort=name&amp;dir=desc"' in html  # by name now: the other way
    assert 'href="/clients/?sort=name&amp;dir=asc&amp;page=2" hx-get' in html
    assert "q=&amp;" not in html and "page=1" not in html
    html = clerk.get("/clients/?q=ugyfel&status=active&page=2").get_data(as_text=True)
    assert 'href="/clients/?q=ugyfel&amp;status=active&amp;sort=name&amp;dir=asc" hx-get' in html
    assert 'href="/clients/?q=ugyfel&amp;status=active&amp;sort=due&amp;dir=asc"' in html


def test_each_row_shows_what_it_did(app, db, staff, as_role):
    late = make_client(db, "Késő Kálmán", status=ClientStatus.ONBOARDING,
                       onboarding_due=date.today() - timedelta(days=3),
                       coordinator_id=staff.coordinator.id, tax_id="8123456789")
    done = make_client(db, "Kész Kata", status=ClientStatus.ONBOARDING,
                       onboarding_due=date.today() - timedelta(days=3))
    for step in ("identity_verified", "contract_signed", "credit_review_done",
                 "account_opened"):
        db.add(OnboardingStep(client_id=done.id, step=step))
    account = Account(client_id=late.id, number="100000001", currency="EUR",
                      limit_minor=0, opened_on=date.today())
    db.add(account)
    db.flush()
    db.add(LedgerEntry(account_id=account.id, kind=EntryKind.CHARGE, amount_minor=123_456,
                       currency="EUR", booked_on=date.today(), due_on=date.today()))
    db.commit()
    html = as_role(Role.COORDINATOR).get("/clients/?sort=name").get_data(as_text=True)
    row = re.search(r'<tr class="overdue">(.*?)</tr>', html, re.S).group(1)
    assert "Késő Kálmán" in row and "badge-overdue" in row and "Coordinator" in row
    assert f'href="/clients/{late.id}"' in row and "8123456789" in row
    assert re.search(rf'data-balance="{late.id}">€\xa01,234.56<', html)
    kata = re.search(r"<tr>(?:(?!</tr>).)*Kész Kata.*?</tr>", html, re.S).group(0)
    assert "complete" in kata and "badge-overdue" not in kata
    assert Money(123_456, "EUR")  # the figure above is this amount in en_GB


def test_cells_carry_their_column_header_and_headers_are_short_with_a_tooltip(app, db, staff,
                                                                               as_role):
    make_client(db, "Kovács Eszter", city="Eger")
    staff.clerk.language = "hu"
    db.commit()
    clerk = as_role(Role.CLERK)
    html = clerk.get("/clients/").get_data(as_text=True)
    table = html[html.index('id="client-table"'):html.index("</table>")]
    assert 'class="striped stack"' in html
    cells = re.findall(r"<td([^>]*)>", table)
    assert len(cells) == 8 and all("data-label=" in c for c in cells)
    assert 'data-label="Település"' in table
    assert re.search(r'<th scope="col" title="Adóazonosító / adószám">Adóazon\.</th>', table)
    assert re.search(r'title="Ügyfélfelvétel határideje">\s*<a [^>]*>Határidő', table)


# Person or company ---------------------------------------------------------------------------


def _company(**overrides) -> dict:
    data = {"kind": "company", "name": "Példa Kft.", "tax_id": "", "income_currency": "HUF",
            "status": "prospect", "language": "hu", "registration_number": "Cg. 01 09 123456",
            "revenue": "250 000 000", "employer": "Valahol Zrt.", "income": "sok",
            "coordinator_id": ""}
    data.update(overrides)
    return data


def test_a_company_keeps_its_registration_number_and_revenue_not_a_persons_fields(
        app, db, staff, as_role):
    clerk = as_role(Role.CLERK)
    response = post(clerk, "/clients/new", _company())
    assert response.status_code == 302  # the person's unreadable income is not even checked
    client = db.scalar(select(Client).where(Client.name == "Példa Kft."))
    assert client.kind is ClientKind.COMPANY
    assert (client.registration_number, client.revenue_minor) == ("01-09-123456", 250_000_000)
    assert (client.employer, client.income_minor) == (None, None)
    page = clerk.get(f"/clients/{client.id}").get_data(as_text=True)
    assert "01-09-123456" in page and "Employer" not in page


def test_a_person_keeps_employer_and_income_not_a_companys_fields(app, db, staff, as_role):
    clerk = as_role(Role.CLERK)
    response = post(clerk, "/clients/new", _company(
        kind="person", name="Minta Mónika", employer="Valahol Zrt.", income="450 000",
        registration_number="nonsense", revenue="-5"))
    assert response.status_code == 302
    client = db.scalar(select(Client).where(Client.name == "Minta Mónika"))
    assert (client.employer, client.income_minor) == ("Valahol Zrt.", 450_000)
    assert (client.registration_number, client.revenue_minor) == (None, None)


def test_switching_a_person_to_a_company_clears_the_persons_fields(app, db, staff, as_role):
    person = make_client(db, "Váltó Vilmos", employer="Régi Kft.", income_minor=300_000)
    clerk = as_role(Role.CLERK)
    response = post(clerk, f"/clients/{person.id}/edit", _company(
        name="Váltó Vilmos Kft.", version=str(person.version)))
    assert response.status_code == 302
    db.expire_all()
    client = db.get(Client, person.id)
    assert (client.employer, client.income_minor) == (None, None)
    assert client.registration_number == "01-09-123456"


@pytest.mark.parametrize(("field", "value", "message"), [
    ("registration_number", "12-34", "Enter the company registration number as 01-09-123456."),
    ("revenue", "-1", "Revenue cannot be negative."),
    ("revenue", "sok", "Enter an amount"),
])
def test_a_companys_own_fields_are_checked(app, db, staff, as_role, field, value, message):
    response = post(as_role(Role.CLERK), "/clients/new", _company(**{field: value}))
    assert response.status_code == 422
    assert message in response.get_data(as_text=True)


def test_the_form_marks_each_kinds_fields_and_fills_the_revenue_on_edit(app, db, staff,
                                                                        as_role):
    company = make_client(db, "Példa Kft.", kind=ClientKind.COMPANY,
                          registration_number="01-09-123456", revenue_minor=250_000_000)
    html = as_role(Role.CLERK).get(f"/clients/{company.id}/edit").get_data(as_text=True)
    assert re.search(r'class="for-person">\s*<label for="employer"', html)
    assert re.search(r'class="for-company">\s*<label for="registration_number"', html)
    assert re.search(r'class="for-company">\s*<label for="revenue"', html)
    assert 'value="250,000,000"' in html and 'value="01-09-123456"' in html  # as typed in English


def test_the_edit_form_writes_income_as_the_users_language_types_it_and_saves_it_back(
        app, db, staff, as_role):
    person = make_client(db, "Jövedelmes János", income_minor=123_450, income_currency="EUR")
    staff.clerk.language = "hu"
    db.commit()
    client = as_role(Role.CLERK)
    html = client.get(f"/clients/{person.id}/edit").get_data(as_text=True)
    assert 'value="1 234,50"' in html  # not "1234.50" on a Hungarian page
    form = dict(re.findall(r'name="([a-z_]+)"[^>]*value="([^"]*)"', html))
    form.update({"kind": "person", "status": "active", "income_currency": "EUR",
                 "language": "hu", "name": "Jövedelmes János"})
    assert client.post(f"/clients/{person.id}/edit", data=form).status_code == 302
    db.expire_all()
    assert db.get(type(person), person.id).income_minor == 123_450


# The results kept per worker (``portal.changes``, ``clients.views._results``).


def _other_worker(app):
    """A second app on the same database: what another gunicorn worker or host is."""
    return create_app({key: app.config[key] for key in (
        "TESTING", "DATABASE_URL", "INSTANCE_PATH", "STORAGE_DIR", "LOGIN_RATE_LIMIT")})


def _rename_client(db, staff, client):
    db.get(Client, client.id).name = "Új Név Nándor"
    return "Új Név Nándor"


def _rename_coordinator(db, staff, client):
    db.get(User, staff.coordinator.id).full_name = "Átnevezett Koordinátor"
    return "Átnevezett Koordinátor"


def _post_charge(db, staff, client):
    account = db.scalars(select(Account).where(Account.client_id == client.id)).one()
    ledger.record_entry(db, Actor(db.get(User, staff.manager.id)), account.id, ledger.EntryData(
        kind=EntryKind.CHARGE, amount=Money(4_321, "HUF"), booked_on=date.today(),
        due_on=date.today()),
        as_of=date.today())
    return "HUF\xa04,321"


def _tick_onboarding(db, staff, client):
    for step in ("identity_verified", "contract_signed", "credit_review_done",
                 "account_opened"):
        db.add(OnboardingStep(client_id=client.id, step=step))
    return '<td data-label="Onboarding due">complete</td>'


@pytest.mark.parametrize("change", [_rename_client, _rename_coordinator, _post_charge,
                                    _tick_onboarding])
def test_kept_results_show_a_change_made_on_another_worker_at_once(app, db, staff, as_role,
                                                                   change):
    client = make_client(db, "Régi Név Nándor", coordinator_id=staff.coordinator.id,
                         status=ClientStatus.ONBOARDING)
    db.add(Account(client_id=client.id, number="100000001", currency="HUF", limit_minor=0,
                   opened_on=date.today()))
    db.commit()
    manager = as_role(Role.MANAGER)
    html = manager.get("/clients/").get_data(as_text=True)
    assert "Régi Név Nándor" in html
    assert _list_statements(app, manager, "/clients/") == []  # kept: no list query
    other = _other_worker(app)
    with other.app_context(), other.extensions["db_sessionmaker"]() as elsewhere:
        shown = change(elsewhere, staff, client)
        elsewhere.commit()
    other.extensions["db_engine"].dispose()
    assert shown in manager.get("/clients/").get_data(as_text=True)


def test_kept_results_are_per_user_language_and_day(app, db, staff, as_role, monkeypatch):
    make_client(db, "Titkos Tamás", restricted=True, coordinator_id=staff.coordinator.id)
    make_client(db, "Nyitott Nóra", status=ClientStatus.ONBOARDING,
                onboarding_due=date.today())
    db.get(User, staff.clerk.id).language = None  # the browser's language decides
    db.commit()
    coordinator, clerk = as_role(Role.COORDINATOR), as_role(Role.CLERK)
    # From here on nothing is written (logging in was): one token for every request below.
    token = _token_now(app)
    assert "Titkos Tamás" in coordinator.get("/clients/").get_data(as_text=True)
    html = clerk.get("/clients/", headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert "Titkos Tamás" not in html and "1 client" in html
    assert "badge-overdue" not in html
    html = clerk.get("/clients/", headers={"Accept-Language": "hu"}).get_data(as_text=True)
    assert "1 ügyfél" in html and "1 client" not in html
    monkeypatch.setattr(views, "today", lambda: date.today() + timedelta(days=1))
    html = clerk.get("/clients/", headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert "badge-overdue" in html
    assert _token_now(app) == token


def _token_now(app) -> int:
    with app.extensions["db_sessionmaker"]() as fresh:
        return changes.token(fresh, CLIENT_LIST)


def test_the_results_can_be_rendered_on_every_request(app, db, staff, as_role):
    make_client(db, "Mindig Friss Mária")
    app.config["KEEP_LIST_RESULTS"] = False
    clerk = as_role(Role.CLERK)
    assert "Mindig Friss Mária" in clerk.get("/clients/").get_data(as_text=True)
    assert len(_list_statements(app, clerk, "/clients/")) == 1


def test_an_htmx_request_gets_the_kept_results_alone(app, db, staff, as_role):
    make_client(db, "Töredék Tódor")
    clerk = as_role(Role.CLERK)
    page = clerk.get("/clients/").get_data(as_text=True)
    fragment = clerk.get("/clients/", headers=HX)
    assert fragment.headers["Vary"].count("HX-Request") == 1
    body = fragment.get_data(as_text=True)
    assert body.lstrip().startswith('<p class="result-count">') and "<html" not in body
    assert body.strip() in page and "Töredék Tódor" in body
