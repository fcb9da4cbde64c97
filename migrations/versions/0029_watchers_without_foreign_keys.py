"""Watchers without foreign keys: the rows of deleted issues and people go with them through triggers (issues 18, 23).

Every watcher row is written from rows that exist (an issue joined in the same statement, a person read from the
users table), yet PostgreSQL checked both foreign keys again row by row, each a lookup and a row lock through its
SPI machinery. An import of 100,000 issues makes its reporters and assignees watch them, 187,000 rows: measured at
1M issues, their INSERT took 4.1 s with the two foreign keys (2.5 s in the two checks) and 1.7 s without them. A bulk
change that gives 10,000 issues an assignee checked 20,000 keys more.

What the foreign keys did is kept otherwise: a DELETE of issues (the trash's purge, undoing an import) or of people
removes their watcher rows, in one statement per DELETE on PostgreSQL (a statement trigger with a transition table,
where the cascade deleted row by row) and a row trigger on SQLite; a TRUNCATE of the issues empties the table, as
it does issue_documents. The only orphan left possible is a watcher written while its issue is being purged in
another transaction: it names an issue that no page shows and no list joins, and issue numbers are never reused.

Downgrade deletes any such orphans and puts the foreign keys back.

Revision ID: 0029
Revises: 0028
Create Date: 2026-12-06 22:30:00

"""

import contextlib
import warnings

from alembic import op

revision = "0029"
down_revision = "0028"
branch_labels = None
depends_on = None

FOREIGN_KEYS = (
    ("fk_watchers_issue_id_issues", "issue_id", "issues"),
    ("fk_watchers_user_id_users", "user_id", "users"),
)

POSTGRES_UPGRADE = """
CREATE FUNCTION watchers_of_deleted_issues() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM watchers WHERE issue_id IN (SELECT old_issues.id FROM old_issues);
    RETURN NULL;
END $$;

CREATE FUNCTION watchers_of_deleted_users() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM watchers WHERE user_id IN (SELECT old_users.id FROM old_users);
    RETURN NULL;
END $$;

-- DELETE, not TRUNCATE: a TRUNCATE naming both tables (a test reset, a data load) still uses watchers when this runs.
CREATE FUNCTION watchers_of_truncated_issues() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM watchers;
    RETURN NULL;
END $$;

CREATE TRIGGER watchers_issue_deleted AFTER DELETE ON issues
    REFERENCING OLD TABLE AS old_issues FOR EACH STATEMENT EXECUTE FUNCTION watchers_of_deleted_issues();

CREATE TRIGGER watchers_user_deleted AFTER DELETE ON users
    REFERENCING OLD TABLE AS old_users FOR EACH STATEMENT EXECUTE FUNCTION watchers_of_deleted_users();

CREATE TRIGGER watchers_issues_truncated AFTER TRUNCATE ON issues
    FOR EACH STATEMENT EXECUTE FUNCTION watchers_of_truncated_issues();
"""

POSTGRES_DOWNGRADE = """
DROP TRIGGER IF EXISTS watchers_issue_deleted ON issues;
DROP TRIGGER IF EXISTS watchers_user_deleted ON users;
DROP TRIGGER IF EXISTS watchers_issues_truncated ON issues;
DROP FUNCTION IF EXISTS watchers_of_deleted_issues();
DROP FUNCTION IF EXISTS watchers_of_deleted_users();
DROP FUNCTION IF EXISTS watchers_of_truncated_issues();
"""

# SQLite: row triggers (it has no statement triggers). A migration that later rebuilds issues or users in batch mode
# drops these with the old table and must create them again (tests/test_notifications.py deletes both kinds).
SQLITE_TRIGGERS = (
    "CREATE TRIGGER watchers_issue_deleted AFTER DELETE ON issues BEGIN "
    "DELETE FROM watchers WHERE issue_id = OLD.id; END",
    "CREATE TRIGGER watchers_user_deleted AFTER DELETE ON users BEGIN "
    "DELETE FROM watchers WHERE user_id = OLD.id; END",
)


@contextlib.contextmanager
def _reflecting():
    """SQLite's batch mode reflects the tables the watchers refer to; it cannot reflect the issues' expression index
    and says so as a warning (the index is not touched)."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", "Skipped unsupported reflection of expression-based index")
        yield


def upgrade():
    if op.get_bind().dialect.name == "postgresql":
        for name, _column, _table in FOREIGN_KEYS:
            op.drop_constraint(name, "watchers", type_="foreignkey")
        op.execute(POSTGRES_UPGRADE)
        return
    with _reflecting(), op.batch_alter_table("watchers", schema=None, recreate="always") as batch_op:
        for name, _column, _table in FOREIGN_KEYS:
            batch_op.drop_constraint(name, type_="foreignkey")
    for statement in SQLITE_TRIGGERS:
        op.execute(statement)


def downgrade():
    postgres = op.get_bind().dialect.name == "postgresql"
    if postgres:
        op.execute(POSTGRES_DOWNGRADE)
    else:
        op.execute("DROP TRIGGER IF EXISTS watchers_issue_deleted")
        op.execute("DROP TRIGGER IF EXISTS watchers_user_deleted")
    for _name, column, table in FOREIGN_KEYS:
        op.execute(f"DELETE FROM watchers WHERE {column} NOT IN (SELECT id FROM {table})")
    if postgres:
        for name, column, table in FOREIGN_KEYS:
            op.create_foreign_key(name, "watchers", table, [column], ["id"], ondelete="CASCADE")
        return
    with _reflecting(), op.batch_alter_table("watchers", schema=None, recreate="always") as batch_op:
        for name, column, table in FOREIGN_KEYS:
            batch_op.create_foreign_key(name, table, [column], ["id"], ondelete="CASCADE")
