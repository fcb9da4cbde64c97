"""The session cookie's side of signing in: a new session row's key into the cookie, the row found again on every
request (Flask-Login's user loader), the cookie's expiry matching the session's, and signing out."""

from __future__ import annotations

import logging
from datetime import datetime, timezone

from flask import Flask, current_app, g, request, session
from flask.sessions import SecureCookieSessionInterface
from flask_login import LoginManager, login_user, logout_user

from ..extensions import db
from ..models import User, UserSession
from . import sessions

logger = logging.getLogger(__name__)
KEY = "_user_id"  # where Flask-Login keeps the signed-in identity: here the session's random key
ENDS = "_ends"  # when the session reaches its lifetime (seconds since the epoch), for the cookie's expiry


def lifetimes() -> sessions.Lifetimes:
    """The configured idle and absolute lifetimes."""
    return sessions.Lifetimes.from_config(current_app.config)


def sign_in(user: User) -> UserSession:
    """Start a session for `user` in this browser: a new row, its key in the cookie, a new CSRF token."""
    row, key = sessions.start_session(
        db.session, user, request.remote_addr or "unknown", request.headers.get("User-Agent")
    )
    # The token of the signed-out form that led here is not the signed-in session's: Flask-WTF makes a new one.
    field = current_app.config.get("WTF_CSRF_FIELD_NAME", "csrf_token")
    session.pop(field, None)
    g.pop(field, None)
    login_user(user)
    session[KEY] = key
    session.permanent = True  # the cookie expires with the session (see CookieSessions), not with the browser
    ends = row.created_at + lifetimes().absolute
    session[ENDS] = int(ends.replace(tzinfo=timezone.utc).timestamp())
    g.user_session = row
    return row


def sign_out() -> None:
    """End this browser's session on the server and forget everything the cookie held."""
    sessions.end_session_by_key(db.session, session.get(KEY))
    logout_user()
    session.clear()
    g.pop("user_session", None)


def current_session() -> UserSession | None:
    """The session row of this request's signed-in browser (None for the API and signed-out visitors)."""
    return g.get("user_session")


def load_user(key: str) -> User | None:
    """Flask-Login's user loader: the active user of the live session the cookie names, or None (then the cookie
    forgets the key). Recording the request (at most once a minute) uses a connection of its own."""
    found = sessions.find_session(db.session, key, lifetimes())
    if found is None:
        session.pop(KEY, None)
        return None
    row, user = found
    g.user_session = row
    if sessions.touch_due(row):
        try:
            with db.engine.begin() as connection:
                sessions.touch(connection, row.id)
        except Exception:  # only "last active" would be stale; the request goes on
            logger.warning("Could not record the use of session %s", row.id, exc_info=True)
    return user


class CookieSessions(SecureCookieSessionInterface):
    """Flask's signed cookie, expiring when the session would: after the idle time, and at the lifetime's end
    at the latest. Static files leave the cookie as it is."""

    def get_expiration_time(self, app: Flask, session_) -> datetime | None:
        """Now plus the idle time (PERMANENT_SESSION_LIFETIME), but never past the session's end."""
        expires = super().get_expiration_time(app, session_)
        ends = session_.get(ENDS)
        if expires is not None and isinstance(ends, int):
            expires = min(expires, datetime.fromtimestamp(ends, tz=timezone.utc))
        return expires

    def should_set_cookie(self, app: Flask, session_) -> bool:
        """Refresh the cookie on each page, not on each static file."""
        if request.endpoint == "static":
            return session_.modified
        return super().should_set_cookie(app, session_)


def init_app(app: Flask, manager: LoginManager) -> None:
    """Install the cookie interface and the user loader."""
    app.session_interface = CookieSessions()
    manager.user_loader(load_user)
    manager.login_view = "auth.login"
    manager.login_message = "Please sign in to continue."
    manager.login_message_category = "info"

