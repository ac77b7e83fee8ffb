"""Ledger figures at realistic sizes, printed as JSON lines.

Run with ``python -m bench ledger`` (``--clients 10000 --entries 1000000 --repeat 100``). One
fresh app (temporary SQLite database; ``PORTAL_BENCH_DATABASE_URL`` for PostgreSQL) is filled in
bulk with SQLAlchemy Core ``insert()`` (the ledger is append-only; inserting is allowed): the
clients, about 1.5 accounts each (one in ten in euro), and ``--entries`` ledger entries: monthly
charges due 15 days after booking over one to four years, payments mostly on time, some late
(with a late fee), some accounts behind (partial or missed payments), a few written off with a
recovery afterwards, reversed payments booked again, and a few adjustments. Then, logged in as
a manager through the test client, each case ``--repeat`` times (the reports, and a page that
takes over half a second, a tenth of that, at least 10):

* an account page ``/accounts/<id>`` of random accounts among those with the most entries;
* the client list sorted by balance, ascending and descending (first page);
* the aging report as of today and as of a day a year ago;
* the KPI page (DSO, CEI) for the last year;

p50, p95 and max in ms and the SQL statements one request runs. Last, the import of a generated
10k-row bank CSV through ``statements.stage`` and ``statements.confirm`` (half the rows name an
account in their reference), in rows per second.

Without ``--analyze`` the database has no planner statistics (SQLite keeps none until
``ANALYZE``). Progress goes to stderr; figures, never pass/fail, to stdout.
"""

from __future__ import annotations

import random
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

from sqlalchemy import func, insert, select

from bench.documents import emit, populate_people, say
from bench.reviews import _fresh_app, _login, _page
from portal.banking import ColumnMapping
from portal.models import User
from portal.models.ledger import Account, LedgerEntry
from portal.services import statements
from portal.services.base import Actor
from portal.services.ledger import account_number

#: Payment habits of the accounts: (name, share).
HABITS = [("on_time", 70), ("late", 18), ("behind", 9), ("written_off", 3)]
BATCH = 20_000


def add_arguments(parser, *, prefixed: bool = False) -> None:
    """Add the options; ``prefixed`` names them ``--ledger-*`` beside other benchmarks'."""
    prefix = "--ledger-" if prefixed else "--"
    parser.add_argument(f"{prefix}clients", dest="ledger_clients", type=int, default=10_000)
    parser.add_argument("--entries", type=int, default=1_000_000,
                        help="ledger entries (0: skip)")
    parser.add_argument(f"{prefix}repeat", dest="ledger_repeat", type=int, default=100,
                        help="requests per page case (the reports a tenth, at least 10)")
    parser.add_argument(f"{prefix}analyze", dest="ledger_analyze", action="store_true",
                        help="gather planner statistics (ANALYZE) before timing")
    parser.add_argument(f"{prefix}csv-rows", dest="ledger_csv_rows", type=int, default=10_000,
                        help="rows of the bank CSV to import (0: skip)")
    if not prefixed:
        parser.add_argument("--seed", type=int, default=1)


def run(args) -> None:
    if args.entries:
        bench(args.ledger_clients, args.entries, args.ledger_repeat, args.seed,
              args.ledger_analyze, args.ledger_csv_rows)


