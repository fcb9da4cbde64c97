"""All tables of the tracker: the ground floor every module may import."""

from __future__ import annotations

import functools
import re
from collections.abc import Sequence
from datetime import datetime, timezone
from typing import Any

import sqlalchemy as sa
from flask_login import UserMixin
from sqlalchemy.orm import Mapped, Session, make_transient_to_detached, mapped_column, relationship
from sqlalchemy.orm.attributes import set_committed_value
from sqlalchemy.orm.util import identity_key

from .extensions import db

ROLES = ("admin", "member", "viewer")
EDITING_ROLES = ("admin", "member")  # create and edit issues (the rules themselves are in tracker/access.py)
STATUSES = ("open", "in_progress", "resolved", "closed")
PRIORITIES = ("low", "medium", "high", "critical")
STATUS_LABELS = {"open": "Open", "in_progress": "In progress", "resolved": "Resolved", "closed": "Closed"}
PRIORITY_LABELS = {p: p.capitalize() for p in PRIORITIES}
DONE_STATUSES = ("resolved", "closed")
# Open issues (not done), as SQL: the partial index on open issues and the report queries use this exact text.
OPEN_ISSUE = "status IN ('open', 'in_progress')"
# The predicate of every index that lists, counts, sorts or reports issues (migration 0026): those indexes hold the
# live issues only, so moving issues to the trash adds no entry to them (an undone import of 100,000 issues writes
# two index entries per issue, the primary key's and the trash's, instead of sixteen). Every read of live issues
# carries LIVE_ISSUE, which implies it.
LIVE_INDEX = "deleted_at IS NULL"
# Which status may follow which (the same rule for the edit form, bulk changes and the API).
TRANSITIONS = {
    "open": ("in_progress", "resolved", "closed"),
    "in_progress": ("open", "resolved", "closed"),
    "resolved": ("open", "closed"),
    "closed": ("open",),
}
TITLE_MAX = 200
EXTERNAL_KEY_MAX = 100
DESCRIPTION_MAX = 20_000
# Fields of an issue that a person edits; the version protocol and the timeline cover exactly these.
EDITABLE_FIELDS = ("title", "description", "status", "priority", "assignee_id", "labels")
LABEL_NAME_MAX = 50
LABEL_SEPARATORS = (";", "|")  # separate label names in a CSV cell; never part of a name
COMMENT_MAX = 10_000
BULK_MAX = 10_000
BULK_NOTE_MAX = 500


def utcnow() -> datetime:
    """Current time in UTC, as the naive datetime stored in every table."""
    return datetime.now(timezone.utc).replace(tzinfo=None)


HANDLE_MAX = 30
HANDLE_PATTERN = re.compile(r"^[a-z0-9_-]{1,30}$")
# `@me` always means the person reading or searching (assignee:@me, involves:@me). Nobody may be called @me: a person
# who was would be told of (and made to watch) every issue where anyone wrote "@me", and no query could name them.
RESERVED_HANDLES = frozenset({"me"})
# Email for notifications: about issues one is involved in (assigned, mentioned, reported), every issue one watches,
# or none; sent at once (after the aggregation window) or gathered into an hourly or daily digest.
EMAIL_SCOPES = ("involved", "watching", "none")
EMAIL_DELIVERIES = ("immediate", "hourly", "daily")


def handle_base(email: str) -> str:
    """The handle an email's local part proposes: lowercase letters, digits, '-' and '_' only ("user" if none)."""
    local = (email or "").split("@", 1)[0].lower()
    base = re.sub(r"[^a-z0-9_-]+", "", local.replace(".", "-").replace("+", "-"))[: HANDLE_MAX - 4]
    return base.strip("-") or "user"


def free_handle(taken: set[str], base: str) -> str:
    """`base`, or `base2`, `base3`... whichever is not in `taken` (nor reserved: me@example.com is @me2)."""
    if base not in taken and base not in RESERVED_HANDLES:
        return base
    n = 2
    while f"{base}{n}" in taken:
        n += 1
    return f"{base}{n}"


class User(UserMixin, db.Model):
    """A person who signs in; deactivated users keep their issues but cannot sign in."""

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(100))
    email: Mapped[str] = mapped_column(sa.String(254), unique=True)
    password_hash: Mapped[str] = mapped_column(sa.String(255))
    role: Mapped[str] = mapped_column(sa.String(10), default="member")
    active: Mapped[bool] = mapped_column(sa.Boolean, default=True, server_default=sa.true())
    created_at: Mapped[datetime] = mapped_column(sa.DateTime, default=utcnow)
    # @handle (migration 0021): proposed from the email when the user is created (propose_handles), changeable.
    handle: Mapped[str] = mapped_column(sa.String(HANDLE_MAX), unique=True)
    email_scope: Mapped[str] = mapped_column(sa.String(10), default="involved", server_default="involved")
    email_delivery: Mapped[str] = mapped_column(sa.String(10), default="immediate", server_default="immediate")

    __table_args__ = (
        sa.CheckConstraint("role IN ('admin', 'member', 'viewer')", name="role"),
        sa.CheckConstraint("email_scope IN ('involved', 'watching', 'none')", name="email_scope"),
        sa.CheckConstraint("email_delivery IN ('immediate', 'hourly', 'daily')", name="email_delivery"),
    )

    @property
    def is_active(self) -> bool:  # Flask-Login: inactive users cannot stay signed in
        """Whether the user may sign in."""
        return self.active


