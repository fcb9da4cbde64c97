"""Pages at a phone's width: wide tables scroll inside their section, never the whole page sideways."""

import io
import re

import pytest
from playwright.sync_api import TimeoutError as PlaywrightTimeoutError
from playwright.sync_api import expect

from tracker.account.service import create_token
from tracker.extensions import db
from tracker.imports import service as imports
from tracker.imports import staging
from tracker.issues import saved
from tracker.issues import service as issues
from tracker.labels.service import create_label

pytestmark = pytest.mark.browser

PHONE = {"width": 390, "height": 844}
LONG_LABEL = "needs-triage-from-the-support-team-and-product-ok"  # 49 characters; at most 50 are allowed
LONG_WORD_LABEL = "pneumonoultramicroscopicsilicovolcanoconiosis"  # no place to wrap


def page_width(page) -> int:
    """The page's width once it fits the phone, waited for (scripts that localise times settle the layout after
    load), or as it stands after five seconds."""
    fits = f"() => document.documentElement.scrollWidth <= {PHONE['width']}"
    try:
        page.wait_for_function(fits, timeout=5000)
    except PlaywrightTimeoutError:
        pass
    return page.evaluate("document.documentElement.scrollWidth")


@pytest.mark.parametrize("javascript", [True, False])
@pytest.mark.parametrize(
    ("path", "heading"),
    [
        ("/reports", "Reports"),
        ("/account", "Your account"),
        ("/admin/users", "Users"),
        ("/labels", "Labels"),
        ("/issues/new", "New issue"),
        ("/issues/{id}/edit", "Edit #{id}"),
        ("/issues/search-help", "Search syntax"),
        ("/imports", "Imports"),
        ("/views", "Saved views"),
        ("/reports/print", "Tracker report"),
    ],
)
def test_page_fits_a_phone(browsing, live_server, make_user, make_issue, path, heading, javascript):
    """Reports and the printable report, account and tokens, users, labels, the issue form, the search syntax and
    the imports' history are no wider than a phone, long names too."""
    admin = make_user("admin", name="Adelaide Administrator-Longname", email="adelaide.administrator@example.com")
    make_user("member", name="Grace Hopper", email="grace.hopper.with.a.long.address@example.com")
    create_label(db.session, admin, LONG_LABEL, "green")
    create_label(db.session, admin, LONG_WORD_LABEL, "blue")
    issue = make_issue(title="Printer on fire", assignee_id=admin.id)
    create_token(db.session, admin, "CI nightly import on the build server")
    file_name = "issues-from-the-old-tracker-exported-on-friday-afternoon.csv"
    run = staging.stage(db.session, admin, file_name, io.BytesIO(b"title,priority\nFrom the old tracker,high\n"))
    imports.run_import(db.session, admin, run, "all_or_nothing", staging.mapping_of(run))
    view = saved.create_view(db.session, admin, "Everything the support team still has to triage", "is:open")
    saved.watch_view(db.session, admin, view.id, True)
    saved.pin_view(db.session, admin, view.id, True)
    page = browsing.page(admin, javascript=javascript)
    page.set_viewport_size(PHONE)
    path, heading = path.format(id=issue.id), heading.format(id=issue.id)
    page.goto(live_server(path))
    expect(page.get_by_role("heading", name=heading, exact=True)).to_be_visible()
    page.wait_for_load_state("load")
    width = page_width(page)
    assert width <= PHONE["width"], f"{path} is {width}px wide on a {PHONE['width']}px phone"


@pytest.mark.parametrize("javascript", [True, False])
def test_label_filter_opens_within_a_phone(browsing, live_server, make_user, make_issue, javascript):
    """The issue list's label choices, long names too, open inside the screen."""
    member = make_user("member")
    for name in ("bug", LONG_LABEL):
        create_label(db.session, member, name, "green")
    make_issue(title="Printer on fire")
    page = browsing.page(member, javascript=javascript)
    page.set_viewport_size(PHONE)
    page.goto(live_server("/issues"))
    if javascript:  # the fields are behind the "Filters" button on a phone
        page.get_by_role("button", name="Filters").click()
    page.locator(".label-filter summary").click()
    choice = page.get_by_label(LONG_LABEL)
    expect(choice).to_be_visible()
    box = page.locator(".label-options").bounding_box()
    assert box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"], box
    assert page_width(page) <= PHONE["width"]
    choice.check()
    expect(choice).to_be_checked()


