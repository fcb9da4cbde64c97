"""Users and sign-in: creation rules, password checks, throttling of failed attempts (administration of
existing users is in admin/service.py)."""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any, NamedTuple

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from werkzeug.security import check_password_hash, generate_password_hash

from ..errors import InvalidInput, NotFound, Throttled
from ..models import ROLES, SignInAddress, SignInFailure, User, utcnow
from .sessions import end_sessions

PASSWORD_MIN = 8
PASSWORD_MAX = 200
NAME_MAX = 100
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
# Checked against when the email is unknown, so a wrong email costs the same time as a wrong password.
_DUMMY_HASH = generate_password_hash("not-a-real-password")


def normalise_email(email: str) -> str:
    """Emails are compared without case and surrounding spaces."""
    return (email or "").strip().lower()


def has_users(session: Session) -> bool:
    """Whether the first admin has been created yet."""
    return session.execute(sa.select(User.id).limit(1)).first() is not None


def password_problem(password: str | None) -> str | None:
    """Why a new password is not acceptable, or None."""
    if len(password or "") < PASSWORD_MIN:
        return f"Password must be at least {PASSWORD_MIN} characters."
    if len(password or "") > PASSWORD_MAX:
        return f"Password must be at most {PASSWORD_MAX} characters."
    return None


def clean_profile(
    session: Session, name: str, email: str, errors: dict[str, str], user_id: int | None = None
) -> tuple[str, str]:
    """The name with its spaces tidied and the email normalised; problems go into `errors`."""
    name = " ".join((name or "").split())
    email = normalise_email(email)
    if not name:
        errors["name"] = "Name is required."
    elif len(name) > NAME_MAX:
        errors["name"] = f"Name must be at most {NAME_MAX} characters."
    if not _EMAIL.match(email) or len(email) > 254:
        errors["email"] = "Enter an email address like name@example.com."
    elif session.execute(sa.select(User.id).where(User.email == email, User.id != (user_id or 0))).first():
        errors["email"] = f"A user with email {email} already exists."
    return name, email


def create_user(session: Session, name: str, email: str, password: str, role: str = "member") -> User:
    """Create a user after checking every field; raise InvalidInput with a message per field."""
    errors: dict[str, str] = {}
    name, email = clean_profile(session, name, email, errors)
    if problem := password_problem(password):
        errors["password"] = problem
    if role not in ROLES:
        errors["role"] = f"Role '{role}' is not one of {', '.join(ROLES)}."
    if errors:
        raise InvalidInput(errors)
    user = User(name=name, email=email, password_hash=generate_password_hash(password), role=role, active=True)
    session.add(user)
    commit_profile(session, email)
    return user


def commit_profile(session: Session, email: str) -> None:
    """Commit a new or changed user; someone taking the same email at the same moment is a clear 422."""
    try:
        session.commit()
    except IntegrityError:
        session.rollback()
        raise InvalidInput({"email": f"A user with email {email} already exists."}) from None


def create_first_admin(session: Session, name: str, email: str, password: str) -> User:
    """Create the first admin; only while no user exists (two setups at once: the second is refused)."""
    lock_admins(session)
    if has_users(session):
        session.rollback()
        raise InvalidInput({"email": "Tracker is already set up; sign in instead."})
    return create_user(session, name, email, password, role="admin")


class SignInLimits(NamedTuple):
    """How failed sign-ins are throttled (SIGNIN_* settings; README, "Sign-in throttling")."""

    window_seconds: int
    max_per_account: int  # failures for one account from one address: then that address is locked out of it
    max_per_address: int  # failures from one address, for any accounts: then the address is locked out
    slowdown_after: int  # failures for one account from all addresses: then untrusted addresses wait, doubling
    trusted_days: int  # an address the person signed in from within these days is never slowed down

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> SignInLimits:
        """The limits configured for the app."""
        return cls(
            config["SIGNIN_WINDOW_SECONDS"],
            config["SIGNIN_MAX_FAILURES_PER_ACCOUNT"],
            config["SIGNIN_MAX_FAILURES_PER_ADDRESS"],
            config["SIGNIN_SLOWDOWN_AFTER"],
            config["SIGNIN_TRUSTED_DAYS"],
        )


# Classes of the PostgreSQL advisory locks (two-key form) that serialise sign-in attempts per account and per address.
ACCOUNT_ATTEMPTS_LOCK, ADDRESS_ATTEMPTS_LOCK = 7_401_002, 7_401_003


