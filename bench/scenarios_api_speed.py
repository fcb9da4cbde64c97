"""The API's single-issue calls as issue 23 measures them: the README's production command with 2 workers
(`gunicorn -k gthread -w 2 --threads 8`), on the 1M-issue database and on an empty one.

Each group serves its own app (started once, stopped at exit) so the rest of the run keeps its own server:
- api_create_2w, api_patch_2w, api_comment_2w: the benchmark's database (1,000,000 issues);
- the same with `_empty`: a database made for the run (`<bench database>_empty`: migrated, the benchmark's users and
  labels, nothing else), so the rows show what the data size costs.
Targets (issue 23): median <= 3 ms and p95 <= 5 ms one at a time; creates from 8 clients >= 420 req/s (the create
rows run their throughput phase with 8 clients). Every call carries the bearer token, the version guard and the
history as usual; what a call creates is deleted right after it (untimed), as in scenarios_api.
"""

from __future__ import annotations

import atexit
import contextlib
import itertools
import random
import threading
from dataclasses import dataclass, field

from sqlalchemy.engine import make_url

from tracker.models import PRIORITIES

from . import database, dataset, server
from .browser import BenchFailure, Browser, Response
from .scenarios import Limits, Workload, scenario
from .scenarios_api import _json, make_token

WORKERS = 2
# What the calls send (make profile-api sends the same): a create's description and labels, a comment's Markdown.
DESCRIPTION = "Created by the benchmark through the JSON API."
LABELS = ["bug", "api"]
COMMENT_BODY = "Seen again on **staging**:\n\n- open the list\n- sort by priority\n\nSee [the log](https://example.com/1)."
TARGET_MEDIAN_MS, TARGET_P95_MS = 3.0, 5.0
EMPTY_POOL = 1_000  # issues made in the empty database for PATCH and comments, used round robin
_lock = threading.Lock()
_apps: dict[bool, _App] = {}


@dataclass
class _App:
    """A served app: its port, its database, a token, and which issues its saves may change."""

    port: int
    database_url: str
    token: str
    patch_ids: itertools.count | None = None  # empty database: round robin over the pool
    local: threading.local = field(default_factory=threading.local)

    def browser(self) -> Browser:
        """This thread's own connection to the app."""
        browser = getattr(self.local, "browser", None)
        if browser is None:
            browser = self.local.browser = Browser(server.HOST, self.port)
        return browser

    def cursor(self):
        """This thread's autocommit cursor on the app's database (untimed reads and clean-up)."""
        connection = getattr(self.local, "connection", None)
        if connection is None or connection.closed:
            connection = self.local.connection = database.psycopg2.connect(database.dsn(self.database_url))
            connection.autocommit = True
        return connection.cursor()


def _empty_database(url: str) -> str:
    """Make `<name>_empty` afresh: migrated, with the benchmark's users and labels and no issue; its URL."""
    name = f"{make_url(url).database}_empty"
    with database.connect(url, "postgres", autocommit=True) as connection, connection.cursor() as cursor:
        cursor.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        cursor.execute(f'CREATE DATABASE "{name}"')
    empty = make_url(url).set(database=name).render_as_string(hide_password=False)
    database.migrate(empty)
    end = dataset.load_end()
    with database.connect(empty) as connection, connection.cursor() as cursor:
        database.insert_users(cursor, end)
        database.insert_labels(cursor, end)
        for table in ("users", "labels"):
            cursor.execute(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT max(id) FROM {table}))")
        editors = dataset.editor_ids()
        cursor.executemany(
            "INSERT INTO issues (title, description, status, priority, assignee_id, reporter_id, version, created_at,"
            " updated_at) VALUES (%s, '', 'open', 'medium', %s, 1, 1, now(), now())",
            [(f"Pool issue {n}", editors[n % len(editors)]) for n in range(EMPTY_POOL)],
        )
        connection.commit()
    return empty


