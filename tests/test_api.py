"""JSON API: bearer tokens, every endpoint's success and failure paths, JSON errors, the OpenAPI document."""

from __future__ import annotations

import re

import pytest
import sqlalchemy as sa

from tests.helpers import assert_documented, count_rows, hx
from tracker.account import service as tokens
from tracker.extensions import db
from tracker.issues import service as issues
from tracker.models import ApiToken, Comment, Issue, IssueLabel
from tracker.numbers import MAX_ID, IdConverter, range_pattern


@pytest.fixture
def member(token_for):
    """Headers of a member's token."""
    return token_for("member")


def fresh(issue_id: int) -> Issue:
    """The issue as stored now."""
    db.session.expire_all()
    return issues.get_issue(db.session, issue_id)


def assert_error(response, status: int, code: str, field: str | None = None, text: str = ""):
    """A JSON error with this status and code (and a message for `field` containing `text`)."""
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.is_json
    body = response.get_json()
    assert set(body) >= {"error", "message", "details"} and body["error"] == code
    if field is not None:
        assert text in str(body["details"][field])
    return body


def assert_parameter_error(response, status: int, field: str, text: str):
    """A bad query parameter: 400 (bad_request) from the rules the pages share, 422 (invalid) from the schema."""
    return assert_error(response, status, "bad_request" if status == 400 else "invalid", field, text)


# ---- tokens --------------------------------------------------------------------------------------


def test_token_is_stored_only_as_a_hash_and_records_last_use(client, make_user):
    user = make_user()
    token, secret = tokens.create_token(db.session, user, "  CI   nightly ")
    stored = db.session.execute(sa.select(ApiToken)).scalar_one()
    assert stored.name == "CI nightly" and secret.startswith("trk_") and len(secret) > 40
    assert secret not in (stored.token_hash, stored.prefix) and stored.token_hash == tokens.hash_secret(secret)
    assert secret.startswith(stored.prefix) and stored.last_used_at is None
    assert client.get("/api/users", headers={"Authorization": f"Bearer {secret}"}).status_code == 200
    db.session.expire_all()
    assert db.session.get(ApiToken, token.id).last_used_at is not None


@pytest.mark.parametrize(
    ("header", "message"),
    [
        (None, "Authorization: Bearer"),
        ("Bearer", "Authorization: Bearer"),
        ("Basic dXNlcjpwYXNz", "Authorization: Bearer"),
        ("Bearer trk_not-a-real-token", "not valid"),
    ],
)
def test_missing_or_bad_token_is_401(client, make_issue, header, message):
    make_issue()
    headers = {"Authorization": header} if header else {}
    body = assert_error(client.get("/api/issues", headers=headers), 401, "unauthorized")
    assert message in body["message"]
    assert client.get("/api/issues", headers=headers).headers["WWW-Authenticate"].startswith("Bearer")


def test_session_cookie_alone_never_authenticates_the_api(client, login_as, snapshot):
    login_as("admin")
    before = snapshot()
    assert client.get("/issues").status_code == 200  # the page works with the session
    assert_error(client.get("/api/issues"), 401, "unauthorized")
    assert_error(client.post("/api/issues", json={"title": "Via cookie"}), 401, "unauthorized")
    assert snapshot() == before


def test_revoked_token_stops_working(client, make_user):
    user = make_user()
    token, secret = tokens.create_token(db.session, user, "laptop")
    headers = {"Authorization": f"Bearer {secret}"}
    assert client.get("/api/labels", headers=headers).status_code == 200
    tokens.revoke_token(db.session, user, token.id)
    assert_error(client.get("/api/labels", headers=headers), 401, "unauthorized")


def test_deactivated_users_token_is_401(client, make_user):
    user = make_user()
    _token, secret = tokens.create_token(db.session, user, "old")
    user.active = False
    db.session.commit()
    assert_error(client.get("/api/users", headers={"Authorization": f"Bearer {secret}"}), 401, "unauthorized")


def test_only_the_owner_revokes_a_token(make_user):
    owner, other = make_user(), make_user()
    token, _secret = tokens.create_token(db.session, owner, "mine")
    with pytest.raises(tokens.NotFound):
        tokens.revoke_token(db.session, other, token.id)
    assert db.session.get(ApiToken, token.id) is not None


