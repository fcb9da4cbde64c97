"""CSV import and export through the service and the views, on SQLite and PostgreSQL."""

import csv
import html
import io
import logging
import re
import threading
import time
from datetime import datetime

import pytest
import sqlalchemy as sa

from tests.helpers import EXPORT_HEADER, count_rows, hx, text
from tracker.extensions import db
from tracker.imports import service, staging, writer
from tracker.imports.parse import FileProblem
from tracker.models import (
    ImportChunk,
    ImportedRange,
    ImportReject,
    ImportRun,
    Issue,
    IssueEvent,
    IssueLabel,
    Label,
    User,
)

GOOD = (
    "title,description,status,priority,assignee,labels,created_at\r\n"
    'First,"line one\nline two",open,high,{email},bug; ui,2025-03-01T10:00:00Z\r\n'
    "Second,,in_progress,low,,docs,\r\n"
)


def upload(client, content, name="issues.csv", **form):
    """POST /import with a file (str content is UTF-8 encoded)."""
    data = content.encode("utf-8") if isinstance(content, str) else content
    return client.post("/import", data={"file": (io.BytesIO(data), name), **form}, content_type="multipart/form-data")


def run_id_of(response) -> int:
    """The import run a redirect points at."""
    return int(re.search(r"/imports/(\d+)", response.headers["Location"]).group(1))


def issue_rows():
    """(title, status, priority, assignee_id) of every issue, by id."""
    db.session.rollback()
    return [
        tuple(r)
        for r in db.session.execute(
            sa.select(Issue.title, Issue.status, Issue.priority, Issue.assignee_id).order_by(Issue.id)
        )
    ]


def parse_csv(body: str) -> list[list[str]]:
    """Rows of a CSV response body."""
    return list(csv.reader(io.StringIO(body.lstrip("\ufeff"))))


def assert_refused_at_once(client, snapshot, content, message):
    """A one-request all-or-nothing import of `content` is a 422 naming the problem, and writes nothing."""
    before = snapshot()
    response = upload(client, content, policy="all_or_nothing")
    assert response.status_code == 422
    assert message in text(response)
    assert snapshot() == before


# ---- the whole flow through the views ---------------------------------------------------------------


def test_check_then_import_all(client, login_as, make_user):
    me = login_as("member")
    ada = make_user(name="Ada", email="ada@example.com")
    response = upload(client, GOOD.format(email="ada@example.com"), dry_run="1")
    assert response.status_code == 303
    run_id = run_id_of(response)
    assert response.headers["Location"].endswith(f"/imports/{run_id}/check")
    assert issue_rows() == []  # checking writes no issue

    page = client.get(f"/imports/{run_id}/check")
    body = text(page)
    assert page.status_code == 200
    assert re.search(r'id="rows-read">2<', body) and re.search(r'id="rows-valid">2<', body)
    assert "UTF-8" in body and "First" in body and "Ada" in body
    assert "New labels that the import will create: bug, docs, ui." in body
    assert 'id="policy-hint"' not in body, "no policy hint when every row is valid"

    done = client.post(f"/imports/{run_id}/import", data={"policy": "all_or_nothing"})
    assert done.status_code == 303 and done.headers["Location"].endswith(f"/imports/{run_id}")
    assert issue_rows() == [("First", "open", "high", ada.id), ("Second", "in_progress", "low", None)]
    first = db.session.execute(sa.select(Issue).order_by(Issue.id)).scalars().first()
    assert first.description == "line one\nline two" and first.reporter_id == me.id and first.version == 1
    assert first.created_at.isoformat() == "2025-03-01T10:00:00"
    labels = db.session.execute(sa.select(Label.name).order_by(Label.name_key)).scalars().all()
    assert labels == ["bug", "docs", "ui"]
    run = db.session.get(ImportRun, run_id)
    assert (run.state, run.policy, run.rows_read, run.created_count, run.rejected_count) == (
        "imported",
        "all_or_nothing",
        2,
        2,
        0,
    )
    assert count_rows(ImportChunk) == 0  # file no longer kept

    result = text(client.get(f"/imports/{run_id}"))
    assert "Imported 2 issues from issues.csv." in result and 'id="created-count">2<' in result
    timeline = text(client.get(f"/issues/{first.id}"))
    assert re.search(r"Imported from\s*<a[^>]*>issues.csv</a>\s*by\s*<strong>Member 1</strong>", timeline)
    history = text(client.get("/imports"))
    assert "issues.csv" in history and "All or nothing" in history and "Member 1" in history


def test_all_or_nothing_with_an_invalid_row_writes_nothing(client, login_as, snapshot):
    login_as("member")
    content = "title,priority\nGood,high\nBad,urgent\n"
    response = upload(client, content, dry_run="1")
    run_id = run_id_of(response)
    body = text(client.get(f"/imports/{run_id}/check"))
    assert "line 3" in body and "priority 'urgent' is not one of low, medium, high, critical" in body
    hint = " ".join(body.split('id="policy-hint">', 1)[1].split("</p>", 1)[0].split())
    assert hint == (
        "1 row is invalid: with “All or nothing” this import writes nothing; with “Skip invalid rows” "
        "it creates the 1 valid issue and the invalid rows download as CSV."
    )
    assert re.search(r'<button[^>]*disabled[^>]*>Import 1 issue</button>', body), "all or nothing: no import"
    assert "“All or nothing” imports nothing while 1 row is invalid." in body
    again = client.post(f"/imports/{run_id}/check", data={"policy": "skip_invalid", "column": ["title", "priority"]})
    assert again.headers["Location"].endswith(f"/imports/{run_id}/check?policy=skip_invalid")
    skipping = text(client.get(again.headers["Location"]))
    assert re.search(r'<button(?![^>]*disabled)[^>]*>Import 1 issue, skip 1</button>', skipping)
    before = snapshot()
    refused = client.post(f"/imports/{run_id}/import", data={"policy": "all_or_nothing"})
    assert refused.status_code == 422
    assert "Nothing was imported: 1 row is invalid (the first, line 3: priority 'urgent'" in text(refused)
    assert snapshot() == before
    db.session.rollback()
    assert db.session.get(ImportRun, run_id).state == "staged"  # can still be imported another way

    done = client.post(f"/imports/{run_id}/import", data={"policy": "skip_invalid"})
    assert done.status_code == 303
    assert issue_rows() == [("Good", "open", "high", None)]
    rejected = client.get(f"/imports/{run_id}/rejected.csv")
    assert rejected.status_code == 200 and rejected.mimetype == "text/csv"
    assert parse_csv(rejected.get_data(as_text=True)) == [
        ["title", "priority", "error"],
        ["Bad", "urgent", "line 3: priority 'urgent' is not one of low, medium, high, critical"],
    ]


