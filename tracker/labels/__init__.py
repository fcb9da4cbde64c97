"""Labels: the /labels page and the colour stylesheet."""

from flask import Blueprint

bp = Blueprint("labels", __name__, url_prefix="/labels")

from . import views  # noqa: E402,F401
