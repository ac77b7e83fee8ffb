"""Credit review figures at realistic sizes, printed as JSON lines.

Run with ``python -m bench reviews`` (``--clients 10000 --reviews 30000 --repeat 200``). One
fresh app (temporary SQLite database, instance and storage; ``PORTAL_BENCH_DATABASE_URL`` for
PostgreSQL, whose tables are dropped and recreated) is filled in bulk, not through the
services: the clients (8 % restricted, half with a coordinator), one filed bureau report each,
and the reviews in realistic states, each with two or three obligations, its reference
contacts, evidence and decisions; approved clients carry their limit and next review (some
past due). Then, logged in as a manager and as a coordinator through the test client:

* the queue ``/reviews/``: the first page, a status filter, "awaiting my decision" and the live
  client filter typing a name fragment (htmx), and a review page ``/reviews/<id>`` for random
  reviews the user may see, each ``--repeat`` times: p50, p95 and max in ms, and the SQL
  statements one request runs;
* the services under them (``list_reviews``, ``status_counts``, ``awaiting_my_decision``,
  ``get_review`` + ``evaluate_review``), each call in a fresh session, for a breakdown.

The database has no planner statistics unless ``--analyze`` gathers them (SQLite keeps none
until ``ANALYZE`` runs; PostgreSQL's autovacuum gathers them on its own after a while).
Progress goes to stderr; figures, never pass/fail, to stdout.
"""

from __future__ import annotations

import hashlib
import os
import random
import statistics
import tempfile
import time
from collections.abc import Callable
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from sqlalchemy import bindparam, event, insert, select, text, update
from sqlalchemy.orm import Session

from bench import vocab
from bench.documents import MEASURE_WORK, PASSWORD, emit, populate_people, say
from portal import create_app, migrate
from portal.db import Base
from portal.models import Client, User
from portal.models.credit import (
    CreditDecision,
    CreditPolicy,
    CreditReview,
    Evidence,
    Obligation,
    ReferenceContact,
)
from portal.models.documents import DocType, Document, DocumentVersion, TextStatus
from portal.services import reviews as service
from portal.services.base import Actor
from portal.services.clients import visibility

#: How the reviews of a working office are spread over the states.
STATES = [("approved", 45), ("declined", 12), ("withdrawn", 8), ("draft", 7),
          ("verification", 13), ("awaiting_decision", 15)]
KINDS = ["new_limit", "new_limit", "limit_increase", "periodic"]
DEBTS = ["mortgage", "personal_loan", "car_loan", "credit_card", "overdraft"]
ITEMS = ["employment", "bank", "lenders"]
OUTCOMES = ["confirmed", "confirmed", "confirmed", "not_confirmed", "no_answer"]
COORDINATOR_LIMIT = 5_000_000
#: Name fragments typed into the live client filter.
FRAGMENTS = ["kov", "szab", "nagy", "horv", "tóth e", "molnar", "kiss z", "farkas p", "bal",
             "juh"]


def add_arguments(parser, *, prefixed: bool = False) -> None:
    """Add the options; ``prefixed`` names them ``--review-*`` beside other benchmarks'."""
    prefix = "--review-" if prefixed else "--"
    parser.add_argument(f"{prefix}clients", dest="review_clients", type=int, default=10_000)
    parser.add_argument("--reviews", type=int, default=30_000, help="reviews (0: skip)")
    parser.add_argument(f"{prefix}repeat", dest="review_repeat", type=int, default=200,
                        help="requests per case")
    parser.add_argument(f"{prefix}analyze" if prefixed else "--analyze", dest="review_analyze",
                        action="store_true",
                        help="gather planner statistics (ANALYZE) before timing")
    if not prefixed:
        parser.add_argument("--seed", type=int, default=1)


def run(args) -> None:
    if args.reviews:
        bench(args.review_clients, args.reviews, args.review_repeat, args.seed,
              args.review_analyze)


