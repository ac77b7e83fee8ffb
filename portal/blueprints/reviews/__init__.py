from flask import Blueprint

bp = Blueprint("reviews", __name__)

from portal.blueprints.reviews import actions, views  # noqa: E402,F401
