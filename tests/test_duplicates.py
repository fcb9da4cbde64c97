"""Close as duplicate (issue 22, item 7): the link both ways, both timelines, the guard, reopening, the bulk bar,
the API, and lists that leave duplicates out."""

import pytest
import sqlalchemy as sa

from tests.helpers import count_rows, hx, text
from tests.test_bulk import bulk_form
from tracker.errors import Forbidden, InvalidInput, StaleVersion
from tracker.extensions import db
from tracker.issues import duplicates
from tracker.issues import service as issues
from tracker.models import Issue, IssueEvent
from tracker.trash import service as trash


def fresh(issue_id: int) -> Issue:
    db.session.expire_all()
    return db.session.get(Issue, issue_id)


def events(issue_id: int) -> list[tuple[str, dict]]:
    rows = db.session.execute(
        sa.select(IssueEvent.kind, IssueEvent.changes).where(IssueEvent.issue_id == issue_id).order_by(IssueEvent.id)
    )
    return [(kind, changes) for kind, changes in rows]


# ---- service --------------------------------------------------------------------------------------


def test_closing_as_duplicate_closes_links_and_notes_both(make_user, make_issue):
    me = make_user()
    original = make_issue("Login fails")
    copy = make_issue("Cannot log in", status="in_progress")
    issues.update_issue(db.session, me, copy.id, 1, {"priority": "high"})
    duplicates.close_as_duplicate(db.session, me, copy.id, 2, f"#{original.id}")
    closed = fresh(copy.id)
    assert (closed.status, closed.duplicate_of_id, closed.version) == ("closed", original.id, 3)
    assert closed.resolved_at is not None
    assert events(copy.id)[-1] == (
        "updated",
        {"status": ["in_progress", "closed"], "duplicate_of": [None, original.id]},
    )
    assert events(original.id)[-1] == ("duplicate_marked", {"duplicates": [copy.id]})
    assert fresh(original.id).version == 1  # nothing of its own changed
    assert duplicates.duplicates_of(db.session, original.id) == [copy.id]


@pytest.mark.parametrize(
    ("target", "message"),
    [
        ("", "Give the number of the issue"),
        ("twelve", "Give the number of the issue"),
        ("0", "Give the number of the issue"),
        ("SELF", "cannot be a duplicate of itself"),
        ("999", "Issue #999 does not exist."),
    ],
)
def test_a_bad_target_is_explained_and_changes_nothing(make_user, make_issue, snapshot, target, message):
    me = make_user()
    issue = make_issue()
    before = snapshot()
    with pytest.raises(InvalidInput) as caught:
        duplicates.close_as_duplicate(db.session, me, issue.id, 1, str(issue.id) if target == "SELF" else target)
    assert message in caught.value.errors["duplicate_of"]
    assert snapshot() == before


def test_a_duplicate_of_a_duplicate_points_at_the_original(make_user, make_issue):
    me = make_user()
    original, first, second = make_issue("A"), make_issue("B"), make_issue("C")
    duplicates.close_as_duplicate(db.session, me, first.id, 1, original.id)
    with pytest.raises(InvalidInput) as caught:
        duplicates.close_as_duplicate(db.session, me, second.id, 1, first.id)
    assert caught.value.errors["duplicate_of"] == (
        f"#{first.id} is itself a duplicate of #{original.id}: mark this one a duplicate of #{original.id}."
    )


def test_a_target_in_the_trash_is_refused(make_user, make_issue):
    admin = make_user("admin")
    gone, issue = make_issue("Gone"), make_issue()
    trash.delete_issue(db.session, admin, gone.id)
    with pytest.raises(InvalidInput) as caught:
        duplicates.close_as_duplicate(db.session, admin, issue.id, 1, gone.id)
    assert caught.value.errors["duplicate_of"] == f"Issue #{gone.id} is in the trash; choose another one."


