"""Bank statement import: each credit once, matched by the account number in the reference,
recorded on confirmation; a CSV mapping remembered per bank."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import func, select

from portal.db import transaction
from portal.domain.money import Money
from portal.models import LedgerEntry, LineStatus, StatementLine
from portal.models.audit import AuditEvent
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


# Bank reversals -------------------------------------------------------------------------------


def entry_xml(amount: str, ref: str, *, debit: bool = False, reversal: bool = False,
              end_to_end: str = "", payer_account: str = "", text: str = "",
              booked: str = "2026-11-28") -> str:
    """One camt ``Ntry``: a payer's credit, or (``debit``) money out, such as a reversal."""
    role = "Cdtr" if debit else "Dbtr"
    refs = f"<Refs><EndToEndId>{end_to_end}</EndToEndId></Refs>" if end_to_end else ""
    account = (f"<{role}Acct><Id><Othr><Id>{payer_account}</Id></Othr></Id></{role}Acct>"
               if payer_account else "")
    return (f'<Ntry><Amt Ccy="HUF">{amount}</Amt><CdtDbtInd>{"DBIT" if debit else "CRDT"}'
            f'</CdtDbtInd>{"<RvslInd>true</RvslInd>" if reversal else ""}'
            f"<BookgDt><Dt>{booked}</Dt></BookgDt><AcctSvcrRef>{ref}</AcctSvcrRef>"
            f"<NtryDtls><TxDtls>{refs}<RltdPties><{role}><Nm>Fizető Ferenc</Nm></{role}>"
            f"{account}</RltdPties><RmtInf><Ustrd>{text}</Ustrd></RmtInf></TxDtls></NtryDtls>"
            "</Ntry>")


def statement_xml(*entries: str) -> bytes:
    return ('<?xml version="1.0"?><Document xmlns="urn:iso:std:iso:20022:tech:xsd:'
            f'camt.053.001.08"><BkToCstmrStmt><Stmt>{"".join(entries)}</Stmt>'
            "</BkToCstmrStmt></Document>").encode()


def lines_of(run, actor, name, data):
    return run(lambda s: [(x.transaction_id, x.status.value, x.reason)
                          for x in statements.stage(s, actor, name, data).lines])


def line(db, transaction_id: str) -> StatementLine:
    db.expire_all()
    return db.scalar(select(StatementLine).where(StatementLine.transaction_id == transaction_id))


def test_a_bank_reversal_of_a_recorded_payment_reverses_it_when_confirmed(
        db, run, staff, accounts):
    huf, _ = accounts
    coordinator = Actor(staff.coordinator)
    paid = statement_xml(entry_xml("30000", "PAY-1", end_to_end="E2E-1", text=f"{huf} nov"))
    lines_of(run, coordinator, "nov.xml", paid)
    run(statements.confirm, coordinator, [line(db, "PAY-1").id], as_of=TODAY)
    account_id = line(db, "PAY-1").account_id
    assert ledger.statement(db, coordinator, account_id, TODAY).balance == Money(-30_000, "HUF")

    returned = statement_xml(entry_xml("30000", "REV-1", debit=True, reversal=True,
                                       end_to_end="E2E-1", booked="2026-11-29"),
                             entry_xml("999", "FEE-1", debit=True))  # a fee: left out
    staged = run(lambda s: statements.stage(s, coordinator, "dec.xml", returned))
    assert staged.statement.debits == 1
    assert lines_of(run, coordinator, "dec.xml", returned) == []  # known: nothing twice
    reversal = line(db, "REV-1")
    assert (reversal.status, reversal.reason, reversal.amount_minor) == (
        LineStatus.MATCHED, "reversal", -30_000)
    assert (reversal.reverses_line_id, reversal.account_id) == (line(db, "PAY-1").id, account_id)
    assert [x.transaction_id for x in statements.waiting(db, coordinator, LineStatus.MATCHED)
            ] == ["REV-1"]

    assert run(statements.confirm, coordinator, [reversal.id], as_of=TODAY) == 1
    assert run(statements.confirm, coordinator, [reversal.id], as_of=TODAY) == 0
    undo = db.scalar(select(LedgerEntry).where(LedgerEntry.bank_transaction_id == "REV-1"))
    assert (undo.kind.value, undo.reverses_id, undo.booked_on) == (
        "reversal", line(db, "PAY-1").entry_id, date(2026, 11, 29))
    assert line(db, "REV-1").status is LineStatus.RECORDED
    assert line(db, "REV-1").entry_id == undo.id
    assert ledger.statement(db, coordinator, account_id, TODAY).balance == Money(0, "HUF")


