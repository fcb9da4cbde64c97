"""Notifications: who hears what, written in the change's transaction (service level, both databases)."""

from __future__ import annotations

import io

import pytest
import sqlalchemy as sa

from tracker.bulk import service as bulk
from tracker.comments import service as comments
from tracker.extensions import db
from tracker.imports import service as imports
from tracker.imports import staging
from tracker.issues import service as issues
from tracker.models import Issue, Notification, User, Watcher
from tracker.notifications import service as notifications


def _notes() -> list[tuple]:
    """(user name, issue id, reason, summary, count) of every notification, in id order."""
    rows = db.session.execute(
        sa.select(User.name, Notification.issue_id, Notification.reason, Notification.summary, Notification.count)
        .join(User, User.id == Notification.user_id)
        .order_by(Notification.id)
    ).all()
    db.session.rollback()
    return [tuple(r) for r in rows]


def _watchers(issue_id: int) -> set[str]:
    names = set(
        db.session.execute(
            sa.select(User.name).join(Watcher, Watcher.user_id == User.id).where(Watcher.issue_id == issue_id)
        ).scalars()
    )
    db.session.rollback()
    return names


@pytest.fixture
def people(make_user):
    """Ada reports, Grace is assigned, Linus only reads."""
    return {
        "ada": make_user("member", name="Ada", email="ada@example.com"),
        "grace": make_user("member", name="Grace", email="grace.hopper@example.com"),
        "linus": make_user("viewer", name="Linus", email="linus@example.com"),
    }


def test_handles_are_proposed_from_the_email_and_numbered_when_taken(make_user):
    first = make_user("member", email="sam.smith@example.com")
    second = make_user("member", email="sam.smith@example.org")
    odd = make_user("member", email="++@example.net")
    assert (first.handle, second.handle, odd.handle) == ("sam-smith", "sam-smith2", "user")


def test_creating_an_issue_tells_the_assignee_and_the_mentioned_not_the_reporter(people, make_issue):
    ada, grace = people["ada"], people["grace"]
    issue = make_issue("Crash", reporter=ada, assignee_id=grace, description="@linus and @ada and @nobody look")
    assert _notes() == [("Grace", issue.id, "assigned", "assigned to you", 1), ("Linus", issue.id, "mentioned",
                                                                                  "mentioned you", 1)]
    assert _watchers(issue.id) == {"Ada", "Grace", "Linus"}


def test_a_comment_tells_the_watchers_once_and_the_author_watches(people, make_issue, make_user):
    ada, grace = people["ada"], people["grace"]
    issue = make_issue("Crash", reporter=ada)
    comments.add_comment(db.session, grace, issue.id, "Seen it, @linus?")
    assert _notes() == [("Linus", issue.id, "mentioned", "mentioned you", 1), ("Ada", issue.id, "commented",
                                                                               "commented", 1)]
    assert _watchers(issue.id) == {"Ada", "Grace", "Linus"}


def test_a_mention_added_by_editing_a_comment_tells_only_the_newly_mentioned(people, make_issue, make_user, client,
                                                                            login):
    ada, grace = people["ada"], people["grace"]
    make_user("member", name="Edsger", email="edsger@example.com")
    issue = make_issue("Crash", reporter=ada)
    comment = comments.add_comment(db.session, grace, issue.id, "First draft, @linus")
    before = len(_notes())
    comments.edit_comment(db.session, grace, comment.id, "Now @linus and @edsger, please")
    # Linus heard of the comment already; Edsger is new to it: he watches and is told, nobody else hears of the edit.
    assert _notes()[before:] == [("Edsger", issue.id, "mentioned", "mentioned you", 1)]
    assert "Edsger" in _watchers(issue.id)
    comments.edit_comment(db.session, grace, comment.id, "Now @linus and @edsger, please (typo)")
    assert len(_notes()) == before + 1
    login(grace)  # involves: finds the issue by the mention
    assert f'id="issue-{issue.id}"' in client.get("/issues?q=involves:edsger").get_data(as_text=True)


def test_status_and_assignment_changes(people, make_issue):
    ada, grace = people["ada"], people["grace"]
    issue = make_issue("Crash", reporter=ada)
    issue = issues.update_issue(db.session, ada, issue.id, 1, {"assignee_id": grace.id, "priority": "high"})
    assert _notes() == [("Grace", issue.id, "assigned", "assigned to you", 1)]
    db.session.execute(sa.delete(Watcher).where(Watcher.user_id == ada.id))  # Ada stops watching
    db.session.commit()
    issues.update_issue(db.session, grace, issue.id, 2, {"status": "resolved"})
    assert _notes()[1:] == [("Ada", issue.id, "resolved", "resolved the issue you reported", 1)]
    issues.update_issue(db.session, grace, issue.id, 3, {"status": "open", "title": "Crash again"})
    assert len(_notes()) == 2  # Ada does not watch; Grace acted


def test_deactivated_people_hear_nothing(people, make_issue):
    ada, grace = people["ada"], people["grace"]
    issue = make_issue("Crash", reporter=ada)
    ada.active = False
    db.session.commit()
    comments.add_comment(db.session, grace, issue.id, "Hello @ada")
    assert _notes() == []


