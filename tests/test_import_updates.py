"""Imports that update (issue 22): the export's id column updates those issues, its version guards each update."""

import csv
import io

import pytest
import sqlalchemy as sa

from tests.helpers import text
from tracker.extensions import db
from tracker.imports import service as imports
from tracker.imports import staging
from tracker.issues import service as issues
from tracker.issues.timeline import load_timeline
from tracker.models import ImportRun, Issue, IssueEvent


def spreadsheet(rows: list[list[str]]) -> bytes:
    """A CSV as a spreadsheet saves it: a UTF-8 byte order mark, CRLF line ends, every cell quoted."""
    out = io.StringIO()
    csv.writer(out, quoting=csv.QUOTE_ALL, lineterminator="\r\n").writerows(rows)
    return b"\xef\xbb\xbf" + out.getvalue().encode("utf-8")


def exported(client) -> list[list[str]]:
    """The issue list's CSV export, as rows of cells."""
    return list(csv.reader(io.StringIO(client.get("/issues/export.csv").get_data(as_text=True).lstrip("\ufeff"))))


def upload(client, content: bytes, **form):
    """POST /import with the file."""
    return client.post("/import", data={"file": (io.BytesIO(content), "edited.csv"), **form},
                       content_type="multipart/form-data")


def column(rows, name) -> int:
    """The index of a column of the export."""
    return rows[0].index(name)


@pytest.fixture
def three(make_issue, make_label):
    bug = make_label("bug")
    return [make_issue("One", labels=[bug.id]), make_issue("Two"), make_issue("Three", priority="low")]


def test_round_trip_through_a_spreadsheet_updates_and_creates_nothing(client, login_as, three):
    me = login_as("member", name="Mia Member")
    rows = exported(client)
    title, priority, labels = column(rows, "title"), column(rows, "priority"), column(rows, "labels")
    by_title = {r[title]: r for r in rows[1:]}
    by_title["One"][labels] = "bug; ui"
    by_title["Two"][priority] = "critical"
    by_title["Three"][title] = "Three, renamed"
    response = upload(client, spreadsheet(rows), dry_run="1")
    run_id = int(response.headers["Location"].split("/")[2])
    check = text(client.get(f"/imports/{run_id}/check"))
    assert "create 0, update 3" in check
    before = db.session.execute(sa.select(sa.func.count()).select_from(Issue)).scalar_one()
    response = client.post(f"/imports/{run_id}/import", data={"policy": "all_or_nothing"})
    assert response.status_code == 303, text(response)
    db.session.expire_all()
    assert db.session.execute(sa.select(sa.func.count()).select_from(Issue)).scalar_one() == before
    run = db.session.get(ImportRun, run_id)
    assert (run.created_count, run.updated_count, run.unchanged_count) == (0, 3, 0)
    one, two, three_ = (issues.get_issue(db.session, i.id) for i in three)
    assert [label.name for label in one.labels] == ["bug", "ui"]
    assert (two.priority, two.version) == ("critical", 2)
    assert three_.title == "Three, renamed"
    event = db.session.execute(
        sa.select(IssueEvent).where(IssueEvent.issue_id == two.id, IssueEvent.kind == "updated")
    ).scalar_one()
    assert event.changes == {"priority": ["medium", "critical"]} and event.actor_id == me.id
    timeline = load_timeline(db.session, one.id)
    assert timeline.entries[-1].changes["label_names"] == {str(one.labels[1].id): "ui"}


def test_a_row_without_id_creates_and_an_unchanged_one_is_left_alone(client, login_as, three):
    login_as("member")
    rows = exported(client)
    new = [""] * len(rows[0])
    new[column(rows, "title")] = "Brand new"
    rows.append(new)
    response = upload(client, spreadsheet(rows), policy="all_or_nothing")
    assert response.status_code == 303
    run = db.session.get(ImportRun, int(response.headers["Location"].split("/")[2]))
    assert (run.created_count, run.updated_count, run.unchanged_count) == (1, 0, 3)
    assert [i.version for i in (db.session.get(Issue, t.id) for t in three)] == [1, 1, 1]


