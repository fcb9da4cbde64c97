"""The issue list: htmx filtering, search, history and paging, seen in the browser."""

import re

import pytest
from playwright.sync_api import Page, expect

from .conftest import marker_survived, set_marker

pytestmark = pytest.mark.browser

STATUS_CYCLE = ["open", "open", "in_progress", "resolved", "closed"]


@pytest.fixture
def seeded(make_user, make_issue):
    """30 issues: statuses cycle open/open/in progress/resolved/closed; every third mentions 'printer'."""
    ada = make_user("member", name="Ada")
    grace = make_user("member", name="Grace")
    issues = []
    for n in range(1, 31):
        status = STATUS_CYCLE[n % len(STATUS_CYCLE)]
        word = "printer jam" if n % 3 == 0 else "login page"
        assignee = [ada, grace, None][n % 3]
        issues.append(
            make_issue(f"Issue {n:02d}: {word}", status=status, assignee_id=assignee.id if assignee else None)
        )
    return {"ada": ada, "grace": grace, "issues": issues}


def expect_titles(page: Page, titles: list[str]) -> None:
    """The table shows exactly these titles in this order."""
    expect(page.locator("#issue-rows .title-cell")).to_have_text(titles)


def titles_of(issues, predicate) -> list[str]:
    """Titles of the matching issues, newest update first (the list's default order)."""
    return [i.title for i in reversed(issues) if predicate(i)]


def test_filter_search_history_and_paging_without_page_loads(browsing, live_server, seeded):
    """Filters and paging swap the results in place and push URLs; the back button restores each view."""
    issues = seeded["issues"]
    page = browsing.page(seeded["ada"])
    page.goto(live_server("/issues"))
    expect(page.locator(".result-summary")).to_have_text(re.compile(r"Showing 1–10 of\s+30 issues"))
    expect_titles(page, titles_of(issues, lambda i: True)[:10])
    set_marker(page)

    page.get_by_role("link", name="Next →").click()
    expect(page).to_have_url(live_server("/issues?page=2"))
    expect(page.locator(".result-summary")).to_have_text(re.compile(r"Showing 11–20 of\s+30 issues"))
    expect(page.locator(".page-number")).to_have_text("Page 2 of 3")
    expect_titles(page, titles_of(issues, lambda i: True)[10:20])
    expect(page.locator(".result-summary")).to_be_focused()  # not lost on <body> with the link it replaced
    assert marker_survived(page)

    resolved = titles_of(issues, lambda i: i.status == "resolved")
    page.get_by_label("Status", exact=True).select_option("resolved")
    expect(page).to_have_url(re.compile(r"[?&]q=status:resolved(&|$)"))
    expect(page.get_by_label("Search")).to_have_value("status:resolved")  # the field wrote its qualifier
    expect_titles(page, resolved)
    expect(page.locator("#issue-rows .badge.status-resolved")).to_have_count(len(resolved))
    assert "page=" not in page.url  # a new filter starts again at page 1
    assert marker_survived(page)

    page.get_by_label("Search").fill("status:resolved printer")
    expect(page).to_have_url(re.compile(r"[?&]q=status:resolved\+printer(&|$)"))
    resolved_printers = titles_of(issues, lambda i: i.status == "resolved" and "printer" in i.title)
    assert 0 < len(resolved_printers) < len(resolved)
    expect_titles(page, resolved_printers)
    assert marker_survived(page)

    page.go_back()
    expect(page).to_have_url(re.compile(r"[?&]q=status:resolved$"))
    expect_titles(page, resolved)
    expect(page.get_by_label("Status", exact=True)).to_have_value("resolved")
    expect(page.get_by_label("Search")).to_have_value("status:resolved")

    # Leaving for an issue and coming back shows the filtered list as a whole page, not a bare fragment.
    page.locator("#issue-rows .title-cell a").first.click()
    expect(page.locator(".issue-title")).to_have_text(resolved[0])
    page.go_back()
    expect(page).to_have_url(re.compile(r"[?&]q=status:resolved$"))
    expect(page.get_by_role("heading", name="Issues", exact=True)).to_be_visible()
    expect(page.get_by_label("Status", exact=True)).to_have_value("resolved")
    expect_titles(page, resolved)

    page.go_back()
    expect(page).to_have_url(live_server("/issues?page=2"))
    expect_titles(page, titles_of(issues, lambda i: True)[10:20])
    expect(page.get_by_label("Status", exact=True)).to_have_value("")


def test_assignee_filter_and_empty_result(browsing, live_server, seeded):
    """Filtering by assignee shows only their issues; a search with no match says so and offers a reset."""
    issues, grace = seeded["issues"], seeded["grace"]
    page = browsing.page(seeded["ada"])
    page.goto(live_server("/issues"))
    set_marker(page)

    page.get_by_label("Assignee", exact=True).select_option(label="Grace")
    expect(page).to_have_url(re.compile(rf"[?&]q=assignee:{grace.email.split('@')[0]}(&|$)"))
    expect_titles(page, titles_of(issues, lambda i: i.assignee_id == grace.id))
    expect(page.locator("#issue-rows td.assignee-cell")).to_have_text(["Grace"] * 10)

    page.get_by_label("Search").fill("nothing-matches-this")
    expect(page.get_by_text("No issues match these filters.")).to_be_visible()
    expect(page.locator("#issue-rows")).to_have_count(0)
    assert marker_survived(page)

    page.get_by_role("link", name="Clear the filters").click()
    expect(page).to_have_url(live_server("/issues"))
    expect_titles(page, titles_of(issues, lambda i: True)[:10])


def test_back_without_javascript_shows_the_filter_of_the_list_shown(browsing, live_server, seeded):
    """Without JavaScript, going back to a list shows that list's filter, not the one typed on the later page."""
    page = browsing.page(seeded["ada"], javascript=False)
    page.goto(live_server("/issues"))
    page.get_by_label("Status", exact=True).select_option("open")
    page.get_by_label("Search", exact=True).fill("printer")
    page.get_by_label("Sort", exact=True).select_option("id")
    page.get_by_role("button", name="Apply").click()
    expect(page).to_have_url(re.compile(r"/issues\?q=printer\+status:open\+sort:id-asc$"))
    page.go_back()
    expect(page).to_have_url(live_server("/issues"))
    expect(page.get_by_text("of 30 issues")).to_be_visible()
    expect(page.get_by_label("Status", exact=True)).to_have_value("")
    expect(page.get_by_label("Search", exact=True)).to_have_value("")
    expect(page.get_by_label("Sort", exact=True)).to_have_value("-updated")
