from flask import Blueprint

bp = Blueprint("clients", __name__, url_prefix="/clients")

from portal.blueprints.clients import views  # noqa: E402,F401
