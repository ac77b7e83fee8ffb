"""The client list under load, side by side with a bare Flask page, printed as JSON lines.

Run with ``python -m bench clientlist`` (``--clients 2000 --entries 30000 --seconds 20
--rounds 3``).
A fresh SQLite database is filled like the ledger benchmark's (clients, about 1.5 accounts each,
ledger entries); then gunicorn serves the portal with ``--workers`` sync workers and ``wrk``
(Debian package ``wrk``) loads ``/clients/`` as a logged-in coordinator with ``--connections``
connections for ``--seconds`` seconds (after a short warm-up). The same is done for
``bench.baseline_app``: bare Flask + SQLAlchemy + Jinja, a 50-row table read from SQLite. Each
prints requests per second and latency percentiles.

The portal runs twice: as deployed, where the list keeps its rendered results until a commit
changes what it reads (``results: kept``; ``portal.changes``), and with
``PORTAL_KEEP_LIST_RESULTS=0`` (``results: rendered``), which is what every request costs
right after a change: query, rows and template each time.

The three take turns, ``--rounds`` times (all servers stay up): this machine's speed drifts by
a third within a minute, and one portal run beside one baseline run gave ratios from 0.32 to
0.68 for the same code. Each round's ratios compare runs a few seconds apart; the ratio lines
give their median, lowest and highest, and the portal's worst p99.
"""

from __future__ import annotations

import http.cookiejar
import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request
from datetime import date
from pathlib import Path

from bench.documents import PASSWORD, emit, say

ROOT = Path(__file__).resolve().parent.parent
UNITS = {"us": 0.001, "ms": 1.0, "s": 1000.0}


def add_arguments(parser) -> None:
    parser.add_argument("--clients", type=int, default=2000)
    parser.add_argument("--entries", type=int, default=30_000)
    parser.add_argument("--seconds", type=int, default=20)
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--rounds", type=int, default=3,
                        help="portal and baseline runs, taking turns")
    parser.add_argument("--path", default="/clients/", help="the portal page to load")


def run(args) -> None:
    wrk = shutil.which("wrk")
    if wrk is None:
        say("clientlist: wrk is missing (Debian: apt-get install -y wrk); skipped")
        return
    from bench import ledger
    from bench.reviews import _fresh_app

    with tempfile.TemporaryDirectory(prefix="bench-clientlist-") as name:
        tmp = Path(name)
        app = _fresh_app(tmp)
        engine = app.extensions["db_engine"]
        if engine.dialect.name != "sqlite":
            say("clientlist: measures SQLite only (unset PORTAL_BENCH_DATABASE_URL); skipped")
            return
        say(f"clientlist: inserting {args.clients} clients and {args.entries} ledger entries")
        with app.extensions["db_sessionmaker"]() as db:
            figures = ledger.populate(db, args.clients, args.entries, 1, date.today())
        engine.dispose()
        common = {"connections": args.connections, "workers": args.workers,
                  "seconds": args.seconds}
        env = {**os.environ, "PORTAL_DATABASE_URL": str(engine.url),
               "PORTAL_INSTANCE_PATH": str(tmp / "instance"),
               "PORTAL_STORAGE_DIR": str(tmp / "storage"),
               "PORTAL_LOGIN_RATE_LIMIT": "1000 per minute"}
        bare_env = {**os.environ, "BENCH_BASELINE_DB": str(tmp / "baseline.sqlite3")}
        fresh_env = {**env, "PORTAL_KEEP_LIST_RESULTS": "0"}
        ratios: dict[str, list[float]] = {"kept": [], "rendered": []}
        p99s: dict[str, list[float]] = {"kept": [], "rendered": []}
        with _server("wsgi:app", env, args.workers) as kept_base, \
                _server("wsgi:app", fresh_env, args.workers) as fresh_base, \
                _server("bench.baseline_app:create()", bare_env, args.workers) as bare_base:
            cookies = {base: _login(base) for base in (kept_base, fresh_base)}
            for turn in range(1, max(1, args.rounds) + 1):
                warm = turn == 1
                portal = _load(wrk, kept_base + args.path, cookies[kept_base], args, warm)
                emit(bench="clientlist_portal", round=turn, path=args.path, results="kept",
                     clients=args.clients, accounts=figures["accounts"],
                     entries=figures["entries"], **common, **portal)
                bare = _load(wrk, bare_base + "/", None, args, warm)
                emit(bench="clientlist_baseline", round=turn, rows=50, **common, **bare)
                fresh = _load(wrk, fresh_base + args.path, cookies[fresh_base], args, warm)
                emit(bench="clientlist_portal", round=turn, path=args.path,
                     results="rendered", **common, **fresh)
                ratios["kept"].append(portal["requests_per_s"] / bare["requests_per_s"])
                ratios["rendered"].append(fresh["requests_per_s"] / bare["requests_per_s"])
                p99s["kept"].append(portal["p99_ms"])
                p99s["rendered"].append(fresh["p99_ms"])
        for results, values in ratios.items():
            emit(bench="clientlist_ratio", results=results, **common, rounds=len(values),
                 ratio=round(statistics.median(values), 2), lowest=round(min(values), 2),
                 highest=round(max(values), 2), portal_worst_p99_ms=max(p99s[results]))


