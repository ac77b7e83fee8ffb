from flask import Blueprint

bp = Blueprint("payments", __name__)

from portal.blueprints.payments import views  # noqa: E402,F401
