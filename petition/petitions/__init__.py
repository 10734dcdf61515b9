from flask import Blueprint

bp = Blueprint("petitions", __name__)
