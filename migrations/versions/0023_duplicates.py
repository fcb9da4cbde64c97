"""Close as duplicate (issue 22): issues.duplicate_of_id names the issue a closed one duplicates.

The link shows both ways ("Duplicate of #N" on the closed issue, "Duplicates: #M" on the other), read through a
partial index that holds only the duplicates (few rows). Reopening an issue clears it.

Downgrade drops the column (the issues stay closed; their timelines still say what they duplicated).

Revision ID: 0023
Revises: 0022
Create Date: 2026-12-05 08:10:00

"""

import warnings

import sqlalchemy as sa
from alembic import op

revision = "0023"
down_revision = "0022"
branch_labels = None
depends_on = None

# The same text as migration 0006's expression index, which SQLite's batch mode cannot carry over a table copy.
PRIORITY_RANK = "(CASE priority WHEN 'low' THEN 1 WHEN 'medium' THEN 2 WHEN 'high' THEN 3 WHEN 'critical' THEN 4 END)"
DUPLICATE = sa.text("duplicate_of_id IS NOT NULL")
CONSTRAINT = "fk_issues_duplicate_of_id_issues"


def upgrade():
    # In place on SQLite (batch mode would copy the table and lose its expression index).
    if op.get_bind().dialect.name == "sqlite":
        op.execute(
            f"ALTER TABLE issues ADD COLUMN duplicate_of_id INTEGER CONSTRAINT {CONSTRAINT} REFERENCES issues (id)"
        )
    else:
        op.add_column("issues", sa.Column("duplicate_of_id", sa.Integer(), nullable=True))
        op.create_foreign_key(CONSTRAINT, "issues", "issues", ["duplicate_of_id"], ["id"])
    op.create_index(
        "ix_issues_duplicate_of_id",
        "issues",
        ["duplicate_of_id"],
        postgresql_where=DUPLICATE,
        sqlite_where=DUPLICATE,
    )


def downgrade():
    op.drop_index("ix_issues_duplicate_of_id", table_name="issues")
    sqlite = op.get_bind().dialect.name == "sqlite"
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", "Skipped unsupported reflection of expression-based index")
        with op.batch_alter_table("issues", schema=None) as batch_op:
            if not sqlite:
                batch_op.drop_constraint(CONSTRAINT, type_="foreignkey")
            batch_op.drop_column("duplicate_of_id")
    if sqlite:
        op.execute(f"CREATE INDEX IF NOT EXISTS ix_issues_priority_rank_id ON issues ({PRIORITY_RANK}, id)")
