"""The issues' primary key covers the sort and filter columns; ix_issues_id_sort goes (PostgreSQL).

ix_issues_id_sort (migrations 0020 and 0025) held every live issue's number with updated_at, created_at, priority
and status, so that a set of numbers is put in list order, and open bugs counted, from index entries alone. It was
a second index on the issue number beside the primary key, and every write of an issue (an edit, a bulk change, an
import, moving to the trash and back) gave both a new entry.

Two numbers on 1,000,000 issues (bench database, 2026-12-07):
- The same covering index grows with churn, the primary key much less: one bench row of 10,000-issue bulk
  changes took ix_issues_id_sort from 7,291 to 13,033 pages. After a full bench run PostgreSQL rated a walk of
  the thin primary key, reading each issue's row for its status, cheaper than the index-only walk of the grown
  index, and counting `is:open label:bug` took 4.2 ms instead of 1.7 ms (query_open_bugs 13.0 -> 16.0-16.5 ms).
- A 10,000-issue bulk UPDATE spends most of its time writing an entry in each index of every row.

Here the primary key itself carries those columns, and deleted_at (INCLUDE: stored in its leaves, not part of its
order or its uniqueness). There is one index on the issue number, it is the only one a walk by number can take, and
each write of an issue has one index entry less. The foreign keys that point at issues depend on the key's index,
so they are dropped and made again around the swap, with the definitions PostgreSQL reports for them. About three
seconds at 1,000,000 issues, under a lock of the tables concerned.

SQLite has no included columns and never had ix_issues_id_sort: nothing to do there.

Revision ID: 0031
Revises: 0030
Create Date: 2026-12-07 16:00:00

"""

from alembic import op

revision = "0031"
down_revision = "0030"
branch_labels = None
depends_on = None

COVERED = "updated_at, created_at, priority, status, deleted_at"


def _swap_primary_key(include: str | None) -> None:
    """Make pk_issues again, with `include` as its included columns (None: the plain key), keeping every foreign
    key that points at issues as it was."""
    bind = op.get_bind()
    foreign_keys = bind.exec_driver_sql(
        "SELECT conrelid::regclass::text, conname, pg_get_constraintdef(oid) FROM pg_constraint"
        " WHERE contype = 'f' AND confrelid = 'issues'::regclass ORDER BY conname"
    ).all()
    covering = f" INCLUDE ({include})" if include else ""
    op.execute(f"CREATE UNIQUE INDEX pk_issues_new ON issues (id){covering}")
    for table, name, _definition in foreign_keys:
        op.execute(f'ALTER TABLE {table} DROP CONSTRAINT "{name}"')
    op.execute("ALTER TABLE issues DROP CONSTRAINT pk_issues")
    op.execute("ALTER TABLE issues ADD CONSTRAINT pk_issues PRIMARY KEY USING INDEX pk_issues_new")
    for table, name, definition in foreign_keys:
        op.execute(f'ALTER TABLE {table} ADD CONSTRAINT "{name}" {definition}')


def upgrade():
    if op.get_bind().dialect.name != "postgresql":
        return
    _swap_primary_key(COVERED)
    op.execute("DROP INDEX IF EXISTS ix_issues_id_sort")


def downgrade():
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute(
        "CREATE INDEX ix_issues_id_sort ON issues (id) INCLUDE (updated_at, created_at, priority, status)"
        " WHERE deleted_at IS NULL"
    )
    _swap_primary_key(None)
