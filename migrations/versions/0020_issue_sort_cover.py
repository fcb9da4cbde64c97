"""A covering index for sorting a set of issues: issue number with updated_at, created_at and priority.

A search for a word found in 7,500 of a million issues, or a rare label, sorts its matches by the list's order
and shows 50. Each match used to be read from the issues table (one heap page per match, ~230 MB of table for
the set of words the benchmark uses: mostly reads from the operating system's cache, 30-60 ms per search);
ix_issues_id_sort answers "these numbers, in this order" from index entries alone (30 MB, an index-only scan),
and only the page's 50 issues are read. PostgreSQL only: SQLite keys its rows by id already.

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-04 18:45:00

"""

from alembic import op

revision = "0020"
down_revision = "0019"
branch_labels = None
depends_on = None


def upgrade():
    if op.get_bind().dialect.name == "postgresql":
        op.execute("CREATE INDEX ix_issues_id_sort ON issues (id) INCLUDE (updated_at, created_at, priority)")


def downgrade():
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP INDEX IF EXISTS ix_issues_id_sort")