def _lock_attempts(session: Session, email: str, address: str) -> None:
    """Serialise checking and recording attempts for this account and this address until the transaction ends, so
    attempts made at the same moment count each other (40 at once against a limit of 5: 5 are checked).
    PostgreSQL: two transaction-level advisory locks, always the account's first. SQLite: the write lock."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(
            sa.select(
                sa.func.pg_advisory_xact_lock(ACCOUNT_ATTEMPTS_LOCK, sa.func.hashtext(email)),
                sa.func.pg_advisory_xact_lock(ADDRESS_ATTEMPTS_LOCK, sa.func.hashtext(address)),
            )
        )
    else:
        session.execute(
            sa.update(SignInFailure)
            .where(sa.false())
            .values(email=SignInFailure.email)
            .execution_options(synchronize_session=False)
        )


def _wait_text(seconds: float) -> str:
    """'3 minutes', '1 minute' or '40 seconds'."""
    if seconds >= 60:
        minutes = math.ceil(seconds / 60)
        return f"{minutes} minute{'' if minutes == 1 else 's'}"
    seconds = max(1, math.ceil(seconds))
    return f"{seconds} second{'' if seconds == 1 else 's'}"


def _locked_until(times: list[datetime], maximum: int, window: timedelta) -> datetime | None:
    """With failure times newest first: when they drop below `maximum` in the window again (None: they are below
    it now), the moment the oldest failure keeping the count at the limit leaves the window."""
    return times[maximum - 1] + window if maximum > 0 and len(times) >= maximum else None


def _trusted(session: Session, email: str, address: str, since: datetime) -> bool:
    """Whether the account signed in successfully from this address since `since`."""
    return session.execute(
        sa.select(SignInAddress.user_id)
        .join(User, User.id == SignInAddress.user_id)
        .where(User.email == email, SignInAddress.address == address, SignInAddress.last_success_at >= since)
    ).first() is not None


def check_attempt(session: Session, email: str, address: str, limits: SignInLimits, now: datetime) -> None:
    """Raise Throttled if this account may not be tried from this address now (inside _lock_attempts)."""
    window = timedelta(seconds=limits.window_seconds)
    since = now - window
    account = session.execute(
        sa.select(SignInFailure.address, SignInFailure.failed_at)
        .where(SignInFailure.email == email, SignInFailure.failed_at >= since)
        .order_by(SignInFailure.failed_at.desc())
    ).all()
    from_here = [failed_at for failed, failed_at in account if failed == address]
    by_address = session.execute(
        sa.select(SignInFailure.failed_at)
        .where(SignInFailure.address == address, SignInFailure.failed_at >= since)
        .order_by(SignInFailure.failed_at.desc())
        .limit(max(limits.max_per_address, 1))
    ).scalars().all()
    locked = [
        until
        for until in (
            _locked_until(from_here, limits.max_per_account, window),
            _locked_until(by_address, limits.max_per_address, window),
        )
        if until is not None
    ]
    if locked:
        wait = (max(locked) - now).total_seconds()
        raise Throttled(f"Too many failed sign-in attempts. Try again in {_wait_text(wait)}.", math.ceil(wait))
    extra = len(account) - limits.slowdown_after
    if extra >= 0 and not _trusted(session, email, address, now - timedelta(days=limits.trusted_days)):
        # Many failures from everywhere: each attempt from a new address waits twice as long as the one before.
        delay = timedelta(seconds=min(2**extra, limits.window_seconds))
        wait = (account[0].failed_at + delay - now).total_seconds()
        if wait > 0:
            raise Throttled(
                f"This account had many failed sign-in attempts; try again in {_wait_text(wait)}.", math.ceil(wait)
            )


def _record_success(session: Session, user: User, address: str, now: datetime) -> None:
    """Remember the address as one the person signs in from (insert or refresh)."""
    insert = postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert
    statement = insert(SignInAddress).values(user_id=user.id, address=address, last_success_at=now)
    session.execute(
        statement.on_conflict_do_update(
            index_elements=["user_id", "address"], set_={"last_success_at": statement.excluded.last_success_at}
        )
    )


def authenticate(session: Session, email: str, password: str, address: str, limits: SignInLimits) -> User:
    """Return the active user with this email and password, or raise InvalidInput (wrong, deactivated) or
    Throttled (too many failures; nothing is checked then).

    The attempt is recorded as a failure before the password is checked, in one transaction with the check of
    the limits (serialised per account and address), and deleted when the password was right: attempts at the
    same moment see each other, and no more than the limit are ever checked.
    """
    email = normalise_email(email)
    address = (address or "unknown")[:64]
    now = utcnow()
    _lock_attempts(session, email, address)
    try:
        check_attempt(session, email, address, limits, now)
    except Throttled:
        session.rollback()
        raise
    attempt = session.execute(
        sa.insert(SignInFailure).values(email=email, address=address, failed_at=now).returning(SignInFailure.id)
    ).scalar_one()
    session.execute(
        sa.delete(SignInFailure).where(SignInFailure.failed_at < now - timedelta(seconds=limits.window_seconds))
    )
    session.commit()
    user = session.execute(sa.select(User).where(User.email == email)).scalar_one_or_none()
    valid = check_password_hash(user.password_hash if user else _DUMMY_HASH, password or "")
    if user is None or not valid or not user.active:
        session.rollback()
        if user is not None and valid and not user.active:
            raise InvalidInput({"email": "This account is deactivated. Ask an admin to reactivate it."})
        raise InvalidInput({"password": "Email or password is not correct."})
    # Right: this attempt and the earlier failures from this address no longer count (those from elsewhere do).
    session.execute(
        sa.delete(SignInFailure).where(
            sa.or_(SignInFailure.id == attempt, sa.and_(SignInFailure.email == email, SignInFailure.address == address))
        )
    )
    _record_success(session, user, address, now)
    session.commit()
    return user


def get_user(session: Session, user_id: int, fresh: bool = False) -> User:
    """Load a user or raise NotFound; `fresh` reads the row as committed now, not as this session first loaded it."""
    user = session.get(User, user_id, populate_existing=fresh)
    if user is None:
        raise NotFound(f"User {user_id} does not exist.")
    return user


def user_by_email(session: Session, email: str) -> User:
    """Load the user with this email (any case) or raise NotFound."""
    user = session.execute(sa.select(User).where(User.email == normalise_email(email))).scalar_one_or_none()
    if user is None:
        raise NotFound(f"No user has the email {email}.")
    return user


# Key of the PostgreSQL advisory lock that serialises changes to who is an active admin (and first-run setup).
ADMINS_LOCK = 7_401_001


def lock_admins(session: Session) -> None:
    """Serialise the changes that must keep one active admin, until this transaction ends. Without it two admins
    demoting or deactivating themselves at once would each count the other and leave none; two first-run setups
    would each find no user. PostgreSQL: a transaction-level advisory lock. SQLite: a write that changes nothing
    takes the database's write lock, so the counts read next are current and nobody writes until commit."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(sa.select(sa.func.pg_advisory_xact_lock(ADMINS_LOCK)))
    else:
        session.execute(sa.update(User).where(sa.false()).values(role=User.role).execution_options(synchronize_session=False))


