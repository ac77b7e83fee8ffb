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
from portal.security import requires

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
    """Report whether the database answers and the storage folder is writable."""
    checks = {"database": "ok", "storage": "ok"}
    try:
        get_db().execute(text("SELECT 1"))
    except Exception:  # noqa: BLE001 - any failure means "not healthy"
        log.exception("health check: database")
        checks["database"] = "error"
    storage = Path(current_app.config["STORAGE_DIR"])
    if not (storage.is_dir() and os.access(storage, os.W_OK | os.X_OK)):
        checks["storage"] = "error"
    healthy = all(v == "ok" for v in checks.values())
    return jsonify(status="ok" if healthy else "error", **checks), 200 if healthy else 503
