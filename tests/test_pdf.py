"""PDF rendering (portal/pdf.py) and the credit decision record it files.

The PDFs are read back with pypdf, the way the filing path extracts their text, so these
tests also check that a record has a real text layer and is searchable.
"""

from __future__ import annotations

import io
import logging
import re
import socket
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from types import SimpleNamespace

import pypdf
import pytest
from flask_babel import force_locale
from jinja2 import ChoiceLoader, DictLoader

from portal.domain.money import Money
from portal.filing.extract import extract
from portal.filing.sniff import sniff
from portal.pdf import StaticFetcher, render_html, render_pdf

TEMPLATE = "reviews/decision_record.html"


def _record(**changes) -> SimpleNamespace:
    values = dict(
        client_name="Kőműves Ödön",
        client_number="C000123",
        review_id=42,
        kind_label="New limit",
        purpose="Fűtéskorszerűsítés",
        requested=Money(1_500_000, "HUF"),
        approved=Money(1_200_000, "HUF"),
        monthly_income=Money(850_000, "HUF"),
        debt_payments=Money(12_345, "EUR"),
        outcome_label="Jóváhagyva",
        approved_flag=True,
        risk_grade_label="B – mérsékelt",
        note="Az ügyfél jövedelme stabil; a törlesztőrészlet megfelelő.\nÜgyintéző: Szűcs Anna",
        decided_by="Nagy Éva",
        prepared_by="Kis Béla",
        decided_at=datetime(2026, 11, 30, 9, 5, tzinfo=UTC),
        policy_version=3,
        policy_effective_from=date(2026, 1, 1),
        dti=Decimal("38.46"),
        income_multiple=Decimal("4.5"),
        residual_share=Decimal("61.5"),
        rules=[
            SimpleNamespace(label="JTM legfeljebb 50%", passed=True, reason="38,5% ≤ 50%"),
            SimpleNamespace(label="Jövedelemtöbbszörös legfeljebb 4", passed=False,
                            reason="4,5-szörös, a határ 4-szeres"),
        ],
        next_review_due=date(2027, 11, 30),
    )
    values.update(changes)
    return SimpleNamespace(**values)


def _pdf(app, lang: str, record: SimpleNamespace) -> bytes:
    with app.test_request_context(), force_locale(lang):
        return render_pdf(TEMPLATE, record=record)


def _text(data: bytes) -> str:
    """Return the PDF's text as the filing path sees it, with all spacing made plain spaces."""
    reader = pypdf.PdfReader(io.BytesIO(data))
    return " ".join(" ".join(page.extract_text() for page in reader.pages).split())


