"""Hardening (issue 17): signed-in browsers as rows, trusted sign-in addresses, running exports, failed imports.

- user_sessions: one row per signed-in browser (the cookie carries a random key, the row its SHA-256), so signing
  out, a password change or a deactivation ends a session on the server.
- sign_in_addresses: where each person signed in successfully before; failures from elsewhere never slow them
  down there.
- export_slots: the CSV exports being streamed, counted per person across app processes.
- import_runs.failure: why importing a staged file in one request failed (the file stays staged, in the history).

Upgrade creates the three tables and adds the column; every signed-in browser signs in once more (the cookies of
before name no session row). Downgrade drops them.

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-04 17:00:00

"""

import sqlalchemy as sa
from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "user_sessions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("key_hash", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("last_seen_at", sa.DateTime(), nullable=False),
        sa.Column("address", sa.String(length=64), nullable=False),
        sa.Column("user_agent", sa.String(length=100), nullable=False),
        sa.Column("ended_at", sa.DateTime(), nullable=True),
        sa.Column("ended_reason", sa.String(length=20), nullable=True),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_user_sessions_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_user_sessions")),
        sa.UniqueConstraint("key_hash", name=op.f("uq_user_sessions_key_hash")),
    )
    with op.batch_alter_table("user_sessions", schema=None) as batch_op:
        batch_op.create_index("ix_user_sessions_user_id_id", ["user_id", "id"], unique=False)

    op.create_table(
        "sign_in_addresses",
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("address", sa.String(length=64), nullable=False),
        sa.Column("last_success_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_sign_in_addresses_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("user_id", "address", name=op.f("pk_sign_in_addresses")),
    )

    op.create_table(
        "export_slots",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("started_at", sa.DateTime(), nullable=False),
        sa.Column("seen_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_export_slots_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_export_slots")),
    )
    with op.batch_alter_table("export_slots", schema=None) as batch_op:
        batch_op.create_index("ix_export_slots_user_id", ["user_id"], unique=False)

    # Added in place (no batch rebuild): a nullable column needs no table copy on either database.
    op.add_column("import_runs", sa.Column("failure", sa.Text(), nullable=True))


def downgrade():
    op.drop_column("import_runs", "failure")
    with op.batch_alter_table("export_slots", schema=None) as batch_op:
        batch_op.drop_index("ix_export_slots_user_id")
    op.drop_table("export_slots")
    op.drop_table("sign_in_addresses")
    with op.batch_alter_table("user_sessions", schema=None) as batch_op:
        batch_op.drop_index("ix_user_sessions_user_id_id")
    op.drop_table("user_sessions")
