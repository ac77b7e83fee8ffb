"""Bank statement import pages and command: upload, column mapping remembered per bank,
confirmation, the queue of unmatched lines, hostile files and permissions."""

from __future__ import annotations

import io
import json
import re
from datetime import date

import pytest
from sqlalchemy import func, select

from portal.domain.permissions import Role
from portal.models import LedgerEntry, LineStatus, StatementLine
from portal.models.banking import BankMapping
from portal.models.ledger import Account
from portal.services import ledger, statements
from portal.services.base import SYSTEM, Actor
from tests.conftest import csrf_token, make_client, post
from tests.services.test_statements import camt

TODAY = date(2026, 11, 30)
CSV_HEADER = "Nap;Pénz;Szöveg;Azon"


@pytest.fixture
def accounts(db, staff):
    """A HUF account and an EUR account; return their numbers."""
    numbers = []
    for name, currency in (("Fizető Ferenc", "HUF"), ("Euró Emma", "EUR")):
        client = make_client(db, name)
        account = ledger.open_account(db, Actor(staff.coordinator), client.id,
                                      currency=currency, limit_minor=10**6,
                                      opened_on=date(2026, 1, 1))
        numbers.append(account.number)
    db.commit()
    return numbers


def upload(client, data: bytes, name: str = "nov.xml"):
    token = csrf_token(client, "/payments/import")
    return client.post("/payments/import", data={
        "csrf_token": token, "statement": (io.BytesIO(data), name)},
        content_type="multipart/form-data")


def hidden(html: str, name: str) -> str:
    match = re.search(rf'name="{name}" type="hidden" value="([^"]*)"', html) or re.search(
        rf'type="hidden" name="{name}" value="([^"]*)"', html) or re.search(
        rf'name="{name}"[^>]*value="([^"]*)"', html)
    assert match, name
    return match.group(1)


def balance(db, number: str):
    db.expire_all()
    account = db.scalar(select(Account).where(Account.number == number))
    return ledger.statement(db, SYSTEM, account.id, date.today()).balance


def test_a_camt_statement_is_matched_confirmed_and_not_recorded_twice(db, as_role, accounts):
    huf, _ = accounts
    data = camt(("25000.00", "HUF", "B-1", f"Törlesztés {huf}"),
                ("15.50", "EUR", "B-2", f"payment {huf}"),
                ("500", "HUF", "B-3", "no account number here"))
    client = as_role(Role.COORDINATOR)
    response = upload(client, data)
    html = response.get_data(as_text=True)
    assert response.status_code == 200, html[:2000]
    assert 'data-count="new">3<' in html and 'data-count="matched">1<' in html
    assert "The account is in another currency" in html
    assert "No account number found in the reference" in html
    assert "Fizető Ferenc" in html and huf in html
    line_ids = re.findall(r'name="line" value="(\d+)" checked', html)
    assert len(line_ids) == 1
    before = balance(db, huf)
    response = post(client, "/payments/confirm", {"line": line_ids},
                    token_from="/payments/unmatched")
    assert response.status_code == 302
    assert db.scalar(select(func.count()).select_from(LedgerEntry)) == 1
    assert balance(db, huf).minor == before.minor - 25_000

    again = upload(client, data).get_data(as_text=True)
    assert 'data-count="new">0<' in again and 'data-count="known">3<' in again
    assert "data-nothing-new" in again
    assert db.scalar(select(func.count()).select_from(StatementLine)) == 3
    assert db.scalar(select(func.count()).select_from(LedgerEntry)) == 1


def test_a_csv_is_mapped_once_and_the_mapping_remembered(db, as_role, accounts):
    huf, _ = accounts
    client = as_role(Role.MANAGER)
    data = f"{CSV_HEADER}\n2026.11.27.;12 000,00;{huf} részlet;T-1\n".encode("cp1250")
    response = upload(client, data, "bank.csv")
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and "Name the columns" in html
    assert '<option value="Szöveg">' in html
    form = {"content": hidden(html, "content"), "ticket": "", "file_name": "bank.csv",
            "bank_name": "Helyi Bank", "date": "Nap", "amount": "Pénz",
            "reference": ["Szöveg"], "transaction_id": "Azon", "fixed_currency": "HUF",
            "decimal_mark": ","}
    incomplete = post(client, "/payments/import/mapping", {**form, "date": ""},
                      token_from="/payments/import")
    assert incomplete.status_code == 422
    assert "Choose the column of the booking date." in incomplete.get_data(as_text=True)
    staged = post(client, "/payments/import/mapping", form, token_from="/payments/import")
    html = staged.get_data(as_text=True)
    assert staged.status_code == 200, re.findall(r"(?:field-error|alert)[^<]*", html)
    assert 'data-count="matched">1<' in html and 'data-line="T-1"' in html
    assert db.scalar(select(BankMapping.name)) == "Helyi Bank"

    later = f"{CSV_HEADER}\n2026.11.28.;3 000,00;{huf};T-2\n".encode("cp1250")
    html = upload(client, later, "bank2.csv").get_data(as_text=True)
    assert "Name the columns" not in html and 'data-line="T-2"' in html