class _server:
    """Run gunicorn on a free loopback port for the ``with`` block; yield its base URL."""

    def __init__(self, target: str, env: dict, workers: int) -> None:
        self.target, self.env, self.workers = target, env, workers

    def __enter__(self) -> str:
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
        gunicorn = str(Path(sys.executable).with_name("gunicorn"))
        self.process = subprocess.Popen(
            [gunicorn, "--workers", str(self.workers), "--bind", f"127.0.0.1:{port}",
             "--log-level", "warning", self.target],
            cwd=ROOT, env=self.env)
        base = f"http://127.0.0.1:{port}"
        for _ in range(300):
            try:
                urllib.request.urlopen(base + "/login" if "wsgi" in self.target else base,
                                       timeout=2).read()
                return base
            except OSError:
                if self.process.poll() is not None:
                    raise RuntimeError("gunicorn exited") from None
                time.sleep(0.1)
        raise RuntimeError("gunicorn did not answer")

    def __exit__(self, *exc) -> None:
        self.process.terminate()
        self.process.wait(timeout=30)


#: The browser the bench logs in with and loads pages as: one, as a person's browser is (a
#: different one marks the login session "not fresh" and rewrites its cookie on every page).
USER_AGENT = "portal-bench"


def _login(base: str) -> str:
    """Log in as the coordinator; return the Cookie header the session travels in."""
    jar = http.cookiejar.CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
    opener.addheaders = [("User-Agent", USER_AGENT)]
    html = opener.open(base + "/login").read().decode()
    token = html.split('name="csrf_token" value="')[1].split('"')[0]
    form = urllib.parse.urlencode({"username": "coordinator", "password": PASSWORD,
                                   "csrf_token": token}).encode()
    opener.open(base + "/login", form).read()
    page = opener.open(base + "/clients/").read().decode()
    if 'id="client-table"' not in page:
        raise RuntimeError("bench login failed: no client table")
    return "; ".join(f"{c.name}={c.value}" for c in jar)


def _load(wrk: str, url: str, cookie: str | None, args, warm: bool = True) -> dict:
    """Load ``url`` with wrk (after a warm-up if ``warm``); return requests/s and latency
    percentiles."""
    headers = ["-H", f"User-Agent: {USER_AGENT}"] + (["-H", f"Cookie: {cookie}"] if cookie else [])
    base = [wrk, "-t", "2", "-c", str(args.connections), "--latency", *headers]
    if warm:
        subprocess.run([*base, "-d", "3s", url], check=True, capture_output=True)
    say(f"clientlist: {url} for {args.seconds} s")
    out = subprocess.run([*base, "-d", f"{args.seconds}s", url], check=True,
                         capture_output=True, text=True).stdout
    bad = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    if bad:
        raise RuntimeError(f"{url}: {bad.group(1)} responses were not 2xx/3xx")
    figures = {"requests_per_s": round(float(re.search(r"Requests/sec:\s+([\d.]+)",
                                                       out).group(1)), 1)}
    for pct in ("50", "90", "99"):
        value, unit = re.search(rf"^\s+{pct}%\s+([\d.]+)(us|ms|s)\s*$", out, re.M).groups()
        figures[f"p{pct}_ms"] = round(float(value) * UNITS[unit], 1)
    return figures
