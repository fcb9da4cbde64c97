"""Editing an issue in place with htmx, and the conflict view when someone else saved first."""

import json
import re

import pytest
import sqlalchemy as sa
from playwright.sync_api import Locator, Page, expect

from tracker.extensions import db
from tracker.models import IssueEvent

from .conftest import history_events, marker_survived, set_marker, stored_issue

pytestmark = pytest.mark.browser


def stored_events(issue_id: int) -> list[tuple[int, int, dict]]:
    """(version, actor id, changes) of each event of the issue, oldest first."""
    db.session.rollback()
    events = db.session.execute(
        sa.select(IssueEvent).where(IssueEvent.issue_id == issue_id).order_by(IssueEvent.version)
    ).scalars()
    return [(e.version, e.actor_id, e.changes) for e in events]


def open_inline_editor(page: Page, issue_id: int) -> None:
    """Click Edit on the issue page and wait for the form swapped in its place."""
    page.get_by_role("link", name="Edit", exact=True).click()
    expect(page.get_by_role("heading", name=f"Edit #{issue_id}")).to_be_visible()
    # Type only once htmx has settled the swapped-in form (on a busy machine the swap and settle are apart).
    expect(page.locator("#issue-main")).not_to_have_class(re.compile(r"htmx-(settling|added|swapping)"))


def field_row(page: Page, label: str) -> Locator:
    """The name/value pair of the issue's field list with this label."""
    return page.locator(".issue-fields > div").filter(has=page.locator("dt", has_text=re.compile(f"^{label}$")))


def test_edit_in_place_updates_fields_history_and_version(browsing, live_server, make_user, make_issue):
    """Edit swaps in the form, Save swaps the issue back in, and the History refreshes with the change."""
    editor = make_user("member", name="Grace")
    issue = make_issue("Printer on fire", description="Smoke everywhere.", priority="medium")
    page = browsing.page(editor)
    page.goto(live_server(f"/issues/{issue.id}"))
    expect(page.locator("#issue-main")).to_have_attribute("data-version", "1")
    set_marker(page)

    open_inline_editor(page, issue.id)
    expect(page).to_have_url(live_server(f"/issues/{issue.id}"))
    expect(page.get_by_label("Title")).to_have_value("Printer on fire")
    expect(page.get_by_label("Priority")).to_have_value("medium")
    assert marker_survived(page)

    page.get_by_label("Priority").select_option(label="High")
    page_token = json.loads(page.locator("body").get_attribute("hx-headers"))["X-CSRFToken"]
    with page.expect_response(lambda r: r.request.method == "POST") as saved:
        page.get_by_role("button", name="Save").click()
    assert saved.value.status == 200
    assert saved.value.request.headers.get("x-csrftoken") == page_token  # from <body hx-headers>

    expect(field_row(page, "Priority")).to_contain_text("High")
    expect(page.locator("#issue-main")).to_have_attribute("data-version", "2")
    history = history_events(page)
    expect(history).to_have_count(2)
    expect(history.last).to_contain_text("Grace changed")
    expect(history.last.locator(".entry-head")).to_have_attribute("title", "Version 2")
    expect(history.last.locator(".changes li")).to_have_text([re.compile(r"Priority:\s*Medium\s*→\s*High")])
    expect(page).to_have_url(live_server(f"/issues/{issue.id}"))
    assert marker_survived(page)
    row = stored_issue(issue.id)
    assert (row.priority, row.version, row.title) == ("high", 2, "Printer on fire")
    assert stored_events(issue.id)[1:] == [(2, editor.id, {"priority": ["medium", "high"]})]


def test_inline_edit_errors_and_cancel_keep_the_page(browsing, live_server, make_user, make_issue):
    """An invalid inline save shows the message in the form; Cancel (once confirmed) brings the unchanged issue back."""
    editor = make_user("member", name="Grace")
    issue = make_issue("Printer on fire", description="Smoke everywhere.")
    page = browsing.page(editor)
    page.goto(live_server(f"/issues/{issue.id}"))
    set_marker(page)
    open_inline_editor(page, issue.id)

    page.get_by_label("Title").fill("")
    page.get_by_label("Description").fill("Smoke, and now flames.")
    expect(page.get_by_label("Title")).to_have_value("")
    page.get_by_role("button", name="Save").click()
    title_field = page.locator(".field", has=page.get_by_label("Title"))
    expect(title_field.locator(".field-error")).to_have_text("Title is required.")
    expect(page.get_by_label("Description")).to_have_value("Smoke, and now flames.")
    assert marker_survived(page)

    questions: list[str] = []
    page.once("dialog", lambda dialog: (questions.append(dialog.message), dialog.accept()))
    page.get_by_role("link", name="Cancel").click()
    expect(page.locator(".issue-title")).to_have_text("Printer on fire")
    assert questions == ["Discard the changes you have not saved?"]  # what was typed is not thrown away unasked
    expect(page.locator(".issue-description")).to_have_text("Smoke everywhere.")
    expect(page.locator("#issue-main")).to_have_attribute("data-version", "1")
    assert marker_survived(page)
    assert stored_issue(issue.id).version == 1