def test_a_large_csv_survives_the_mapping_step_in_a_signed_temporary_file(app, db, as_role,
                                                                         accounts):
    huf, _ = accounts
    client = as_role(Role.COORDINATOR)
    rows = "".join(f"2026.11.{1 + i % 28:02d}.;{i + 1},00;hello {i:06d} {'x' * 80};Z-{i}\n"
                   for i in range(4000))
    data = f"{CSV_HEADER}\n2026.11.27.;12 000,00;{huf};T-1\n{rows}".encode("cp1250")
    html = upload(client, data, "big.csv").get_data(as_text=True)
    ticket = hidden(html, "ticket")
    assert ticket and not hidden(html, "content")
    tmp = app.extensions["storage"].tmp
    assert len(list(tmp.glob("statement-*"))) == 1
    form = {"content": "", "ticket": ticket, "file_name": "big.csv", "date": "Nap",
            "amount": "Pénz", "reference": ["Szöveg"], "transaction_id": "Azon",
            "fixed_currency": "HUF", "decimal_mark": ","}
    forged = post(client, "/payments/import/mapping", {**form, "ticket": ticket[:-2] + "xx"},
                  token_from="/payments/import")
    assert forged.status_code == 422
    other = as_role("coordinator2")  # the ticket is the uploader's alone
    assert post(other, "/payments/import/mapping", form,
                token_from="/payments/import").status_code == 422
    staged = post(client, "/payments/import/mapping", form, token_from="/payments/import")
    assert staged.status_code == 200
    assert 'data-count="new">4001<' in staged.get_data(as_text=True)
    assert list(tmp.glob("statement-*")) == []  # removed after use
    gone = post(client, "/payments/import/mapping", form, token_from="/payments/import")
    assert gone.status_code == 422


def test_unmatched_lines_are_assigned_or_set_aside(db, as_role, accounts):
    _, eur = accounts
    client = as_role(Role.COORDINATOR)
    upload(client, camt(("70.00", "EUR", "E-1", "Emma's payment"),
                        ("5", "HUF", "X-1", "bank fee refund")))
    html = client.get("/payments/unmatched").get_data(as_text=True)
    assert html.index('data-line="E-1"') < html.index('data-line="X-1"')
    lines = {x.transaction_id: x.id for x in db.scalars(select(StatementLine))}
    token = csrf_token(client, "/payments/unmatched")
    url = f"/payments/lines/{lines['E-1']}/assign"
    field = f"assign-{lines['E-1']}"
    wrong = client.post(url, data={f"{field}-csrf_token": token, f"{field}-account_number":
                                   "HK-00000000"})
    assert wrong.status_code == 422
    assert "No account has this number." in wrong.get_data(as_text=True)
    spaced = eur[:3] + " " + eur[3:7] + " " + eur[7:]
    done = client.post(url, data={f"{field}-csrf_token": token,
                                  f"{field}-account_number": spaced.lower()})
    assert done.status_code == 302
    entry = db.scalar(select(LedgerEntry))
    assert (entry.amount_minor, entry.currency, entry.bank_transaction_id) == (7000, "EUR",
                                                                              "E-1")
    field = f"ignore-{lines['X-1']}"
    url = f"/payments/lines/{lines['X-1']}/ignore"
    assert client.post(url, data={f"{field}-csrf_token": token}).status_code == 422
    assert client.post(url, data={f"{field}-csrf_token": token,
                                  f"{field}-note": "bank's own refund"}).status_code == 302
    db.expire_all()
    assert db.get(StatementLine, lines["X-1"]).status is LineStatus.IGNORED
    html = client.get("/payments/unmatched").get_data(as_text=True)
    assert "No unmatched line waits." in html
    again = client.post(f"/payments/lines/{lines['E-1']}/assign", data={
        f"assign-{lines['E-1']}-csrf_token": token,
        f"assign-{lines['E-1']}-account_number": eur})
    assert again.status_code == 422
    assert "dealt with already" in again.get_data(as_text=True)


