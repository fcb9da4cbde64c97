"""When the database cannot be reached or drops a connection: which errors those are, and how to let go of a
session whose connection died (its rollback would raise again). No Flask here: services use it too."""

from __future__ import annotations

import logging

import sqlalchemy as sa
from sqlalchemy.orm import Session, scoped_session

logger = logging.getLogger(__name__)

try:  # the PostgreSQL driver: a COPY runs on its cursor directly, so its errors arrive unwrapped
    import psycopg2

    DRIVER_OUTAGES: tuple[type[BaseException], ...] = (psycopg2.OperationalError, psycopg2.InterfaceError)
    DRIVER_ERRORS: tuple[type[BaseException], ...] = (psycopg2.Error,)
except ImportError:  # pragma: no cover - psycopg2 is a requirement; SQLite alone works without it
    DRIVER_OUTAGES = DRIVER_ERRORS = ()

# The database is down, unreachable, restarting, out of connections, or killed this connection.
OUTAGES: tuple[type[BaseException], ...] = (
    sa.exc.OperationalError,
    sa.exc.InterfaceError,
    sa.exc.DisconnectionError,
    sa.exc.TimeoutError,  # no pooled connection came free in time
    *DRIVER_OUTAGES,
)


def is_outage(exc: BaseException | None) -> bool:
    """Whether `exc`, or an error it was raised from or while handling, is a database outage."""
    seen = 0
    while exc is not None and seen < 10:
        if isinstance(exc, OUTAGES):
            return True
        exc = exc.__cause__ or exc.__context__
        seen += 1
    return False


def discard(session: Session | scoped_session) -> None:
    """Roll the session back; when its connection is dead (the rollback itself fails), invalidate it instead, so
    the pool opens a fresh one for the next request and nothing here raises."""
    try:
        session.rollback()
    except Exception as exc:
        logger.warning("Rollback failed (the connection is gone: %s); invalidating it", type(exc).__name__)
        try:
            (session() if isinstance(session, scoped_session) else session).invalidate()
        except Exception:
            logger.warning("Invalidating the session failed as well", exc_info=True)
