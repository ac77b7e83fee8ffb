"""CSV exports: sniffing, the column mapping, Hungarian dates and amounts, bad rows."""

from __future__ import annotations

import json
from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from portal.banking import (
    ColumnMapping,
    StatementRejected,
    guess_mapping,
    parse_csv,
    sniff_csv,
)
from portal.banking.values import parse_date, parse_money
from portal.domain.money import Money, MoneyError, format_money
from tests.banking.samples import ENGLISH_CSV, OTP_CSV


def test_otp_windows_1250_semicolon_export():
    fmt = sniff_csv(OTP_CSV)
    assert (fmt.encoding, fmt.delimiter, fmt.header_index) == ("cp1250", ";", 1)
    assert fmt.header[0] == "Könyvelés dátuma"
    mapping = guess_mapping(fmt.header)
    assert mapping == ColumnMapping(
        date="Könyvelés dátuma",
        amount="Összeg",
        currency="Devizanem",
        counterparty_name="Partner neve",
        counterparty_account="Partner számlaszáma",
        reference=("Közlemény",),
        transaction_id="Tranzakció azonosító",
    )
    parsed = parse_csv(OTP_CSV, mapping)
    first, second, third = parsed.transactions
    assert first.transaction_id == "OTP-000123"
    assert first.booked_on == date(2026, 11, 30)
    assert first.amount == Money(125000, "HUF")
    assert first.counterparty_name == "Kovács Gábor"
    assert first.counterparty_account == "116000060000000012345676"
    assert first.reference == "HSZ-2026/0042 novemberi részlet"
    assert second.amount == Money(-48500, "HUF")
    assert third.counterparty_name == "Tóth Ödön; ügyvéd"  # a quoted delimiter
    assert third.amount == Money(1234567, "HUF")
    assert third.booked_on == date(2026, 11, 29)
    # The summary line at the end is reported by its line number; the rest are kept.
    assert [str(e) for e in parsed.errors] == ["line 6: date 'Összesen:' not understood"]


def test_english_comma_export():
    fmt = sniff_csv(ENGLISH_CSV)
    assert (fmt.encoding, fmt.delimiter, fmt.header_index) == ("utf-8", ",", 0)
    mapping = guess_mapping(fmt.header)
    assert (mapping.date, mapping.amount, mapping.currency) == ("Date", "Amount", "Currency")
    assert (mapping.counterparty_name, mapping.counterparty_account) == ("Name", "Account")
    assert (mapping.reference, mapping.transaction_id) == (("Reference",), "Transaction ID")
    parsed = parse_csv(ENGLISH_CSV, mapping)
    assert parsed.ok
    first, second = parsed.transactions
    assert first.amount == Money(125050, "EUR")
    assert first.counterparty_account == "DE89370400440532013000"
    assert first.reference == "Invoice 17, November"
    assert second.amount == Money(-9990, "EUR")


def test_utf8_bom_tab_separated_credit_and_debit_columns_without_id():
    text = (
        "Értéknap\tJóváírás\tTerhelés\tBefizető neve\tKözlemény 1\tKözlemény 2\n"
        "30.11.2026\t12 000 Ft\t\tSzabó Anna\tHSZ-2026/0042\tdecember\n"
        "30.11.2026\t\t3 500\tPosta\tbélyeg\t\n"
        "\n"
        "30.11.2026\t12 000 Ft\t\tSzabó Anna\tHSZ-2026/0042\tdecember\n"
        "2026.11.31.\t1\t\tX\t\t\n"
        "2026.11.30\t1\t2\tY\t\t\n"
    )
    data = b"\xef\xbb\xbf" + text.encode()
    fmt = sniff_csv(data)
    assert (fmt.encoding, fmt.delimiter, fmt.header_index) == ("utf-8-sig", "\t", 0)
    mapping = guess_mapping(fmt.header)
    assert (mapping.date, mapping.credit, mapping.debit) == ("Értéknap", "Jóváírás", "Terhelés")
    assert mapping.reference == ("Közlemény 1", "Közlemény 2")
    mapping = ColumnMapping.from_dict({**mapping.as_dict(), "counterparty_name": "Befizető neve"})
    parsed = parse_csv(data, mapping)
    payment, stamps, same_again = parsed.transactions
    assert payment.amount == Money(12000) and payment.reference == "HSZ-2026/0042 december"
    assert stamps.amount == Money(-3500)
    # Two equal payments on one day are two transactions, each with a stable content id.
    assert payment.transaction_id.startswith("sha256:")
    assert payment.transaction_id != same_again.transaction_id
    assert parsed.skipped == 1
    assert [(e.row, e.message) for e in parsed.errors] == [
        (6, "date '2026.11.31.' does not exist"),
        (7, "both a credit and a debit amount"),
    ]


