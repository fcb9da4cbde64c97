"""PostgreSQL's full-text side table (migration 0009) follows every writer of issues: create, edit, bulk change,
import, delete and truncate; the search finds what the issues say now."""

import io

import sqlalchemy as sa

from tracker.bulk import service as bulk_service
from tracker.extensions import db
from tracker.issues import service as issue_service
from tracker.issues.queries import IssueFilter, filtered
from tracker.models import Issue


def found(words: str) -> list[str]:
    """Titles of the issues the list's search finds for `words`, by id."""
    stmt = filtered("postgresql", IssueFilter(q=words)).order_by(Issue.id)
    return [issue.title for issue in db.session.execute(stmt).scalars()]


def documents() -> dict[int, str]:
    """issue_id -> the stored tsvector, as text."""
    rows = db.session.execute(sa.text("SELECT issue_id, document::text FROM issue_documents ORDER BY issue_id"))
    return dict(rows.all())


def test_created_and_edited_issues_are_found_by_their_current_words(app, postgres_only, make_user, make_issue):
    member = make_user("member")
    issue = make_issue("Login page crashes", reporter=member, description="Stack trace attached")
    make_issue("Unrelated", reporter=member)
    assert found("crash") == ["Login page crashes"]
    assert found("stack trace") == ["Login page crashes"]

    issue_service.update_issue(
        db.session, member, issue.id, issue.version, {"title": "Sign-in page freezes", "description": "No trace"}
    )
    assert found("crash") == []
    assert found("freezes") == ["Sign-in page freezes"]
    assert found("stack") == []
    assert sorted(documents()) == sorted(db.session.execute(sa.select(Issue.id)).scalars())


def test_changes_of_other_fields_leave_the_document_alone(app, postgres_only, make_user, make_issue):
    """A bulk change or an edit of the status rewrites the issue row, never its document row."""
    member = make_user("member")
    issues = [make_issue(f"Checksum mismatch {n}", reporter=member) for n in range(3)]
    before = db.session.execute(sa.text("SELECT issue_id, xmin::text FROM issue_documents ORDER BY issue_id")).all()

    change = bulk_service.BulkChange(status="in_progress")
    bulk_service.apply_bulk(db.session, member, [i.id for i in issues], {i.id: i.version for i in issues}, change)
    issue_service.update_issue(db.session, member, issues[0].id, 2, {"priority": "high"})

    after = db.session.execute(sa.text("SELECT issue_id, xmin::text FROM issue_documents ORDER BY issue_id")).all()
    assert after == before
    assert found("checksum") == [f"Checksum mismatch {n}" for n in range(3)]


def test_imported_issues_are_searchable_and_deleted_ones_leave_no_document(app, postgres_only, client, login_as):
    login_as("member")
    content = "title,description\nPrinter on fire,Smoke everywhere\nQuiet printer,Works\n"
    response = client.post(
        "/import",
        data={"file": (io.BytesIO(content.encode()), "issues.csv"), "policy": "all_or_nothing"},
        content_type="multipart/form-data",
    )
    assert response.status_code == 303
    assert found("printer") == ["Printer on fire", "Quiet printer"]
    assert found("smoke") == ["Printer on fire"]

    db.session.execute(sa.delete(Issue).where(Issue.title == "Printer on fire"))
    db.session.commit()
    assert found("printer") == ["Quiet printer"]
    assert len(documents()) == 1


def test_truncating_issues_empties_the_documents(app, postgres_only, make_issue):
    make_issue("Soon gone")
    db.session.execute(sa.text("TRUNCATE issues RESTART IDENTITY CASCADE"))
    db.session.commit()
    assert documents() == {}
    make_issue("Fresh start")  # takes id 1 again: the old document must not answer for it
    assert found("soon") == []
    assert found("fresh") == ["Fresh start"]


def test_truncating_issues_and_documents_together_works(app, postgres_only, make_issue):
    """A reset that names both tables in one TRUNCATE (as a data load does) is not refused by the trigger."""
    make_issue("Soon gone")
    db.session.execute(sa.text("TRUNCATE issues, issue_documents RESTART IDENTITY CASCADE"))
    db.session.commit()
    assert documents() == {}
