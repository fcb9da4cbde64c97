"""Vacuum and analyse the issues table after 2% of its rows change, not PostgreSQL's default 20%.

Index-only scans (the list's counts, every report figure) need the visibility map to be current; a few bulk
changes of 10,000 issues leave it stale for hours at the default threshold on a table of a million issues,
and the report queries then read the table again (measured 2-3 times slower at 1M issues). PostgreSQL only:
SQLite has no autovacuum of this kind.

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-25 09:10:00

"""

from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

SETTINGS = (
    "autovacuum_vacuum_scale_factor",
    "autovacuum_vacuum_insert_scale_factor",
    "autovacuum_analyze_scale_factor",
)


def upgrade():
    if op.get_bind().dialect.name == "postgresql":
        op.execute(f"ALTER TABLE issues SET ({', '.join(f'{name} = 0.02' for name in SETTINGS)})")


def downgrade():
    if op.get_bind().dialect.name == "postgresql":
        op.execute(f"ALTER TABLE issues RESET ({', '.join(SETTINGS)})")