def _app(work: Workload, empty: bool) -> _App:
    """The 2-worker app on the benchmark's database or on the empty one (started once per run)."""
    with _lock:
        if empty not in _apps:
            url = _empty_database(work.database_url) if empty else work.database_url
            stack = contextlib.ExitStack()
            atexit.register(stack.close)
            served = stack.enter_context(server.serve(url, WORKERS))
            pool = itertools.cycle(range(1, EMPTY_POOL + 1)) if empty else None
            _apps[empty] = _App(served.port, url, make_token(url), pool)
        return _apps[empty]


def _issue_to_change(app: _App, work: Workload) -> int:
    """An issue no concurrent call of this run changes at the same moment."""
    if app.patch_ids is None:
        return work.fresh_issue()
    with _lock:
        return next(app.patch_ids)


def _create(empty: bool):
    def step(_browser: Browser, work: Workload, rng: random.Random) -> Response:
        app = _app(work, empty)
        payload = {
            "title": f"Bench API issue {rng.randrange(1 << 30)}",
            "description": DESCRIPTION,
            "priority": rng.choice(PRIORITIES),
            "assignee_id": rng.choice(work.assignees),
            "labels": LABELS,
        }
        response = app.browser().json("POST", "/api/issues", payload, app.token)
        if response.status == 201:
            issue_id = _json(response).get("id")
            if not issue_id:
                raise BenchFailure("POST /api/issues: 201 without an id")
            with app.cursor() as cursor:
                cursor.execute("DELETE FROM issues WHERE id = %s", (issue_id,))
        return response

    return step


def _patch(empty: bool):
    def step(_browser: Browser, work: Workload, rng: random.Random) -> Response:
        app = _app(work, empty)
        issue_id = _issue_to_change(app, work)
        with app.cursor() as cursor:
            cursor.execute("SELECT version, priority FROM issues WHERE id = %s", (issue_id,))
            version, priority = cursor.fetchone()
        payload = {"priority": PRIORITIES[(PRIORITIES.index(priority) + 1) % len(PRIORITIES)], "version": version}
        return app.browser().json("PATCH", f"/api/issues/{issue_id}", payload, app.token)

    return step


def _comment(empty: bool):
    def step(_browser: Browser, work: Workload, rng: random.Random) -> Response:
        app = _app(work, empty)
        issue_id = _issue_to_change(app, work) if empty else work.random_issue(rng)
        while not empty and issue_id == work.busy_issue:
            issue_id = work.random_issue(rng)
        response = app.browser().json("POST", f"/api/issues/{issue_id}/comments", {"body": COMMENT_BODY}, app.token)
        if response.status == 201:
            comment_id = _json(response).get("id")
            if not comment_id:
                raise BenchFailure("POST comments: 201 without an id")
            with app.cursor() as cursor:  # as in scenarios_api.api_comment: the event by its issue, then the comment
                cursor.execute(
                    "BEGIN; DELETE FROM issue_events WHERE issue_id = %(issue)s AND comment_id = %(comment)s;"
                    " SET LOCAL session_replication_role = replica; DELETE FROM comments WHERE id = %(comment)s;"
                    " COMMIT",
                    {"issue": issue_id, "comment": comment_id},
                )
        return response

    return step


for _empty, _where in ((False, "1M issues"), (True, "an empty database")):
    _suffix = "_2w_empty" if _empty else "_2w"
    _served = f"; 2 gthread workers on {_where}"
    scenario(
        "api_create" + _suffix,
        "POST /api/issues (2 workers)",
        expect=(201,),
        target_median_ms=TARGET_MEDIAN_MS,
        target_p95_ms=TARGET_P95_MS,
        note="as api_create" + _served + "; throughput from 8 clients (target >= 420 req/s)",
        limits=Limits(concurrency=8),
    )(_create(_empty))
    scenario(
        "api_patch" + _suffix,
        "PATCH /api/issues/<id> {priority, version} (2 workers)",
        target_median_ms=TARGET_MEDIAN_MS,
        target_p95_ms=TARGET_P95_MS,
        note="as api_patch" + _served,
    )(_patch(_empty))
    scenario(
        "api_comment" + _suffix,
        "POST /api/issues/<id>/comments (2 workers)",
        expect=(201,),
        target_median_ms=TARGET_MEDIAN_MS,
        target_p95_ms=TARGET_P95_MS,
        note="as api_comment" + _served,
    )(_comment(_empty))
