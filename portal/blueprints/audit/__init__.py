from flask import Blueprint

bp = Blueprint("audit", __name__, url_prefix="/audit")

from portal.blueprints.audit import views  # noqa: E402,F401
