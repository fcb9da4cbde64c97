"""Signed-in browsers are session rows: signing out ends one on the server, the account page lists and ends them,
deactivation and new passwords end them, they expire when idle or old, and the CSRF token changes at sign-in."""

from __future__ import annotations

import re
from datetime import timedelta
from email.utils import parsedate_to_datetime

import pytest
import sqlalchemy as sa

from tests.conftest import PASSWORD
from tests.helpers import HX, hx, sign_in_client, text
from tracker.auth import sessions
from tracker.extensions import db
from tracker.models import User, UserSession, utcnow

FIREFOX = "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0"
ANDROID = "Mozilla/5.0 (Linux; Android 14) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0 Mobile Safari/537.36"
MAC = (
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_5) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Safari/605.1.15"
)


def sign_in(client, email: str, password: str = PASSWORD, agent: str = FIREFOX):
    """Sign in through the form, as a browser does."""
    response = client.post("/login", data={"email": email, "password": password}, headers={"User-Agent": agent})
    assert response.status_code == 303, text(response)
    return response


def rows(user: User) -> list[UserSession]:
    """The user's session rows as committed, oldest first."""
    db.session.rollback()
    statement = sa.select(UserSession).where(UserSession.user_id == user.id).order_by(UserSession.id)
    return list(db.session.execute(statement).scalars())


def copy_of(app, client):
    """Another browser holding a copy of this client's session cookie (a stolen or backed-up cookie)."""
    thief = app.test_client()
    thief.set_cookie("session", client.get_cookie("session").value)
    return thief


def test_signing_in_records_the_browser_and_signing_out_ends_it_for_every_copy(app, client, make_user):
    grace = make_user(email="grace@example.com")
    sign_in(client, "grace@example.com")
    (row,) = rows(grace)
    assert (row.address, row.user_agent, row.ended_at) == ("127.0.0.1", "Firefox on Linux", None)
    assert len(row.key_hash) == 64 and row.key_hash not in client.get_cookie("session").value
    copy = copy_of(app, client)
    assert copy.get("/issues").status_code == 200, "a copy works while the session lives"

    assert client.post("/logout").status_code == 303
    (row,) = rows(grace)
    assert row.ended_reason == "signed_out" and row.ended_at is not None
    response = copy.get("/issues?status=open")
    assert response.status_code == 302 and response.headers["Location"] == "/login?next=/issues?status%3Dopen"
    response = copy.get("/issues", headers={**hx("issue-results"), "HX-Current-URL": "http://localhost/issues"})
    assert (response.status_code, response.headers["HX-Redirect"]) == (401, "/login?next=/issues")
    assert copy.post("/issues/new", data={"title": "Sneaky"}).status_code == 302


def test_the_account_page_lists_the_browsers_and_signs_one_out(app, client, make_user, login):
    grace = login(make_user(email="grace@example.com"))
    phone = app.test_client()
    sign_in_client(phone, grace, address="198.51.100.23", agent=ANDROID)
    laptop = app.test_client()
    sign_in_client(laptop, grace, address="203.0.113.5", agent=MAC)
    others_browser = app.test_client()
    sign_in_client(others_browser, make_user(email="ada@example.com"), address="192.0.2.99")

    page = text(client.get("/account"))
    section = page[page.index('id="signed-in-browsers"') : page.index('id="password"')]
    assert section.count('<tr id="browser-') == 3 and "192.0.2.99" not in section
    assert "(this browser)" in section and "Chrome on Android" in section and "198.51.100.23" in section
    assert "8 hours without use" in section and "1 day after signing in" in section
    assert section.count(">Sign out</button>") == 2, "no sign-out button for this browser (the header has one)"
    phone_row = next(r for r in rows(grace) if r.address == "198.51.100.23")

    response = client.post(f"/account/sessions/{phone_row.id}/end")
    assert response.status_code == 303 and response.headers["Location"] == "/account"
    assert "Signed out Chrome on Android (198.51.100.23)." in text(client.get("/account"))
    assert phone.get("/issues").status_code == 302 and laptop.get("/issues").status_code == 200
    assert next(r for r in rows(grace) if r.id == phone_row.id).ended_reason == "ended_elsewhere"

    # htmx: the section alone comes back, without the ended browser
    response = client.post("/account/sessions/end-others", headers=hx("signed-in-browsers"))
    body = text(response)
    assert response.status_code == 200 and body.lstrip().startswith('<section id="signed-in-browsers"')
    assert "Safari on macOS" not in body and "No other browser is signed in as you." in body
    assert laptop.get("/issues").status_code == 302 and client.get("/issues").status_code == 200
    assert others_browser.get("/issues").status_code == 200, "someone else's browsers are theirs"