def bench(clients: int, count: int, repeat: int, seed: int, analyze: bool = False) -> None:
    with tempfile.TemporaryDirectory(prefix="bench-reviews-") as tmp:
        app = _fresh_app(Path(tmp))
        engine = app.extensions["db_engine"]
        sessions = app.extensions["db_sessionmaker"]
        say(f"reviews: inserting {clients} clients and {count} reviews")
        started = time.perf_counter()
        with sessions() as db:
            figures = populate(db, clients, count, seed)
        emit(bench="reviews_populate", backend=engine.dialect.name, clients=clients,
             reviews=count, seconds=round(time.perf_counter() - started, 1), **figures)
        if analyze:
            with engine.begin() as conn:
                conn.exec_driver_sql("ANALYZE")
        rng = random.Random(seed)
        today = date.today()
        for username in ("manager", "coordinator"):
            with sessions() as db:
                user = db.scalar(select(User).where(User.username == username))
                visible = _visible_ids(db, Actor(user))
            sizes = {"clients": clients, "reviews": count, "role": username,
                     "backend": engine.dialect.name, "analyzed": analyze}
            _services(sessions, username, visible, rng, repeat, today, sizes)
            if "reviews.index" not in app.view_functions:
                say("reviews: no /reviews/ pages in this portal yet; services only")
                continue
            browser = _login(app, username)
            for name, paths, headers in _cases(visible, rng, repeat):
                say(f"reviews: {username} {name}")
                emit(bench=f"reviews_{name}", path=paths[0], **sizes,
                     **_page(engine, browser, paths, headers, repeat))
        engine.dispose()


def _fresh_app(tmp: Path):
    url = os.environ.get("PORTAL_BENCH_DATABASE_URL") or f"sqlite:///{tmp / 'bench.sqlite3'}"
    app = create_app({"DATABASE_URL": url, "INSTANCE_PATH": str(tmp / "instance"),
                      "STORAGE_DIR": str(tmp / "storage"), "LOGIN_RATE_LIMIT": "1000 per minute",
                      **MEASURE_WORK})
    engine = app.extensions["db_engine"]
    if not url.startswith("sqlite"):
        with engine.begin() as conn:
            Base.metadata.drop_all(conn)
            conn.execute(text("DROP TABLE IF EXISTS alembic_version"))
    migrate.upgrade(engine)
    return app


def _cases(visible: list[int], rng: random.Random, repeat: int):
    """Yield (name, paths to cycle through, headers) for one user."""
    htmx = {"HX-Request": "true"}
    yield "queue_first_page", ["/reviews/"], None
    yield "queue_status_filter", ["/reviews/?status=awaiting_decision"], htmx
    yield "queue_awaiting_my_decision", ["/reviews/?mine=1"], htmx
    yield "queue_client_filter", [f"/reviews/?q={f}" for f in FRAGMENTS], htmx
    yield "review_page", [f"/reviews/{rng.choice(visible)}" for _ in range(repeat)], None


def _page(engine, browser, paths: list[str], headers, repeat: int) -> dict:
    """Time GET requests cycling through ``paths``; count the statements of the first."""

    def get(i: int) -> None:
        path = paths[i % len(paths)]
        response = browser.get(path, headers=headers)
        assert response.status_code == 200, (path, response.status_code)

    return {"queries": _statements(engine, lambda: get(0)), **_timed(get, repeat)}


def _timed(call: Callable[[int], object], repeat: int) -> dict:
    """Call ``call(i)`` once to warm up, then ``repeat`` times; return the figures in ms."""
    call(0)
    samples = []
    for i in range(repeat):
        started = time.perf_counter()
        call(i)
        samples.append((time.perf_counter() - started) * 1000)
    samples.sort()
    return {"n": repeat, "p50_ms": round(statistics.median(samples), 1),
            "p95_ms": round(samples[max(0, int(len(samples) * 0.95) - 1)], 1),
            "max_ms": round(samples[-1], 1)}


def _statements(engine, call: Callable[[], object]) -> int:
    """Return how many SQL statements ``call`` runs."""
    count = [0]

    def seen(*_args) -> None:
        count[0] += 1

    event.listen(engine, "before_cursor_execute", seen)
    try:
        call()
    finally:
        event.remove(engine, "before_cursor_execute", seen)
    return count[0]


def _login(app, username: str):
    browser = app.test_client()
    html = browser.get("/login").get_data(as_text=True)
    token = html.split('name="csrf_token" value="')[1].split('"')[0]
    response = browser.post("/login", data={"username": username, "password": PASSWORD,
                                            "csrf_token": token})
    assert response.status_code == 302, "bench login failed"
    return browser


