"""Browser tests: a live portal on a random port, Debian's Chromium driven by Playwright.

Everything here is self-contained (no dependency on ``tests/conftest.py``): a temporary SQLite
database seeded with the demo data, a werkzeug server in a daemon thread, one browser for the
session and a fresh context (cookies, storage) for every test.
"""

from __future__ import annotations

import os
import re
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask_babel import force_locale, gettext
from werkzeug.serving import make_server

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--lang=hu-HU",  # the browser's own widgets (date fields, file button) in Hungarian
]
SEEDED_CLIENTS = 40
#: How long a step or an expectation waits for the page before failing (ms). Waiting ends as
#: soon as the condition holds, so a generous bound costs nothing on a quiet machine and keeps a
#: busy one (CI beside other work, uploads through text extraction) from failing at random.
WAIT_MS = 30_000
HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
SCREENSHOTS = REPO / "test-artifacts" / "screenshots"


def pytest_configure(config: pytest.Config) -> None:
    """Playwright's expectations wait 5 s by default; give them the same bound as steps."""
    from playwright.sync_api import expect

    expect.set_options(timeout=WAIT_MS)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Mark every test of this folder e2e, and skip them when Chromium is not installed."""
    missing = not CHROMIUM.exists()
    if missing and os.environ.get("CI"):
        raise pytest.UsageError(f"{CHROMIUM} is missing on CI: .ci/run must install chromium")
    for item in items:
        if HERE not in Path(str(item.path)).resolve().parents:
            continue
        item.add_marker(pytest.mark.e2e)
        if missing:
            item.add_marker(pytest.mark.skip(
                reason=f"browser tests need Debian's Chromium at {CHROMIUM} "
                       "(apt-get install -y chromium)"))


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo):
    """Keep each phase's report on the item, so the page fixture can shoot a failure."""
    report = yield
    setattr(item, f"rep_{report.when}", report)
    return report


# The live portal -------------------------------------------------------------------------


@pytest.fixture(scope="session")
def live_app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Flask]:
    """The portal on a temporary SQLite file, migrated and seeded with 40 demo clients.

    Named ``live_app`` so it never stands in for ``tests/conftest.py``'s per-test ``app``.
    """
    from portal import create_app, demo, migrate
    from portal.db import transaction

    root = tmp_path_factory.mktemp("e2e")
    app = create_app({
        "TESTING": True,
        "DATABASE_URL": f"sqlite:///{root / 'e2e.sqlite3'}",
        "INSTANCE_PATH": str(root / "instance"),
        "STORAGE_DIR": str(root / "storage"),
        "SECRET_KEY": "e2e-secret-key-not-for-production",
        "LOGIN_RATE_LIMIT": "1000 per minute",
    })
    engine = app.extensions["db_engine"]
    migrate.upgrade(engine)
    with app.app_context(), transaction(app.extensions["db_sessionmaker"]) as session:
        demo.seed_demo(session, today=date.today(),
                       onboarding_days=app.config["ONBOARDING_BUSINESS_DAYS"],
                       clients=SEEDED_CLIENTS)
    yield app
    engine.dispose()


@pytest.fixture(scope="session")
def live_server(live_app: Flask) -> Iterator[str]:
    """Serve ``live_app`` on a free port in a daemon thread; yield its base URL (no trailing /)."""
    server = make_server("127.0.0.1", 0, live_app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, name="e2e-live-server", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


@pytest.fixture
def hu(live_app: Flask) -> Callable[..., str]:
    """Return the Hungarian catalog's text for a message id (the msgid while untranslated)."""

    def translate(msgid: str, **variables: Any) -> str:
        with live_app.test_request_context(), force_locale("hu"):
            return gettext(msgid, **variables)

    return translate


# The browser -----------------------------------------------------------------------------


@pytest.fixture(scope="session")
def browser() -> Iterator:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


@dataclass
class BrowserLog:
    """What went wrong in the browser during one test."""

    console_errors: list[str] = field(default_factory=list)
    page_errors: list[str] = field(default_factory=list)
    csp_violations: list[str] = field(default_factory=list)

    def problems(self) -> list[str]:
        return [*self.console_errors, *self.page_errors, *self.csp_violations]


# Reports every Content-Security-Policy violation to Python, on every page the test opens.
_CSP_LISTENER = """
document.addEventListener("securitypolicyviolation", (event) => {
  window.__e2eReportCsp(
    `${event.violatedDirective} blocked ${event.blockedURI || "inline"}`
    + ` at ${event.sourceFile || location.href}:${event.lineNumber}`);
});
"""


@pytest.fixture
def browser_log() -> BrowserLog:
    return BrowserLog()


@pytest.fixture
def page(browser, browser_log: BrowserLog, request: pytest.FixtureRequest, shot) -> Iterator:
    """A fresh context (Hungarian browser) and page; console errors and CSP reports collected."""
    context = browser.new_context(locale="hu-HU", timezone_id="Europe/Budapest",
                                  viewport={"width": 1280, "height": 900})
    context.set_default_timeout(WAIT_MS)
    context.expose_binding(
        "__e2eReportCsp", lambda _source, text: browser_log.csp_violations.append(text)
    )
    context.add_init_script(_CSP_LISTENER)
    page = context.new_page()
    page.on("console", lambda msg: browser_log.console_errors.append(
        f"console.{msg.type}: {msg.text} ({msg.location.get('url', '')})")
        if msg.type == "error" else None)
    page.on("pageerror", lambda exc: browser_log.page_errors.append(f"page error: {exc}"))
    try:
        yield page
    finally:
        failed = getattr(request.node, "rep_call", None)
        if failed is not None and failed.failed and not page.is_closed():
            try:
                shot(page, "failure")
            except Exception:  # noqa: BLE001 - a failed screenshot must not mask the failure
                pass
        context.close()


@pytest.fixture
def shot(request: pytest.FixtureRequest) -> Callable:
    """Return ``shot(page, step)``: save a full-page screenshot as ``<test>-<step>.png``."""
    test = re.sub(r"[^A-Za-z0-9_.-]+", "_", request.node.name)
    for stale in SCREENSHOTS.glob(f"{test}-*.png"):  # from an earlier run of this test
        stale.unlink()

    def shot(page, step: str) -> Path:
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        path = SCREENSHOTS / f"{test}-{re.sub(r'[^A-Za-z0-9_.-]+', '_', step)}.png"
        page.screenshot(path=str(path), full_page=True)
        return path

    return shot