@pytest.mark.parametrize(
    ("file_name", "disposition"),
    [
        ("issues.csv", 'attachment; filename="issues-rejected.csv"'),
        ("Ärger über Tickets.csv", "attachment; filename=\"Arger uber Tickets-rejected.csv\"; "
         "filename*=UTF-8''%C3%84rger%20%C3%BCber%20Tickets-rejected.csv"),
        ("課題.csv", "attachment; filename=\"import-rejected.csv\"; filename*=UTF-8''%E8%AA%B2%E9%A1%8C-rejected.csv"),
        ("résumé (final).csv", "attachment; filename=\"resume _final_-rejected.csv\"; "
         "filename*=UTF-8''r%C3%A9sum%C3%A9%20%28final%29-rejected.csv"),
        (".csv", 'attachment; filename="import-rejected.csv"'),
    ],
)
def test_the_rejected_rows_download_keeps_the_files_name(client, login_as, file_name, disposition):
    """Its name is the uploaded one's, as written (filename*), with an ASCII fallback for old clients."""
    login_as("member")
    run_id = run_id_of(upload(client, "title,priority\nBad,urgent\n", name=file_name, dry_run="1"))
    response = client.get(f"/imports/{run_id}/rejected.csv")
    assert response.status_code == 200
    assert parse_csv(response.get_data(as_text=True))[0] == ["title", "priority", "error"]
    assert response.headers["Content-Disposition"] == disposition


def test_a_list_of_titles_imports_with_its_commas(client, login_as):
    login_as("member")
    run_id = run_id_of(upload(client, "title\nFix login, again\nWrite docs; then ship\n", dry_run="1"))
    body = " ".join(text(client.get(f"/imports/{run_id}/check")).split())
    assert "with <strong>one column</strong> (each line is one value)" in body
    assert '<dd id="rows-invalid">0</dd>' in body
    assert client.post(f"/imports/{run_id}/import", data={"policy": "all_or_nothing"}).status_code == 303
    assert [row[0] for row in issue_rows()] == ["Fix login, again", "Write docs; then ship"]


def test_a_file_with_no_valid_row_offers_no_import(client, login_as):
    login_as("member")
    run_id = run_id_of(upload(client, "title,priority\nBad,urgent\nWorse,urgent\n", dry_run="1"))
    body = text(client.get(f"/imports/{run_id}/check"))
    assert re.search(r'id="rows-valid">0<', body) and re.search(r'id="rows-invalid" class="has-invalid">2<', body)
    assert re.search(r"<button[^>]*disabled[^>]*>Import 0 issues</button>", body)
    assert "No row is valid, so there is nothing to import" in body


def test_one_request_import_for_scripts(client, login_as):
    login_as("member")
    response = upload(client, "Title;Priority\nA;low\nB;nope\n", policy="skip_invalid")
    assert response.status_code == 303
    run = db.session.get(ImportRun, run_id_of(response))
    assert (run.created_count, run.rejected_count, run.policy) == (1, 1, "skip_invalid")
    assert issue_rows() == [("A", "open", "low", None)]


def test_a_file_that_breaks_off_midway_writes_nothing(client, login_as, snapshot):
    """An open quote swallowing the rest of the file is found while the rows already stream into the database
    (PostgreSQL's COPY): the import stops with the file's problem, nothing is written, the file stays staged."""
    login_as("member")
    before = snapshot()
    content = "title,description\n" + "".join(f"Issue {n},x\n" for n in range(3000)) + 'Bad,"' + "x" * 140_000 + "\n"
    response = upload(client, content, policy="skip_invalid")
    assert response.status_code == 422
    body = text(response)
    assert "issues.csv: line 3002: a value is longer than 131,072 characters (or a quote is never closed)." in body
    assert 'id="import-form"' in body, "the upload form is right there for the fixed file"
    assert snapshot() == before
    assert db.session.execute(sa.select(ImportRun.state)).scalars().all() == ["staged"]


def nothing_imported(run_id: int) -> None:
    """No issue, label, rejected row or imported range was written, and the file is still staged."""
    db.session.rollback()
    for model in (Issue, Label, IssueLabel, ImportReject, ImportedRange):
        assert count_rows(model) == 0, model.__name__
    assert db.session.get(ImportRun, run_id).state == "staged"


def assert_unreadable_page(response, message):
    """The check page of a file that cannot be read to the end: 422, the file's name and problem, a way back."""
    body = text(response)
    assert response.status_code == 422
    assert f"issues.csv cannot be imported: {message}" in body
    assert re.search(r'<h1>Check: issues.csv</h1>', body)
    assert re.search(r'<a class="button primary" href="/import">Upload a fixed file</a>', body)
    assert "Import 0 issues" not in body and 'name="column"' not in body, "no mapping or import form for such a file"


LONG_CELL = "line 5002: a value is longer than 131,072 characters (or a quote is never closed)."


def test_a_very_long_cell_is_explained_with_the_import_around_it(client, login_as, snapshot):
    """A cell past the parser's limit after 5,000 good rows: the check, the import, the re-check and the invalid
    rows download all answer 422 on the check page with the file's problem; nothing is written."""
    login_as("member")
    content = "title,description\n" + "".join(f"Issue {n},x\n" for n in range(5000)) + 'Long,"' + "x" * 140_000 + '"\n'
    run_id = run_id_of(upload(client, content, dry_run="1"))
    before = snapshot()
    assert_unreadable_page(client.get(f"/imports/{run_id}/check"), LONG_CELL)
    assert_unreadable_page(client.post(f"/imports/{run_id}/import", data={"policy": "skip_invalid"}), LONG_CELL)
    assert client.post(f"/imports/{run_id}/check", data={"column": ["title", "description"]}).status_code == 303
    assert_unreadable_page(client.get(f"/imports/{run_id}/check"), LONG_CELL)
    download = client.get(f"/imports/{run_id}/rejected.csv")
    assert download.mimetype == "text/html", "refused before any CSV is streamed"
    assert_unreadable_page(download, LONG_CELL)
    assert snapshot() == before
    nothing_imported(run_id)


UNCLOSED = "a quoted value is never closed (the file ends inside it)."


@pytest.mark.parametrize("form", [{"dry_run": "1"}, {"policy": "skip_invalid"}])
def test_a_quote_never_closed_in_the_first_row_is_refused_at_upload(client, login_as, snapshot, form):
    login_as("member")
    before = snapshot()
    response = upload(client, 'title,description\nfoo,"never closed\nbar,baz\n', **form)
    assert response.status_code == 422
    assert f"issues.csv: line 2: {UNCLOSED}" in text(response)
    assert snapshot() == before
    assert count_rows(ImportRun) == 0


