"""An import records the issue ids it created as ranges (import_issue_ranges), not one 'imported' event per issue.

The timeline's "imported from <file> by <user>" entry is now read from the range holding the issue and its
import run. The import wrote 100,000 event rows for 100,000 issues, each checked against two foreign keys:
about a second on PostgreSQL, a fifth of the whole import. Its ranges are one row unless other people created
issues while it ran. They also name exactly which issues an import created, for the list's import filter.

Upgrade: the existing 'imported' events whose run still exists become ranges (runs of consecutive issue ids,
gaps and islands), then those events are deleted. Events whose run is gone stay and are shown as before.
Downgrade: one 'imported' event per issue still in a range, by the issue's reporter (who imported it).

Revision ID: 0012
Revises: 0011
Create Date: 2026-11-25 13:00:00

"""

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None

# The run id an 'imported' event recorded in its changes, per dialect.
RUN_ID = {
    "postgresql": "CAST(e.changes ->> 'import_run' AS integer)",
    "sqlite": "CAST(json_extract(e.changes, '$.import_run') AS INTEGER)",
}
# The changes of a re-created event, per dialect.
CHANGES = {
    "postgresql": "json_build_object('import_run', r.id, 'file', r.file_name)",
    "sqlite": "json_object('import_run', r.id, 'file', r.file_name)",
}


def upgrade():
    op.create_table(
        "import_issue_ranges",
        sa.Column("first_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("last_id", sa.Integer(), nullable=False),
        sa.Column("run_id", sa.Integer(), nullable=False),
        sa.CheckConstraint("first_id <= last_id", name=op.f("ck_import_issue_ranges_order")),
        sa.ForeignKeyConstraint(
            ["run_id"], ["import_runs.id"], name=op.f("fk_import_issue_ranges_run_id_import_runs"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("first_id", name=op.f("pk_import_issue_ranges")),
    )
    with op.batch_alter_table("import_issue_ranges", schema=None) as batch_op:
        batch_op.create_index("ix_import_issue_ranges_run_id", ["run_id"], unique=False)

    run_id = RUN_ID[op.get_bind().dialect.name]
    imported = (
        f"SELECT e.id AS event_id, e.issue_id, {run_id} AS run_id FROM issue_events e"
        f" WHERE e.kind = 'imported' AND {run_id} IN (SELECT id FROM import_runs)"
    )
    # Consecutive issue ids of one run share issue_id - row_number(): each such group is one range.
    op.execute(
        "INSERT INTO import_issue_ranges (first_id, last_id, run_id)"
        " SELECT min(issue_id), max(issue_id), run_id FROM ("
        "   SELECT issue_id, run_id, issue_id - row_number() OVER (PARTITION BY run_id ORDER BY issue_id) AS island"
        f"  FROM ({imported}) AS i"
        " ) AS islands GROUP BY run_id, island"
    )
    op.execute(f"DELETE FROM issue_events WHERE id IN (SELECT event_id FROM ({imported}) AS i)")


def downgrade():
    changes = CHANGES[op.get_bind().dialect.name]
    op.execute(
        "INSERT INTO issue_events (issue_id, actor_id, kind, changes, version, created_at)"
        f" SELECT i.id, i.reporter_id, 'imported', {changes}, 1, coalesce(r.finished_at, r.created_at)"
        " FROM import_issue_ranges g"
        " JOIN import_runs r ON r.id = g.run_id"
        " JOIN issues i ON i.id BETWEEN g.first_id AND g.last_id"
        " ORDER BY i.id"
    )
    with op.batch_alter_table("import_issue_ranges", schema=None) as batch_op:
        batch_op.drop_index("ix_import_issue_ranges_run_id")
    op.drop_table("import_issue_ranges")
