"""The organizers' workspace at /admin: accounts, petitions, dashboards, moderation."""

from flask import Blueprint

bp = Blueprint("admin", __name__, url_prefix="/admin")