def test_account_page_creates_shows_once_lists_and_revokes(client, login_as):
    me = login_as("member")
    page = client.get("/account")
    assert page.status_code == 200 and "You have no API tokens." in page.get_data(as_text=True)
    response = client.post("/account/tokens", data={"name": "CI job"})
    html = response.get_data(as_text=True)
    assert response.status_code == 201 and "shown only this once" in html
    assert response.headers["Cache-Control"] == "no-store"
    secret = re.search(r'value="(trk_[^"]+)"', html).group(1)
    assert client.get("/api/users", headers={"Authorization": f"Bearer {secret}"}).status_code == 200
    listing = client.get("/account").get_data(as_text=True)
    assert "CI job" in listing and secret not in listing and secret[:10] in listing
    token = db.session.execute(sa.select(ApiToken).where(ApiToken.user_id == me.id)).scalar_one()
    revoked = client.post(f"/account/tokens/{token.id}/revoke")
    assert revoked.status_code == 303
    assert_error(client.get("/api/users", headers={"Authorization": f"Bearer {secret}"}), 401, "unauthorized")


def test_account_page_rejects_a_blank_name(client, login_as):
    login_as("viewer")
    response = client.post("/account/tokens", data={"name": "   "})
    assert response.status_code == 422 and "Give the token a name" in response.get_data(as_text=True)
    assert count_rows(ApiToken) == 0


def test_account_token_section_swaps_with_htmx(client, login_as):
    login_as("member")
    headers = hx("api-tokens")
    response = client.post("/account/tokens", data={"name": "Script"}, headers=headers)
    html = response.get_data(as_text=True)
    assert response.status_code == 201 and html.lstrip().startswith('<section id="api-tokens"') and "<html" not in html


def test_token_create_command_prints_only_the_token(runner, make_user, client):
    user = make_user(email="robot@example.com")
    result = runner.invoke(args=["token", "create", "Robot@Example.com", "nightly import"])
    assert result.exit_code == 0, result.output
    secret = result.output.strip()
    assert result.output == secret + "\n" and secret.startswith("trk_")
    assert (
        db.session.execute(sa.select(ApiToken.name).where(ApiToken.user_id == user.id)).scalar_one() == "nightly import"
    )
    assert client.get("/api/users", headers={"Authorization": f"Bearer {secret}"}).status_code == 200


def test_token_create_command_unknown_email_fails(runner, app):
    result = runner.invoke(args=["token", "create", "nobody@example.com", "x"])
    assert result.exit_code == 1 and "No user has the email" in result.output
    assert count_rows(ApiToken) == 0


def test_api_needs_no_csrf_token(app, client, member):
    app.config["WTF_CSRF_ENABLED"] = True
    response = client.post("/api/issues", json={"title": "From a script"}, headers=member)
    assert response.status_code == 201


# ---- issues --------------------------------------------------------------------------------------


def test_create_issue_returns_201_with_every_field(client, make_user, token_for, make_label):
    make_label("bug")
    assignee = make_user(name="Ada")
    reporter = make_user()
    response = client.post(
        "/api/issues",
        json={
            "title": "  Crash  on save ",
            "priority": "high",
            "assignee_id": assignee.id,
            "labels": ["BUG"],
            "description": "x",
        },
        headers=token_for(reporter),
    )
    assert response.status_code == 201
    body = response.get_json()
    assert set(body) == {
        "id", "title", "description", "status", "priority", "assignee_id", "reporter_id", "labels",
        "version", "created_at", "updated_at", "resolved_at", "external_key", "duplicate_of",
    }
    assert (body["title"], body["status"], body["priority"], body["labels"], body["version"]) == (
        "Crash on save", "open", "high", ["bug"], 1,
    )
    assert body["assignee_id"] == assignee.id and body["reporter_id"] == reporter.id and body["resolved_at"] is None
    assert body["created_at"].endswith("+00:00")
    assert fresh(body["id"]).title == "Crash on save"