@pytest.mark.parametrize("javascript", [True, False])
def test_conflict_view_fits_a_phone(browsing, live_server, make_user, make_issue, javascript):
    """The conflict view's five-column table scrolls in its own box; the page stays a phone's width."""
    member, other = make_user("member"), make_user("member", name="Grace")
    issue = make_issue(title="Printer on fire", description="It smokes.")
    page = browsing.page(member, javascript=javascript)
    page.set_viewport_size(PHONE)
    page.goto(live_server(f"/issues/{issue.id}/edit"))
    issues.update_issue(db.session, other, issue.id, 1, {"description": "Theirs: the toner melts, " * 12})
    page.get_by_label("Description").fill("Mine: the fuser overheats, " * 12)
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_role("heading", name=f"#{issue.id} changed while you were editing")).to_be_visible()
    width = page_width(page)
    assert width <= PHONE["width"], f"the conflict view is {width}px wide on a {PHONE['width']}px phone"


@pytest.mark.parametrize("javascript", [True, False])
def test_bulk_bar_fits_a_phone(browsing, live_server, make_user, make_issue, javascript):
    """Ticking a row docks the bulk bar; on a phone its controls, long label names too, need no sideways scroll."""
    member = make_user("member")
    create_label(db.session, member, LONG_LABEL, "green")
    make_issue(title="Printer on fire")
    page = browsing.page(member, javascript=javascript)
    page.set_viewport_size(PHONE)
    page.goto(live_server("/issues"))
    page.get_by_role("checkbox", name="Select #").first.check()
    bar = page.locator("#bulk-form")
    expect(bar).to_be_visible()
    widths = bar.evaluate("bar => [bar.scrollWidth, bar.clientWidth]")
    assert widths[0] <= widths[1], f"the bulk bar's controls are {widths[0]}px wide in a {widths[1]}px bar"
    height = bar.bounding_box()["height"]  # docked: at most a third of the screen, its controls scroll inside
    assert height <= PHONE["height"] / 3 + 1, f"the bulk bar is {height}px high on a {PHONE['height']}px screen"
    bar.get_by_role("button", name="Apply to selected").scroll_into_view_if_needed()
    expect(bar.get_by_role("button", name="Apply to selected")).to_be_in_viewport()


def test_chart_labels_stay_readable_on_a_phone(browsing, live_server, make_user, make_issue):
    """Report charts keep their labels at 11 px or more on a phone (the chart scrolls inside its box instead of
    shrinking), and the page itself still fits."""
    admin = make_user("admin")
    for n, status in enumerate(("open", "in_progress", "resolved", "closed")):
        make_issue(title=f"Charted {n}", status=status, priority="high" if n % 2 else "low")
    page = browsing.page(admin)
    page.set_viewport_size(PHONE)
    page.goto(live_server("/reports"))
    expect(page.get_by_role("heading", name="Reports", exact=True)).to_be_visible()
    sizes = page.evaluate(
        """() => Array.from(document.querySelectorAll('svg.chart')).map(svg => {
             const scale = svg.getBoundingClientRect().width / svg.viewBox.baseVal.width;
             return Number(svg.getAttribute('font-size')) * scale;
           })"""
    )
    assert sizes and min(sizes) >= 11, f"chart labels render at {sizes} px"
    width = page_width(page)
    assert width <= PHONE["width"], f"/reports is {width}px wide on a {PHONE['width']}px phone"


