"""The partial index of unread notifications holds each one's issue too, so the header's unread count leaves out the
notifications of issues in the trash from the index alone.

The header counts a person's unread notifications on every page (up to 100, "99+"). The inbox leaves out those of
issues in the trash, so the count must too, or it shows a number over an empty inbox that only "Mark all read"
clears. The count now reads each counted row's issue (a probe of the issues' primary key, which covers deleted_at);
with the issue in this index the person's unread rows are still read from the index alone. With (user_id) only,
PostgreSQL read the notifications table itself for the issue, and with a third of 100,000 rows unread it chose a
sequential scan of the table (6-16 ms against 0.3-0.5 ms).

Revision ID: 0033
Revises: 0032
Create Date: 2026-12-08 00:40:00

"""

from alembic import op

revision = "0033"
down_revision = "0032"
branch_labels = None
depends_on = None

UNREAD = "read_at IS NULL"


def upgrade():
    op.execute("DROP INDEX IF EXISTS ix_notifications_unread_user_id")
    op.execute(f"CREATE INDEX ix_notifications_unread_user_id ON notifications (user_id, issue_id) WHERE {UNREAD}")


def downgrade():
    op.execute("DROP INDEX IF EXISTS ix_notifications_unread_user_id")
    op.execute(f"CREATE INDEX ix_notifications_unread_user_id ON notifications (user_id) WHERE {UNREAD}")
