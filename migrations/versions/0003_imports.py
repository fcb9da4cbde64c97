"""CSV imports: import runs (filled in by the import work).

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-25 06:20:00

"""

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
