"""The external-key and resolution indexes hold only issues that have a key or a resolution (issue 18).

Every change to an issue (an edit, a bulk change of 10,000 issues) adds an entry to each index of the issues table:
none can be a HOT update, since updated_at is indexed. Most issues have no external key (only imported ones do),
and open issues have no resolution, yet both indexes held every issue, so every change of an open, unkeyed issue
wrote an entry into each, the resolution index's at a random place (it is ordered by resolved_at, assignee and
creation). Their readers ask for a key (`external_key IN (...)`) or for a resolution in a period (a range of
resolved_at), conditions that imply the new predicates, so the planners use them as before.

Revision ID: 0027
Revises: 0026
Create Date: 2026-12-06 04:20:00

"""

from alembic import op

revision = "0027"
down_revision = "0026"
branch_labels = None
depends_on = None

LIVE = "deleted_at IS NULL"
INDEXES = [
    ("ix_issues_external_key", "external_key", "external_key IS NOT NULL"),
    ("ix_issues_resolved_at_assignee_id_created_at", "resolved_at, assignee_id, created_at", "resolved_at IS NOT NULL"),
]


def _remake(narrow: bool) -> None:
    for name, columns, predicate in INDEXES:
        where = f"{LIVE} AND {predicate}" if narrow else LIVE
        op.execute(f"DROP INDEX IF EXISTS {name}")
        op.execute(f"CREATE INDEX {name} ON issues ({columns}) WHERE {where}")


def upgrade():
    _remake(narrow=True)


def downgrade():
    _remake(narrow=False)