def test_the_version_guards_it(make_user, make_issue, snapshot):
    me = make_user()
    original, issue = make_issue("A"), make_issue("B")
    issues.update_issue(db.session, me, issue.id, 1, {"title": "B2"})
    before = snapshot()
    with pytest.raises(StaleVersion):
        duplicates.close_as_duplicate(db.session, me, issue.id, 1, original.id)
    assert snapshot() == before


def test_a_viewer_may_not(make_user, make_issue):
    original, issue = make_issue("A"), make_issue("B")
    with pytest.raises(Forbidden):
        duplicates.close_as_duplicate(db.session, make_user("viewer"), issue.id, 1, original.id)


def test_reopening_clears_the_link(make_user, make_issue):
    me = make_user()
    original, issue = make_issue("A"), make_issue("B")
    duplicates.close_as_duplicate(db.session, me, issue.id, 1, original.id)
    issues.update_issue(db.session, me, issue.id, 2, {"status": "open"})
    reopened = fresh(issue.id)
    assert (reopened.status, reopened.duplicate_of_id) == ("open", None)
    assert events(issue.id)[-1] == ("updated", {"status": ["closed", "open"], "duplicate_of": [original.id, None]})
    assert duplicates.duplicates_of(db.session, original.id) == []


def test_lists_can_leave_duplicates_out(make_user, make_issue):
    from tests.test_trash import listed

    me = make_user()
    original, copy, other = make_issue("Crash A"), make_issue("Crash B"), make_issue("Crash C")
    duplicates.close_as_duplicate(db.session, me, copy.id, 1, original.id)
    assert sorted(listed(q="crash")) == [original.id, copy.id, other.id]
    assert sorted(listed(q="crash", duplicates="hide")) == [original.id, other.id]
    assert sorted(listed(duplicates="hide")) == [original.id, other.id]


# ---- pages ----------------------------------------------------------------------------------------


def test_the_issue_page_closes_as_duplicate_without_javascript(client, login_as, make_issue):
    login_as("member")
    original, copy = make_issue("Original"), make_issue("Copy")
    response = client.post(f"/issues/{copy.id}/duplicate", data={"version": "1", "duplicate_of": f"#{original.id}"})
    assert response.status_code == 303
    page = text(client.get(f"/issues/{copy.id}"))
    assert "Duplicate of" in page and f'href="/issues/{original.id}">#{original.id}</a>' in page
    assert "Close as duplicate…" not in page  # already one
    other = text(client.get(f"/issues/{original.id}"))
    assert "Duplicates" in other and f'href="/issues/{copy.id}">#{copy.id}</a>' in other
    assert "as a duplicate of this issue" in other


def test_htmx_swaps_the_issue_and_a_refusal_says_why(client, login_as, make_issue):
    login_as("member")
    issue = make_issue()
    response = client.post(
        f"/issues/{issue.id}/duplicate", data={"version": "1", "duplicate_of": "4242"}, headers=hx("issue-main")
    )
    assert response.status_code == 422
    body = text(response)
    assert body.lstrip().startswith('<article id="issue-main"') and "Issue #4242 does not exist." in body
    assert fresh(issue.id).status == "open"
    original = make_issue("Original")
    response = client.post(
        f"/issues/{issue.id}/duplicate",
        data={"version": "1", "duplicate_of": str(original.id)},
        headers=hx("issue-main"),
    )
    assert response.status_code == 200 and "Duplicate of" in text(response)


def test_a_stale_page_is_told_the_issue_changed(client, login_as, make_user, make_issue):
    login_as("member")
    original, issue = make_issue("A"), make_issue("B")
    issues.update_issue(db.session, make_user(), issue.id, 1, {"title": "B2"})
    response = client.post(f"/issues/{issue.id}/duplicate", data={"version": "1", "duplicate_of": str(original.id)})
    assert response.status_code == 409
    assert "Someone changed this issue since you loaded it" in text(response)
    assert fresh(issue.id).duplicate_of_id is None


