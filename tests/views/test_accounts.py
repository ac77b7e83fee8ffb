"""Accounts and their ledger through the pages: opening, quick forms, reversals, write-offs,
recoveries, who sees and who may change what, and the labels in both languages."""

from __future__ import annotations

import re
from datetime import timedelta

from sqlalchemy import func, select

from portal.domain.ledger import EntryKind
from portal.domain.money import Money
from portal.domain.permissions import Role
from portal.i18n import today
from portal.models.audit import AuditEvent
from portal.models.ledger import Account, LedgerEntry, WriteOff, WriteOffStatus
from portal.services import ledger
from portal.services.base import Actor
from portal.services.ledger import EntryData
from tests.conftest import make_client, post


def _account(app, db, staff, *, currency="HUF", charge=100_000, **client_fields):
    """A client with an account and one charge due a week ago (booked by the coordinator)."""
    with app.test_request_context():
        day = today()
    row = make_client(db, "Számla Kft.", **client_fields)
    who = Actor(staff.coordinator)
    account = ledger.open_account(db, who, row.id, currency=currency, limit_minor=1_000_000,
                                  opened_on=day - timedelta(days=40))
    ledger.record_entry(db, who, account.id, EntryData(
        EntryKind.CHARGE, Money(charge, currency), day - timedelta(days=37),
        due_on=day - timedelta(days=7)), as_of=day)
    db.commit()
    return account, day


def _key(html: str, prefix: str) -> str:
    return re.search(rf'name="{prefix}-key" type="hidden" value="([^"]+)"', html).group(1)


def _count(db, **where) -> int:
    db.expire_all()
    stmt = select(func.count()).select_from(LedgerEntry)
    for name, value in where.items():
        stmt = stmt.where(getattr(LedgerEntry, name) == value)
    return db.scalar(stmt)


def test_open_an_account_from_the_client_page(app, db, staff, as_role):
    row = make_client(db, "Nyitó Bt.")
    db.commit()
    coordinator = as_role(Role.COORDINATOR)
    section = coordinator.get(f"/clients/{row.id}/accounts/list", headers={"HX-Request": "true"})
    assert "Open an account" in section.get_data(as_text=True)
    assert f"/clients/{row.id}/accounts/list" in coordinator.get(f"/clients/{row.id}").get_data(
        as_text=True)
    response = post(coordinator, f"/clients/{row.id}/accounts",
                    {"currency": "EUR", "limit": "12 500,50", "opened_on": "2026-01-05"})
    assert response.status_code == 302
    account = db.scalar(select(Account))
    assert (account.currency, account.limit_minor) == ("EUR", 1_250_050)
    assert response.headers["Location"].endswith(f"/accounts/{account.id}")
    page = coordinator.get(f"/accounts/{account.id}").get_data(as_text=True)
    assert account.number in page and "Record a payment" in page
    listed = coordinator.get(f"/clients/{row.id}/accounts/list").get_data(as_text=True)
    assert account.number in listed and 'data-total="EUR"' in listed
    second = post(coordinator, f"/clients/{row.id}/accounts",
                  {"currency": "HUF", "limit": "0", "opened_on": "2026-01-05"}, htmx=True)
    assert second.status_code == 204 and second.headers["HX-Redirect"].startswith("/accounts/")
    bad = post(coordinator, f"/clients/{row.id}/accounts",
               {"currency": "HUF", "limit": "100,5", "opened_on": "2026-01-05"}, htmx=True)
    assert bad.status_code == 422 and "Too many decimals" in bad.get_data(as_text=True)
    assert db.scalar(select(func.count()).select_from(Account)) == 2


def test_a_payment_changes_balance_and_allocation_and_is_recorded_once(app, db, staff,
                                                                       as_role):
    account, day = _account(app, db, staff)
    coordinator = as_role(Role.COORDINATOR)
    page = coordinator.get(f"/accounts/{account.id}").get_data(as_text=True)
    assert 'data-figure="overdue"' in page and "100" in page
    key = _key(page, "payment")
    data = {"payment-key": key, "payment-amount": "30 000", "payment-booked_on": day.isoformat(),
            "payment-method": "transfer", "payment-reference": "INV-1"}
    response = post(coordinator, f"/accounts/{account.id}/payments", data, htmx=True)
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert 'id="account"' in html and "<html" not in html
    balance = re.search(r'data-figure="balance">([^<]+)<', html).group(1)
    assert "70" in balance and "000" in balance
    assert re.search(r'data-paid="\d+"', html) and re.search(r"paid \D*30\D000\D* of #\d", html)
    again = post(coordinator, f"/accounts/{account.id}/payments", data)
    assert again.status_code == 302
    assert _count(db, kind=EntryKind.PAYMENT) == 1
    assert _key(html, "payment") != key  # a fresh form gets a fresh key


