"""The timeline's entries without a foreign key to their issue (issues 18, 23).

Every entry of issue_events is written by the change it records, after that change has updated (and so locked) its
issue in the same transaction: one entry by an edit, a comment or a move to the trash, ten thousand in one INSERT by
a bulk change. PostgreSQL 15 still checked the issue key row by row, and each check takes a key-share lock on an
issue row the transaction has just updated: the new row version gets a lock of its own, a dirtied page and a WAL
record per entry. Measured on 1,000,000 issues (bench database, 2026-12-07, four alternating rounds of the same
10,000-entry INSERT after an UPDATE of its 10,000 issues, rolled back): 298-385 ms with the key, 135-169 ms without
it. The actor's key (people: a small table, never updated by a change) cost 20-40 ms in the same measurement and
stays, as does the comment's.

What the key did is kept otherwise: a DELETE of issues removes their entries, in one statement per DELETE on
PostgreSQL (a statement trigger with a transition table, where the cascade deleted row by row) and by a row trigger
on SQLite; a TRUNCATE of the issues empties the table, as it empties issue_documents and watchers. The app deletes
issues only when the trash is purged (which deletes their entries itself) and when an import is undone. The one
orphan still possible is an entry written by direct SQL for an issue that does not exist: it names an issue no page
shows, and issue numbers are never reused.

Downgrade deletes any such orphans and puts the foreign key back.

Revision ID: 0032
Revises: 0031
Create Date: 2026-12-07 18:30:00

"""

import contextlib
import warnings

from alembic import op

revision = "0032"
down_revision = "0031"
branch_labels = None
depends_on = None

KEY = "fk_issue_events_issue_id_issues"

POSTGRES_UPGRADE = """
CREATE FUNCTION events_of_deleted_issues() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM issue_events WHERE issue_id IN (SELECT old_issues.id FROM old_issues);
    RETURN NULL;
END $$;

-- DELETE, not TRUNCATE: a TRUNCATE naming both tables (a test reset, a data load) still uses issue_events when this
-- runs, and by then has emptied it.
CREATE FUNCTION events_of_truncated_issues() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM issue_events;
    RETURN NULL;
END $$;

CREATE TRIGGER events_issues_deleted AFTER DELETE ON issues
    REFERENCING OLD TABLE AS old_issues FOR EACH STATEMENT EXECUTE FUNCTION events_of_deleted_issues();

CREATE TRIGGER events_issues_truncated AFTER TRUNCATE ON issues
    FOR EACH STATEMENT EXECUTE FUNCTION events_of_truncated_issues();
"""

POSTGRES_DOWNGRADE = """
DROP TRIGGER IF EXISTS events_issues_deleted ON issues;
DROP TRIGGER IF EXISTS events_issues_truncated ON issues;
DROP FUNCTION IF EXISTS events_of_deleted_issues();
DROP FUNCTION IF EXISTS events_of_truncated_issues();
"""

# SQLite has row triggers only. A later migration that rebuilds issues in batch mode drops this with the old table and
# must create it again (tests/test_schema.py deletes an issue with entries).
SQLITE_TRIGGER = (
    "CREATE TRIGGER events_issues_deleted AFTER DELETE ON issues BEGIN "
    "DELETE FROM issue_events WHERE issue_id = OLD.id; END"
)

ORPHANS = "DELETE FROM issue_events WHERE issue_id NOT IN (SELECT id FROM issues)"


@contextlib.contextmanager
def _rebuilding_events():
    """issue_events copied without or with the key (SQLite's batch mode). Batch mode reflects the tables it refers
    to; it cannot reflect the issues' expression index and says so as a warning (that index is not touched)."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", "Skipped unsupported reflection of expression-based index")
        with op.batch_alter_table("issue_events", schema=None, recreate="always") as batch_op:
            yield batch_op


def upgrade():
    if op.get_bind().dialect.name == "postgresql":
        op.drop_constraint(KEY, "issue_events", type_="foreignkey")
        op.execute(POSTGRES_UPGRADE)
        return
    with _rebuilding_events() as batch_op:
        batch_op.drop_constraint(KEY, type_="foreignkey")
    op.execute(SQLITE_TRIGGER)


def downgrade():
    if op.get_bind().dialect.name == "postgresql":
        op.execute(POSTGRES_DOWNGRADE)
        op.execute(ORPHANS)
        op.create_foreign_key(KEY, "issue_events", "issues", ["issue_id"], ["id"], ondelete="CASCADE")
        return
    op.execute("DROP TRIGGER IF EXISTS events_issues_deleted")
    op.execute(ORPHANS)
    with _rebuilding_events() as batch_op:
        batch_op.create_foreign_key(KEY, "issues", ["issue_id"], ["id"], ondelete="CASCADE")
