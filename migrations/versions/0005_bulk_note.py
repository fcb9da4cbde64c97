"""Bulk changes: the reason (note) recorded with each bulk change event.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-25 06:30:00

"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("issue_events", schema=None) as batch_op:
        batch_op.add_column(sa.Column("note", sa.Text(), nullable=True))


def downgrade():
    with op.batch_alter_table("issue_events", schema=None) as batch_op:
        batch_op.drop_column("note")