def test_the_navigation_folds_behind_a_menu_button_on_a_phone(browsing, live_server, make_user):
    """At 390 px the header is one line (Tracker and Menu); Menu opens the navigation, Escape closes it; on a wide
    screen there is no Menu button."""
    member = make_user("member", name="Grace Hopper-Longname")
    page = browsing.page(member)
    page.set_viewport_size(PHONE)
    page.goto(live_server("/issues"))
    menu = page.get_by_role("button", name="Menu")
    expect(menu).to_be_visible()
    expect(menu).to_have_attribute("aria-expanded", "false")
    nav = page.get_by_role("navigation", name="Main")
    expect(nav).to_be_hidden()
    header = page.locator(".site-header").bounding_box()
    assert header["height"] < 60, f"the header is {header['height']}px high: more than one line"
    menu.click()
    expect(menu).to_have_attribute("aria-expanded", "true")
    expect(nav.get_by_role("link", name="Reports")).to_be_visible()
    expect(page.get_by_role("button", name="Sign out")).to_be_visible()
    page.keyboard.press("Escape")
    expect(nav).to_be_hidden()
    expect(menu).to_be_focused()
    menu.click()
    nav.get_by_role("link", name="Labels").click()
    expect(page.get_by_role("heading", name="Labels", exact=True)).to_be_visible()
    assert page_width(page) <= PHONE["width"]
    page.set_viewport_size({"width": 1200, "height": 800})
    expect(page.get_by_role("button", name="Menu")).to_be_hidden()
    expect(nav.get_by_role("link", name="Reports")).to_be_visible()


@pytest.mark.parametrize("javascript", [True, False])
def test_the_issue_list_fits_a_phone_in_two_lines_per_issue(browsing, live_server, make_user, make_issue, javascript):
    """At 390 px the list never scrolls sideways: each issue shows its title on a line, then its status and assignee
    (with the number, priority and last update) on the next."""
    member = make_user("member", name="Grace Hopper-Longname")
    make_issue(title="A rather long issue title that would not fit next to five other columns", assignee_id=member.id)
    page = browsing.page(member, javascript=javascript)
    page.set_viewport_size(PHONE)
    page.goto(live_server("/issues"))
    row = page.locator("#issue-rows tr").first
    expect(row).to_be_visible()
    title = row.locator(".title-cell").bounding_box()
    status = row.locator(".status-cell").bounding_box()
    assignee = row.locator(".assignee-cell").bounding_box()
    assert status["y"] >= title["y"] + title["height"] - 1, "status is on the line after the title"
    assert abs(status["y"] - assignee["y"]) < 8, "status and assignee share a line"
    for box in (title, status, assignee):
        assert box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"]
    expect(row.locator(".assignee-cell")).to_contain_text("Grace Hopper-Longname")
    assert page.evaluate("document.getElementById('issue-results').scrollWidth") <= PHONE["width"]
    assert page_width(page) <= PHONE["width"]


def test_the_filters_fold_into_one_button_on_a_phone(browsing, live_server, make_user, make_issue):
    """At 390 px with JavaScript the list shows the search box and one "Filters (n)" button counting the filters in
    use; it opens the fields, which stay open when a typed qualifier changes them."""
    member = make_user("member")
    make_issue(title="Open one")
    page = browsing.page(member)
    page.set_viewport_size(PHONE)
    page.goto(live_server("/issues?q=is:open+priority:high"))
    toggle = page.get_by_role("button", name="Filters (2)")
    expect(toggle).to_be_visible()
    expect(page.get_by_label("Status", exact=True)).to_be_hidden()
    toggle.click()
    expect(toggle).to_have_attribute("aria-expanded", "true")
    expect(page.get_by_label("Status", exact=True)).to_be_visible()
    page.get_by_label("Search").fill("is:open")
    expect(page.get_by_role("button", name="Filters (1)")).to_be_visible()
    expect(page.locator("#filter-status")).to_be_visible()
    assert page_width(page) <= PHONE["width"]
    page.get_by_label("Priority", exact=True).select_option("critical")  # a field changed counts at once
    expect(page.get_by_role("button", name="Filters (2)")).to_be_visible()
    page.get_by_label("Priority", exact=True).select_option("")
    expect(page.get_by_role("button", name="Filters (1)")).to_be_visible()
    page.set_viewport_size({"width": 1200, "height": 800})
    expect(page.get_by_role("button", name=re.compile("^Filters"))).to_be_hidden()
    expect(page.get_by_label("Priority", exact=True)).to_be_visible()
