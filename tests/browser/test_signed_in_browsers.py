"""Signed-in browsers and waiting imports, as a person manages them on the account and imports pages."""

import io

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import marker_survived, set_marker
from tracker.extensions import db
from tracker.imports import staging

pytestmark = pytest.mark.browser


def test_signing_out_another_browser_from_the_account_page(browsing, live_server, make_user):
    """The laptop signs the phone out from the list (swapped in place); the phone's next page is the sign-in."""
    grace = make_user("member", name="Grace")
    laptop, phone, tablet = browsing.page(grace), browsing.page(grace), browsing.page(grace)
    laptop.goto(live_server("/account"))
    rows = laptop.locator("#signed-in-browsers tbody tr")
    expect(rows).to_have_count(3)
    expect(laptop.locator("#signed-in-browsers tr[aria-current='true']")).to_contain_text("(this browser)")

    set_marker(laptop)
    laptop.get_by_role("button", name="Sign out Chrome on Linux").first.click()
    expect(rows).to_have_count(2)
    assert marker_survived(laptop), "htmx swapped the list in place"
    landed = []
    for page in (phone, tablet):
        page.goto(live_server("/issues"))
        landed.append(page.url.split("?")[0])
    assert sorted(landed) == [live_server("/issues"), live_server("/login")], "the one signed out is asked to sign in"

    laptop.get_by_role("button", name="Sign out everywhere else").click()
    expect(rows).to_have_count(1)
    expect(laptop.get_by_text("No other browser is signed in as you.")).to_be_visible()
    for page in (phone, tablet):
        page.goto(live_server("/issues"))
        expect(page).to_have_url(live_server("/login?next=/issues"))
    laptop.goto(live_server("/issues"))
    expect(laptop).to_have_url(live_server("/issues"))


def test_signing_out_another_browser_without_javascript(browsing, live_server, make_user):
    grace = make_user("member", name="Grace")
    desk = browsing.page(grace, javascript=False)
    other = browsing.page(grace)
    desk.goto(live_server("/account"))
    desk.get_by_role("button", name="Sign out everywhere else").click()
    expect(desk).to_have_url(live_server("/account"))
    expect(desk.get_by_role("status")).to_have_text("Signed out 1 other browser.")
    other.goto(live_server("/issues"))
    expect(other).to_have_url(live_server("/login?next=/issues"))


def test_a_failed_import_waits_on_the_imports_page_and_is_discarded(browsing, live_server, make_user):
    """A file a script sent to be imported at once, refused, is listed as waiting, with why; Discard removes it."""
    grace = make_user("member", name="Grace")
    run = staging.stage(db.session, grace, "refused.csv", io.BytesIO(b"title,status\nBad,sideways\n"))
    staging.record_failure(db.session, run.id, "Nothing was imported: 1 row is invalid.")
    page = browsing.page(grace)
    page.goto(live_server("/imports"))
    waiting = page.locator("#waiting-imports")
    expect(waiting).to_contain_text("refused.csv")
    expect(waiting).to_contain_text("Import failed: Nothing was imported: 1 row is invalid.")
    set_marker(page)
    page.get_by_role("button", name="Discard refused.csv").click()
    expect(waiting).not_to_contain_text("refused.csv")
    assert marker_survived(page), "htmx swapped the section in place"
