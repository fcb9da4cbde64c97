"""Quick changes on the issue page, "Resolve with comment", Ctrl/Cmd+Enter and Escape, the edit page's landing."""

import re

import pytest
from playwright.sync_api import expect

from tracker.extensions import db
from tracker.issues import service
from tracker.labels import service as labels

from .conftest import history_events, stored_issue

pytestmark = pytest.mark.browser


def test_picking_a_status_saves_in_place(browsing, live_server, make_user, make_issue):
    member = make_user("member", name="Grace")
    issue = make_issue("Quick one", status="open")
    page = browsing.page(member)
    page.goto(live_server(f"/issues/{issue.id}"))
    page.get_by_label("Status").select_option(label="In progress")
    expect(page.locator("#issue-main")).to_have_attribute("data-version", "2")
    expect(page.get_by_label("Status")).to_have_value("in_progress")
    expect(history_events(page).last).to_contain_text("In progress")
    expect(page).to_have_url(live_server(f"/issues/{issue.id}"))
    page.get_by_label("Priority").select_option(label="High")  # the next one starts from the new version
    expect(page.locator("#issue-main")).to_have_attribute("data-version", "3")
    assert (stored_issue(issue.id).status, stored_issue(issue.id).priority) == ("in_progress", "high")


def test_label_picker_applies_and_escape_closes_it(browsing, live_server, make_user, make_issue):
    member = make_user("member")
    labels.create_label(db.session, member, "bug", "red")
    issue = make_issue("Needs a label")
    page = browsing.page(member)
    page.goto(live_server(f"/issues/{issue.id}"))
    picker = page.locator("details.label-picker")
    page.get_by_text("Change labels").click()
    expect(picker).to_have_attribute("open", "")
    page.keyboard.press("Escape")
    expect(picker).not_to_have_attribute("open", "")
    page.get_by_text("Change labels").click()
    page.get_by_role("checkbox", name="bug").check()
    page.get_by_role("button", name="Apply labels").click()
    expect(page.locator(".issue-labels .label-chip")).to_have_text(["bug"])
    db.session.rollback()
    assert [label.name for label in service.get_issue(db.session, issue.id).labels] == ["bug"]


def test_stale_quick_change_shows_the_conflict_view(browsing, live_server, make_user, make_issue):
    member = make_user("member")
    other = make_user("member", name="Bob")
    issue = make_issue("Raced", priority="low")
    page = browsing.page(member)
    page.goto(live_server(f"/issues/{issue.id}"))
    service.update_issue(db.session, other, issue.id, 1, {"status": "in_progress"})
    browsing.problems.expect_status(409)
    page.get_by_label("Priority").select_option(label="Critical")
    expect(page.locator(".conflict-intro")).to_contain_text("Bob saved version 2")
    page.get_by_role("button", name="Save merged version").click()
    expect(page.locator("#issue-main")).to_have_attribute("data-version", "3")
    after = stored_issue(issue.id)
    assert (after.status, after.priority) == ("in_progress", "critical")


def test_quick_changes_without_javascript(browsing, live_server, make_user, make_issue):
    member = make_user("member")
    issue = make_issue("No script", status="open")
    page = browsing.page(member, javascript=False)
    page.goto(live_server(f"/issues/{issue.id}"))
    page.get_by_label("Status").select_option(label="Resolved")
    page.locator("form[data-quick=status]").get_by_role("button", name="Set").click()
    expect(page).to_have_url(live_server(f"/issues/{issue.id}"))
    expect(page.get_by_role("status")).to_have_text(f"Saved issue #{issue.id}.")
    assert stored_issue(issue.id).status == "resolved"


def test_resolve_with_comment_and_ctrl_enter(browsing, live_server, make_user, make_issue):
    member = make_user("member")
    issue = make_issue("Almost done", status="in_progress")
    page = browsing.page(member)
    page.goto(live_server(f"/issues/{issue.id}"))
    page.get_by_label("Priority").select_option(label="High")  # the comment form follows the new version
    expect(page.locator("#issue-main")).to_have_attribute("data-version", "2")
    page.get_by_label("Comment", exact=True).fill("First note")
    page.get_by_label("Comment", exact=True).press("Control+Enter")
    expect(page.locator("#issue-timeline")).to_contain_text("First note")
    page.get_by_label("Comment", exact=True).fill("Fixed in the last release.")
    page.get_by_role("button", name="Resolve with comment").click()
    expect(page.get_by_label("Status")).to_have_value("resolved")
    expect(page.locator("#issue-timeline")).to_contain_text("Fixed in the last release.")
    assert stored_issue(issue.id).status == "resolved"


