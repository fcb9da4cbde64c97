"""The API docs in a real browser: local assets only, no CSP violation, every endpoint tried with a personal token."""

import json

import pytest
import sqlalchemy as sa
from playwright.sync_api import Locator, Page, expect

from tests.helpers import count_rows
from tracker.account import service as tokens
from tracker.extensions import db
from tracker.labels import service as labels
from tracker.models import Comment, Issue

pytestmark = pytest.mark.browser


def operation(page: Page, method: str, path: str) -> Locator:
    """One operation's block in Swagger UI."""
    return page.locator(f".opblock-{method}", has=page.locator(f".opblock-summary-path[data-path='{path}']"))


def try_out(page: Page, method: str, path: str, params=None, body=None, form=None) -> Locator:
    """Open an operation, fill its parameters and body (JSON text, or multipart fields and files), execute it;
    returns the response section."""
    block = operation(page, method, path)
    block.locator(".opblock-summary").click()
    try_it = block.get_by_role("button", name="Try it out")
    if try_it.count():
        try_it.click()
    for name, value in (params or {}).items():
        block.locator(f"tr[data-param-name='{name}'] input").fill(str(value))
    if body is not None:
        block.locator("textarea.body-param__text").fill(json.dumps(body))
    for name, value in (form or {}).items():
        row = block.locator(f"tr[data-property-name='{name}']")
        if isinstance(value, dict):
            row.locator("input[type=file]").set_input_files(value)
        else:
            row.locator("select").select_option(value)
    block.get_by_role("button", name="Execute").click()
    responses = block.locator(".live-responses-table")
    expect(responses.locator("tr.response .response-col_status")).to_have_count(1)
    return responses


def authorize(page: Page, secret: str) -> None:
    """Give Swagger UI the personal token through its Authorize dialog."""
    page.get_by_role("button", name="Authorize").first.click()
    dialog = page.locator(".modal-ux")
    dialog.locator("input").first.fill(secret)
    dialog.get_by_role("button", name="Apply credentials").click()
    expect(dialog.get_by_role("button", name="Remove authorization")).to_be_visible()
    dialog.get_by_role("button", name="Close").click()


def test_every_endpoint_can_be_tried_from_the_docs(browsing, live_server, make_user):
    admin = make_user("admin", name="Ada")
    labels.create_label(db.session, admin, "bug", "red")
    _token, secret = tokens.create_token(db.session, admin, "docs")
    page = browsing.page(admin)
    page.goto(live_server("/api/docs"))
    authorize(page, secret)

    def check(status: str, method: str, path: str, contains: str = "", **kwargs) -> None:
        responses = try_out(page, method, path, **kwargs)
        expect(responses.locator("tr.response .response-col_status")).to_have_text(status)
        if contains:
            expect(responses.locator("tr.response")).to_contain_text(contains)

    check("201", "post", "/api/issues", '"Made in the docs"', body={"title": "Made in the docs", "labels": ["bug"]})
    db.session.rollback()
    issue_id = db.session.execute(sa.select(Issue.id).where(Issue.title == "Made in the docs")).scalar_one()
    one = {"issue_id": issue_id}
    check("200", "get", "/api/issues", '"total": 1')
    check("200", "get", "/api/issues/{issue_id}", '"version": 1', params=one)
    check(
        "200",
        "patch",
        "/api/issues/{issue_id}",
        '"priority": "high"',
        params=one,
        body={"priority": "high", "version": 1},
    )
    check("200", "put", "/api/issues/{issue_id}/labels", '"labels": []', params=one, body={"labels": [], "version": 2})
    check("201", "post", "/api/issues/{issue_id}/comments", "From the docs", params=one, body={"body": "From the docs"})
    check("200", "get", "/api/issues/{issue_id}/comments", "From the docs", params=one)
    check("200", "get", "/api/issues/{issue_id}/timeline", '"kind": "comment"', params=one)
    check(
        "200", "post", "/api/issues/bulk-status", '"updated": 1', body={"issue_ids": [issue_id], "status": "resolved"}
    )
    csv = {"name": "issues.csv", "mimeType": "text/csv", "buffer": b"title,priority\nChecked only,low\nBad,urgent\n"}
    check("200", "post", "/api/issues/import", '"rejected_count": 1', form={"file": csv, "dry_run": "true"})
    check("200", "get", "/api/users", '"Ada"')
    check("200", "get", "/api/labels", '"bug"')
    check("200", "get", "/api/reports/top-assignees", '"kind": "total"')
    check("200", "get", "/api/reports/latency", '"kind": "overall"')

    db.session.rollback()
    stored = db.session.get(Issue, issue_id)
    assert (stored.status, stored.priority, stored.version) == ("resolved", "high", 4)
    assert db.session.execute(sa.select(Comment.body)).scalar_one() == "From the docs"
    assert (
        count_rows(Issue) == 1
    )  # the dry run created nothing


def test_token_from_account_page_works_in_interactive_docs(browsing, live_server, make_user, make_issue):
    user = make_user("member", name="Dora", email="dora@example.com")
    issue = make_issue("Seen through the docs")
    page = browsing.page(user)
    outside: list[str] = []
    page.on("request", lambda request: None if request.url.startswith(live_server.url) else outside.append(request.url))

    page.goto(live_server("/account"))
    page.get_by_label("Token name").fill("Docs page")
    page.get_by_role("button", name="Create token").click()
    secret = page.get_by_label("New token").input_value()
    assert secret.startswith("trk_")
    expect(page.locator("#api-tokens")).to_contain_text("Docs page")

    page.get_by_role("link", name="API docs").click()
    expect(page).to_have_url(live_server("/api/docs"))
    authorize(page, secret)

    responses = try_out(page, "get", "/api/issues/{issue_id}", params={"issue_id": issue.id})
    expect(responses.locator("tr.response .response-col_status")).to_have_text("200")
    expect(responses).to_contain_text("Seen through the docs")
    assert outside == [], f"the docs page loaded something from elsewhere: {outside}"
    db.session.rollback()
    assert tokens.user_tokens(db.session, user)[0].last_used_at is not None


def test_docs_without_a_token_show_the_401(browsing, live_server):
    page = browsing.page()
    page.goto(live_server("/api/docs"))
    responses = try_out(page, "get", "/api/users")
    expect(responses.locator("tr.response .response-col_status")).to_have_text("401")
    # Chromium logs the 401 as a failed load; here it is the answer the test wants.
    problems = browsing.problems
    problems.messages = [m for m in problems.messages if "status of 401" not in m]