def test_refused_payments_say_why_and_save_nothing(app, db, staff, as_role):
    account, day = _account(app, db, staff, currency="EUR", charge=10_000)
    coordinator = as_role(Role.COORDINATOR)
    page = coordinator.get(f"/accounts/{account.id}").get_data(as_text=True)
    base = {"payment-key": _key(page, "payment"), "payment-booked_on": day.isoformat(),
            "payment-method": "cash"}
    cases = [({"payment-amount": "1.234,567"}, "Too many decimals"),
             ({"payment-amount": "-50"}, "more than zero"),
             ({"payment-amount": "50",
               "payment-booked_on": (day + timedelta(days=1)).isoformat()}, "in the future")]
    for extra, message in cases:
        response = post(coordinator, f"/accounts/{account.id}/payments", {**base, **extra},
                        htmx=True)
        html = response.get_data(as_text=True)
        assert response.status_code == 422, extra
        assert message in html, extra
        assert f'value="{extra["payment-amount"]}"' in html  # the input is kept
    assert _count(db, kind=EntryKind.PAYMENT) == 0


def test_reverse_an_entry(app, db, staff, as_role):
    account, day = _account(app, db, staff)
    fee = ledger.record_entry(db, Actor(staff.coordinator), account.id, EntryData(
        EntryKind.FEE, Money(5_000, "HUF"), day, due_on=day), as_of=day)
    db.commit()
    coordinator = as_role(Role.COORDINATOR)
    empty = post(coordinator, f"/accounts/{account.id}/entries/{fee.id}/reverse",
                 {f"reverse-{fee.id}-reason": ""}, htmx=True)
    assert empty.status_code == 422
    response = post(coordinator, f"/accounts/{account.id}/entries/{fee.id}/reverse",
                    {f"reverse-{fee.id}-reason": "charged by mistake"})
    assert response.status_code == 302
    html = coordinator.get(f"/accounts/{account.id}").get_data(as_text=True)
    assert re.search(rf'data-entry="{fee.id}"[^>]*data-reversed="1"', html)
    assert _count(db) == 3  # charge, fee, reversal: the fee stays
    db.expire_all()
    assert ledger.statement(db, Actor(staff.manager), account.id, day).balance.minor == 100_000
    twice = post(coordinator, f"/accounts/{account.id}/entries/{fee.id}/reverse",
                 {f"reverse-{fee.id}-reason": "again"}, htmx=True)
    assert twice.status_code == 422 and "reversed already" in twice.get_data(as_text=True)


def test_write_off_four_eyes_and_recovery_cap(app, db, staff, as_role):
    account, day = _account(app, db, staff)
    coordinator, manager = as_role(Role.COORDINATOR), as_role(Role.MANAGER)
    response = post(coordinator, f"/accounts/{account.id}/write-offs",
                    {"write_off-amount": "40 000", "write_off-reason": "client insolvent"})
    assert response.status_code == 302
    proposal = db.scalar(select(WriteOff))
    assert manager.get("/accounts/write-offs").get_data(as_text=True).count(
        f'data-write-off="{proposal.id}"') == 1
    page = manager.get(f"/accounts/{account.id}").get_data(as_text=True)
    assert 'data-action="approve"' in page
    own = ledger.propose_write_off(db, Actor(staff.manager), account.id, Money(1_000, "HUF"),
                                   reason="small remainder", as_of=day)
    db.commit()
    assert post(manager, f"/accounts/write-offs/{own.id}/decide",
                {f"decide-{own.id}-note": "", "action": "approve"}).status_code == 403
    assert 'data-blocked="own"' in manager.get(f"/accounts/{account.id}").get_data(
        as_text=True)
    approved = post(manager, f"/accounts/write-offs/{proposal.id}/decide",
                    {f"decide-{proposal.id}-note": "", "action": "approve"})
    assert approved.status_code == 302
    db.expire_all()
    assert db.get(WriteOff, proposal.id).status is WriteOffStatus.APPROVED
    page = coordinator.get(f"/accounts/{account.id}").get_data(as_text=True)
    key = _key(page, "recovery")
    over = post(coordinator, f"/accounts/{account.id}/recoveries",
                {"recovery-key": key, "recovery-amount": "40 001",
                 "recovery-booked_on": day.isoformat(), "recovery-method": "transfer"},
                htmx=True)
    assert over.status_code == 422
    assert "more than what was written off" in over.get_data(as_text=True)
    assert _count(db, kind=EntryKind.RECOVERY) == 0
    ok = post(coordinator, f"/accounts/{account.id}/recoveries",
              {"recovery-key": key, "recovery-amount": "40 000",
               "recovery-booked_on": day.isoformat(), "recovery-method": "transfer"})
    assert ok.status_code == 302 and _count(db, kind=EntryKind.RECOVERY) == 1