@pytest.mark.parametrize(
    ("payload", "field", "message"),
    [
        ({"title": "   "}, "title", "Title is required."),
        ({"title": "x" * 201}, "title", "at most 200 characters"),
        ({"title": "ok", "status": "done"}, "status", "Status 'done' is not one of"),
        ({"title": "ok", "priority": "urgent"}, "priority", "Priority 'urgent' is not one of"),
        ({"title": "ok", "assignee_id": 999}, "assignee_id", "Unknown assignee"),
        ({"title": "ok", "labels": ["n" * 51]}, "labels", f"The new label '{'n' * 51}' is 51 characters long"),
        ({"title": 5}, "title", "Not a valid string."),
        ({"title": "nul\x00byte"}, "title", "Text cannot contain NUL characters."),
        ({"title": "ok", "labels": ["a\x00"]}, "labels", "Text cannot contain NUL characters."),
        ({"title": "ok", "labels": ["ops;infra"]}, "labels", "The new label 'ops;infra' cannot contain ';'"),
        ({"title": "ok", "labels": ["a|b"]}, "labels", "The new label 'a|b' cannot contain '|'"),
        ({"title": "lone \ud800 surrogate"}, "title", "unpaired surrogates"),
        ({"title": "ok", "description": "\udfff"}, "description", "unpaired surrogates"),
        ({"title": "ok", "assignee_id": "1"}, "assignee_id", "Not a valid integer."),
        ({"title": "ok", "colour": "red"}, "colour", "Unknown field."),
        ({}, "title", "Missing data for required field."),
    ],
)
def test_create_issue_invalid_is_422_and_changes_nothing(client, member, snapshot, payload, field, message):
    before = snapshot()
    assert_error(client.post("/api/issues", json=payload, headers=member), 422, "invalid", field, message)
    assert snapshot() == before


def test_a_viewer_cannot_be_assigned_through_the_api(client, member, make_user, make_issue, snapshot):
    reader = make_user("viewer", name="Reader")
    issue = make_issue()
    before = snapshot()
    message = "Reader is a viewer and cannot be assigned issues."
    assert_error(
        client.post("/api/issues", json={"title": "ok", "assignee_id": reader.id}, headers=member),
        422,
        "invalid",
        "assignee_id",
        message,
    )
    patch = client.patch(f"/api/issues/{issue.id}", json={"assignee_id": reader.id, "version": 1}, headers=member)
    assert_error(patch, 422, "invalid", "assignee_id", message)
    assert snapshot() == before


def test_viewer_token_cannot_write(client, token_for, make_issue, snapshot):
    issue = make_issue()
    viewer = token_for("viewer")
    before = snapshot()
    assert client.get(f"/api/issues/{issue.id}", headers=viewer).status_code == 200
    writes = [
        ("post", "/api/issues", {"title": "No"}),
        ("patch", f"/api/issues/{issue.id}", {"title": "No", "version": 1}),
        ("put", f"/api/issues/{issue.id}/labels", {"labels": [], "version": 1}),
        ("post", f"/api/issues/{issue.id}/comments", {"body": "No"}),
        ("post", "/api/issues/bulk-status", {"issue_ids": [issue.id], "status": "closed"}),
    ]
    for method, url, payload in writes:
        assert_error(getattr(client, method)(url, json=payload, headers=viewer), 403, "forbidden")
    assert snapshot() == before


def test_get_issue_and_404(client, member, make_issue):
    issue = make_issue(title="Readable")
    assert client.get(f"/api/issues/{issue.id}", headers=member).get_json()["title"] == "Readable"
    body = assert_error(client.get("/api/issues/9999", headers=member), 404, "not_found")
    assert body["message"] == "Issue #9999 does not exist."


def test_patch_changes_fields_and_bumps_version(client, member, make_issue, make_user, make_label):
    issue = make_issue(title="Old")
    dev = make_user(name="Dev")
    make_label("ui")
    response = client.patch(
        f"/api/issues/{issue.id}",
        json={"title": "New", "status": "resolved", "assignee_id": dev.id, "labels": ["ui"], "version": 1},
        headers=member,
    )
    assert response.status_code == 200
    body = response.get_json()
    assert (body["title"], body["status"], body["assignee_id"], body["labels"], body["version"]) == (
        "New",
        "resolved",
        dev.id,
        ["ui"],
        2,
    )
    assert body["resolved_at"] is not None
    stored = fresh(issue.id)
    assert (stored.title, stored.version) == ("New", 2)