@pytest.mark.parametrize(
    ("bob_title", "choice", "final_title"),
    [
        (None, None, "Title from Alice"),
        ("Title from Bob", "Keep yours", "Title from Bob"),
        ("Title from Bob", "Use the saved value", "Title from Alice"),
    ],
    ids=["other-field-merged", "both-changed-title-keep-yours", "both-changed-title-use-saved"],
)
def test_conflict_view_merges_and_resolves(
    browsing, live_server, make_user, make_issue, bob_title, choice, final_title
):
    """Bob saves after Alice: he sees the conflict view with her change merged, chooses if needed, and saves."""
    alice = make_user("member", name="Alice")
    bob = make_user("member", name="Bob")
    issue = make_issue("Original title", description="Original description.")
    alice_page = browsing.page(alice)
    bob_page = browsing.page(bob)
    for page in (alice_page, bob_page):
        page.goto(live_server(f"/issues/{issue.id}"))
        set_marker(page)
        open_inline_editor(page, issue.id)

    alice_page.get_by_label("Title").fill("Title from Alice")
    alice_page.get_by_role("button", name="Save").click()
    expect(alice_page.locator(".issue-title")).to_have_text("Title from Alice")
    expect(alice_page.locator("#issue-main")).to_have_attribute("data-version", "2")

    if bob_title:
        bob_page.get_by_label("Title").fill(bob_title)
    bob_page.get_by_label("Description").fill("Description from Bob.")
    with bob_page.expect_response(lambda r: r.request.method == "POST") as saved:
        bob_page.get_by_role("button", name="Save").click()
    assert saved.value.status == 409

    expect(bob_page.get_by_role("heading", name=f"#{issue.id} changed while you were editing")).to_be_visible()
    expect(bob_page.locator(".conflict-intro")).to_contain_text("Alice saved version 2")
    expect(bob_page.locator("#merge-description .merge-state")).to_have_text("Yours kept")
    expect(bob_page.get_by_label("Description")).to_have_value("Description from Bob.")
    assert marker_survived(bob_page)
    assert stored_issue(issue.id).description == "Original description."

    if bob_title is None:
        expect(bob_page.locator("#merge-title .merge-state")).to_have_text("Taken from the saved version")
        expect(bob_page.get_by_label("Title")).to_have_value("Title from Alice")
        expect(bob_page.get_by_role("radio")).to_have_count(0)
    else:
        expect(bob_page.locator("#merge-title .merge-state")).to_have_text("Both changed: choose")
        expect(bob_page.get_by_label("Title", exact=True)).to_have_value(bob_title)
        with bob_page.expect_response(lambda r: r.request.method == "POST") as saved:
            bob_page.get_by_role("button", name="Save merged version").click()
        assert saved.value.status == 422
        expect(bob_page.locator("#choose-title .field-error")).to_have_text("Choose which title to keep.")
        expect(bob_page.get_by_label("Description")).to_have_value("Description from Bob.")
        assert stored_issue(issue.id).version == 2
        bob_page.get_by_label(choice).check()

    bob_page.get_by_role("button", name="Save merged version").click()
    expect(bob_page.locator(".issue-title")).to_have_text(final_title)
    expect(bob_page.locator(".issue-description")).to_have_text("Description from Bob.")
    expect(bob_page.locator("#issue-main")).to_have_attribute("data-version", "3")
    expect(history_events(bob_page).last).to_contain_text("Bob changed")
    expect(history_events(bob_page).last.locator(".entry-head")).to_have_attribute("title", "Version 3")
    assert marker_survived(bob_page)

    row = stored_issue(issue.id)
    assert (row.title, row.description, row.version) == (final_title, "Description from Bob.", 3)
    bob_changes = {"description": ["Original description.", "Description from Bob."]}
    if final_title == bob_title:
        bob_changes["title"] = ["Title from Alice", "Title from Bob"]
    assert stored_events(issue.id)[1:] == [
        (2, alice.id, {"title": ["Original title", "Title from Alice"]}),
        (3, bob.id, bob_changes),
    ]


def test_inline_rename_updates_the_tab_title(browsing, live_server, make_user, make_issue):
    """After an in-place save that renames the issue, the browser tab shows the new title."""
    editor = make_user("member", name="Grace")
    issue = make_issue("Printer on fire")
    page = browsing.page(editor)
    page.goto(live_server(f"/issues/{issue.id}"))
    expect(page).to_have_title(f"#{issue.id} Printer on fire · Tracker")
    open_inline_editor(page, issue.id)
    page.get_by_label("Title").fill("Printer fire is out")
    page.get_by_role("button", name="Save").click()
    expect(page.locator(".issue-title")).to_have_text("Printer fire is out")
    expect(page).to_have_title(f"#{issue.id} Printer fire is out · Tracker")


def test_invalid_save_moves_focus_to_the_field_in_error(browsing, live_server, make_user, make_issue):
    """After an htmx save refused for an empty title, the keyboard focus is on the title field, not the heading."""
    editor = make_user("member", name="Grace")
    issue = make_issue("Printer on fire")
    page = browsing.page(editor)
    page.goto(live_server(f"/issues/{issue.id}"))
    open_inline_editor(page, issue.id)
    page.get_by_label("Title").fill("")
    with page.expect_response(lambda r: r.request.method == "POST") as saved:
        page.get_by_role("button", name="Save").click()
    assert saved.value.status == 422
    expect(page.get_by_label("Title")).to_be_focused()
    assert stored_issue(issue.id).title == "Printer on fire"
