from flask import Blueprint

bp = Blueprint("petitions", __name__)

from petition.petitions import views  # noqa: E402,F401
