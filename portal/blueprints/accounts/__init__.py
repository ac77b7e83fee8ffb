from flask import Blueprint

bp = Blueprint("accounts", __name__)

from portal.blueprints.accounts import views  # noqa: E402,F401