def test_stale_patch_is_409_with_the_current_issue(client, member, make_issue, make_user, snapshot):
    issue = make_issue(title="Start")
    issues.update_issue(db.session, make_user(), issue.id, 1, {"title": "Theirs"})
    before = snapshot()
    response = client.patch(f"/api/issues/{issue.id}", json={"title": "Mine", "version": 1}, headers=member)
    body = assert_error(response, 409, "version_conflict")
    assert body["current"]["title"] == "Theirs" and body["current"]["version"] == 2
    assert body["details"] == {"expected_version": 1, "current_version": 2}
    assert snapshot() == before


@pytest.mark.parametrize(
    ("payload", "field", "message"),
    [
        ({"title": "x"}, "version", "Missing data for required field."),
        ({"title": "x", "version": "one"}, "version", "Not a valid integer."),
        ({"title": "x", "version": 0}, "version", "greater than or equal to 1"),
        ({"title": "x", "version": 7}, "version", "newer than the issue's current version"),
        ({"status": "in_progress", "version": 1}, "status", "cannot move from Resolved to In progress"),
        ({"title": "", "priority": "meh", "version": 1}, "priority", "Priority 'meh'"),
    ],
)
def test_invalid_patch_is_422_with_per_field_details(client, member, make_issue, snapshot, payload, field, message):
    issue = make_issue(status="resolved")
    before = snapshot()
    assert_error(client.patch(f"/api/issues/{issue.id}", json=payload, headers=member), 422, "invalid", field, message)
    assert snapshot() == before


def test_put_labels_replaces_the_set(client, member, make_issue, make_label):
    bug, ui, api = make_label("bug"), make_label("ui"), make_label("api")
    issue = make_issue(labels=[bug.id, ui.id])
    response = client.put(
        f"/api/issues/{issue.id}/labels", json={"labels": ["API", "bug"], "version": 1}, headers=member
    )
    assert response.status_code == 200 and response.get_json()["labels"] == ["api", "bug"]
    rows = db.session.execute(sa.select(IssueLabel.label_id).where(IssueLabel.issue_id == issue.id)).scalars()
    assert sorted(rows) == sorted([bug.id, api.id]) and fresh(issue.id).version == 2


def test_put_labels_stale_or_unknown_changes_nothing(client, member, make_issue, make_label, make_user, snapshot):
    bug = make_label("bug")
    issue = make_issue(labels=[bug.id])
    issues.update_issue(db.session, make_user(), issue.id, 1, {"title": "Moved on"})
    before = snapshot()
    stale = client.put(f"/api/issues/{issue.id}/labels", json={"labels": [], "version": 1}, headers=member)
    assert assert_error(stale, 409, "version_conflict")["current"]["labels"] == ["bug"]
    stale_new = client.put(f"/api/issues/{issue.id}/labels", json={"labels": ["fresh"], "version": 1}, headers=member)
    assert_error(stale_new, 409, "version_conflict")  # and the label it named is not created
    too_long = client.put(f"/api/issues/{issue.id}/labels", json={"labels": ["n" * 51], "version": 2}, headers=member)
    assert_error(too_long, 422, "invalid", "labels", f"The new label '{'n' * 51}' is 51 characters long")
    assert snapshot() == before and fresh(issue.id).labels[0].id == bug.id


def test_unknown_labels_are_created_as_an_import_creates_them(client, member, make_label):
    """POST /api/issues answers 201 with the new issue's Location; a label it names that does not exist yet is
    created (as an import's new labels are), one label whatever the case."""
    make_label("bug")
    response = client.post(
        "/api/issues", json={"title": "Labelled", "labels": ["BUG", "Needs Triage", "needs  triage"]}, headers=member
    )
    assert response.status_code == 201
    body = response.get_json()
    assert response.headers["Location"].endswith(f"/api/issues/{body['id']}")
    assert sorted(body["labels"]) == ["Needs Triage", "bug"]
    assert client.get(response.headers["Location"], headers=member).get_json()["id"] == body["id"]


