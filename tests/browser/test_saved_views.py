"""Saved views in the browser: save the list's query, find it beside the list, run it, rename it, pin it."""

import re

import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.browser


def test_save_run_rename_and_pin_a_view(browsing, live_server, make_user, make_issue):
    ada = make_user("member", name="Ada", email="ada@example.com")
    make_issue("Open high", priority="high", assignee_id=ada.id)
    make_issue("Open low", priority="low")
    page = browsing.page(ada)
    page.goto(live_server("/issues?q=priority%3Ahigh"))
    page.get_by_text("Save this query as a view").click()
    page.get_by_label("Name", exact=True).fill("High ones")
    page.get_by_role("button", name="Save view").click()
    expect(page).to_have_url(re.compile(r"/issues\?q=priority:high$"))
    sidebar = page.get_by_role("complementary", name="Saved views")
    link = sidebar.get_by_role("link", name="High ones")
    expect(link).to_have_attribute("aria-current", "page")

    page.goto(live_server("/issues"))
    sidebar.get_by_role("link", name="High ones").click()
    expect(page).to_have_url(re.compile(r"/issues\?q=priority:high$"))
    expect(page.locator("#issue-rows tr")).to_have_count(1)

    page.goto(live_server("/views"))
    mine = page.locator("li", has=page.get_by_role("link", name="High ones"))
    mine.get_by_text("Change").click()
    mine.get_by_label("Name").fill("Urgent")
    mine.get_by_role("button", name="Save view").click()
    expect(page.get_by_role("status")).to_contain_text("Saved the view Urgent.")
    page.locator("li", has=page.get_by_role("link", name="Urgent")).get_by_role("button", name="Pin to my page").click()
    page.goto(live_server("/"))
    expect(page.get_by_role("heading", name=re.compile("Urgent"))).to_be_visible()
    expect(page.get_by_role("link", name=re.compile("Open high"))).to_be_visible()
