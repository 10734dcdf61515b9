"""Signed delivery batches: the public signing key, batch building and checking."""

from flask import Blueprint

bp = Blueprint("export", __name__)
