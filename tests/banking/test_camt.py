"""camt.053 statements: entries, signs, versions, and hostile or oversized XML refused."""

from __future__ import annotations

import socket
from datetime import date

import pytest

from portal.banking import BankTransaction, StatementRejected, parse_camt053
from portal.domain.money import Money
from tests.banking.samples import CAMT_02, CAMT_08


def test_camt_02_three_entries_credits_positive_debit_negative():
    parsed = parse_camt053(CAMT_02)
    assert parsed.ok and parsed.skipped == 0
    first, second, third = parsed.transactions
    assert first == BankTransaction(
        transaction_id="OTP20261130000123",
        booked_on=date(2026, 11, 30),
        amount=Money(125000, "HUF"),
        counterparty_name="Kovács Gábor",
        counterparty_account="HU93116000060000000012345676",
        reference="HSZ-2026/0042 novemberi törlesztő részlet",
        raw="Átutalás jóváírás",
    )
    assert first.is_credit
    assert second.amount == Money(-48500, "HUF") and not second.is_credit
    assert second.counterparty_name == "Irodaház Kft."  # the creditor of a debit
    assert second.counterparty_account == "109180010000001234560001"
    assert second.raw == "Irodabérlet december"
    # NtryRef when there is no AcctSvcrRef; DtTm read as its date; a 2×8 GIRO padded;
    # no remittance text, so the payer's end-to-end id is the reference.
    assert third.transaction_id == "NR-77"
    assert third.booked_on == date(2026, 11, 29)
    assert third.counterparty_account == "116000060000000000000000"
    assert third.reference == "E2E-HSZ-2026-0043"


def test_camt_08_party_structure_pending_skipped_batch_split():
    parsed = parse_camt053(CAMT_08)
    assert parsed.ok
    assert parsed.skipped == 1  # the PDNG entry
    single, part_one, part_two = parsed.transactions
    assert single.transaction_id == "K&H-991"
    assert single.amount == Money(125050, "EUR")
    assert single.counterparty_name == "Example GmbH"
    assert single.counterparty_account == "DE89370400440532013000"
    assert single.reference == "RF18539007547034"
    assert (part_one.transaction_id, part_one.amount) == ("K&H-993/B1", Money(10000, "EUR"))
    assert (part_two.transaction_id, part_two.amount) == ("K&H-993/2", Money(20000, "EUR"))
    assert part_two.reference == "HSZ-2026/0051"


@pytest.mark.parametrize("version", ["02", "03", "04", "05", "06", "07", "08"])
def test_every_version_reads_alike(version):
    data = CAMT_02.replace(b"camt.053.001.02", f"camt.053.001.{version}".encode())
    assert parse_camt053(data) == parse_camt053(CAMT_02)


def test_no_namespace_reads_too():
    data = CAMT_02.replace(b' xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.02"', b"")
    assert len(parse_camt053(data).transactions) == 3


def test_same_bytes_twice_same_ids():
    assert parse_camt053(CAMT_02) == parse_camt053(CAMT_02)
    without_refs = CAMT_02.replace(b"AcctSvcrRef>", b"Ignored>").replace(b"NtryRef>", b"Nope>")
    once, twice = parse_camt053(without_refs), parse_camt053(without_refs)
    ids = [t.transaction_id for t in once.transactions]
    assert ids == [t.transaction_id for t in twice.transactions]
    assert ids[0] == "TX-0001"  # the TxId when the entry has no reference
    assert all(i.startswith("sha256:") for i in ids[1:]) and len(set(ids)) == 3


def _entry(amount: str, ccy: str = "HUF", indicator: str = "CRDT", ref: str = "R") -> str:
    return (
        f'<Ntry><Amt Ccy="{ccy}">{amount}</Amt><CdtDbtInd>{indicator}</CdtDbtInd>'
        f"<BookgDt><Dt>2026-11-30</Dt></BookgDt><AcctSvcrRef>{ref}</AcctSvcrRef></Ntry>"
    )


def _statement(*entries: str) -> bytes:
    return (
        '<?xml version="1.0"?><Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.04">'
        f"<BkToCstmrStmt><Stmt>{''.join(entries)}</Stmt></BkToCstmrStmt></Document>"
    ).encode()


