"""Browser fixtures: system Chromium through Playwright, the app served on a real port, signed-in pages."""

from __future__ import annotations

import os
import re
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from playwright.sync_api import BrowserContext, ConsoleMessage, Locator, Page, expect
from werkzeug.serving import WSGIRequestHandler, make_server

from tests.conftest import PASSWORD, TEST_DATABASE_URL, fresh_database
from tracker import create_app
from tracker.config import TestConfig
from tracker.extensions import db
from tracker.models import Issue, User

CHROMIUM = Path("/usr/bin/chromium")
REQUIRE_BROWSER = os.environ.get("REQUIRE_BROWSER") == "1"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
]
# Responses the app sends on purpose (invalid form, version conflict); Chromium logs each as a console error.
EXPECTED_STATUS_LOG = re.compile(r"^Failed to load resource: the server responded with a status of (409|422)\b")


@pytest.fixture(scope="session", params=["postgresql" if TEST_DATABASE_URL else "sqlite"])
def database_url(request, tmp_path_factory) -> str:
    """Browser tests run on one database: PostgreSQL when TEST_DATABASE_URL is set (as in production), else SQLite.

    What a person sees does not depend on the database, and the tests below tests/ (not browser/) cover both.
    """
    return fresh_database(request.param, tmp_path_factory)


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args: dict) -> dict:
    """Launch Debian's Chromium (never a downloaded one); skip or fail when it is absent."""
    if not CHROMIUM.exists():
        message = f"Chromium is not installed at {CHROMIUM}"
        if REQUIRE_BROWSER:
            pytest.fail(f"{message} and REQUIRE_BROWSER=1")
        pytest.skip(f"{message} (set REQUIRE_BROWSER=1 to make this a failure)")
    return {**browser_type_launch_args, "executable_path": str(CHROMIUM), "args": CHROMIUM_ARGS}


class _QuietHandler(WSGIRequestHandler):
    """Request handler that does not log every request to stderr."""

    def log_request(self, code="-", size="-") -> None:
        """Requests are not logged; failures still are."""


@dataclass
class LiveServer:
    """The app served on 127.0.0.1 on a free port."""

    url: str

    def __call__(self, path: str = "/") -> str:
        """Absolute URL of a path on this server."""
        return self.url + path


@pytest.fixture
def live_server(app, database_url) -> Iterator[LiveServer]:
    """Serve an app with real CSRF protection on the test database; the root `app` fixture empties rows after."""
    served = create_app(
        TestConfig,
        {
            "SQLALCHEMY_DATABASE_URI": database_url,
            "ATTACHMENTS_URL": app.config["ATTACHMENTS_URL"],  # the test's folder: the test sees what was stored
            "WTF_CSRF_ENABLED": True,
            "ISSUES_PER_PAGE": 10,  # small pages, so a few dozen issues paginate
        },
    )
    server = make_server("127.0.0.1", 0, served, threaded=True, request_handler=_QuietHandler)
    # A short poll interval keeps shutdown() quick at teardown.
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), name="live-server", daemon=True)
    thread.start()
    try:
        yield LiveServer(f"http://127.0.0.1:{server.server_port}")
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
        with served.app_context():
            db.engine.dispose()  # no pooled connection may hold a lock when the rows are deleted


@dataclass
class BrowserProblems:
    """Console errors, uncaught exceptions and CSP violations seen in any page of the test."""

    messages: list[str] = field(default_factory=list)
    reported: int = 0
    expected: list[re.Pattern] = field(default_factory=list)

    def expect_status(self, status: int) -> None:
        """A test that provokes this status on purpose (a 401 after the session ended) lets Chromium log it."""
        self.expected.append(re.compile(rf"^Failed to load resource: the server responded with a status of {status}\b"))

    def watch(self, page: Page) -> Page:
        """Record this page's problems."""
        page.on("console", self._on_console)
        page.on("pageerror", lambda exc: self.messages.append(f"uncaught exception on {page.url}: {exc}"))
        return page

    def _on_console(self, message: ConsoleMessage) -> None:
        text = message.text
        if EXPECTED_STATUS_LOG.match(text) or any(pattern.match(text) for pattern in self.expected):
            return
        if text.startswith("htmx:sendAbort,"):
            # The list's filter form (hx-sync="this:replace") aborts a request that a newer change supersedes, on
            # purpose; htmx logs the abort, and the afterRequest just before it, as console errors.
            if self.messages[self.reported :] and self.messages[-1].startswith("console error: htmx:afterRequest,"):
                self.messages.pop()
            return
        if message.type == "error" or "Content Security Policy" in text:
            self.messages.append(f"console {message.type}: {text} ({message.location.get('url', '')})")

    def check(self) -> None:
        """Fail with the problems not reported yet."""
        new, self.reported = self.messages[self.reported :], len(self.messages)
        if new:
            pytest.fail("the browser reported problems:\n" + "\n".join(new), pytrace=False)


@dataclass
class Browsing:
    """Opens signed-in (or anonymous) pages in fresh browser contexts."""

    server: LiveServer
    new_context: Callable[..., BrowserContext]
    problems: BrowserProblems

    def page(self, user: User | None = None, javascript: bool = True) -> Page:
        """A page in a new context (its own cookies), signed in as `user` through the sign-in form."""
        context = self.new_context(java_script_enabled=javascript)
        page = self.problems.watch(context.new_page())
        if user is not None:
            sign_in(page, self.server, user.email)
        return page


def sign_in(page: Page, server: LiveServer, email: str, password: str = PASSWORD) -> None:
    """Sign in through the form and land on My page."""
    page.goto(server("/login"))
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(server("/"))
    expect(page.get_by_role("heading", name="My page", exact=True)).to_be_visible()


@pytest.fixture
def browsing(live_server, new_context) -> Iterator[Browsing]:
    """Factory of pages; the test fails if any page logged an error or a CSP violation."""
    problems = BrowserProblems()
    yield Browsing(live_server, new_context, problems)
    problems.check()  # whatever arrived after the test body finished


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item):
    """A browser test whose pages logged errors or CSP violations fails (not only errors at teardown)."""
    result = yield
    browsing = getattr(item, "funcargs", {}).get("browsing")
    if browsing is not None:
        browsing.problems.check()
    return result


def stored_issue(issue_id: int) -> Issue:
    """The issue row as the live server committed it (a fresh read, not this session's cached copy)."""
    db.session.rollback()
    return db.session.get(Issue, issue_id)


def history_events(page: Page) -> Locator:
    """The change entries of the issue's history, oldest first (the section is being renamed History -> Timeline)."""
    return page.locator("#issue-history .event, #issue-timeline .event")


def set_marker(page: Page) -> None:
    """Mark the window; a full page load forgets the mark, an htmx swap keeps it."""
    page.evaluate("window.__marker = 1")


def marker_survived(page: Page) -> bool:
    """Whether the window is still the one `set_marker` marked."""
    return page.evaluate("window.__marker") == 1
