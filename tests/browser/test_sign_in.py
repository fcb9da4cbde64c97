"""First-run setup, sign-out and sign-in, as a person does them in the browser."""

import pytest
import sqlalchemy as sa
from playwright.sync_api import expect

from tracker.extensions import db
from tracker.models import User

pytestmark = pytest.mark.browser


def test_first_run_setup_then_sign_out_and_in(browsing, live_server):
    """An empty tracker asks for the first admin, signs them in, and lets them sign out and back in."""
    page = browsing.page()
    page.goto(live_server("/"))
    expect(page).to_have_url(live_server("/setup"))
    expect(page.get_by_role("heading", name="Welcome to Tracker")).to_be_visible()

    page.get_by_label("Name").fill("Ada Lovelace")
    page.get_by_label("Email").fill("Ada@Example.com ")
    page.get_by_label("Password").fill("analytical engine")
    page.get_by_role("button", name="Create admin and sign in").click()

    expect(page).to_have_url(live_server("/issues"))
    expect(page.get_by_role("status")).to_contain_text("Welcome, Ada Lovelace")
    expect(page.locator(".site-user")).to_contain_text("Ada Lovelace")
    expect(page.get_by_text("No issues yet.")).to_be_visible()
    db.session.rollback()
    admin = db.session.execute(sa.select(User)).scalar_one()
    assert (admin.name, admin.email, admin.role, admin.active) == ("Ada Lovelace", "ada@example.com", "admin", True)

    page.get_by_role("button", name="Sign out").click()
    expect(page).to_have_url(live_server("/login"))
    expect(page.get_by_role("status")).to_have_text("You are signed out.")
    page.goto(live_server("/issues"))
    expect(page).to_have_url(live_server("/login?next=/issues"))

    page.get_by_label("Email").fill("ada@example.com")
    page.get_by_label("Password").fill("not the password")
    page.get_by_role("button", name="Sign in").click()
    expect(page.locator("#password-error")).to_have_text("Email or password is not correct.")
    expect(page.get_by_label("Email")).to_have_value("ada@example.com")
    expect(page.get_by_label("Password")).to_have_value("")
    expect(page.locator(".site-user")).to_have_count(0)

    page.get_by_label("Password").fill("analytical engine")
    page.get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(live_server("/issues"))
    expect(page.locator(".site-user")).to_contain_text("Ada Lovelace")


def test_setup_is_closed_once_a_user_exists(browsing, live_server, make_user):
    """After the first admin exists, /setup sends people to the sign-in page."""
    make_user("admin")
    page = browsing.page()
    page.goto(live_server("/setup"))
    expect(page).to_have_url(live_server("/login"))
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