def test_list_filters_sorts_and_pages(client, member, make_issue, make_user, make_label):
    ada = make_user(name="Ada")
    bug = make_label("bug")
    make_issue(title="Alpha crash", priority="high", assignee_id=ada.id, labels=[bug.id])
    make_issue(title="Beta crash", priority="low")
    make_issue(title="Gamma", status="resolved")
    response = client.get("/api/issues?status=open&q=crash&sort=priority", headers=member)
    body = response.get_json()
    assert response.status_code == 200 and [i["title"] for i in body["items"]] == ["Beta crash", "Alpha crash"]
    assert (body["page"], body["total"], body["total_capped"]) == (1, 2, False)
    only = client.get(f"/api/issues?assignee_id={ada.id}&label=BUG", headers=member).get_json()
    assert [i["title"] for i in only["items"]] == ["Alpha crash"]
    none = client.get("/api/issues?assignee_id=none&priority=low&priority=medium", headers=member).get_json()
    assert sorted(i["title"] for i in none["items"]) == ["Beta crash", "Gamma"]
    page2 = client.get("/api/issues?per_page=2&page=2&sort=id", headers=member).get_json()
    assert [i["title"] for i in page2["items"]] == ["Gamma"] and (page2["per_page"], page2["total"]) == (2, 3)


@pytest.mark.parametrize(
    ("query", "status", "field", "message"),
    [
        ("status=done", 400, "status", "Unknown status 'done'"),
        ("label=nope", 400, "label", "There is no label named 'nope'."),
        ("created_from=2026-02-01&created_to=2026-01-01", 400, "created_from", "nothing can match"),
        ("per_page=101", 422, "per_page", "less than or equal to 100"),
        ("page=0", 422, "page", "greater than or equal to 1"),
        ("assignee_id=bob", 422, "assignee_id", "Use a user id or 'none'."),
    ],
)
def test_list_with_a_bad_filter_is_an_error(client, member, query, status, field, message):
    assert_parameter_error(client.get(f"/api/issues?{query}", headers=member), status, field, message)


# ---- bulk ----------------------------------------------------------------------------------------


def test_bulk_status_changes_all(client, member, make_issue):
    made = [make_issue(title=f"I{n}") for n in range(3)]
    payload = {
        "issue_ids": [i.id for i in made],
        "status": "resolved",
        "versions": {str(made[0].id): 1},
        "note": "fixed",
    }
    response = client.post("/api/issues/bulk-status", json=payload, headers=member)
    assert response.status_code == 200
    body = response.get_json()
    assert (body["updated"], body["unchanged"], body["message"]) == (3, 0, "3 issues moved to Resolved.")
    assert body["versions"] == {str(i.id): 2 for i in made}
    assert {fresh(i.id).status for i in made} == {"resolved"}


def test_bulk_status_with_one_stale_issue_changes_nothing(client, member, make_issue, make_user, snapshot):
    made = [make_issue(title=f"I{n}") for n in range(3)]
    issues.update_issue(db.session, make_user(), made[1].id, 1, {"priority": "high"})
    before = snapshot()
    payload = {"issue_ids": [i.id for i in made], "status": "closed", "versions": {str(i.id): 1 for i in made}}
    body = assert_error(client.post("/api/issues/bulk-status", json=payload, headers=member), 409, "version_conflict")
    assert [(b["issue_id"], b["kind"]) for b in body["details"]] == [(made[1].id, "stale")]
    assert "you saw version 1, it is now version 2" in body["details"][0]["reason"]
    assert snapshot() == before


def test_bulk_status_blocked_by_workflow_or_missing_issue_is_422(client, member, make_issue, snapshot):
    closed = make_issue(status="closed")
    open_ = make_issue()
    before = snapshot()
    payload = {"issue_ids": [open_.id, closed.id, 9999], "status": "resolved"}
    body = assert_error(client.post("/api/issues/bulk-status", json=payload, headers=member), 422, "blocked")
    assert [(b["issue_id"], b["kind"]) for b in body["details"]] == [(closed.id, "invalid"), (9999, "missing")]
    assert snapshot() == before


@pytest.mark.parametrize(
    ("payload", "field", "message"),
    [
        ({"issue_ids": [], "status": "closed"}, "issue_ids", "Select at least one issue."),
        ({"issue_ids": [1], "status": "gone"}, "status", "Status 'gone' is not one of"),
        ({"issue_ids": [1], "status": "closed", "note": "n" * 501}, "note", "at most 500 characters"),
        ({"issue_ids": ["x"], "status": "closed"}, "issue_ids", "Not a valid integer."),
        ({"status": "closed"}, "issue_ids", "Missing data for required field."),
        (
            {"issue_ids": [1], "status": "closed", "versions": {"abc": 1}},
            "versions",
            "'abc' is not one of the issue_ids",
        ),
        ({"issue_ids": [1], "status": "closed", "versions": {"2": 1}}, "versions", "'2' is not one of the issue_ids"),
    ],
)
def test_bulk_status_invalid_is_422(client, member, make_issue, snapshot, payload, field, message):
    make_issue()
    before = snapshot()
    body = assert_error(client.post("/api/issues/bulk-status", json=payload, headers=member), 422, "invalid")
    assert message in str(body["details"][field])
    assert snapshot() == before


