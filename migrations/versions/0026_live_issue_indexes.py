"""The issues' list, sort and report indexes hold live issues only (issue 22: undoing a 100,000-issue import).

Moving issues to the trash sets deleted_at, and an indexed column changed means a new entry in every index of the
table: undoing an import of 100,000 issues wrote 1.6 million index entries (3.4 s of the undo's 5.2 s at 1,000,000
issues). Every read of live issues carries `deleted_at IS NULL`, so those indexes can leave the trash out: made
partial on that condition, a row that leaves for the trash is added only to the primary key and the trash's own
index. The UPDATE fell from 3.4 s to 0.8 s, the whole undo from 5.2 s to 1.7 s; restoring writes the entries back,
as before. The indexes lose the trash's rows; the list's, search's and reports' times are unchanged.

Both databases; the priority-rank expression index and (PostgreSQL) the covering sort index are made by hand, as
before. The downgrade makes them whole again.

Revision ID: 0026
Revises: 0025
Create Date: 2026-12-06 03:45:00

"""

from alembic import op

revision = "0026"
down_revision = "0025"
branch_labels = None
depends_on = None

LIVE = "deleted_at IS NULL"
OPEN_ISSUE = "status IN ('open', 'in_progress')"
# The same text as tracker.issues.queries.PRIORITY_RANK, so the planners match the ORDER BY to it.
PRIORITY_RANK = "(CASE priority WHEN 'low' THEN 1 WHEN 'medium' THEN 2 WHEN 'high' THEN 3 WHEN 'critical' THEN 4 END)"

# name, key columns, included columns (PostgreSQL only), a predicate of its own, PostgreSQL only
INDEXES = [
    ("ix_issues_updated_at_id", "updated_at, id", None, None, False),
    ("ix_issues_created_at_id", "created_at, id", None, None, False),
    ("ix_issues_status_updated_at_id", "status, updated_at, id", None, None, False),
    ("ix_issues_assignee_id_updated_at_id", "assignee_id, updated_at, id", None, None, False),
    ("ix_issues_assignee_id_status_updated_at_id", "assignee_id, status, updated_at, id", "priority", None, False),
    ("ix_issues_priority_updated_at_id", "priority, updated_at, id", None, None, False),
    ("ix_issues_reporter_id", "reporter_id", None, None, False),
    ("ix_issues_external_key", "external_key", None, None, False),
    ("ix_issues_resolved_at_assignee_id_created_at", "resolved_at, assignee_id, created_at", None, None, False),
    ("ix_issues_assignee_id_status_resolved_at", "assignee_id, status, resolved_at", None, None, False),
    ("ix_issues_open_created_at_id", "created_at, id, status, priority", None, OPEN_ISSUE, False),
    ("ix_issues_priority_rank_id", f"{PRIORITY_RANK}, id", None, None, False),
    ("ix_issues_id_sort", "id", "updated_at, created_at, priority, status", None, True),
]


def _remake(live: bool) -> None:
    postgresql = op.get_bind().dialect.name == "postgresql"
    for name, columns, include, where, postgresql_only in INDEXES:
        if postgresql_only and not postgresql:
            continue
        predicates = ([LIVE] if live else []) + ([where] if where else [])
        sql = f"CREATE INDEX {name} ON issues ({columns})"
        if include and postgresql:
            sql += f" INCLUDE ({include})"
        if predicates:
            sql += " WHERE " + " AND ".join(predicates)
        op.execute(f"DROP INDEX IF EXISTS {name}")
        op.execute(sql)


def upgrade():
    _remake(live=True)


def downgrade():
    _remake(live=False)
