"""Comments are rendered on view, as issue descriptions are: comments.body_html is dropped.

Comments stored their HTML, rendered once on save, while descriptions were rendered on every view, so a change
of the Markdown renderer (issue references that link only to issues that exist, mentions of people) would have
needed a data migration for comments and not for descriptions. Both now render through tracker/markdown.py
on view (cached by source), and no stored HTML can go stale.

Upgrade: drops the column (its HTML was derived from `body`; nothing else is lost). On both databases this is
an ALTER TABLE ... DROP COLUMN in place (SQLite 3.35 or later): Alembic's batch mode would rebuild the table on
SQLite, and dropping the old table there deletes, through issue_events.comment_id's ON DELETE CASCADE, every
comment's timeline entry.
Downgrade: adds the column back and fills it by rendering each comment's Markdown with the renderer of the code
doing the downgrade, 1,000 comments at a time: what the old code would have stored on save (a deleted comment,
whose body is empty, gets ""). For the same reason the column is added in place, NOT NULL with a default of "";
PostgreSQL then drops the default, SQLite cannot without a rebuild and keeps it (the old code always writes it).

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-04 15:00:00

"""

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None

BATCH = 1000


def upgrade():
    bind = op.get_bind()
    version = bind.dialect.server_version_info
    if bind.dialect.name == "sqlite" and version < (3, 35):
        found = ".".join(map(str, version))
        raise RuntimeError(f"Migration 0013 needs SQLite 3.35 or later (for DROP COLUMN), not {found}.")
    op.execute("ALTER TABLE comments DROP COLUMN body_html")


def downgrade():
    from tracker.markdown import render_markdown

    op.execute("ALTER TABLE comments ADD COLUMN body_html TEXT NOT NULL DEFAULT ''")
    bind = op.get_bind()
    comments = sa.table(
        "comments", sa.column("id", sa.Integer), sa.column("body", sa.Text), sa.column("body_html", sa.Text)
    )
    fill = sa.update(comments).where(comments.c.id == sa.bindparam("comment_id")).values(body_html=sa.bindparam("html"))
    last = 0
    while rows := bind.execute(
        sa.select(comments.c.id, comments.c.body).where(comments.c.id > last).order_by(comments.c.id).limit(BATCH)
    ).all():
        bind.execute(fill, [{"comment_id": comment_id, "html": render_markdown(body)} for comment_id, body in rows])
        last = rows[-1].id
    if bind.dialect.name == "postgresql":
        op.execute("ALTER TABLE comments ALTER COLUMN body_html DROP DEFAULT")