# ---- comments, timeline, users, labels -----------------------------------------------------------


def test_comments_create_and_list(client, member, make_issue):
    issue = make_issue()
    response = client.post(
        f"/api/issues/{issue.id}/comments", json={"body": "**Seen** <script>x</script>"}, headers=member
    )
    assert response.status_code == 201
    body = response.get_json()
    assert (
        body["body"].startswith("**Seen**")
        and "<strong>Seen</strong>" in body["body_html"]
        and "<script" not in body["body_html"]
    )
    listed = client.get(f"/api/issues/{issue.id}/comments", headers=member).get_json()
    assert [c["id"] for c in listed] == [body["id"]] and listed[0]["author_name"].startswith("Member")
    assert fresh(issue.id).version == 1  # comments never change the version


def test_comment_errors(client, member, make_issue, snapshot):
    issue = make_issue()
    before = snapshot()
    assert_error(
        client.post(f"/api/issues/{issue.id}/comments", json={"body": "  "}, headers=member),
        422,
        "invalid",
        "body",
        "Write something",
    )
    assert_error(client.post("/api/issues/9999/comments", json={"body": "hi"}, headers=member), 404, "not_found")
    assert_error(client.get("/api/issues/9999/comments", headers=member), 404, "not_found")
    assert (
        snapshot() == before and count_rows(Comment) == 0
    )


def test_timeline_lists_changes_and_comments(client, member, make_issue, make_user):
    issue = make_issue(title="T")
    issues.update_issue(db.session, make_user(), issue.id, 1, {"priority": "high"})
    client.post(f"/api/issues/{issue.id}/comments", json={"body": "note"}, headers=member)
    body = client.get(f"/api/issues/{issue.id}/timeline", headers=member).get_json()
    assert [e["kind"] for e in body["entries"]] == ["created", "updated", "comment"]
    assert body["entries"][1]["changes"] == {"priority": ["medium", "high"]}
    assert body["entries"][2]["comment"]["body"] == "note" and body["has_earlier"] is False and body["before"] is None
    earlier = client.get(
        f"/api/issues/{issue.id}/timeline?before={body['entries'][1]['id']}", headers=member
    ).get_json()
    assert [e["kind"] for e in earlier["entries"]] == ["created"]
    assert_error(client.get("/api/issues/9999/timeline", headers=member), 404, "not_found")


def test_users_and_labels(client, token_for, make_user, make_label, make_issue):
    headers = token_for(make_user("viewer", name="Vera"))
    bug = make_label("bug", "red")
    make_issue(labels=[bug.id])
    users = client.get("/api/users", headers=headers).get_json()
    assert {"id", "name", "role", "active"} == set(users[0]) and "Vera" in [u["name"] for u in users]
    assert client.get("/api/labels", headers=headers).get_json() == [
        {"id": bug.id, "name": "bug", "color": "#b60205", "issue_count": 1}
    ]


# ---- errors and documents ------------------------------------------------------------------------


def test_http_errors_under_api_are_json(app, client, member):
    assert_error(client.get("/api/nothing-here", headers=member), 404, "not_found")
    assert_error(client.get("/api/nothing-here"), 404, "not_found")
    not_allowed = client.delete("/api/issues", headers=member)
    assert_error(not_allowed, 405, "method_not_allowed")
    assert set(not_allowed.headers["Allow"].split(", ")) >= {"GET", "POST"}
    assert_error(client.get("/api/issues/0", headers=member), 404, "not_found")
    assert_error(client.get("/api/issues/99999999999999999999", headers=member), 404, "not_found")
    bad_json = client.post("/api/issues", data="{oops", headers={**member, "Content-Type": "application/json"})
    assert_error(bad_json, 400, "bad_request")
    deep = "[" * 100_000 + "]" * 100_000  # deeper than Python's JSON decoder can follow
    assert_error(
        client.post("/api/issues", data=deep, headers={**member, "Content-Type": "application/json"}),
        400,
        "bad_request",
    )
    huge = '{"title": "t", "assignee_id": ' + "1" * 5000 + "}"  # beyond Python's 4,300 digits for an int
    assert_error(
        client.post("/api/issues", data=huge, headers={**member, "Content-Type": "application/json"}),
        400,
        "bad_request",
    )
    app.config["MAX_CONTENT_LENGTH"] = 1024
    assert_error(client.post("/api/issues", json={"title": "x" * 5000}, headers=member), 413, "too_large")