def bench(clients: int, entries: int, repeat: int, seed: int, analyze: bool = False,
          csv_rows: int = 10_000) -> None:
    with tempfile.TemporaryDirectory(prefix="bench-ledger-") as tmp:
        app = _fresh_app(Path(tmp))
        engine = app.extensions["db_engine"]
        sessions = app.extensions["db_sessionmaker"]
        today = date.today()
        say(f"ledger: inserting {clients} clients and {entries} ledger entries")
        started = time.perf_counter()
        with sessions() as db:
            figures = populate(db, clients, entries, seed, today)
        emit(bench="ledger_populate", backend=engine.dialect.name, clients=clients,
             seconds=round(time.perf_counter() - started, 1), **figures)
        if analyze:
            with engine.begin() as conn:
                conn.exec_driver_sql("ANALYZE")
        rng = random.Random(seed)
        with sessions() as db:
            counts = (select(LedgerEntry.account_id, func.count().label("n"))
                      .group_by(LedgerEntry.account_id).order_by(func.count().desc())
                      .limit(max(10, figures["accounts"] // 10)))
            busy = [row.account_id for row in db.execute(counts)]
        sizes = {"clients": clients, "accounts": figures["accounts"],
                 "entries": figures["entries"], "backend": engine.dialect.name,
                 "analyzed": analyze, "role": "manager"}
        browser = _login(app, "manager")
        year_ago = today - timedelta(days=365)
        slow = max(10, repeat // 10)
        htmx = {"HX-Request": "true"}
        cases = [
            ("account_page", [f"/accounts/{rng.choice(busy)}" for _ in range(repeat)], None,
             repeat),
            ("clients_by_balance", ["/clients/?sort=balance"], None, repeat),
            ("clients_by_balance_desc", ["/clients/?sort=balance&dir=desc"], htmx, repeat),
            ("aging_today", [f"/reports/aging?as_of={today}&currency=HUF"], None, slow),
            ("aging_year_ago", [f"/reports/aging?as_of={year_ago}&currency=HUF"], None, slow),
            ("kpis_year", [f"/reports/kpis?start={year_ago + timedelta(days=1)}&end={today}"
                           "&currency=HUF"], None, slow),
        ]
        for name, paths, headers, n in cases:
            if n > slow and _probe(browser, paths[0], headers) > 0.5:
                n = slow  # a page over half a second: time it as few times as a report
            say(f"ledger: {name} ×{n}")
            emit(bench=f"ledger_{name}", path=paths[0], **sizes,
                 **_page(engine, browser, paths, headers, n))
        if csv_rows:
            say(f"ledger: importing a {csv_rows}-row bank CSV")
            emit(bench="ledger_bank_csv_import", **sizes,
                 **_import(sessions, figures["accounts"], csv_rows, rng, today))
        engine.dispose()


def _probe(browser, path: str, headers) -> float:
    """Return the seconds one request takes."""
    started = time.perf_counter()
    browser.get(path, headers=headers)
    return time.perf_counter() - started


# -- the bank CSV -------------------------------------------------------------------------------

MAPPING = ColumnMapping(date="Date", amount="Amount", currency="Currency",
                        counterparty_name="Payer", counterparty_account="Payer account",
                        reference=("Reference",), transaction_id="Transaction ID",
                        decimal_mark=".")


def bank_csv(accounts: int, rows: int, rng: random.Random, today: date) -> bytes:
    """Return a bank CSV of ``rows`` credits; half name a HUF-or-EUR account by its number."""
    lines = ["Date;Amount;Currency;Payer;Payer account;Reference;Transaction ID"]
    for i in range(rows):
        booked = today - timedelta(days=rng.randrange(0, 20))
        if i % 2 == 0:
            reference = f"Törlesztés {account_number(rng.randrange(1, accounts + 1))}"
        else:
            reference = rng.choice(["Számla kiegyenlítés", "Havi díj", "Utalás", "Bérleti díj"])
        lines.append(f"{booked.isoformat()};{rng.randrange(5, 400) * 100};HUF;"
                     f"Ügyfél {i};11773016-{i:08d};{reference};BENCH-{today:%Y%m%d}-{i:07d}")
    return ("\n".join(lines) + "\n").encode()


def _import(sessions, accounts: int, rows: int, rng: random.Random, today: date) -> dict:
    """Stage and confirm a generated CSV as the manager; return the times and rows/s."""
    data = bank_csv(accounts, rows, rng, today)
    with sessions() as db:
        actor = Actor(db.scalar(select(User).where(User.username == "manager")))
        started = time.perf_counter()
        staged = statements.stage(db, actor, "bench.csv", data, mapping=MAPPING,
                                  bank_name="Bench Bank")
        db.commit()
        staged_s = time.perf_counter() - started
        matched = [line.id for line in staged.lines if line.account_id is not None
                   and line.status.value == "matched"]
        started = time.perf_counter()
        recorded = statements.confirm(db, actor, matched, as_of=today)
        db.commit()
        confirm_s = time.perf_counter() - started
    total = staged_s + confirm_s
    return {"rows": rows, "staged_lines": len(staged.lines), "matched": len(matched),
            "recorded": recorded, "stage_s": round(staged_s, 2),
            "confirm_s": round(confirm_s, 2), "stage_rows_per_s": round(rows / staged_s),
            "confirm_rows_per_s": round(recorded / confirm_s) if confirm_s else None,
            "rows_per_s": round(rows / total)}


# -- populating ---------------------------------------------------------------------------------


def _months_back(day: date, months: int) -> date:
    index = day.year * 12 + day.month - 1 - months
    return date(index // 12, index % 12 + 1, min(day.day, 28))


def populate(db, clients: int, entries: int, seed: int, today: date) -> dict:
    """Insert the clients, their accounts and ``entries`` ledger entries; return counts."""
    populate_people(db, clients)
    rng = random.Random(seed)
    accounts = []
    for client_id in range(1, clients + 1):
        for _ in range(1 if rng.random() < 0.5 else 2):
            accounts.append(client_id)
    per_account = entries / len(accounts)
    # Charges and payments are about 2 entries a month: spread the months around that.
    mean_months = per_account / 2.0
    rows, accounts_rows = [], []
    entry_id = 0
    habits = [h for h, _ in HABITS]
    weights = [w for _, w in HABITS]
    kinds: dict[str, int] = {}
    opened_accounts = 0
    for account_id, client_id in enumerate(accounts, start=1):
        if entry_id >= entries:
            break
        months = max(1, round(mean_months * rng.uniform(0.4, 1.6)))
        opened = _months_back(today, months)
        currency = "EUR" if rng.random() < 0.1 else "HUF"
        instalment = (rng.randrange(20, 400) * 50 if currency == "EUR"
                      else rng.randrange(50, 1500) * 100)
        accounts_rows.append({
            "id": account_id, "client_id": client_id, "number": account_number(account_id),
            "currency": currency, "limit_minor": instalment * 24, "opened_on": opened,
            "status": "open", "version": 1})
        opened_accounts += 1
        habit = rng.choices(habits, weights)[0]
        new = _ledger(rng, habit, account_id, currency, instalment, opened, months, today,
                      entry_id, entries - entry_id)
        for row in new:
            kinds[row["kind"]] = kinds.get(row["kind"], 0) + 1
        entry_id += len(new)
        rows.extend(new)
        if len(rows) >= BATCH:
            _flush(db, accounts_rows, rows)
            say(f"  inserted {entry_id}/{entries} entries")
    _flush(db, accounts_rows, rows)
    return {"accounts": opened_accounts,
            "entries": entry_id, **{f"kind_{k}": v for k, v in sorted(kinds.items())}}


def _flush(db, accounts_rows: list[dict], rows: list[dict]) -> None:
    if accounts_rows:
        db.execute(insert(Account), accounts_rows)
        accounts_rows.clear()
    if rows:
        db.execute(insert(LedgerEntry), rows)
        rows.clear()
    db.commit()


def _ledger(rng: random.Random, habit: str, account_id: int, currency: str, instalment: int,
            opened: date, months: int, today: date, first_id: int, room: int) -> list[dict]:
    """Return one account's entries in booking order, at most ``room`` of them."""
    out: list[dict] = []
    next_id = [first_id]

    def add(kind: str, amount: int, booked: date, **extra) -> int:
        next_id[0] += 1
        out.append({"id": next_id[0], "account_id": account_id, "kind": kind,
                    "amount_minor": amount, "currency": currency, "booked_on": booked,
                    "due_on": extra.get("due_on"), "reverses_id": extra.get("reverses_id"),
                    "method": extra.get("method"), "reference": extra.get("reference"),
                    "note": extra.get("note", "")})
        return next_id[0]

    # A written-off account stops paying, is charged three more months and then closed for
    # charges; the write-off follows months later, a recovery sometimes after that.
    stop_month = months - rng.randint(8, 20) if habit == "written_off" else months + 1
    for month in range(months):
        booked = opened + timedelta(days=round(month * 30.44))
        if booked > today or len(out) >= room - 4 or month > stop_month + 3:
            break
        due = booked + timedelta(days=15)
        add("charge", instalment, booked, due_on=due)
        if month >= stop_month:
            continue  # stopped paying
        if habit == "on_time" or (habit == "late" and rng.random() < 0.5):
            paid_on, amount = due - timedelta(days=rng.randrange(0, 6)), instalment
        elif habit == "late":
            paid_on, amount = due + timedelta(days=rng.randrange(3, 60)), instalment
        elif rng.random() < 0.25:  # behind: misses a month now and then
            continue
        else:
            paid_on = due + timedelta(days=rng.randrange(0, 45))
            amount = max(100, round(instalment * rng.uniform(0.5, 1.0)))
        if paid_on > today:
            continue
        method = "transfer" if rng.random() < 0.85 else rng.choice(["cash", "card"])
        payment = add("payment", amount, paid_on, method=method,
                      reference=f"Törlesztés {account_number(account_id)}")
        if paid_on > due + timedelta(days=30) and rng.random() < 0.6:
            fee = max(100, instalment // 20)
            add("fee", fee, paid_on, due_on=paid_on + timedelta(days=15), note="Késedelmi díj")
        if rng.random() < 0.006:  # a payment booked twice, say: reversed and booked again
            add("reversal", amount, paid_on + timedelta(days=1), reverses_id=payment,
                note="Hibás könyvelés")
            add("payment", amount, paid_on + timedelta(days=1), method=method)
        elif rng.random() < 0.004:
            add("adjustment", -max(100, instalment // 10), paid_on, note="Jóváírás")
    if habit == "written_off" and out:
        owed = sum(r["amount_minor"] if r["kind"] in ("charge", "fee") else
                   -r["amount_minor"] if r["kind"] == "payment" else 0 for r in out
                   if not any(x["reverses_id"] == r["id"] for x in out))
        last = max(r["booked_on"] for r in out)
        day = min(today, last + timedelta(days=rng.randrange(60, 150)))
        if owed > 0 and len(out) < room - 1:
            add("write_off", owed, day, note="Behajthatatlan")
            later = day + timedelta(days=rng.randrange(30, 300))
            if later <= today and rng.random() < 0.5 and len(out) < room:
                add("recovery", max(100, owed // rng.randint(3, 10)), later, method="transfer")
    return out
