"""Saved views (issue 20): named queries of the issue list, private or shared, each person's order of them and the
ones pinned to their page; the team's first shared views; an index for involves:@me (issues a person commented on).

Revision ID: 0022
Revises: 0021
Create Date: 2026-12-05 08:20:00

"""

import sqlalchemy as sa
from alembic import op

revision = "0022"
down_revision = "0021"
branch_labels = None
depends_on = None

# The team starts with these shared views (no owner: admins manage them).
DEFAULT_VIEWS = [
    ("My open issues", "is:open assignee:@me"),
    ("Reported by me", "reporter:@me"),
    ("Unassigned", "is:open no:assignee"),
    ("Recently updated", "sort:updated-desc"),
]


def upgrade():
    views = op.create_table(
        "saved_views",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("query", sa.String(length=500), server_default="", nullable=False),
        sa.Column("shared", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column("owner_id", sa.Integer(), nullable=True),
        sa.Column("version", sa.Integer(), server_default="1", nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.CheckConstraint("version >= 1", name=op.f("ck_saved_views_version")),
        sa.ForeignKeyConstraint(["owner_id"], ["users.id"], name=op.f("fk_saved_views_owner_id_users"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_saved_views")),
    )
    op.create_index("ix_saved_views_owner_id", "saved_views", ["owner_id"])
    op.create_index("ix_saved_views_shared", "saved_views", ["shared"])
    op.create_table(
        "saved_view_places",
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("view_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), server_default="0", nullable=False),
        sa.Column("pinned", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name=op.f("fk_saved_view_places_user_id_users"),
                                ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["view_id"], ["saved_views.id"],
                                name=op.f("fk_saved_view_places_view_id_saved_views"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("user_id", "view_id", name=op.f("pk_saved_view_places")),
    )
    op.create_index("ix_saved_view_places_view_id", "saved_view_places", ["view_id"])
    op.create_index("ix_comments_author_id_issue_id", "comments", ["author_id", "issue_id"])
    postgres = op.get_bind().dialect.name == "postgresql"
    now = sa.text("(now() AT TIME ZONE 'utc')") if postgres else sa.text("CURRENT_TIMESTAMP")  # naive UTC, as utcnow()
    for name, query in DEFAULT_VIEWS:
        op.execute(
            views.insert().values(name=name, query=query, shared=True, owner_id=None, version=1, created_at=now,
                                  updated_at=now)
        )


def downgrade():
    op.drop_index("ix_comments_author_id_issue_id", table_name="comments")
    op.drop_index("ix_saved_view_places_view_id", table_name="saved_view_places")
    op.drop_table("saved_view_places")
    op.drop_index("ix_saved_views_shared", table_name="saved_views")
    op.drop_index("ix_saved_views_owner_id", table_name="saved_views")
    op.drop_table("saved_views")
