"""Bulk changes from the issue list: the set-based service and the bulk bar's view."""

from flask import Blueprint

bp = Blueprint("bulk", __name__)

from . import views  # noqa: E402,F401
