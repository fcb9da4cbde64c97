"""Two app nodes behind a load balancer, on one PostgreSQL (issue 23, "Two app nodes, proven").

Two gunicorn instances serve the same code on two ports against one PostgreSQL database, as two machines behind a
load balancer without sticky sessions would; the test drives them alternately with one browser-like client (one
cookie jar): sign in on one node and act on the other, a conflict between edits made on different nodes, sign-in
throttling counted across both, an import staged on one node, checked on the other and imported on the first, and
the background work done once with a worker beside each node (`flask --app wsgi worker`, as in production).
Everything a node keeps is in the database (sessions, throttling, staged imports, drafts of nothing), and the
signed cookie only needs the same SECRET_KEY on every node."""

from __future__ import annotations

import re
import time
from contextlib import ExitStack

import pytest
import requests
import sqlalchemy as sa
from aiosmtpd.controller import Controller
from werkzeug.security import generate_password_hash

from bench import server
from tests.mailbox import Mailbox, free_port
from tracker.account import service as tokens
from tracker.extensions import db
from tracker.models import EmailOutbox, ImportRun, Issue, User

PASSWORD = "two nodes, one database"


@pytest.fixture
def nodes(app, postgres_only, database_url, people, tmp_path):
    """Two gunicorn nodes (one gthread worker each) on one PostgreSQL database, serving `people`: their base URLs."""
    settings = {"ATTACHMENTS_URL": str(tmp_path / "attachments"), "SIGNIN_MAX_FAILURES_PER_ACCOUNT": "5"}
    with ExitStack() as stack:
        served = [stack.enter_context(server.serve(database_url, 1, 4, settings)) for _ in range(2)]
        yield [f"http://{server.HOST}:{s.port}" for s in served]


@pytest.fixture
def people(app):
    """A member and an admin with a real password (the nodes check it as production does)."""
    digest = generate_password_hash(PASSWORD)
    users = [
        User(name="Ada", email="ada@example.com", password_hash=digest, role="member"),
        User(name="Root", email="root@example.com", password_hash=digest, role="admin"),
    ]
    db.session.add_all(users)
    db.session.commit()
    return users


def csrf(page: requests.Response) -> str:
    """The CSRF token of the first form on a page."""
    return re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)


def sign_in(browser: requests.Session, node: str, email: str, password: str = PASSWORD) -> requests.Response:
    """Post the sign-in form of this node (after loading it for its CSRF token)."""
    form = browser.get(f"{node}/login")
    return browser.post(
        f"{node}/login",
        data={"csrf_token": csrf(form), "email": email, "password": password},
        allow_redirects=False,
    )


def fresh() -> None:
    """Forget what this process's session holds: the nodes changed the database."""
    db.session.rollback()
    db.session.expire_all()


def test_signed_in_on_one_node_is_signed_in_on_the_other_and_signed_out_on_both(nodes, people):
    one, two = nodes
    browser = requests.Session()
    assert sign_in(browser, one, "ada@example.com").status_code == 303
    page = browser.get(f"{two}/issues", allow_redirects=False)
    assert page.status_code == 200 and "Ada" in page.text

    # An issue created on the second node is on the first at once.
    new = browser.get(f"{two}/issues/new")
    created = browser.post(
        f"{two}/issues/new",
        data={"csrf_token": csrf(new), "title": "Made on node two", "status": "open", "priority": "medium"},
        allow_redirects=False,
    )
    assert created.status_code == 303
    issue_path = created.headers["Location"]
    assert "Made on node two" in browser.get(f"{one}{issue_path}").text

    # Signing out on the first node ends the session for both: the same cookie signs nobody in on the second.
    cookie = dict(browser.cookies)
    page = browser.get(f"{one}/issues")
    assert browser.post(f"{one}/logout", data={"csrf_token": csrf(page)}, allow_redirects=False).status_code == 303
    replay = requests.get(f"{two}/issues", cookies=cookie, allow_redirects=False)
    assert replay.status_code == 302 and "/login" in replay.headers["Location"]


def test_edits_on_two_nodes_meet_the_version_check(nodes, people):
    one, two = nodes
    ada, root = requests.Session(), requests.Session()
    assert sign_in(ada, one, "ada@example.com").status_code == 303
    assert sign_in(root, two, "root@example.com").status_code == 303
    new = ada.get(f"{one}/issues/new")
    created = ada.post(
        f"{one}/issues/new",
        data={"csrf_token": csrf(new), "title": "Shared", "status": "open", "priority": "medium"},
        allow_redirects=False,
    )
    issue_id = int(created.headers["Location"].rstrip("/").rsplit("/", 1)[1])

    # Both open the edit form at version 1, on different nodes; Ada saves first on node one.
    form_ada = ada.get(f"{one}/issues/{issue_id}/edit")
    form_root = root.get(f"{two}/issues/{issue_id}/edit")
    for form in (form_ada, form_root):
        assert re.search(r'<input[^>]*name="version"[^>]*value="1"', form.text)
    fields = {"status": "open", "priority": "medium", "assignee_id": "", "description": ""}
    saved = ada.post(
        f"{one}/issues/{issue_id}/edit",
        data={**fields, "csrf_token": csrf(form_ada), "title": "Ada's title", "version": "1"},
        allow_redirects=False,
    )
    assert saved.status_code == 303
    # Root's save on node two is stale: the conflict view, with both changes shown, and nothing overwritten.
    stale = root.post(
        f"{two}/issues/{issue_id}/edit",
        data={**fields, "csrf_token": csrf(form_root), "title": "Root's title", "version": "1"},
        allow_redirects=False,
    )
    assert stale.status_code == 409
    assert "Ada&#39;s title" in stale.text and "Root&#39;s title" in stale.text
    fresh()
    issue = db.session.get(Issue, issue_id)
    assert (issue.title, issue.version) == ("Ada's title", 2)


