"""Notifications: watching issues, @mentions, the inbox and the email sent about them."""

from flask import Blueprint

bp = Blueprint("notifications", __name__)

from . import views  # noqa: E402,F401