@sa.event.listens_for(Session, "before_flush")
def propose_handles(session: Session, _context, _instances) -> None:
    """Give every new user without a handle one from their email's local part, with a number when it is taken
    (by someone in the database or by another user of the same flush)."""
    new = [obj for obj in session.new if isinstance(obj, User) and not obj.handle]
    if not new:
        return
    bases = {handle_base(user.email) for user in new}
    with session.no_autoflush:
        taken = set(
            session.execute(
                sa.select(User.handle).where(sa.or_(*(User.handle.like(f"{base}%") for base in bases)))
            ).scalars()
        )
    taken |= {obj.handle for obj in session.new if isinstance(obj, User) and obj.handle}
    for user in new:
        user.handle = free_handle(taken, handle_base(user.email))
        taken.add(user.handle)


# Why a signed-in browser's session ended (user_sessions.ended_reason).
SESSION_END_REASONS = {
    "signed_out": "signed out",
    "ended_elsewhere": "signed out from another browser",
    "password_changed": "password changed",
    "password_reset": "password set by an admin",
    "deactivated": "account deactivated",
}
USER_AGENT_MAX = 100


class UserSession(db.Model):
    """One signed-in browser. The session cookie carries a random key; only its SHA-256 is kept here, so the
    table alone signs nobody in. Signing out, a password change or deactivation ends the row, and a cookie
    naming an ended (or idle, or too old) session no longer signs anyone in."""

    __tablename__ = "user_sessions"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"))
    key_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(sa.DateTime, default=utcnow)
    # Written at most once a minute (auth/sessions.py TOUCH_EVERY), so reading pages stays reading.
    last_seen_at: Mapped[datetime] = mapped_column(sa.DateTime, default=utcnow)
    address: Mapped[str] = mapped_column(sa.String(64), default="")
    user_agent: Mapped[str] = mapped_column(sa.String(USER_AGENT_MAX), default="")  # a summary: "Firefox on Linux"
    ended_at: Mapped[datetime | None] = mapped_column(sa.DateTime)
    ended_reason: Mapped[str | None] = mapped_column(sa.String(20))

    __table_args__ = (sa.Index("ix_user_sessions_user_id_id", "user_id", "id"),)


def _live_index(name: str, *columns: str, where: str | None = None, **options: Any) -> sa.Index:
    """An index of the live issues only (LIVE_INDEX, and `where` if given), on both databases."""
    predicate = sa.text(f"{LIVE_INDEX} AND {where}" if where else LIVE_INDEX)
    return sa.Index(name, *columns, postgresql_where=predicate, sqlite_where=predicate, **options)