def test_a_quote_never_closed_further_down_is_a_file_problem_everywhere(client, login_as, snapshot):
    """The open quote used to swallow the rest of the file into one valid row; now the check, the import and the
    one-request import all name it and write nothing."""
    login_as("member")
    content = 'title,description\nfine,ok\nfoo,"never closed\nbar,baz\n'
    before = snapshot()
    at_once = upload(client, content, policy="skip_invalid")
    assert at_once.status_code == 422 and f"issues.csv: line 3: {UNCLOSED}" in text(at_once)
    nothing_imported(run_id := db.session.execute(sa.select(ImportRun.id)).scalar_one())
    assert_unreadable_page(client.get(f"/imports/{run_id}/check"), f"line 3: {UNCLOSED}")
    assert_unreadable_page(
        client.post(f"/imports/{run_id}/import", data={"policy": "all_or_nothing"}), f"line 3: {UNCLOSED}"
    )
    assert_unreadable_page(client.get(f"/imports/{run_id}/rejected.csv"), f"line 3: {UNCLOSED}")
    assert snapshot() == before
    nothing_imported(run_id)


def test_one_request_all_or_nothing_refused(client, login_as, snapshot):
    login_as("member")
    assert_refused_at_once(client, snapshot, "title,description\nA,x\n,only a description\n", "line 3: title is empty")


@pytest.mark.parametrize(
    ("content", "form", "status", "message"),
    [
        (b"", {}, 422, "The file is empty."),
        (b"\n\r\n  \n", {}, 422, "The file is empty."),
        (b"title,description\n", {}, 422, "The file has a header row but no rows of issues below it."),
        (b"PK\x03\x04rest of a zip", {}, 422, "This is a zip file"),
        (bytes(range(256)) * 4, {}, 422, "binary data"),
        (b"title,Title\nA,B\n", {}, 422, "The header has the column 'Title' twice"),
        (b"title\nA\n", {"policy": "sometimes"}, 422, "Policy 'sometimes' is not one of all_or_nothing, skip_invalid."),
    ],
)
def test_bad_files_get_one_clear_message(client, login_as, snapshot, content, form, status, message):
    login_as("member")
    before = snapshot()
    response = upload(client, content, **form)
    assert response.status_code == status
    assert message in text(response)
    assert snapshot() == before
    assert count_rows(ImportChunk) == 0


def test_no_title_column_is_refused_but_the_file_stays_for_the_preview(client, login_as, snapshot):
    login_as("member")
    assert_refused_at_once(
        client, snapshot, "name_of_it,x\nA,B\n", "The file has no title column (its columns are: 'name_of_it', 'x')"
    )
    run = db.session.execute(sa.select(ImportRun)).scalar_one()
    form = {"column": ["title", ""], "policy": "all_or_nothing"}
    assert client.post(f"/imports/{run.id}/import", data=form).status_code == 303
    assert issue_rows() == [("A", "open", "medium", None)]


def test_no_file_chosen(client, login_as):
    login_as("member")
    response = client.post("/import", data={"dry_run": "1"}, content_type="multipart/form-data")
    assert response.status_code == 422 and "Choose a CSV file to import." in text(response)


def test_htmx_upload_of_a_bad_file_swaps_only_the_form(client, login_as):
    login_as("member")
    headers = hx("import-form")
    response = client.post(
        "/import",
        data={"file": (io.BytesIO(b"PK\x03\x04zip"), "book.xlsx")},
        content_type="multipart/form-data",
        headers=headers,
    )
    body = text(response)
    assert response.status_code == 422 and body.lstrip().startswith('<form id="import-form"')
    assert "book.xlsx: This is a zip file" in body and 'name="csrf_token"' in body and "<html" not in body


def test_upload_over_the_limit_is_a_413_page(app, client, login_as):
    login_as("member")
    app.config["MAX_CONTENT_LENGTH"] = 1024 * 1024
    # A body built by hand: the test client would spool a large multipart body to a temporary file.
    content = b"title\n" + b"x" * (1024 * 1024 + 10) + b"\n"
    body = (
        b'--B\r\nContent-Disposition: form-data; name="file"; filename="big.csv"\r\nContent-Type: text/csv\r\n\r\n'
        + content
        + b"\r\n--B--\r\n"
    )
    response = client.post("/import", data=body, content_type="multipart/form-data; boundary=B")
    assert response.status_code == 413
    assert "larger than the 1 MB upload limit" in text(response)
    assert count_rows(ImportRun) == 0


def test_viewers_cannot_import(client, login_as):
    login_as("viewer")
    for response in (client.get("/import"), upload(client, "title\nA\n")):
        assert response.status_code == 403 and "Viewers can read issues but not import them." in text(response)
    assert issue_rows() == []
    assert count_rows(ImportRun) == 0


def test_others_cannot_see_my_staged_file(client, login_as, login, make_user):
    login_as("member")
    run_id = run_id_of(upload(client, "title\nA\n", dry_run="1"))
    login(make_user("member"))
    for response in (
        client.get(f"/imports/{run_id}/check"),
        client.post(f"/imports/{run_id}/import", data={"policy": "skip_invalid"}),
        client.get(f"/imports/{run_id}/rejected.csv"),
    ):
        assert response.status_code == 403 and "This file was uploaded by someone else." in text(response)
    assert client.get(f"/imports/{run_id}").status_code == 404  # a staged file is nobody else's business
    assert issue_rows() == []


def test_an_admin_importing_someones_file_is_named_as_the_importer(client, login_as, login, make_user):
    bob = login_as("member")
    run_id = run_id_of(upload(client, "title\nA\n", dry_run="1"))
    admin = login(make_user("admin", name="Ada Admin"))
    assert client.post(f"/imports/{run_id}/import", data={}).status_code == 303
    db.session.expire_all()
    run = db.session.get(ImportRun, run_id)
    issue = db.session.execute(sa.select(Issue)).scalar_one()
    assert run.user_id == admin.id and issue.reporter_id == admin.id and bob.id != admin.id
    assert re.search(
        r"Imported from\s*<a[^>]*>issues.csv</a>\s*by\s*<strong>Ada Admin</strong>",
        text(client.get(f"/issues/{issue.id}")),
    )
    assert "Ada Admin" in text(client.get("/imports"))


def test_a_second_import_of_the_same_file_is_refused(client, login_as):
    login_as("member")
    run_id = run_id_of(upload(client, "title\nA\n", dry_run="1"))
    assert client.post(f"/imports/{run_id}/import", data={}).status_code == 303
    again = client.post(f"/imports/{run_id}/import", data={}, follow_redirects=True)
    assert again.status_code == 200 and "was imported already" in text(again)
    assert len(issue_rows()) == 1


