"""The login throttle with two real gunicorn worker processes: failed logins are counted where
both see them, so the limit holds whichever worker answers (a counter per process would let
each worker's share through).

Each worker is a gunicorn server of its own on its own port, both on one database, as two
workers of one server or two hosts behind a load balancer would be; the test sends its
attempts to them in turn, so which process answers is decided by the test, not by chance.
"""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from http.cookiejar import CookieJar
from pathlib import Path
from urllib.parse import urlencode

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from portal import migrate
from portal.db import make_engine
from portal.domain.permissions import Role
from portal.models import AuditEvent

ROOT = Path(__file__).resolve().parents[2]
LIMIT = 5
_TOKEN = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')


def worker_app():
    """The portal as ``wsgi:app`` serves it, saying which worker process answered.

    Gunicorn calls this in each worker (``tests.views.test_throttle_workers:worker_app()``).
    """
    from portal import create_app

    app = create_app()

    def answer_with_pid(environ, start_response):
        def start(status, headers, exc_info=None):
            return start_response(status, [*headers, ("X-Worker-Pid", str(os.getpid()))],
                                  exc_info)

        return app(environ, start)

    return answer_with_pid


def _open(opener, url, data=None):
    """Return status, headers and body; a new connection each time (urllib closes it)."""
    try:
        with opener.open(url, data=data, timeout=60) as response:
            return response.status, response.headers, response.read().decode()
    except urllib.error.HTTPError as error:
        with error:
            return error.code, error.headers, error.read().decode()


def _wait_until_healthy(proc, base, log_file):
    for _ in range(600):  # bounded: about a minute at most
        if proc.poll() is not None:
            raise AssertionError("gunicorn exited:\n" + log_file.read_text()[-3000:])
        try:
            status, _headers, _body = _open(urllib.request.build_opener(), f"{base}/healthz")
            if status == 200:
                return
        except OSError:
            pass  # not listening yet
        time.sleep(0.1)
    raise AssertionError("gunicorn did not answer /healthz:\n" + log_file.read_text()[-3000:])


def _wrong_password(opener, base, attempt):
    status, _headers, page = _open(opener, f"{base}/login")
    assert status == 200
    token = _TOKEN.search(page).group(1)  # a fresh token from this session's page
    form = urlencode({"username": "clerk", "password": "wrong-password", "csrf_token": token})
    status, headers, _body = _open(opener, f"{base}/login?attempt={attempt}", form.encode())
    return status, headers


def _start_worker(tmp_path, name, env):
    """Start a one-worker gunicorn on a free loopback port; return (process, base URL, log)."""
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.bind(("127.0.0.1", 0))  # a free loopback port, held until gunicorn has it
    base = f"http://127.0.0.1:{listener.getsockname()[1]}"
    log_file = tmp_path / f"gunicorn-{name}.log"
    command = [
        str(Path(sys.prefix) / "bin" / "gunicorn"), "--workers", "1",
        "--bind", f"fd://{listener.fileno()}", "--chdir", str(ROOT),
        "--timeout", "120", "--graceful-timeout", "5",
        "tests.views.test_throttle_workers:worker_app()",
    ]
    with log_file.open("w") as log:
        proc = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT,
                                pass_fds=[listener.fileno()])
    listener.close()
    return proc, base, log_file


def _stop(proc) -> None:
    proc.terminate()
    try:
        proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def test_failed_logins_are_counted_across_gunicorn_workers(tmp_path):
    from tests.conftest import make_user

    url = f"sqlite:///{tmp_path / 'portal.sqlite3'}"
    engine = make_engine(url)
    migrate.upgrade(engine)
    with Session(engine) as db:
        make_user(db, "clerk", Role.CLERK)
    env = {key: value for key, value in os.environ.items() if not key.startswith("PORTAL_")}
    env.update(
        PORTAL_DATABASE_URL=url,
        PORTAL_INSTANCE_PATH=str(tmp_path / "instance"),
        PORTAL_STORAGE_DIR=str(tmp_path / "storage"),
        PORTAL_SEARCH_INDEX_DIR=str(tmp_path / "search-index"),
        PORTAL_SECRET_KEY="the-same-key-in-both-workers-" + "x" * 32,
        # An hour, so that however slowly this machine runs, no failure leaves the window.
        PORTAL_LOGIN_RATE_LIMIT=f"{LIMIT} per hour",
    )
    workers = [_start_worker(tmp_path, name, env) for name in ("a", "b")]
    try:
        for proc, base, log_file in workers:
            _wait_until_healthy(proc, base, log_file)
        pids = set()
        # One browser session: the session cookie is valid on both (same secret key).
        opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(CookieJar()))
        attempts = 2 * LIMIT
        for attempt in range(1, attempts + 1):
            _proc, base, _log = workers[attempt % 2]
            status, headers = _wrong_password(opener, base, attempt)
            pids.add(headers["X-Worker-Pid"])
            if attempt <= LIMIT:
                assert status == 422, f"attempt {attempt} got {status}"
            else:
                assert status == 429, f"attempt {attempt} got {status} from worker " \
                                      f"{headers['X-Worker-Pid']}"
                assert 0 < int(headers["Retry-After"]) <= 3600
        assert len(pids) == 2  # two processes answered, each refusing after the limit
    finally:
        for proc, _base, _log in workers:
            _stop(proc)
    with Session(engine) as db:  # every attempt, refused ones too, was recorded
        failed = select(func.count()).where(AuditEvent.action == "auth.login_failed")
        assert db.scalar(failed) == attempts
    engine.dispose()
