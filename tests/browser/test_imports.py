"""CSV import in a real browser: check, see the bad row, import skipping it, find the new issues; upload progress."""

import re

import pytest
import sqlalchemy as sa
from playwright.sync_api import expect

from tracker.extensions import db
from tracker.models import Issue

pytestmark = pytest.mark.browser

FILE = (
    "title,priority,labels\n"
    "Imported alpha,high,imported\n"
    "Imported broken,urgent,\n"
    "Imported beta,low,imported\n"
)


def _titles() -> list[str]:
    db.session.rollback()
    return list(db.session.execute(sa.select(Issue.title).order_by(Issue.id)).scalars())


@pytest.mark.parametrize("javascript", [True, False], ids=["htmx", "no-js"])
def test_check_shows_the_bad_line_then_import_skipping_it(browsing, live_server, make_user, javascript):
    member = make_user("member")
    page = browsing.page(member, javascript=javascript)
    page.goto(live_server("/issues"))
    page.get_by_role("link", name="Import", exact=True).click()
    expect(page.get_by_role("heading", name="Import issues from CSV")).to_be_visible()
    page.get_by_label("CSV file").set_input_files(
        {"name": "team.csv", "mimeType": "text/csv", "buffer": FILE.encode("utf-8")}
    )
    page.get_by_role("button", name="Check file").click()

    expect(page).to_have_url(re.compile(r"/imports/\d+/check$"))
    expect(page.locator("#rows-read")).to_have_text("3")
    expect(page.locator("#rows-invalid")).to_have_text("1")
    bad = page.locator("#invalid-rows tbody tr")
    expect(bad).to_have_count(1)
    expect(bad).to_contain_text("line 3")
    expect(bad).to_contain_text("priority 'urgent' is not one of low, medium, high, critical")
    expect(page.locator("#first-rows")).to_contain_text("Imported alpha")
    assert _titles() == []

    expect(page.locator("#import-button")).to_be_disabled()  # all or nothing, with a row invalid: says why
    expect(page.locator("#import-blocked")).to_contain_text("“All or nothing” imports nothing while 1 row is invalid")
    page.get_by_label("Skip invalid rows").check()
    if not javascript:  # the button follows the policy once the page is checked again with it
        expect(page.locator("#import-button")).to_be_disabled()
        page.get_by_role("button", name="Check again with these choices").click()
    expect(page.locator("#import-blocked")).to_be_hidden()
    page.get_by_role("button", name="Import 2 issues, skip 1").click()
    expect(page).to_have_url(re.compile(r"/imports/\d+$"))
    expect(page.get_by_role("status")).to_have_text("Imported 2 issues from team.csv; 1 row rejected.")
    expect(page.locator("#rejected-count")).to_have_text("1")
    expect(page.get_by_role("link", name="Download the rejected rows (CSV)")).to_be_visible()

    page.get_by_role("link", name="See the new issues in the list").click()
    expect(page.locator(".import-filter")).to_contain_text("Created by import #")  # exactly this import's issues
    expect(page.locator("#issue-rows .title-cell")).to_contain_text(["Imported alpha", "Imported beta"])  # file order
    assert _titles() == ["Imported alpha", "Imported beta"]


def test_progress_bar_shows_for_a_large_upload(browsing, live_server, make_user):
    member = make_user("member")
    page = browsing.page(member)
    page.goto(live_server("/import"))
    rows = "".join(f"Large file issue {n},{'low' if n % 2 else 'high'},bulk\n" for n in range(60_000))
    content = ("title,priority,labels\n" + rows).encode("utf-8")
    assert len(content) > 1_500_000
    page.get_by_label("CSV file").set_input_files({"name": "large.csv", "mimeType": "text/csv", "buffer": content})
    # Slow the upload down so the bar is seen moving, as on a real network.
    cdp = page.context.new_cdp_session(page)
    cdp.send("Network.enable")
    cdp.send(
        "Network.emulateNetworkConditions",
        {"offline": False, "latency": 20, "downloadThroughput": -1, "uploadThroughput": 600_000},
    )
    progress = page.locator(".upload-progress")
    expect(progress).to_be_hidden()
    page.get_by_role("button", name="Check file").click()
    expect(progress).to_be_visible()
    expect(progress.locator(".upload-status")).to_contain_text(re.compile(r"\d+% uploaded|Uploaded"))
    page.wait_for_function(
        "() => document.getElementById('import-progress') === null"
        " || document.getElementById('import-progress').value > 0"
    )
    cdp.send(
        "Network.emulateNetworkConditions",
        {"offline": False, "latency": 0, "downloadThroughput": -1, "uploadThroughput": -1},
    )
    expect(page).to_have_url(re.compile(r"/imports/\d+/check$"), timeout=60_000)
    expect(page.locator("#rows-valid")).to_have_text("60,000")


