"""With JavaScript off, every page still works as plain links, forms and redirects."""

import re

import pytest
from playwright.sync_api import expect

from tracker.extensions import db
from tracker.issues import service as issue_service

from .conftest import history_events, stored_issue

pytestmark = pytest.mark.browser


def test_filter_create_edit_and_conflict_without_javascript(browsing, live_server, make_user, make_issue):
    """Filter by GET, create, edit with a redirect back, and resolve a conflict on a full page."""
    margaret = make_user("member", name="Margaret")
    grace = make_user("member", name="Grace")
    make_issue("Open one", status="open")
    make_issue("Resolved one", status="resolved")
    make_issue("Closed one", status="closed")
    page = browsing.page(margaret, javascript=False)

    page.goto(live_server("/issues"))
    expect(page.locator("#issue-rows .title-cell")).to_have_text(["Closed one", "Resolved one", "Open one"])
    page.get_by_label("Status", exact=True).select_option("resolved")
    page.get_by_role("button", name="Apply").click()
    expect(page).to_have_url(re.compile(r"/issues\?q=status:resolved$"))
    expect(page.locator("#issue-rows .title-cell")).to_have_text(["Resolved one"])
    expect(page.get_by_label("Status", exact=True)).to_have_value("resolved")

    page.get_by_role("link", name="New issue").first.click()
    page.get_by_label("Title").fill("Made without JavaScript")
    page.get_by_label("Description").fill("Plain form post.")
    page.get_by_label("Assignee", exact=True).select_option(label="Grace")
    page.get_by_role("button", name="Create issue").click()
    expect(page).to_have_url(re.compile(r"/issues/\d+$"))
    issue_id = int(page.url.rsplit("/", 1)[1])
    expect(page.get_by_role("status")).to_have_text(f"Created issue #{issue_id}.")
    expect(page.locator(".issue-title")).to_have_text("Made without JavaScript")
    created = stored_issue(issue_id)
    assert (created.assignee_id, created.reporter_id, created.version) == (grace.id, margaret.id, 1)

    page.get_by_role("link", name="Edit", exact=True).click()
    expect(page).to_have_url(live_server(f"/issues/{issue_id}/edit"))  # a page of its own, not a swap
    page.get_by_label("Priority", exact=True).select_option(label="Critical")
    page.get_by_role("button", name="Save").click()
    expect(page).to_have_url(live_server(f"/issues/{issue_id}"))
    expect(page.get_by_role("status")).to_have_text(f"Saved issue #{issue_id}.")
    expect(page.locator(".issue-fields")).to_contain_text("Critical")
    expect(history_events(page).last).to_contain_text(re.compile(r"Priority:\s*Medium\s*→\s*Critical"))
    edited = stored_issue(issue_id)
    assert (edited.priority, edited.version) == ("critical", 2)

    page.get_by_role("link", name="Edit", exact=True).click()
    expect(page).to_have_url(live_server(f"/issues/{issue_id}/edit"))
    # Meanwhile Grace renames it and lowers the priority (version 2 -> 3).
    issue_service.update_issue(db.session, grace, issue_id, 2, {"title": "Renamed by Grace", "priority": "low"})
    page.get_by_label("Title").fill("Renamed by Margaret")
    page.get_by_label("Description").fill("Plain form post, with more detail.")
    with page.expect_response(lambda r: r.request.method == "POST") as saved:
        page.get_by_role("button", name="Save").click()
    assert saved.value.status == 409

    expect(page).to_have_url(live_server(f"/issues/{issue_id}/edit"))
    expect(page.get_by_role("heading", name=f"#{issue_id} changed while you were editing")).to_be_visible()
    expect(page.locator("#merge-priority .merge-state")).to_have_text("Taken from the saved version")
    expect(page.locator("#merge-title .merge-state")).to_have_text("Both changed: choose")
    expect(page.get_by_label("Priority", exact=True)).to_have_value("low")
    expect(page.get_by_label("Description")).to_have_value("Plain form post, with more detail.")
    assert stored_issue(issue_id).title == "Renamed by Grace"

    with page.expect_response(lambda r: r.request.method == "POST") as saved:
        page.get_by_role("button", name="Save merged version").click()
    assert saved.value.status == 422
    expect(page.locator("#choose-title .field-error")).to_have_text("Choose which title to keep.")
    page.get_by_label("Keep yours").check()
    page.get_by_role("button", name="Save merged version").click()

    expect(page).to_have_url(live_server(f"/issues/{issue_id}"))
    expect(page.get_by_role("status")).to_have_text(f"Saved issue #{issue_id}.")
    expect(page.locator(".issue-title")).to_have_text("Renamed by Margaret")
    expect(page.locator(".issue-fields")).to_contain_text("Low")
    row = stored_issue(issue_id)
    assert (row.title, row.description, row.priority, row.version) == (
        "Renamed by Margaret",
        "Plain form post, with more detail.",
        "low",
        4,
    )
