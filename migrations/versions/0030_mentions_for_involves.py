"""involves:<who> lists the issues a person was mentioned in too (issue 20: "reported, assigned, commented or
mentioned"). A mention is recorded as the person's notification with the reason 'mentioned' (issue 18); this index
holds those alone, by person and issue, so the query reads a person's mentions without visiting their other
notifications (the bench's admin has 100,000). Only a mention adds to it; bulk changes and imports, which write
other reasons, never do. Both databases.

Revision ID: 0030
Revises: 0029
Create Date: 2026-12-07 13:30:00

"""

from alembic import op

revision = "0030"
down_revision = "0029"
branch_labels = None
depends_on = None


def upgrade():
    op.execute(
        "CREATE INDEX ix_notifications_mentioned_user_id_issue_id ON notifications (user_id, issue_id)"
        " WHERE reason = 'mentioned'"
    )


def downgrade():
    op.execute("DROP INDEX IF EXISTS ix_notifications_mentioned_user_id_issue_id")