@pytest.mark.parametrize(("who", "reason"), (("deactivated", "is deactivated"), ("viewer", "is a viewer")))
def test_an_issue_assigned_to_someone_no_longer_assignable_round_trips(
    client, login_as, make_user, make_issue, who, reason
):
    # The export of an issue assigned to a person since deactivated (or made a viewer) was refused on import:
    # "... is deactivated and cannot be assigned", and all-or-nothing imported none of the file, though the row
    # left the assignee as it was (an edit keeps such an assignee too). A row giving them an issue is refused.
    login_as("admin")
    gone = make_user("member", name="Gone Gwen", email="gwen@example.com")
    kept = make_issue("Kept", assignee_id=gone.id)
    other = make_issue("Other")
    gone.active = who != "deactivated"
    gone.role = "viewer" if who == "viewer" else "member"
    db.session.commit()
    rows = exported(client)
    by_title = {r[column(rows, "title")]: r for r in rows[1:]}
    by_title["Kept"][column(rows, "priority")] = "high"
    response = upload(client, spreadsheet(rows), policy="all_or_nothing")
    assert response.status_code == 303, text(response)
    db.session.expire_all()
    assert (db.session.get(Issue, kept.id).priority, db.session.get(Issue, kept.id).assignee_id) == ("high", gone.id)

    by_title["Kept"][column(rows, "version")] = "2"
    by_title["Other"][column(rows, "assignee")] = "gwen@example.com"
    new = [""] * len(rows[0])
    new[column(rows, "title")], new[column(rows, "assignee")] = "New", "gwen@example.com"
    rows.append(new)
    response = upload(client, spreadsheet(rows), dry_run="1")
    run_id = int(response.headers["Location"].split("/")[2])
    report = imports.check(db.session, db.session.get(ImportRun, run_id))
    assert (report.invalid, [e.line for e in report.errors]) == (2, [3, 4])
    assert all(f"Gone Gwen (gwen@example.com) {reason}" in e.error for e in report.errors)
    assert "create 0, unchanged 1</strong>" in text(client.get(f"/imports/{run_id}/check"))
    assert db.session.get(Issue, other.id).assignee_id is None


def test_a_file_of_ids_and_one_field_changes_that_field_only(client, login_as, three, snapshot):
    # "id,priority" (a spreadsheet of numbers and the new priorities) was refused as a whole: "The file has no
    # title column", though the README says only the fields the file has columns for are compared and changed.
    login_as("member")
    one, two, _three = three
    content = f"id,priority\n{one.id},critical\n{two.id},medium\n,high\n".encode()
    response = upload(client, content, dry_run="1")
    run_id = int(response.headers["Location"].split("/")[2])
    report = imports.check(db.session, db.session.get(ImportRun, run_id))
    assert report.problems == [] and [(e.line, e.error) for e in report.errors] == [
        (4, "title is empty; every issue needs a title")
    ]
    assert "create 0, update 1, unchanged 1" in text(client.get(f"/imports/{run_id}/check"))
    before = snapshot()
    response = client.post(f"/imports/{run_id}/import", data={"policy": "all_or_nothing"})
    assert response.status_code == 422 and snapshot() == before
    response = client.post(f"/imports/{run_id}/import", data={"policy": "skip_invalid"})
    assert response.status_code == 303, text(response)
    db.session.expire_all()
    assert [(i.title, i.priority, i.version) for i in (db.session.get(Issue, t.id) for t in three)] == [
        ("One", "critical", 2), ("Two", "medium", 1), ("Three", "low", 1)
    ]
    event = db.session.execute(
        sa.select(IssueEvent).where(IssueEvent.issue_id == one.id, IssueEvent.kind == "updated")
    ).scalar_one()
    assert event.changes == {"priority": ["medium", "critical"]}