def test_a_clerk_sees_the_account_but_no_forms(app, db, staff, as_role):
    account, day = _account(app, db, staff)
    clerk = as_role(Role.CLERK)
    page = clerk.get(f"/accounts/{account.id}")
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and account.number in html
    assert "Record a payment" not in html and "Reverse" not in html
    assert "Propose a write-off" not in html
    assert "Open an account" not in clerk.get(
        f"/clients/{account.client_id}/accounts/list").get_data(as_text=True)
    for path in ("payments", "charges", "fees", "adjustments", "write-offs"):
        assert post(clerk, f"/accounts/{account.id}/{path}", {}).status_code == 403, path
    assert post(clerk, f"/clients/{account.client_id}/accounts", {}).status_code == 403
    assert _count(db) == 1


def test_a_restricted_clients_account_is_forbidden_to_a_clerk(app, db, staff, as_role):
    account, _ = _account(app, db, staff, restricted=True,
                          coordinator_id=staff.coordinator.id)
    assert as_role(Role.CLERK).get(f"/accounts/{account.id}").status_code == 403
    assert as_role(Role.CLERK).get(
        f"/clients/{account.client_id}/accounts/list").status_code == 403
    views = select(func.count()).select_from(AuditEvent).where(
        AuditEvent.action == "account.view")
    before = db.scalar(views)
    assert as_role(Role.COORDINATOR).get(f"/accounts/{account.id}").status_code == 200
    db.expire_all()
    assert db.scalar(views) == before + 1  # one read of the page, one audit row


def test_labels_in_hungarian_and_english(app, db, staff, as_role):
    account, _ = _account(app, db, staff)
    coordinator = as_role(Role.COORDINATOR)
    english = coordinator.get(f"/accounts/{account.id}").get_data(as_text=True)
    assert "Charge" in english and "Over 90 days" in english and "charge" not in re.sub(
        r'data-kind="charge"', "", english).split('id="ledger"')[1].split("</table>")[0]
    post(coordinator, "/account/language", {"language": "hu",
                                            "next": f"/accounts/{account.id}"})
    hungarian = coordinator.get(f"/accounts/{account.id}").get_data(as_text=True)
    assert "Terhelés" in hungarian and "Befizetés rögzítése" in hungarian
    assert "90 napon túl" in hungarian


def test_the_account_page_names_the_aging_buckets_as_the_aging_report_does(app, db, staff,
                                                                             as_role):
    """Before: "Not yet due" / "Még nem esedékes" here, "Current" / "Nem lejárt" in the report."""
    account, _ = _account(app, db, staff)
    coordinator = as_role(Role.COORDINATOR)
    english = coordinator.get(f"/accounts/{account.id}").get_data(as_text=True)
    report = coordinator.get("/reports/aging").get_data(as_text=True)
    assert "<dt>Current</dt>" in english and ">Current<" in report
    assert "Not yet due" not in english
    post(coordinator, "/account/language", {"language": "hu",
                                            "next": f"/accounts/{account.id}"})
    hungarian = coordinator.get(f"/accounts/{account.id}").get_data(as_text=True)
    assert "<dt>Nem lejárt</dt>" in hungarian and "Még nem esedékes" not in hungarian
    assert "Nem lejárt" in coordinator.get("/reports/aging").get_data(as_text=True)