def test_every_json_body_answers_invalid_json_with_the_400_its_operation_declares(app, client, token_for):
    headers = {**token_for("admin"), "Content-Type": "application/json"}
    paths = client.get("/api/openapi.json").get_json()["paths"]
    operations = [
        (path, method)
        for path, item in paths.items()
        for method, operation in item.items()
        if method != "parameters" and "application/json" in operation.get("requestBody", {}).get("content", {})
    ]
    assert len(operations) >= 11 and ("/api/issues/{issue_id}", "patch") in operations
    for path, method in operations:
        url = re.sub(r"{[^}]+}", "1", path)
        for body in ("{oops", "", "not json at all", '{"title": "unfinished"'):
            response = client.open(url, method=method.upper(), data=body, headers=headers)
            where = f"{method.upper()} {url} {body!r}"
            assert response.status_code == 400, where
            assert response.get_json()["error"] == "bad_request", where
            assert response.get_json()["message"] == "The request body is not valid JSON.", where
            assert_documented(app, response, method, path)


def routes_with_ids(app, number: str) -> dict[str, str]:
    """Every route with an id in its path, as a URL with each id written as `number` (other parts as 'x'), mapped
    to the path as the OpenAPI document writes it."""
    urls = {}
    for rule in app.url_map.iter_rules():
        if any(isinstance(converter, IdConverter) for converter in rule._converters.values()):
            url = re.sub(r"<[^>]+>", "x", re.sub(r"<int[^>]*>", number, rule.rule))
            urls[url] = re.sub(r"<(?:[^>:]+:)?([^>]+)>", r"{\1}", rule.rule)
    return urls


@pytest.mark.parametrize("number", [str(MAX_ID + 1), "99999999999", "99999999999999999999"])
def test_an_id_out_of_range_is_404_for_every_method(app, client, login_as, token_for, number):
    """Werkzeug picks the rule for the method before it reads the id: a refused id answered 405 naming the path's
    other methods (DELETE /api/issues/99999999999: "Allow: GET, PATCH"). Every method is a 404 now."""
    headers = token_for("admin")
    login_as("admin")  # the pages' 404 for someone signed in, not the sign-in page
    urls = routes_with_ids(app, number)
    assert "/api/issues/" + number in urls and f"/issues/{number}/edit" in urls
    documented = {
        (path, method.upper())
        for path, operations in client.get("/api/openapi.json").get_json()["paths"].items()
        for method in operations
    }
    checked = 0
    for url, path in urls.items():
        for method in ("GET", "POST", "PUT", "PATCH", "DELETE"):
            response = client.open(url, method=method, headers=headers, json={})
            where = f"{method} {url}"
            assert response.status_code == 404, where
            assert "Allow" not in response.headers, where
            if url.startswith("/api/"):
                assert response.get_json()["error"] == "not_found", where
                assert set(response.get_json()) == {"error", "message", "details"}, where
                if (path, method) in documented:
                    assert_documented(app, response, method, path)
                    checked += 1
            else:
                assert "text/html" in response.content_type and "Not found" in response.get_data(as_text=True), where
    assert checked >= 20  # every documented operation with an id in its path


@pytest.mark.parametrize(("low", "high"), [(0, 9), (1, 31), (7, 1234), (0, 10_000), (99, 100), (5, 5)])
def test_the_id_pattern_matches_exactly_the_numbers_in_its_bounds(low, high):
    pattern = re.compile(f"(?:{range_pattern(low, high)})\\Z")
    assert [n for n in range(20_000) if pattern.match(str(n))] == list(range(low, high + 1))
    ids = re.compile(f"0*(?:{range_pattern(1, MAX_ID)})\\Z")
    for number in (1, 9, 10, 999_999_999, 1_000_000_000, 1_999_999_999, 2_147_483_639, MAX_ID):
        assert ids.match(str(number)) and ids.match(f"00{number}")
    for number in (0, MAX_ID + 1, 2_147_483_650, 2_147_483_700, 2_200_000_000, 3 * 10**9, 10**10, 99999999999):
        assert not ids.match(str(number))