def change_password(
    session: Session,
    user: User,
    current: str,
    new: str,
    confirm: str,
    address: str,
    limits: SignInLimits,
    keep_session_id: int | None = None,
) -> User:
    """The user changes their own password: the current one must be right and the new one typed twice.

    A wrong current password counts as a failed sign-in (so it is throttled the same way; raises Throttled).
    Every other signed-in browser of theirs is signed out; `keep_session_id` (this browser) stays signed in.
    """
    errors: dict[str, str] = {}
    try:
        authenticate(session, user.email, current, address, limits)
    except InvalidInput:
        errors["current_password"] = "Your current password is not correct."
    if problem := password_problem(new):
        errors["new_password"] = problem
    elif (confirm or "") != new:
        errors["confirm_password"] = "The two new passwords are not the same."
    if errors:
        raise InvalidInput(errors)
    user.password_hash = generate_password_hash(new)
    end_sessions(session, user.id, "password_changed", keep_id=keep_session_id)
    session.commit()
    return user


def set_password(session: Session, user_id: int, new: str, keep_session_id: int | None = None) -> User:
    """An admin (or the command line) gives a user a new password; the user's browsers are signed out (but
    `keep_session_id`: an admin setting their own keeps this browser)."""
    user = get_user(session, user_id)
    if problem := password_problem(new):
        raise InvalidInput({"password": problem})
    user.password_hash = generate_password_hash(new)
    end_sessions(session, user.id, "password_reset", keep_id=keep_session_id)
    session.commit()
    return user
