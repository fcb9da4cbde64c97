"""First-run setup, sign-in and sign-out, throttling, and sign-in being required everywhere."""

from datetime import timedelta

import pytest
import sqlalchemy as sa

from tests.conftest import PASSWORD
from tests.helpers import HX, hx, text
from tracker import create_app
from tracker.config import TestConfig
from tracker.extensions import db
from tracker.models import SignInFailure, User, utcnow


def test_every_page_leads_to_setup_while_no_user_exists(client):
    for url in ("/", "/issues", "/issues/1", "/admin/users", "/login"):
        response = client.get(url)
        assert response.status_code == 302 and response.headers["Location"].endswith("/setup"), url


def test_setup_creates_first_admin_and_signs_in(client):
    response = client.post(
        "/setup", data={"name": "Ada Lovelace", "email": " Ada@Example.com ", "password": "analytical"}
    )
    assert response.status_code == 303
    user = db.session.execute(sa.select(User)).scalar_one()
    assert (user.name, user.email, user.role, user.active) == ("Ada Lovelace", "ada@example.com", "admin", True)
    assert user.password_hash != "analytical" and user.password_hash.startswith("scrypt:")
    assert client.get("/issues").status_code == 200
    assert client.get("/setup").headers["Location"].endswith("/login"), "setup is closed once a user exists"


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"name": "", "email": "a@b.co", "password": "longenough"}, "Name is required."),
        (
            {"name": "A", "email": "not-an-email", "password": "longenough"},
            "Enter an email address like name@example.com.",
        ),
        ({"name": "A", "email": "a@b.co", "password": "short"}, "Password must be at least 8 characters."),
    ],
)
def test_setup_rejects_bad_input(client, data, message):
    response = client.post("/setup", data=data)
    assert response.status_code == 422 and message in text(response)
    assert db.session.execute(sa.select(sa.func.count(User.id))).scalar_one() == 0


def test_setup_when_users_exist_cannot_create_another_admin(client, make_user):
    make_user("admin")
    response = client.post("/setup", data={"name": "Eve", "email": "eve@x.io", "password": "longenough"})
    assert response.status_code == 302
    assert db.session.execute(sa.select(sa.func.count(User.id))).scalar_one() == 1


def test_signed_out_visitor_is_sent_to_login_with_next(client, make_user):
    make_user()
    response = client.get("/issues?status=open")
    assert response.status_code == 302
    assert "/login?next=/issues?status%3Dopen" in response.headers["Location"]


def test_login_and_logout(client, make_user):
    user = make_user(email="grace@example.com")
    response = client.post("/login?next=/issues/5", data={"email": "GRACE@example.com", "password": PASSWORD})
    assert response.status_code == 303 and response.headers["Location"] == "/issues/5"
    assert client.get("/issues").status_code == 200
    response = client.post("/logout")
    assert response.status_code == 303 and response.headers["Location"].endswith("/login")
    assert client.get("/issues").status_code == 302
    assert user.id


def test_login_ignores_offsite_next(client, make_user):
    make_user(email="grace@example.com")
    response = client.post("/login?next=//evil.example/x", data={"email": "grace@example.com", "password": PASSWORD})
    assert response.headers["Location"] == "/"


def test_sign_in_without_a_page_asked_for_lands_on_my_page(client, make_user):
    """Issue 20: My page (`/`) is where a person lands after signing in, unless a page sent them to sign in."""
    make_user(email="grace@example.com")
    response = client.post("/login", data={"email": "grace@example.com", "password": PASSWORD})
    assert response.status_code == 303 and response.headers["Location"] == "/"
    page = client.get("/")
    assert page.status_code == 200
    assert "<h1>My page</h1>" in text(page) and "Nothing pinned yet." in text(page)
    # Signed in already, the sign-in page sends them on the same way.
    assert client.get("/login").headers["Location"] == "/"


def test_wrong_password_is_422_and_recorded(client, make_user):
    make_user(email="grace@example.com")
    response = client.post("/login", data={"email": "grace@example.com", "password": "wrong"})
    assert response.status_code == 422 and "Email or password is not correct." in text(response)
    assert client.get("/issues").status_code == 302
    assert db.session.execute(sa.select(sa.func.count(SignInFailure.id))).scalar_one() == 1


def test_deactivated_user_cannot_sign_in_and_is_signed_out(client, make_user, login):
    user = make_user(email="gone@example.com")
    login(user)
    assert client.get("/issues").status_code == 200
    user.active = False
    db.session.commit()
    assert client.get("/issues").status_code == 302, "an open session ends on deactivation"
    response = client.post("/login", data={"email": "gone@example.com", "password": PASSWORD})
    assert response.status_code == 422 and "This account is deactivated." in text(response)


def test_failures_are_throttled_per_account(client, make_user):
    make_user(email="grace@example.com")
    for _ in range(5):
        assert client.post("/login", data={"email": "grace@example.com", "password": "nope"}).status_code == 422
    response = client.post("/login", data={"email": "grace@example.com", "password": PASSWORD})
    assert response.status_code == 429 and "Too many failed sign-in attempts" in text(response)
    assert client.get("/issues").status_code == 302


def test_throttle_message_says_when_the_oldest_blocking_failure_expires(client, make_user):
    make_user(email="grace@example.com")
    now = utcnow()
    for minutes_ago in (12, 10, 9, 8, 1):  # the window is 15 minutes: the one 12 minutes old expires in 3
        failed_at = now - timedelta(minutes=minutes_ago)
        db.session.add(SignInFailure(email="grace@example.com", address="127.0.0.1", failed_at=failed_at))
    db.session.commit()
    response = client.post("/login", data={"email": "grace@example.com", "password": PASSWORD})
    assert response.status_code == 429 and "Try again in 3 minutes." in text(response)


