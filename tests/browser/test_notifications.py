"""Notifications in the browser: @mention suggestions, the watch button, the inbox read/done, the unread count."""

import re

import pytest
import sqlalchemy as sa
from playwright.sync_api import expect

from tracker.comments import service as comments
from tracker.extensions import db
from tracker.models import Comment, Watcher

pytestmark = pytest.mark.browser


def test_typing_at_offers_people_and_inserts_the_handle(browsing, live_server, make_user, make_issue):
    me = make_user("member", name="Ada", email="ada@example.com")
    make_user("member", name="Grace Hopper", email="grace.hopper@example.com")
    issue = make_issue("Needs eyes")
    page = browsing.page(me)
    page.goto(live_server(f"/issues/{issue.id}"))
    box = page.get_by_label("Comment")
    box.click()
    box.press_sequentially("Ask @gra")
    option = page.get_by_role("option", name="@grace-hopper Grace Hopper")
    expect(option).to_be_visible()
    box.press("Enter")
    expect(box).to_have_value("Ask @grace-hopper ")
    expect(page.locator("#mention-suggestions")).to_have_count(0)
    box.press_sequentially("please")
    page.get_by_role("button", name="Comment", exact=True).click()
    entry = page.locator("#timeline-entries .comment").last
    expect(entry.get_by_role("link", name="@grace-hopper")).to_have_attribute("href", "/@grace-hopper")
    db.session.rollback()
    assert db.session.execute(sa.select(Comment.body)).scalar_one() == "Ask @grace-hopper please"


def test_the_watch_button_toggles_in_place(browsing, live_server, make_user, make_issue):
    me = make_user("viewer", name="Vera")
    issue = make_issue("Watch me")
    page = browsing.page(me)
    page.goto(live_server(f"/issues/{issue.id}"))
    expect(page.locator(".watch-count")).to_have_text("1 watching")
    page.get_by_role("button", name="Watch").click()
    expect(page.locator(".watch-count")).to_have_text("2 watching (you too)")
    db.session.rollback()
    assert db.session.execute(sa.select(Watcher).where(Watcher.user_id == me.id)).first() is not None
    page.get_by_role("button", name="Stop watching").click()
    expect(page.locator(".watch-count")).to_have_text("1 watching")


def test_the_watch_button_without_javascript(browsing, live_server, make_user, make_issue):
    me = make_user("member", name="Nojs")
    issue = make_issue("Plain forms")
    page = browsing.page(me, javascript=False)
    page.goto(live_server(f"/issues/{issue.id}"))
    page.get_by_role("button", name="Watch").click()
    expect(page.locator(".watch-count")).to_have_text("2 watching (you too)")


def test_inbox_read_done_and_the_unread_count(browsing, live_server, make_user, make_issue):
    ada = make_user("member", name="Ada", email="ada@example.com")
    grace = make_user("member", name="Grace", email="grace@example.com")
    first = make_issue("First", reporter=ada)
    second = make_issue("Second", reporter=ada)
    comments.add_comment(db.session, grace, first.id, "One")
    comments.add_comment(db.session, grace, second.id, "@ada two")
    page = browsing.page(ada)
    count = page.locator("#inbox-link .unread-count")
    expect(count).to_contain_text("2")
    page.locator("#inbox-link").click()
    groups = page.locator("[data-inbox-group]")
    expect(groups).to_have_count(2)
    expect(groups.first).to_contain_text("Grace mentioned you")
    groups.first.get_by_role("button", name="Mark read").click()  # htmx: the list and the count update in place
    expect(count).to_contain_text("1")
    expect(groups).to_have_count(1)
    _settled(page)
    groups.first.get_by_role("button", name="Done").click()
    expect(page.locator(".inbox-empty")).to_be_visible()
    expect(page.locator("#inbox-link .unread-count")).to_have_count(0)
    _settled(page)
    page.get_by_label("Show").select_option("done")
    expect(groups).to_have_count(1)
    expect(groups.first).to_contain_text("First")
    groups.first.get_by_role("link", name="#1 First").click()
    expect(page).to_have_url(live_server(f"/issues/{first.id}") + f"#comment-{_comment_id(first.id)}")


def _settled(page) -> None:
    """Act on the swapped-in list only once htmx has settled it (on a busy machine the swap and settle are apart)."""
    expect(page.locator("#inbox-list")).not_to_have_class(re.compile(r"htmx-(settling|added|swapping)"))


def _comment_id(issue_id: int) -> int:
    value = db.session.execute(sa.select(Comment.id).where(Comment.issue_id == issue_id)).scalar_one()
    db.session.rollback()
    return value


def test_the_inbox_and_the_suggestions_have_no_axe_violation(browsing, live_server, make_user, make_issue):
    from .test_accessibility import violations

    ada = make_user("member", name="Ada", email="ada@example.com")
    grace = make_user("member", name="Grace", email="grace@example.com")
    issue = make_issue("Checked", reporter=ada)
    comments.add_comment(db.session, grace, issue.id, "@ada look")
    page = browsing.page(ada)
    page.goto(live_server("/inbox"))
    expect(page.locator("[data-inbox-group]")).to_have_count(1)
    found = violations(page)
    assert found == [], "\n".join(found)
    page.goto(live_server(f"/issues/{issue.id}"))
    page.get_by_label("Comment").press_sequentially("@gr")
    expect(page.get_by_role("option", name="@grace Grace")).to_be_visible()
    found = violations(page)
    assert found == [], "\n".join(found)