def test_resolution_times_are_kept_unknown_rather_than_invented(client, login_as):
    login_as("member")
    content = (
        "title,status,created_at,resolved_at\n"
        "No date,closed,2025-01-01T00:00:00Z,\n"
        "Dated,resolved,,2025-02-03T04:05:06Z\n"
        "Open,open,,\n"
    )
    run_id = run_id_of(upload(client, content, dry_run="1"))
    body = text(client.get(f"/imports/{run_id}/check"))
    assert '<span class="muted">unknown</span>' in body
    assert client.post(f"/imports/{run_id}/import", data={"policy": "all_or_nothing"}).status_code == 303
    db.session.rollback()
    rows = db.session.execute(sa.select(Issue.title, Issue.created_at, Issue.resolved_at).order_by(Issue.id)).all()
    assert [(t, r) for t, _c, r in rows] == [
        ("No date", None),
        ("Dated", datetime(2025, 2, 3, 4, 5, 6)),
        ("Open", None),
    ]
    assert rows[0].created_at.isoformat() == "2025-01-01T00:00:00"
    assert rows[1].created_at == rows[1].resolved_at, "never created after it was resolved"
    assert rows[2].created_at > rows[1].created_at


def test_import_history_pages_and_links_each_import_to_its_issues(client, login_as, monkeypatch):
    me = login_as("member")
    first = run_id_of(upload(client, "title\nA\nB\n", policy="all_or_nothing"))
    for n in range(3):
        db.session.add(
            ImportRun(
                user_id=me.id,
                file_name=f"empty{n}.csv",
                state="imported",
                policy="skip_invalid",
                finished_at=service.utcnow(),
            )
        )
    db.session.add(ImportRun(user_id=me.id, file_name="staged.csv", state="staged", policy="all_or_nothing"))
    db.session.commit()
    monkeypatch.setattr(staging, "HISTORY_PAGE_SIZE", 2)

    newest = text(client.get("/imports"))
    assert re.findall(r"<td>(\w+\.csv)</td>", newest) == ["empty2.csv", "empty1.csv"]
    assert 'rel="next" href="/imports?page=2"' in newest and 'rel="prev"' not in newest
    older = text(client.get("/imports?page=2"))
    assert re.findall(r"<td>(\w+\.csv)</td>", older) == ["empty0.csv", "issues.csv"], "staged files are not listed"
    assert 'rel="prev" href="/imports?page=1"' in older and 'rel="next"' not in older
    assert f'<a href="/issues?sort=id&import={first}" title="These issues in the list">2</a>' in older
    assert "There is no page 3." in text(client.get("/imports?page=3"))
    for bad in ("0", "x", "-1", "10001"):
        response = client.get(f"/imports?page={bad}")
        assert response.status_code == 400 and "Page must be a whole number from 1 to 10,000." in text(response)


def test_unknown_import_is_404(client, login_as):
    login_as("member")
    assert client.get("/imports/999").status_code == 404
    assert client.get("/imports/999/check").status_code == 404


# ---- mapping on the preview -------------------------------------------------------------------------


JIRA = (
    "Summary,Issue key,Status,Priority,Assignee,Created,Resolved,Labels,Labels,Sprint\n"
    "Crash on save,PRJ-1,Done,Highest,ada@example.com,2025-01-05 10:00,2025-01-06 11:00,bug,backend,S1\n"
    "Slow list,PRJ-2,To Do,P3,Grace Hopper,2025-01-07 09:00,,perf,,S1\n"
)


def test_jira_export_is_recognised_and_words_are_adjustable(client, login_as, make_user):
    login_as("member")
    ada = make_user(name="Ada", email="ada@example.com")
    grace = make_user(name="Grace")
    run_id = run_id_of(upload(client, JIRA, dry_run="1"))
    body = text(client.get(f"/imports/{run_id}/check"))
    assert "Jira export" in body and "Ignored columns: Sprint." in body
    assert "priority 'P3' is not one of low, medium, high, critical" in body  # a priority scheme of this Jira's own
    assert "no active user with email, id or name 'Grace Hopper'" in body
    form = {
        "column": [
            "title",
            "key",
            "status",
            "priority",
            "assignee",
            "created_at",
            "resolved_at",
            "labels",
            "labels",
            "",
        ],
        "priority_word": ["Highest", "P3"],
        "priority_value": ["critical", "medium"],
        "assignee_value": ["Grace Hopper"],
        "assignee_choice": [str(grace.id)],
    }
    saved = client.post(f"/imports/{run_id}/check", data=form)
    assert saved.status_code == 303
    body = text(client.get(f"/imports/{run_id}/check"))
    assert re.search(r'id="rows-valid">2<', body)
    done = client.post(f"/imports/{run_id}/import", data={**form, "policy": "all_or_nothing"})
    assert done.status_code == 303
    assert issue_rows() == [
        ("Crash on save", "resolved", "critical", ada.id),
        ("Slow list", "open", "medium", grace.id),
    ]
    crash = db.session.execute(sa.select(Issue).where(Issue.title == "Crash on save")).scalar_one()
    assert crash.resolved_at.isoformat() == "2025-01-06T11:00:00"
    names = (
        db.session.execute(
            sa.select(Label.name)
            .join(IssueLabel, IssueLabel.label_id == Label.id)
            .where(IssueLabel.issue_id == crash.id)
            .order_by(Label.name)
        )
        .scalars()
        .all()
    )
    assert names == ["backend", "bug"]


def selected(body: str, select_id: str) -> str:
    """The value of the selected option of a select on the page ('' when none is selected)."""
    select = re.search(rf'<select id="{select_id}"[^>]*>(.*?)</select>', body, re.S).group(1)
    chosen = re.search(r'<option value="([^"]*)" selected>', select)
    return chosen.group(1) if chosen else ""