def test_the_bulk_bar_closes_many_as_duplicates(client, login_as, make_issue):
    me = login_as("member")
    original = make_issue("Original")
    made = [make_issue(f"Copy {n}") for n in range(3)]
    response = client.post("/issues/bulk", data=bulk_form(made, duplicate_of=str(original.id)))
    assert response.status_code == 303
    assert "Updated 3 issues: closed as duplicates of #" in text(client.get("/issues"))
    for issue in made:
        closed = fresh(issue.id)
        assert (closed.status, closed.duplicate_of_id, closed.version) == ("closed", original.id, 2)
    assert events(original.id)[-1] == ("duplicate_marked", {"duplicates": [i.id for i in made]})
    assert db.session.execute(sa.select(IssueEvent.actor_id).order_by(IssueEvent.id.desc())).first()[0] == me.id


def test_the_bulk_bar_refuses_a_target_in_the_selection(client, login_as, make_issue, snapshot):
    login_as("member")
    made = [make_issue(f"Copy {n}") for n in range(2)]
    before = snapshot()
    response = client.post("/issues/bulk", data=bulk_form(made, duplicate_of=str(made[0].id)))
    assert response.status_code == 422
    assert "cannot be a duplicate of itself" in text(response)
    assert snapshot() == before


def test_the_bulk_bar_refuses_an_unknown_target(client, login_as, make_issue):
    login_as("member")
    made = [make_issue(f"Copy {n}") for n in range(2)]
    response = client.post("/issues/bulk", data=bulk_form(made, duplicate_of="#777"))
    assert response.status_code == 422 and "Issue #777 does not exist." in text(response)
    assert count_rows(IssueEvent) == 2


def test_the_list_filter_hides_duplicates(client, login_as, make_issue):
    me = login_as("member")
    original, copy = make_issue("Original thing"), make_issue("Copied thing")
    duplicates.close_as_duplicate(db.session, me, copy.id, 1, original.id)
    page = text(client.get("/issues?q=-is:duplicate"))
    assert "Original thing" in page and "Copied thing" not in page
    page = text(client.get("/issues?q=is:duplicate"))
    assert "Original thing" not in page and "Copied thing" in page
    old = client.get("/issues?duplicates=hide")  # the older parameter is the same query
    assert old.status_code == 200 and "Copied thing" not in text(old) and 'value="-is:duplicate"' in text(old)
    response = client.get("/issues?duplicates=maybe")
    assert response.status_code in (400, 422) and "duplicates can only be 'hide'" in text(response)


# ---- API ------------------------------------------------------------------------------------------


def test_the_api_closes_as_duplicate(client, token_for, make_issue):
    headers = token_for("member")
    original, copy = make_issue("A"), make_issue("B")
    response = client.post(
        f"/api/issues/{copy.id}/duplicate", json={"duplicate_of": original.id, "version": 1}, headers=headers
    )
    assert response.status_code == 200
    assert (response.json["status"], response.json["duplicate_of"], response.json["version"]) == (
        "closed",
        original.id,
        2,
    )
    assert client.get(f"/api/issues/{original.id}", headers=headers).json["duplicate_of"] is None
    stale = client.post(
        f"/api/issues/{copy.id}/duplicate", json={"duplicate_of": original.id, "version": 1}, headers=headers
    )
    assert stale.status_code == 409
    other = make_issue("C")
    bad = client.post(
        f"/api/issues/{other.id}/duplicate", json={"duplicate_of": other.id, "version": 1}, headers=headers
    )
    assert bad.status_code == 422 and "cannot be a duplicate of itself" in bad.json["details"]["duplicate_of"]
    viewer = client.post(
        f"/api/issues/{other.id}/duplicate",
        json={"duplicate_of": original.id, "version": 1},
        headers=token_for("viewer"),
    )
    assert viewer.status_code == 403