def test_content_ids_same_twice_and_independent_of_position():
    header = "Dátum;Összeg;Partner neve;Közlemény\n"
    rows = ["2026.11.30.;1 000;A;x\n", "2026.11.30.;2 000;B;y\n", "2026.11.29.;1 000;A;x\n"]
    data = (header + "".join(rows)).encode()
    mapping = guess_mapping(sniff_csv(data).header)
    once, twice = parse_csv(data, mapping), parse_csv(data, mapping)
    assert once == twice
    reordered = (header + rows[2] + rows[0]).encode()
    ids = {t.reference + str(t.booked_on): t.transaction_id for t in once.transactions}
    for transaction in parse_csv(reordered, mapping).transactions:
        assert ids[transaction.reference + str(transaction.booked_on)] == transaction.transaction_id


def test_headerless_file_columns_by_position():
    data = "2026.11.30.;15000;Kiss Pál\n2026.11.29.;-200;Bank\n".encode("cp1250")
    fmt = sniff_csv(data)
    assert fmt.header_index == -1 and fmt.header == ("1", "2", "3")
    mapping = ColumnMapping(date="1", amount="2", counterparty_name="3")
    parsed = parse_csv(data, mapping)
    assert [t.amount.minor for t in parsed.transactions] == [15000, -200]


def test_mapping_round_trips_through_json_and_is_checked():
    mapping = ColumnMapping(date="D", credit="C", debit="T", reference=("K1", "K2"),
                            fixed_currency="EUR", decimal_mark=",")
    stored = json.dumps(mapping.as_dict())
    assert ColumnMapping.from_dict(json.loads(stored)) == mapping
    assert ColumnMapping.from_dict({**mapping.as_dict(), "added_later": 1}) == mapping
    assert ColumnMapping(date="D").missing() == ["amount"]
    assert guess_mapping(["foo", "bar"]).missing() == ["date", "amount"]
    with pytest.raises(ValueError):
        ColumnMapping(date="D", amount="A", decimal_mark=";")
    with pytest.raises(ValueError):
        ColumnMapping.from_dict({"date": 3})
    with pytest.raises(StatementRejected, match="lacks: amount"):
        parse_csv(OTP_CSV, ColumnMapping(date="Könyvelés dátuma"))
    with pytest.raises(StatementRejected, match="no column 'Nincs ilyen'"):
        parse_csv(OTP_CSV, ColumnMapping(date="Könyvelés dátuma", amount="Nincs ilyen"))


def test_unreadable_or_oversized_refused():
    with pytest.raises(StatementRejected, match="neither UTF-8 nor Windows-1250"):
        sniff_csv(b"\x81\x00\x98binary")
    with pytest.raises(StatementRejected, match="no columns"):
        sniff_csv(b"just one line of prose\n")
    with pytest.raises(StatementRejected, match="larger than 100 bytes"):
        sniff_csv(OTP_CSV, max_bytes=100)
    fmt = sniff_csv(OTP_CSV)
    with pytest.raises(StatementRejected, match="larger than 100 bytes"):
        parse_csv(OTP_CSV, guess_mapping(fmt.header), fmt=fmt, max_bytes=100)


