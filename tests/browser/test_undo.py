"""Undo in a real browser (issue 22): delete an issue and restore it from the trash, undo an import and redo it,
close an issue as a duplicate; with JavaScript and without."""

import re

import pytest
import sqlalchemy as sa
from playwright.sync_api import expect

from tests.browser.conftest import stored_issue
from tests.test_import_undo import imported
from tracker.extensions import db
from tracker.models import Issue

pytestmark = pytest.mark.browser

BOTH = pytest.mark.parametrize("javascript", [True, False], ids=["htmx", "no-js"])


def live_titles() -> list[str]:
    db.session.rollback()
    return list(
        db.session.execute(sa.select(Issue.title).where(Issue.deleted_at.is_(None)).order_by(Issue.id)).scalars()
    )


@BOTH
def test_delete_an_issue_then_restore_it_from_the_trash(browsing, live_server, make_user, make_issue, javascript):
    admin = make_user("admin")
    kept = make_issue("Kept issue")
    gone = make_issue("Deleted issue")
    page = browsing.page(admin, javascript=javascript)
    page.on("dialog", lambda dialog: dialog.accept())  # htmx asks with confirm()
    page.goto(live_server(f"/issues/{gone.id}"))
    page.get_by_role("button", name="Delete", exact=True).click()
    if not javascript:  # a page of its own asks first
        expect(page.get_by_role("heading", name=f"Delete #{gone.id} Deleted issue?")).to_be_visible()
        page.get_by_role("button", name="Delete issue").click()
    expect(page).to_have_url(live_server("/issues"))
    expect(page.get_by_text(f"Moved issue #{gone.id} to the trash")).to_be_visible()
    expect(page.locator("#issue-results")).to_contain_text("Kept issue")
    expect(page.locator("#issue-results")).not_to_contain_text("Deleted issue")
    assert live_titles() == [kept.title]

    page.goto(live_server("/admin/trash"))
    row = page.get_by_role("row").filter(has_text="Deleted issue")
    expect(row).to_contain_text(admin.name)
    row.get_by_role("button", name="Restore").click()
    expect(page).to_have_url(live_server(f"/issues/{gone.id}"))
    expect(page.get_by_text(f"Restored issue #{gone.id}.")).to_be_visible()
    expect(page.get_by_role("heading", name=re.compile("Deleted issue"))).to_be_visible()
    assert live_titles() == [kept.title, gone.title]


@BOTH
def test_undo_an_import_then_redo_it(browsing, live_server, make_user, make_issue, javascript):
    member = make_user("member")
    by_hand = make_issue("Made by hand")
    run = imported(member, ["Imported one", "Imported two"], name="team.csv")
    page = browsing.page(member, javascript=javascript)
    page.goto(live_server(f"/imports/{run.id}"))
    page.get_by_role("link", name="Undo…").click()
    expect(page.get_by_role("heading", name="Undo the import of team.csv?")).to_be_visible()
    expect(page.get_by_text("None of them changed since the import.")).to_be_visible()
    page.get_by_role("button", name="Undo the import").click()
    expect(page).to_have_url(live_server(f"/imports/{run.id}"))
    expect(page.locator(".import-undo-history")).to_contain_text(f"Undone by {member.name}")
    assert live_titles() == [by_hand.title]

    page.get_by_role("button", name=re.compile("^Redo")).click()
    expect(page.locator(".import-undo-history")).to_contain_text("redone")
    assert live_titles() == [by_hand.title, "Imported one", "Imported two"]


@BOTH
def test_close_as_duplicate_from_the_issue_page(browsing, live_server, make_user, make_issue, javascript):
    member = make_user("member")
    original = make_issue("The original")
    copy = make_issue("The copy")
    page = browsing.page(member, javascript=javascript)
    page.goto(live_server(f"/issues/{copy.id}"))
    page.get_by_text("Close as duplicate…").click()
    page.get_by_label("Duplicate of issue #").fill(str(copy.id))
    page.get_by_role("button", name="Close as duplicate", exact=True).click()
    expect(page.get_by_role("alert")).to_have_text("An issue cannot be a duplicate of itself.")
    page.get_by_label("Duplicate of issue #").fill(f"#{original.id}")
    page.get_by_role("button", name="Close as duplicate", exact=True).click()
    expect(page.locator(".issue-duplicate-of")).to_contain_text(f"#{original.id}")
    assert (stored_issue(copy.id).status, stored_issue(copy.id).duplicate_of_id) == ("closed", original.id)
    page.locator(".issue-duplicate-of").get_by_role("link").click()
    expect(page.locator(".issue-duplicates")).to_contain_text(f"#{copy.id}")
    expect(page.locator("#issue-timeline")).to_contain_text("as a duplicate of this issue")
