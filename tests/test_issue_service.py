"""Issue rules tested directly on the service: creation, guarded updates, workflow, merge."""

import pytest
import sqlalchemy as sa

from tracker.errors import Forbidden, InvalidInput, NotFound, StaleVersion
from tracker.extensions import db
from tracker.issues import service
from tracker.models import Issue, IssueEvent


def test_create_sets_version_one_reporter_and_created_event(make_user):
    reporter = make_user("member")
    issue = service.create_issue(db.session, reporter, {"title": "  Login   fails  ", "description": "Steps\r\n1. go"})
    assert (issue.version, issue.status, issue.priority) == (1, "open", "medium")
    assert issue.title == "Login fails"
    assert issue.description == "Steps\n1. go"
    assert issue.reporter_id == reporter.id
    assert issue.resolved_at is None
    events = db.session.execute(sa.select(IssueEvent)).scalars().all()
    assert [(e.kind, e.version, e.actor_id) for e in events] == [("created", 1, reporter.id)]


def test_create_resolved_issue_sets_resolved_at(make_user):
    issue = service.create_issue(db.session, make_user(), {"title": "Done already", "status": "resolved"})
    assert issue.resolved_at is not None


def test_viewer_cannot_create(make_user):
    with pytest.raises(Forbidden):
        service.create_issue(db.session, make_user("viewer"), {"title": "x"})
    assert db.session.execute(sa.select(sa.func.count(Issue.id))).scalar_one() == 0


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("title", "", "Title is required."),
        ("title", "   \t ", "Title is required."),
        ("title", "x" * 201, "Title must be at most 200 characters (it has 201)."),
        ("description", "d" * 20_001, "Description must be at most 20,000 characters (it has 20,001)."),
        ("status", "done", "Status 'done' is not one of open, in_progress, resolved, closed."),
        ("priority", "urgent", "Priority 'urgent' is not one of low, medium, high, critical."),
        ("assignee_id", "abc", "Unknown assignee 'abc'."),
        ("assignee_id", "9999", "Unknown assignee '9999'."),
    ],
)
def test_create_rejects_bad_fields(make_user, field, value, message):
    values = {"title": "Valid", field: value}
    with pytest.raises(InvalidInput) as info:
        service.create_issue(db.session, make_user(), values)
    assert info.value.errors[field] == message
    assert db.session.execute(sa.select(sa.func.count(Issue.id))).scalar_one() == 0


def test_title_of_exactly_200_characters_is_fine(make_user):
    assert len(service.create_issue(db.session, make_user(), {"title": "t" * 200}).title) == 200


def test_inactive_assignee_rejected_but_kept_when_unchanged(make_user, make_issue):
    member = make_user()
    gone = make_user(name="Gone")
    issue = make_issue(assignee_id=gone.id)
    gone.active = False
    db.session.commit()
    with pytest.raises(InvalidInput) as info:
        make_issue(assignee_id=gone.id)
    assert info.value.errors["assignee_id"] == "Gone is deactivated and cannot be assigned."
    updated = service.update_issue(db.session, member, issue.id, 1, {"title": "Renamed", "assignee_id": str(gone.id)})
    assert (updated.version, updated.assignee_id) == (2, gone.id)


def test_viewers_cannot_be_assigned_but_an_old_assignment_stays(make_user, make_issue):
    """Viewers cannot edit issues, so work is not assigned to them (as on GitHub or Jira); one assigned before
    the rule (or before becoming a viewer) keeps the issue until someone changes the assignee."""
    member = make_user()
    reader = make_user("viewer", name="Reader")
    with pytest.raises(InvalidInput) as info:
        make_issue(assignee_id=reader.id)
    assert info.value.errors["assignee_id"] == "Reader is a viewer and cannot be assigned issues."
    was_member = make_user(name="Was member")
    issue = make_issue(assignee_id=was_member.id)
    was_member.role = "viewer"
    db.session.commit()
    updated = service.update_issue(
        db.session, member, issue.id, 1, {"title": "Renamed", "assignee_id": str(was_member.id)}
    )
    assert (updated.version, updated.assignee_id) == (2, was_member.id)
    with pytest.raises(InvalidInput):
        service.update_issue(db.session, member, make_issue().id, 1, {"assignee_id": str(was_member.id)})


def test_update_bumps_version_records_event_and_maintains_resolved_at(make_user, make_issue):
    member = make_user()
    issue = make_issue()
    issue = service.update_issue(db.session, member, issue.id, "1", {"status": "resolved", "priority": "high"})
    assert issue.version == 2 and issue.resolved_at is not None
    first_resolved = issue.resolved_at
    issue = service.update_issue(db.session, member, issue.id, 2, {"status": "closed"})
    assert issue.resolved_at == first_resolved, "closing a resolved issue keeps its resolution time"
    issue = service.update_issue(db.session, member, issue.id, 3, {"status": "open"})
    assert issue.resolved_at is None and issue.version == 4
    event = db.session.execute(sa.select(IssueEvent).where(IssueEvent.version == 2)).scalar_one()
    assert event.changes == {"status": ["open", "resolved"], "priority": ["medium", "high"]}
    assert event.actor_id == member.id and event.kind == "updated"


