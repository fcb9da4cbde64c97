"""Reports: the dashboard at /reports, its CSV tables and the printable report."""

from flask import Blueprint

bp = Blueprint("reports", __name__, url_prefix="/reports")

from . import views  # noqa: E402,F401