def test_word_mappings_can_be_undone_defaults_included(client, login_as):
    """'Not mapped' really unmaps a word, also one the format maps by default (Jira's Highest), and stays so."""
    login_as("member")
    content = "Summary,Priority\nCrash,Highest\nSlow,Normal\n"
    run_id = run_id_of(upload(client, content, dry_run="1"))
    words = {"priority_word": ["Highest", "Normal"]}

    def recheck(*values):
        assert (
            client.post(f"/imports/{run_id}/check", data={**words, "priority_value": list(values)}).status_code == 303
        )
        return text(client.get(f"/imports/{run_id}/check"))

    body = recheck("critical", "medium")
    assert re.search(r'id="rows-valid">2<', body)
    assert (selected(body, "priority-word-0"), selected(body, "priority-word-1")) == ("critical", "medium")
    body = recheck("", "")
    assert re.search(r'id="rows-valid">0<', body)
    assert "priority 'Highest' is not one of low, medium, high, critical" in body
    assert "priority 'Normal' is not one of low, medium, high, critical" in body
    assert (selected(body, "priority-word-0"), selected(body, "priority-word-1")) == ("", "")
    body = text(client.get(f"/imports/{run_id}/check"))  # kept on the run
    assert re.search(r'id="rows-valid">0<', body)
    db.session.rollback()
    assert db.session.get(ImportRun, run_id).settings["priority_words"] == {"highest": "", "normal": ""}
    form = {**words, "priority_value": ["", "medium"], "policy": "all_or_nothing"}
    refused = client.post(f"/imports/{run_id}/import", data=form)
    assert refused.status_code == 422 and "line 2: priority 'Highest' is not one of" in text(refused)
    assert issue_rows() == []


def test_mapped_assignees_stay_listed_once_whatever_their_case(client, login_as, make_user):
    login_as("member")
    sam = make_user(name="Samuel", email="samuel@example.com")
    content = "title,assignee\nA,Sam Smith\nB,sam smith\nC,SAM  SMITH\nD,Nobody\n"
    run_id = run_id_of(upload(client, content, dry_run="1"))
    body = text(client.get(f"/imports/{run_id}/check"))
    listed = re.findall(r'<input type="hidden" name="assignee_value" value="([^"]*)">', body)
    assert listed == ["Sam Smith", "Nobody"], "one row per value, whatever its case"
    assert re.search(r'<label for="assignee-0">Sam Smith</label>.*?<td class="n">3</td>', body, re.S)
    form = {"assignee_value": listed, "assignee_choice": [str(sam.id), ""]}
    assert client.post(f"/imports/{run_id}/check", data=form).status_code == 303
    body = text(client.get(f"/imports/{run_id}/check"))
    assert re.search(r'id="rows-valid">3<', body)
    assert re.findall(r'<input type="hidden" name="assignee_value" value="([^"]*)">', body) == ["Sam Smith", "Nobody"]
    assert (selected(body, "assignee-0"), selected(body, "assignee-1")) == (str(sam.id), "")
    form = {"assignee_value": listed, "assignee_choice": ["none", "none"]}
    assert client.post(f"/imports/{run_id}/check", data=form).status_code == 303
    body = text(client.get(f"/imports/{run_id}/check"))
    assert re.search(r'id="rows-valid">4<', body)
    assert (selected(body, "assignee-0"), selected(body, "assignee-1")) == ("none", "none"), "still there to change"
    assert client.post(f"/imports/{run_id}/import", data={"policy": "all_or_nothing"}).status_code == 303
    assert [row[3] for row in issue_rows()] == [None, None, None, None]


def test_unmatched_assignee_mapped_to_unassigned(client, login_as):
    login_as("member")
    run_id = run_id_of(upload(client, "title,assignee\nA,nobody@example.com\n", dry_run="1"))
    body = text(client.get(f"/imports/{run_id}/check"))
    assert "line 2" in body and "no active user with email nobody@example.com" in body
    form = {"assignee_value": ["nobody@example.com"], "assignee_choice": ["none"], "policy": "all_or_nothing"}
    assert client.post(f"/imports/{run_id}/import", data=form).status_code == 303
    assert issue_rows() == [("A", "open", "medium", None)]


@pytest.mark.parametrize(
    ("form", "message"),
    [
        ({"column": ["title", "bogus"]}, "'bogus' is not a field an import can fill."),
        ({"column": ["title"]}, "The form has 1 columns but the file has 2"),
        ({"status_word": ["x"], "status_value": ["later"]}, "Status 'later' is not one of"),
        ({"assignee_value": ["x"], "assignee_choice": ["bob"]}, "'bob' is not a user."),
        ({"policy": "maybe"}, "Policy 'maybe' is not one of"),
    ],
)
def test_bad_preview_choices_are_422(client, login_as, snapshot, form, message):
    login_as("member")
    run_id = run_id_of(upload(client, "title,status\nA,open\n", dry_run="1"))
    before = snapshot()
    response = client.post(f"/imports/{run_id}/import", data=form)
    assert response.status_code == 422 and message in text(response)
    assert snapshot() == before


def test_deactivated_assignee_is_a_row_error(client, login_as, make_user, snapshot):
    login_as("member")
    make_user(name="Old", email="old@example.com", active=False)
    assert_refused_at_once(
        client,
        snapshot,
        "title,assignee_email\nA,old@example.com\n",
        "Old (old@example.com) is deactivated and cannot be assigned",
    )


def test_each_imported_issue_names_its_own_import(client, login_as, make_issue, token_for):
    me = login_as("member")
    run_a = run_id_of(upload(client, "title\nA1\nA2\n", name="a.csv", policy="all_or_nothing"))
    make_issue(title="Made in the app", reporter=me)
    run_b = run_id_of(upload(client, "title\nB1\n", name="b.csv", policy="all_or_nothing"))
    later = make_issue(title="No events", reporter=me)
    db.session.execute(sa.delete(IssueEvent).where(IssueEvent.issue_id == later.id))  # no 'created' entry: looked up
    db.session.commit()
    ids = dict(db.session.execute(sa.select(Issue.title, Issue.id)).all())
    ranges = db.session.execute(
        sa.select(ImportedRange.first_id, ImportedRange.last_id, ImportedRange.run_id).order_by(ImportedRange.first_id)
    ).all()
    assert ranges == [(ids["A1"], ids["A2"], run_a), (ids["B1"], ids["B1"], run_b)]
    assert (
        db.session.execute(
            sa.select(sa.func.count()).select_from(IssueEvent).where(IssueEvent.kind == "imported")
        ).scalar()
        == 0
    )

    for title, file_name, run_id in (("A1", "a.csv", run_a), ("A2", "a.csv", run_a), ("B1", "b.csv", run_b)):
        page = text(client.get(f"/issues/{ids[title]}"))
        assert re.search(
            rf'Imported from\s*<a href="/imports/{run_id}">{file_name}</a>\s*by\s*<strong>Member 1</strong>', page
        )
    for title in ("Made in the app", "No events"):
        assert "Imported from" not in text(client.get(f"/issues/{ids[title]}"))

    body = client.get(f"/api/issues/{ids['B1']}/timeline", headers=token_for(me)).get_json()
    entry = body["entries"][0]
    assert {k: entry[k] for k in ("id", "kind", "actor_id", "version", "changes", "comment")} == {
        "id": None,
        "kind": "imported",
        "actor_id": me.id,
        "version": 1,
        "changes": {"import_run": run_b, "file": "b.csv"},
        "comment": None,
    }


