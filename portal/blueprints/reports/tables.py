"""What a report page shows, as one table model that the page and its CSV export both read.

A cell is text, Money or a ``Figure`` (a ratio or a day count with its unit). The page formats
money with the ``money`` filter; the CSV writes the same cells as plain numbers in major units
with the currency in a column of its own, so the export holds exactly what the page shows.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction

from babel.dates import format_skeleton
from babel.numbers import format_decimal
from flask import url_for
from flask_babel import get_locale, pgettext
from flask_babel import gettext as _

from portal.domain.money import Money
from portal.i18n import FORMAT_LOCALES, money
from portal.services.reports import AgingReport, DsoReport, PeriodReport


@dataclass(frozen=True)
class Figure:
    """A ratio or a day count, shown with one decimal; None is shown as a dash."""

    value: Fraction | None
    unit: str

    def rounded(self) -> Decimal | None:
        if self.value is None:
            return None
        exact = Decimal(self.value.numerator) / Decimal(self.value.denominator)
        return exact.quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)


class Link(str):
    """Text that the page links (a client's name to the client page); the CSV keeps the text."""

    href: str

    def __new__(cls, text: str, href: str) -> Link:
        link = super().__new__(cls, text)
        link.href = href
        return link


Cell = str | Money | Figure | None


@dataclass
class Table:
    columns: list[str]
    rows: list[list[Cell]] = field(default_factory=list)
    #: The last row is a total (set apart on the page).
    total: list[Cell] | None = None
    #: The column of the currency in the CSV: the index it is inserted at.
    currency_at: int = 1
    currency: str = "HUF"
    #: The heading of that column (default "Currency").
    unit_heading: str = ""

    def all_rows(self) -> list[list[Cell]]:
        return self.rows + ([self.total] if self.total else [])


def language() -> str:
    locale = get_locale()
    return locale.language if locale else "en"


def month_label(year: int, month: int) -> str:
    return format_skeleton("yMMM", date(year, month, 1), locale=FORMAT_LOCALES[language()])


def month_short(year: int, month: int) -> str:
    return format_skeleton("MMM", date(year, month, 1), locale=FORMAT_LOCALES[language()])


def figure_text(figure: Figure) -> str:
    """Format a figure as the page shows it: one decimal in the user's locale."""
    value = figure.rounded()
    if value is None:
        return "—"
    return format_decimal(value, format="#,##0.0", locale=FORMAT_LOCALES[language()])


def cell_text(cell: Cell) -> str:
    """Format a cell as the page shows it."""
    if cell is None:
        return ""
    if isinstance(cell, Money):
        return money(cell)
    if isinstance(cell, Figure):
        if cell.value is None:
            return figure_text(cell)
        # "45 days", but "1.5%": the percent sign follows the number (CLDR, both languages).
        return f"{figure_text(cell)}{'' if cell.unit == '%' else ' '}{cell.unit}"
    return str(cell)


def bucket_labels() -> list[str]:
    return [pgettext("aging", "Current"), pgettext("aging", "1–30 days"),
            pgettext("aging", "31–60 days"), pgettext("aging", "61–90 days"),
            pgettext("aging", "Over 90 days")]


def aging_table(report: AgingReport, rows: list | None = None) -> Table:
    """Return the aging as a table: one row per client (of ``rows``, a page of the report's;
    all by default), then the total of all."""
    table = Table([_("Client"), _("Client number"), *bucket_labels(), pgettext("report", "Total")],
                  currency_at=2, currency=report.currency)
    for row in report.rows if rows is None else rows:
        a = row.aging
        table.rows.append([Link(row.client_name, url_for("clients.show", client_id=row.client_id)),
                           row.client_number or "", a.current, a.days_1_30,
                           a.days_31_60, a.days_61_90, a.over_90, a.total])
    t = report.total
    table.total = [pgettext("report", "Total"), "", t.current, t.days_1_30, t.days_31_60,
                   t.days_61_90, t.over_90, t.total]
    return table


def kpi_table(period: PeriodReport, dso: DsoReport) -> Table:
    """Return the period's figures as a table of (figure, value)."""
    days, percent = _("days"), "%"
    table = Table([_("Figure"), _("Value")], currency_at=2, currency=period.currency,
                  unit_heading=_("Unit"))
    table.rows = [
        [_("Opening receivables"), period.opening_ar],
        [_("Credit sales"), period.credit_sales],
        [_("Closing receivables"), period.closing_ar],
        [_("Closing receivables not yet due"), period.closing_current_ar],
        [_("Collection effectiveness index (CEI)"), Figure(period.cei, percent)],
        [pgettext("report", "Write-offs"), period.write_offs],
        [pgettext("report", "Recoveries"), period.recoveries],
        [_("Bad-debt ratio"), Figure(period.bad_debt_ratio, percent)],
        [_("DSO, countback (as of the end)"), Figure(dso.countback, days)],
        [_("DSO, simple (last 12 months)"), Figure(dso.simple, days)],
    ]
    return table


def month_table(period: PeriodReport) -> Table:
    """Return write-offs and recoveries by month, with the period's total."""
    table = Table([_("Month"), pgettext("report", "Write-offs"),
                   pgettext("report", "Recoveries")], currency_at=1, currency=period.currency)
    table.rows = [[month_label(m.year, m.month), m.write_offs, m.recoveries]
                  for m in period.months]
    table.total = [pgettext("report", "Total"), period.write_offs, period.recoveries]
    return table


# CSV -----------------------------------------------------------------------------------------

#: A cell starting with one of these is read as a formula by spreadsheets.
_FORMULA = ("=", "+", "-", "@", "\t", "\r")


def safe_text(text: str) -> str:
    """Prefix text that a spreadsheet would run as a formula with ``'``."""
    return "'" + text if text.startswith(_FORMULA) else text


def _number(value: Decimal, decimal_comma: bool) -> str:
    text = format(value, "f")
    return text.replace(".", ",") if decimal_comma else text


def _csv_cell(cell: Cell, decimal_comma: bool) -> str:
    if cell is None:
        return ""
    if isinstance(cell, Money):
        return _number(cell.as_decimal(), decimal_comma)
    if isinstance(cell, Figure):
        value = cell.rounded()
        return "" if value is None else _number(value, decimal_comma)
    return safe_text(str(cell))


def _unit(row: list[Cell], currency: str) -> str:
    for cell in row:
        if isinstance(cell, Money):
            return cell.currency
        if isinstance(cell, Figure):
            return cell.unit
    return currency


def to_csv(tables: list[Table]) -> bytes:
    """Write tables to CSV for Excel in the user's language: UTF-8 with a BOM; ``;`` and a
    decimal comma for Hungarian, ``,`` and a decimal point for English. Numbers are plain
    (no grouping), money in major units; a column "Currency" (or "Unit") follows the text
    columns. Several tables are separated by an empty line."""
    hungarian = language() == "hu"
    out = io.StringIO()
    writer = csv.writer(out, delimiter=";" if hungarian else ",", lineterminator="\r\n")
    for number, table in enumerate(tables):
        if number:
            writer.writerow([])
        head = list(table.columns)
        head.insert(table.currency_at, table.unit_heading or _("Currency"))
        writer.writerow([safe_text(h) for h in head])
        for row in table.all_rows():
            cells = [_csv_cell(c, hungarian) for c in row]
            cells.insert(table.currency_at, _unit(row, table.currency))
            writer.writerow(cells)
    return "\ufeff".encode() + out.getvalue().encode("utf-8")
