"""Full-text search reads a side table, issue_documents, instead of a GIN index on the issues table.

Any change to an issue's status, priority, assignee or version writes a new row version; updated_at is
indexed, so PostgreSQL cannot make it a HOT update and inserts the new version into every index of the
table. The GIN index on to_tsvector(title || description) was the dearest of them: it recomputed the
document and inserted its ~20 words again for every row of a bulk change that touched neither. Measured
at 1M issues, a bulk status change of 1,000 issues spent 70-85 ms in its UPDATE with that index and
45 ms without it.

issue_documents (issue_id, document) holds each issue's tsvector with the GIN index. Triggers keep it:
- inserted issues get their documents in one statement per INSERT or COPY (a transition table, so an
  import of 100,000 rows is one set-based INSERT, not 100,000 trigger calls);
- an UPDATE that changes the title or description rewrites that issue's document (row trigger with a WHEN
  condition, so updates of other columns never call it);
- deleted issues lose their documents (transition table); TRUNCATE of issues empties it too.
The table has no foreign key on purpose: it is derived data written only by these triggers, and a foreign
key would add a per-row check to every import. PostgreSQL only: SQLite searches with LIKE.

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-25 10:40:00

"""

from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

# The document of an issue row; tracker.issues.queries searches issue_documents.document with to_tsquery('simple', ...).
DOCUMENT = "to_tsvector('simple'::regconfig, coalesce({row}.title, '') || ' ' || coalesce({row}.description, ''))"

UPGRADE = f"""
CREATE TABLE issue_documents (
    issue_id integer NOT NULL,
    document tsvector NOT NULL,
    CONSTRAINT pk_issue_documents PRIMARY KEY (issue_id)
);

INSERT INTO issue_documents (issue_id, document) SELECT issues.id, {DOCUMENT.format(row="issues")} FROM issues;

CREATE INDEX ix_issue_documents_document ON issue_documents USING gin (document);
ANALYZE issue_documents;

DROP INDEX IF EXISTS ix_issues_search;

CREATE FUNCTION issue_documents_insert() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO issue_documents (issue_id, document)
    SELECT new_issues.id, {DOCUMENT.format(row="new_issues")} FROM new_issues;
    RETURN NULL;
END $$;

CREATE FUNCTION issue_documents_update() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE issue_documents SET document = {DOCUMENT.format(row="NEW")} WHERE issue_id = NEW.id;
    RETURN NULL;
END $$;

CREATE FUNCTION issue_documents_delete() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM issue_documents WHERE issue_id IN (SELECT old_issues.id FROM old_issues);
    RETURN NULL;
END $$;

-- DELETE, not TRUNCATE: a TRUNCATE naming both tables (as a test reset or a data load does) would still be
-- using issue_documents when this runs, and PostgreSQL refuses to truncate a table in use.
CREATE FUNCTION issue_documents_truncate() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM issue_documents;
    RETURN NULL;
END $$;

CREATE TRIGGER issue_documents_insert AFTER INSERT ON issues
    REFERENCING NEW TABLE AS new_issues FOR EACH STATEMENT EXECUTE FUNCTION issue_documents_insert();

CREATE TRIGGER issue_documents_update AFTER UPDATE OF title, description ON issues
    FOR EACH ROW WHEN (OLD.title IS DISTINCT FROM NEW.title OR OLD.description IS DISTINCT FROM NEW.description)
    EXECUTE FUNCTION issue_documents_update();

CREATE TRIGGER issue_documents_delete AFTER DELETE ON issues
    REFERENCING OLD TABLE AS old_issues FOR EACH STATEMENT EXECUTE FUNCTION issue_documents_delete();

CREATE TRIGGER issue_documents_truncate AFTER TRUNCATE ON issues
    FOR EACH STATEMENT EXECUTE FUNCTION issue_documents_truncate();
"""

DOWNGRADE = f"""
DROP TRIGGER IF EXISTS issue_documents_insert ON issues;
DROP TRIGGER IF EXISTS issue_documents_update ON issues;
DROP TRIGGER IF EXISTS issue_documents_delete ON issues;
DROP TRIGGER IF EXISTS issue_documents_truncate ON issues;
DROP FUNCTION IF EXISTS issue_documents_insert();
DROP FUNCTION IF EXISTS issue_documents_update();
DROP FUNCTION IF EXISTS issue_documents_delete();
DROP FUNCTION IF EXISTS issue_documents_truncate();
DROP TABLE IF EXISTS issue_documents;
CREATE INDEX ix_issues_search ON issues USING gin ({DOCUMENT.format(row="issues")});
"""


def upgrade():
    if op.get_bind().dialect.name == "postgresql":
        op.execute(UPGRADE)


def downgrade():
    if op.get_bind().dialect.name == "postgresql":
        op.execute(DOWNGRADE)