def test_signing_out_everywhere_else_without_javascript(app, client, make_user, login):
    grace = login(make_user())
    others = [app.test_client() for _ in range(2)]
    for other in others:
        sign_in_client(other, grace)
    response = client.post("/account/sessions/end-others")
    assert response.status_code == 303
    assert "Signed out 2 other browsers." in text(client.get("/account"))
    assert [other.get("/issues").status_code for other in others] == [302, 302]
    assert client.get("/issues").status_code == 200


def test_ending_this_browser_from_the_list_signs_it_out(client, make_user, login):
    grace = login(make_user())
    (row,) = rows(grace)
    response = client.post(f"/account/sessions/{row.id}/end", headers=HX)
    assert (response.status_code, response.headers["HX-Redirect"]) == (200, "/login")
    assert client.get("/issues").status_code == 302


def test_ending_someone_elses_or_no_session_is_404_and_changes_nothing(app, client, make_user, login):
    login(make_user())
    ada = make_user(email="ada@example.com")
    ada_browser = app.test_client()
    sign_in_client(ada_browser, ada)
    (ada_row,) = rows(ada)
    for session_id in (ada_row.id, 999_999):
        assert client.post(f"/account/sessions/{session_id}/end").status_code == 404
    assert rows(ada)[0].ended_at is None and ada_browser.get("/issues").status_code == 200


def test_deactivation_ends_every_session_and_reactivation_revives_none(app, client, make_user, login_as):
    login_as("admin")
    ada = make_user(email="ada@example.com")
    browsers = [app.test_client() for _ in range(2)]
    for browser in browsers:
        sign_in_client(browser, ada)
    assert client.post(f"/admin/users/{ada.id}/active", data={"active": "0"}).status_code == 303
    assert {(r.ended_reason, r.ended_at is not None) for r in rows(ada)} == {("deactivated", True)}
    assert client.post(f"/admin/users/{ada.id}/active", data={"active": "1"}).status_code == 303
    assert [browser.get("/issues").status_code for browser in browsers] == [302, 302]


def test_new_passwords_end_sessions_with_their_reason(app, client, make_user, login_as, runner):
    admin = login_as("admin")
    ada = make_user(email="ada@example.com")
    sign_in_client(app.test_client(), ada)
    assert client.post(f"/admin/users/{ada.id}/password", data={"password": "a-new-passphrase"}).status_code == 303
    assert [r.ended_reason for r in rows(ada)] == ["password_reset"]
    # An admin setting their own password on the admin page keeps this browser, as the account page does.
    sign_in_client(app.test_client(), admin)
    assert client.post(f"/admin/users/{admin.id}/password", data={"password": "another-passphrase"}).status_code == 303
    assert [r.ended_reason for r in rows(admin)] == [None, "password_reset"]
    assert client.get("/issues").status_code == 200
    # The command line (a locked-out admin) ends them all.
    result = runner.invoke(args=["user", "password", admin.email, "--password-stdin"], input="third-passphrase\n")
    assert result.exit_code == 0, result.output
    assert [r.ended_reason for r in rows(admin)] == ["password_reset", "password_reset"]
    assert client.get("/issues").status_code == 302


def test_own_password_change_ends_the_others_with_its_reason(app, client, make_user, login):
    grace = login(make_user(email="grace@example.com"))
    sign_in_client(app.test_client(), grace)
    response = client.post(
        "/account/password",
        data={"current_password": PASSWORD, "new_password": "brand-new-pass", "confirm_password": "brand-new-pass"},
    )
    assert response.status_code == 303
    assert [r.ended_reason for r in rows(grace)] == [None, "password_changed"]


def test_api_tokens_are_not_sessions(client, make_user, login, token_for):
    grace = login(make_user())
    headers = token_for(grace)
    assert client.post("/account/sessions/end-others").status_code == 303
    assert client.post("/logout").status_code == 303
    assert client.get("/api/issues", headers=headers).status_code == 200, "signing out leaves tokens alone"


@pytest.mark.parametrize(
    ("idle_ago", "age", "signed_in"),
    [
        (timedelta(hours=7, minutes=59), timedelta(hours=8), True),
        (timedelta(hours=8, minutes=1), timedelta(hours=9), False),  # idle too long
        (timedelta(minutes=5), timedelta(hours=23, minutes=59), True),
        (timedelta(minutes=5), timedelta(hours=24, minutes=1), False),  # past the lifetime, though in use
    ],
)
def test_sessions_end_when_idle_or_too_old(client, make_user, login, idle_ago, age, signed_in):
    grace = login(make_user())
    now = utcnow()
    db.session.execute(
        sa.update(UserSession)
        .where(UserSession.user_id == grace.id)
        .values(last_seen_at=now - idle_ago, created_at=now - age)
    )
    db.session.commit()
    assert client.get("/issues").status_code == (200 if signed_in else 302)


