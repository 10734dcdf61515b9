from flask import Blueprint

bp = Blueprint("signing", __name__)

from petition.signing import views  # noqa: E402,F401
