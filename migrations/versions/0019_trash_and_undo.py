"""Undo anything (issue 22): the trash for issues, and undoing an import.

- issues.deleted_at, deleted_by_id: a deleted issue is in the trash, kept whole but left out of every list, search,
  report, export and API answer; purged_at: a purged one keeps only its row, so its number is never given again.
  A partial index holds only the deleted issues (the trash page and the retention purge read it).
- issues.external_key: the issue's key in the tracker it was imported from (Jira PROJ-12, Redmine 101), indexed:
  shown, searchable, exported, and the match of a newer export of that tracker. Before, an import kept it as the last
  line of the description; those lines stay as they are.
- import_runs.updated_count, unchanged_count: rows of a file that updated one of Tracker's issues (its id column),
  and rows that named one without changing it.
- import_runs.undone_at/undone_by_id and redone_at/redone_by_id: who last moved an import's issues to the trash,
  and who brought them back.

Downgrade drops the columns (issues in the trash come back as live issues: nothing is lost).

Revision ID: 0019
Revises: 0015
Create Date: 2026-12-04 18:40:00

"""

import warnings

import sqlalchemy as sa
from alembic import op

revision = "0019"
down_revision = "0015"
branch_labels = None
depends_on = None


# The same text as migration 0006's expression index, which SQLite's batch mode cannot carry over a table copy.
PRIORITY_RANK = "(CASE priority WHEN 'low' THEN 1 WHEN 'medium' THEN 2 WHEN 'high' THEN 3 WHEN 'critical' THEN 4 END)"
DELETED = sa.text("deleted_at IS NOT NULL")


def _add_user_column(table: str, name: str) -> None:
    """A nullable reference to a person, added in place: on SQLite as ALTER TABLE ADD COLUMN ... REFERENCES (batch mode
    would copy the table and lose its expression index)."""
    constraint = f"fk_{table}_{name}_users"
    if op.get_bind().dialect.name == "sqlite":
        op.execute(f"ALTER TABLE {table} ADD COLUMN {name} INTEGER CONSTRAINT {constraint} REFERENCES users (id)")
    else:
        op.add_column(table, sa.Column(name, sa.Integer(), nullable=True))
        op.create_foreign_key(constraint, table, "users", [name], ["id"])


def upgrade():
    op.add_column("issues", sa.Column("deleted_at", sa.DateTime(), nullable=True))
    _add_user_column("issues", "deleted_by_id")
    op.add_column("issues", sa.Column("purged_at", sa.DateTime(), nullable=True))
    op.add_column("issues", sa.Column("external_key", sa.String(length=100), nullable=True))
    op.create_index("ix_issues_external_key", "issues", ["external_key"])
    op.create_index(
        "ix_issues_deleted_at_id", "issues", ["deleted_at", "id"], postgresql_where=DELETED, sqlite_where=DELETED
    )
    op.add_column("import_runs", sa.Column("updated_count", sa.Integer(), server_default="0", nullable=False))
    op.add_column("import_runs", sa.Column("unchanged_count", sa.Integer(), server_default="0", nullable=False))
    op.add_column("import_runs", sa.Column("undone_at", sa.DateTime(), nullable=True))
    _add_user_column("import_runs", "undone_by_id")
    op.add_column("import_runs", sa.Column("redone_at", sa.DateTime(), nullable=True))
    _add_user_column("import_runs", "redone_by_id")


def downgrade():
    op.drop_index("ix_issues_deleted_at_id", table_name="issues")
    op.drop_index("ix_issues_external_key", table_name="issues")
    sqlite = op.get_bind().dialect.name == "sqlite"
    for table, names in (
        ("import_runs", ("redone_by_id", "redone_at", "undone_by_id", "undone_at", "unchanged_count", "updated_count")),
        ("issues", ("external_key", "purged_at", "deleted_by_id", "deleted_at")),
    ):
        # SQLite copies the table without the dropped columns and their references; it cannot reflect the expression
        # index (said as a warning), which is made again below.
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", "Skipped unsupported reflection of expression-based index")
            with op.batch_alter_table(table, schema=None) as batch_op:
                for name in names:
                    if name.endswith("_by_id") and not sqlite:
                        batch_op.drop_constraint(f"fk_{table}_{name}_users", type_="foreignkey")
                    batch_op.drop_column(name)
    if sqlite:
        op.execute(f"CREATE INDEX IF NOT EXISTS ix_issues_priority_rank_id ON issues ({PRIORITY_RANK}, id)")
