"""Page times of the client list and record at realistic sizes, printed as JSON lines.

Run with ``make bench`` (every benchmark), ``python -m bench clients --clients 20000 50000``,
``python -m bench documents`` (see ``bench/documents.py``), ``python -m bench reviews`` (see
``bench/reviews.py``), ``python -m bench ledger`` (see ``bench/ledger.py``), ``python -m bench
clientlist`` (the list under load beside a bare Flask page, see ``bench/clientlist.py``) or
``python -m bench backup`` (see ``bench/backup.py``). Each size gets a fresh SQLite database
(WAL, as in production on one machine); set
``PORTAL_BENCH_DATABASE_URL`` to a PostgreSQL URL to measure there instead (its tables are
dropped and recreated).
Requests go through the whole Flask stack (login session, permission check, template) with
the test client, so the figures are server time without the network.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

from sqlalchemy import insert, text
from werkzeug.security import generate_password_hash

from portal import create_app, migrate
from portal.db import Base
from portal.domain.permissions import Role
from portal.domain.text import search_key
from portal.models import Client, OnboardingStep, User

FAMILY = ["Kovács", "Szabó", "Tóth", "Nagy", "Horváth", "Varga", "Kiss", "Molnár", "Németh",
          "Farkas", "Balogh", "Papp", "Lakatos", "Takács", "Juhász", "Oláh", "Mészáros",
          "Simon", "Fekete", "Bennett", "Carter", "Hughes", "Walker", "Turner"]
GIVEN = ["Eszter", "Ödön", "Anna", "Zoltán", "Katalin", "Péter", "Gábor", "Réka", "Ildikó",
         "Ákos", "Bence", "Zsófia", "Oliver", "Emily", "James", "Charlotte"]
CITIES = ["Budapest", "Debrecen", "Szeged", "Pécs", "Győr", "Miskolc", "Eger", "Sopron"]
STATUSES = ["prospect", "onboarding", "active", "active", "active", "closed"]


def _populate(app, clients: int) -> None:
    rng = random.Random(7)
    sessionmaker = app.extensions["db_sessionmaker"]
    with sessionmaker() as db:
        password = generate_password_hash("bench-password-1", method="scrypt:1024:8:1")
        users = [User(username=name, full_name=name.title(), role=role, active=True,
                      language="hu", password_hash=password)
                 for name, role in [("coordinator", Role.COORDINATOR),
                                    ("clerk", Role.CLERK), ("manager", Role.MANAGER)]]
        db.add_all(users)
        db.commit()
        coordinator_id = users[0].id
        today = date.today()
        batch = []
        for i in range(1, clients + 1):
            name = f"{rng.choice(FAMILY)} {rng.choice(GIVEN)}"
            number = f"C{i:06d}"
            city = rng.choice(CITIES)
            batch.append({
                "id": i, "number": number, "kind": "person", "name": name,
                "tax_id": f"8{rng.randrange(10**8, 10**9)}", "city": city,
                "email": f"client{i}@example.hu", "phone": f"+36 30 {i:07d}",
                "phone_e164": f"+3630{i:07d}",
                "income_minor": rng.randrange(250, 1800) * 1000, "income_currency": "HUF",
                "status": rng.choice(STATUSES), "restricted": rng.random() < 0.08,
                "coordinator_id": coordinator_id if rng.random() < 0.5 else None,
                "onboarding_due": today + timedelta(days=rng.randrange(-30, 30)),
                "search_text": search_key(name, number, f"client{i}@example.hu", city),
                "version": 1,
            })
            if len(batch) == 5000:
                db.execute(insert(Client), batch)
                batch = []
        if batch:
            db.execute(insert(Client), batch)
        steps = [{"client_id": i, "step": "identity_verified"}
                 for i in range(1, clients + 1, 2)]
        db.execute(insert(OnboardingStep), steps)
        db.commit()


def _login(app):
    client = app.test_client()
    html = client.get("/login").get_data(as_text=True)
    token = html.split('name="csrf_token" value="')[1].split('"')[0]
    client.post("/login", data={"username": "coordinator", "password": "bench-password-1",
                                "csrf_token": token})
    return client


def _time(client, path: str, repeat: int, headers=None) -> dict:
    client.get(path, headers=headers)  # warm
    samples = []
    for _ in range(repeat):
        start = time.perf_counter()
        response = client.get(path, headers=headers)
        samples.append((time.perf_counter() - start) * 1000)
        assert response.status_code == 200, (path, response.status_code)
    samples.sort()
    return {"p50_ms": round(statistics.median(samples), 1),
            "p95_ms": round(samples[int(len(samples) * 0.95) - 1], 1),
            "max_ms": round(samples[-1], 1)}


def run(clients: int, repeat: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        url = os.environ.get("PORTAL_BENCH_DATABASE_URL") or \
            f"sqlite:///{Path(tmp) / 'bench.sqlite3'}"
        app = create_app({"DATABASE_URL": url, "INSTANCE_PATH": str(Path(tmp) / "instance"),
                          "STORAGE_DIR": str(Path(tmp) / "storage"),
                          "LOGIN_RATE_LIMIT": "1000 per minute"})
        engine = app.extensions["db_engine"]
        if not url.startswith("sqlite"):
            with engine.begin() as conn:
                Base.metadata.drop_all(conn)
                conn.execute(text("DROP TABLE IF EXISTS alembic_version"))
        migrate.upgrade(engine)
        start = time.perf_counter()
        _populate(app, clients)
        load_s = time.perf_counter() - start
        client = _login(app)
        backend = engine.dialect.name
        print(json.dumps({"bench": "populate", "backend": backend, "clients": clients,
                          "seconds": round(load_s, 1)}))
        htmx = {"HX-Request": "true"}
        cases = {
            "list_first_page": ("/clients/", None),
            "list_fragment_typing_name": ("/clients/?q=kovacs", htmx),
            "list_fragment_two_words": ("/clients/?q=kovacs+eszter", htmx),
            "list_fragment_number": (f"/clients/?q=C{clients // 2:06d}", htmx),
            "list_status_filter": ("/clients/?status=onboarding", htmx),
            "list_overdue_filter": ("/clients/?overdue=1", htmx),
            "list_sorted_by_due_desc_page_40": ("/clients/?sort=due&dir=desc&page=40", htmx),
            "client_page": (f"/clients/{clients // 3}", None),
        }
        for name, (path, headers) in cases.items():
            figures = _time(client, path, repeat, headers)
            print(json.dumps({"bench": name, "backend": backend, "clients": clients,
                              "path": path, **figures}))
        engine.dispose()


COMMANDS = ("clients", "documents", "reviews", "ledger", "clientlist", "backup", "all")


def main(argv: list[str] | None = None) -> None:
    """``clients``, ``documents``, ``reviews``, ``ledger``, ``clientlist``, ``backup`` or (no
    command, as ``make bench`` runs it) all."""
    from bench import backup, clientlist, documents, ledger, reviews

    argv = sys.argv[1:] if argv is None else argv
    if not argv or argv[0] not in COMMANDS and argv[0] not in ("-h", "--help"):
        argv = ["all", *argv]
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    clients = commands.add_parser("clients", help="client list and record page times")
    docs = commands.add_parser("documents", help="document filing and search figures")
    credit = commands.add_parser("reviews", help="review queue and review page times")
    books = commands.add_parser("ledger", help="account page, balance sort, reports, bank import")
    load = commands.add_parser("clientlist", help="client list under load beside bare Flask")
    safe = commands.add_parser("backup", help="backup, incremental backup, verify, restore")
    both = commands.add_parser("all", help="every benchmark (the default)")
    for sub in (clients, both):
        sub.add_argument("--clients", type=int, nargs="+", default=[20_000, 50_000])
        sub.add_argument("--repeat", type=int, default=40)
    for sub in (docs, both):
        documents.add_arguments(sub)
    reviews.add_arguments(credit)
    reviews.add_arguments(both, prefixed=True)
    ledger.add_arguments(books)
    ledger.add_arguments(both, prefixed=True)
    clientlist.add_arguments(load)
    backup.add_arguments(safe)
    backup.add_arguments(both, prefixed=True)
    args = parser.parse_args(argv)
    if args.command in ("clients", "all"):
        for size in args.clients:
            run(size, args.repeat)
    if args.command in ("documents", "all"):
        documents.run(args)
    if args.command in ("reviews", "all"):
        reviews.run(args)
    if args.command in ("ledger", "all"):
        ledger.run(args)
    if args.command == "clientlist":
        clientlist.run(args)
    elif args.command == "all":
        clientlist.run(load.parse_args([]))
    if args.command in ("backup", "all"):
        backup.run(args, prefixed=args.command == "all")


if __name__ == "__main__":
    main()