class Issue(db.Model):
    """An issue; `version` grows by one on every change and guards every save."""

    __tablename__ = "issues"

    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(sa.String(TITLE_MAX))
    description: Mapped[str] = mapped_column(sa.Text, default="", server_default="")
    status: Mapped[str] = mapped_column(sa.String(20), default="open")
    priority: Mapped[str] = mapped_column(sa.String(10), default="medium")
    assignee_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    reporter_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))
    version: Mapped[int] = mapped_column(sa.Integer, default=1)
    created_at: Mapped[datetime] = mapped_column(sa.DateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(sa.DateTime, default=utcnow)
    resolved_at: Mapped[datetime | None] = mapped_column(sa.DateTime)
    # The trash (migration 0019): a deleted issue keeps everything it had and is left out of every list, search,
    # report, export and API answer; a purged one keeps only its row (number, who deleted it and when), so its
    # number is never given again and a link to it still says what became of it.
    deleted_at: Mapped[datetime | None] = mapped_column(sa.DateTime)
    deleted_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    purged_at: Mapped[datetime | None] = mapped_column(sa.DateTime)
    # The issue's key in the tracker it was imported from (Jira PROJ-12, Redmine 101): shown, searchable, exported;
    # importing a newer export of that tracker updates the issue with the same key.
    external_key: Mapped[str | None] = mapped_column(sa.String(EXTERNAL_KEY_MAX))
    # Closed as a duplicate of this issue (migration 0023); reopening clears it.
    duplicate_of_id: Mapped[int | None] = mapped_column(sa.ForeignKey("issues.id"))

    assignee: Mapped[User | None] = relationship(foreign_keys=[assignee_id], lazy="raise")
    reporter: Mapped[User] = relationship(foreign_keys=[reporter_id], lazy="raise")
    deleted_by: Mapped[User | None] = relationship(foreign_keys=[deleted_by_id], lazy="raise")
    labels: Mapped[list[Label]] = relationship(
        secondary="issue_labels", lazy="raise", order_by="Label.name_key", viewonly=True
    )

    __table_args__ = (
        sa.CheckConstraint("status IN ('open', 'in_progress', 'resolved', 'closed')", name="status"),
        sa.CheckConstraint("priority IN ('low', 'medium', 'high', 'critical')", name="priority"),
        sa.CheckConstraint("version >= 1", name="version"),
        # Live issues only (LIVE_INDEX): the list's sorts and filters.
        _live_index("ix_issues_updated_at_id", "updated_at", "id"),
        _live_index("ix_issues_created_at_id", "created_at", "id"),
        _live_index("ix_issues_status_updated_at_id", "status", "updated_at", "id"),
        _live_index("ix_issues_assignee_id_updated_at_id", "assignee_id", "updated_at", "id"),
        # The priority rides along (PostgreSQL, migration 0025): counting by assignee and priority reads it alone.
        _live_index(
            "ix_issues_assignee_id_status_updated_at_id",
            "assignee_id",
            "status",
            "updated_at",
            "id",
            postgresql_include=["priority"],
        ),
        _live_index("ix_issues_priority_updated_at_id", "priority", "updated_at", "id"),
        _live_index("ix_issues_reporter_id", "reporter_id"),
        # Only issues that have a key or a resolution (migration 0027): a change to any other issue skips them.
        _live_index("ix_issues_external_key", "external_key", where="external_key IS NOT NULL"),
        # Reports (migration 0004): resolved in a period, counts per assignee and status, open issues by age.
        _live_index(
            "ix_issues_resolved_at_assignee_id_created_at",
            "resolved_at",
            "assignee_id",
            "created_at",
            where="resolved_at IS NOT NULL",
        ),
        _live_index("ix_issues_assignee_id_status_resolved_at", "assignee_id", "status", "resolved_at"),
        _live_index("ix_issues_open_created_at_id", "created_at", "id", "status", "priority", where=OPEN_ISSUE),
        # Open issues by last change (migration 0028): `is:open` lists sorted by update read only open issues.
        _live_index("ix_issues_open_updated_at_id", "updated_at", "id", where=OPEN_ISSUE),
        # "Duplicates: #M" on an issue; small, since only duplicates are in it.
        sa.Index(
            "ix_issues_duplicate_of_id",
            "duplicate_of_id",
            postgresql_where=sa.text("duplicate_of_id IS NOT NULL"),
            sqlite_where=sa.text("duplicate_of_id IS NOT NULL"),
        ),
        # The trash, newest first, and the retention purge; small, since live issues are left out of it.
        sa.Index(
            "ix_issues_deleted_at_id",
            "deleted_at",
            "id",
            postgresql_where=sa.text("deleted_at IS NOT NULL"),
            sqlite_where=sa.text("deleted_at IS NOT NULL"),
        ),
    )

    def field_values(self) -> dict[str, Any]:
        """The editable fields as a plain dict (labels as a sorted list of label ids; needs labels loaded)."""
        values = {name: getattr(self, name) for name in EDITABLE_FIELDS if name != "labels"}
        values["labels"] = sorted(label.id for label in self.labels)
        return values


# Not in the trash: every list, search, report, export and API read of issues carries this condition.
LIVE_ISSUE = Issue.deleted_at.is_(None)


class IntegerList(sa.types.TypeDecorator):
    """PostgreSQL: a list of integers bound as ONE text value, '{1,2,3}', cast to integer[] in the statement.

    psycopg2 adapts a Python list element by element into an ARRAY[1, 2, 3] constructor, which PostgreSQL then
    parses and plans as one constant per element: 7,591 numbers (a search word's matches at 1M issues) cost 18-20 ms
    in psycopg2 alone and 32 ms for the whole statement, against 8 ms as one text value that array_in reads."""

    impl = sa.Text
    cache_ok = True

    def process_bind_param(self, value: Sequence[int] | None, dialect: Any) -> str | None:
        if value is None:
            return None
        return "{" + ",".join(map(str, map(int, value))) + "}"

    def bind_expression(self, bindvalue: Any) -> Any:
        return sa.cast(bindvalue, sa.ARRAY(sa.Integer))


def among(column: Any, ids: Sequence[int], dialect: str) -> sa.ColumnElement[bool]:
    """`column IN ids`, as one array parameter on PostgreSQL (`= ANY(...)`, bound as one text value: IntegerList);
    a list of 10,000 numbers as 10,000 parameters took twice as long as one array, and an array adapted by psycopg2
    element by element four times as long as the text value; a plain IN list on SQLite."""
    if dialect == "postgresql":
        return column == sa.any_(sa.literal(list(ids), IntegerList()))
    return column.in_(ids)


class Label(db.Model):
    """A label; names are unique regardless of case (name_key is the lower-cased name)."""

    __tablename__ = "labels"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(LABEL_NAME_MAX))
    name_key: Mapped[str] = mapped_column(sa.String(LABEL_NAME_MAX), unique=True)
    color: Mapped[str] = mapped_column(sa.String(7))  # #rrggbb
    created_at: Mapped[datetime] = mapped_column(sa.DateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(sa.DateTime, default=utcnow)

    # ';' and '|' separate label names in a CSV cell (import and export), so a name never holds them.
    __table_args__ = (sa.CheckConstraint("name NOT LIKE '%;%' AND name NOT LIKE '%|%'", name="name_separators"),)


class IssueLabel(db.Model):
    """Which label an issue carries."""

    __tablename__ = "issue_labels"

    issue_id: Mapped[int] = mapped_column(sa.ForeignKey("issues.id", ondelete="CASCADE"), primary_key=True)
    label_id: Mapped[int] = mapped_column(sa.ForeignKey("labels.id", ondelete="CASCADE"), primary_key=True)

    __table_args__ = (sa.Index("ix_issue_labels_label_id_issue_id", "label_id", "issue_id"),)


class Comment(db.Model):
    """A comment in an issue's thread, in Markdown: rendered to sanitized HTML on view, as descriptions are
    (tracker/markdown.py), so a change of the renderer shows on every comment without touching stored rows."""

    __tablename__ = "comments"

    id: Mapped[int] = mapped_column(primary_key=True)
    issue_id: Mapped[int] = mapped_column(sa.ForeignKey("issues.id", ondelete="CASCADE"))
    author_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))
    body: Mapped[str] = mapped_column(sa.Text)
    created_at: Mapped[datetime] = mapped_column(sa.DateTime, default=utcnow)
    edited_at: Mapped[datetime | None] = mapped_column(sa.DateTime)
    deleted_at: Mapped[datetime | None] = mapped_column(sa.DateTime)
    deleted_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))

    author: Mapped[User] = relationship(foreign_keys=[author_id], lazy="raise")
    deleted_by: Mapped[User | None] = relationship(foreign_keys=[deleted_by_id], lazy="raise")

    __table_args__ = (
        sa.Index("ix_comments_issue_id_id", "issue_id", "id"),
        # involves:@me (migration 0022): the issues a person commented on.
        sa.Index("ix_comments_author_id_issue_id", "author_id", "issue_id"),
    )


