"""Flask extensions, created here and bound to the app in create_app."""

from collections.abc import Callable
from typing import TypeVar

import sqlalchemy as sa
from flask import g, has_request_context
from flask_login import LoginManager
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from flask_wtf.csrf import CSRFProtect
from sqlalchemy.orm import DeclarativeBase, Session, scoped_session

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


T = TypeVar("T")


class Base(DeclarativeBase):
    """Declarative base with a constraint naming convention, so migrations are stable."""

    metadata = sa.MetaData(naming_convention=NAMING_CONVENTION)


db = SQLAlchemy(model_class=Base)
migrate = Migrate()
csrf = CSRFProtect()
login_manager = LoginManager()


def commit_and_read(
    session: Session | scoped_session, read: Callable[[], T], known: Callable[[], T | None] | None = None
) -> T:
    """Commit the change and return what `read` reads of it (the issue or comment as saved).

    `known`, when given, answers without reading: the change already holds what was saved (an edit's issue, read
    at the start and guarded by its version, with the new values set), or None to have `read` read it. It is used
    in a request only: outside one the commit expires it, and `read` reads it again.

    In a request, `read` runs inside the change's transaction and the commit leaves what it loaded as this
    transaction saw it instead of expired, until the request ends (expire_kept_at_request_end): expired, the answer
    would be read again in a second transaction (a pool checkout with its ping, BEGIN, the SELECT and the ROLLBACK
    on checkin: four round trips to PostgreSQL) only to find the same values. Outside a request (scripts, tests
    calling the services, whose sessions outlive the change) it is a plain commit, then the read."""
    if not has_request_context():
        session.commit()
        return read()
    answer = known() if known is not None else None
    if answer is None:
        answer = read()
    actual = session() if isinstance(session, scoped_session) else session
    kept = actual.expire_on_commit
    actual.expire_on_commit = False
    try:
        actual.commit()
    finally:
        actual.expire_on_commit = kept
    g.session_kept_loaded = True
    return answer


def expire_kept_at_request_end(_error: BaseException | None = None) -> None:
    """Teardown: expire the session once a request committed with commit_and_read (its answer is sent by now).
    A session that outlives the request (a test's, sharing the app context) then reads current rows again."""
    if g.pop("session_kept_loaded", False):
        db.session.expire_all()