def test_lifetimes_come_from_the_settings(app, client, make_user, login):
    app.config.update(SESSION_IDLE_MINUTES=10, SESSION_LIFETIME_HOURS=1)
    grace = login(make_user())
    db.session.execute(
        sa.update(UserSession)
        .where(UserSession.user_id == grace.id)
        .values(last_seen_at=utcnow() - timedelta(minutes=11))
    )
    db.session.commit()
    assert client.get("/issues").status_code == 302


def test_the_cookie_expires_with_the_session(database_url, make_user):
    """The cookie lasts the idle time from each page, and never past the session's lifetime."""
    from tracker import create_app
    from tracker.config import TestConfig

    make_user(email="grace@example.com")
    app = create_app(
        TestConfig, {"SQLALCHEMY_DATABASE_URI": database_url, "SESSION_IDLE_MINUTES": 120, "SESSION_LIFETIME_HOURS": 3}
    )
    browser = app.test_client()
    with app.app_context():
        started = utcnow()
        response = sign_in(browser, "grace@example.com")
        expires = parsedate_to_datetime(re.search(r"Expires=([^;]+)", response.headers["Set-Cookie"]).group(1))
        assert abs((expires.replace(tzinfo=None) - started).total_seconds() - 2 * 3600) < 60
        with browser.session_transaction() as session:  # as if signed in 2 h 30 min ago
            session["_ends"] = int(expires.timestamp()) - 2 * 3600 + 30 * 60
        response = browser.get("/issues")
        later = parsedate_to_datetime(re.search(r"Expires=([^;]+)", response.headers["Set-Cookie"]).group(1))
        assert abs((later - expires).total_seconds() + 90 * 60) < 60, "cut to the session's end"
        static = browser.get("/static/app.css")
        assert "Set-Cookie" not in static.headers, "static files leave the cookie alone"
        static.close()
        db.session.remove()
        db.engine.dispose()


def test_signing_in_changes_the_csrf_token(app, client, make_user):
    app.config["WTF_CSRF_ENABLED"] = True
    make_user(email="grace@example.com")
    before = re.search(r'name="csrf_token" value="([^"]+)"', text(client.get("/login"))).group(1)
    response = client.post("/login", data={"email": "grace@example.com", "password": PASSWORD, "csrf_token": before})
    assert response.status_code == 303
    after = re.search(r'name="csrf_token" value="([^"]+)"', text(client.get("/issues/new"))).group(1)
    assert after != before
    refused = client.post("/account/name", data={"profile-name": "Hijacked", "csrf_token": before})
    assert refused.status_code == 400 and "security token" in text(refused)
    assert client.post("/account/name", data={"profile-name": "Grace", "csrf_token": after}).status_code == 303


def test_last_seen_is_written_at_most_once_a_minute(client, make_user, login, count_statements):
    grace = login(make_user())
    long_ago = utcnow() - timedelta(minutes=5)
    db.session.execute(sa.update(UserSession).where(UserSession.user_id == grace.id).values(last_seen_at=long_ago))
    db.session.commit()
    client.get("/labels/colors.css")
    seen = rows(grace)[0].last_seen_at
    assert seen > long_ago + timedelta(minutes=4)
    with count_statements() as statements:
        assert client.get("/labels/colors.css").status_code == 200
    assert not [s for s in statements if s.lstrip().upper().startswith("UPDATE")]
    assert sum("user_sessions" in s for s in statements) == 1, "one query finds the session and its user"
    assert rows(grace)[0].last_seen_at == seen


def test_purge_removes_sessions_long_over(app, make_user):
    grace = make_user()
    lifetimes = sessions.Lifetimes.from_config(app.config)
    now = utcnow()
    live, _ = sessions.start_session(db.session, grace, "127.0.0.1", FIREFOX, now=now)
    old, _ = sessions.start_session(db.session, grace, "127.0.0.1", FIREFOX, now=now - timedelta(days=40))
    ended, _ = sessions.start_session(db.session, grace, "127.0.0.1", FIREFOX, now=now - timedelta(days=2))
    sessions.end_sessions(db.session, grace.id, "signed_out", keep_id=live.id, now=now - timedelta(days=31))
    db.session.commit()
    assert sessions.purge_sessions(db.session, lifetimes, now) == 2
    assert [r.id for r in rows(grace)] == [live.id]


@pytest.mark.parametrize(
    ("agent", "summary"),
    [
        (FIREFOX, "Firefox on Linux"),
        (
            "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0"
            " Safari/537.36 Edg/131.0",
            "Edge on Windows",
        ),
        (
            "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko)"
            " Version/17.5 Mobile/15E148 Safari/604.1",
            "Safari on iOS",
        ),
        ("curl/8.5.0", "curl"),
        ("", "Unknown browser"),
        ("x" * 500, "x" * 100),
    ],
)
def test_user_agents_are_summarised(agent, summary):
    assert sessions.describe_agent(agent) == summary
