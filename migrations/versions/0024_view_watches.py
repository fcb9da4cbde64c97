"""Watch a view (issue 20): a person hears when an issue starts matching a saved view.

view_watches: who watches which view, and when the worker last checked it. view_watch_members: the issues the view
had at that check, so only issues new to it notify (an issue that leaves and comes back is new again).

notifications.reason also takes 'view' (the check constraint is replaced; on SQLite by a copy of the table, whose
partial index of unread rows is made again as it was).

Downgrade drops both tables and the 'view' notifications they caused, and restores the old reasons.

Revision ID: 0024
Revises: 0023
Create Date: 2026-12-05 11:40:00

"""

import sqlalchemy as sa
from alembic import op

revision = "0024"
down_revision = "0023"
branch_labels = None
depends_on = None


OLD_REASONS = "reason IN ('assigned', 'mentioned', 'commented', 'status', 'resolved', 'watching')"
NEW_REASONS = "reason IN ('assigned', 'mentioned', 'commented', 'status', 'resolved', 'watching', 'view')"
UNREAD = "read_at IS NULL"


def _reasons(allowed: str) -> None:
    """Replace the check of notifications.reason."""
    with op.batch_alter_table("notifications", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_notifications_reason"), type_="check")
        batch_op.create_check_constraint(op.f("ck_notifications_reason"), sa.text(allowed))
    if op.get_bind().dialect.name == "sqlite":  # the copy may have lost the index's WHERE: make it again
        op.execute("DROP INDEX IF EXISTS ix_notifications_unread_user_id")
        op.execute(f"CREATE INDEX ix_notifications_unread_user_id ON notifications (user_id) WHERE {UNREAD}")


def upgrade():
    _reasons(NEW_REASONS)
    op.create_table(
        "view_watches",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("view_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("checked_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["view_id"], ["saved_views.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("view_id", "user_id", name="uq_view_watches_view_id_user_id"),
    )
    op.create_index("ix_view_watches_user_id", "view_watches", ["user_id"])
    op.create_index("ix_view_watches_checked_at", "view_watches", ["checked_at"])
    op.create_table(
        "view_watch_members",
        sa.Column("watch_id", sa.Integer(), nullable=False),
        sa.Column("issue_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["watch_id"], ["view_watches.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["issue_id"], ["issues.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("watch_id", "issue_id"),
    )
    op.create_index("ix_view_watch_members_issue_id", "view_watch_members", ["issue_id"])


def downgrade():
    op.execute("DELETE FROM notifications WHERE reason = 'view'")
    _reasons(OLD_REASONS)
    op.drop_index("ix_view_watch_members_issue_id", table_name="view_watch_members")
    op.drop_table("view_watch_members")
    op.drop_index("ix_view_watches_checked_at", table_name="view_watches")
    op.drop_index("ix_view_watches_user_id", table_name="view_watches")
    op.drop_table("view_watches")
