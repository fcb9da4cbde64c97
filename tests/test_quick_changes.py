"""The issue page's quick changes (status, priority, assignee, labels), "Resolve with comment", the edit page's
landing, internal words kept off the page, and the timeline's word diff."""

import pytest
import sqlalchemy as sa

from tests.helpers import count_rows, hx, text
from tracker.comments import service as comments_service
from tracker.diffs import word_diff, word_diff_html
from tracker.extensions import db
from tracker.issues import service
from tracker.models import Comment, Issue, IssueEvent


def stored(issue_id: int) -> Issue:
    """The issue as the database holds it now."""
    db.session.rollback()
    return service.get_issue(db.session, issue_id)


def quick(client, issue_id: int, field: str, value, version, headers=None):
    """Post one quick change as the issue page's small form does."""
    data = {"field": field, "version": str(version)}
    if field == "labels":
        data["labels"] = [str(v) for v in value]
    else:
        data[field] = value
    return client.post(f"/issues/{issue_id}/quick", data=data, headers=headers or {})


def test_issue_page_offers_quick_changes_to_people_who_edit(client, login_as, make_issue):
    login_as("member")
    issue = make_issue("Quick", status="open")
    html = text(client.get(f"/issues/{issue.id}"))
    assert 'id="quick-status"' in html and 'id="quick-priority"' in html and 'id="quick-assignee_id"' in html
    assert "Change labels" in html and "Apply labels" in html
    assert f'name="version" value="{issue.version}"' in html
    assert "<noscript><button" in html, "without JavaScript each quick form has its own button"
    assert "Resolve with comment" in html and "Close with comment" in html


def test_viewers_see_values_not_quick_changes(client, login_as, make_issue):
    login_as("viewer")
    issue = make_issue("Read only")
    html = text(client.get(f"/issues/{issue.id}"))
    assert "quick-status" not in html and "Change labels" not in html and "with comment" not in html


def test_no_internal_version_words_on_the_issue_page(client, login_as, make_issue):
    me = login_as("member")
    issue = make_issue("Versions")
    service.update_issue(db.session, me, issue.id, 1, {"priority": "high"})
    html = text(client.get(f"/issues/{issue.id}"))
    assert ">Version<" not in html and "· version" not in html.lower()
    assert 'title="Version 2"' in html, "the number stays in a tooltip"


def test_quick_change_without_javascript_redirects_back(client, login_as, make_issue):
    login_as("member")
    issue = make_issue("Quick", status="open")
    response = quick(client, issue.id, "status", "in_progress", 1)
    assert response.status_code == 303 and response.headers["Location"].endswith(f"/issues/{issue.id}")
    after = stored(issue.id)
    assert (after.status, after.version) == ("in_progress", 2)
    assert "Saved issue" in text(client.get(f"/issues/{issue.id}"))


def test_quick_change_with_htmx_swaps_the_issue_in_place(client, login_as, make_issue, make_user):
    login_as("member")
    grace = make_user("member", name="Grace")
    issue = make_issue("Quick")
    response = quick(client, issue.id, "assignee_id", str(grace.id), 1, headers=hx("issue-main"))
    assert response.status_code == 200
    body = text(response)
    assert body.lstrip().startswith('<article id="issue-main"') and 'data-version="2"' in body
    assert response.headers["HX-Trigger"] == "issue-changed"
    assert stored(issue.id).assignee_id == grace.id


def test_quick_labels_tick_and_untick_all(client, login_as, make_issue, make_label):
    login_as("member")
    bug, ui = make_label("bug", "red"), make_label("ui")
    issue = make_issue("Labelled")
    assert quick(client, issue.id, "labels", [bug.id, ui.id], 1).status_code == 303
    assert [label.name for label in stored(issue.id).labels] == ["bug", "ui"]
    assert quick(client, issue.id, "labels", [], 2).status_code == 303
    after = stored(issue.id)
    assert after.labels == [] and after.version == 3


def test_stale_quick_change_gets_the_conflict_view_and_changes_nothing(client, login_as, make_issue):
    me = login_as("member")
    issue = make_issue("Race", priority="low")
    service.update_issue(db.session, me, issue.id, 1, {"priority": "critical"})
    response = quick(client, issue.id, "priority", "high", 1, headers=hx("issue-main"))
    assert response.status_code == 409
    html = text(response)
    assert "changed while you were editing" in html and 'name="base_version" value="1"' in html
    after = stored(issue.id)
    assert (after.priority, after.version) == ("critical", 2)


def test_concurrent_quick_changes_lose_nothing(client, login_as, make_issue, make_user):
    """Two pages at version 1: one sets the status, the other the priority; the second gets the merge, which keeps
    the first one's status and its own priority."""
    me = login_as("member")
    other = make_user("member", name="Other")
    issue = make_issue("Both", status="open", priority="low")
    service.update_issue(db.session, other, issue.id, 1, {"status": "in_progress"})  # the other page, first
    response = quick(client, issue.id, "priority", "high", 1)
    assert response.status_code == 409
    html = text(response)
    assert 'id="merge-status"' in html and "Taken from the saved version" in html and "Yours kept" in html
    assert '<option selected value="in_progress">' in html or 'value="in_progress" selected' in html
    merged = {
        "title": "Both", "description": "", "status": "in_progress", "priority": "high", "assignee_id": "",
        "labels": "", "version": "2", "base_version": "1",
    }
    assert client.post(f"/issues/{issue.id}/edit", data=merged).status_code == 303
    after = stored(issue.id)
    assert (after.status, after.priority, after.version) == ("in_progress", "high", 3)
    assert me.id in {e.actor_id for e in db.session.execute(sa.select(IssueEvent)).scalars()}