def test_stale_rows_are_reported_and_all_or_nothing_writes_nothing(client, login_as, make_user, three, snapshot):
    login_as("member")
    rows = exported(client)
    priority = column(rows, "priority")
    for row in rows[1:]:
        row[priority] = "high"
    issues.update_issue(db.session, make_user("member", name="Sam Saver"), three[1].id, 1, {"status": "closed"})
    response = upload(client, spreadsheet(rows), dry_run="1")
    run_id = int(response.headers["Location"].split("/")[2])
    check = text(client.get(f"/imports/{run_id}/check"))
    assert "create 0, update 2, stale 1" in check
    assert f"issue #{three[1].id} changed since the export (version 1, now 2: status changed by Sam Saver)" in check
    before = snapshot()
    response = client.post(f"/imports/{run_id}/import", data={"policy": "all_or_nothing"})
    assert response.status_code == 422 and "Nothing was imported" in text(response)
    assert snapshot() == before


def test_stale_rows_are_skipped_with_skip_invalid(client, login_as, make_user, three):
    login_as("member")
    rows = exported(client)
    priority = column(rows, "priority")
    for row in rows[1:]:
        row[priority] = "high"
    issues.update_issue(db.session, make_user("member"), three[0].id, 1, {"title": "Changed meanwhile"})
    response = upload(client, spreadsheet(rows), policy="skip_invalid")
    assert response.status_code == 303
    run = db.session.get(ImportRun, int(response.headers["Location"].split("/")[2]))
    assert (run.updated_count, run.rejected_count) == (2, 1)
    db.session.expire_all()
    assert db.session.get(Issue, three[0].id).priority == "medium"
    assert db.session.get(Issue, three[1].id).priority == "high"


@pytest.mark.parametrize(
    ("cell", "message"),
    (("999", "there is no issue #999"), ("abc", "id 'abc' is not an issue number")),
)
def test_an_id_that_names_no_issue_is_invalid(client, login_as, make_user, snapshot, cell, message):
    me = login_as("member")
    run = staging.stage(db.session, me, "x.csv", io.BytesIO(f"id,title\n{cell},Whatever\n".encode()))
    report = imports.check(db.session, run)
    assert report.invalid == 1 and message in report.errors[0].error


def test_a_status_the_workflow_forbids_is_invalid(login_as, make_issue):
    me = login_as("member")
    issue = make_issue("Done", status="resolved")
    content = f"id,title,status\n{issue.id},Done,in_progress\n".encode()
    run = staging.stage(db.session, me, "x.csv", io.BytesIO(content))
    report = imports.check(db.session, run)
    assert report.invalid == 1 and "cannot move from Resolved to In progress" in report.errors[0].error


def test_one_row_per_issue_the_check_and_the_import_agree(make_user, make_issue):
    """Two rows naming one issue: the second is refused with the line of the first, by the check (a dry run) and
    the import alike; skipping invalid rows imports the first. (Both were taken as updates by the check, and the
    import then refused the whole file as changed meanwhile.)"""
    me = make_user("member")
    issue = make_issue("One")
    content = f"id,title,version\r\n{issue.id},One changed,1\r\n{issue.id},One changed again,1\r\n".encode()
    staged = staging.stage(db.session, me, "twice.csv", io.BytesIO(content))
    report = imports.check(db.session, staged)
    assert (report.valid, report.invalid) == (1, 1)
    assert report.errors[0].line == 3
    assert report.errors[0].error == f"issue #{issue.id} is also on line 2: one row per issue"
    with pytest.raises(imports.ImportRejected):
        imports.run_import(db.session, me, staged, "all_or_nothing", staging.mapping_of(staged))
    db.session.rollback()
    staged = staging.stage(db.session, me, "twice.csv", io.BytesIO(content))
    run = imports.run_import(db.session, me, staged, "skip_invalid", staging.mapping_of(staged))
    assert (run.updated_count, run.rejected_count) == (1, 1)
    db.session.expire_all()
    assert (db.session.get(Issue, issue.id).title, db.session.get(Issue, issue.id).version) == ("One changed", 2)
