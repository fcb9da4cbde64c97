"""Comments appear in place, labels are set and filter the list, user content never runs as script."""

import re

import pytest
import sqlalchemy as sa
from playwright.sync_api import expect

from tracker.comments import service as comments
from tracker.extensions import db
from tracker.labels import service as labels
from tracker.models import Comment

from .conftest import marker_survived, set_marker, stored_issue

pytestmark = pytest.mark.browser

PAYLOAD = "<script>alert('t')</script><img src=x onerror=alert('i')><svg onload=alert('s')>"


def test_comment_appears_without_reload_and_form_clears(browsing, live_server, make_user, make_issue):
    author = make_user("member", name="Grace")
    issue = make_issue("Printer jams")
    page = browsing.page(author)
    page.goto(live_server(f"/issues/{issue.id}"))
    set_marker(page)

    page.get_by_label("Comment").fill("It jams on **page 2**, see #1")
    page.get_by_role("button", name="Comment", exact=True).click()
    entry = page.locator("#timeline-entries .comment").last
    expect(entry).to_contain_text("It jams on page 2")
    expect(entry.locator(".comment-body strong")).to_have_text("page 2")
    expect(entry.get_by_role("link", name="#1")).to_have_attribute("href", "/issues/1")
    expect(page.get_by_label("Comment")).to_have_value("")
    assert marker_survived(page)
    db.session.rollback()
    assert db.session.execute(sa.select(Comment.body)).scalar_one() == "It jams on **page 2**, see #1"


def test_comment_validation_shows_message_and_keeps_text(browsing, live_server, make_user, make_issue):
    author = make_user("member")
    issue = make_issue("Printer jams")
    page = browsing.page(author)
    page.goto(live_server(f"/issues/{issue.id}"))
    long_text = "word " * 2001
    page.get_by_label("Comment").fill(long_text)
    page.get_by_role("button", name="Comment", exact=True).click()
    expect(page.locator("#comment-form .field-error")).to_contain_text("A comment can be at most 10,000 characters")
    expect(page.get_by_label("Comment")).to_have_value(long_text)
    db.session.rollback()
    assert db.session.execute(sa.select(sa.func.count(Comment.id))).scalar_one() == 0


def test_edit_and_delete_own_comment_in_place(browsing, live_server, make_user, make_issue):
    author = make_user("member")
    issue = make_issue("Printer jams")
    comment = comments.add_comment(db.session, author, issue.id, "First thought")
    page = browsing.page(author)
    page.goto(live_server(f"/issues/{issue.id}"))
    entry = page.locator(f"#comment-{comment.id}")
    entry.get_by_role("link", name="Edit").click()
    entry.get_by_label("Comment").fill("Second thought")
    entry.get_by_role("button", name="Save comment").click()
    expect(entry).to_contain_text("Second thought")
    expect(entry).to_contain_text("edited")
    page.once("dialog", lambda dialog: dialog.accept())
    entry.get_by_role("button", name="Delete").click()
    expect(entry).to_contain_text("wrote a comment that was deleted")


def test_cancelling_a_comment_edit_puts_the_comment_back_and_keeps_focus(browsing, live_server, make_user,
                                                                          make_issue):
    """Cancel (and Escape) close the in-place edit form back to the comment; focus stays in it, not on the page."""
    author = make_user("member", name="Grace")
    issue = make_issue("Printer jams")
    comment = comments.add_comment(db.session, author, issue.id, "First words")
    page = browsing.page(author)
    page.goto(live_server(f"/issues/{issue.id}"))
    set_marker(page)
    entry = page.locator(f"#comment-{comment.id}")
    for close in ("click", "escape"):
        entry.get_by_role("link", name="Edit").click()
        box = entry.get_by_role("textbox")
        expect(box).to_be_focused()
        if close == "click":
            entry.get_by_role("link", name="Cancel").click()
        else:
            box.press("Escape")
        expect(entry.get_by_role("textbox")).to_have_count(0)
        expect(entry).to_contain_text("First words")
        # Focus moves once htmx settles the swap (after its settle delay), so wait for it rather than read it at once.
        page.wait_for_function("id => document.activeElement && document.activeElement.closest('#comment-' + id)",
                               arg=comment.id, timeout=5000)
    assert marker_survived(page)


def test_delete_own_comment_without_javascript_asks_first(browsing, live_server, make_user, make_issue):
    """Without JavaScript, Delete opens a question; "Keep it" keeps the comment, "Delete comment" deletes it."""
    author = make_user("member")
    issue = make_issue("Printer jams")
    comment = comments.add_comment(db.session, author, issue.id, "First thought")
    page = browsing.page(author, javascript=False)
    page.goto(live_server(f"/issues/{issue.id}"))
    page.locator(f"#comment-{comment.id}").get_by_role("button", name="Delete").click()
    expect(page.get_by_role("heading", name="Delete this comment?")).to_be_visible()
    expect(page.locator("main")).to_contain_text("First thought")
    page.get_by_role("link", name="Keep it").click()
    expect(page.locator(f"#comment-{comment.id}")).to_contain_text("First thought")
    page.locator(f"#comment-{comment.id}").get_by_role("button", name="Delete").click()
    page.get_by_role("button", name="Delete comment").click()
    expect(page).to_have_url(re.compile(rf"/issues/{issue.id}#comment-{comment.id}$"))
    expect(page.locator(f"#comment-{comment.id}")).to_contain_text("wrote a comment that was deleted")