def test_update_without_changes_keeps_version(make_user, make_issue):
    issue = make_issue(title="Same")
    same = service.update_issue(db.session, make_user(), issue.id, 1, {"title": "Same"})
    assert same.version == 1
    assert db.session.execute(sa.select(sa.func.count(IssueEvent.id))).scalar_one() == 1


def test_stale_version_raises_and_changes_nothing(make_user, make_issue):
    member = make_user()
    issue = make_issue()
    service.update_issue(db.session, member, issue.id, 1, {"title": "First"})
    with pytest.raises(StaleVersion) as info:
        service.update_issue(db.session, member, issue.id, 1, {"title": "Second"})
    assert (info.value.expected, info.value.current) == (1, 2)
    db.session.expire_all()
    assert db.session.get(Issue, issue.id).title == "First"


@pytest.mark.parametrize(
    ("version", "message"),
    [
        (None, "The issue version is missing; reload the issue and try again."),
        ("", "The issue version is missing; reload the issue and try again."),
        ("abc", "The issue version 'abc' is not a number."),
        ("0", "The issue version must be 1 or more."),
        ("7", "Version 7 is newer than the issue's current version 1."),
    ],
)
def test_bad_versions_are_invalid_input(make_user, make_issue, version, message):
    issue = make_issue()
    with pytest.raises(InvalidInput) as info:
        service.update_issue(db.session, make_user(), issue.id, version, {"title": "x"})
    assert info.value.errors["version"] == message


def test_unknown_issue_is_not_found(make_user):
    with pytest.raises(NotFound):
        service.update_issue(db.session, make_user(), 12345, 1, {"title": "x"})


@pytest.mark.parametrize(
    ("start", "target", "allowed"),
    [
        ("open", "in_progress", True),
        ("open", "closed", True),
        ("in_progress", "open", True),
        ("in_progress", "resolved", True),
        ("resolved", "open", True),
        ("resolved", "closed", True),
        ("resolved", "in_progress", False),
        ("closed", "open", True),
        ("closed", "resolved", False),
        ("closed", "in_progress", False),
    ],
)
def test_workflow_transitions(make_user, make_issue, start, target, allowed):
    issue = make_issue(status=start)
    member = make_user()
    if allowed:
        assert service.update_issue(db.session, member, issue.id, 1, {"status": target}).status == target
    else:
        with pytest.raises(InvalidInput) as info:
            service.update_issue(db.session, member, issue.id, 1, {"status": target})
        assert "cannot move from" in info.value.errors["status"]
        db.session.expire_all()
        assert db.session.get(Issue, issue.id).version == 1


def test_guard_is_the_update_statement(make_user, make_issue, count_statements):
    """The save is a single conditional UPDATE with the version in its WHERE clause."""
    issue = make_issue()
    with count_statements() as statements:
        service.update_issue(db.session, make_user(), issue.id, 1, {"title": "Guarded"})
    updates = [s for s in statements if s.lstrip().upper().startswith("UPDATE ISSUES")]
    assert len(updates) == 1
    assert "issues.version = " in updates[0] and "WHERE issues.id = " in updates[0]


def test_values_at_version_undo_later_changes(make_user, make_issue):
    member = make_user()
    other = make_user()
    issue = make_issue(title="v1", priority="low")
    service.update_issue(db.session, member, issue.id, 1, {"title": "v2"})
    service.update_issue(db.session, other, issue.id, 2, {"priority": "high", "assignee_id": str(other.id)})
    issue = service.get_issue(db.session, issue.id)
    values, later = service.values_at_version(db.session, issue, 1)
    assert values["title"] == "v1" and values["priority"] == "low" and values["assignee_id"] is None
    assert [e.version for e in later] == [2, 3]


def test_build_conflict_merges_one_sided_changes_and_marks_both_sided(make_user, make_issue):
    member = make_user()
    issue = make_issue(title="Original", description="Body", priority="low")
    service.update_issue(db.session, member, issue.id, 1, {"title": "Theirs", "priority": "high"})
    mine = {"title": "Mine", "description": "My body", "priority": "low", "status": "open", "assignee_id": None}
    conflict = service.build_conflict(db.session, issue.id, 1, mine)
    states = {f.name: f.state for f in conflict.fields}
    assert states == {
        "title": "conflict",
        "description": "mine",
        "priority": "theirs",
        "status": "same",
        "assignee_id": "same",
        "labels": "same",
    }
    assert conflict.merged_values["title"] == "Mine"
    assert conflict.merged_values["description"] == "My body"
    assert conflict.merged_values["priority"] == "high"
    assert conflict.conflicted == ["title"]
    assert [e.actor_id for e in conflict.changed_by] == [member.id]


def test_take_theirs_keeps_current_value(make_user, make_issue):
    member = make_user()
    issue = make_issue(title="Original")
    service.update_issue(db.session, member, issue.id, 1, {"title": "Theirs"})
    saved = service.update_issue(
        db.session, member, issue.id, 2, {"title": "Mine", "priority": "high"}, take_theirs=["title"]
    )
    assert (saved.title, saved.priority, saved.version) == ("Theirs", "high", 3)
