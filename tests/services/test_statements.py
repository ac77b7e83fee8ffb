"""Bank statement import: each credit once, matched by the account number in the reference,
recorded on confirmation; a CSV mapping remembered per bank."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import func, select

from portal.db import transaction
from portal.domain.money import Money
from portal.models import LedgerEntry, LineStatus, StatementLine
from portal.services import ledger, statements
from portal.services.base import Actor, Forbidden
from tests.conftest import make_client

TODAY = date(2026, 11, 30)


@pytest.fixture
def run(app):
    sessions = app.extensions["db_sessionmaker"]

    def call(fn, *args, **kwargs):
        with transaction(sessions) as session:
            return fn(session, *args, **kwargs)

    return call


@pytest.fixture
def accounts(db, run, staff):
    coordinator = Actor(staff.coordinator)
    huf = run(lambda s: ledger.open_account(s, coordinator, make_client(db, "Fizető Ferenc").id,
                                            currency="HUF", limit_minor=10**6,
                                            opened_on=date(2026, 1, 1)).number)
    eur = run(lambda s: ledger.open_account(s, coordinator, make_client(db, "Euró Emma").id,
                                            currency="EUR", limit_minor=10**6,
                                            opened_on=date(2026, 1, 1)).number)
    return huf, eur


def camt(*entries: tuple[str, str, str, str]) -> bytes:
    """A camt.053.001.02 statement of credits: (amount, currency, bank id, reference)."""
    body = "".join(
        f'<Ntry><Amt Ccy="{ccy}">{amount}</Amt><CdtDbtInd>CRDT</CdtDbtInd>'
        f"<BookgDt><Dt>2026-11-28</Dt></BookgDt><AcctSvcrRef>{ref}</AcctSvcrRef>"
        f"<NtryDtls><TxDtls><RltdPties><Dbtr><Nm>Befizető</Nm></Dbtr></RltdPties>"
        f"<RmtInf><Ustrd>{text}</Ustrd></RmtInf></TxDtls></NtryDtls></Ntry>"
        for amount, ccy, ref, text in entries)
    return ('<?xml version="1.0"?><Document xmlns="urn:iso:std:iso:20022:tech:xsd:'
            f'camt.053.001.02"><BkToCstmrStmt><Stmt>{body}</Stmt></BkToCstmrStmt>'
            "</Document>").encode()


def test_a_statement_is_matched_confirmed_and_never_recorded_twice(db, run, staff, accounts):
    huf, eur = accounts
    spaced = huf[:3] + " " + huf[3:7] + " " + huf[7:]  # "HK- 1234 5678" as people type it
    data = camt(("25000.00", "HUF", "B-1", f"Törlesztés {huf}"),
                ("1000", "HUF", "B-2", f"befizetés {spaced.lower()}"),
                ("15.50", "EUR", "B-3", f"payment {huf}"),  # wrong currency for that account
                ("500", "HUF", "B-4", "no account number here"))
    coordinator = Actor(staff.coordinator)
    staged = run(lambda s: [(x.transaction_id, x.status.value, x.reason)
                            for x in statements.stage(s, coordinator, "nov.xml", data).lines])
    assert staged == [("B-1", "matched", None), ("B-2", "matched", None),
                      ("B-3", "unmatched", "currency"), ("B-4", "unmatched", "no_account")]
    matched = db.scalars(select(StatementLine.id).where(
        StatementLine.status == LineStatus.MATCHED)).all()
    assert run(statements.confirm, coordinator, matched, as_of=TODAY) == 2
    assert run(statements.confirm, coordinator, matched, as_of=TODAY) == 0  # done already
    again = run(lambda s: statements.stage(s, coordinator, "nov.xml", data).statement.known_lines)
    assert again == 4
    assert db.scalar(select(func.count()).select_from(StatementLine)) == 4
    assert db.scalar(select(func.count()).select_from(LedgerEntry)) == 2
    account_id = db.scalar(select(LedgerEntry.account_id))
    balance = ledger.statement(db, coordinator, account_id, TODAY).balance
    assert balance == Money(-26_000, "HUF")  # paid ahead: the client is in credit


def test_an_unmatched_line_is_assigned_by_hand_or_set_aside(db, run, staff, accounts):
    huf, eur = accounts
    coordinator = Actor(staff.coordinator)
    run(statements.stage, coordinator, "dec.xml",
        camt(("70.00", "EUR", "E-1", "Emma's payment"), ("5", "HUF", "X-1", "bank fee refund")))
    waiting = statements.waiting(db, coordinator)
    assert [w.transaction_id for w in waiting] == ["E-1", "X-1"]
    eur_account = db.scalar(select(ledger.Account.id).where(ledger.Account.number == eur))
    run(statements.assign, coordinator, waiting[0].id, eur_account, as_of=TODAY)
    run(statements.ignore, coordinator, waiting[1].id, note="not a client")
    assert statements.waiting(db, coordinator) == []
    with pytest.raises(ledger.Refused):
        run(statements.assign, coordinator, waiting[1].id, eur_account, as_of=TODAY)
    entry = db.scalar(select(LedgerEntry))
    assert (entry.amount_minor, entry.currency, entry.bank_transaction_id) == (7000, "EUR",
                                                                              "E-1")


def test_a_csv_needs_its_columns_named_once_per_bank(db, run, staff, accounts):
    huf, _ = accounts
    coordinator = Actor(staff.coordinator)
    data = ("Nap;Pénz;Szöveg;Azon\n"
            f"2026.11.27.;12 000,00;{huf} részlet;T-1\n").encode("cp1250")
    first = run(statements.stage, coordinator, "bank.csv", data)
    assert isinstance(first, statements.NeedsMapping) and first.header == ("Nap", "Pénz",
                                                                           "Szöveg", "Azon")
    mapping = statements.ColumnMapping(date="Nap", amount="Pénz", reference=("Szöveg",),
                                       transaction_id="Azon")
    staged = run(lambda s: [x.status for x in statements.stage(
        s, coordinator, "bank.csv", data, mapping=mapping, bank_name="Helyi Bank").lines])
    assert staged == [LineStatus.MATCHED]
    later = ("Nap;Pénz;Szöveg;Azon\n"
             f"2026.11.28.;3 000,00;{huf};T-2\n").encode("cp1250")
    remembered = run(lambda s: [x.transaction_id for x in statements.stage(
        s, coordinator, "bank2.csv", later).lines])
    assert remembered == ["T-2"]


def test_hostile_or_foreign_files_are_refused_with_a_reason(run, staff):
    coordinator = Actor(staff.coordinator)
    with pytest.raises(statements.Rejected):
        run(statements.stage, coordinator, "evil.xml",
            b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]>'
            b"<Document>&e;</Document>")
    with pytest.raises(Forbidden):
        run(statements.stage, Actor(staff.clerk), "x.xml", camt())


def test_the_account_number_is_found_however_it_is_written():
    assert statements.account_in("Befizetés HK-12345678 nov") == "HK-12345678"
    assert statements.account_in("hk 1234 5678") == "HK-12345678"
    assert statements.account_in("HK-1234-5678") == "HK-12345678"
    assert statements.account_in("HK-1234567") is None
    assert statements.account_in("") is None
