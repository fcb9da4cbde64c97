"""Reports: indexes for the report queries at a million issues.

- resolved_at first (with assignee and created_at): resolution times, resolved per day/week and the
  list's resolved date filter read a range of resolved_at (index-only on PostgreSQL).
- assignee, status, resolved_at: the top-assignees counts per person and status, index-only.
- open issues only (partial), by created_at: the aging counts and the ten oldest open issues read the
  open issues alone, oldest first, however many are done.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-25 06:20:00

"""
import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

# The same condition as tracker.models.OPEN_ISSUE and the report queries (partial index matching needs it verbatim).
OPEN_ISSUE = "status IN ('open', 'in_progress')"


def upgrade():
    with op.batch_alter_table("issues", schema=None) as batch_op:
        batch_op.create_index(
            "ix_issues_resolved_at_assignee_id_created_at", ["resolved_at", "assignee_id", "created_at"], unique=False
        )
        batch_op.create_index(
            "ix_issues_assignee_id_status_resolved_at", ["assignee_id", "status", "resolved_at"], unique=False
        )
        batch_op.create_index(
            "ix_issues_open_created_at_id",
            ["created_at", "id", "status", "priority"],
            unique=False,
            postgresql_where=sa.text(OPEN_ISSUE),
            sqlite_where=sa.text(OPEN_ISSUE),
        )


def downgrade():
    with op.batch_alter_table("issues", schema=None) as batch_op:
        batch_op.drop_index("ix_issues_open_created_at_id")
        batch_op.drop_index("ix_issues_assignee_id_status_resolved_at")
        batch_op.drop_index("ix_issues_resolved_at_assignee_id_created_at")
