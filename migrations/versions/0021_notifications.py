"""Notifications (issue 18): handles, watchers, the inbox, the email outbox and each person's email settings.

- users.handle: unique, lowercase letters, digits, '-' and '_'; existing users get their email's local part, with a
  number when two would share it (ada, ada2). users.email_scope (involved | watching | none) and
  users.email_delivery (immediate | hourly | daily), defaults involved and immediate.
- watchers (issue_id, user_id): who hears about an issue; existing issues' reporters and assignees watch them.
- notifications: one row per person and thing to hear about; (user_id, id) for the inbox, newest first, and a
  partial index of the unread ones for the header's count. Only user_id is a foreign key (see the model: a bulk
  change writes a row per watcher per issue, and each foreign key is checked row by row).
- email_outbox: emails to send, written in the change's transaction; at most one pending row per person, issue and
  kind, so changes within the aggregation window make one email.

Downgrade drops them all.

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-05 08:00:00

"""

import re

import sqlalchemy as sa
from alembic import op

revision = "0021"
down_revision = "0020"
branch_labels = None
depends_on = None

UNREAD = sa.text("read_at IS NULL")
PENDING = sa.text("status = 'pending'")


def _handle_base(email: str) -> str:
    """The same proposal as tracker/models.py handle_base (copied: a migration keeps the rule of its day)."""
    local = (email or "").split("@", 1)[0].lower()
    base = re.sub(r"[^a-z0-9_-]+", "", local.replace(".", "-").replace("+", "-"))[:26]
    return base.strip("-") or "user"


def _backfill_handles() -> None:
    """Every existing user gets a handle from their email, numbered when taken (oldest account keeps the plain one)."""
    bind = op.get_bind()
    users = bind.execute(sa.text("SELECT id, email FROM users ORDER BY id")).all()
    taken: set[str] = set()
    rows = []
    for user_id, email in users:
        base = handle = _handle_base(email)
        n = 2
        while handle in taken:
            handle, n = f"{base}{n}", n + 1
        taken.add(handle)
        rows.append({"id": user_id, "handle": handle})
    if rows:
        bind.execute(sa.text("UPDATE users SET handle = :handle WHERE id = :id"), rows)


def upgrade():
    op.add_column("users", sa.Column("handle", sa.String(length=30), nullable=True))
    op.add_column("users", sa.Column("email_scope", sa.String(length=10), server_default="involved", nullable=False))
    op.add_column(
        "users", sa.Column("email_delivery", sa.String(length=10), server_default="immediate", nullable=False)
    )
    _backfill_handles()
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.alter_column("handle", existing_type=sa.String(length=30), nullable=False)
        batch_op.create_unique_constraint(batch_op.f("uq_users_handle"), ["handle"])
        batch_op.create_check_constraint(
            "email_scope", "email_scope IN ('involved', 'watching', 'none')"
        )
        batch_op.create_check_constraint(
            "email_delivery", "email_delivery IN ('immediate', 'hourly', 'daily')"
        )

    op.create_table(
        "watchers",
        sa.Column("issue_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["issue_id"], ["issues.id"], name=op.f("fk_watchers_issue_id_issues"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name=op.f("fk_watchers_user_id_users"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("issue_id", "user_id", name=op.f("pk_watchers")),
    )
    op.create_index("ix_watchers_user_id_issue_id", "watchers", ["user_id", "issue_id"])
    op.execute(
        "INSERT INTO watchers (issue_id, user_id, created_at) SELECT id, reporter_id, created_at FROM issues "
        "WHERE purged_at IS NULL"
    )
    op.execute(
        "INSERT INTO watchers (issue_id, user_id, created_at) SELECT id, assignee_id, created_at FROM issues "
        "WHERE purged_at IS NULL AND assignee_id IS NOT NULL AND assignee_id <> reporter_id"
    )

    op.create_table(
        "notifications",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("issue_id", sa.Integer(), nullable=True),
        sa.Column("import_run_id", sa.Integer(), nullable=True),
        sa.Column("reason", sa.String(length=20), nullable=False),
        sa.Column("actor_id", sa.Integer(), nullable=True),
        sa.Column("summary", sa.String(length=300), nullable=False),
        sa.Column("comment_id", sa.Integer(), nullable=True),
        sa.Column("event_id", sa.Integer(), nullable=True),
        sa.Column("count", sa.Integer(), server_default="1", nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("read_at", sa.DateTime(), nullable=True),
        sa.Column("done_at", sa.DateTime(), nullable=True),
        sa.CheckConstraint(
            "reason IN ('assigned', 'mentioned', 'commented', 'status', 'resolved', 'watching')",
            name=op.f("ck_notifications_reason"),
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_notifications_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notifications")),
    )
    op.create_index("ix_notifications_user_id_id", "notifications", ["user_id", "id"])
    op.create_index(
        "ix_notifications_unread_user_id", "notifications", ["user_id"], postgresql_where=UNREAD, sqlite_where=UNREAD
    )
    op.create_index("ix_notifications_issue_id", "notifications", ["issue_id"])

    op.create_table(
        "email_outbox",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("issue_id", sa.Integer(), nullable=True),
        sa.Column("kind", sa.String(length=10), nullable=False),
        sa.Column("since_id", sa.Integer(), nullable=False),
        sa.Column("until_id", sa.Integer(), nullable=True),
        sa.Column("message_id", sa.String(length=200), nullable=True),
        sa.Column("recipient", sa.String(length=254), nullable=True),
        sa.Column("subject", sa.String(length=300), nullable=True),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("attempts", sa.Integer(), server_default="0", nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("due_at", sa.DateTime(), nullable=False),
        sa.Column("sent_at", sa.DateTime(), nullable=True),
        sa.CheckConstraint("status IN ('pending', 'sent', 'failed')", name=op.f("ck_email_outbox_status")),
        sa.ForeignKeyConstraint(
            ["issue_id"], ["issues.id"], name=op.f("fk_email_outbox_issue_id_issues"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_email_outbox_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_email_outbox")),
        sa.UniqueConstraint("message_id", name=op.f("uq_email_outbox_message_id")),
    )
    op.create_index(
        "ix_email_outbox_due_at", "email_outbox", ["due_at"], postgresql_where=PENDING, sqlite_where=PENDING
    )
    op.create_index(
        "ux_email_outbox_pending",
        "email_outbox",
        ["user_id", "issue_id", "kind"],
        unique=True,
        postgresql_where=PENDING,
        sqlite_where=PENDING,
    )
    op.create_index("ix_email_outbox_status_id", "email_outbox", ["status", "id"])


def downgrade():
    op.drop_table("email_outbox")
    op.drop_table("notifications")
    op.drop_table("watchers")
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.drop_constraint("email_delivery", type_="check")
        batch_op.drop_constraint("email_scope", type_="check")
        batch_op.drop_constraint(batch_op.f("uq_users_handle"), type_="unique")
        batch_op.drop_column("email_delivery")
        batch_op.drop_column("email_scope")
        batch_op.drop_column("handle")
