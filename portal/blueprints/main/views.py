"""Home page and health check."""

from __future__ import annotations

import logging
import os
from pathlib import Path

from flask import current_app, jsonify, redirect, url_for
from flask_login import current_user
from sqlalchemy import text

from portal.blueprints.main import bp
from portal.db import get_db
from portal.domain.permissions import Perm
from portal.jobs import repair_index
from portal.search.backend import IndexState
from portal.security import requires
from portal.services import search as search_service

log = logging.getLogger(__name__)


@bp.get("/")
@requires(Perm.AUTHENTICATED)
def index():
    """Send each user to where their day starts."""
    if current_user.can(Perm.CLIENTS_VIEW):
        return redirect(url_for("clients.index"))
    return redirect(url_for("admin.users"))


@bp.get("/healthz")
@requires(Perm.PUBLIC)
def healthz():
    """Report whether the database answers, the storage folder is writable and has room,
    and whether the search index is usable (503 only for the database and the storage).

    A search index that cannot be used is rebuilt in the background (started here too, so
    that it is repaired before anyone searches); meanwhile searches answer from titles, tags
    and file names, so this host still serves: "search" says "rebuilding", or "error" when
    the rebuild failed, and "status" says "degraded".
    """
    checks = {"database": "ok", "storage": _storage_state()}
    try:
        get_db().execute(text("SELECT 1"))
    except Exception:  # noqa: BLE001 - any failure means "not healthy"
        log.exception("health check: database")
        checks["database"] = "error"
    checks["search"] = _search_state(database_ok=checks["database"] == "ok")
    healthy = checks["database"] == "ok" and checks["storage"] == "ok"
    status = ("ok" if checks["search"] == "ok" else "degraded") if healthy else "error"
    return jsonify(status=status, **checks), 200 if healthy else 503


def _storage_state() -> str:
    """Return "ok", "error" (missing or not writable) or "full" (less than MIN_FREE_MB left)."""
    storage = Path(current_app.config["STORAGE_DIR"])
    if not (storage.is_dir() and os.access(storage, os.W_OK | os.X_OK)):
        return "error"
    try:
        free = current_app.extensions["storage"].free_bytes()
    except OSError:
        log.exception("health check: free space")
        return "error"
    if free < current_app.config["MIN_FREE_MB"] * 1024 * 1024:
        log.error("health check: %.0f MB free in the storage, less than PORTAL_MIN_FREE_MB",
                  free / 1024 / 1024)
        return "full"
    return "ok"


def _search_state(*, database_ok: bool) -> str:
    """Return "ok", "rebuilding" or "error"; start a rebuild if the index cannot be used."""
    provider = current_app.extensions["search"]
    if not database_ok:
        return provider.status()
    try:
        state = search_service.index_state(get_db(), provider.get())
    except Exception:  # noqa: BLE001 - reported, not raised
        log.exception("health check: search index")
        return "error"
    if state is IndexState.READY:
        return "ok"
    return repair_index(current_app.extensions["db_sessionmaker"], provider)