def test_the_list_shows_exactly_the_issues_an_import_created(client, login_as, make_issue, token_for):
    me = login_as("member")
    run_a = run_id_of(upload(client, "title,priority\nA1,high\nA2,low\n", name="a.csv", policy="all_or_nothing"))
    make_issue(title="Made in the app", reporter=me)
    run_b = run_id_of(upload(client, "title\nB1\n", name="b.csv", policy="all_or_nothing"))
    ids = dict(db.session.execute(sa.select(Issue.title, Issue.id)).all())

    result = text(client.get(f"/imports/{run_a}"))
    link = re.search(r'href="(/issues\?[^"]*)"[^>]*>See the new issues in the list', result).group(1)
    page = text(client.get(html.unescape(link)))
    assert [int(n) for n in re.findall(r'<tr id="issue-(\d+)"', page)] == [ids["A1"], ids["A2"]]
    assert f'Created by <a href="/imports/{run_a}">import #{run_a}</a>' in page
    assert f'<input type="hidden" name="import" value="{run_a}">' in page  # other filters keep it
    narrowed = text(client.get(f"/issues?import={run_a}&priority=high"))
    assert re.findall(r'<tr id="issue-(\d+)"', narrowed) == [str(ids["A1"])]
    assert "No issues match these filters" in text(client.get("/issues?import=9999"))
    bad = client.get("/issues?import=first")
    assert bad.status_code == 400 and "import must be the number of an import, not 'first'" in text(bad)

    exported = parse_csv(client.get(f"/issues/export.csv?import={run_b}").get_data(as_text=True))
    assert [row[exported[0].index("title")] for row in exported[1:]] == ["B1"]
    body = client.get(f"/api/issues?import_id={run_a}&sort=id", headers=token_for(me)).get_json()
    assert [item["title"] for item in body["items"]] == ["A1", "A2"] and body["total"] == 2


def test_the_import_entry_opens_the_first_page_of_the_timeline(app, make_user):
    from tracker.issues import service as issues_service
    from tracker.issues.timeline import load_timeline

    me = make_user()
    run = staging.stage(db.session, me, "x.csv", io.BytesIO(b"title\nOne\n"))
    service.run_import(db.session, me, run, "all_or_nothing", staging.mapping_of(run))
    issue_id = db.session.execute(sa.select(Issue.id)).scalar_one()
    issues_service.update_issue(db.session, me, issue_id, 1, {"title": "One, renamed"})
    issues_service.update_issue(db.session, me, issue_id, 2, {"title": "One, renamed again"})
    newest = load_timeline(db.session, issue_id, limit=1)
    assert [e.kind for e in newest.entries] == ["updated"] and newest.has_earlier  # the import is on an earlier page
    earlier = load_timeline(db.session, issue_id, before=newest.earliest_id, limit=1)
    assert [e.kind for e in earlier.entries] == ["imported", "updated"] and not earlier.has_earlier
    assert [e.kind for e in load_timeline(db.session, issue_id).entries] == ["imported", "updated", "updated"]


# ---- service: set-based writes, both databases ------------------------------------------------------


def test_import_statement_count_does_not_grow_with_rows(app, make_user, count_statements, monkeypatch):
    me = make_user()
    monkeypatch.setattr(writer, "BATCH", 10_000)

    def statements_for(rows: int) -> int:
        content = "title,labels\n" + "".join(f"Issue {n},l{rows}-{n % 3}\n" for n in range(rows))
        run = staging.stage(db.session, me, "x.csv", io.BytesIO(content.encode()))
        with count_statements() as statements:
            service.run_import(db.session, me, run, "all_or_nothing", staging.mapping_of(run))
        return len(statements)

    assert statements_for(5) == statements_for(500)
    assert count_rows(Issue) == 505
    # No event per issue: each import records its ids as one range (nobody else created issues meanwhile).
    assert count_rows(IssueEvent) == 0
    ranges = db.session.execute(
        sa.select(ImportedRange.first_id, ImportedRange.last_id).order_by(ImportedRange.first_id)
    ).all()
    first = db.session.execute(sa.select(sa.func.min(Issue.id))).scalar()
    assert ranges == [(first, first + 4), (first + 5, first + 504)]


def test_import_in_several_batches_keeps_every_row(app, make_user, monkeypatch):
    me = make_user()
    monkeypatch.setattr(writer, "BATCH", 7)
    content = "title,priority\n" + "".join(f"Issue {n},{'bad' if n % 10 == 0 else 'low'}\n" for n in range(50))
    run = staging.stage(db.session, me, "x.csv", io.BytesIO(content.encode()))
    service.run_import(db.session, me, run, "skip_invalid", staging.mapping_of(run))
    titles = db.session.execute(sa.select(Issue.title).order_by(Issue.id)).scalars().all()
    assert titles == [f"Issue {n}" for n in range(50) if n % 10]
    assert db.session.execute(sa.select(ImportReject.line).order_by(ImportReject.line)).scalars().all() == [
        2,
        12,
        22,
        32,
        42,
    ]
    run = db.session.get(ImportRun, run.id)
    assert (run.created_count, run.rejected_count, run.rows_read) == (45, 5, 50)


def test_a_database_error_while_writing_is_import_failed_and_writes_nothing(app, make_user, monkeypatch, caplog):
    me = make_user()
    run = staging.stage(db.session, me, "x.csv", io.BytesIO(b"title\nA\nB\n"))
    good = writer.Writer.fields
    monkeypatch.setattr(
        writer.Writer, "fields", lambda self, row: ("x", *good(self, row)[1:2], "bogus", *good(self, row)[3:])
    )
    with caplog.at_level(logging.ERROR, logger=service.__name__), pytest.raises(writer.ImportFailed):
        service.run_import(db.session, me, run, "all_or_nothing", staging.mapping_of(run))
    assert count_rows(Issue) == 0
    assert db.session.get(ImportRun, run.id).state == "staged"
    [record] = [r for r in caplog.records if r.name == service.__name__]
    assert record.levelno == logging.ERROR and f"Import {run.id} of x.csv could not be saved" in record.getMessage()
    assert isinstance(record.exc_info[1], sa.exc.SQLAlchemyError), "the operator sees the database's own error"


LONG_KEY = "İ" * 30  # 60 characters in lower case: too long for labels.name_key
FITS = "İ" * 25  # 50 in lower case