def test_labels_set_in_the_form_show_as_chips_and_filter_the_list(browsing, live_server, make_user, make_issue):
    member = make_user("member")
    bug = labels.create_label(db.session, member, "bug", "red")
    labels.create_label(db.session, member, "ui", "yellow")
    tagged = make_issue("Tagged issue")
    make_issue("Plain issue")
    page = browsing.page(member)
    page.goto(live_server(f"/issues/{tagged.id}"))
    page.get_by_role("link", name="Edit", exact=True).click()
    page.get_by_role("checkbox", name="bug").check()
    page.get_by_role("checkbox", name="ui").check()
    page.get_by_role("button", name="Save").click()
    expect(page.locator(".issue-labels .label-chip")).to_have_text(["bug", "ui"])
    chip_colour = page.locator(".issue-labels .label-chip", has_text="bug").evaluate(
        "e => getComputedStyle(e).backgroundColor"
    )
    assert chip_colour == "rgb(182, 2, 5)"  # from /labels/colors.css, no inline style
    assert [label.name for label in labels.all_labels(db.session)] == ["bug", "ui"]

    page.goto(live_server("/issues"))
    set_marker(page)
    page.locator(".label-filter summary").click()
    page.locator(".label-options").get_by_role("checkbox", name="bug").check()
    expect(page).to_have_url(re.compile(r"[?&]q=label:bug(&|$)"))
    expect(page.locator("#issue-rows tr")).to_have_count(1)
    expect(page.locator("#issue-rows")).to_contain_text("Tagged issue")
    expect(page.locator(".label-filter summary")).to_have_text("bug")  # the summary follows the ticks
    assert marker_survived(page)
    assert stored_issue(tagged.id).version == 2 and bug.id
    page.locator(".label-options").get_by_role("checkbox", name="bug").uncheck()
    expect(page.locator(".label-filter summary")).to_have_text("Any labels")
    expect(page.locator("#issue-rows tr")).to_have_count(2)


def test_stale_label_change_shows_the_conflict_view_with_sets_merged(browsing, live_server, make_user, make_issue):
    first, second = make_user("member", name="Ada"), make_user("member", name="Grace")
    for name in ("bug", "ui", "docs"):
        labels.create_label(db.session, first, name, "blue")
    issue = make_issue("Shared issue")
    page_a, page_b = browsing.page(first), browsing.page(second)
    for page in (page_a, page_b):
        page.goto(live_server(f"/issues/{issue.id}/edit"))
    page_a.get_by_role("checkbox", name="bug").check()
    page_a.get_by_role("button", name="Save").click()
    expect(page_a.locator(".issue-labels .label-chip")).to_have_text(["bug"])

    page_b.get_by_role("checkbox", name="docs").check()
    page_b.get_by_role("button", name="Save").click()
    expect(page_b.get_by_role("heading", name=re.compile("changed while you were editing"))).to_be_visible()
    expect(page_b.locator("#merge-labels")).to_contain_text("merged")
    expect(page_b.get_by_role("checkbox", name="bug")).to_be_checked()
    expect(page_b.get_by_role("checkbox", name="docs")).to_be_checked()
    page_b.get_by_role("button", name="Save merged version").click()
    expect(page_b.locator(".issue-labels .label-chip")).to_have_text(["bug", "docs"])
    assert stored_issue(issue.id).version == 3


def test_user_content_never_executes(browsing, live_server, make_user, make_issue):
    member = make_user("member", name=PAYLOAD[:90])
    label = labels.create_label(db.session, member, PAYLOAD[:50], "red")
    issue = make_issue(PAYLOAD, description=PAYLOAD, labels=[str(label.id)], assignee_id=member.id)
    comments.add_comment(db.session, member, issue.id, PAYLOAD + "\n\n[x](javascript:alert('l'))")
    page = browsing.page(member)
    dialogs: list[str] = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    for path in (f"/issues/{issue.id}", "/issues", "/labels", f"/issues/{issue.id}/edit"):
        page.goto(live_server(path))
        expect(page.locator("main")).to_contain_text("<script>alert('t')</script>")
        assert page.locator("main script, main svg, main img").count() == 0, path
    page.goto(live_server(f"/issues/{issue.id}"))
    expect(page.locator(".comment-body")).to_contain_text("[x](javascript:alert('l'))")
    assert dialogs == []
