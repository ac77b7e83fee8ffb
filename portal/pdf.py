"""Letters and records: one Jinja template, rendered to PDF with WeasyPrint or to HTML.

Templates render with ``flask.render_template`` (autoescaped, translated in the active
locale, so wrap a call in ``flask_babel.force_locale`` for a client's language). The PDF
needs an app context only (a background job can render it), the preview a request. Besides
the portal's filters (``money``, ``date``, ``datetime``, ``number``) a template gets
``decimal`` (a measurement such as a ratio, in the locale) and ``asset_url("css/x.css")``,
the address of a static file: its static URL in the preview, the file itself in the PDF.

WeasyPrint never reaches the network: :class:`StaticFetcher` serves the portal's own static
files and ``data:`` URLs and refuses everything else (WeasyPrint logs the refusal and
renders the page without that resource). The PDF's title comes from ``<title>``, its
language from ``<html lang>``, author and dates from ``<meta>`` (author, description,
keywords, dcterms.created); text is real text, so the filing path can extract it.
"""

from __future__ import annotations

import mimetypes
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit
from urllib.request import url2pathname

from flask import current_app, render_template, url_for
from weasyprint import HTML
from weasyprint.urls import URLFetcher, URLFetcherResponse

from portal.i18n import decimal


class StaticFetcher(URLFetcher):
    """Fetch ``file:`` URLs inside ``root`` and ``data:`` URLs; refuse every other URL."""

    def __init__(self, root: str | Path) -> None:
        super().__init__(allowed_protocols=("file", "data"), allow_redirects=False)
        self.root = Path(root).resolve()

    def fetch(self, url: str, headers: dict[str, str] | None = None) -> URLFetcherResponse:
        parts = urlsplit(url)
        scheme = parts.scheme.lower()
        if scheme == "data":  # decoded by urllib's DataHandler, no I/O
            return super().fetch(url, headers)
        if scheme != "file" or parts.netloc not in ("", "localhost"):
            raise ValueError(f"refused (PDFs are rendered offline): {url}")
        path = Path(url2pathname(parts.path)).resolve()
        if not path.is_relative_to(self.root) or not path.is_file():
            raise ValueError(f"refused (not a static file of the portal): {url}")
        content_type = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
        return URLFetcherResponse(url, path.read_bytes(), {"Content-Type": content_type})


def _static_root() -> Path:
    return Path(current_app.static_folder or "static").resolve()


def _static_url(name: str) -> str:
    return url_for("static", filename=name)


def render_html(template: str, **context: Any) -> str:
    """Render ``template`` as an HTML page: the on-screen preview of the PDF."""
    return render_template(template, asset_url=_static_url, decimal=decimal, **context)


def render_pdf(template: str, **context: Any) -> bytes:
    """Render ``template`` to PDF bytes, fetching nothing but the portal's static files."""
    root = _static_root()
    # asset_url keeps "css/print.css" as it is: relative to base_url, the static folder.
    html = render_template(template, asset_url=str, decimal=decimal, **context)
    document = HTML(string=html, base_url=root.as_uri() + "/", url_fetcher=StaticFetcher(root))
    return document.write_pdf(pdf_tags=True)
