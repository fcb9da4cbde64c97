"""Saved views: named queries of the issue list, private or shared, in each person's order."""

from flask import Blueprint

bp = Blueprint("saved", __name__, url_prefix="/views")

from . import views  # noqa: E402,F401  (routes register on bp)
