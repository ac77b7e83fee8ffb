"""Helpers shared by the browser tests: the live app's database, logging in, htmx swaps."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import Flask
from playwright.sync_api import Page

from portal.db import transaction
from portal.demo import DEMO_LOGINS
from portal.domain.identifiers import person_check_digit

PASSWORDS = {username: password for username, _, password, _ in DEMO_LOGINS}


def in_db(app: Flask, work: Callable[[Any], Any]) -> Any:
    """Run ``work(session)`` as one transaction on the live app's database; return its result."""
    with app.app_context(), transaction(app.extensions["db_sessionmaker"]) as session:
        return work(session)


def valid_person_tax_id(start: int = 12345678) -> str:
    """Return a valid personal tax ID: 8, eight digits, check digit (skipping check 10)."""
    for n in range(start, start + 1000):
        first = f"8{n:08d}"
        check = person_check_digit(first)
        if check < 10:
            return f"{first}{check}"
    raise AssertionError("no valid tax ID in range")  # pragma: no cover


def log_in(page: Page, base: str, username: str) -> None:
    """Log in through the form and wait for the page the portal sends the user to."""
    page.goto(f"{base}/login")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", PASSWORDS[username])
    with page.expect_navigation():
        page.locator("main form button[type=submit]").click()


def set_marker(page: Page) -> None:
    """Set a JS global that survives htmx swaps and XHRs but not a full page load."""
    page.evaluate("() => { window.__marker = 1; }")


def marker(page: Page) -> Any:
    return page.evaluate("() => window.__marker")


def is_fragment_request(response) -> bool:
    request = response.request
    return request.headers.get("hx-request") == "true" and request.resource_type in {"xhr",
                                                                                     "fetch"}
