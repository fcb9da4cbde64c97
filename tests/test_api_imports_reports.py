"""JSON API: CSV import (dry run, policies, rejected rows) and the reports' top assignees and resolution times."""

from __future__ import annotations

import io
from datetime import timedelta

import pytest
import sqlalchemy as sa

from tests.helpers import count_rows
from tracker.extensions import db
from tracker.issues import service as issues
from tracker.labels import service as labels
from tracker.models import ImportRun, Issue, Label, utcnow

from .test_api import assert_error, assert_parameter_error

CSV = "title,priority,assignee\nFirst,high,\nSecond,urgent,\nThird,low,nobody@example.com\n"


def post_csv(client, headers, content: str | bytes, **form):
    """POST /api/issues/import with a file part and form fields."""
    data = {"file": (io.BytesIO(content.encode() if isinstance(content, str) else content), "issues.csv"), **form}
    return client.post("/api/issues/import", data=data, headers=headers, content_type="multipart/form-data")


def issue_titles() -> list[str]:
    db.session.rollback()
    return list(db.session.execute(sa.select(Issue.title).order_by(Issue.id)).scalars())


def test_import_dry_run_lists_rejected_rows_and_creates_nothing(client, token_for):
    response = post_csv(client, token_for(), CSV, dry_run="true")
    assert response.status_code == 200
    body = response.get_json()
    assert (body["dry_run"], body["rows_read"], body["valid"], body["created"], body["rejected_count"]) == (
        True,
        3,
        1,
        0,
        2,
    )
    assert [(r["line"], r["column"]) for r in body["rejected"]] == [(3, "priority"), (4, "assignee")]
    assert "urgent" in body["rejected"][0]["message"]
    assert issue_titles() == []


def test_import_all_or_nothing_with_invalid_rows_is_422(client, token_for):
    body = assert_error(post_csv(client, token_for(), CSV), 422, "import_rejected")
    assert "Nothing was imported" in body["message"] and body["details"]["rejected_count"] == 2
    assert [r["line"] for r in body["details"]["rejected"]] == [3, 4]
    assert issue_titles() == []


def test_import_skip_invalid_creates_the_valid_rows(client, token_for):
    response = post_csv(client, token_for(), CSV, policy="skip_invalid")
    assert response.status_code == 201
    body = response.get_json()
    assert (body["created"], body["rejected_count"], body["dry_run"]) == (1, 2, False)
    assert body["first_issue_id"] == body["last_issue_id"] and issue_titles() == ["First"]
    assert db.session.get(ImportRun, body["import_id"]).state == "imported"


def test_import_valid_file(client, token_for):
    response = post_csv(client, token_for(), "title,status\nOne,open\nTwo,resolved\n")
    assert response.status_code == 201 and response.get_json()["created"] == 2
    assert issue_titles() == ["One", "Two"]


@pytest.mark.parametrize(
    ("content", "form", "status", "code", "field", "message"),
    [
        (b"title\nA\n", {"policy": "sometimes"}, 422, "invalid", "policy", "Policy 'sometimes' is not one of"),
        (b"title,description\n", {}, 422, "bad_file", None, "header row but no rows"),
        (b'title,description\nfoo,"never closed\nbar,baz\n', {}, 422, "bad_file", None,
         "line 2: a quoted value is never closed (the file ends inside it)."),
        (b'title,description\nA,x\nfoo,"never closed\nbar,baz\n', {"dry_run": "true"}, 422, "bad_file", None,
         "line 3: a quoted value is never closed (the file ends inside it)."),
        (b'title,description\nA,x\nfoo,"never closed\nbar,baz\n', {"policy": "skip_invalid"}, 422, "bad_file", None,
         "line 3: a quoted value is never closed (the file ends inside it)."),
        (b'title,description\nA,x\nB,"' + b"x" * 140_000 + b'"\n', {"policy": "skip_invalid"}, 422, "bad_file", None,
         "line 3: a value is longer than 131,072 characters (or a quote is never closed)."),
        (None, {}, 422, "invalid", "file", "Missing data for required field."),
    ],
)
def test_import_errors(client, token_for, content, form, status, code, field, message):
    headers = token_for()
    if content is None:
        response = client.post("/api/issues/import", data=form, headers=headers, content_type="multipart/form-data")
    else:
        response = post_csv(client, headers, content, **form)
    body = assert_error(response, status, code)
    assert message in (body["details"][field] if field else body["message"])
    assert issue_titles() == []
    assert count_rows(Label) == 0


