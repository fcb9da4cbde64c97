"""Everyday use (issue 19): who sees "My issues", reports over any period, people who can be assigned."""

import re

from tests.helpers import text


def test_viewers_have_no_my_issues_and_read_without_commenting(client, login_as, make_issue):
    login_as("viewer")
    issue = make_issue("Followed")
    assert "My issues" not in text(client.get("/issues"))
    page = text(client.get(f"/issues/{issue.id}"))
    assert "Viewers can read the discussion but not comment." in page and "My issues" not in page
    assert client.post(f"/issues/{issue.id}/comments", data={"body": "Hi"}).status_code == 403


def test_members_keep_my_issues(client, login_as):
    login_as("member")
    html = client.get("/issues").get_data(as_text=True)
    assert re.search(r'href="/issues\?q=is:open\+assignee:@me"[^>]*>My issues', html)