@pytest.mark.parametrize(
    ("field", "value", "status", "message"),
    [
        ("status", "resolved", 422, "cannot move from Closed to Resolved"),
        ("priority", "urgent", 422, "Priority 'urgent' is not one of"),
        ("assignee_id", "999999", 422, "Unknown assignee"),
        ("title", "Sneaky", 400, "field must be one of"),
    ],
)
def test_refused_quick_changes_say_why_and_change_nothing(client, login_as, make_issue, field, value, status, message):
    login_as("member")
    issue = make_issue("Closed one", status="closed")
    response = quick(client, issue.id, field, value, 1, headers=hx("issue-main"))
    assert response.status_code == status
    assert message in text(response)
    after = stored(issue.id)
    assert (after.version, after.title, after.status) == (1, "Closed one", "closed")


def test_quick_change_of_a_missing_issue_is_404(client, login_as):
    login_as("member")
    assert quick(client, 999999, "priority", "high", 1).status_code == 404


def test_edit_page_saved_with_htmx_lands_on_the_issue(client, login_as, make_issue):
    login_as("member")
    issue = make_issue("Edited on its own page")
    data = {"title": "New title", "description": "", "status": "open", "priority": "medium", "assignee_id": "",
            "version": "1"}
    headers = {**hx("issue-main"), "HX-Current-URL": f"http://localhost/issues/{issue.id}/edit"}
    response = client.post(f"/issues/{issue.id}/edit", data=data, headers=headers)
    assert response.status_code == 200 and response.headers["HX-Redirect"] == f"/issues/{issue.id}"
    in_place = {**hx("issue-main"), "HX-Current-URL": f"http://localhost/issues/{issue.id}"}
    data.update(title="Again", version="2")
    response = client.post(f"/issues/{issue.id}/edit", data=data, headers=in_place)
    assert "HX-Redirect" not in response.headers and 'id="issue-main"' in text(response)


def test_resolve_with_comment_moves_and_posts(client, login_as, make_issue):
    login_as("member")
    issue = make_issue("Done soon", status="in_progress")
    response = client.post(
        f"/issues/{issue.id}/comments", data={"body": "Fixed in abc123.", "version": "1", "then_status": "resolved"}
    )
    assert response.status_code == 303
    after = stored(issue.id)
    assert (after.status, after.version) == ("resolved", 2)
    assert [c.body for c in comments_service.issue_comments(db.session, issue.id)] == ["Fixed in abc123."]


def test_resolve_with_comment_htmx_refreshes_the_fields(client, login_as, make_issue):
    login_as("member")
    issue = make_issue("Done soon")
    response = client.post(
        f"/issues/{issue.id}/comments", data={"body": "Closing.", "version": "1", "then_status": "closed"},
        headers=hx("comment-form"),
    )
    assert response.status_code == 200
    assert response.headers["HX-Trigger"] == "issue-fields-changed, issue-changed"
    assert stored(issue.id).status == "closed"


@pytest.mark.parametrize(
    ("body", "version", "then_status", "status", "message"),
    [
        (" ", "2", "resolved", 422, "Write something before posting"),
        ("Late", "1", "resolved", 409, "its status was not changed and your comment is not posted"),
        ("Odd", "2", "in_progress", 422, "cannot move from"),
    ],
)
def test_refused_move_with_comment_changes_nothing(
    client, login_as, make_issue, body, version, then_status, status, message
):
    me = login_as("member")
    issue = make_issue("Moving", status="open")
    service.update_issue(db.session, me, issue.id, 1, {"priority": "high"})
    if then_status == "in_progress":
        service.update_issue(db.session, me, issue.id, 2, {"status": "closed"})
        version = "3"
    before = (stored(issue.id).status, stored(issue.id).version)
    response = client.post(
        f"/issues/{issue.id}/comments",
        data={"body": body, "version": version, "then_status": then_status},
        headers=hx("comment-form"),
    )
    assert response.status_code == status
    assert message in text(response)
    assert body.strip() in text(response), "what was typed stays in the form"
    assert (stored(issue.id).status, stored(issue.id).version) == before
    assert count_rows(Comment) == 0


def test_word_diff_marks_changed_words():
    assert word_diff("the quick fox", "the slow fox") == [
        ("same", "the "), ("removed", "quick"), ("added", "slow"), ("same", " fox"),
    ]
    assert str(word_diff_html("a <b>", "a <i>")) == "a <del>&lt;b&gt;</del><ins>&lt;i&gt;</ins>"


def test_timeline_shows_a_word_diff_of_the_description(client, login_as, make_issue):
    me = login_as("member")
    issue = make_issue("Diffed", description="Steps: click the red button")
    service.update_issue(db.session, me, issue.id, 1, {"description": "Steps: click the blue button"})
    html = text(client.get(f"/issues/{issue.id}"))
    assert "<del>red</del><ins>blue</ins>" in html
    assert "Before:" not in html
