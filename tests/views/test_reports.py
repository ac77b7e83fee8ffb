"""Report pages: who may open them, what they show, and CSV exports of exactly that."""

from __future__ import annotations

import csv
import io
import re
from datetime import date
from html.parser import HTMLParser

import pytest

from portal.domain.ledger import EntryKind
from portal.domain.permissions import Role
from portal.models import LedgerEntry
from portal.models.ledger import Account
from tests.conftest import make_client

URLS = ["/reports/", "/reports/aging", "/reports/kpis", "/reports/aging.csv",
        "/reports/kpis.csv"]
AGING = "/reports/aging?as_of=2026-11-30&currency=HUF"
KPIS = "/reports/kpis?start=2026-09-01&end=2026-11-30&currency=HUF"
EVIL = "=HYPERLINK(\"http://evil.example\",\"x\")"


def _book(db, name: str, entries, currency: str = "HUF", **client_fields) -> None:
    client = make_client(db, name, **client_fields)
    account = Account(client_id=client.id, number=f"T-{client.id}", currency=currency,
                      limit_minor=0, opened_on=date(2026, 1, 1))
    db.add(account)
    db.flush()
    for kind, amount, booked, due in entries:
        db.add(LedgerEntry(account_id=account.id, kind=kind, amount_minor=amount,
                           currency=currency, booked_on=booked, due_on=due))
    db.commit()


@pytest.fixture
def book(db, staff):
    _book(db, "Árvíztűrő Tükörfúrógép Kft.", [
        (EntryKind.CHARGE, 150_000, date(2026, 8, 1), date(2026, 8, 15)),  # 107 days
        (EntryKind.CHARGE, 80_000, date(2026, 10, 1), date(2026, 11, 20)),  # 10 days
        (EntryKind.PAYMENT, 50_000, date(2026, 9, 10), None),
        (EntryKind.WRITE_OFF, 20_000, date(2026, 10, 3), None),
        (EntryKind.RECOVERY, 5_000, date(2026, 11, 4), None),
    ])
    _book(db, EVIL, [(EntryKind.CHARGE, 1_234_567, date(2026, 11, 1), date(2026, 12, 1))])
    _book(db, "-Mínusz Márton", [(EntryKind.FEE, 999, date(2026, 9, 1), date(2026, 9, 30))])
    _book(db, "Titkos Tódor", [(EntryKind.CHARGE, 7_777, date(2026, 11, 1), date(2026, 11, 2))],
          restricted=True, coordinator_id=staff.coordinator2.id)
    _book(db, "Euró Elek", [(EntryKind.CHARGE, 1_250, date(2026, 11, 1), date(2026, 11, 2))],
          currency="EUR")


class _Cells(HTMLParser):
    """Collect the text of each row of one table (by id)."""

    def __init__(self, table_id: str) -> None:
        super().__init__()
        self.table_id, self.inside, self.rows, self.cell = table_id, False, [], None

    def handle_starttag(self, tag, attrs):
        if tag == "table" and dict(attrs).get("id") == self.table_id:
            self.inside = True
        elif self.inside and tag == "tr":
            self.rows.append([])
        elif self.inside and tag in ("td", "th"):
            self.cell = ""

    def handle_endtag(self, tag):
        if tag == "table":
            self.inside = False
        elif self.inside and tag in ("td", "th") and self.cell is not None:
            self.rows[-1].append(" ".join(self.cell.split()))
            self.cell = None

    def handle_data(self, data):
        if self.cell is not None:
            self.cell += data


def _table(html: str, table_id: str) -> list[list[str]]:
    parser = _Cells(table_id)
    parser.feed(html)
    return parser.rows


def _csv(response, delimiter: str) -> list[list[str]]:
    body = response.get_data()
    assert body.startswith("\ufeff".encode())
    return list(csv.reader(io.StringIO(body.decode("utf-8")[1:]), delimiter=delimiter))


def _digits(text: str) -> str:
    return re.sub(r"[^\d,.]", "", text).rstrip(".,")