class IssueEvent(db.Model):
    """One entry of an issue's history: who changed what (old -> new) and the resulting version."""

    __tablename__ = "issue_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    # No foreign key to the issue: each entry is written by the change it records, after that change updated the
    # issue, and PostgreSQL's row-by-row check locked the issue row again (migration 0032). A trigger deletes the
    # entries of deleted issues, as the cascade did.
    issue_id: Mapped[int] = mapped_column(sa.Integer)
    actor_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    # created | updated | bulk | comment | label_deleted | attached | attachment_deleted | deleted | restored
    kind: Mapped[str] = mapped_column(sa.String(20))
    changes: Mapped[dict[str, Any]] = mapped_column(sa.JSON, default=dict)
    version: Mapped[int] = mapped_column(sa.Integer)
    created_at: Mapped[datetime] = mapped_column(sa.DateTime, default=utcnow)
    comment_id: Mapped[int | None] = mapped_column(sa.ForeignKey("comments.id", ondelete="CASCADE"))
    note: Mapped[str | None] = mapped_column(sa.Text)  # the reason given for a bulk change

    actor: Mapped[User | None] = relationship(lazy="raise")
    comment: Mapped[Comment | None] = relationship(lazy="raise")

    # The timeline reads an issue's events in id order (ids grow with time).
    __table_args__ = (sa.Index("ix_issue_events_issue_id_id", "issue_id", "id"),)


def record_event(
    session: Session,
    issue_id: int,
    actor_id: int | None,
    kind: str,
    version: int,
    created_at: datetime,
    changes: dict[str, Any] | None = None,
    comment_id: int | None = None,
) -> int:
    """Add one timeline entry as a plain INSERT ... RETURNING (no object for the session to flush); its id."""
    values = {
        "issue_id": issue_id,
        "actor_id": actor_id,
        "kind": kind,
        "changes": changes or {},
        "version": version,
        "created_at": created_at,
        "comment_id": comment_id,
    }
    return session.execute(_insert_event(), values).scalar_one()


@functools.cache
def _insert_event() -> sa.Insert:
    """record_event's statement, built once."""
    return sa.insert(IssueEvent.__table__).returning(IssueEvent.__table__.c.id)


def as_written(session: Session, row: db.Model, **related: Any) -> Any:
    """`row`, an object for a row this transaction has just written with a plain INSERT ... RETURNING id and exactly
    these values (every column given), put in the session as if read, with its `related` objects: the answer to the
    change without a SELECT of what it wrote. A column left out would be read when first used. None when the
    session already holds an object for that row (the caller reads it instead)."""
    if identity_key(type(row), row.id) in session.identity_map:
        return None
    make_transient_to_detached(row)
    session.add(row)
    for name, value in related.items():
        set_committed_value(row, name, value)
    return row


