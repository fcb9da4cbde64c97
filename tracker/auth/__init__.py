"""Sign-in, sign-out and first-run setup."""

from flask import Blueprint
from flask_login import LoginManager

bp = Blueprint("auth", __name__)


def init_login(manager: LoginManager) -> None:
    """Tell Flask-Login how to load the signed-in user (inactive users count as signed out)."""
    from ..extensions import db
    from ..models import User

    @manager.user_loader
    def load_user(user_id: str):
        """The active user behind the session cookie, or None."""
        if not user_id.isdigit():
            return None
        user = db.session.get(User, int(user_id))
        return user if user is not None and user.active else None

    manager.login_view = "auth.login"
    manager.login_message = "Please sign in to continue."
    manager.login_message_category = "info"


from . import views  # noqa: E402,F401  (routes register on bp)