def test_an_api_id_of_0_is_404_for_every_method_and_a_wrong_method_still_405(client, token_for, make_issue):
    headers, issue = token_for("admin"), make_issue()
    for method in ("GET", "PATCH", "DELETE"):
        assert_error(client.open("/api/issues/0", method=method, headers=headers, json={}), 404, "not_found")
    assert_error(client.post("/api/issues/0/comments", json={"body": "x"}, headers=headers), 404, "not_found")
    wrong = client.put(f"/api/issues/{issue.id}", json={}, headers=headers)  # an id in range: the method is wrong
    assert_error(wrong, 405, "method_not_allowed")
    assert set(wrong.headers["Allow"].split(", ")) >= {"GET", "PATCH", "DELETE"}
    assert client.delete(f"/api/issues/{MAX_ID}", headers=headers).status_code == 404  # the largest id is read


def test_pages_outside_api_keep_html_errors(client, login_as):
    login_as("member")
    response = client.get("/issues/9999")
    assert response.status_code == 404 and "text/html" in response.content_type


def test_openapi_document_lists_every_endpoint(client):
    response = client.get("/api/openapi.json")
    assert response.status_code == 200
    spec = response.get_json()
    assert (
        spec["openapi"].startswith("3.") and spec["components"]["securitySchemes"]["bearerAuth"]["scheme"] == "bearer"
    )
    assert {
        ("/api/issues", "get"), ("/api/issues", "post"), ("/api/issues/{issue_id}", "get"),
        ("/api/issues/{issue_id}", "patch"), ("/api/issues/{issue_id}/labels", "put"),
        ("/api/issues/bulk-status", "post"), ("/api/issues/{issue_id}/comments", "get"),
        ("/api/issues/{issue_id}/comments", "post"), ("/api/issues/{issue_id}/timeline", "get"),
        ("/api/users", "get"), ("/api/labels", "get"),
    } <= {(path, method) for path, ops in spec["paths"].items() for method in ops}
    assert set(spec["components"]["schemas"]["Error"]["required"]) == {"error", "message", "details"}


def test_docs_page_uses_only_local_assets(client):
    response = client.get("/api/docs")
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and 'id="swagger-ui"' in html
    assert "http://" not in html.replace("http://www.w3.org", "") and "https://" not in html and "<script>" not in html
    csp = response.headers["Content-Security-Policy"]
    assert "script-src 'self';" in csp and "unsafe" not in csp
    for asset in re.findall(r'(?:src|href)="(/static/[^"]+)"', html):
        served = client.get(asset)
        assert served.status_code == 200, asset
        served.close()


def test_footer_links_to_the_api_docs(client, login_as):
    login_as("viewer")
    assert 'href="/api/docs"' in client.get("/issues").get_data(as_text=True)


def test_unknown_query_parameter_is_422(client, member):
    assert_error(client.get("/api/issues?statuss=open", headers=member), 422, "invalid", "statuss", "Unknown field.")


def test_list_and_timeline_run_a_constant_number_of_statements(
    client, member, make_issue, make_label, make_user, count_statements
):
    bug = make_label("bug")
    dev = make_user(name="Dev")

    def statements(url: str) -> int:
        with count_statements() as seen:
            assert client.get(url, headers=member).status_code == 200
        return len(seen)

    first = make_issue(labels=[bug.id], assignee_id=dev.id)
    client.get("/api/users", headers=member)  # the token's first use records it (once a minute at most)
    few = statements("/api/issues"), statements(f"/api/issues/{first.id}/timeline")
    for n in range(20):
        make_issue(title=f"More {n}", labels=[bug.id], assignee_id=dev.id)
        client.post(f"/api/issues/{first.id}/comments", json={"body": f"c{n}"}, headers=member)
        issues.update_issue(db.session, dev, first.id, fresh(first.id).version, {"title": f"Renamed {n}"})
    assert (statements("/api/issues"), statements(f"/api/issues/{first.id}/timeline")) == few
