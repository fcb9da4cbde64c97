"""List indexes: one person's issues in one status by update time, and the priority sort.

- (assignee_id, status, updated_at, id): "my open issues, recently updated first" walks it in order and
  counts from it without visiting the table (at 1M issues the count fell from ~230 ms to ~14 ms).
- the priority rank expression with id: sort=priority pages walk it instead of sorting every issue. It is an
  expression index, made by hand on both databases and named in migrations/env.py EXPRESSION_INDEXES.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-25 08:40:00

"""

from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

# The same text as tracker.issues.queries.PRIORITY_RANK, so the planners match the ORDER BY to it.
PRIORITY_RANK = "(CASE priority WHEN 'low' THEN 1 WHEN 'medium' THEN 2 WHEN 'high' THEN 3 WHEN 'critical' THEN 4 END)"


def upgrade():
    with op.batch_alter_table("issues", schema=None) as batch_op:
        batch_op.create_index(
            "ix_issues_assignee_id_status_updated_at_id", ["assignee_id", "status", "updated_at", "id"], unique=False
        )
    op.execute(f"CREATE INDEX ix_issues_priority_rank_id ON issues ({PRIORITY_RANK}, id)")


def downgrade():
    op.execute("DROP INDEX ix_issues_priority_rank_id")
    with op.batch_alter_table("issues", schema=None) as batch_op:
        batch_op.drop_index("ix_issues_assignee_id_status_updated_at_id")