def test_sign_in_throttling_counts_failures_made_on_either_node(nodes, people):
    one, two = nodes
    browser = requests.Session()
    # Five failures for one account from one address, alternating nodes: the limit (5) is reached across both.
    for attempt in range(5):
        node = (one, two)[attempt % 2]
        assert sign_in(browser, node, "ada@example.com", "wrong password").status_code == 422
    for node in (one, two):
        refused = sign_in(browser, node, "ada@example.com")  # even the right password waits now
        assert refused.status_code == 429 and "Too many failed sign-in attempts" in refused.text
        assert int(refused.headers["Retry-After"]) > 0


def test_an_import_staged_on_one_node_is_checked_and_imported_on_the_other(nodes, people):
    one, two = nodes
    browser = requests.Session()
    assert sign_in(browser, two, "ada@example.com").status_code == 303
    page = browser.get(f"{one}/import")
    content = "title,status,priority,assignee\r\nFirst,open,high,ada@example.com\r\nSecond,in_progress,low,\r\n"
    staged = browser.post(
        f"{one}/import",
        data={"csrf_token": csrf(page), "dry_run": "1", "policy": "all_or_nothing"},
        files={"file": ("issues.csv", content.encode(), "text/csv")},
        allow_redirects=False,
    )
    assert staged.status_code == 303
    run_id = int(re.search(r"/imports/(\d+)/check", staged.headers["Location"]).group(1))

    check = browser.get(f"{two}/imports/{run_id}/check")
    assert check.status_code == 200 and re.search(r'id="rows-valid">2<', check.text)
    done = browser.post(
        f"{one}/imports/{run_id}/import",
        data={"csrf_token": csrf(check), "policy": "all_or_nothing"},
        allow_redirects=False,
    )
    assert done.status_code == 303 and done.headers["Location"].endswith(f"/imports/{run_id}")
    fresh()
    titles = db.session.execute(sa.select(Issue.title).order_by(Issue.id)).scalars().all()
    assert titles == ["First", "Second"]
    assert db.session.get(ImportRun, run_id).state == "imported"
    # The history, read on the other node, shows the import done.
    assert "issues.csv" in browser.get(f"{two}/imports").text


@pytest.fixture
def mailbox() -> Mailbox:
    """A real SMTP server (aiosmtpd) in the test process; its `url` is the nodes' MAIL_URL."""
    box, port = Mailbox(), free_port()
    controller = Controller(box, hostname="127.0.0.1", port=port)
    controller.start()
    box.url = f"smtp://127.0.0.1:{port}"
    yield box
    controller.stop()


@pytest.fixture
def mailing_nodes(app, postgres_only, database_url, people, tmp_path, mailbox):
    """Two gunicorn nodes sending email, each with its own background worker process polling every second: their
    base URLs."""
    settings = {
        "ATTACHMENTS_URL": str(tmp_path / "attachments"),
        "MAIL_URL": mailbox.url,
        "TRACKER_BASE_URL": "https://tracker.example.com",
        "MAIL_WINDOW_SECONDS": "0",
        "MAIL_POLL_SECONDS": "1",
    }
    with ExitStack() as stack:
        served = [stack.enter_context(server.serve(database_url, 1, 4, settings)) for _ in range(2)]
        workers = [stack.enter_context(server.worker(database_url, settings)) for _ in range(2)]
        yield [f"http://{server.HOST}:{s.port}" for s in served]
        assert all(worker.poll() is None for worker in workers), "a worker died"


def test_background_work_is_done_once_with_a_worker_beside_each_node(mailing_nodes, people, mailbox):
    """Issues reported on both nodes, each commented on from the other node: the two workers share the email queue
    (claimed with SKIP LOCKED), so the reporter gets exactly one email per comment, none twice."""
    one, two = mailing_nodes
    ada, root = people
    headers = {
        person.id: {"Authorization": f"Bearer {tokens.create_token(db.session, person, 'two nodes')[1]}"}
        for person in people
    }
    issue_ids = []
    for n in range(6):
        reported_on, commented_on = (one, two) if n % 2 else (two, one)
        created = requests.post(f"{reported_on}/api/issues", json={"title": f"Node issue {n}"}, headers=headers[ada.id])
        assert created.status_code == 201, created.text
        issue_ids.append(created.json()["id"])
        comment = requests.post(
            f"{commented_on}/api/issues/{issue_ids[-1]}/comments", json={"body": f"Looked at {n}"},
            headers=headers[root.id],
        )
        assert comment.status_code == 201, comment.text

    deadline = time.monotonic() + 60
    while len(mailbox.messages) < len(issue_ids) and time.monotonic() < deadline:
        time.sleep(0.2)
    time.sleep(3)  # three more rounds of both workers: nothing may be sent again
    assert [r for r in mailbox.recipients] == [["ada@example.com"]] * len(issue_ids)
    subjects = sorted(message["Subject"] for message in mailbox.messages)
    assert subjects == sorted({subject for subject in subjects})  # one email per issue
    assert all(any(f"#{i} " in subject for subject in subjects) for i in issue_ids), subjects
    message_ids = [message["Message-ID"] for message in mailbox.messages]
    assert len(set(message_ids)) == len(message_ids)
    fresh()
    states = db.session.execute(sa.select(EmailOutbox.status, sa.func.count()).group_by(EmailOutbox.status)).all()
    assert dict(states) == {"sent": len(issue_ids)}