def _visible_ids(db: Session, actor: Actor) -> list[int]:
    return list(db.scalars(select(CreditReview.id).join(Client)
                           .where(visibility(actor)).order_by(CreditReview.id)))


@contextmanager
def _acting(sessions, username: str):
    with sessions() as db:
        yield db, Actor(db.scalar(select(User).where(User.username == username)))
        db.rollback()  # get_review may add an audit row for a restricted client


def _services(sessions, username: str, visible: list[int], rng: random.Random, repeat: int,
              today: date, sizes: dict) -> None:
    """Time the services under the pages, each call in a fresh session."""
    first = service.ReviewFilter()
    calls = {
        "list_reviews": lambda db, who, i: service.list_reviews(db, who, first, today, 25),
        "list_reviews_client_filter": lambda db, who, i: service.list_reviews(
            db, who, service.ReviewFilter(q=FRAGMENTS[i % len(FRAGMENTS)]), today, 25),
        "status_counts": lambda db, who, i: service.status_counts(db, who),
        "awaiting_my_decision": lambda db, who, i: service.awaiting_my_decision(db, who),
        "get_and_evaluate": lambda db, who, i: service.evaluate_review(
            service.get_review(db, who, ids[i % len(ids)]),
            service.policy_in_force(db, today), today),
    }
    ids = [rng.choice(visible) for _ in range(repeat)]

    def one(name: str) -> Callable[[int], object]:
        def call(i: int) -> None:
            with _acting(sessions, username) as (db, who):
                calls[name](db, who, i)
        return call

    for name in calls:
        emit(bench=f"reviews_service_{name}", **sizes, **_timed(one(name), repeat))


# -- populating ---------------------------------------------------------------------------------


def populate(db: Session, clients: int, count: int, seed: int) -> dict:
    """Insert the clients, their bureau reports and ``count`` reviews; return row counts."""
    populate_people(db, clients)
    users = {u.username: u.id for u in db.scalars(select(User))}
    coordinators = [i for name, i in users.items() if name.startswith("coordinator")]
    policy = db.scalar(select(CreditPolicy).order_by(CreditPolicy.version))
    now = datetime.now(UTC)
    rng = random.Random(seed)
    _reports(db, clients, users["coordinator"], now)
    rows: dict[type, list[dict]] = {k: [] for k in (CreditReview, Obligation, ReferenceContact,
                                                   Evidence, CreditDecision)}
    limits: dict[int, dict] = {}
    totals = dict.fromkeys(rows, 0)
    states = [s for s, _ in STATES]
    weights = [w for _, w in STATES]
    for number in range(1, count + 1):
        status = rng.choices(states, weights)[0]
        client_id = rng.randrange(1, clients + 1)
        preparer = rng.choice(coordinators)
        _review(rng, rows, limits, number, status, client_id, preparer, users, coordinators,
                policy, now)
        if number % 5000 == 0 or number == count:
            for model, batch in rows.items():
                if batch:
                    db.execute(insert(model), batch)
                    totals[model] += len(batch)
                    batch.clear()
            db.commit()
            say(f"  inserted {number}/{count} reviews")
    table = Client.__table__
    db.execute(update(table).where(table.c.id == bindparam("client")).values(
        credit_limit_minor=bindparam("limit"), credit_currency="HUF",
        risk_grade=bindparam("grade"), next_review_due=bindparam("due")),
        [{"client": k, **v} for k, v in limits.items()])
    db.commit()
    return {"obligations": totals[Obligation], "contacts": totals[ReferenceContact],
            "evidence": totals[Evidence], "decisions": totals[CreditDecision],
            "clients_with_limit": len(limits),
            "next_review_past_due": sum(v["due"] < now.date() for v in limits.values())}


