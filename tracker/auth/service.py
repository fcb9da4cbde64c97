"""Users and sign-in: creation rules, password checks, throttling of failed attempts (administration of
existing users is in admin/service.py)."""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any, NamedTuple

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from werkzeug.security import check_password_hash, generate_password_hash

from ..errors import InvalidInput, NotFound, Throttled
from ..models import ROLES, SignInFailure, User, utcnow

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
    """How failed sign-ins are throttled (SIGNIN_* settings)."""

    window_seconds: int
    max_per_account: int
    max_per_address: int

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> SignInLimits:
        """The limits configured for the app."""
        return cls(
            config["SIGNIN_WINDOW_SECONDS"],
            config["SIGNIN_MAX_FAILURES_PER_ACCOUNT"],
            config["SIGNIN_MAX_FAILURES_PER_ADDRESS"],
        )


def _blocked_until(
    session: Session, column, value: str, since: datetime, maximum: int, window: timedelta
) -> datetime | None:
    """When the failures for this email or address since `since` drop below `maximum` again (None: they are
    below it now): the moment the oldest failure that keeps the count at the limit leaves the window."""
    failures = session.execute(
        sa.select(SignInFailure.failed_at)
        .where(column == value, SignInFailure.failed_at >= since)
        .order_by(SignInFailure.failed_at.desc())
        .limit(maximum)
    ).scalars().all()
    return failures[-1] + window if failures and len(failures) >= maximum else None


def authenticate(
    session: Session,
    email: str,
    password: str,
    address: str,
    window_seconds: int,
    max_per_account: int,
    max_per_address: int,
) -> User:
    """Return the active user with this email and password, or raise; failures are counted and throttled."""
    email = normalise_email(email)
    now = utcnow()
    window = timedelta(seconds=window_seconds)
    since = now - window
    blocked = [
        until
        for until in (
            _blocked_until(session, SignInFailure.email, email, since, max_per_account, window),
            _blocked_until(session, SignInFailure.address, address, since, max_per_address, window),
        )
        if until is not None
    ]
    if blocked:
        minutes = max(1, math.ceil((max(blocked) - now).total_seconds() / 60))
        raise Throttled(
            f"Too many failed sign-in attempts. Try again in {minutes} minute{'' if minutes == 1 else 's'}."
        )
    user = session.execute(sa.select(User).where(User.email == email)).scalar_one_or_none()
    valid = check_password_hash(user.password_hash if user else _DUMMY_HASH, password or "")
    if user is None or not valid or not user.active:
        session.add(SignInFailure(email=email, address=address[:64], failed_at=now))
        session.execute(sa.delete(SignInFailure).where(SignInFailure.failed_at < since))
        session.commit()
        if user is not None and valid and not user.active:
            raise InvalidInput({"email": "This account is deactivated. Ask an admin to reactivate it."})
        raise InvalidInput({"password": "Email or password is not correct."})
    session.execute(sa.delete(SignInFailure).where(SignInFailure.email == email))
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
    session: Session, user: User, current: str, new: str, confirm: str, address: str, limits: SignInLimits
) -> User:
    """The user changes their own password: the current one must be right and the new one typed twice.

    A wrong current password counts as a failed sign-in (so it is throttled the same way; raises Throttled).
    A new password hash also changes the user's session mark (User.get_id), so every other signed-in
    browser of theirs is signed out; the caller signs this one in again.
    """
    errors: dict[str, str] = {}
    try:
        authenticate(session, user.email, current, address, *limits)
    except InvalidInput:
        errors["current_password"] = "Your current password is not correct."
    if problem := password_problem(new):
        errors["new_password"] = problem
    elif (confirm or "") != new:
        errors["confirm_password"] = "The two new passwords are not the same."
    if errors:
        raise InvalidInput(errors)
    user.password_hash = generate_password_hash(new)
    session.commit()
    return user


def set_password(session: Session, user_id: int, new: str) -> User:
    """An admin (or the command line) gives a user a new password; the user's browsers are signed out."""
    user = get_user(session, user_id)
    if problem := password_problem(new):
        raise InvalidInput({"password": problem})
    user.password_hash = generate_password_hash(new)
    session.commit()
    return user
