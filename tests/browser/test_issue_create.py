"""Creating an issue in the browser, and the form's validation."""

import re

import pytest
import sqlalchemy as sa
from playwright.sync_api import expect

from tracker.extensions import db
from tracker.models import Issue

from .conftest import history_events

pytestmark = pytest.mark.browser


def issues_in_database() -> list[Issue]:
    """Every issue row, as committed by the server."""
    db.session.rollback()
    return list(db.session.execute(sa.select(Issue).order_by(Issue.id)).scalars())


def test_create_issue_and_see_it_on_its_page(browsing, live_server, make_user):
    """Every field typed into the new-issue form shows on the new issue's page and is stored."""
    author = make_user("member", name="Margaret")
    assignee = make_user("member", name="Grace")
    page = browsing.page(author)
    page.get_by_role("link", name="New issue").first.click()
    expect(page).to_have_url(live_server("/issues/new"))

    page.get_by_label("Title").fill("Export times out")
    page.get_by_label("Description").fill("Exporting 10,000 issues\ntakes more than a minute.")
    page.get_by_label("Status").select_option(label="In progress")
    page.get_by_label("Priority").select_option(label="High")
    page.get_by_label("Assignee").select_option(label="Grace")
    page.get_by_role("button", name="Create issue").click()

    expect(page).to_have_url(re.compile(r"/issues/\d+$"))
    [issue] = issues_in_database()
    expect(page).to_have_url(live_server(f"/issues/{issue.id}"))
    expect(page.get_by_role("status")).to_have_text(f"Created issue #{issue.id}.")
    expect(page.locator(".issue-title")).to_have_text("Export times out")
    fields = page.locator(".issue-fields")
    expect(fields.locator("div", has_text="Status")).to_contain_text("In progress")
    expect(fields.locator("div", has_text="Priority")).to_contain_text("High")
    expect(fields.locator("div", has_text="Assignee")).to_contain_text("Grace")
    expect(fields.locator("div", has_text="Reporter")).to_contain_text("Margaret")
    expect(page.locator("#issue-main")).to_have_attribute("data-version", "1")
    expect(page.locator(".issue-description")).to_have_text("Exporting 10,000 issues\ntakes more than a minute.")
    expect(history_events(page)).to_have_text([re.compile(r"Margaret\s+created this issue")])
    assert (issue.title, issue.description, issue.status, issue.priority) == (
        "Export times out",
        "Exporting 10,000 issues\ntakes more than a minute.",
        "in_progress",
        "high",
    )
    assert (issue.assignee_id, issue.reporter_id, issue.version) == (assignee.id, author.id, 1)


def test_empty_title_is_reported_next_to_the_field_and_keeps_what_was_typed(browsing, live_server, make_user):
    """A blank title re-renders the form with the message under Title; the description and choices stay."""
    author = make_user("member", name="Margaret")
    page = browsing.page(author)
    page.goto(live_server("/issues/new"))
    page.get_by_label("Title").fill("")
    page.get_by_label("Description").fill("Steps:\n1. open the board\n2. nothing loads")
    page.get_by_label("Priority").select_option("critical")
    page.get_by_role("button", name="Create issue").click()

    title_field = page.locator(".field", has=page.get_by_label("Title"))
    expect(title_field.locator(".field-error")).to_have_text("Title is required.")
    expect(title_field).to_have_class(re.compile(r"\bhas-error\b"))
    expect(page.get_by_label("Title")).to_have_attribute("aria-invalid", "true")
    expect(page.get_by_label("Description")).to_have_value("Steps:\n1. open the board\n2. nothing loads")
    expect(page.get_by_label("Priority")).to_have_value("critical")
    expect(page.locator(".field-error")).to_have_count(1)
    assert issues_in_database() == []

    page.get_by_label("Title").fill("Board does not load")
    page.get_by_role("button", name="Create issue").click()
    expect(page).to_have_url(re.compile(r"/issues/\d+$"))
    [issue] = issues_in_database()
    expect(page).to_have_url(live_server(f"/issues/{issue.id}"))
    expect(page.locator(".issue-title")).to_have_text("Board does not load")
    assert (issue.description, issue.priority) == ("Steps:\n1. open the board\n2. nothing loads", "critical")
