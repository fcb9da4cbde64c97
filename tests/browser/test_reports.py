"""Reports in the browser: the dashboard, changing its period in place, link-through, and the printed PDF."""

import io
import re
from datetime import timedelta

import pytest
from playwright.sync_api import Page, expect
from pypdf import PdfReader

from tracker.extensions import db
from tracker.models import Issue, utcnow

from .conftest import marker_survived, set_marker

pytestmark = pytest.mark.browser


@pytest.fixture
def seeded(make_user):
    """Five issues around now: the last 7 days have 2 created and 1 resolved, the last 30 days 5 and 3."""
    ada = make_user("member", name="Ada Lovelace")
    grace = make_user("member", name="Grace Hopper")
    now = utcnow()
    rows = [  # (title, assignee, status, created days ago, resolved days ago)
        ("Printer on fire", ada, "resolved", 2, 1),
        ("Login loops", grace, "open", 3, None),
        ("Slow search", ada, "closed", 20, 15),
        ("Broken export", grace, "resolved", 20, 10),
        ("Typo on home page", None, "open", 25, None),
    ]
    for title, who, status, created, resolved in rows:
        db.session.add(
            Issue(
                title=title,
                status=status,
                assignee_id=who.id if who else None,
                reporter_id=ada.id,
                created_at=now - timedelta(days=created),
                updated_at=now,
                resolved_at=now - timedelta(days=resolved) if resolved is not None else None,
            )
        )
    db.session.commit()
    return {"ada": ada, "grace": grace}


def summary(page: Page, name: str):
    """The figure of the summary card called `name`."""
    return page.locator(".report-summary > div", has=page.locator("dt", has_text=name)).locator("dd")


def test_dashboard_period_change_swaps_figures_and_pushes_the_url(browsing, live_server, seeded):
    """The dashboard renders; a new period refreshes the figures in place and the URL follows."""
    page = browsing.page(seeded["ada"])
    page.goto(live_server("/reports"))
    expect(page.get_by_role("heading", name="Reports", exact=True)).to_be_visible()
    expect(summary(page, "Created")).to_have_text("5")
    expect(summary(page, "Resolved")).to_have_text("3")
    expect(summary(page, "Open now")).to_have_text("2")
    expect(page.locator("#report-assignees tbody th")).to_have_text(
        ["Ada Lovelace", "Grace Hopper", "Unassigned", "Everyone"]
    )
    expect(page.locator("#report-flow svg.chart rect").first).to_be_attached()
    set_marker(page)

    page.get_by_label("Period", exact=True).select_option("7")
    expect(page).to_have_url(live_server("/reports?period=7"))
    expect(summary(page, "Created")).to_have_text("2")
    expect(summary(page, "Resolved")).to_have_text("1")
    expect(page.locator("#report-flow tbody tr")).to_have_count(7)
    assert marker_survived(page)

    today = utcnow().date()
    page.get_by_label("From", exact=True).fill((today - timedelta(days=21)).isoformat())
    page.get_by_label("To", exact=True).fill((today - timedelta(days=12)).isoformat())
    page.get_by_role("button", name="Show these dates").click()
    expect(page).to_have_url(re.compile(r"/reports\?from=\d{4}-\d\d-\d\d&to=\d{4}-\d\d-\d\d$"))
    expect(summary(page, "Created")).to_have_text("2")
    expect(summary(page, "Resolved")).to_have_text("1")  # "Slow search", 15 days ago
    assert marker_survived(page)

    # Back to the 7-day view restores its figures.
    page.go_back()
    expect(page).to_have_url(live_server("/reports?period=7"))
    expect(summary(page, "Created")).to_have_text("2")


def test_a_count_links_to_its_issues_and_the_list_keeps_the_dates(browsing, live_server, seeded):
    """Following "Created" lands on exactly those issues; another filter on the list keeps the date range."""
    page = browsing.page(seeded["ada"])
    page.goto(live_server("/reports?period=7"))
    summary(page, "Created").get_by_role("link").click()
    expect(page).to_have_url(re.compile(r"/issues\?created_from=.*created_to="))
    expect(page.locator("#issue-rows .title-cell")).to_have_count(2)
    # The dates are part of the query in the box (issue 20), so another filter keeps them.
    expect(page.get_by_label("Search", exact=True)).to_have_value(re.compile(r"^created:\d{4}-\d\d-\d\d\.\.\d{4}-"))

    page.get_by_label("Status", exact=True).select_option("open")
    expect(page).to_have_url(re.compile(r"[?&]q=created:[0-9.-]+\+status:open$"))
    expect(page.locator("#issue-rows .title-cell")).to_have_text(["Login loops"])

    box = page.get_by_label("Search", exact=True)  # the dates are cleared by taking them out of the query
    box.fill("status:open")
    box.press("Enter")
    expect(page).to_have_url(re.compile(r"[?&]q=status:open$"))
    expect(page.locator("#issue-rows .title-cell")).to_have_text(
        ["Typo on home page", "Login loops"]
    )  # status:open stays


