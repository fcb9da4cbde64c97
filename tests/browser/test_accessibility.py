"""axe-core (shipped inside axe-playwright-python) on the pages issue 19 changed: no violation, no CSP report."""

import re

import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Page, expect

from tracker.extensions import db
from tracker.labels import service as labels

pytestmark = pytest.mark.browser


def violations(page: Page) -> list[str]:
    """axe's violations on the page as it is now: rule id and the first offending element of each."""
    results = Axe().run(page)
    return [f"{v['id']}: {[n['html'][:120] for n in v['nodes']][:6]}" for v in results.response["violations"]]


def test_api_docs_have_no_axe_violation(browsing, live_server):
    page = browsing.page()
    page.goto(live_server("/api/docs"))
    expect(page.locator(".opblock").first).to_be_visible()
    found = violations(page)
    assert found == [], "\n".join(found)
    page.locator(".opblock-post .opblock-summary-control").first.click()  # an operation opened, with its body
    expect(page.locator(".opblock-post .opblock-body").first).to_be_visible()
    found = violations(page)
    assert found == [], "\n".join(found)


def test_issue_page_with_quick_changes_has_no_axe_violation(browsing, live_server, make_user, make_issue):
    member = make_user("member")
    labels.create_label(db.session, member, "bug", "red")
    issue = make_issue("Accessible", description="- [ ] a task ~~struck~~ https://example.com")
    page = browsing.page(member)
    page.goto(live_server(f"/issues/{issue.id}"))
    page.get_by_text("Change labels").click()
    found = violations(page)
    assert found == [], "\n".join(found)
    page.locator("#comment-form").get_by_role("button", name="Preview").click()
    found = violations(page)
    assert found == [], "\n".join(found)


def test_new_token_is_shown_in_a_monospace_field_with_copy(browsing, live_server, make_user):
    member = make_user("member")
    page = browsing.page(member)
    page.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=live_server.url)
    page.goto(live_server("/account"))
    page.get_by_label("Token name").fill("CI nightly")
    page.get_by_role("button", name="Create token").click()
    secret = page.get_by_label("New token")
    expect(secret).to_be_visible()
    assert "monospace" in secret.evaluate("e => getComputedStyle(e).fontFamily")
    page.get_by_role("button", name="Copy", exact=True).click()
    expect(page.locator("[data-copy-status]")).to_have_text("Copied.")
    assert page.evaluate("navigator.clipboard.readText()") == secret.input_value()
    found = violations(page)
    assert found == [], "\n".join(found)


def test_without_javascript_the_token_has_no_copy_button(browsing, live_server, make_user):
    page = browsing.page(make_user("member"), javascript=False)
    page.goto(live_server("/account"))
    page.get_by_label("Token name").fill("CI nightly")
    page.get_by_role("button", name="Create token").click()
    expect(page.get_by_label("New token")).to_be_visible()
    expect(page.get_by_role("button", name="Copy", exact=True)).to_be_hidden()


def test_search_saved_views_and_my_page_have_no_axe_violation(browsing, live_server, make_user, make_issue):
    """Issue 20's pages: the list with a marked mistake and the views beside it, the views page, My page."""
    from tracker.issues import saved

    member = make_user("member")
    make_issue("Accessible", priority="high", assignee_id=member.id)
    view = saved.create_view(db.session, member, "Mine", "assignee:@me")
    saved.pin_view(db.session, member, view.id, True)
    page = browsing.page(member)
    for path in ("/issues?q=priorty%3Ahigh+is%3Aopen", "/views", "/"):
        page.goto(live_server(path))
        expect(page.locator("main h1")).to_be_visible()
        if path.startswith("/issues"):
            expect(page.locator("#query-errors mark")).to_have_text("priorty:high")
            expect(page.locator("#saved-views .count").first).to_be_visible()
        found = violations(page)
        assert found == [], path + "\n" + "\n".join(found)


@pytest.mark.parametrize("path", ["/issues/search-help", "/reports", "/issues?q=priorty:high"])
def test_search_syntax_and_the_pages_linking_to_it_have_no_axe_violation(browsing, live_server, make_user, path):
    member = make_user("member")
    labels.create_label(db.session, member, "needs triage", "blue")
    page = browsing.page(member)
    page.goto(live_server(path))
    expect(page.get_by_text(re.compile("search syntax", re.IGNORECASE)).first).to_be_visible()
    found = violations(page)
    assert found == [], "\n".join(found)