def test_a_rolled_back_change_notifies_nobody(people, make_issue, monkeypatch):
    ada, grace = people["ada"], people["grace"]
    issue = make_issue("Crash", reporter=ada)

    def fail(session, *args, **kwargs):
        written = session.execute(sa.select(sa.func.count()).select_from(Notification)).scalar_one()
        assert written == 1, "Ada's notification is written in the change's own transaction"
        raise RuntimeError("disk full")

    # Fails after the notifications were written (queuing their email is the last step before the commit).
    monkeypatch.setattr(comments.fanout, "queue_email", fail)
    with pytest.raises(RuntimeError):
        comments.add_comment(db.session, grace, issue.id, "Hello @ada")
    db.session.rollback()
    assert _notes() == []
    assert _watchers(issue.id) == {"Ada"}


def test_a_bulk_change_tells_each_watcher_once_per_issue_with_the_note(people, make_issue, make_user):
    ada, grace = people["ada"], people["grace"]
    first = make_issue("One", reporter=ada)
    second = make_issue("Two", reporter=ada)
    change = bulk.BulkChange(status="closed", assignee_id=grace.id, note="Sprint cleanup")
    boss = make_user("admin", name="Boss")
    bulk.apply_bulk(db.session, boss, [first.id, second.id], None, change)
    notes = _notes()
    # Ada reported both (and watches them): closing them tells her so ("resolved", the reason a single edit gives).
    assert sorted((n[0], n[1], n[2]) for n in notes) == sorted(
        [("Ada", first.id, "resolved"), ("Ada", second.id, "resolved"), ("Grace", first.id, "assigned"),
         ("Grace", second.id, "assigned")]
    )
    assert all(n[3] == "Updated 2 issues: status Closed, assignee set. Note: Sprint cleanup" for n in notes)


def test_a_bulk_change_tells_only_what_changed_for_each_issue(people, make_user, make_issue):
    """An issue already assigned to the new assignee is no news to them; one already in the new status tells its
    watchers nothing; a change of priority alone tells nobody (as a single edit)."""
    ada, grace = people["ada"], people["grace"]
    hers = make_issue("Already Grace's", reporter=ada, assignee_id=grace.id)
    nobodys = make_issue("Unassigned", reporter=ada)
    in_progress = make_issue("Started", reporter=ada, status="in_progress")
    boss = make_user("admin", name="Boss")
    before = len(_notes())
    change = bulk.BulkChange(priority="high", assignee_id=grace.id, status="in_progress")
    bulk.apply_bulk(db.session, boss, [hers.id, nobodys.id, in_progress.id], None, change)
    told = sorted((n[0], n[1], n[2]) for n in _notes()[before:])
    assert told == sorted([
        ("Grace", nobodys.id, "assigned"),  # the only new assignment
        ("Grace", in_progress.id, "assigned"),
        ("Ada", hers.id, "status"), ("Grace", hers.id, "status"),  # Grace watches hers: its status moved
        ("Ada", nobodys.id, "status"),
    ])
    before = len(_notes())
    bulk.apply_bulk(db.session, boss, [hers.id, nobodys.id], None, bulk.BulkChange(priority="low"))
    assert len(_notes()) == before


def test_an_import_assigning_many_issues_makes_one_notification(people, make_user):
    grace = people["grace"]
    boss = make_user("admin", name="Boss")
    rows = "".join(f"Issue {n},grace.hopper@example.com\n" for n in range(30))
    run = staging.stage(db.session, boss, "issues.csv", io.BytesIO(("title,assignee\n" + rows).encode()))
    imports.run_import(db.session, boss, run, "all_or_nothing", staging.mapping_of(run))
    assert _notes() == [("Grace", None, "assigned", "assigned to you by the import of issues.csv", 30)]
    assert grace.id is not None


def test_an_imports_reporter_and_assignees_watch_its_issues_once_each(people, make_user):
    boss = make_user("admin", name="Boss", email="boss@example.com")
    rows = "Mine,boss@example.com\nGrace's,grace.hopper@example.com\nNobody's,\n"
    run = staging.stage(db.session, boss, "issues.csv", io.BytesIO(("title,assignee\n" + rows).encode()))
    imports.run_import(db.session, boss, run, "all_or_nothing", staging.mapping_of(run))
    watching = db.session.execute(
        sa.select(Issue.title, User.name)
        .join(Watcher, Watcher.issue_id == Issue.id)
        .join(User, User.id == Watcher.user_id)
        .order_by(Issue.title, User.name)
    ).all()
    assert [tuple(row) for row in watching] == [
        ("Grace's", "Boss"), ("Grace's", "Grace"), ("Mine", "Boss"), ("Nobody's", "Boss")
    ]


def test_deleting_an_issue_or_a_person_takes_their_watching_with_them(people, make_issue):
    """watchers and notifications have no foreign keys (migration 0029): triggers delete what the cascades did."""
    ada, grace, linus = people["ada"], people["grace"], people["linus"]
    gone = make_issue("Gone", reporter=ada, assignee_id=grace)
    kept = make_issue("Kept", reporter=ada)
    notifications.set_watching(db.session, linus, gone.id, "1")
    notifications.set_watching(db.session, linus, kept.id, "1")
    linus_id = linus.id
    db.session.execute(sa.delete(Issue).where(Issue.id == gone.id))
    db.session.commit()
    assert _watchers(gone.id) == set()
    assert _watchers(kept.id) == {"Ada", "Linus"}
    comments.add_comment(db.session, ada, kept.id, f"Linus, and @{grace.handle}?")
    assert {note[0] for note in _notes()} >= {"Grace", "Linus"}
    db.session.execute(sa.delete(User).where(User.id == linus_id))
    db.session.commit()
    assert _watchers(kept.id) == {"Ada", "Grace"}
    assert "Linus" not in {note[0] for note in _notes()}
    left = db.session.execute(sa.select(Notification.user_id).where(Notification.user_id == linus_id)).all()
    assert left == []