def test_a_payment_taken_back_before_it_is_recorded_records_nothing(db, run, staff, accounts):
    huf, _ = accounts
    coordinator = Actor(staff.coordinator)
    data = statement_xml(entry_xml("5000", "PAY-2", end_to_end="E2E-2", text=huf),
                         entry_xml("5000", "REV-2", debit=True, reversal=True,
                                   end_to_end="E2E-2"))
    assert lines_of(run, coordinator, "same.xml", data) == [
        ("PAY-2", "ignored", "reversed"), ("REV-2", "ignored", "reversed")]
    assert line(db, "REV-2").reverses_line_id == line(db, "PAY-2").id
    assert db.scalar(select(func.count()).select_from(LedgerEntry)) == 0
    assert statements.waiting(db, coordinator, LineStatus.MATCHED) == []
    assert statements.waiting(db, coordinator) == []
    assert db.scalar(select(AuditEvent.object_label).where(
        AuditEvent.action == "statement.reversed")) == "PAY-2"


def test_a_reversal_with_no_payment_found_waits_and_is_never_a_payment(
        db, run, staff, accounts):
    huf, _ = accounts
    coordinator = Actor(staff.coordinator)
    data = statement_xml(entry_xml("5000", "REV-3", debit=True, reversal=True,
                                   end_to_end="NOBODY", text=huf),
                         entry_xml("800", "BACK-1", reversal=True, text=huf))  # a credit
    assert lines_of(run, coordinator, "odd.xml", data) == [
        ("BACK-1", "unmatched", "bank_reversal"), ("REV-3", "unmatched", "reversal_unknown")]
    account_id = db.scalar(select(ledger.Account.id).where(ledger.Account.number == huf))
    for transaction_id in ("REV-3", "BACK-1"):
        with pytest.raises(ledger.Refused) as refused:
            run(statements.assign, coordinator, line(db, transaction_id).id, account_id,
                as_of=TODAY)
        assert refused.value.reason == "reversal"
        run(statements.ignore, coordinator, line(db, transaction_id).id, note="by hand")
    assert db.scalar(select(func.count()).select_from(LedgerEntry)) == 0


def test_a_reversal_is_found_by_payer_account_and_reference_without_an_end_to_end_id(
        db, run, staff, accounts):
    huf, _ = accounts
    coordinator = Actor(staff.coordinator)
    payer = "117730161111111100000000"
    lines_of(run, coordinator, "a.xml", statement_xml(
        entry_xml("700", "PAY-4", payer_account=payer, text=f"{huf} dec"),
        entry_xml("700", "PAY-5", payer_account=payer, text=f"{huf} other")))
    assert lines_of(run, coordinator, "b.xml", statement_xml(
        entry_xml("700", "REV-4", debit=True, reversal=True, payer_account=payer,
                  text=f"{huf} other"))) == [("REV-4", "ignored", "reversed")]
    assert line(db, "REV-4").reverses_line_id == line(db, "PAY-5").id
    assert line(db, "PAY-4").status is LineStatus.MATCHED  # the other one is untouched