def _reports(db: Session, clients: int, user_id: int, now: datetime) -> None:
    """File one bureau report (a short text, one version) per client; id = client id."""
    documents, versions = [], []
    for i in range(1, clients + 1):
        body = f"KHR jelentés, ügyfél C{i:06d}".encode()
        documents.append({"id": i, "client_id": i, "doc_type": DocType.CREDIT_REPORT,
                          "title": "KHR-jelentés", "tags": "", "doc_date": now.date(),
                          "created_by_id": user_id})
        versions.append({"document_id": i, "number": 1, "sha256": hashlib.sha256(body).hexdigest(),
                         "size": len(body), "mime": "text/plain", "original_name": "khr.txt",
                         "text_status": TextStatus.TEXT, "text": body.decode(), "pages": 1,
                         "uploaded_by_id": user_id})
    db.execute(insert(Document), documents)
    db.execute(insert(DocumentVersion), versions)
    db.commit()


def _review(rng: random.Random, rows: dict, limits: dict, number: int, status: str,
            client_id: int, preparer: int, users: dict, coordinators: list[int],
            policy: CreditPolicy, now: datetime) -> None:
    """Add one review's rows: the review, obligations, contacts, evidence and decisions."""
    income = rng.randrange(250, 1500) * 1000
    requested = round(income * rng.uniform(1, 7) / 50_000) * 50_000 or 50_000
    created = now - timedelta(days=rng.uniform(0, 730))
    updated = min(now, created + timedelta(days=rng.uniform(0, 30)))
    prepared = status != "draft"
    closed = status in ("approved", "declined", "withdrawn")
    needed = "manager" if requested > COORDINATOR_LIMIT or rng.random() < 0.05 else "coordinator"
    submitted = status in ("awaiting_decision", "approved", "declined")
    score = rng.randint(450, 950) if prepared or rng.random() < 0.3 else None
    rows[CreditReview].append({
        "id": number, "client_id": client_id, "kind": rng.choice(KINDS), "status": status,
        "requested_minor": requested, "currency": "HUF", "purpose": "Hitelkeret",
        "monthly_income_minor": income, "bureau_score": score,
        "bureau_date": (created - timedelta(days=rng.randint(0, 120))).date() if score else None,
        "needed_role": needed if submitted else None, "prepared_by_id": preparer,
        "created_at": created, "updated_at": updated,
        "submitted_at": updated if submitted else None, "closed_at": updated if closed else None,
        "version": rng.randint(1, 12),
    })
    payments = 0
    for _ in range(rng.randint(2, 3)):
        payment = rng.randrange(5, 150) * 1000
        payments += payment
        rows[Obligation].append({"review_id": number, "lender": rng.choice(vocab.BANKS),
                                 "kind": rng.choice(DEBTS), "monthly_payment_minor": payment,
                                 "outstanding_minor": payment * rng.randint(10, 200)})
    if prepared:
        for item in rng.sample(ITEMS, k=rng.randint(1, 3)):
            at = created + timedelta(days=rng.uniform(0, 5))
            rows[ReferenceContact].append({
                "review_id": number, "item": item, "contact_name": "Fehér Judit (HR)",
                "channel": rng.choice(["phone", "email"]), "contacted_at": at,
                "outcome": rng.choice(OUTCOMES), "note": "Visszaigazolva.", "logged_at": at,
                "logged_by_id": preparer})
        if score:
            rows[Evidence].append({"review_id": number, "item": "bureau", "document_id": client_id,
                                   "added_at": created, "added_by_id": preparer})
    if status in ("approved", "declined"):
        deciders = [c for c in coordinators if c != preparer]
        decider = users["manager"] if needed == "manager" else rng.choice(deciders)
        approved = status == "approved"
        grade = rng.choice(["low", "medium", "high"]) if approved else None
        rows[CreditDecision].append({
            "review_id": number, "action": "approve" if approved else "decline",
            "decided_by_id": decider, "decided_at": updated, "policy_id": policy.id,
            "policy_version": policy.version, "approved_minor": requested if approved else None,
            "currency": "HUF", "risk_grade": grade, "note": "" if approved else "DTI",
            "figures": {"requested": requested, "currency": "HUF", "monthly_income": income,
                        "debt_payments": payments, "dti_bp": payments * 10_000 // income},
            "rules": [{"rule": "dti", "passed": approved, "reason": "ok" if approved else "over",
                       "value": None, "limit": "2/5", "items": []}],
            "request_token": f"bench-{number}",
        })
        if approved:
            months = {"low": 12, "medium": 3, "high": 1}[grade]
            limits[client_id] = {"limit": requested, "grade": grade,
                                 "due": (updated + timedelta(days=30 * months)).date()}