def test_label_names_too_long_in_lower_case_are_row_errors_not_failures(client, login_as, snapshot):
    login_as("member")
    content = f"title,labels\nToo long,{LONG_KEY}\nFits,{FITS}\nSame again,{FITS.lower()}\n"
    assert_refused_at_once(
        client, snapshot, content, f"line 2: label '{'İ' * 20}…' is 60 characters long in lower case"
    )
    db.session.rollback()
    assert count_rows(Label) == 0
    response = upload(client, content, policy="skip_invalid")
    assert response.status_code == 303
    db.session.rollback()
    labels = db.session.execute(sa.select(Label)).scalars()
    assert [(label.name, len(label.name_key)) for label in labels] == [(FITS, 50)]
    assert count_rows(IssueLabel) == 2
    assert [t for t, *_ in issue_rows()] == ["Fits", "Same again"]


def _create_label_meanwhile(name: str) -> None:
    """Another import creates the label now: committed over another connection (PostgreSQL), or in the same
    transaction where SQLite's write lock keeps anyone else out."""
    now = service.utcnow()
    values = {"name": name, "name_key": name.lower(), "color": "#000000", "created_at": now, "updated_at": now}
    if db.session.get_bind().dialect.name == "postgresql":
        with db.engine.begin() as other:
            other.execute(sa.insert(Label).values(**values))
    else:
        db.session.execute(sa.insert(Label).values(**values))


def test_a_label_another_import_creates_meanwhile_is_used(app, make_user, monkeypatch):
    """The import read the labels before someone else created 'Shared': it takes theirs instead of failing."""
    me = make_user()
    run = staging.stage(db.session, me, "x.csv", io.BytesIO(b"title,labels\nA,shared; mine\nB,SHARED\n"))
    real_directory = service.directory

    def directory_then_race(session):
        found = real_directory(session)
        _create_label_meanwhile("Shared")
        return found

    monkeypatch.setattr(service, "directory", directory_then_race)
    service.run_import(db.session, me, run, "all_or_nothing", staging.mapping_of(run))
    db.session.rollback()
    labels = dict(db.session.execute(sa.select(Label.name, Label.id)).all())
    assert sorted(labels) == ["Shared", "mine"], "theirs kept its spelling; no second 'shared'"
    pairs = db.session.execute(
        sa.select(Issue.title, IssueLabel.label_id).join(IssueLabel, IssueLabel.issue_id == Issue.id)
    ).all()
    assert sorted(pairs) == sorted([("A", labels["Shared"]), ("A", labels["mine"]), ("B", labels["Shared"])])


def test_two_imports_creating_the_same_label_at_once_both_succeed(app, postgres_only, make_user):
    """PostgreSQL: while another transaction holds a new 'shared' label uncommitted, an import naming it waits on
    the unique key, then takes that label once it commits (it used to fail with a unique key clash, 503)."""
    me = make_user()
    run_id = staging.stage(db.session, me, "x.csv", io.BytesIO(b"title,labels\nA,shared\n")).id
    outcome: list = []

    def importing() -> None:
        with app.app_context():
            try:
                run = staging.get_run(db.session, run_id)
                service.run_import(
                    db.session, db.session.get(User, me.id), run, "all_or_nothing", staging.mapping_of(run)
                )
                outcome.append("ok")
            except Exception as exc:  # noqa: BLE001 - the test reports whatever happened
                outcome.append(repr(exc))
            finally:
                db.session.remove()

    now = service.utcnow()
    with db.engine.connect() as other:
        other.execute(
            sa.insert(Label).values(name="shared", name_key="shared", color="#000000", created_at=now, updated_at=now)
        )
        thread = threading.Thread(target=importing)
        thread.start()
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and thread.is_alive():  # until the import waits on our uncommitted label
            with db.engine.connect() as watcher:
                waiting = watcher.execute(
                    sa.text(
                        "SELECT count(*) FROM pg_stat_activity"
                        " WHERE datname = current_database() AND wait_event_type = 'Lock'"
                    )
                ).scalar()
            if waiting:
                break
            time.sleep(0.05)
        assert waiting, f"the import never waited on the label: {outcome}"
        other.commit()
    thread.join(timeout=30)
    assert outcome == ["ok"]
    db.session.rollback()
    [shared] = db.session.execute(sa.select(Label.id)).scalars().all()
    assert db.session.execute(sa.select(IssueLabel.label_id)).scalars().all() == [shared]


def test_staged_file_spans_several_chunks(app, make_user, monkeypatch):
    from tracker.imports import parse

    me = make_user()
    monkeypatch.setattr(staging, "CHUNK", 64)
    content = "title,description\n" + "".join(f'Issue {n},"text, with ""quotes""\nand a newline"\n' for n in range(40))
    run = staging.stage(db.session, me, "x.csv", io.BytesIO(content.encode("utf-16")))
    assert count_rows(ImportChunk) > 10
    report = service.check(db.session, run)
    assert (report.rows_read, report.valid, report.encoding_label) == (40, 40, parse.ENCODING_LABELS["utf-16"])
    service.run_import(db.session, me, run, "all_or_nothing", staging.mapping_of(run))
    issue = db.session.execute(sa.select(Issue).where(Issue.title == "Issue 39")).scalar_one()
    assert issue.description == 'text, with "quotes"\nand a newline'


def test_stage_rolls_back_on_a_bad_file(app, make_user):
    me = make_user()
    with pytest.raises(FileProblem):
        staging.stage(db.session, me, "x.csv", io.BytesIO(b"\x00\x01"))
    assert count_rows(ImportRun) == 0


# ---- export -----------------------------------------------------------------------------------------


def test_export_honours_the_filter_and_neutralises_formulas(client, login_as, make_issue, make_user):
    login_as("member")
    ada = make_user(name="Ada", email="ada@example.com")
    make_issue("=HYPERLINK(\"http://x\")", priority="high", assignee_id=ada.id, description="-5 degrees")
    make_issue("Low one", priority="low")
    response = client.get("/issues/export.csv?priority=high")
    assert response.status_code == 200 and response.mimetype == "text/csv"
    assert "attachment" in response.headers["Content-Disposition"]
    rows = parse_csv(response.get_data(as_text=True))
    assert rows[0] == EXPORT_HEADER
    assert len(rows) == 2
    assert rows[1][1:7] == ["'=HYPERLINK(\"http://x\")", "'-5 degrees", "open", "high", "ada@example.com", ""]


def test_export_link_on_the_list_keeps_the_filter(client, login_as, make_issue):
    login_as("member")
    make_issue("One", priority="high")
    body = text(client.get("/issues?priority=high&q=one"))
    assert re.search(r'href="/issues/export.csv\?[^"]*q=one\+priority:high', body)


