"""The inbox, the header's unread count, watching, handles and email settings through the pages and the API."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from tracker.comments import service as comments
from tracker.extensions import db
from tracker.models import Notification, User, Watcher


@pytest.fixture
def ada_hears(make_user, make_issue):
    """Ada reports an issue; Grace comments twice and mentions her."""
    ada = make_user("member", name="Ada", email="ada@example.com")
    grace = make_user("member", name="Grace", email="grace@example.com")
    issue = make_issue("Crash on start", reporter=ada)
    comments.add_comment(db.session, grace, issue.id, "Seen it")
    comment = comments.add_comment(db.session, grace, issue.id, "@ada can you look?")
    return ada, grace, issue, comment


def _unread(user_id: int) -> int:
    count = db.session.execute(
        sa.select(sa.func.count()).where(Notification.user_id == user_id, Notification.read_at.is_(None))
    ).scalar_one()
    db.session.rollback()
    return count


def test_the_inbox_groups_by_issue_and_the_header_counts_unread(client, login, ada_hears):
    ada, _grace, issue, _comment = ada_hears
    login(ada)
    page = client.get("/inbox").get_data(as_text=True)
    assert page.count("data-inbox-group") == 1
    assert "Crash on start" in page
    assert "1 new comment by Grace, Grace mentioned you" in page
    assert 'data-unread="2"' in page  # the header, on every page
    assert 'data-unread="2"' in client.get("/issues").get_data(as_text=True)


def test_opening_marks_read_and_goes_to_the_comment(client, login, ada_hears):
    ada, _grace, issue, comment = ada_hears
    login(ada)
    newest = db.session.execute(sa.select(sa.func.max(Notification.id))).scalar_one()
    response = client.get(f"/inbox/{newest}")
    assert response.status_code == 303
    assert response.headers["Location"].endswith(f"/issues/{issue.id}#comment-{comment.id}")
    assert _unread(ada.id) == 0  # the issue's other notification too


@pytest.mark.parametrize(
    ("fetch_site", "read"),
    [("cross-site", False), ("same-site", False), ("same-origin", True), ("none", True), (None, True)],
)
def test_a_link_on_another_site_opens_a_notification_without_marking_it_read(
    client, login, ada_hears, fetch_site, read
):
    """GET /inbox/<id> marks read; a cross-site page navigating a signed-in person there (a link, a script setting
    location: Lax cookies ride along) must not clear their inbox. It still leads to the issue."""
    ada, _grace, issue, comment = ada_hears
    login(ada)
    newest = db.session.execute(sa.select(sa.func.max(Notification.id))).scalar_one()
    headers = {"Sec-Fetch-Site": fetch_site} if fetch_site else {}
    response = client.get(f"/inbox/{newest}", headers=headers)
    assert response.status_code == 303
    assert response.headers["Location"].endswith(f"/issues/{issue.id}#comment-{comment.id}")
    assert _unread(ada.id) == (0 if read else 2)


def test_mark_all_read_and_done_without_javascript(client, login, ada_hears):
    ada = ada_hears[0]
    login(ada)
    response = client.post("/inbox/mark", data={"all": "1", "mark": "read"})
    assert response.status_code == 303 and _unread(ada.id) == 0
    ids = db.session.execute(sa.select(Notification.id).where(Notification.user_id == ada.id)).scalars().all()
    response = client.post("/inbox/mark", data={"ids": [str(i) for i in ids], "mark": "done", "state": "read"})
    assert response.status_code == 303
    assert "Crash on start" in client.get("/inbox?state=done").get_data(as_text=True)
    assert "Crash on start" not in client.get("/inbox?state=read").get_data(as_text=True)


def test_mark_with_htmx_swaps_the_list_and_refreshes_the_count(client, login, ada_hears):
    login(ada_hears[0])
    response = client.post(
        "/inbox/mark", data={"all": "1", "mark": "read"}, headers={"HX-Request": "true", "HX-Target": "inbox-list"}
    )
    assert response.status_code == 200
    assert response.headers["HX-Trigger"] == "unread-changed"
    body = response.get_data(as_text=True)
    assert body.lstrip().startswith('<section id="inbox-list"') and "all caught up" in body
    assert "data-unread" not in client.get("/inbox/count").get_data(as_text=True)


@pytest.mark.parametrize(
    ("query", "message"), (("state=bogus", "Choose one of unread"), ("reason=bogus", "is not a reason"))
)
def test_a_bad_filter_is_422(client, login, ada_hears, query, message):
    login(ada_hears[0])
    response = client.get(f"/inbox?{query}")
    assert response.status_code == 422 and message in response.get_data(as_text=True)


def test_filter_by_reason(client, login, ada_hears):
    login(ada_hears[0])
    page = client.get("/inbox?reason=mentioned").get_data(as_text=True)
    assert "Grace mentioned you" in page and "new comment" not in page


def test_someone_elses_notification_is_not_found(client, login, make_user, ada_hears):
    login(make_user("member"))
    newest = db.session.execute(sa.select(sa.func.max(Notification.id))).scalar_one()
    assert client.get(f"/inbox/{newest}").status_code == 404


def test_watch_and_unwatch_from_the_issue_page(client, login, make_user, make_issue):
    viewer = login(make_user("viewer", name="Vera"))
    issue = make_issue("Watched")
    page = client.get(f"/issues/{issue.id}").get_data(as_text=True)
    assert "1 watching" in page and ">Watch<" in page
    response = client.post(f"/issues/{issue.id}/watch", data={"watch": "1"})
    assert response.status_code == 303
    assert "2 watching (you too)" in client.get(f"/issues/{issue.id}").get_data(as_text=True)
    response = client.post(
        f"/issues/{issue.id}/watch", data={"watch": "0"}, headers={"HX-Request": "true", "HX-Target": "watch-widget"}
    )
    assert response.status_code == 200 and "1 watching" in response.get_data(as_text=True)
    assert db.session.execute(sa.select(Watcher).where(Watcher.user_id == viewer.id)).first() is None
    assert client.post("/issues/999/watch", data={"watch": "1"}).status_code == 404


def test_mentions_link_known_people_only(client, login, make_user, make_issue):
    ada = make_user("member", name="Ada", email="ada@example.com")
    login(ada)
    issue = make_issue("Mentions", description="Ask @ada, not @nobody")
    page = client.get(f"/issues/{issue.id}").get_data(as_text=True)
    assert '<a href="/@ada" class="mention" title="Ada">@ada</a>' in page
    assert "not @nobody" in page
    assert f"assignee={ada.id}" in client.get("/@ada").headers["Location"]
    assert client.get("/@nobody").status_code == 404


def test_change_handle_with_messages(client, login, make_user):
    make_user("member", email="taken@example.com")
    me = login(make_user("member", email="me@example.com"))
    response = client.post("/account/handle", data={"handle": "taken"})
    assert response.status_code == 422 and "@taken is someone else&#39;s handle" in response.get_data(as_text=True)
    response = client.post("/account/handle", data={"handle": "Has Space"})
    assert response.status_code == 422 and "lowercase letters" in response.get_data(as_text=True)
    assert client.post("/account/handle", data={"handle": "@New_Me"}).status_code == 303
    assert db.session.get(User, me.id).handle == "new_me"


@pytest.mark.parametrize("typed", ["me", "@me", "ME"])
def test_nobody_may_be_called_at_me(client, login, make_user, make_issue, snapshot, typed):
    """@me means the person reading or searching: someone called @me would be told of (and watch) every issue where
    anyone wrote "@me", and no query could name them. Refused with 422, nothing changed."""
    grace = login(make_user("member", email="grace@example.com"))
    before = snapshot()
    response = client.post("/account/handle", data={"handle": typed})
    assert response.status_code == 422
    assert "@me always means the person reading or searching" in response.get_data(as_text=True)
    assert snapshot() == before
    assert db.session.get(User, grace.id).handle == "grace"


def test_an_email_starting_me_at_is_proposed_another_handle_and_at_me_in_a_comment_tells_nobody(
    client, login, make_user, make_issue
):
    """me@example.com is proposed @me2 (not @me); a comment saying "@me" then mentions no one."""
    me = make_user("member", email="me@example.com")
    assert me.handle == "me2"
    author = make_user("member", email="author@example.com")
    issue = make_issue("Quiet", reporter=author)
    comments.add_comment(db.session, author, issue.id, "assign it to @me please")
    assert _unread(me.id) == 0
    login(me)
    page = client.get(f"/issues/{issue.id}").get_data(as_text=True)
    assert 'href="/@me"' not in page and "assign it to @me please" in page


def test_admin_changes_someones_handle(client, login, make_user):
    other = make_user("member", email="other@example.com")
    login(make_user("admin"))
    data = {"name": other.name, "email": other.email, "handle": "renamed"}
    assert client.post(f"/admin/users/{other.id}", data=data).status_code == 303
    db.session.expire_all()
    assert db.session.get(User, other.id).handle == "renamed"


def test_email_settings(client, login, make_user):
    me = login(make_user("member"))
    response = client.post("/account/notifications", data={"email_scope": "x", "email_delivery": "daily"})
    assert response.status_code == 422
    data = {"email_scope": "watching", "email_delivery": "daily"}
    assert client.post("/account/notifications", data=data).status_code == 303
    db.session.expire_all()
    user = db.session.get(User, me.id)
    assert (user.email_scope, user.email_delivery) == ("watching", "daily")


def test_suggestions_for_mentions(client, login, make_user):
    login(make_user("member", name="Grace Hopper", email="grace@example.com"))
    make_user("member", name="Gone", email="gone@example.com", active=False)
    body = client.get("/people/suggest?q=@g").get_data(as_text=True)
    assert 'data-handle="grace"' in body and "gone" not in body


def test_api_lists_marks_and_watches(client, make_user, token_for, ada_hears):
    ada, _grace, issue, _comment = ada_hears
    headers = token_for(ada)
    page = client.get("/api/notifications?unread=true&per_page=1", headers=headers).json
    assert page["unread"] == 2 and len(page["items"]) == 1 and page["next_before"] == page["items"][0]["id"]
    assert page["items"][0]["reason"] == "mentioned"
    response = client.post("/api/notifications/mark", json={"all": True, "state": "read"}, headers=headers)
    assert response.status_code == 200 and response.json == {"changed": 2}
    assert client.get("/api/notifications?unread=true", headers=headers).json["items"] == []
    response = client.delete(f"/api/issues/{issue.id}/watch", headers=headers)
    assert response.json == {"issue_id": issue.id, "watching": False, "count": 1}
    response = client.post(f"/api/issues/{issue.id}/watch", headers=headers)
    assert response.json == {"issue_id": issue.id, "watching": True, "count": 2}
    assert client.get("/api/notifications?reason=bogus", headers=headers).status_code == 422


def test_opening_a_bulk_changes_notification_goes_to_its_change(client, login, make_user, make_issue):
    from tracker.bulk import service as bulk
    from tracker.models import IssueEvent

    ada = make_user("member", name="Ada", email="ada@example.com")
    issue = make_issue("Bulk", reporter=ada)
    bulk.apply_bulk(db.session, make_user("admin"), [issue.id], None, bulk.BulkChange(status="in_progress"))
    login(ada)
    newest = db.session.execute(sa.select(sa.func.max(Notification.id))).scalar_one()
    event = db.session.execute(sa.select(sa.func.max(IssueEvent.id)).where(IssueEvent.kind == "bulk")).scalar_one()
    response = client.get(f"/inbox/{newest}")
    assert response.headers["Location"].endswith(f"/issues/{issue.id}#event-{event}")


def test_notifications_of_an_issue_in_the_trash_leave_the_inbox(client, login, make_user, ada_hears, token_for):
    from tracker.trash import service as trash

    ada, _grace, issue, _comment = ada_hears
    trash.delete_issue(db.session, make_user("admin"), issue.id, None)
    login(ada)
    page = client.get("/inbox?state=all").get_data(as_text=True)
    assert "Crash on start" not in page
    # The header counts what the inbox shows: nothing is left to read, so there is no badge (it said 2).
    assert "data-unread" not in page
    assert client.get("/api/notifications?unread=true", headers=token_for(ada)).get_json()["unread"] == 0
    trash.restore_issues(db.session, make_user("admin"), [issue.id])  # back from the trash, they count again
    assert 'data-unread="2"' in client.get("/issues").get_data(as_text=True)


def test_the_inbox_page_statement_count_is_constant(client, login, make_user, make_issue, count_statements):
    ada = make_user("member", name="Ada", email="ada@example.com")
    login(ada)
    counts = []
    for size in (2, 20):
        for n in range(size):
            issue = make_issue(f"Issue {size}-{n}", reporter=ada)
            comments.add_comment(db.session, make_user("member"), issue.id, "Hi")
        with count_statements() as statements:
            assert client.get("/inbox?state=all").status_code == 200
        counts.append(len(statements))
    # session and user; the page of notifications with issue, actor and import joined; the unread count (the
    # page's and the header's)
    assert counts[0] == counts[1] <= 5, counts


def test_a_quiet_persons_inbox_is_theirs_newest_first_behind_many_newer_of_others(
    client, make_user, make_issue, token_for
):
    """Ada's 60 notifications are all older than 3,000 of Grace's: her pages hold hers only, newest first, and the
    second page goes on where the first stopped (the query walks the person's own index, not every newer row)."""
    ada = make_user("member", name="Ada", email="ada@example.com")
    grace = make_user("member", name="Grace", email="grace@example.com")
    issue = make_issue("Busy", reporter=grace)

    def rows(person, actor, count):
        return [
            {"user_id": person.id, "issue_id": issue.id, "reason": "commented", "actor_id": actor.id,
             "summary": "commented", "count": 1, "created_at": issue.created_at}
            for _ in range(count)
        ]

    db.session.execute(sa.insert(Notification), rows(ada, grace, 60))
    db.session.execute(sa.insert(Notification), rows(grace, ada, 3000))
    db.session.commit()
    adas = db.session.execute(
        sa.select(Notification.id).where(Notification.user_id == ada.id).order_by(Notification.id.desc())
    ).scalars().all()
    db.session.rollback()
    headers = token_for(ada)
    first = client.get("/api/notifications?per_page=50", headers=headers).json
    assert [item["id"] for item in first["items"]] == adas[:50]
    second = client.get(f"/api/notifications?per_page=50&before={first['next_before']}", headers=headers).json
    assert [item["id"] for item in second["items"]] == adas[50:]
    assert second["next_before"] is None
