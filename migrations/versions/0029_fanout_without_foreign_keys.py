"""The notification fan-out's tables without foreign keys: watchers and notifications.user_id (issues 18, 23).

Every watcher and notification row is written from rows that exist (an issue joined in the same statement, a person
read from the users table), yet PostgreSQL checked their foreign keys again, row by row, each check a lookup and a
row lock through its SPI machinery. Measured at 1M issues:
- an import of 100,000 issues makes its reporters and assignees watch them, 187,000 rows: their INSERT took 4.1 s
  with the two foreign keys of watchers (2.5 s in the checks) and 1.7 s without them;
- a bulk status change of 10,000 issues watched by three people each writes 30,000 notifications, whose one foreign
  key (user_id) took 166-185 ms of the 450-690 ms INSERT.
notifications already had no other foreign key, for the same reason (migration 0021).

What the foreign keys did is kept otherwise: a DELETE of issues or of people removes their watcher rows, and a
DELETE of people their notifications, in one statement per DELETE on PostgreSQL (statement triggers with transition
tables, where the cascades deleted row by row) and by row triggers on SQLite; a TRUNCATE of the issues empties the
watchers, as it empties issue_documents. The app itself never deletes either (issues go to the trash and stay as
tombstones, people are deactivated): these keep direct SQL and data loads tidy. The one orphan still possible is a
watcher written while another transaction deletes its issue: it names an issue no page shows and no list joins, and
issue numbers are never reused.

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

# (table, constraint, column, the table it refers to)
FOREIGN_KEYS = (
    ("watchers", "fk_watchers_issue_id_issues", "issue_id", "issues"),
    ("watchers", "fk_watchers_user_id_users", "user_id", "users"),
    ("notifications", "fk_notifications_user_id_users", "user_id", "users"),
)

POSTGRES_UPGRADE = """
CREATE FUNCTION fanout_of_deleted_issues() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM watchers WHERE issue_id IN (SELECT old_issues.id FROM old_issues);
    RETURN NULL;
END $$;

CREATE FUNCTION fanout_of_deleted_users() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM watchers WHERE user_id IN (SELECT old_users.id FROM old_users);
    DELETE FROM notifications WHERE user_id IN (SELECT old_users.id FROM old_users);
    RETURN NULL;
END $$;

-- DELETE, not TRUNCATE: a TRUNCATE naming both tables (a test reset, a data load) still uses watchers when this runs.
CREATE FUNCTION fanout_of_truncated_issues() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM watchers;
    RETURN NULL;
END $$;

CREATE TRIGGER fanout_issues_deleted AFTER DELETE ON issues
    REFERENCING OLD TABLE AS old_issues FOR EACH STATEMENT EXECUTE FUNCTION fanout_of_deleted_issues();

CREATE TRIGGER fanout_users_deleted AFTER DELETE ON users
    REFERENCING OLD TABLE AS old_users FOR EACH STATEMENT EXECUTE FUNCTION fanout_of_deleted_users();

CREATE TRIGGER fanout_issues_truncated AFTER TRUNCATE ON issues
    FOR EACH STATEMENT EXECUTE FUNCTION fanout_of_truncated_issues();
"""

POSTGRES_DOWNGRADE = """
DROP TRIGGER IF EXISTS fanout_issues_deleted ON issues;
DROP TRIGGER IF EXISTS fanout_users_deleted ON users;
DROP TRIGGER IF EXISTS fanout_issues_truncated ON issues;
DROP FUNCTION IF EXISTS fanout_of_deleted_issues();
DROP FUNCTION IF EXISTS fanout_of_deleted_users();
DROP FUNCTION IF EXISTS fanout_of_truncated_issues();
"""

# SQLite has row triggers only. A later migration that rebuilds issues or users in batch mode drops these with the old
# table and must create them again (tests/test_notifications.py deletes both kinds).
SQLITE_TRIGGERS = {
    "fanout_issues_deleted": "AFTER DELETE ON issues BEGIN DELETE FROM watchers WHERE issue_id = OLD.id; END",
    "fanout_users_deleted": "AFTER DELETE ON users BEGIN DELETE FROM watchers WHERE user_id = OLD.id; "
    "DELETE FROM notifications WHERE user_id = OLD.id; END",
}

# Batch mode copies a SQLite table from its reflection; this partial index is made again as the model has it.
UNREAD_INDEX = "CREATE INDEX ix_notifications_unread_user_id ON notifications (user_id) WHERE read_at IS NULL"


@contextlib.contextmanager
def _rebuilding(table: str):
    """A SQLite table copied without or with its foreign keys (batch mode). Batch mode reflects the tables it refers
    to; it cannot reflect the issues' expression index and says so as a warning (that index is not touched)."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", "Skipped unsupported reflection of expression-based index")
        with op.batch_alter_table(table, schema=None, recreate="always") as batch_op:
            yield batch_op
    if table == "notifications":
        op.execute("DROP INDEX IF EXISTS ix_notifications_unread_user_id")
        op.execute(UNREAD_INDEX)


def upgrade():
    if op.get_bind().dialect.name == "postgresql":
        for table, name, _column, _refers_to in FOREIGN_KEYS:
            op.drop_constraint(name, table, type_="foreignkey")
        op.execute(POSTGRES_UPGRADE)
        return
    for rebuilt in ("watchers", "notifications"):
        with _rebuilding(rebuilt) as batch_op:
            for table, name, _column, _refers_to in FOREIGN_KEYS:
                if table == rebuilt:
                    batch_op.drop_constraint(name, type_="foreignkey")
    for name, body in SQLITE_TRIGGERS.items():
        op.execute(f"CREATE TRIGGER {name} {body}")


def downgrade():
    postgres = op.get_bind().dialect.name == "postgresql"
    if postgres:
        op.execute(POSTGRES_DOWNGRADE)
    else:
        for name in SQLITE_TRIGGERS:
            op.execute(f"DROP TRIGGER IF EXISTS {name}")
    for table, _name, column, refers_to in FOREIGN_KEYS:
        op.execute(f"DELETE FROM {table} WHERE {column} NOT IN (SELECT id FROM {refers_to})")
    if postgres:
        for table, name, column, refers_to in FOREIGN_KEYS:
            op.create_foreign_key(name, table, refers_to, [column], ["id"], ondelete="CASCADE")
        return
    for rebuilt in ("watchers", "notifications"):
        with _rebuilding(rebuilt) as batch_op:
            for table, name, column, refers_to in FOREIGN_KEYS:
                if table == rebuilt:
                    batch_op.create_foreign_key(name, refers_to, [column], ["id"], ondelete="CASCADE")