def test_bad_entries_reported_by_number_good_ones_kept():
    parsed = parse_camt053(
        _statement(
            _entry("100.50", ref="A"),  # HUF has no fillér
            _entry("1000.00", ref="B"),  # trailing zeros are fine
            _entry("1.005", "EUR", ref="C"),
            _entry("12", "USD", ref="D"),
            _entry("-5", ref="E"),
            _entry("1e3", ref="F"),
            _entry("5", indicator="", ref="G"),
            _entry("7", ref="B"),  # the same bank id again
            '<Ntry><Amt Ccy="HUF">5</Amt><CdtDbtInd>CRDT</CdtDbtInd></Ntry>',
            _entry("0.10", "EUR", "DBIT", ref="H"),
        )
    )
    assert [(t.transaction_id, t.amount) for t in parsed.transactions] == [
        ("B", Money(1000)),
        ("H", Money(-10, "EUR")),
    ]
    messages = {e.row: str(e) for e in parsed.errors}
    assert sorted(messages) == [1, 3, 4, 5, 6, 7, 8, 9]
    assert "more decimals than HUF" in messages[1]
    assert messages[1].startswith("entry 1: ")
    assert "more decimals than EUR" in messages[3]
    assert "USD" in messages[4]
    assert "not a decimal number" in messages[5] and "not a decimal number" in messages[6]
    assert "CRDT or DBIT" in messages[7]
    assert "repeated" in messages[8]
    assert "no booking date" in messages[9]


def test_not_a_statement_refused():
    with pytest.raises(StatementRejected, match="not well-formed"):
        parse_camt053(b"<Document><BkToCstmrStmt>")
    with pytest.raises(StatementRejected, match="camt.053"):
        parse_camt053(b"<Document xmlns='urn:iso:std:iso:20022:tech:xsd:pain.001.001.03'/>")
    other = CAMT_02.replace(b"camt.053.001.02", b"camt.052.001.02")
    with pytest.raises(StatementRejected, match="namespace"):
        parse_camt053(other)


def test_oversized_refused_before_parsing():
    with pytest.raises(StatementRejected, match="larger than 1000 bytes"):
        parse_camt053(CAMT_02, max_bytes=1000)
    assert parse_camt053(CAMT_02, max_bytes=len(CAMT_02)).ok


