"""Sign-in, sign-out and first-run setup."""

import hmac

from flask import Blueprint
from flask_login import LoginManager

bp = Blueprint("auth", __name__)


def init_login(manager: LoginManager) -> None:
    """Tell Flask-Login how to load the signed-in user (inactive users count as signed out)."""
    from ..extensions import db
    from ..models import User
    from ..numbers import whole_number

    @manager.user_loader
    def load_user(session_id: str):
        """The active user behind the session cookie, or None (also when the password changed since)."""
        user_id, _, mark = session_id.partition("-")
        number = whole_number(user_id)
        if not number or not mark:
            return None
        user = db.session.get(User, number)
        if user is None or not user.active or not hmac.compare_digest(user.session_mark, mark):
            return None
        return user

    manager.login_view = "auth.login"
    manager.login_message = "Please sign in to continue."
    manager.login_message_category = "info"


from . import views  # noqa: E402,F401  (routes register on bp)
