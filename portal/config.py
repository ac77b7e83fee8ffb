"""Configuration: defaults, then ``PORTAL_*`` environment variables, then the test config.

Every setting below can be overridden with an environment variable of the same name prefixed
with ``PORTAL_`` (``PORTAL_DATABASE_URL``, ``PORTAL_SECRET_KEY``, ...). Values are parsed as
the type of the default: integers, booleans (``1/true/yes/on``) and comma-separated lists.
"""

from __future__ import annotations

import logging
import os
import secrets
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

ENV_PREFIX = "PORTAL_"

DEFAULTS: dict[str, Any] = {
    #: "development" or "production"; production refuses demo data.
    "ENV": "development",
    #: SQLAlchemy URL; empty means a SQLite file in the instance folder.
    "DATABASE_URL": "",
    #: The instance folder (secret key, SQLite file); empty means ``instance/`` in the checkout.
    "INSTANCE_PATH": "",
    #: Where uploaded documents live; empty means ``storage/`` beside the instance folder.
    "STORAGE_DIR": "",
    "SECRET_KEY": "",
    #: Languages the interface offers; the first is the fallback.
    "LANGUAGES": ["hu", "en"],
    "DEFAULT_TIMEZONE": "Europe/Budapest",
    #: Business days between a client's creation and their onboarding due date.
    "ONBOARDING_BUSINESS_DAYS": 10,
    #: Failed logins, and wrong current passwords, allowed per address ("10 per minute",
    #: "20 per hour", "10/minute"); counted in the database, so all workers and hosts share it.
    "LOGIN_RATE_LIMIT": "10 per minute",
    #: Force the Secure flag on cookies even when a request arrived over plain HTTP.
    "SECURE_COOKIES": False,
    #: Number of proxies in front of the portal whose X-Forwarded-* headers are trusted.
    "PROXY_COUNT": 0,
    #: Host names the portal answers to; empty accepts any (development).
    "TRUSTED_HOSTS": [],
    #: Largest file accepted; a request larger than this (plus 1 MB of form fields) gets 413.
    "MAX_UPLOAD_MB": 50,
    #: The search index (Whoosh); empty means ``search-index/`` in the instance folder.
    #: Keep it on a local disk: Whoosh does not work on a network share.
    "SEARCH_INDEX_DIR": "",
    #: How long one search may run before the hits found so far are shown.
    "SEARCH_TIME_LIMIT_MS": 2000,
    #: Free space (MB) the storage must have; with less, /healthz says "full" and answers 503.
    "MIN_FREE_MB": 200,
    #: The backup folder (``portal backup``, ``portal restore``, ``/admin/backups``); empty
    #: means none is set, and the administrator page says so. Keep it on another disk than
    #: the instance and the storage, private to the portal's user, and encrypted at rest.
    "BACKUP_DIR": "",
    "PAGE_SIZE": 25,
    #: The client list keeps the results it rendered (per worker, in memory) until a commit
    #: changes what it reads (``portal.changes``); false renders them on every request.
    "KEEP_LIST_RESULTS": True,
    "SESSION_HOURS": 10,
}


def _coerce(raw: str, default: Any) -> Any:
    if isinstance(default, bool):
        return raw.strip().lower() in {"1", "true", "yes", "on"}
    if isinstance(default, int):
        return int(raw)
    if isinstance(default, list):
        return [part.strip() for part in raw.split(",") if part.strip()]
    return raw


def from_environment(environ: os._Environ[str] | dict[str, str] | None = None) -> dict[str, Any]:
    """Return the defaults overridden by ``PORTAL_*`` variables."""
    environ = os.environ if environ is None else environ
    settings = dict(DEFAULTS)
    for key, default in DEFAULTS.items():
        raw = environ.get(ENV_PREFIX + key)
        if raw is not None:
            settings[key] = _coerce(raw, default)
    return settings


def load_or_create_secret_key(instance_path: Path) -> str:
    """Read the instance secret key, creating it once with private permissions.

    Several gunicorn workers may start at once: the key is written to a temporary file and
    linked into place, so every process reads the same complete key.
    """
    key_file = instance_path / "secret_key"
    if not key_file.exists():
        instance_path.mkdir(parents=True, exist_ok=True)
        tmp = instance_path / f".secret_key.{os.getpid()}.{secrets.token_hex(4)}"
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write(secrets.token_hex(32))
        try:
            os.link(tmp, key_file)
            log.info("generated a new secret key in %s", key_file)
        except FileExistsError:
            pass
        finally:
            tmp.unlink()
    return key_file.read_text().strip()