class SignInFailure(db.Model):
    """A failed sign-in, kept for throttling per account and address across processes. A sign-in writes its row
    before the password is checked (and deletes it when the password was right), so attempts running at the
    same moment count each other: the limits hold under concurrency."""

    __tablename__ = "sign_in_failures"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(sa.String(254))
    address: Mapped[str] = mapped_column(sa.String(64))
    failed_at: Mapped[datetime] = mapped_column(sa.DateTime, default=utcnow)

    __table_args__ = (
        sa.Index("ix_sign_in_failures_email_failed_at", "email", "failed_at"),
        sa.Index("ix_sign_in_failures_address_failed_at", "address", "failed_at"),
    )


class SignInAddress(db.Model):
    """An address a person signed in from successfully: failures from other addresses never slow them down there."""

    __tablename__ = "sign_in_addresses"

    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    address: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    last_success_at: Mapped[datetime] = mapped_column(sa.DateTime, default=utcnow)


class ExportSlot(db.Model):
    """A CSV export being streamed, so that every app process counts a person's running exports alike. The row
    is deleted when the download ends; one whose process died stops counting once seen_at grows old."""

    __tablename__ = "export_slots"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"))
    started_at: Mapped[datetime] = mapped_column(sa.DateTime, default=utcnow)
    seen_at: Mapped[datetime] = mapped_column(sa.DateTime, default=utcnow)

    __table_args__ = (sa.Index("ix_export_slots_user_id", "user_id"),)


API_TOKEN_NAME_MAX = 100