def test_label_sets_with_names_too_long_in_lower_case(client, token_for, make_user):
    """The API names labels; a new name whose lower case is too long for the key cannot be created (422), and one
    that just fits is found regardless of case."""
    headers = token_for()
    labels.create_label(db.session, make_user(), "İ" * 25, "blue")
    too_long = client.post("/api/issues", json={"title": "x", "labels": ["İ" * 30]}, headers=headers)
    assert_error(too_long, 422, "invalid", "labels", f"The new label '{'İ' * 30}' is 60 characters long in lower case")
    assert issue_titles() == []
    created = client.post("/api/issues", json={"title": "y", "labels": ["i̇" * 25]}, headers=headers)
    assert created.status_code == 201 and created.get_json()["labels"] == ["İ" * 25]
    assert issue_titles() == ["y"]


def test_import_file_sent_as_a_plain_field_is_422(client, token_for):
    response = client.post(
        "/api/issues/import", data={"file": "title\nA\n"}, headers=token_for(), content_type="multipart/form-data"
    )
    assert_error(response, 422, "invalid", "file", "file part")


def test_viewer_cannot_import(client, token_for):
    assert_error(post_csv(client, token_for("viewer"), "title\nA\n"), 403, "forbidden")
    assert issue_titles() == []


def test_top_assignees_and_latency(client, token_for, make_user, make_issue):
    ada = make_user(name="Ada")
    headers = token_for(ada)
    done = make_issue(title="Done", assignee_id=ada.id)
    make_issue(title="Open", assignee_id=ada.id)
    make_issue(title="Nobody's")
    issues.update_issue(db.session, ada, done.id, 1, {"status": "resolved"})
    body = client.get("/api/reports/top-assignees?limit=5", headers=headers).get_json()
    today = utcnow().date()
    assert body["period"] == {"from": (today - timedelta(days=29)).isoformat(), "to": today.isoformat()}
    rows = {(r["kind"], r["name"]): r for r in body["rows"]}
    assert rows[("person", "Ada")]["total"] == 2 and rows[("person", "Ada")]["resolved_in_period"] == 1
    assert rows[("unassigned", None)]["total"] == 1 and rows[("total", None)]["total"] == 3
    latency = client.get(
        f"/api/reports/latency?from={today.isoformat()}&to={today.isoformat()}", headers=headers
    ).get_json()
    assert [(r["kind"], r["name"], r["count"]) for r in latency["rows"]] == [("overall", None, 1), ("person", "Ada", 1)]
    overall = latency["rows"][0]
    assert overall["median_seconds"] >= 0
    assert overall["average_seconds"] == overall["median_seconds"] == overall["p90_seconds"]  # one issue: one duration


@pytest.mark.parametrize(
    ("query", "status", "field", "message"),
    [
        ("period=12", 400, "period", "Unknown period '12'"),
        ("from=2026-01-01", 400, "to", "'to' is missing"),
        ("from=2026-02-01&to=2026-01-01", 400, "from", "starts (2026-02-01) after it ends"),
        ("label=nope", 400, "label", "There is no label named 'nope'."),
        ("assignee=99", 400, "assignee", "There is no user with id 99."),
        ("limit=0", 422, "limit", "greater than or equal to 1"),
    ],
)
def test_report_parameter_errors(client, token_for, query, status, field, message):
    assert_parameter_error(
        client.get(f"/api/reports/top-assignees?{query}", headers=token_for()), status, field, message
    )