def test_matched_lines_wait_in_the_queue_until_confirmed(db, as_role, accounts):
    huf, _ = accounts
    client = as_role(Role.COORDINATOR)
    upload(client, camt(("1000", "HUF", "M-1", huf)))
    html = client.get("/payments/unmatched").get_data(as_text=True)
    line_ids = re.findall(r'name="line" value="(\d+)" checked', html)
    assert len(line_ids) == 1 and 'data-line="M-1"' in html
    post(client, "/payments/confirm", {"line": line_ids}, token_from="/payments/unmatched")
    assert db.scalar(select(func.count()).select_from(LedgerEntry)) == 1
    assert "No matched line waits for confirmation." in client.get(
        "/payments/unmatched").get_data(as_text=True)


def test_a_hostile_xml_is_refused_with_a_reason(db, as_role):
    client = as_role(Role.COORDINATOR)
    evil = (b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]>'
            b"<Document>&e;</Document>")
    response = upload(client, evil, "evil.xml")
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "cannot be read as a bank statement" in html and "root:" not in html
    assert db.scalar(select(func.count()).select_from(StatementLine)) == 0


def test_a_clerk_gets_403_on_every_payments_route(as_role):
    client = as_role(Role.CLERK)
    token = csrf_token(client, "/account/")
    for url in ("/payments/import", "/payments/unmatched"):
        assert client.get(url).status_code == 403
    for url in ("/payments/import", "/payments/import/mapping", "/payments/confirm",
                "/payments/lines/1/assign", "/payments/lines/1/ignore"):
        assert client.post(url, data={"csrf_token": token}).status_code == 403
    assert "/payments/" not in client.get("/account/").get_data(as_text=True)


def test_the_command_imports_and_confirms_a_camt_file(app, db, accounts, tmp_path):
    huf, _ = accounts
    path = tmp_path / "nov.xml"
    path.write_bytes(camt(("25000.00", "HUF", "C-1", f"részlet {huf}"),
                          ("500", "HUF", "C-2", "no number")))
    runner = app.test_cli_runner()
    result = runner.invoke(args=["payments", "import", str(path), "--confirm"])
    assert result.exit_code == 0, result.output
    assert "new lines: 2 (matched 1, unmatched 1)" in result.output
    assert "no account number found in the reference" in result.output
    assert "recorded: 1 payments" in result.output
    db.expire_all()
    assert db.scalar(select(func.count()).select_from(LedgerEntry)) == 1
    again = runner.invoke(args=["payments", "import", str(path), "--confirm"])
    assert again.exit_code == 0 and "already imported: 2" in again.output
    assert db.scalar(select(func.count()).select_from(LedgerEntry)) == 1


def test_the_command_asks_for_a_csv_mapping(app, db, accounts, tmp_path):
    huf, _ = accounts
    path = tmp_path / "bank.csv"
    path.write_bytes(f"{CSV_HEADER}\n2026.11.27.;12 000,00;{huf} részlet;T-1\n"
                     .encode("cp1250"))
    runner = app.test_cli_runner()
    result = runner.invoke(args=["payments", "import", str(path)])
    assert result.exit_code == 2
    proposal = json.loads(result.stdout)
    assert proposal["header"] == ["Nap", "Pénz", "Szöveg", "Azon"]
    (tmp_path / "broken.json").write_text("[1, 2]", "utf-8")
    broken = runner.invoke(args=["payments", "import", str(path), "--mapping",
                                 str(tmp_path / "broken.json")])
    assert broken.exit_code == 1 and "not a column mapping" in broken.output
    proposal["mapping"].update(date="Nap", amount="Pénz", reference=["Szöveg"],
                               transaction_id="Azon")
    (tmp_path / "mapping.json").write_text(json.dumps(proposal), "utf-8")
    result = runner.invoke(args=["payments", "import", str(path), "--mapping",
                                 str(tmp_path / "mapping.json"), "--confirm"])
    assert result.exit_code == 0, result.output
    assert "matched 1" in result.output and "recorded: 1 payments" in result.output
    db.expire_all()
    assert statements.remembered_mapping(db, proposal["header"]) is not None


def test_the_pages_speak_hungarian(db, staff, as_role, accounts):
    staff.coordinator.language = "hu"
    db.commit()
    client = as_role(Role.COORDINATOR)
    html = upload(client, camt(("500", "HUF", "H-1", "nincs számlaszám"))).get_data(as_text=True)
    assert "A kivonat beolvasva" in html and "A közleményben nincs számlaszám" in html
    html = client.get("/payments/unmatched").get_data(as_text=True)
    assert "Bankszámlakivonat-tételek" in html and "Rögzítés erre a számlára" in html
    assert ">Befizetések</a>" in html
    html = upload(client, f"{CSV_HEADER}\n2026.11.27.;1,00;x;T-9\n".encode("cp1250"),
                  "b.csv").get_data(as_text=True)
    assert "Oszlopok megnevezése" in html and "Tizedesjel" in html


