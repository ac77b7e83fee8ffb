"""Financial reports: AR aging as of a day, and the KPIs of a period (DSO, CEI, bad-debt ratio,
write-offs and recoveries by month), each with a chart and a CSV export of what is shown."""

from __future__ import annotations

from flask import make_response, request

from portal.blueprints import actor, page_arg
from portal.blueprints.reports import bp, charts, tables
from portal.blueprints.reports.forms import AgingForm, PeriodForm
from portal.db import get_db
from portal.domain.permissions import Perm
from portal.i18n import today
from portal.rendering import render
from portal.security import requires
from portal.services import reports
from portal.services.base import Page


@bp.context_processor
def _helpers() -> dict:
    return {"report_cell": tables.cell_text}


@bp.get("/")
@requires(Perm.REPORTS_VIEW)
def index():
    """List the reports."""
    return render("reports/index.html")


#: Clients per page of the aging table (the CSV has them all, the total row counts them all).
AGING_PAGE_SIZE = 50


def _aging_context(form: AgingForm, paged: bool = True) -> dict:
    report = reports.aging_report(get_db(), actor(), form.as_of.data, form.currency.data,
                                  today=today())
    t = report.total
    values = [t.current, t.days_1_30, t.days_31_60, t.days_61_90, t.over_90]
    bars = charts.aging_bars(tables.bucket_labels(), values)
    chart = {"bars": bars, "chart_width": charts.AGING_WIDTH}
    if not paged:
        return {"report": report, "table": tables.aging_table(report), **chart}
    # A book of thousands of clients: a page of them, not a table of megabytes.
    number = min(page_arg(), Page(report.rows, len(report.rows), 1, AGING_PAGE_SIZE).pages)
    rows = report.rows[(number - 1) * AGING_PAGE_SIZE:number * AGING_PAGE_SIZE]
    return {"report": report, "table": tables.aging_table(report, rows), **chart,
            "page": Page(rows, len(report.rows), number, AGING_PAGE_SIZE),
            "page_args": {"as_of": report.as_of.isoformat(), "currency": report.currency}}


@bp.get("/aging")
@requires(Perm.REPORTS_VIEW)
def aging():
    """Show the open receivables by days past due as of a day, per client and in total."""
    form = AgingForm(request.args)
    if not form.validate():
        return render("reports/aging.html", "reports/_aging.html", status=422, form=form)
    return render("reports/aging.html", "reports/_aging.html", form=form,
                  **_aging_context(form))


@bp.get("/aging.csv")
@requires(Perm.REPORTS_VIEW)
def aging_csv():
    """Export the aging table as CSV."""
    form = AgingForm(request.args)
    if not form.validate():
        return _invalid(form)
    context = _aging_context(form, paged=False)
    name = f"aging-{form.as_of.data.isoformat()}-{form.currency.data}.csv"
    return _csv(tables.to_csv([context["table"]]), name)


def _kpi_context(form: PeriodForm) -> dict:
    db, who = get_db(), actor()
    period, dso = reports.kpi_report(db, who, form.start.data, form.end.data,
                                     form.currency.data, today=today())
    months = tables.month_table(period)
    figures = [
        (tables.month_label(m.year, m.month), tables.month_short(m.year, m.month),
         str(m.year) if index == 0 or m.month == 1 else "", m.write_offs, m.recoveries)
        for index, m in enumerate(period.months)]
    trend = charts.trend_bars(figures)
    return {"period": period, "dso": dso, "table": tables.kpi_table(period, dso),
            "months": months, "trend": trend, "trend_width": charts.trend_width(len(trend)),
            "trend_rows": charts.trend_rows(figures), "chart_width": charts.AGING_WIDTH}


@bp.get("/kpis")
@requires(Perm.REPORTS_VIEW)
def kpis():
    """Show DSO, CEI, the bad-debt ratio and write-offs and recoveries by month for a period."""
    form = PeriodForm(request.args)
    if not form.validate():
        return render("reports/kpis.html", "reports/_kpis.html", status=422, form=form)
    return render("reports/kpis.html", "reports/_kpis.html", form=form, **_kpi_context(form))


@bp.get("/kpis.csv")
@requires(Perm.REPORTS_VIEW)
def kpis_csv():
    """Export the period's figures and its months as CSV."""
    form = PeriodForm(request.args)
    if not form.validate():
        return _invalid(form)
    context = _kpi_context(form)
    name = (f"kpis-{form.start.data.isoformat()}-{form.end.data.isoformat()}-"
            f"{form.currency.data}.csv")
    return _csv(tables.to_csv([context["table"], context["months"]]), name)


def _csv(content: bytes, filename: str):
    response = make_response(content)
    response.headers["Content-Type"] = "text/csv; charset=utf-8"
    response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


def _invalid(form):
    errors = "; ".join(f"{form[name].label.text}: {' '.join(map(str, messages))}"
                       for name, messages in form.errors.items())
    response = make_response(errors, 422)
    response.headers["Content-Type"] = "text/plain; charset=utf-8"
    return response
