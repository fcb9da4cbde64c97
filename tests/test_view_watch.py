"""Watch a view (issue 20, item 8): an issue that comes into a watched view notifies its watcher once, in the inbox and
by email as their settings say; the view's issues at the start, the watcher's own changes and issues that stay in the
view are no news. Checked by the worker, a constant number of statements per watch (both databases)."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from tracker.bulk import service as bulk
from tracker.errors import NotFound
from tracker.extensions import db
from tracker.issues import saved
from tracker.issues import service as issues
from tracker.issues.view_alerts import check_due
from tracker.models import EmailOutbox, Issue, Notification, User, ViewWatch, ViewWatchMember
from tracker.notifications import fanout


def _notes() -> list[tuple]:
    """(person, issue title, reason, summary) of every view notification, in id order."""
    rows = db.session.execute(
        sa.select(User.name, Issue.title, Notification.reason, Notification.summary)
        .join(User, User.id == Notification.user_id)
        .join(Issue, Issue.id == Notification.issue_id)
        .where(Notification.reason == "view")
        .order_by(Notification.id)
    ).all()
    db.session.rollback()
    return [tuple(r) for r in rows]


def _check() -> int:
    """A worker's round, every watch due."""
    return check_due(db.session, every_seconds=0)


def _version(issue_id: int) -> int:
    db.session.expire_all()
    return db.session.get(Issue, issue_id).version


@pytest.fixture
def team(make_user):
    """Ada watches; Grace and Linus change issues."""
    return {
        "ada": make_user("member", name="Ada", email="ada@example.com"),
        "grace": make_user("member", name="Grace", email="grace@example.com"),
        "linus": make_user("member", name="Linus", email="linus@example.com"),
    }


def test_a_new_issue_in_a_watched_view_notifies_once_and_its_old_issues_never(team, make_issue):
    ada, grace = team["ada"], team["grace"]
    before = make_issue("Old crash", reporter=grace, priority="critical")
    view = saved.create_view(db.session, ada, "Fires", "is:open priority:critical")
    assert saved.watch_view(db.session, ada, view.id, True) is True
    issues.update_issue(db.session, grace, before.id, 1, {"title": "Old crash, still burning"})  # stays: no news
    make_issue("Typo", reporter=grace, priority="low")  # not in the view
    fire = make_issue("Database down", reporter=grace, priority="critical")
    assert _check() == 1
    assert _notes() == [("Ada", "Database down", "view", "new in your view “Fires”")]
    issues.update_issue(db.session, grace, fire.id, 1, {"title": "Database down again"})
    assert _check() == 0  # already in the view
    assert _notes() == [("Ada", "Database down again", "view", "new in your view “Fires”")]


def test_an_issue_changed_into_the_view_notifies_and_leaving_and_coming_back_notifies_again(team, make_issue):
    ada, grace = team["ada"], team["grace"]
    issue = make_issue("Slow page", reporter=grace, priority="low")
    view = saved.create_view(db.session, ada, "Urgent", "priority:>=high")
    saved.watch_view(db.session, ada, view.id, True)
    issues.update_issue(db.session, grace, issue.id, 1, {"priority": "high"})
    assert _check() == 1
    issues.update_issue(db.session, grace, issue.id, 2, {"priority": "medium"})  # leaves
    assert _check() == 0
    issues.update_issue(db.session, grace, issue.id, 3, {"priority": "critical"})  # back
    assert _check() == 1
    assert [n[1] for n in _notes()] == ["Slow page", "Slow page"]


def test_what_the_watcher_brings_into_the_view_themselves_is_no_news_then_or_later(team, make_issue):
    ada, grace = team["ada"], team["grace"]
    view = saved.create_view(db.session, ada, "Urgent", "priority:>=high")
    saved.watch_view(db.session, ada, view.id, True)
    own = make_issue("Mine", reporter=ada, priority="high")
    moved = make_issue("Moved", reporter=grace, priority="low")
    issues.update_issue(db.session, ada, moved.id, 1, {"priority": "critical"})
    assert _check() == 0
    issues.update_issue(db.session, grace, own.id, 1, {"title": "Mine, edited by Grace"})  # stays in the view
    assert _check() == 0
    assert _notes() == []


def test_at_me_is_the_watcher_and_a_bulk_change_notifies_per_issue_in_constant_statements(
    team, make_issue, count_statements
):
    ada, grace = team["ada"], team["grace"]
    view = saved.create_view(db.session, grace, "Mine to do", "is:open assignee:@me", shared=True)
    saved.watch_view(db.session, ada, view.id, True)  # Ada's @me is Ada
    few = [make_issue(f"Task {n}", reporter=grace) for n in range(3)]
    many = [make_issue(f"Chore {n}", reporter=grace) for n in range(12)]
    bulk.apply_bulk(db.session, grace, [i.id for i in few], None, bulk.BulkChange(assignee_id=ada.id))
    with count_statements() as small:
        assert _check() == 3
    bulk.apply_bulk(db.session, grace, [i.id for i in many], None, bulk.BulkChange(assignee_id=ada.id))
    with count_statements() as large:
        assert _check() == 12
    assert len(large) == len(small)
    assert {n[0] for n in _notes()} == {"Ada"}


