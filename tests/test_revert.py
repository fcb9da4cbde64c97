"""Reverting a change from the timeline (issue 22): asked first, a guarded edit, a conflict if it changed since."""

import pytest
import sqlalchemy as sa

from tests.helpers import text
from tracker.errors import Forbidden, StaleVersion
from tracker.extensions import db
from tracker.issues import service as issues
from tracker.models import IssueEvent


def last_event(issue_id: int) -> IssueEvent:
    """The issue's newest timeline entry."""
    return db.session.execute(
        sa.select(IssueEvent).where(IssueEvent.issue_id == issue_id).order_by(IssueEvent.id.desc()).limit(1)
    ).scalar_one()


@pytest.mark.parametrize(
    ("field", "old", "new"),
    (("title", "Old title", "New title"), ("description", "before", "after"), ("priority", "medium", "high")),
)
def test_revert_sets_the_old_value_back_as_an_edit(make_user, make_issue, field, old, new):
    me = make_user()
    issue = make_issue(title="Old title", description="before")
    issues.update_issue(db.session, me, issue.id, 1, {field: new})
    event = last_event(issue.id)
    reverted = issues.revert_change(db.session, me, issue.id, event.id, field, 2)
    assert getattr(reverted, field) == old and reverted.version == 3
    assert last_event(issue.id).changes[field] == [new, old]


def test_revert_a_label_change(make_user, make_issue, make_label):
    me = make_user()
    bug, ui = make_label("bug"), make_label("ui")
    issue = make_issue(labels=[bug.id])
    issues.update_issue(db.session, me, issue.id, 1, {"labels": [str(bug.id), str(ui.id)]})
    reverted = issues.revert_change(db.session, me, issue.id, last_event(issue.id).id, "labels", 2)
    assert [label.name for label in reverted.labels] == ["bug"]


def test_revert_of_a_field_changed_since_is_a_conflict_and_changes_nothing(make_user, make_issue, snapshot):
    me = make_user()
    issue = make_issue()
    issues.update_issue(db.session, me, issue.id, 1, {"priority": "high"})
    event = last_event(issue.id)
    issues.update_issue(db.session, me, issue.id, 2, {"priority": "critical"})
    before = snapshot()
    with pytest.raises(StaleVersion) as caught:
        issues.revert_change(db.session, me, issue.id, event.id, "priority", 3)
    assert caught.value.expected == 2
    assert snapshot() == before


def test_viewers_cannot_revert(make_user, make_issue):
    me = make_user()
    issue = make_issue()
    issues.update_issue(db.session, me, issue.id, 1, {"priority": "high"})
    with pytest.raises(Forbidden):
        issues.revert_change(db.session, make_user("viewer"), issue.id, last_event(issue.id).id, "priority", 2)


def test_the_timeline_offers_revert_which_asks_first(client, login_as, make_issue):
    me = login_as("member")
    issue = make_issue()
    issues.update_issue(db.session, me, issue.id, 1, {"priority": "high"})
    event = last_event(issue.id)
    url = f"/issues/{issue.id}/revert/{event.id}/priority"
    assert url in text(client.get(f"/issues/{issue.id}"))
    question = client.get(url)
    assert question.status_code == 200 and "Set priority of" in text(question)
    response = client.post(url, data={"version": "2"})
    assert response.status_code == 303
    assert issues.get_issue(db.session, issue.id).priority == "medium"


def test_a_revert_meeting_a_newer_change_shows_the_conflict_view(client, login_as, make_user, make_issue, snapshot):
    me = login_as("member")
    issue = make_issue()
    issues.update_issue(db.session, me, issue.id, 1, {"priority": "high"})
    event = last_event(issue.id)
    issues.update_issue(db.session, make_user("member", name="Newer Nina"), issue.id, 2, {"priority": "critical"})
    url = f"/issues/{issue.id}/revert/{event.id}/priority"
    assert "It changed again since" in text(client.get(url))
    before = snapshot()
    response = client.post(url, data={"version": "3"})
    assert response.status_code == 409
    page = text(response)
    assert "changed while you were editing" in page and "Newer Nina" in page
    assert 'id="merge-priority"' in page
    assert snapshot() == before


def test_reverting_something_that_is_not_a_field_change_is_not_found(client, login_as, make_issue):
    login_as("member")
    issue = make_issue()
    created = last_event(issue.id)
    assert client.get(f"/issues/{issue.id}/revert/{created.id}/title").status_code == 404
