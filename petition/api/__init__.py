from flask import Blueprint

bp = Blueprint("api", __name__, url_prefix="/api/v1")

from petition.api import views  # noqa: E402,F401
