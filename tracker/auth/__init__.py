"""Sign-in, sign-out and first-run setup; signed-in browsers are session rows (sessions.py, cookies.py)."""

from flask import Blueprint, Flask
from flask_login import LoginManager

bp = Blueprint("auth", __name__)


def init_login(app: Flask, manager: LoginManager) -> None:
    """Tell Flask-Login how to find the signed-in user: the live session row the cookie names."""
    from . import cookies

    cookies.init_app(app, manager)


from . import views  # noqa: E402,F401  (routes register on bp)
