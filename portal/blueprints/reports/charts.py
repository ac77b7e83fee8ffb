"""Geometry of the server-rendered SVG charts: bars as plain numbers for the templates.

No script and no style attributes (the CSP forbids them): the templates draw ``rect`` and
``text`` elements with x, y, width and height, and colour them through CSS classes.
"""

from __future__ import annotations

from dataclasses import dataclass

from portal.domain.money import Money


@dataclass(frozen=True)
class Bar:
    x: float
    y: float
    width: float
    height: float
    label: str
    value: Money
    css: str


#: The aging chart: a label column, then bars up to this width, then room for the amount. It
#: is drawn at its own width (``AGING_WIDTH`` px) where there is room and scaled down on a
#: phone, so its 14-unit text reads at 14 px on a desk and about 11 px at 390 px.
AGING_LABEL_WIDTH = 110
AGING_BAR_WIDTH = 190
AGING_ROW = 28
AGING_WIDTH = 450


def _length(value: Money, largest: int, full: float) -> float:
    """Return a bar's length on a scale where ``largest`` fills ``full`` (never negative)."""
    return round(max(full * value.minor / largest, 0), 1) if largest > 0 else 0


#: The monthly charts' two series, in the order their bars stand.
_SERIES = ("bar write-off", "bar recovery")


def aging_bars(labels: list[str], values: list[Money]) -> list[Bar]:
    """Return one horizontal bar per bucket, the longest filling the bar width."""
    largest = max((v.minor for v in values), default=0)
    return [Bar(AGING_LABEL_WIDTH, index * AGING_ROW + 4,
                _length(value, largest, AGING_BAR_WIDTH), AGING_ROW - 10, label, value,
                f"bar bucket-{index}")
            for index, (label, value) in enumerate(zip(labels, values, strict=True))]


#: The monthly chart: plot height, a slot per month with two bars side by side.
TREND_HEIGHT = 140
TREND_SLOT = 44
TREND_BAR = 16
TREND_TOP = 10


@dataclass(frozen=True)
class Month:
    #: The full name (tooltips), the short one under the bars, and the year under the
    #: first month and each January.
    label: str
    short: str
    year: str
    x: float
    bars: tuple[Bar, Bar]


def trend_bars(months: list[tuple[str, str, str, Money, Money]]) -> list[Month]:
    """Return, per month, a write-off bar and a recovery bar on a common scale."""
    largest = max((max(w.minor, r.minor) for *_, w, r in months), default=0)
    result = []
    for index, (label, short, year, written, recovered) in enumerate(months):
        x = index * TREND_SLOT + 6
        heights = [_length(v, largest, TREND_HEIGHT) for v in (written, recovered)]
        bars = [Bar(x + n * (TREND_BAR + 2), TREND_TOP + TREND_HEIGHT - height, TREND_BAR,
                    height, label, value, css)
                for n, (value, height, css) in enumerate(
                    zip((written, recovered), heights, _SERIES, strict=True))]
        result.append(Month(label, short, year, x, (bars[0], bars[1])))
    return result


def trend_width(count: int) -> int:
    return max(count, 1) * TREND_SLOT + 12


#: The same months for a phone: a row per month (its name, then its two bars one above the
#: other), drawn in the aging chart's width so its text reads at about 11 px at 390 px.
TREND_ROW = 30
TREND_ROW_BAR = 10


@dataclass(frozen=True)
class MonthRow:
    label: str
    y: float
    bars: tuple[Bar, Bar]


def trend_rows(months: list[tuple[str, str, str, Money, Money]]) -> list[MonthRow]:
    """Return, per month, a row with its write-off bar over its recovery bar (common scale)."""
    largest = max((max(w.minor, r.minor) for *_, w, r in months), default=0)
    rows = []
    for index, (label, _short, _year, written, recovered) in enumerate(months):
        y = index * TREND_ROW + 4
        bars = [Bar(AGING_LABEL_WIDTH, y + n * (TREND_ROW_BAR + 1),
                    _length(value, largest, AGING_BAR_WIDTH), TREND_ROW_BAR, label, value, css)
                for n, (value, css) in enumerate(zip((written, recovered), _SERIES,
                                                     strict=True))]
        rows.append(MonthRow(label, y, (bars[0], bars[1])))
    return rows
