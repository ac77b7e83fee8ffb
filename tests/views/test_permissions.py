"""Every route declares a permission, and every role gets 403 where it lacks it."""

from __future__ import annotations

import io
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import func, select, update

from portal.domain.ledger import EntryKind
from portal.domain.money import Money
from portal.domain.onboarding import Step
from portal.domain.permissions import Perm, Role, allows
from portal.models import DocType, Document, OnboardingStep
from portal.models.credit import ReviewKind
from portal.security import declared_permission
from portal.services import ledger
from portal.services.base import SYSTEM
from portal.services.documents import FileMeta, file_document
from portal.services.reviews import ReviewData, open_review
from tests.conftest import csrf_token, make_client

#: Values for URL parameters, so every rule can be turned into a real URL.
URL_VALUES = {
    "client_id": 1, "user_id": 1, "document_id": 1, "step": "identity_verified",
    "filename": "css/portal.css", "review_id": 1, "version": 1, "item": "employment",
    "line_id": 1,
    "account_id": 1, "entry_id": 1, "write_off_id": 1,
}


def _routes(app):
    for rule in app.url_map.iter_rules():
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            yield rule, method


def test_every_route_declares_a_permission(app):
    undeclared = [
        rule.rule for rule in app.url_map.iter_rules()
        if declared_permission(app, rule.endpoint) is None
    ]
    assert undeclared == []


def test_an_undeclared_route_is_refused_not_served(app, as_role):
    @app.get("/undeclared-test-route")
    def undeclared():  # pragma: no cover - must never run
        return "secret"

    client = as_role(Role.MANAGER)
    response = client.get("/undeclared-test-route")
    assert response.status_code == 403
    assert "secret" not in response.get_data(as_text=True)


#: What an allowed request of the matrix answers once it reached its view: a page (200), the
#: redirect after doing its work (302), or 422 for the empty form it sends. Never 404 (client 1,
#: document 1 and user 1 exist) and never anything else: a new route must be added here.
ANSWERS: dict[tuple[str, str], set[int]] = {
    ("main.index", "GET"): {302},  # to the role's start page
    # Reports: pages, their htmx fragments and CSV exports, with today's default filters.
    ("reports.index", "GET"): {200},
    ("reports.aging", "GET"): {200},
    ("reports.aging_csv", "GET"): {200},
    ("reports.kpis", "GET"): {200},
    ("reports.kpis_csv", "GET"): {200},
    ("account.password", "POST"): {422},
    ("clients.create", "POST"): {422},
    ("clients.edit", "POST"): {422},
    ("clients.tick", "POST"): {302, 200},  # the checklist fragment for htmx
    ("documents.upload", "POST"): {422},  # no file
    ("documents.add_version", "POST"): {302},  # no file: flashed, back to the document
    ("documents.edit", "POST"): {422},  # no title
    ("documents.delete", "POST"): {302},
    ("documents.restore", "POST"): {302},
    ("documents.empty_trash", "POST"): {302},
    ("admin.backups", "GET"): {200},  # no backup folder set: the page says so
    ("admin.create_user", "POST"): {422},
    ("admin.edit_user", "POST"): {302},  # the fields it leaves out keep the user's values
    ("admin.reset_password", "POST"): {422},
    ("reviews.create", "POST"): {422},
    ("reviews.save_policy", "POST"): {422},
    ("reviews.update", "POST"): {422},
    ("reviews.bureau", "POST"): {422},
    ("reviews.evidence", "POST"): {422},
    ("reviews.contact", "POST"): {422},
    ("reviews.prepare", "POST"): {422},
    ("reviews.decide", "POST"): {422},
    ("payments.upload", "POST"): {422},  # no file
    ("payments.map_columns", "POST"): {422},  # no kept file
    ("payments.confirm", "POST"): {302},  # no line chosen: flashed, to the queue
    ("payments.assign", "POST"): {422},  # no account number
    ("payments.ignore", "POST"): {422},  # no note
    ("accounts.open_account", "POST"): {422},
    ("accounts.payment", "POST"): {422},
    ("accounts.charge", "POST"): {422},
    ("accounts.fee", "POST"): {422},
    ("accounts.adjustment", "POST"): {422},
    ("accounts.recovery", "POST"): {422},
    ("accounts.reverse", "POST"): {422},
    ("accounts.propose_write_off", "POST"): {422},
    ("accounts.decide_write_off", "POST"): {422},
    ("accounts.close", "POST"): {422},  # account 1 of the scene owes something
    ("accounts.reopen", "POST"): {422},  # account 1 is open
}
#: Form fields a request sends besides the CSRF token.
FORM_DATA = {"clients.tick": {"done": "1"}}