@pytest.mark.parametrize("role", [Role.COORDINATOR, Role.MANAGER])
def test_coordinators_and_managers_open_every_report(as_role, book, role):
    client = as_role(role)
    for url in URLS:
        response = client.get(url)
        assert response.status_code == 200, url
    fragment = client.get(AGING, headers={"HX-Request": "true"})
    assert fragment.status_code == 200 and "<html" not in fragment.get_data(as_text=True)
    assert "HX-Request" in fragment.headers["Vary"]
    assert 'href="/reports/"' in client.get("/clients/").get_data(as_text=True)


@pytest.mark.parametrize("role", [Role.CLERK, Role.ADMIN])
def test_clerks_and_admins_are_refused(as_role, role):
    client = as_role(role)
    for url in URLS:
        assert client.get(url).status_code == 403, url
    assert 'href="/reports/"' not in client.get("/account/").get_data(as_text=True)


def test_aging_page_shows_buckets_chart_and_leaves_out_what_the_user_may_not_see(as_role,
                                                                              book):
    html = as_role(Role.COORDINATOR).get(AGING).get_data(as_text=True)
    assert "Titkos Tódor" not in html and "Euró Elek" not in html
    assert "<svg" in html and 'class="bar bucket-4"' in html
    assert " style=" not in html and "<script>" not in html
    assert re.search(r'<a href="/clients/\d+">-Mínusz Márton</a>', html)  # names link
    rows = _table(html, "aging-table")
    assert rows[0][:3] == ["Client", "Client number", "Current"]
    names = [r[0] for r in rows[1:-1]]
    assert names == sorted(names) and EVIL in names and len(names) == 3
    total = rows[-1]
    assert total[0] == "Total"
    # Current 1 234 567; 1–30 the October charge's 80 000 minus nothing (the payment and the
    # write-off filled the August charge first: 150 000 − 70 000 = 80 000 over 90 days).
    assert [_digits(c) for c in total[2:]] == ["1,234,567", "80,000", "0", "999", "80,000",
                                               "1,395,566"]
    manager = as_role(Role.MANAGER).get(AGING).get_data(as_text=True)
    assert "Titkos Tódor" in manager


def test_aging_csv_equals_the_table_in_english(as_role, book):
    client = as_role(Role.COORDINATOR)
    rows = _table(client.get(AGING).get_data(as_text=True), "aging-table")
    response = client.get(AGING.replace("/aging?", "/aging.csv?"))
    assert response.headers["Content-Type"] == "text/csv; charset=utf-8"
    assert "attachment" in response.headers["Content-Disposition"]
    exported = _csv(response, ",")
    assert exported[0] == ["Client", "Client number", "Currency", "Current", "1–30 days",
                           "31–60 days", "61–90 days", "Over 90 days", "Total"]
    assert len(exported) == len(rows)
    for shown, line in zip(rows[1:], exported[1:], strict=True):
        name = line[0][1:] if line[0].startswith("'") else line[0]
        assert name == shown[0] and line[1] == shown[1] and line[2] == "HUF"
        assert [_digits(c).replace(",", "") for c in shown[2:]] == line[3:]
    by_name = {line[0]: line for line in exported}
    assert "'" + EVIL in by_name  # formula injection stopped
    assert "'-Mínusz Márton" in by_name
    assert by_name["'-Mínusz Márton"][6] == "999"  # due 30 September: 61 days


def test_csv_in_hungarian_uses_semicolons_and_decimal_commas(db, staff, as_role, book):
    staff.manager.language = "hu"
    db.commit()
    client = as_role(Role.MANAGER)
    response = client.get("/reports/aging.csv?as_of=2026-11-30&currency=EUR")
    exported = _csv(response, ";")
    assert exported[0][:3] == ["Ügyfél", "Ügyfélszám", "Pénznem"]
    assert exported[1][0] == "Euró Elek" and exported[1][2] == "EUR"
    assert exported[1][4] == "12,50"  # 28 days past due, in euros with a decimal comma
    html = client.get("/reports/aging?as_of=2026-11-30&currency=EUR").get_data(as_text=True)
    assert "Kintlévőségek korosítása" in html and "Nem lejárt" in html


