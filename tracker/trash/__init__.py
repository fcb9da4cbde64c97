"""The trash: deleting issues (one, in bulk, from the API), and restoring or purging them at /admin/trash."""

from flask import Blueprint

bp = Blueprint("trash", __name__)

from . import views  # noqa: E402,F401
