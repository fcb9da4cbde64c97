"""Attachments: files on issues and comments (the bytes live in the attachment store, not in the database).

One row per file: who attached it, its name as uploaded, the content type found by reading it, its size, its
SHA-256 (unique per issue: one issue keeps one copy of each content), the random key of the stored object and
of its thumbnail, and an image's pixel size. Timeline entries for attaching and deleting are issue_events of
the kinds 'attached' and 'attachment_deleted' (the kind column already holds any name of up to 20 characters).

Upgrade: creates the table. Downgrade: drops it and those timeline entries; the stored files stay in the store
(instance/attachments/ or the bucket) until removed by hand.

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-05 10:00:00

"""

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "attachments",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("issue_id", sa.Integer(), nullable=False),
        sa.Column("comment_id", sa.Integer(), nullable=True),
        sa.Column("uploader_id", sa.Integer(), nullable=False),
        sa.Column("file_name", sa.String(length=255), nullable=False),
        sa.Column("content_type", sa.String(length=100), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("storage_key", sa.String(length=100), nullable=False),
        sa.Column("thumbnail_key", sa.String(length=100), nullable=True),
        sa.Column("width", sa.Integer(), nullable=True),
        sa.Column("height", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.CheckConstraint("size >= 0", name=op.f("ck_attachments_size")),
        sa.ForeignKeyConstraint(
            ["issue_id"], ["issues.id"], name=op.f("fk_attachments_issue_id_issues"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["comment_id"], ["comments.id"], name=op.f("fk_attachments_comment_id_comments"), ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(["uploader_id"], ["users.id"], name=op.f("fk_attachments_uploader_id_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_attachments")),
        sa.UniqueConstraint("issue_id", "sha256", name="uq_attachments_issue_id_sha256"),
        sa.UniqueConstraint("storage_key", name=op.f("uq_attachments_storage_key")),
        sa.UniqueConstraint("thumbnail_key", name=op.f("uq_attachments_thumbnail_key")),
    )
    op.create_index("ix_attachments_comment_id", "attachments", ["comment_id"], unique=False)


def downgrade():
    op.execute("DELETE FROM issue_events WHERE kind IN ('attached', 'attachment_deleted')")
    op.drop_index("ix_attachments_comment_id", table_name="attachments")
    op.drop_table("attachments")
