"""User administration: roles, deactivation, names and emails; there is always one active admin left."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm import Session

from ..auth.service import clean_profile, commit_profile, get_user, lock_admins
from ..auth.sessions import end_sessions
from ..errors import InvalidInput
from ..models import LIVE_ISSUE, ROLES, Issue, User


def _other_active_admins(session: Session, user_id: int) -> int:
    """How many active admins there are besides this user."""
    return session.execute(
        sa.select(sa.func.count())
        .select_from(User)
        .where(User.role == "admin", User.active.is_(True), User.id != user_id)
    ).scalar_one()


def change_role(session: Session, user_id: int, role: str) -> User:
    """Give a user another role; the last active admin keeps theirs."""
    if role not in ROLES:
        get_user(session, user_id)
        raise InvalidInput({"role": f"Role '{role}' is not one of {', '.join(ROLES)}."})
    lock_admins(session)
    user = get_user(session, user_id, fresh=True)
    if user.role == "admin" and role != "admin" and user.active and _other_active_admins(session, user.id) == 0:
        session.rollback()
        raise InvalidInput({"role": f"{user.name} is the last active admin; make someone else admin first."})
    if role == "viewer" and user.role != "viewer":
        assigned = session.execute(
            sa.select(sa.func.count()).select_from(Issue).where(Issue.assignee_id == user.id, LIVE_ISSUE)
        ).scalar_one()
        if assigned:  # a viewer is never assigned issues: theirs go to someone else first
            session.rollback()
            noun = "issue" if assigned == 1 else "issues"
            raise InvalidInput({"role": f"{user.name} is assigned {assigned:,} {noun}; assign them to someone else "
                                        f"(the list's assignee:{user.handle} and a bulk change) before making "
                                        f"{user.name} a viewer."})
    user.role = role
    session.commit()
    return user


def set_active(session: Session, user_id: int, active: bool) -> User:
    """Deactivate or reactivate a user; their issues stay; the last active admin stays active. Deactivating ends
    every session of theirs at once (their API tokens stop working too, as the token check asks `active`)."""
    lock_admins(session)
    user = get_user(session, user_id, fresh=True)
    if not active and user.role == "admin" and user.active and _other_active_admins(session, user.id) == 0:
        session.rollback()
        raise InvalidInput({"active": f"{user.name} is the last active admin and cannot be deactivated."})
    user.active = active
    if not active:
        end_sessions(session, user.id, "deactivated")
    session.commit()
    return user


def update_profile(session: Session, user_id: int, name: str, email: str) -> User:
    """Change a user's name and email (the email they sign in with); their issues and history follow."""
    user = get_user(session, user_id)
    errors: dict[str, str] = {}
    name, email = clean_profile(session, name, email, errors, user_id=user.id)
    if errors:
        raise InvalidInput(errors)
    user.name, user.email = name, email
    commit_profile(session, email)
    return user
