"""The filter form and the query box are two views of one query: in the browser, with JavaScript and without."""

import re

import pytest
from playwright.sync_api import expect

from tracker.extensions import db
from tracker.issues import saved
from tracker.labels import service as labels

pytestmark = pytest.mark.browser


@pytest.fixture
def seeded(make_user, make_issue):
    """Ada and Grace, with open and closed issues of several priorities."""
    ada = make_user("member", name="Ada")
    grace = make_user("member", name="Grace")
    make_issue("Open high unassigned", priority="high")
    make_issue("Closed high unassigned", priority="high", status="closed")
    make_issue("Closed high for Grace", priority="high", status="closed", assignee_id=grace.id)
    make_issue("Open low for Ada", priority="low", assignee_id=ada.id)
    saved.create_view(db.session, ada, "High ones", "priority:high")
    return {"ada": ada, "grace": grace}


def titles(page) -> list[str]:
    """The titles the list shows."""
    return sorted(page.locator("#issue-rows .title-cell > a").all_inner_texts())


@pytest.mark.parametrize("javascript", [True, False], ids=["javascript", "no-javascript"])
def test_a_chosen_filter_writes_the_box_and_a_typed_qualifier_sets_the_filter(browsing, live_server, seeded,
                                                                                javascript):
    page = browsing.page(seeded["ada"], javascript=javascript)
    page.goto(live_server("/issues"))
    box = page.get_by_label("Search", exact=True)
    apply = page.get_by_role("button", name="Apply")
    view_link = page.get_by_role("complementary", name="Saved views").get_by_role("link", name="High ones")
    expect(view_link).to_be_visible()
    if javascript:  # the counts come after the list, in their own small request
        expect(page.locator("#saved-views .count").first).to_have_text("3")  # own views first

    page.get_by_label("Priority", exact=True).select_option("high")
    if not javascript:
        apply.click()
    expect(box).to_have_value("priority:high")
    expect(page).to_have_url(re.compile(r"/issues\?q=priority:high$"))
    expect(page.locator("#issue-rows tr")).to_have_count(3)

    box.fill("priority:high is:closed")
    if javascript:
        box.press("Enter")
    else:
        apply.click()
    expect(page).to_have_url(re.compile(r"/issues\?q=priority:high\+is:closed$"))
    expect(page.get_by_label("Status", exact=True)).to_have_values(["resolved", "closed"])
    expect(page.locator("#issue-rows tr")).to_have_count(2)

    page.get_by_label("Assignee", exact=True).select_option(label="Unassigned")
    if not javascript:
        apply.click()
    expect(box).to_have_value("priority:high is:closed no:assignee")
    expect(page.locator("#issue-rows tr")).to_have_count(1)
    assert titles(page) == ["Closed high unassigned"]
    expect(page.get_by_label("Priority", exact=True)).to_have_value("high")

    box.fill("priorty:high is:closed")
    if javascript:
        box.press("Enter")
    else:
        apply.click()
    expect(page.locator("#query-errors")).to_contain_text("Unknown qualifier 'priorty' (did you mean priority?).")
    expect(page.locator("#query-errors mark")).to_have_text("priorty:high")
    expect(page.locator("#issue-rows tr")).to_have_count(2)  # the rest of the query still applies


@pytest.mark.parametrize("javascript", [True, False], ids=["javascript", "no-javascript"])
def test_a_ticked_label_with_quotes_or_a_comma_in_its_name_is_written_escaped(browsing, live_server, make_user,
                                                                               make_issue, javascript):
    """The label filter writes label:"say \\"hi\\"" for the label named say "hi" (with JavaScript in the page,
    without it on the server), and the list shows its issues, not those of the label `say hi`."""
    member = make_user("member", name="Ada")
    ids = {name: labels.create_label(db.session, member, name, "blue").id for name in ('say "hi"', "say hi", "a,b")}
    for name, label_id in ids.items():
        make_issue(f"Labelled {name}", labels=[str(label_id)])
    page = browsing.page(member, javascript=javascript)
    page.goto(live_server("/issues"))
    box = page.get_by_label("Search", exact=True)
    options = page.locator(".label-options")

    def tick(name: str, checked: bool = True) -> None:
        if not options.is_visible():
            page.locator(".label-filter summary").click()
        options.get_by_role("checkbox", name=name, exact=True).set_checked(checked)
        if not javascript:
            page.get_by_role("button", name="Apply").click()

    tick('say "hi"')
    expect(box).to_have_value(r'label:"say \"hi\""')
    expect(page.locator("#issue-rows tr")).to_have_count(1)
    expect(page.locator("#issue-rows")).to_contain_text('Labelled say "hi"')
    tick("a,b")
    expect(box).to_have_value(r'label:"a,b" label:"say \"hi\""')  # in the labels' order
    expect(page.locator("#issue-rows tr")).to_have_count(0)  # both labels: no issue has both
    tick('say "hi"', checked=False)
    expect(box).to_have_value('label:"a,b"')
    expect(page.locator("#issue-rows tr")).to_have_count(1)
    expect(page.locator("#issue-rows")).to_contain_text("Labelled a,b")