class ApiToken(db.Model):
    """A personal API token: only the SHA-256 of its secret is kept, with a short prefix to recognise it by."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(sa.String(API_TOKEN_NAME_MAX))
    token_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    prefix: Mapped[str] = mapped_column(sa.String(16))
    created_at: Mapped[datetime] = mapped_column(sa.DateTime, default=utcnow)
    last_used_at: Mapped[datetime | None] = mapped_column(sa.DateTime)

    user: Mapped[User] = relationship(lazy="raise")

    __table_args__ = (sa.Index("ix_api_tokens_user_id_id", "user_id", "id"),)


IMPORT_STATES = ("staged", "imported")
IMPORT_POLICIES = ("all_or_nothing", "skip_invalid")


class ImportRun(db.Model):
    """One CSV import: its staged file while it is checked, then who imported what, when, and with which outcome."""

    __tablename__ = "import_runs"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))
    file_name: Mapped[str] = mapped_column(sa.String(255))
    file_size: Mapped[int] = mapped_column(sa.BigInteger, default=0)
    encoding: Mapped[str] = mapped_column(sa.String(20), default="")
    state: Mapped[str] = mapped_column(sa.String(10), default="staged")
    policy: Mapped[str | None] = mapped_column(sa.String(20))
    # The column mapping and the word and assignee mappings chosen on the preview.
    settings: Mapped[dict[str, Any]] = mapped_column(sa.JSON, default=dict)
    # The file's header cells, so rejected rows can be downloaded with the file's own columns.
    header: Mapped[list[str]] = mapped_column(sa.JSON, default=list)
    rows_read: Mapped[int] = mapped_column(sa.Integer, default=0)
    created_count: Mapped[int] = mapped_column(sa.Integer, default=0)
    # Rows that updated an issue of Tracker's (the id column), and rows that named one without changing it.
    updated_count: Mapped[int] = mapped_column(sa.Integer, default=0, server_default="0")
    unchanged_count: Mapped[int] = mapped_column(sa.Integer, default=0, server_default="0")
    rejected_count: Mapped[int] = mapped_column(sa.Integer, default=0)
    first_issue_id: Mapped[int | None] = mapped_column(sa.Integer)
    last_issue_id: Mapped[int | None] = mapped_column(sa.Integer)
    created_at: Mapped[datetime] = mapped_column(sa.DateTime, default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(sa.DateTime)
    # Why importing the staged file in one request (POST /import, the API) failed; the file stays staged, shown
    # in the history, to be checked and imported, or discarded.
    failure: Mapped[str | None] = mapped_column(sa.Text)
    # Undo (migration 0019): who last moved the import's issues to the trash, and who last brought them back.
    undone_at: Mapped[datetime | None] = mapped_column(sa.DateTime)
    undone_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    redone_at: Mapped[datetime | None] = mapped_column(sa.DateTime)
    redone_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))

    user: Mapped[User] = relationship(foreign_keys=[user_id], lazy="raise")
    undone_by: Mapped[User | None] = relationship(foreign_keys=[undone_by_id], lazy="raise")
    redone_by: Mapped[User | None] = relationship(foreign_keys=[redone_by_id], lazy="raise")

    __table_args__ = (
        sa.CheckConstraint("state IN ('staged', 'imported')", name="state"),
        sa.CheckConstraint("policy IS NULL OR policy IN ('all_or_nothing', 'skip_invalid')", name="policy"),
        sa.Index("ix_import_runs_state_id", "state", "id"),
    )


class ImportChunk(db.Model):
    """A piece of a staged import file (kept in the database so any app process can check and import it)."""

    __tablename__ = "import_chunks"

    run_id: Mapped[int] = mapped_column(sa.ForeignKey("import_runs.id", ondelete="CASCADE"), primary_key=True)
    seq: Mapped[int] = mapped_column(sa.Integer, primary_key=True, autoincrement=False)
    data: Mapped[bytes] = mapped_column(sa.LargeBinary)  # PostgreSQL: STORAGE EXTERNAL, uncompressed (migration 0011)


class ImportedRange(db.Model):
    """Consecutive issue ids one import created, first to last. An import's issues are the ids in its ranges:
    usually one range, more when others created issues while it ran. The timeline's "imported from <file>"
    entry is read from here, so an import writes a few rows, not one event per issue."""

    __tablename__ = "import_issue_ranges"

    first_id: Mapped[int] = mapped_column(sa.Integer, primary_key=True, autoincrement=False)
    last_id: Mapped[int] = mapped_column(sa.Integer)
    run_id: Mapped[int] = mapped_column(sa.ForeignKey("import_runs.id", ondelete="CASCADE"))

    __table_args__ = (
        sa.CheckConstraint("first_id <= last_id", name="order"),
        sa.Index("ix_import_issue_ranges_run_id", "run_id"),
    )


class ImportReject(db.Model):
    """A row an import skipped: its line in the file, its cells as read, and why it was rejected."""

    __tablename__ = "import_rejects"

    run_id: Mapped[int] = mapped_column(sa.ForeignKey("import_runs.id", ondelete="CASCADE"), primary_key=True)
    line: Mapped[int] = mapped_column(sa.Integer, primary_key=True, autoincrement=False)
    cells: Mapped[list[str]] = mapped_column(sa.JSON, default=list)
    error: Mapped[str] = mapped_column(sa.Text)


FILE_NAME_MAX = 255


class Attachment(db.Model):
    """A file attached to an issue (and, when sent with a comment, to that comment). The bytes live in the
    attachment store (tracker/attachments/storage.py) under `storage_key`, a random name never derived from the
    uploaded file's name; the object is stored before this row commits, so a row never points at a missing object.
    One issue holds one copy of each content: (issue_id, sha256) is unique, and attaching the same file again
    answers with the attachment already there."""

    __tablename__ = "attachments"

    id: Mapped[int] = mapped_column(primary_key=True)
    issue_id: Mapped[int] = mapped_column(sa.ForeignKey("issues.id", ondelete="CASCADE"))
    comment_id: Mapped[int | None] = mapped_column(sa.ForeignKey("comments.id", ondelete="SET NULL"))
    uploader_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))
    # As uploaded, less any folders and control characters; shown and sent back as the download's name.
    file_name: Mapped[str] = mapped_column(sa.String(FILE_NAME_MAX))
    content_type: Mapped[str] = mapped_column(sa.String(100))  # as found by reading the content, not from the name
    size: Mapped[int] = mapped_column(sa.BigInteger)
    sha256: Mapped[str] = mapped_column(sa.String(64))
    storage_key: Mapped[str] = mapped_column(sa.String(100), unique=True)
    thumbnail_key: Mapped[str | None] = mapped_column(sa.String(100), unique=True)
    # Set only for an image Pillow has read: such an attachment is shown inline (and its size given to <img>).
    width: Mapped[int | None] = mapped_column(sa.Integer)
    height: Mapped[int | None] = mapped_column(sa.Integer)
    created_at: Mapped[datetime] = mapped_column(sa.DateTime, default=utcnow)

    uploader: Mapped[User] = relationship(lazy="raise")

    __table_args__ = (
        sa.UniqueConstraint("issue_id", "sha256", name="uq_attachments_issue_id_sha256"),
        sa.CheckConstraint("size >= 0", name="size"),
        sa.Index("ix_attachments_comment_id", "comment_id"),
    )

    @property
    def is_image(self) -> bool:
        """A raster image whose content was read and checked: the only kind shown inline."""
        return self.width is not None


SAVED_VIEW_NAME_MAX = 100
SAVED_VIEW_QUERY_MAX = 500  # tracker/search/query.py MAX_LENGTH


class SavedView(db.Model):
    """A named query of the issue list: private to its owner (the default) or shared with everyone. `version` grows
    by one on every change and guards every save, as an issue's does. The team's first shared views (migration
    0022) have no owner: admins manage them."""

    __tablename__ = "saved_views"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(SAVED_VIEW_NAME_MAX))
    query: Mapped[str] = mapped_column(sa.String(SAVED_VIEW_QUERY_MAX), default="", server_default="")
    shared: Mapped[bool] = mapped_column(sa.Boolean, default=False, server_default=sa.false())
    owner_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"))
    version: Mapped[int] = mapped_column(sa.Integer, default=1, server_default="1")
    created_at: Mapped[datetime] = mapped_column(sa.DateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(sa.DateTime, default=utcnow)

    __table_args__ = (
        sa.CheckConstraint("version >= 1", name="version"),
        sa.Index("ix_saved_views_owner_id", "owner_id"),
        sa.Index("ix_saved_views_shared", "shared"),
    )


class SavedViewPlace(db.Model):
    """Where a person keeps a view in their own sidebar (their order), and whether it is pinned to their page."""

    __tablename__ = "saved_view_places"

    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    view_id: Mapped[int] = mapped_column(sa.ForeignKey("saved_views.id", ondelete="CASCADE"), primary_key=True)
    position: Mapped[int] = mapped_column(sa.Integer, default=0, server_default="0")
    pinned: Mapped[bool] = mapped_column(sa.Boolean, default=False, server_default=sa.false())

    __table_args__ = (sa.Index("ix_saved_view_places_view_id", "view_id"),)


class ViewWatch(db.Model):
    """Someone who asked to hear when an issue starts matching a saved view (issue 20). The worker checks each watch
    every VIEW_ALERT_SECONDS: issues changed since `checked_at` that match the view (as the watcher runs it: @me is
    them) and were not among its issues are new to it. `view_watch_members` holds the issues the view had at the
    last check, so an issue that was already there, or that the watcher put there, is never news."""

    __tablename__ = "view_watches"

    id: Mapped[int] = mapped_column(primary_key=True)
    view_id: Mapped[int] = mapped_column(sa.ForeignKey("saved_views.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"))
    created_at: Mapped[datetime] = mapped_column(sa.DateTime, default=utcnow)
    checked_at: Mapped[datetime] = mapped_column(sa.DateTime, default=utcnow)

    __table_args__ = (
        sa.UniqueConstraint("view_id", "user_id", name="uq_view_watches_view_id_user_id"),
        sa.Index("ix_view_watches_user_id", "user_id"),
        sa.Index("ix_view_watches_checked_at", "checked_at"),
    )


class ViewWatchMember(db.Model):
    """An issue a watched view had at its last check (see ViewWatch)."""

    __tablename__ = "view_watch_members"

    watch_id: Mapped[int] = mapped_column(sa.ForeignKey("view_watches.id", ondelete="CASCADE"), primary_key=True)
    issue_id: Mapped[int] = mapped_column(sa.ForeignKey("issues.id", ondelete="CASCADE"), primary_key=True)

    __table_args__ = (sa.Index("ix_view_watch_members_issue_id", "issue_id"),)


class Watcher(db.Model):
    """Someone who hears about an issue's comments and changes (the reporter, the assignee, commenters and the
    people mentioned watch automatically; anyone who may read the issue can start or stop).

    No foreign keys: every row is written from an issue and a person read in the same statement, and PostgreSQL's
    row-by-row checks of the two keys were more than half the cost of an import's watchers (migration 0029).
    Triggers delete the rows of deleted issues and people, as the cascades did."""

    __tablename__ = "watchers"

    issue_id: Mapped[int] = mapped_column(sa.Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.Integer, primary_key=True)
    created_at: Mapped[datetime] = mapped_column(sa.DateTime, default=utcnow)

    __table_args__ = (sa.Index("ix_watchers_user_id_issue_id", "user_id", "issue_id"),)


# Why someone was told: the inbox filters by these, most specific first when one change has several.
NOTIFICATION_REASONS = {
    "assigned": "assigned",
    "mentioned": "mentioned",
    "commented": "commented",
    "status": "status",
    "resolved": "resolved",
    "watching": "watching",
    "view": "view",
}
SUMMARY_MAX = 300
UNREAD = "read_at IS NULL"
MENTIONED = "reason = 'mentioned'"


class Notification(db.Model):
    """One thing a person should hear about: an issue assigned to them, a mention, a comment or change on an issue
    they watch, or an import's issues assigned to them (one row for the whole import: `import_run_id` and `count`).
    Written in the transaction of the change that causes it, so a change rolled back notifies nobody.

    No foreign keys: a bulk change writes one row per watcher per issue, and PostgreSQL checks each foreign key row
    by row (three checks made a 10,000-issue change with three watchers each 0.4 s slower; user_id's alone cost
    0.17 s, migration 0029). The rows the columns name are never deleted (issues and comments go to the trash or are
    marked deleted, people are deactivated), and the inbox joins them with outer joins; a trigger deletes the
    notifications of people deleted by hand, as the cascade did."""

    __tablename__ = "notifications"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.Integer)
    issue_id: Mapped[int | None] = mapped_column(sa.Integer)
    import_run_id: Mapped[int | None] = mapped_column(sa.Integer)
    reason: Mapped[str] = mapped_column(sa.String(20))
    actor_id: Mapped[int | None] = mapped_column(sa.Integer)
    summary: Mapped[str] = mapped_column(sa.String(SUMMARY_MAX), default="")
    comment_id: Mapped[int | None] = mapped_column(sa.Integer)
    event_id: Mapped[int | None] = mapped_column(sa.Integer)
    count: Mapped[int] = mapped_column(sa.Integer, default=1, server_default="1")
    created_at: Mapped[datetime] = mapped_column(sa.DateTime, default=utcnow)
    read_at: Mapped[datetime | None] = mapped_column(sa.DateTime)
    done_at: Mapped[datetime | None] = mapped_column(sa.DateTime)

    actor: Mapped[User | None] = relationship(
        primaryjoin="foreign(Notification.actor_id) == User.id", lazy="raise", viewonly=True
    )
    issue: Mapped[Issue | None] = relationship(
        primaryjoin="foreign(Notification.issue_id) == Issue.id", lazy="raise", viewonly=True
    )
    import_run: Mapped[ImportRun | None] = relationship(
        primaryjoin="foreign(Notification.import_run_id) == ImportRun.id", lazy="raise", viewonly=True
    )

    @classmethod
    def mentions(cls) -> sa.ColumnElement[bool]:
        """The notified person's mentions on issues (what ix_notifications_mentioned_user_id_issue_id holds, by
        person): My page's "Mentioned in" and involves:<who>. The issue number is never NULL among them, so their
        numbers can also feed NOT IN (`-involves:`), where a NULL would make it match nothing."""
        return sa.and_(cls.reason == "mentioned", cls.issue_id.is_not(None))

    __table_args__ = (
        sa.CheckConstraint(
            "reason IN ('assigned', 'mentioned', 'commented', 'status', 'resolved', 'watching', 'view')", name="reason"
        ),
        # The inbox, newest first; the header's unread count reads the small partial index alone (with each row's
        # issue, to leave out those in the trash: migration 0033).
        sa.Index("ix_notifications_user_id_id", "user_id", "id"),
        sa.Index(
            "ix_notifications_unread_user_id",
            "user_id",
            "issue_id",
            postgresql_where=sa.text(UNREAD),
            sqlite_where=sa.text(UNREAD),
        ),
        sa.Index("ix_notifications_issue_id", "issue_id"),
        # involves:<who> (migration 0030): the issues a person was mentioned in, from the mentions alone.
        sa.Index(
            "ix_notifications_mentioned_user_id_issue_id",
            "user_id",
            "issue_id",
            postgresql_where=sa.text(MENTIONED),
            sqlite_where=sa.text(MENTIONED),
        ),
    )


OUTBOX_STATES = ("pending", "sent", "failed")


class EmailOutbox(db.Model):
    """An email to send: written in the change's transaction, sent by the worker (`flask worker`). One pending row
    per person and issue gathers the changes of the aggregation window (or of a digest period); its notifications
    are those of that person and issue written since `since_id`."""

    __tablename__ = "email_outbox"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"))
    issue_id: Mapped[int | None] = mapped_column(sa.ForeignKey("issues.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(sa.String(10), default="immediate")  # immediate | hourly | daily
    since_id: Mapped[int] = mapped_column(sa.Integer, default=0)
    until_id: Mapped[int | None] = mapped_column(sa.Integer)  # the newest notification the sent email told of
    message_id: Mapped[str | None] = mapped_column(sa.String(200), unique=True)
    recipient: Mapped[str | None] = mapped_column(sa.String(254))
    subject: Mapped[str | None] = mapped_column(sa.String(300))
    status: Mapped[str] = mapped_column(sa.String(10), default="pending")
    attempts: Mapped[int] = mapped_column(sa.Integer, default=0, server_default="0")
    last_error: Mapped[str | None] = mapped_column(sa.Text)
    created_at: Mapped[datetime] = mapped_column(sa.DateTime, default=utcnow)
    due_at: Mapped[datetime] = mapped_column(sa.DateTime, default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(sa.DateTime)

    __table_args__ = (
        sa.CheckConstraint("status IN ('pending', 'sent', 'failed')", name="status"),
        # The worker's queue: pending rows by due time.
        sa.Index(
            "ix_email_outbox_due_at",
            "due_at",
            postgresql_where=sa.text("status = 'pending'"),
            sqlite_where=sa.text("status = 'pending'"),
        ),
        # At most one pending email per person, issue and kind: a change within the window joins it.
        sa.Index(
            "ux_email_outbox_pending",
            "user_id",
            "issue_id",
            "kind",
            unique=True,
            postgresql_where=sa.text("status = 'pending'"),
            sqlite_where=sa.text("status = 'pending'"),
        ),
        sa.Index("ix_email_outbox_status_id", "status", "id"),
    )
