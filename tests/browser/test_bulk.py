"""Bulk changes from the list in a real browser: rows update in place; a stale row blocks the change."""

import pytest
from playwright.sync_api import expect

from tracker.extensions import db
from tracker.issues import service as issues

from .conftest import marker_survived, set_marker, stored_issue

pytestmark = pytest.mark.browser


def test_ticking_a_row_does_not_move_the_rows(browsing, live_server, make_user, make_issue):
    """The bar docks at the bottom of the window: the next row stays under the pointer."""
    member = make_user("member")
    first, second = make_issue("First"), make_issue("Second")
    page = browsing.page(member)
    page.goto(live_server("/issues"))
    before = page.get_by_label(f"Select #{first.id}", exact=True).bounding_box()
    page.get_by_label(f"Select #{second.id}", exact=True).check()
    expect(page.locator("#bulk-form")).to_be_visible()
    assert page.get_by_label(f"Select #{first.id}", exact=True).bounding_box() == before
    page.mouse.click(before["x"] + before["width"] / 2, before["y"] + before["height"] / 2)
    expect(page.get_by_label(f"Select #{first.id}", exact=True)).to_be_checked()


def test_select_three_and_resolve_them_in_place(browsing, live_server, make_user, make_issue):
    member = make_user("member")
    chosen = [make_issue(f"Chosen {n}") for n in range(3)]
    other = make_issue("Not chosen")
    page = browsing.page(member)
    page.goto(live_server("/issues"))
    expect(page.locator("#bulk-form")).to_be_hidden()
    set_marker(page)
    for issue in chosen:
        page.get_by_label(f"Select #{issue.id}", exact=True).check()
    expect(page.locator("#bulk-form")).to_be_visible()
    page.locator("#bulk-status").select_option("resolved")
    page.get_by_label("Note (optional)").fill("fixed in 2.1")
    page.get_by_role("button", name="Apply to selected").click()
    expect(page.locator(".bulk-message")).to_have_text("3 issues moved to Resolved.")
    for issue in chosen:
        expect(page.locator(f"#issue-{issue.id} .badge.status-resolved")).to_be_visible()
        expect(page.locator(f"#issue-{issue.id} input[name='version_{issue.id}']")).to_have_value("2")
    expect(page.locator(f"#issue-{other.id} .badge.status-open")).to_be_visible()
    assert marker_survived(page)
    assert [stored_issue(i.id).status for i in chosen] == ["resolved"] * 3
    assert stored_issue(other.id).version == 1


def test_select_all_on_page_checkbox(browsing, live_server, make_user, make_issue):
    member = make_user("member")
    made = [make_issue(f"Issue {n}") for n in range(4)]
    page = browsing.page(member)
    page.goto(live_server("/issues"))
    page.get_by_label("Select all issues on this page").check()
    for issue in made:
        expect(page.get_by_label(f"Select #{issue.id}", exact=True)).to_be_checked()


def test_stale_row_blocks_the_whole_change(browsing, live_server, make_user, make_issue):
    member, other = make_user("member"), make_user("member", name="Ada")
    fresh = make_issue("Fresh")
    stale = make_issue("Stale one")
    page = browsing.page(member)
    page.goto(live_server("/issues"))
    issues.update_issue(db.session, other, stale.id, 1, {"priority": "high"})  # after the page was shown
    for issue in (fresh, stale):
        page.get_by_label(f"Select #{issue.id}", exact=True).check()
    page.locator("#bulk-status").select_option("closed")
    page.get_by_role("button", name="Apply to selected").click()
    message = page.locator(".bulk-message")
    expect(message).to_contain_text("1 issue blocks this change; nothing was changed.")
    expect(message.get_by_role("link", name=f"#{stale.id} Stale one")).to_be_visible()
    expect(message).to_contain_text("you saw version 1, it is now version 2")
    expect(page.get_by_label(f"Select #{fresh.id}", exact=True)).to_be_checked()
    assert stored_issue(fresh.id).status == "open" and stored_issue(stale.id).status == "open"
