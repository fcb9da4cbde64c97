"""Signed-in browsers: one user_sessions row per sign-in, checked on every request, ended on the server.

The session cookie carries a random key; the row keeps its SHA-256. A request finds its row and its user in one
indexed query; a row that is ended, idle too long or too old signs nobody in. Signing out ends the row, and so do a
password change (the person's other browsers) and a deactivation (all of them). API tokens are separate.
"""

from __future__ import annotations

import functools
import hashlib
import re
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from ..errors import NotFound
from ..models import USER_AGENT_MAX, User, UserSession, utcnow

TOUCH_EVERY = timedelta(minutes=1)  # last_seen_at is written at most this often per session
KEEP_ENDED = timedelta(days=30)  # ended and expired rows are purged after this


@dataclass(frozen=True)
class Lifetimes:
    """How long a session lives: `idle` after its last request, `absolute` after signing in."""

    idle: timedelta
    absolute: timedelta

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> Lifetimes:
        """SESSION_IDLE_MINUTES and SESSION_LIFETIME_HOURS."""
        return cls(timedelta(minutes=config["SESSION_IDLE_MINUTES"]), timedelta(hours=config["SESSION_LIFETIME_HOURS"]))

    def ends_at(self, row: UserSession) -> datetime:
        """When the session ends unless it is used again before (idle), and at the latest (absolute)."""
        return min(row.last_seen_at + self.idle, row.created_at + self.absolute)


def hash_key(key: str) -> str:
    """SHA-256 of a session key (256 random bits: a fast hash is enough)."""
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


_BROWSERS = (("Edg/", "Edge"), ("OPR/", "Opera"), ("Firefox/", "Firefox"), ("Chrome/", "Chrome"),
             ("Chromium/", "Chromium"), ("Safari/", "Safari"), ("curl/", "curl"))
_SYSTEMS = (("Android", "Android"), ("iPhone", "iOS"), ("iPad", "iPadOS"), ("Windows", "Windows"),
            ("Mac OS X", "macOS"), ("CrOS", "ChromeOS"), ("Linux", "Linux"))


def describe_agent(user_agent: str | None) -> str:
    """A person's words for a User-Agent header: "Firefox on Linux", "Chrome on Android", or the start of it."""
    agent = user_agent or ""
    browser = next((name for mark, name in _BROWSERS if mark in agent), "")
    system = next((name for mark, name in _SYSTEMS if mark in agent), "")
    if browser and system:
        return f"{browser} on {system}"
    plain = re.sub(r"[^\x20-\x7e]", "", agent).strip()
    return (browser or system or plain or "Unknown browser")[:USER_AGENT_MAX]


def start_session(
    session: Session, user: User, address: str, user_agent: str | None, now: datetime | None = None
) -> tuple[UserSession, str]:
    """Record a new signed-in browser for `user`; returns the row and the key for the cookie (never stored)."""
    now = now or utcnow()
    key = secrets.token_urlsafe(32)
    row = UserSession(
        user_id=user.id,
        key_hash=hash_key(key),
        created_at=now,
        last_seen_at=now,
        address=(address or "unknown")[:64],
        user_agent=describe_agent(user_agent),
    )
    session.add(row)
    session.commit()
    return row, key


@functools.cache
def _session_with_user() -> sa.Select:
    """find_session's statement, built once (every page a signed-in browser asks for runs it)."""
    return (
        sa.select(UserSession, User)
        .join(User, User.id == UserSession.user_id)
        .where(UserSession.key_hash == sa.bindparam("key_hash"))
    )


def find_session(
    session: Session, key: str, lifetimes: Lifetimes, now: datetime | None = None
) -> tuple[UserSession, User] | None:
    """The live session with this key and its active user (one query), or None: unknown, ended, idle for too
    long, past its lifetime, or its user deactivated."""
    if not key or not isinstance(key, str):
        return None
    found = session.execute(_session_with_user(), {"key_hash": hash_key(key)}).first()
    if found is None:
        return None
    row, user = found
    if row.ended_at is not None or not user.active or (now or utcnow()) >= lifetimes.ends_at(row):
        return None
    return row, user


def touch_due(row: UserSession, now: datetime | None = None) -> bool:
    """Whether the session's last request time is old enough to be written again."""
    return (now or utcnow()) - row.last_seen_at >= TOUCH_EVERY


def touch(connection: sa.Connection, session_id: int, now: datetime | None = None) -> None:
    """Record a request of this session (on a connection of its own, so the request's transaction is untouched)."""
    connection.execute(
        sa.update(UserSession)
        .where(UserSession.id == session_id, UserSession.ended_at.is_(None))
        .values(last_seen_at=now or utcnow())
    )


def end_sessions(
    session: Session, user_id: int, reason: str, keep_id: int | None = None, now: datetime | None = None
) -> int:
    """End the user's live sessions but `keep_id`, inside the caller's transaction; returns how many ended."""
    condition = [UserSession.user_id == user_id, UserSession.ended_at.is_(None)]
    if keep_id is not None:
        condition.append(UserSession.id != keep_id)
    return session.execute(
        sa.update(UserSession)
        .where(*condition)
        .values(ended_at=now or utcnow(), ended_reason=reason)
        .execution_options(synchronize_session=False)
    ).rowcount


def end_session_by_key(session: Session, key: str, reason: str = "signed_out") -> None:
    """Sign-out: end the session this key names (nothing if it names none)."""
    if key and isinstance(key, str):
        session.execute(
            sa.update(UserSession)
            .where(UserSession.key_hash == hash_key(key), UserSession.ended_at.is_(None))
            .values(ended_at=utcnow(), ended_reason=reason)
            .execution_options(synchronize_session=False)
        )
        session.commit()


def end_own_session(session: Session, user: User, session_id: int) -> UserSession:
    """The person signs out one of their browsers from another (a session of someone else is not found)."""
    row = session.execute(
        sa.select(UserSession).where(UserSession.id == session_id, UserSession.user_id == user.id)
    ).scalar_one_or_none()
    if row is None:
        raise NotFound(f"Session {session_id} does not exist.")
    if row.ended_at is None:
        row.ended_at, row.ended_reason = utcnow(), "ended_elsewhere"
    session.commit()
    return row


def end_other_sessions(session: Session, user: User, current_id: int) -> int:
    """The person signs out every browser of theirs but this one; returns how many."""
    ended = end_sessions(session, user.id, "ended_elsewhere", keep_id=current_id)
    session.commit()
    return ended


def live_sessions(session: Session, user: User, lifetimes: Lifetimes, now: datetime | None = None) -> list[UserSession]:
    """The person's signed-in browsers, most recently used first."""
    now = now or utcnow()
    rows = session.execute(
        sa.select(UserSession)
        .where(
            UserSession.user_id == user.id,
            UserSession.ended_at.is_(None),
            UserSession.created_at > now - lifetimes.absolute,
            UserSession.last_seen_at > now - lifetimes.idle,
        )
        .order_by(UserSession.last_seen_at.desc(), UserSession.id.desc())
    ).scalars()
    return list(rows)


def purge_sessions(session: Session, lifetimes: Lifetimes, now: datetime | None = None) -> int:
    """Delete sessions that ended, went idle or grew too old more than KEEP_ENDED ago; returns how many."""
    cutoff = (now or utcnow()) - KEEP_ENDED
    deleted = session.execute(
        sa.delete(UserSession).where(
            sa.or_(
                UserSession.ended_at < cutoff,
                UserSession.last_seen_at < cutoff - lifetimes.idle,
                UserSession.created_at < cutoff - lifetimes.absolute,
            )
        )
    ).rowcount
    session.commit()
    return deleted