def test_a_file_that_is_not_csv_is_explained_in_place(browsing, live_server, make_user):
    member = make_user("member")
    page = browsing.page(member)
    page.goto(live_server("/import"))
    page.get_by_label("CSV file").set_input_files(
        {"name": "book.xlsx", "mimeType": "application/octet-stream", "buffer": b"PK\x03\x04" + bytes(200)}
    )
    page.get_by_role("button", name="Check file").click()
    expect(page.get_by_role("alert")).to_contain_text(
        "book.xlsx: This is a zip file, perhaps an Excel workbook (.xlsx)."
    )
    expect(page).to_have_url(live_server("/import"))
    expect(page.get_by_label("CSV file")).to_be_visible()


def test_a_file_dropped_beside_the_form_is_taken_not_opened_by_the_browser(browsing, live_server, make_user):
    """A drop that misses the drop zone must not make the browser leave the page to show the file."""
    member = make_user("member")
    page = browsing.page(member)
    page.goto(live_server("/import"))
    transfer = page.evaluate_handle(
        "() => { const dt = new DataTransfer();"
        " dt.items.add(new File(['title\\nDropped beside the form\\n'], 'beside.csv', {type: 'text/csv'}));"
        " return dt; }"
    )
    over = page.evaluate(
        "dt => { const e = new DragEvent('dragover', {dataTransfer: dt, bubbles: true, cancelable: true});"
        " document.querySelector('.import-help').dispatchEvent(e); return e.defaultPrevented; }",
        transfer,
    )
    dropped = page.evaluate(
        "dt => { const e = new DragEvent('drop', {dataTransfer: dt, bubbles: true, cancelable: true});"
        " document.querySelector('.import-help').dispatchEvent(e); return e.defaultPrevented; }",
        transfer,
    )
    assert over and dropped
    assert page.evaluate("document.getElementById('import-file').files[0].name") == "beside.csv"
    expect(page.locator("#import-form")).not_to_have_class(re.compile("dragging"))
    page.get_by_role("button", name="Check file").click()
    expect(page).to_have_url(re.compile(r"/imports/\d+/check$"))
    expect(page.locator("#first-rows")).to_contain_text("Dropped beside the form")


JIRA_FILE = (
    "Summary,Issue key,Status,Priority,Assignee,Created,Resolved,Labels,Labels\n"
    "Login fails with SSO,PROJ-1,To Do,Highest,Someone Unknown,14/Mar/24 10:20 AM,,sso,login\n"
    "Typo in footer,PROJ-3,Done,Minor,,02/Jan/24 11:00 AM,03/Jan/24 11:00 AM,ui,copy\n"
)


def test_the_check_page_fits_a_phone(browsing, live_server, make_user):
    """On a phone the check page's wide tables scroll inside their cards, not the whole page sideways."""
    member = make_user("member")
    page = browsing.page(member)
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(live_server("/import"))
    page.get_by_label("CSV file").set_input_files(
        {"name": "jira.csv", "mimeType": "text/csv", "buffer": JIRA_FILE.encode("utf-8")}
    )
    page.get_by_role("button", name="Check file").click()
    expect(page).to_have_url(re.compile(r"/imports/\d+/check$"))
    expect(page.locator("#rows-read")).to_have_text("2")
    page.wait_for_load_state("load")
    # Waited for, not read once: the layout settles after the page's scripts localise the times.
    page.wait_for_function("() => document.documentElement.scrollWidth <= 390", timeout=5000)


def test_while_the_import_runs_its_button_waits_and_says_so(browsing, live_server, make_user):
    """A large import takes a while: the button is disabled (no second click) and a busy line says it is under way."""
    member = make_user("member")
    page = browsing.page(member)
    page.goto(live_server("/import"))
    page.get_by_label("CSV file").set_input_files(
        {"name": "team.csv", "mimeType": "text/csv", "buffer": b"title\nFirst\nSecond\n"}
    )
    page.get_by_role("button", name="Check file").click()
    expect(page).to_have_url(re.compile(r"/imports/\d+/check$"))
    busy = page.get_by_role("status").filter(has_text="Importing 2 issues")
    expect(busy).to_be_hidden()
    # The page's own handler runs first; this later one keeps the form from leaving, so the page can be read
    # as it looks while the import request is under way. "Later": added once the page's deferred scripts have
    # run (the URL changes before they do, and a handler added first made the page's one stand down).
    page.wait_for_load_state("domcontentloaded")
    page.evaluate("document.addEventListener('submit', e => e.preventDefault())")
    button = page.get_by_role("button", name="Import 2 issues")
    button.click()
    expect(busy).to_be_visible()
    expect(busy).to_contain_text("Importing 2 issues. Keep this page open; nothing is saved until every row is in.")
    expect(button).to_be_disabled()
    assert _titles() == []
