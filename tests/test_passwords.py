"""Changing passwords: your own on the account page, anyone's as an admin or on the command line.

A new password signs out every other browser of that user (their session rows end), on SQLite and PostgreSQL.
"""


import pytest
import sqlalchemy as sa
from flask import g
from werkzeug.security import check_password_hash

from tests.conftest import PASSWORD
from tests.helpers import sign_in_client, text
from tracker.extensions import db
from tracker.models import SignInFailure, User

NEW = "a-much-better-passphrase"


def stored(user_id: int) -> User:
    """The user row as committed."""
    db.session.rollback()
    return db.session.get(User, user_id)


def other_browser(app, user: User):
    """A second test client signed in as `user` (as another browser would be)."""
    browser = app.test_client()
    sign_in_client(browser, user)
    return browser


def get(client, url: str):
    """GET with this client; Flask-Login's user cached in the shared app context is forgotten first."""
    g.pop("_login_user", None)
    return client.get(url)


def change(client, current=PASSWORD, new=NEW, confirm=NEW):
    """POST the account page's password form."""
    return client.post(
        "/account/password", data={"current_password": current, "new_password": new, "confirm_password": confirm}
    )


def test_change_own_password_keeps_this_browser_and_signs_out_the_others(app, client, make_user, login):
    grace = login(make_user(email="grace@example.com"))
    other = other_browser(app, grace)
    assert get(other, "/issues").status_code == 200

    page = text(client.get("/account"))
    assert 'id="password"' in page and 'autocomplete="current-password"' in page
    response = change(client)
    assert response.status_code == 303 and response.headers["Location"].endswith("/account")
    assert check_password_hash(stored(grace.id).password_hash, NEW)
    assert "Your password is changed." in text(client.get("/account"))
    assert get(client, "/issues").status_code == 200, "this browser stays signed in"
    assert get(other, "/issues").status_code == 302, "the other browser is signed out"

    client.post("/logout")
    assert client.post("/login", data={"email": "grace@example.com", "password": PASSWORD}).status_code == 422
    assert client.post("/login", data={"email": "grace@example.com", "password": NEW}).status_code == 303


@pytest.mark.parametrize(
    ("form", "field", "message"),
    [
        ({"current": "wrong"}, "current_password", "Your current password is not correct."),
        ({"new": "short", "confirm": "short"}, "new_password", "Password must be at least 8 characters."),
        ({"new": "x" * 201, "confirm": "x" * 201}, "new_password", "Password must be at most 200 characters."),
        ({"confirm": NEW + "!"}, "confirm_password", "The two new passwords are not the same."),
    ],
)
def test_bad_password_changes_are_422_and_change_nothing(client, make_user, login, form, field, message):
    grace = login(make_user())
    before_hash = grace.password_hash
    response = change(client, **form)
    body = text(response)
    assert response.status_code == 422 and message in body
    assert f'id="{field}"' in body and 'aria-invalid="true"' in body
    assert stored(grace.id).password_hash == before_hash
    assert client.get("/issues").status_code == 200, "still signed in"


def test_wrong_current_passwords_count_as_failed_sign_ins(client, make_user, login):
    grace = login(make_user(email="grace@example.com"))
    for _ in range(5):
        assert change(client, current="guess").status_code == 422
    response = change(client)
    assert response.status_code == 429 and "Too many failed sign-in attempts" in text(response)
    assert check_password_hash(stored(grace.id).password_hash, PASSWORD)
    failures = db.session.execute(
        sa.select(sa.func.count()).select_from(SignInFailure).where(SignInFailure.email == "grace@example.com")
    )
    assert failures.scalar_one() == 5


def test_admin_sets_a_new_password_and_the_user_is_signed_out(app, client, make_user, login_as):
    admin = login_as("admin")
    ada = make_user(name="Ada", email="ada@example.com")
    ada_browser = other_browser(app, ada)
    assert get(ada_browser, "/issues").status_code == 200

    assert f'href="/admin/users/{ada.id}"' in text(get(client, "/admin/users"))
    page = text(get(client, f"/admin/users/{ada.id}"))
    assert f'action="/admin/users/{ada.id}/password"' in page and 'autocomplete="new-password"' in page
    response = client.post(f"/admin/users/{ada.id}/password", data={"password": NEW})
    assert response.status_code == 303
    assert "Ada has a new password" in text(client.get("/admin/users"))
    assert check_password_hash(stored(ada.id).password_hash, NEW)
    assert get(ada_browser, "/issues").status_code == 302, "Ada's open session ended"
    assert get(client, "/issues").status_code == 200, "the admin stays signed in"

    response = client.post(f"/admin/users/{admin.id}/password", data={"password": NEW + "2"})
    assert response.status_code == 303 and client.get("/issues").status_code == 200, (
        "an admin's own reset keeps them signed in"
    )


@pytest.mark.parametrize(
    ("target", "data", "status"),
    [("ada", {"password": "short"}, 422), ("ada", {}, 422), ("999", {"password": NEW}, 404)],
)
def test_bad_password_resets_change_nothing(client, make_user, login_as, snapshot, target, data, status):
    login_as("admin")
    ada = make_user(name="Ada")
    before = snapshot()
    response = client.post(f"/admin/users/{ada.id if target == 'ada' else target}/password", data=data)
    assert response.status_code == status
    if status == 422:
        body = text(response)
        assert "Password must be at least 8 characters." in body and 'id="password-error"' in body
    assert snapshot() == before


def test_a_session_cookie_naming_no_live_session_is_signed_out(client, make_user):
    """A cookie of before session rows (user id and password mark), a made-up key or another type: no session."""
    grace = make_user()
    for forged in (str(grace.id), f"{grace.id}-0000000000000000", "", "x" * 43, 12345, None):
        with client.session_transaction() as session:
            session["_user_id"] = forged
        assert client.get("/issues").status_code == 302, forged


def test_cli_sets_a_password(runner, make_user):
    grace = make_user(email="grace@example.com")
    result = runner.invoke(args=["user", "password", "GRACE@example.com", "--password-stdin"], input=NEW + "\n")
    assert result.exit_code == 0, result.output
    assert "New password set for" in result.output and check_password_hash(stored(grace.id).password_hash, NEW)
    result = runner.invoke(args=["user", "password", "grace@example.com", "--password-stdin"], input="short\n")
    assert result.exit_code == 1 and "Password must be at least 8 characters." in result.output
    result = runner.invoke(args=["user", "password", "nobody@example.com", "--password-stdin"], input=NEW + "\n")
    assert result.exit_code == 1 and "No user has the email nobody@example.com." in result.output
    assert check_password_hash(stored(grace.id).password_hash, NEW)