def test_dashboard_without_javascript(browsing, live_server, seeded):
    """The filter form is a plain GET form: Apply loads the page for the chosen period."""
    page = browsing.page(seeded["ada"], javascript=False)
    page.goto(live_server("/reports"))
    page.get_by_label("Period", exact=True).select_option("7")
    page.get_by_role("button", name="Apply").click()
    expect(page).to_have_url(re.compile(r"/reports\?period=7"))
    expect(summary(page, "Created")).to_have_text("2")


def test_back_without_javascript_shows_the_period_of_the_report_shown(browsing, live_server, seeded):
    """Going back without JavaScript, the controls show the report's own period, not the one chosen after."""
    page = browsing.page(seeded["ada"], javascript=False)
    page.goto(live_server("/reports"))
    page.get_by_label("Period", exact=True).select_option("7")
    page.get_by_label("From").fill("2026-01-01")
    page.get_by_role("button", name="Apply").click()
    expect(page).to_have_url(re.compile(r"/reports\?period=7"))
    page.go_back()
    expect(page).to_have_url(live_server("/reports"))
    expect(summary(page, "Created")).to_have_text("5")
    expect(page.get_by_label("Period", exact=True)).to_have_value("30")
    expect(page.get_by_label("From")).not_to_have_value("2026-01-01")


@pytest.mark.parametrize("paper", ["A4", "Letter"])
def test_printed_report_is_a_clean_pdf_with_the_figures(browsing, live_server, seeded, paper):
    """Chromium's PDF of /reports/print has the title, period, figures and names, and no navigation."""
    page = browsing.page(seeded["ada"])
    page.goto(live_server("/reports/print?period=30"))
    expect(page.get_by_role("heading", name="Tracker report")).to_be_visible()
    pdf = page.pdf(format=paper, print_background=True)
    reader = PdfReader(io.BytesIO(pdf))
    text = " ".join(" ".join((p.extract_text() or "").split()) for p in reader.pages)
    assert 1 <= len(reader.pages) <= 4
    assert "Tracker report" in text
    # Table cells may wrap a date after its hyphen; compare the period without spaces.
    assert re.search(r"Last30days\(\d{4}-\d\d-\d\dto\d{4}-\d\d-\d\d\)", text.replace(" ", ""))
    assert "by Ada Lovelace" in text
    for words in ("Top assignees", "Resolution time", "Grace Hopper", "Unassigned", "Everyone", "Typo on home page"):
        assert words in text, words
    assert re.search(r"Created 5 Resolved 3 Open now 2", text, re.IGNORECASE), text[:400]  # the summary cards
    for chrome in ("Sign out", "New issue", "Labels", "Download CSV", "Printable report", "Apply"):
        assert chrome not in text, chrome
    # The ten oldest open issues: each creation date on one line, never "2026-08-" / "15".
    oldest = page.locator("#report-oldest-title").locator("xpath=ancestor::section[1]").locator("td.date-cell")
    assert oldest.count() == 2
    for cell in oldest.all():
        assert cell.evaluate("c => c.getClientRects().length === 1 && c.getBoundingClientRect().height < 30")
    # Each section heading is on the same page as the start of its figure.
    for number, page_text in enumerate(reader.pages):
        lines = " ".join((page_text.extract_text() or "").split())
        assert not lines.rstrip().endswith("Aging of open issues"), f"page {number + 1} ends with a lone heading"


@pytest.mark.parametrize("paper", ["A4", "Letter"])
@pytest.mark.parametrize("period", ["7", "30", "90"])
def test_printed_section_notes_stay_whole_beside_their_heading(browsing, live_server, seeded, make_user, paper, period):
    """No section's explanatory note is split across pages or left apart from its heading."""
    bob = make_user("member", name="Bob Babbage")  # a third assignee: one more row in two tables
    db.session.add(Issue(title="Third person's issue", reporter_id=bob.id, assignee_id=bob.id))
    db.session.commit()
    page = browsing.page(seeded["ada"])
    page.goto(live_server(f"/reports/print?period={period}"))
    notes = [" ".join(n.split()) for n in page.locator(".section-note").all_inner_texts()]
    reader = PdfReader(io.BytesIO(page.pdf(format=paper, print_background=True)))
    pages = [" ".join((p.extract_text() or "").split()) for p in reader.pages]
    for note in notes:
        assert any(note in text for text in pages), f"note split across pages ({paper}, {period} days): {note[:50]}"