@pytest.fixture
def listener():
    """A loopback socket that would see any attempt to fetch a DTD or an entity."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(1)
    server.settimeout(0.3)
    yield server
    server.close()


def _nothing_connected(server: socket.socket) -> bool:
    try:
        connection, _ = server.accept()
    except TimeoutError:
        return True
    connection.close()
    return False


def test_external_entity_refused_nothing_read_or_fetched(tmp_path, listener):
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET-PASSWORD")
    port = listener.getsockname()[1]
    for target in (secret.as_uri(), f"http://127.0.0.1:{port}/x"):
        hostile = (
            '<?xml version="1.0"?>'
            f'<!DOCTYPE Document [<!ENTITY xxe SYSTEM "{target}">]>'
            '<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.02"><BkToCstmrStmt>'
            "<Stmt><Ntry><Amt Ccy='HUF'>1</Amt><CdtDbtInd>CRDT</CdtDbtInd>"
            "<BookgDt><Dt>2026-11-30</Dt></BookgDt><AcctSvcrRef>&xxe;</AcctSvcrRef></Ntry>"
            "</Stmt></BkToCstmrStmt></Document>"
        ).encode()
        with pytest.raises(StatementRejected, match="DTD") as caught:
            parse_camt053(hostile)
        assert "TOP-SECRET" not in str(caught.value)
    external_dtd = (
        f'<?xml version="1.0"?><!DOCTYPE Document SYSTEM "http://127.0.0.1:{port}/x.dtd">'
        "<Document/>"
    ).encode()
    with pytest.raises(StatementRejected, match="DTD"):
        parse_camt053(external_dtd)
    assert _nothing_connected(listener)


def test_billion_laughs_refused():
    entities = ['<!ENTITY lol0 "lol">'] + [
        f'<!ENTITY lol{i} "{f"&lol{i - 1};" * 10}">' for i in range(1, 10)
    ]
    hostile = (
        f'<?xml version="1.0"?><!DOCTYPE Document [{"".join(entities)}]>'
        '<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.02"><BkToCstmrStmt>'
        "<Stmt><Ntry><AddtlNtryInf>&lol9;</AddtlNtryInf></Ntry></Stmt></BkToCstmrStmt>"
        "</Document>"
    ).encode()
    with pytest.raises(StatementRejected, match="DTD"):
        parse_camt053(hostile)


def _batch(total: str, *parts: str) -> str:
    details = "".join(
        f"<TxDtls>{part}<RmtInf><Ustrd>part {n}</Ustrd></RmtInf></TxDtls>"
        for n, part in enumerate(parts, start=1)
    )
    return (
        f'<Ntry><Amt Ccy="HUF">{total}</Amt><CdtDbtInd>CRDT</CdtDbtInd>'
        "<BookgDt><Dt>2026-11-30</Dt></BookgDt><AcctSvcrRef>BATCH</AcctSvcrRef>"
        f"<NtryDtls>{details}</NtryDtls></Ntry>"
    )


def test_batch_that_does_not_add_up_is_an_error():
    parsed = parse_camt053(
        _statement(_batch("300", '<Amt Ccy="HUF">100</Amt>', '<Amt Ccy="HUF">100</Amt>'))
    )
    assert not parsed.transactions
    assert "do not add up" in str(parsed.errors[0])


def test_batch_without_part_amounts_is_one_transaction():
    parsed = parse_camt053(
        _statement(
            _batch(
                "300",
                "<RltdPties><Dbtr><Nm>A</Nm></Dbtr></RltdPties>",
                "<RltdPties><Dbtr><Nm>B</Nm></Dbtr></RltdPties>",
            )
        )
    )
    (only,) = parsed.transactions
    assert (only.transaction_id, only.amount) == ("BATCH", Money(300))
    assert only.reference == "part 1 part 2"
    assert only.counterparty_name == ""  # two different payers: none is named


def test_a_reversal_entry_is_read_with_the_sign_the_bank_booked():
    credit = _entry("12000.00", ref="ORIG-1")
    reversal = (
        '<Ntry><Amt Ccy="HUF">12000.00</Amt><CdtDbtInd>DBIT</CdtDbtInd><RvslInd>true</RvslInd>'
        "<BookgDt><Dt>2026-11-30</Dt></BookgDt><AcctSvcrRef>REV-1</AcctSvcrRef></Ntry>")
    parsed = parse_camt053(_statement(credit, reversal))
    assert parsed.ok
    assert [(t.transaction_id, t.amount.minor) for t in parsed.transactions] == [
        ("ORIG-1", 12000), ("REV-1", -12000)]


def test_a_reversal_is_marked_and_keeps_the_payers_end_to_end_id():
    details = ("<NtryDtls><TxDtls><Refs><EndToEndId>E2E-77</EndToEndId></Refs>"
               "<RltdPties><Cdtr><Nm>Kovács Gábor</Nm></Cdtr></RltdPties></TxDtls></NtryDtls>")
    reversal = ('<Ntry><Amt Ccy="HUF">12000.00</Amt><CdtDbtInd>DBIT</CdtDbtInd>'
                "<RvslInd>true</RvslInd><BookgDt><Dt>2026-11-30</Dt></BookgDt>"
                f"<AcctSvcrRef>REV-1</AcctSvcrRef>{details}</Ntry>")
    placeholder = _entry("500", ref="P").replace(
        "</Ntry>", "<NtryDtls><TxDtls><Refs><EndToEndId>NOTPROVIDED</EndToEndId></Refs>"
        "</TxDtls></NtryDtls></Ntry>")
    plain, undone, unnamed = parse_camt053(
        _statement(_entry("7", ref="D", indicator="DBIT"), reversal, placeholder)).transactions
    assert (plain.reversal, plain.end_to_end_id) == (False, "")
    assert (undone.reversal, undone.end_to_end_id, undone.counterparty_name) == (
        True, "E2E-77", "Kovács Gábor")
    assert (unnamed.reversal, unnamed.end_to_end_id) == (False, "")