def test_a_change_of_the_views_query_is_no_news_and_a_private_view_cannot_be_watched_by_others(team, make_issue):
    ada, grace, linus = team["ada"], team["grace"], team["linus"]
    make_issue("Docs", reporter=grace, priority="low")
    view = saved.create_view(db.session, ada, "Watched", "priority:critical")
    saved.watch_view(db.session, ada, view.id, True)
    saved.update_view(db.session, ada, view.id, 1, "Watched", "priority:low")
    assert _check() == 0  # "Docs" was there when the query changed
    with pytest.raises(NotFound):
        saved.watch_view(db.session, linus, view.id, True)
    assert db.session.execute(sa.select(sa.func.count()).select_from(ViewWatch)).scalar_one() == 1


def test_an_unshared_view_tells_others_nothing_and_stopping_and_deleting_end_the_watch(team, make_issue):
    ada, grace, linus = team["ada"], team["grace"], team["linus"]
    view = saved.create_view(db.session, grace, "Team fires", "priority:critical", shared=True)
    saved.watch_view(db.session, ada, view.id, True)
    saved.watch_view(db.session, grace, view.id, True)
    saved.update_view(db.session, grace, view.id, 1, "Team fires", "priority:critical", shared=False)
    make_issue("Outage", reporter=linus, priority="critical")
    assert _check() == 1
    assert [n[0] for n in _notes()] == ["Grace"]  # Ada no longer sees the view
    assert saved.watch_view(db.session, grace, view.id, False) is False
    make_issue("Second outage", reporter=linus, priority="critical")
    assert _check() == 0
    saved.delete_view(db.session, grace, view.id, 2)
    assert db.session.execute(sa.select(sa.func.count()).select_from(ViewWatch)).scalar_one() == 0
    assert db.session.execute(sa.select(sa.func.count()).select_from(ViewWatchMember)).scalar_one() == 0


def test_a_view_notification_queues_email_for_someone_involved(team, make_issue, monkeypatch):
    monkeypatch.setitem(fanout.EMAIL, "enabled", True)
    ada, grace = team["ada"], team["grace"]
    db.session.execute(sa.update(User).where(User.id == ada.id).values(email_scope="involved"))
    db.session.commit()
    view = saved.create_view(db.session, ada, "Fires", "priority:critical")
    saved.watch_view(db.session, ada, view.id, True)
    fire = make_issue("Fire", reporter=grace, priority="critical")
    assert _check() == 1
    queued = db.session.execute(sa.select(EmailOutbox.user_id, EmailOutbox.issue_id)).all()
    assert [tuple(r) for r in queued] == [(ada.id, fire.id)]


def test_a_watch_is_checked_once_per_interval(team, make_issue):
    ada, grace = team["ada"], team["grace"]
    view = saved.create_view(db.session, ada, "Fires", "priority:critical")
    saved.watch_view(db.session, ada, view.id, True)
    make_issue("Fire", reporter=grace, priority="critical")
    assert check_due(db.session, every_seconds=3600) == 0  # checked a moment ago: not due yet
    assert _check() == 1


def test_the_views_page_watches_and_stops_watching(team, make_issue, client, login):
    ada, grace = team["ada"], team["grace"]
    login(ada)
    view = saved.create_view(db.session, ada, "Fires", "priority:critical")
    page = client.get("/views").get_data(as_text=True)
    assert "Hear in your inbox when an issue comes into this view" in page
    response = client.post(f"/views/{view.id}/watch", data={"watching": "1"}, follow_redirects=True)
    body = response.get_data(as_text=True)
    assert response.status_code == 200 and "Watching the view Fires" in body and "Stop watching" in body
    make_issue("Fire", reporter=grace, priority="critical")
    assert _check() == 1
    inbox = client.get("/inbox").get_data(as_text=True)
    assert "new in your view “Fires”" in inbox and "Fire" in inbox
    response = client.post(f"/views/{view.id}/watch", data={"watching": "0"}, follow_redirects=True)
    assert "Stopped watching the view Fires" in response.get_data(as_text=True)
    assert db.session.execute(sa.select(sa.func.count()).select_from(ViewWatch)).scalar_one() == 0


def test_the_api_watches_a_view(team, make_issue, client, token_for):
    ada = team["ada"]
    headers = token_for(ada)
    view = saved.create_view(db.session, ada, "Fires", "priority:critical")
    response = client.put(f"/api/views/{view.id}/watch", headers=headers)
    assert response.status_code == 200 and response.json["watching"] is True
    listed = client.get("/api/views", headers=headers).json["items"]
    assert [v["watching"] for v in listed if v["id"] == view.id] == [True]
    response = client.delete(f"/api/views/{view.id}/watch", headers=headers)
    assert response.status_code == 200 and response.json["watching"] is False
    assert client.put("/api/views/999999/watch", headers=headers).status_code == 404


def test_the_worker_checks_the_watched_views(app, team, make_issue, runner, monkeypatch):
    ada, grace = team["ada"], team["grace"]
    monkeypatch.setitem(app.config, "VIEW_ALERT_SECONDS", 0)
    view = saved.create_view(db.session, ada, "Fires", "priority:critical")
    saved.watch_view(db.session, ada, view.id, True)
    make_issue("Fire", reporter=grace, priority="critical")
    result = runner.invoke(args=["worker", "--once"])
    assert result.exit_code == 0, result.output
    assert "1 view notifications" in result.output
    assert _notes() == [("Ada", "Fire", "view", "new in your view “Fires”")]