def test_export_with_a_bad_filter_is_400(client, login_as):
    login_as("viewer")
    response = client.get("/issues/export.csv?sort=sideways")
    assert response.status_code == 400 and "Unknown sort 'sideways'" in text(response)


def test_exported_file_imports_again_cleanly(client, login_as, make_issue, make_user):
    me = login_as("member")
    ada = make_user(name="Ada", email="ada@example.com")
    from tracker.labels import service as labels

    bug = labels.create_label(db.session, me, "bug", "red")
    make_issue(
        "One, with comma",
        description='He said "hi"\n\n- a list\n=SUM(A1)',
        priority="critical",
        assignee_id=ada.id,
        labels=[bug.id],
    )
    make_issue("Two", status="resolved")
    exported = client.get("/issues/export.csv").get_data()
    kept = (Issue.title, Issue.description, Issue.status, Issue.priority, Issue.assignee_id, Issue.created_at,
            Issue.resolved_at)
    before = db.session.execute(sa.select(*kept).order_by(Issue.id)).all()
    response = upload(client, exported, name="export.csv", policy="all_or_nothing")
    assert response.status_code == 303
    run = db.session.get(ImportRun, run_id_of(response))
    # Issue 22: the export's id column names the issues, so importing it again changes and duplicates nothing.
    assert (run.created_count, run.updated_count, run.unchanged_count, run.rejected_count) == (0, 0, 2, 0)
    after = db.session.execute(sa.select(*kept).order_by(Issue.id)).all()
    assert [tuple(r) for r in after] == [tuple(r) for r in before]


def test_template_download_checks_clean_for_whoever_downloads_it(client, login_as):
    me = login_as("member")
    response = client.get("/import/template.csv")
    assert response.status_code == 200
    rows = parse_csv(response.get_data(as_text=True))
    assert rows[0][:2] == ["title", "description"]
    assert rows[1][4] == me.email, "the example assignee is the person downloading it"
    imported = upload(client, response.get_data(), name="template.csv", dry_run="1")
    body = text(client.get(imported.headers["Location"]))
    assert re.search(r'id="rows-read">3<', body) and re.search(r'id="rows-valid">3<', body)
    assert re.search(r'id="rows-invalid">0<', body) and 'id="invalid-rows"' not in body
    done = client.post(imported.headers["Location"].replace("/check", "/import"), data={"policy": "all_or_nothing"})
    assert done.status_code == 303
    assert issue_rows()[0] == ("Login page times out", "open", "high", me.id)


EVIL = '=HYPERLINK("http://evil")'


@pytest.mark.parametrize("imported", [False, True], ids=["before-import", "after-import"])
def test_rejected_rows_are_neutralised_and_import_again_cleanly(client, login_as, imported):
    """A formula in a rejected row comes back with the export's ' guard (before and after the import), and the
    fixed download imports with the cell as it was."""
    login_as("member")
    content = f'title,priority,labels\n"{EVIL.replace(chr(34), chr(34) * 2)}",urgent,-bad\nGood,low,\n'
    run_id = run_id_of(upload(client, content, dry_run="1"))
    if imported:
        assert client.post(f"/imports/{run_id}/import", data={"policy": "skip_invalid"}).status_code == 303
    download = client.get(f"/imports/{run_id}/rejected.csv")
    assert download.status_code == 200
    rows = parse_csv(download.get_data(as_text=True))
    assert rows == [
        ["title", "priority", "labels", "error"],
        ["'" + EVIL, "urgent", "'-bad", "line 2: priority 'urgent' is not one of low, medium, high, critical"],
    ]
    fixed = download.get_data(as_text=True).replace(",urgent,", ",high,")
    again = upload(client, fixed, name="issues-rejected.csv", policy="all_or_nothing")
    assert again.status_code == 303
    db.session.rollback()
    issue = db.session.execute(sa.select(Issue).where(Issue.priority == "high")).scalar_one()
    assert issue.title == EVIL
    label_names = db.session.execute(sa.select(Label.name)).scalars().all()
    assert label_names == ["-bad"]


def test_a_file_mixing_utf8_and_windows_1252_is_said_and_imported_as_written(client, login_as):
    """The check page names the mix; the import keeps every character of both kinds of line."""
    login_as("member")
    data = "title,description\nCafé crème,Grüße\n".encode("utf-8") + "Déjà vu,“quoted” – 5 €\n".encode("cp1252")
    response = upload(client, data, dry_run="1")
    assert response.status_code == 303
    body = text(client.get(response.headers["Location"]))
    assert '<strong id="file-encoding">UTF-8, with some Windows-1252 characters</strong>' in body
    response = client.post(f"/imports/{run_id_of(response)}/import", data={"policy": "all_or_nothing"})
    assert response.status_code == 303
    db.session.rollback()
    assert db.session.execute(sa.select(Issue.title, Issue.description).order_by(Issue.id)).all() == [
        ("Café crème", "Grüße"), ("Déjà vu", "“quoted” – 5 €"),
    ]


def test_all_or_nothing_refused_as_the_check_said_takes_no_issue_numbers(client, login_as, snapshot, make_issue):
    """The check found an invalid row; importing all-or-nothing anyway is refused before anything is written, so
    on PostgreSQL the issue sequence does not move (the next issue gets the next number, without a gap)."""
    login_as("member")
    make_issue("Already there")
    rows = "".join(f"Good {n},high\n" for n in range(200))
    run_id = run_id_of(upload(client, f"title,priority\n{rows}Bad,urgent\n", dry_run="1"))
    body = text(client.get(f"/imports/{run_id}/check"))
    assert '<input type="hidden" name="checked_invalid" value="1">' in body
    postgres = db.session.get_bind().dialect.name == "postgresql"
    last_number = "SELECT pg_sequence_last_value(pg_get_serial_sequence('issues', 'id')::regclass)"
    before, sequence = snapshot(), db.session.execute(sa.text(last_number)).scalar() if postgres else None
    refused = client.post(f"/imports/{run_id}/import", data={"policy": "all_or_nothing", "checked_invalid": "1"})
    assert refused.status_code == 422
    assert "Nothing was imported: 1 row is invalid (the first, line 202: priority 'urgent'" in text(refused)
    assert snapshot() == before
    if postgres:
        assert db.session.execute(sa.text(last_number)).scalar() == sequence
    # A check that is out of date (its count says none) still refuses, while writing.
    refused = client.post(f"/imports/{run_id}/import", data={"policy": "all_or_nothing", "checked_invalid": "0"})
    assert refused.status_code == 422 and snapshot() == before
    done = client.post(f"/imports/{run_id}/import", data={"policy": "skip_invalid", "checked_invalid": "1"})
    assert done.status_code == 303
    assert len(issue_rows()) == 201