def test_escape_cancels_the_in_place_edit(browsing, live_server, make_user, make_issue):
    member = make_user("member")
    issue = make_issue("Escapable")
    page = browsing.page(member)
    page.goto(live_server(f"/issues/{issue.id}"))
    page.get_by_role("link", name="Edit", exact=True).click()
    expect(page.get_by_role("heading", name=f"Edit #{issue.id}")).to_be_visible()
    page.get_by_label("Title").press("Escape")
    expect(page.get_by_role("heading", name=re.compile("Escapable"))).to_be_visible()


def test_escape_right_after_opening_the_edit_cancels_it(browsing, live_server, make_user, make_issue):
    """Opening the in-place edit moves focus to its heading (for screen readers); Escape from there cancels too."""
    member = make_user("member")
    issue = make_issue("Keyboard only")
    page = browsing.page(member)
    page.goto(live_server(f"/issues/{issue.id}"))
    page.get_by_role("link", name="Edit", exact=True).click()
    heading = page.get_by_role("heading", name=f"Edit #{issue.id}")
    expect(heading).to_be_focused()
    page.keyboard.press("Escape")
    expect(page.get_by_role("heading", name=re.compile("Keyboard only"))).to_be_visible()
    expect(page.get_by_role("textbox", name="Title")).to_have_count(0)


def test_e_opens_the_edit_form_on_an_issue_page(browsing, live_server, make_user, make_issue):
    """The Edit button's shortcut (aria-keyshortcuts="e") opens the form; in a field, e is just typed."""
    issue = make_issue("Printer jams")
    page = browsing.page(make_user("member"))
    page.goto(live_server(f"/issues/{issue.id}"))
    page.locator("body").press("e")
    expect(page.get_by_label("Title")).to_have_value("Printer jams")
    # Once htmx settles the swap, focus moves into the form (its heading); an e typed before that could land there.
    focus_in_form = "() => document.activeElement && document.activeElement.closest('#issue-main')"
    page.wait_for_function(focus_in_form, timeout=5000)
    page.get_by_label("Title").press("e")  # typing an e is typing
    expect(page.get_by_label("Title")).to_have_value(re.compile(r"^(ePrinter jams|Printer jamse)$"))


def test_edit_page_opened_directly_lands_on_the_issue(browsing, live_server, make_user, make_issue):
    member = make_user("member")
    issue = make_issue("Edited directly")
    page = browsing.page(member)
    page.goto(live_server(f"/issues/{issue.id}/edit"))
    page.get_by_label("Title").fill("Edited and saved")
    page.get_by_label("Title").press("Control+Enter")
    expect(page).to_have_url(live_server(f"/issues/{issue.id}"))
    expect(page.get_by_role("heading", name=re.compile("Edited and saved"))).to_be_visible()
    expect(page.locator(".breadcrumbs")).not_to_contain_text("Edit")


def test_ticking_a_task_in_the_description_saves_it(browsing, live_server, make_user, make_issue):
    member = make_user("member")
    issue = make_issue("Checklist", description="- [ ] write\n- [ ] test")
    page = browsing.page(member)
    page.goto(live_server(f"/issues/{issue.id}"))
    page.get_by_role("checkbox", name="Task 2 done").check()
    expect(page.locator("#issue-main")).to_have_attribute("data-version", "2")
    expect(page.get_by_role("checkbox", name="Task 2 done")).to_be_checked()
    assert stored_issue(issue.id).description == "- [ ] write\n- [x] test"


def test_preview_tab_shows_the_rendered_markdown(browsing, live_server, make_user, make_issue):
    member = make_user("member")
    issue = make_issue("Previewed")
    page = browsing.page(member)
    page.goto(live_server(f"/issues/{issue.id}"))
    page.get_by_label("Comment", exact=True).fill("**bold** ~~gone~~\n\n- [ ] a task")
    page.locator("#comment-form").get_by_role("button", name="Preview").click()
    preview = page.locator("#comment-form .markdown-preview")
    expect(preview.locator("strong")).to_have_text("bold")
    expect(preview.locator("s")).to_have_text("gone")
    expect(page.get_by_label("Comment", exact=True)).to_be_hidden()
    page.locator("#comment-form").get_by_role("button", name="Write").click()
    expect(page.get_by_label("Comment", exact=True)).to_be_focused()