@pytest.mark.parametrize(
    "text", ["2026.11.30.", "2026.11.30", "2026-11-30", "30.11.2026", "2026.11.30. 10:15:00"]
)
def test_dates(text):
    assert parse_date(text) == date(2026, 11, 30)


@pytest.mark.parametrize("text", ["", "30/11", "2026.13.01.", "tegnap"])
def test_bad_dates(text):
    with pytest.raises(ValueError):
        parse_date(text)


@pytest.mark.parametrize(
    ("text", "currency", "mark", "minor"),
    [
        ("1 234 567,89", "EUR", ",", 123456789),
        ("1.234.567,89", "EUR", ",", 123456789),
        ("1.234.567,89", "EUR", None, 123456789),
        ("-12 000", "HUF", ",", -12000),
        ("12000 Ft", "HUF", ",", 12000),
        ("12000 Ft", "HUF", None, 12000),
        ("-1 234 Ft", "HUF", ",", -1234),
        ("12,500", "EUR", ",", 1250),  # a decimal comma known: not grouping
        ("1,250.50", "EUR", ".", 125050),
        ("125 000,00", "HUF", ",", 125000),
        ("€ 10,5", "EUR", ",", 1050),
        ("\u221250", "HUF", ",", -50),
    ],
)
def test_amounts(text, currency, mark, minor):
    assert parse_money(text, currency, mark) == Money(minor, currency)


@pytest.mark.parametrize(
    ("text", "currency", "mark"),
    [("100,50", "HUF", ","), ("1,005", "EUR", ","), ("12 EUR", "HUF", ","), ("abc", "HUF", ",")],
)
def test_bad_amounts(text, currency, mark):
    with pytest.raises(MoneyError):
        parse_money(text, currency, mark)


money = st.builds(
    Money, st.integers(min_value=-10**12, max_value=10**12), st.sampled_from(["HUF", "EUR"])
)


@given(money)
def test_hungarian_formatting_parses_back_to_the_same_minor_units(amount):
    written = format_money(amount, "hu_HU")
    assert parse_money(written, amount.currency, ",") == amount
    assert parse_money(written, amount.currency) == amount
    data = f"Dátum;Összeg;Devizanem\n2026.11.30.;{written};{amount.currency}\n".encode("cp1250")
    parsed = parse_csv(data, guess_mapping(sniff_csv(data).header))
    assert parsed.ok and parsed.transactions[0].amount == amount


def test_unsigned_amount_with_direction_column_and_header_words():
    data = (
        "Könyvelés dátuma;Jóváírás/Terhelés;Összeg (HUF);Ellenoldali név;Közlemény\n"
        "2026.11.30.;J;10 000;Kiss Pál;HSZ-1\n"
        "2026.11.30.;T;-2 500;Bank;díj\n"
        "2026.11.30.;?;1;X;\n"
    ).encode("cp1250")
    mapping = guess_mapping(sniff_csv(data).header)
    assert (mapping.direction, mapping.amount) == ("Jóváírás/Terhelés", "Összeg (HUF)")
    assert mapping.counterparty_name == "Ellenoldali név"
    parsed = parse_csv(data, mapping)
    assert [t.amount.minor for t in parsed.transactions] == [10000, -2500]
    assert [str(e) for e in parsed.errors] == ["line 4: credit or debit '?' not understood"]


def test_credit_and_debit_columns_guessed_from_words():
    mapping = guess_mapping(["Dátum", "Jóváírt összeg (HUF)", "Terhelt összeg (HUF)", "Deviza"])
    assert (mapping.credit, mapping.debit, mapping.amount) == (
        "Jóváírt összeg (HUF)", "Terhelt összeg (HUF)", ""
    )
    assert (mapping.date, mapping.currency) == ("Dátum", "Deviza")


@pytest.mark.parametrize("mark", [",", None])
def test_malformed_or_huge_amounts_refused(mark):
    for text in ("1.2.3,4", "12.34.567,00", "9" * 25, "1,2,3"):
        with pytest.raises(MoneyError):
            parse_money(text, "EUR", mark)