def test_a_bank_reversal_is_shown_confirmed_and_reverses_the_payment(db, as_role, accounts):
    from tests.services.test_statements import entry_xml, statement_xml

    huf, _ = accounts
    client = as_role(Role.COORDINATOR)
    upload(client, statement_xml(entry_xml("4000", "P-1", end_to_end="E-1", text=huf)))
    post(client, "/payments/confirm", {"line": [str(db.scalar(select(StatementLine.id)))]},
         token_from="/payments/unmatched")
    before = balance(db, huf)
    html = upload(client, statement_xml(
        entry_xml("4000", "R-1", debit=True, reversal=True, end_to_end="E-1"),
        entry_xml("250", "R-2", debit=True, reversal=True, end_to_end="NONE"),
        entry_xml("600", "P-2", end_to_end="E-2", text=huf),
        entry_xml("600", "R-3", debit=True, reversal=True, end_to_end="E-2")),
        "dec.xml").get_data(as_text=True)
    assert 'data-count="matched">1<' in html and 'data-count="reversed">2<' in html
    assert 'data-count="unmatched">1<' in html and 'data-count="debits">0<' in html
    assert 'data-reverses="P-1"' in html and "confirming reverses it" in html
    assert "A line with a minus amount is the bank taking a recorded payment back" in html
    assert "Taken back by the bank before it was recorded" in html  # P-2 and R-3
    assert 'data-reason="reversal_unknown"' in html
    assert "Record the checked lines" in html  # not "payments": a reversal is among them

    queue = client.get("/payments/unmatched").get_data(as_text=True)
    unknown = db.scalar(select(StatementLine.id).where(StatementLine.transaction_id == "R-2"))
    assert f'id="line-{unknown}"' in queue
    assert f"/payments/lines/{unknown}/assign" not in queue  # only "set aside" is offered
    assert f"/payments/lines/{unknown}/ignore" in queue
    refused = client.post(f"/payments/lines/{unknown}/assign", data={
        f"assign-{unknown}-csrf_token": csrf_token(client, "/payments/unmatched"),
        f"assign-{unknown}-account_number": huf})
    assert refused.status_code == 422
    assert "it is not a payment" in refused.get_data(as_text=True)

    reversal = re.findall(r'name="line" value="(\d+)" checked', queue)
    assert len(reversal) == 1
    post(client, "/payments/confirm", {"line": reversal}, token_from="/payments/unmatched")
    assert balance(db, huf).minor == before.minor + 4_000  # the client owes it again
    undo = db.scalar(select(LedgerEntry).where(LedgerEntry.bank_transaction_id == "R-1"))
    assert undo.kind.value == "reversal"


def test_a_reversal_reads_in_hungarian(db, staff, as_role, accounts):
    from tests.services.test_statements import entry_xml, statement_xml

    staff.coordinator.language = "hu"
    db.commit()
    huf, _ = accounts
    client = as_role(Role.COORDINATOR)
    html = upload(client, statement_xml(
        entry_xml("600", "P-2", end_to_end="E-2", text=huf),
        entry_xml("600", "R-3", debit=True, reversal=True, end_to_end="E-2"),
        entry_xml("250", "R-4", debit=True, reversal=True, end_to_end="NONE"))
    ).get_data(as_text=True)
    assert "A bank visszavette" in html
    queue = client.get("/payments/unmatched").get_data(as_text=True)
    assert "Tétel félretétele" in queue  # the button says what it does, not "Félretéve"


def test_the_command_reverses_a_payment_the_bank_took_back(app, db, accounts, tmp_path):
    from tests.services.test_statements import entry_xml, statement_xml

    huf, _ = accounts
    runner = app.test_cli_runner()
    paid, returned = tmp_path / "nov.xml", tmp_path / "dec.xml"
    paid.write_bytes(statement_xml(entry_xml("2500", "C-1", end_to_end="E-1", text=huf)))
    returned.write_bytes(statement_xml(
        entry_xml("2500", "C-9", debit=True, reversal=True, end_to_end="E-1"),
        entry_xml("700", "C-3", end_to_end="E-3", text=huf),
        entry_xml("700", "C-4", debit=True, reversal=True, end_to_end="E-3")))
    assert runner.invoke(args=["payments", "import", str(paid), "--confirm"]).exit_code == 0
    before = balance(db, huf)
    result = runner.invoke(args=["payments", "import", str(returned), "--confirm"])
    assert result.exit_code == 0, result.output
    assert "new lines: 3 (matched 1, unmatched 0, taken back by the bank 2)" in result.output
    assert "set aside: " in result.output and "taken back by the bank before" in result.output
    assert "recorded: 1 lines (payments and reversals)" in result.output
    assert balance(db, huf).minor == before.minor + 2_500