def test_failures_are_throttled_per_address(app, client, make_user):
    app.config["SIGNIN_MAX_FAILURES_PER_ADDRESS"] = 3
    make_user(email="grace@example.com")
    for n in range(3):
        client.post("/login", data={"email": f"nobody{n}@example.com", "password": "nope"})
    response = client.post("/login", data={"email": "grace@example.com", "password": PASSWORD})
    assert response.status_code == 429


def test_behind_a_trusted_proxy_each_client_has_its_own_address_limit(database_url, app, make_user):
    make_user(email="grace@example.com")
    proxied_app = create_app(TestConfig, {"SQLALCHEMY_DATABASE_URI": database_url, "TRUSTED_PROXIES": 1,
                                          "SIGNIN_MAX_FAILURES_PER_ADDRESS": 3})
    proxied = proxied_app.test_client()
    for n in range(3):
        proxied.post("/login", data={"email": f"nobody{n}@example.com", "password": "x"},
                     headers={"X-Forwarded-For": "203.0.113.9"})
    addresses = db.session.execute(sa.select(SignInFailure.address).distinct()).scalars().all()
    assert addresses == ["203.0.113.9"]
    blocked = proxied.post("/login", data={"email": "grace@example.com", "password": PASSWORD},
                           headers={"X-Forwarded-For": "203.0.113.9"})
    assert blocked.status_code == 429
    response = proxied.post("/login", data={"email": "grace@example.com", "password": PASSWORD},
                            headers={"X-Forwarded-For": "198.51.100.4"})
    assert response.status_code == 303
    with proxied_app.app_context():
        db.engine.dispose()


def test_without_trusted_proxies_forwarded_headers_are_ignored(app, client, make_user):
    make_user()
    client.post(
        "/login", data={"email": "nobody@example.com", "password": "x"}, headers={"X-Forwarded-For": "203.0.113.9"}
    )
    assert db.session.execute(sa.select(SignInFailure.address)).scalars().all() == ["127.0.0.1"]


def test_success_clears_account_failures(client, make_user):
    make_user(email="grace@example.com")
    for _ in range(4):
        client.post("/login", data={"email": "grace@example.com", "password": "nope"})
    assert client.post("/login", data={"email": "grace@example.com", "password": PASSWORD}).status_code == 303
    count = db.session.execute(
        sa.select(sa.func.count(SignInFailure.id)).where(SignInFailure.email == "grace@example.com")
    ).scalar_one()
    assert count == 0


def test_static_files_need_no_sign_in(client, make_user):
    make_user()
    response = client.get("/static/vendor/htmx-2.0.11.min.js")
    assert response.status_code == 200 and b"htmx" in response.data
    response.close()


def test_cli_creates_user_with_password_from_stdin(runner):
    result = runner.invoke(
        args=[
            "user",
            "create",
            "--name",
            "Linus",
            "--email",
            "linus@example.com",
            "--role",
            "viewer",
            "--password-stdin",
        ],
        input="s3cret-password\n",
    )
    assert result.exit_code == 0, result.output
    assert "Created viewer Linus <linus@example.com>" in result.output
    user = db.session.execute(sa.select(User).where(User.email == "linus@example.com")).scalar_one()
    assert user.role == "viewer"


def test_cli_reports_invalid_input(runner, make_user):
    make_user(email="taken@example.com")
    result = runner.invoke(
        args=["user", "create", "--name", "X", "--email", "taken@example.com", "--role", "member", "--password-stdin"],
        input="short\n",
    )
    assert result.exit_code == 1
    assert "A user with email taken@example.com already exists." in result.output
    assert "Password must be at least 8 characters." in result.output


def test_htmx_request_without_session_navigates_to_sign_in(client, make_user):
    make_user()
    response = client.get(
        "/issues?status=open",
        headers={**hx("issue-results"), "HX-Current-URL": "http://localhost/issues?q=x"},
    )
    assert response.status_code == 401
    assert response.headers["HX-Redirect"] == "/login?next=/issues?q%3Dx"


def test_a_form_sent_after_the_session_ended_leads_to_sign_in_and_back(app, client, make_user, make_issue, snapshot):
    """A signed-out browser's form (its session, and so its CSRF token, gone) is sent to sign in, not told the
    form expired; signing in leads back to the page the form was on, since the form's URL may take only POST."""
    app.config["WTF_CSRF_ENABLED"] = True
    issue = make_issue("Printer on fire")
    before = snapshot()
    cases = [
        ("/issues/new", "http://localhost/issues/new", "/issues/new"),
        (f"/issues/{issue.id}/edit", f"http://localhost/issues/{issue.id}", f"/issues/{issue.id}"),
        (f"/issues/{issue.id}/comments", f"http://localhost/issues/{issue.id}?x=1", f"/issues/{issue.id}?x%3D1"),
        (f"/issues/{issue.id}/comments", "https://elsewhere.example/issues/1", "/"),
        (f"/issues/{issue.id}/comments", None, "/"),
    ]
    for url, referrer, back in cases:
        headers = {"Referer": referrer} if referrer else {}
        response = client.post(url, data={"title": "Hacked", "body": "Hi", "version": "1"}, headers=headers)
        assert response.status_code == 302, url
        assert response.headers["Location"] == f"/login?next={back}", (url, referrer)
    response = client.post(
        f"/issues/{issue.id}/edit", data={"title": "Hacked"},
        headers={**HX, "HX-Current-URL": f"http://localhost/issues/{issue.id}"},
    )
    assert (response.status_code, response.headers["HX-Redirect"]) == (401, f"/login?next=/issues/{issue.id}")
    assert snapshot() == before