def test_client_list_filters_payments_overdue_and_sorts_by_balance(app, db, staff, as_role):
    late, day = _account(app, db, staff, charge=50_000)  # due a week ago, unpaid
    who = Actor(staff.coordinator)
    paid = make_client(db, "Fizető Bt.")
    account = ledger.open_account(db, who, paid.id, currency="HUF", limit_minor=10**6,
                                  opened_on=day - timedelta(days=30))
    ledger.record_entry(db, who, account.id, EntryData(
        EntryKind.CHARGE, Money(300_000, "HUF"), day - timedelta(days=20),
        due_on=day - timedelta(days=5)), as_of=day)
    ledger.record_entry(db, who, account.id, EntryData(
        EntryKind.CHARGE, Money(200_000, "HUF"), day, due_on=day + timedelta(days=25)),
        as_of=day)
    ledger.record_entry(db, who, account.id, EntryData(
        EntryKind.PAYMENT, Money(300_000, "HUF"), day), as_of=day)  # pays the overdue one
    fee = ledger.record_entry(db, who, account.id, EntryData(
        EntryKind.FEE, Money(1_000, "HUF"), day - timedelta(days=3),
        due_on=day - timedelta(days=1)), as_of=day)
    ledger.reverse(db, who, fee.id, reason="waived", booked_on=day, as_of=day)
    make_client(db, "Nincs Számlája Kft.")
    db.commit()
    clerk = as_role(Role.CLERK)
    html = clerk.get("/clients/?arrears=1", headers={"HX-Request": "true"}).get_data(
        as_text=True)
    assert "Számla Kft." in html and "Fizető Bt." not in html and "Nincs Számlája" not in html
    order = clerk.get("/clients/?sort=balance&dir=desc").get_data(as_text=True)
    assert order.index("Fizető Bt.") < order.index("Számla Kft.") < order.index(
        "Nincs Számlája")
    assert re.search(rf'data-balance="{paid.id}">[^<]*200', order)
    assert "Payments overdue" in order


def test_a_key_used_on_another_account_is_a_conflict_and_a_reject_needs_a_note(app, db, staff,
                                                                              as_role):
    first, day = _account(app, db, staff)
    other = ledger.open_account(db, Actor(staff.coordinator), first.client_id, currency="HUF",
                                limit_minor=0, opened_on=day)
    proposal = ledger.propose_write_off(db, Actor(staff.coordinator), first.id,
                                        Money(5_000, "HUF"), reason="dispute", as_of=day)
    db.commit()
    coordinator, manager = as_role(Role.COORDINATOR), as_role(Role.MANAGER)
    data = {"payment-key": "k" * 32, "payment-amount": "1 000",
            "payment-booked_on": day.isoformat(), "payment-method": "card"}
    assert post(coordinator, f"/accounts/{first.id}/payments", data).status_code == 302
    clash = post(coordinator, f"/accounts/{other.id}/payments", data, htmx=True)
    assert clash.status_code == 409 and "another account" in clash.get_data(as_text=True)
    assert _count(db, kind=EntryKind.PAYMENT) == 1
    reject = post(manager, f"/accounts/write-offs/{proposal.id}/decide",
                  {f"decide-{proposal.id}-note": "", "action": "reject"}, htmx=True)
    assert reject.status_code == 422 and "Give a reason." in reject.get_data(as_text=True)
    db.expire_all()
    assert db.get(WriteOff, proposal.id).status is WriteOffStatus.PROPOSED


def test_an_account_closes_only_at_zero_and_reopens(app, db, staff, as_role):
    account, day = _account(app, db, staff)
    coordinator = as_role(Role.COORDINATOR)
    owing = coordinator.get(f"/accounts/{account.id}").get_data(as_text=True)
    assert 'data-action="close-account"' not in owing and 'data-hint="close"' in owing
    refused = post(coordinator, f"/accounts/{account.id}/close", {}, htmx=True)
    assert refused.status_code == 422
    assert "nothing owed" in refused.get_data(as_text=True)
    ledger.record_entry(db, Actor(staff.coordinator), account.id, EntryData(
        EntryKind.PAYMENT, Money(100_000, "HUF"), day, method="transfer"), as_of=day)
    db.commit()
    page = coordinator.get(f"/accounts/{account.id}").get_data(as_text=True)
    assert 'data-action="close-account"' in page
    assert post(coordinator, f"/accounts/{account.id}/close", {}).status_code == 302
    db.expire_all()
    closed = db.get(Account, account.id)
    assert (closed.status.value, closed.closed_on) == ("closed", day)
    page = coordinator.get(f"/accounts/{account.id}").get_data(as_text=True)
    assert 'data-action="reopen-account"' in page and 'data-form="payment"' not in page
    booked = post(coordinator, f"/accounts/{account.id}/payments",
                  {"payment-amount": "1", "payment-booked_on": day.isoformat(),
                   "payment-method": "cash", "payment-key": "k-closed"})
    assert booked.status_code == 422 and _count(db) == 2  # nothing booked on a closed account
    assert post(as_role(Role.CLERK), f"/accounts/{account.id}/reopen", {}).status_code == 403
    assert post(coordinator, f"/accounts/{account.id}/reopen", {}).status_code == 302
    db.expire_all()
    assert db.get(Account, account.id).status.value == "open"
    actions = list(db.scalars(select(AuditEvent.action).where(
        AuditEvent.action.in_(["account.close", "account.reopen"])).order_by(AuditEvent.id)))
    assert actions == ["account.close", "account.reopen"]
