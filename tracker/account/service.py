"""Personal API tokens: created with a secret shown once, stored as a hash, revocable, checked per request."""

from __future__ import annotations

import functools
import hashlib
import secrets
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.orm import Session

from .. import access
from ..auth.service import user_by_email
from ..errors import InvalidInput, NotFound, Unauthorized
from ..models import API_TOKEN_NAME_MAX, ApiToken, User, utcnow

SECRET_PREFIX = "trk_"
# Last use is written at most this often per token, so reads through the API stay reads.
LAST_USED_PRECISION = timedelta(minutes=1)


def hash_secret(secret: str) -> str:
    """SHA-256 of a token secret (the secret has 256 random bits, so a fast hash is enough)."""
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def clean_name(raw: str | None) -> str:
    """A token name: what the token is for, 1-100 characters."""
    name = " ".join((raw or "").split())
    if not name:
        raise InvalidInput({"name": "Give the token a name, such as the script or machine that will use it."})
    if len(name) > API_TOKEN_NAME_MAX:
        raise InvalidInput(
            {"name": f"Token name must be at most {API_TOKEN_NAME_MAX} characters (it has {len(name)})."}
        )
    return name


def create_token(session: Session, user: User, raw_name: str | None) -> tuple[ApiToken, str]:
    """Create a token for `user`; returns it and its secret, which is never stored and cannot be shown again."""
    access.require_manage_tokens(user)
    name = clean_name(raw_name)
    secret = SECRET_PREFIX + secrets.token_urlsafe(32)
    token = ApiToken(
        user_id=user.id,
        name=name,
        token_hash=hash_secret(secret),
        prefix=secret[: len(SECRET_PREFIX) + 6],
        created_at=utcnow(),
    )
    session.add(token)
    session.commit()
    return token, secret


def user_tokens(session: Session, user: User) -> list[ApiToken]:
    """The user's tokens, newest first."""
    return list(
        session.execute(sa.select(ApiToken).where(ApiToken.user_id == user.id).order_by(ApiToken.id.desc())).scalars()
    )


def revoke_token(session: Session, user: User, token_id: int) -> ApiToken:
    """Delete one of the user's own tokens; requests with it fail from now on."""
    access.require_manage_tokens(user)
    token = session.execute(
        sa.select(ApiToken).where(ApiToken.id == token_id, ApiToken.user_id == user.id)
    ).scalar_one_or_none()
    if token is None:
        raise NotFound(f"Token {token_id} does not exist.")
    session.delete(token)
    session.commit()
    return token


def parse_bearer(header: str | None) -> str:
    """The secret in an `Authorization: Bearer <token>` header, or Unauthorized."""
    scheme, _, secret = (header or "").strip().partition(" ")
    if scheme.lower() != "bearer" or not secret.strip():
        raise Unauthorized(
            "Send a personal API token as 'Authorization: Bearer <token>'; create one on your account page."
        )
    return secret.strip()


@functools.cache
def _token_with_user() -> sa.Select:
    """authenticate_token's statement, built once (every API call runs it)."""
    return (
        sa.select(ApiToken.id, ApiToken.last_used_at, User)  # the person as an object, of the token only what is used
        .join(User, User.id == ApiToken.user_id)
        .where(ApiToken.token_hash == sa.bindparam("token_hash"))
    )


def authenticate_token(session: Session, secret: str, now: datetime | None = None) -> User:
    """The active user owning this token secret (recording its use), or Unauthorized."""
    now = now or utcnow()
    row = session.execute(_token_with_user(), {"token_hash": hash_secret(secret)}).first()
    if row is None:
        raise Unauthorized("The API token is not valid; it may have been revoked.")
    token_id, last_used_at, user = row
    if not user.active:
        raise Unauthorized("The token's user is deactivated.")
    if last_used_at is None or now - last_used_at >= LAST_USED_PRECISION:
        session.execute(
            sa.update(ApiToken)
            .where(ApiToken.id == token_id)
            .values(last_used_at=now)
            .execution_options(synchronize_session=False)
        )
        session.commit()
    return user


def token_user(session: Session, email: str) -> User:
    """The user a token is made for on the command line, by email."""
    return user_by_email(session, email)