def test_kpi_page_and_csv(as_role, book):
    client = as_role(Role.COORDINATOR)
    html = client.get(KPIS).get_data(as_text=True)
    assert 'class="bar write-off"' in html and 'class="bar recovery"' in html
    assert " style=" not in html
    figures = _table(html, "kpi-table")
    months = _table(html, "month-table")
    assert [r[0] for r in months[1:]] == ["Sept 2026", "Oct 2026", "Nov 2026", "Total"] \
        or [r[0] for r in months[1:]] == ["Sep 2026", "Oct 2026", "Nov 2026", "Total"]
    response = client.get(KPIS.replace("/kpis?", "/kpis.csv?"))
    exported = _csv(response, ",")
    split = exported.index([])
    head, body = exported[:split], exported[split + 1:]
    assert head[0] == ["Figure", "Value", "Unit"]
    assert [line[0] for line in head[1:]] == [r[0] for r in figures[1:]]
    values = dict((line[0], (line[1], line[2])) for line in head[1:])
    assert values["Credit sales"] == ("1315566", "HUF")  # 999 + 80 000 + 1 234 567
    assert values["Write-offs"] == ("20000", "HUF")
    assert values["Bad-debt ratio"] == ("1.5", "%")  # 20 000 / 1 315 566
    shown = {r[0]: r[1] for r in figures[1:]}
    assert shown["Bad-debt ratio"] == "1.5%"
    assert body[0] == ["Month", "Currency", "Write-offs", "Recoveries"]
    assert [line[2:] for line in body[1:]] == [["0", "0"], ["20000", "0"], ["0", "5000"],
                                              ["20000", "5000"]]


def test_invalid_filters_are_422(as_role):
    client = as_role(Role.MANAGER)
    assert client.get("/reports/kpis?start=2026-11-01&end=2026-10-01").status_code == 422
    assert client.get("/reports/aging?as_of=yesterday").status_code == 422
    assert client.get("/reports/aging.csv?currency=XYZ").status_code == 422
    assert client.get("/reports/kpis.csv?start=2020-01-01&end=2026-01-01").status_code == 422


def test_a_big_aging_table_is_shown_a_page_at_a_time_and_the_csv_has_every_client(
        as_role, book, monkeypatch):
    from portal.blueprints.reports import views

    monkeypatch.setattr(views, "AGING_PAGE_SIZE", 2)
    client = as_role(Role.MANAGER)
    first = client.get(AGING).get_data(as_text=True)
    rows = _table(first, "aging-table")
    assert len(rows) == 1 + 2 + 1  # header, two clients, the total of all of them
    assert "data-aging-count" in first and 'rel="next"' in first
    second = client.get(AGING + "&page=2").get_data(as_text=True)
    names = [r[0] for r in rows[1:-1]] + [r[0] for r in _table(second, "aging-table")[1:-1]]
    assert len(names) == 4 and names == sorted(names)  # the manager sees Titkos Tódor too
    assert _table(second, "aging-table")[-1] == rows[-1]  # the same total on every page
    assert len(_csv(client.get(AGING.replace("/aging?", "/aging.csv?")), ";")) == 1 + 4 + 1


def test_on_a_phone_each_report_row_is_headed_by_its_first_cell(as_role, book):
    """The stacked (phone) layout names each cell's column, except the first cell, which heads
    the card: "Write-offs" over "Value: HUF 20,000", not "Figure: Write-offs"."""
    html = as_role(Role.COORDINATOR).get(KPIS).get_data(as_text=True)
    for table_id in ("kpi-table", "month-table"):
        table = html[html.index(f'id="{table_id}"'):]
        table = table[:table.index("</table>")]
        rows = re.findall(r"<tr[^>]*>(.*?)</tr>", table[table.index("<tbody>"):], re.S)
        assert rows
        for row in rows:
            cells = re.findall(r"<td([^>]*)>", row)
            assert "data-label" not in cells[0], (table_id, row[:120])
            assert all("data-label=" in c for c in cells[1:]), (table_id, row[:120])