@pytest.fixture
def network_attempts(monkeypatch) -> list[tuple]:
    """Record (and refuse) every attempt to resolve a host name or open a connection."""
    attempts: list[tuple] = []

    def refuse(*args, **kwargs):
        attempts.append(args)
        raise OSError("no network in tests")

    monkeypatch.setattr(socket, "getaddrinfo", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setattr(socket.socket, "connect", refuse)
    return attempts


def test_hungarian_record_reads_back_with_its_figures_and_rules(app, caplog) -> None:
    caplog.set_level(logging.WARNING, logger="weasyprint")
    data = _pdf(app, "hu", _record())

    assert data.startswith(b"%PDF-")
    text = _text(data)
    for expected in [
        "Hitelirodai portál",
        "Hitelbírálati döntés",
        "✓ Jóváhagyva: 1 200 000 Ft",
        "Kőműves Ödön",
        "C000123",
        "Fűtéskorszerűsítés",
        "Igényelt összeg 1 500 000 Ft",
        "Havi jövedelem 850 000 Ft",
        "123,45 EUR",
        "38,5%",
        "4,5×",
        "61,5%",
        "A szabályzat változata 3",
        "2026. 01. 01.",
        "JTM legfeljebb 50% ✓ megfelelt 38,5% ≤ 50%",
        "Jövedelemtöbbszörös legfeljebb 4 ✗ nem felelt meg 4,5-szörös, a határ 4-szeres",
        "B – mérsékelt",
        "2027. 11. 30.",
        "Nagy Éva",
        "Kis Béla",
        "2026. 11. 30. 10:05",  # 09:05 UTC is 10:05 in Budapest
        "a törlesztőrészlet megfelelő. Ügyintéző: Szűcs Anna",
    ]:
        assert expected in text
    assert re.search(r"\b1 / \d\b", text), "no page counter: print.css was not applied"
    reader = pypdf.PdfReader(io.BytesIO(data))
    assert reader.metadata.title == "Hitelbírálati döntés: Kőműves Ödön (C000123)"
    assert reader.metadata.author == "Nagy Éva"
    assert reader.trailer["/Root"]["/Lang"] == "hu"
    assert not caplog.records, "WeasyPrint warned: a stylesheet, font or CSS rule was not used"


def test_english_record_formats_in_english(app) -> None:
    record = _record(
        outcome_label="Approved",
        rules=[
            SimpleNamespace(label="DTI at most 50%", passed=True, reason="38.5% is within"),
            SimpleNamespace(label="Income multiple at most 4", passed=False,
                            reason="4.5 times is above 4"),
        ],
    )
    text = _text(_pdf(app, "en", record))

    for expected in [
        "Credit Office Portal",
        "Credit decision",
        "✓ Approved: HUF 1,200,000",
        "Amount requested HUF 1,500,000",
        "Monthly debt payments € 123.45",
        "38.5%",
        "4.5×",
        "Policy version 3",
        "In force from 1 Jan 2026",
        "DTI at most 50% ✓ passed 38.5% is within",
        "Income multiple at most 4 ✗ failed 4.5 times is above 4",
        "Next review due 30 Nov 2027",
        "Decided at 30 Nov 2026, 10:05",
    ]:
        assert expected in text


def test_declined_record_leaves_out_what_was_not_decided(app) -> None:
    record = _record(
        outcome_label="Elutasítva", approved_flag=False, approved=None,
        risk_grade_label=None, next_review_due=None, note="", dti=None, residual_share=None,
        rules=[SimpleNamespace(label="JTM legfeljebb 50%", passed=False, reason="62% > 50%")],
    )
    text = _text(_pdf(app, "hu", record))

    assert "✗ Elutasítva" in text
    assert "JTM legfeljebb 50% ✗ nem felelt meg 62% > 50%" in text
    assert "✓" not in text
    assert text.count("nincs kiszámítva") == 2
    for absent in ["Jóváhagyott összeg", "Kockázati besorolás", "felülvizsgálat", "Megjegyzés"]:
        assert absent not in text


def test_client_text_is_escaped_not_markup(app, network_attempts) -> None:
    record = _record(
        client_name="Kőműves Ödön <script>alert(1)</script>",
        note='<b>sürgős</b> ű <img src="http://example.com/x.png">',
    )
    data = _pdf(app, "hu", record)
    with app.test_request_context(), force_locale("hu"):
        html = render_html(TEMPLATE, record=record)

    text = _text(data)
    assert "Kőműves Ödön <script>alert(1)</script>" in text
    assert '<b>sürgős</b> ű <img src="http://example.com/' in text  # a line may end at "/"
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "&lt;b&gt;sürgős&lt;/b&gt;" in html
    assert "<script>" not in html and "<b>" not in html and "<img" not in html
    assert not network_attempts


def test_the_filing_path_reads_the_record(app, tmp_path) -> None:
    path = tmp_path / "record.pdf"
    path.write_bytes(_pdf(app, "hu", _record()))

    assert sniff(path.read_bytes()[:2048]) == "application/pdf"
    extraction = extract(path, "application/pdf")
    assert extraction.status == "text" and extraction.pages == 1
    assert "Hitelbírálati döntés" in extraction.text
    assert "Kőműves Ödön" in extraction.text


def test_a_job_renders_without_a_request(app) -> None:
    with app.app_context(), force_locale("en"):
        data = render_pdf(TEMPLATE, record=_record(outcome_label="Approved"))

    assert "Credit decision ✓ Approved: HUF 1,200,000" in _text(data)


def test_preview_is_the_same_template_as_a_page(app) -> None:
    with app.test_request_context(), force_locale("en"):
        html = render_html(TEMPLATE, record=_record(outcome_label="Approved"))

    assert '<html lang="en">' in html
    assert '<link rel="stylesheet" href="/static/css/print.css">' in html
    assert "<h1>Credit decision</h1>" in html
    assert "Kőműves Ödön" in html


def test_fetcher_serves_static_files_and_data_urls_only(app, network_attempts) -> None:
    static = Path(app.static_folder)
    fetcher = StaticFetcher(static)

    response = fetcher((static / "css" / "print.css").as_uri())
    assert response.content_type == "text/css" and b"@page" in response.read()
    response.close()
    response = fetcher("data:text/plain;base64,aGk=")
    assert response.read() == b"hi"
    response.close()
    for url in [
        "http://example.com/x.png",
        "https://example.com/x.css",
        "ftp://example.com/x",
        "file:///etc/passwd",
        static.as_uri() + "/../pdf.py",  # outside the static folder
        "file://example.com" + (static / "css" / "print.css").as_posix(),  # a remote host
        static.as_uri() + "/css/missing.css",
    ]:
        with pytest.raises(ValueError, match="refused"):
            fetcher(url)
    assert not network_attempts


def test_external_resources_in_a_template_are_refused_offline(
    app, network_attempts, caplog
) -> None:
    app.jinja_env.loader = ChoiceLoader([
        DictLoader({"external.html": (
            '<html><head><link rel="stylesheet" href="https://example.com/x.css"></head>'
            '<body><p>Offline</p><img src="http://example.com/x.png">'
            '<img src="file:///etc/hostname"></body></html>'
        )}),
        app.jinja_env.loader,
    ])
    with app.test_request_context():
        data = render_pdf("external.html")

    assert "Offline" in _text(data)
    assert not network_attempts
    refused = " ".join(r.getMessage() for r in caplog.records if r.name == "weasyprint")
    for url in ["https://example.com/x.css", "http://example.com/x.png", "file:///etc/hostname"]:
        assert url in refused