def test_each_payment_is_taken_back_once(db, run, staff, accounts):
    huf, _ = accounts
    coordinator = Actor(staff.coordinator)
    lines_of(run, coordinator, "a.xml", statement_xml(
        entry_xml("100", "PAY-6", end_to_end="SAME", text=huf, booked="2026-11-01"),
        entry_xml("100", "PAY-7", end_to_end="SAME", text=huf, booked="2026-11-02")))
    reversals = [entry_xml("100", f"REV-{n}", debit=True, reversal=True, end_to_end="SAME")
                 for n in (6, 7, 8)]
    assert lines_of(run, coordinator, "b.xml", statement_xml(*reversals)) == [
        ("REV-6", "ignored", "reversed"), ("REV-7", "ignored", "reversed"),
        ("REV-8", "unmatched", "reversal_unknown")]
    assert {line(db, "REV-6").reverses_line_id, line(db, "REV-7").reverses_line_id} == {
        line(db, "PAY-6").id, line(db, "PAY-7").id}


def test_a_payment_reversed_by_hand_is_not_reversed_twice(db, run, staff, accounts):
    huf, _ = accounts
    coordinator = Actor(staff.coordinator)
    lines_of(run, coordinator, "a.xml", statement_xml(
        entry_xml("900", "PAY-8", end_to_end="E8", text=huf),
        entry_xml("900", "PAY-9", end_to_end="E9", text=huf)))
    run(statements.confirm, coordinator, [line(db, "PAY-8").id, line(db, "PAY-9").id],
        as_of=TODAY)
    run(ledger.reverse, coordinator, line(db, "PAY-8").entry_id, reason="returned",
        booked_on=TODAY, as_of=TODAY)
    data = statement_xml(entry_xml("900", "REV-8", debit=True, reversal=True, end_to_end="E8"),
                         entry_xml("900", "REV-9", debit=True, reversal=True, end_to_end="E9"))
    assert lines_of(run, coordinator, "b.xml", data) == [
        ("REV-8", "ignored", "reversed_already"), ("REV-9", "matched", "reversal")]
    # Reversed by hand after the import, before the confirmation: nothing twice either.
    run(ledger.reverse, coordinator, line(db, "PAY-9").entry_id, reason="returned",
        booked_on=TODAY, as_of=TODAY)
    assert run(statements.confirm, coordinator, [line(db, "REV-9").id], as_of=TODAY) == 0
    assert (line(db, "REV-9").status, line(db, "REV-9").reason) == (
        LineStatus.IGNORED, "reversed_already")
    assert db.scalar(select(func.count()).select_from(LedgerEntry).where(
        LedgerEntry.reverses_id.is_not(None))) == 2


def test_a_reversal_confirmed_by_two_people_at_once_is_recorded_once(app, db, run, staff,
                                                                    accounts):
    huf, _ = accounts
    coordinator = Actor(staff.coordinator)
    lines_of(run, coordinator, "a.xml", statement_xml(
        entry_xml("900", "PAY-10", end_to_end="E10", text=huf)))
    run(statements.confirm, coordinator, [line(db, "PAY-10").id], as_of=TODAY)
    lines_of(run, coordinator, "b.xml", statement_xml(
        entry_xml("900", "REV-10", debit=True, reversal=True, end_to_end="E10")))
    reversal_id = line(db, "REV-10").id
    db.rollback()
    # The second person's request has read the line (still waiting) when the first one's
    # confirmation commits; it then reaches the ledger after it.
    with app.extensions["db_sessionmaker"]() as late:
        stale = late.get(StatementLine, reversal_id)
        assert stale.status is LineStatus.MATCHED
        assert run(statements.confirm, coordinator, [reversal_id], as_of=TODAY) == 1
        assert statements._record_reversal(late, coordinator, stale, TODAY) is False
        late.commit()
    done = line(db, "REV-10")
    assert done.status is LineStatus.RECORDED and done.entry_id is not None
    assert db.scalar(select(func.count()).select_from(LedgerEntry).where(
        LedgerEntry.reverses_id.is_not(None))) == 1