def _reset_document(db, document_id: int, *, trashed: bool) -> None:
    """Put document 1 in the trash or take it out, as the next request needs."""
    db.execute(update(Document).where(Document.id == document_id).values(
        deleted_at=datetime.now(UTC) if trashed else None, deleted_by_id=None))
    db.commit()


def _did_its_work(db, endpoint: str, method: str) -> bool:
    """Check the effect of the requests that change something (the others: True)."""
    db.expire_all()
    if (endpoint, method) == ("documents.delete", "POST"):
        return db.get(Document, 1).deleted_at is not None
    if (endpoint, method) == ("documents.restore", "POST"):
        return db.get(Document, 1).deleted_at is None
    if (endpoint, method) == ("clients.tick", "POST"):
        # The item ticked by the request (opening account 1 ticked "account opened" already).
        return db.scalar(select(func.count()).select_from(OnboardingStep).where(
            OnboardingStep.step == Step.IDENTITY_VERIFIED)) == 1
    return True


def _ledger_scene(db, client_id: int) -> None:
    """Account 1 with a charge (entry 1) and a write-off proposal (1) by nobody on the staff."""
    day = date.today() - timedelta(days=2)
    account = ledger.open_account(db, SYSTEM, client_id, currency="HUF", limit_minor=10**6,
                                  opened_on=day)
    ledger.record_entry(db, SYSTEM, account.id, ledger.EntryData(
        EntryKind.CHARGE, Money(100_000, "HUF"), day, due_on=day), as_of=day)
    ledger.propose_write_off(db, SYSTEM, account.id, Money(10_000, "HUF"), reason="matrix",
                             as_of=day)


@pytest.mark.parametrize("role", list(Role))
def test_role_route_matrix(app, db, staff, as_role, role):
    """Forbidden: 403 (page and htmx alike). Allowed: the view ran and did its work."""
    row = make_client(db, "Matrix Client")  # id 1, unrestricted
    file_document(db, SYSTEM, app.extensions["storage"], row.id, io.BytesIO(b"matrix note"),
                  "note.txt", FileMeta(DocType.OTHER), max_bytes=10**6)  # document 1
    review = open_review(db, SYSTEM, row.id, ReviewData(ReviewKind.NEW_LIMIT, 1_000_000, "HUF",
                                                        "", 500_000))  # review 1
    _ledger_scene(db, row.id)  # account 1, entry 1, write-off 1
    db.commit()
    assert (row.id, db.scalar(select(Document.id)), staff.clerk.id, review.id) == (1, 1, 1, 1)
    client = as_role(role)
    token = csrf_token(client, "/account/")
    checked = allowed = 0
    for rule, method in _routes(app):
        perm = declared_permission(app, rule.endpoint)
        if perm in (Perm.PUBLIC,) or rule.endpoint == "auth.logout":
            continue
        url = rule.build(URL_VALUES, append_unknown=False)[1]
        for htmx in (False, True):
            _reset_document(db, 1, trashed=rule.endpoint == "documents.restore")
            headers = {"HX-Request": "true"} if htmx else {}
            if method == "GET":
                response = client.get(url, headers=headers)
            else:
                data = {**FORM_DATA.get(rule.endpoint, {}), "csrf_token": token}
                response = client.post(url, data=data, headers=headers)
            response.close()  # file responses hold their file open until closed
            checked += 1
            where = f"{method} {url} as {role} (htmx={htmx})"
            if allows(role, perm):
                allowed += 1
                expected = ANSWERS.get((rule.endpoint, method), {200} if method == "GET" else
                                       set())
                assert response.status_code in expected, (where, response.status_code)
                assert "/login" not in response.headers.get("Location", ""), where
                assert _did_its_work(db, rule.endpoint, method), where
            else:
                assert response.status_code == 403, where
                assert "<html" not in response.get_data(as_text=True) or not htmx, where
    assert checked > 20 and allowed >= 6


def test_anonymous_is_sent_to_login_everywhere_but_public_routes(app, staff):
    client = app.test_client()
    for rule, method in _routes(app):
        perm = declared_permission(app, rule.endpoint)
        if perm is Perm.PUBLIC or method != "GET":
            continue
        url = rule.build(URL_VALUES, append_unknown=False)[1]
        response = client.get(url)
        response.close()
        assert response.status_code == 302, url
        assert "/login" in response.headers["Location"], url
        htmx = client.get(url, headers={"HX-Request": "true"})
        assert htmx.status_code == 401 and "/login" in htmx.headers["HX-Redirect"], url
