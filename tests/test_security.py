"""Headers, CSRF, escaping of user content, error pages that never leak a traceback."""

import io
import re

import pytest
import sqlalchemy as sa

from tests.helpers import HX, hx, text
from tracker.extensions import db
from tracker.models import Issue

XSS = '<script>alert(1)</script><img src=x onerror=alert(2)>"\'&'


def test_security_headers(client, login_as):
    login_as("viewer")
    response = client.get("/issues")
    csp = response.headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp and "frame-ancestors 'none'" in csp
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"] == "same-origin"


def test_pages_have_no_inline_scripts_or_handlers(client, login_as, make_issue):
    login_as("admin")
    issue = make_issue()
    for url in ("/issues", "/issues/new", f"/issues/{issue.id}", f"/issues/{issue.id}/edit", "/admin/users"):
        html = client.get(url).get_data(as_text=True)
        assert "<script>" not in html and " hx-on" not in html and " onclick=" not in html, url
        assert html.count("<script") == html.count('<script src="/static/'), url


def test_session_cookie_is_httponly_and_lax(client, make_user):
    make_user(email="a@example.com")
    from tests.conftest import PASSWORD

    response = client.post("/login", data={"email": "a@example.com", "password": PASSWORD})
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie


@pytest.fixture
def csrf_on(app):
    """Switch CSRF protection on, as in production."""
    app.config["WTF_CSRF_ENABLED"] = True


def test_state_change_without_csrf_token_is_400_and_changes_nothing(csrf_on, client, login_as, make_issue, snapshot):
    login_as("member")
    issue = make_issue(title="Safe")
    before = snapshot()
    data = {"title": "Hacked", "version": "1", "status": "open", "priority": "low", "assignee_id": ""}
    for url in (f"/issues/{issue.id}/edit", "/issues/new"):
        response = client.post(url, data=data)
        assert response.status_code == 400
        assert "security token" in response.get_data(as_text=True)
    assert client.post("/logout").status_code == 400
    assert snapshot() == before


def test_a_script_posting_a_file_to_the_import_page_is_sent_to_the_api(csrf_on, client, make_user, snapshot):
    from tracker.account import service as tokens

    _, secret = tokens.create_token(db.session, make_user("member"), "script")
    before = snapshot()
    response = client.post("/import", data={"file": (io.BytesIO(b"title\nA\n"), "a.csv"), "dry_run": "1"},
                           headers={"Authorization": f"Bearer {secret}"})
    assert response.status_code == 400
    assert "POST /api/issues/import" in response.get_data(as_text=True)
    assert snapshot() == before


def test_pages_with_several_forms_repeat_no_id(csrf_on, client, login_as, make_issue, make_user):
    admin = login_as("admin")
    issue = make_issue()
    for url in (
        "/account",
        "/labels",
        f"/admin/users/{admin.id}",
        f"/issues/{issue.id}",
        "/admin/users",
        f"/issues/{issue.id}/edit",
    ):
        html = client.get(url).get_data(as_text=True)
        ids = re.findall(r'\sid="([^"]+)"', html)
        assert len(ids) == len(set(ids)), (url, sorted(i for i in ids if ids.count(i) > 1))
        assert 'name="csrf_token"' in html, url


def test_csrf_token_as_htmx_header_is_accepted(csrf_on, client, login_as, make_issue):
    login_as("member")
    issue = make_issue(title="Safe")
    page = client.get(f"/issues/{issue.id}/edit").get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    data = {
        "title": "Changed",
        "description": "",
        "version": "1",
        "status": "open",
        "priority": "low",
        "assignee_id": "",
    }
    headers = {**hx("issue-main"), "X-CSRFToken": token}
    assert client.post(f"/issues/{issue.id}/edit", data=data, headers=headers).status_code == 200
    db.session.expire_all()
    assert db.session.get(Issue, issue.id).title == "Changed"


def test_user_content_is_escaped_everywhere(client, login_as, make_user, make_issue):
    login_as("admin")
    evil = make_user(name=XSS)
    issue = make_issue(title=XSS, description=XSS, assignee_id=evil.id)
    for url in (
        "/issues",
        f"/issues/{issue.id}",
        f"/issues/{issue.id}/edit",
        "/admin/users",
        f"/admin/users/{evil.id}",
    ):
        html = client.get(url).get_data(as_text=True)
        assert "<script>alert(1)" not in html and "<img src=x" not in html, url
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html, url


def test_unknown_url_is_a_404_page(client, login_as):
    login_as("viewer")
    response = client.get("/nowhere")
    assert response.status_code == 404 and "Not found" in response.get_data(as_text=True)


def test_wrong_method_is_405(client, login_as):
    login_as("viewer")
    response = client.delete("/issues")
    assert response.status_code == 405
    assert set(response.headers["Allow"].split(", ")) == {"GET", "HEAD", "OPTIONS"}


def test_unexpected_error_is_a_plain_500_page_and_rolls_back(app, client, login_as, make_issue, monkeypatch):
    login_as("member")
    issue = make_issue(title="Before")
    from tracker.issues import pages

    def broken(*args, **kwargs):
        db.session.execute(sa.update(Issue).values(title="half-done"))
        raise RuntimeError("boom")

    monkeypatch.setattr(pages, "load_timeline", broken)
    app.logger.disabled = True
    response = client.get(f"/issues/{issue.id}")
    app.logger.disabled = False
    assert response.status_code == 500
    assert "nothing was saved" in response.get_data(as_text=True) and "RuntimeError" not in response.get_data(
        as_text=True
    )
    db.session.expire_all()
    assert db.session.get(Issue, issue.id).title == "Before"


def test_htmx_error_carries_a_message_event(client, login_as, make_issue):
    login_as("viewer")
    issue = make_issue()
    response = client.post(f"/issues/{issue.id}/edit", data={"title": "x"}, headers=HX)
    assert response.status_code == 403
    assert '"tracker:error"' in response.headers["HX-Trigger"]


@pytest.mark.parametrize(
    ("method", "url", "data", "field"),
    [
        ("get", "/issues?q=a%00b", None, "q"),
        ("get", "/issues/export.csv?q=%00", None, "q"),
        ("get", "/issues?q%00=a", None, "q"),  # in a field's name: named without it
        ("post", "/issues/new", {"title": "Nul\x00title", "priority": "medium", "status": "open"}, "title"),
    ],
    ids=["list-search", "export-search", "field-name", "create-title"],
)
def test_nul_characters_are_refused_with_400(client, login_as, method, url, data, field):
    """PostgreSQL cannot store NUL: a request carrying one gets a clear 400 naming the field and changes nothing."""
    login_as("member")
    response = getattr(client, method)(url, data=data)
    assert response.status_code == 400
    assert f"The field '{field}' contains a NUL character, which is not allowed." in text(response)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Issue)) == 0


@pytest.mark.parametrize(
    "url", ["/issues/99999999999999999999", "/issues/2147483648/edit", "/issues/99999999999999999999/timeline",
            "/issues/%EF%BC%91"]
)
def test_ids_beyond_the_database_range_are_404(client, login_as, make_issue, url):
    """An id no INTEGER column can hold, or not in ASCII digits (a full-width １), is no such page: 404."""
    login_as("member")
    make_issue()
    assert client.get(url).status_code == 404
