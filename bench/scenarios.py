"""The measured scenarios: a registry of named steps, each returning the one response that is timed.

To add a benchmark row (reports, imports, the API...), write a step and decorate it:

    @scenario("report_overview", "GET /reports", note="...")
    def report_overview(browser: Browser, work: Workload, rng: random.Random) -> Response:
        return browser.get("/reports")

Options: `expect` (accepted statuses), `target_median_ms` / `target_p95_ms` (None: no target),
`limits` (fewer requests for heavy steps), `probe` (facts measured once, untimed, shown in the report).
The step may do untimed preparation (read the database through `work`, load a form); only the response it
returns is timed. Steps run from several threads at once in the throughput phase, so anything they change
must come from a pool that hands each thread its own issues (see Workload.fresh_issue and ChunkPool).
"""

from __future__ import annotations

import random
import re
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from urllib.parse import urlencode, urlsplit

from tracker.models import PRIORITIES

from . import database, dataset
from .browser import BenchFailure, Browser, Response

# Enough never-edited issues for every save of a run (warm-up, serial and concurrent phases).
EDIT_POOL = 20_000
# Bulk scenarios: issues per request -> share of the bulk pool (the pool's first ids go to the first size).
BULK_SIZES = {1_000: 0.2, 10_000: 0.8}


class ChunkPool:
    """Disjoint chunks of issue ids handed out round-robin; a chunk in use is never handed to another thread."""

    def __init__(self, ids: list[int], size: int):
        """Cut `ids` into chunks of `size` (one smaller chunk of all ids when there are fewer)."""
        self.size = min(size, len(ids))
        self.chunks = [ids[i : i + self.size] for i in range(0, len(ids) - self.size + 1, self.size)] if ids else []
        self._busy: set[int] = set()
        self._next = 0
        self._free = threading.Condition()

    @contextmanager
    def chunk(self) -> Iterator[list[int]]:
        """Borrow the next free chunk for the length of the block (waits while every chunk is in use)."""
        if not self.chunks:
            raise BenchFailure("the bulk pool is empty; load more issues")
        with self._free:
            while len(self._busy) == len(self.chunks):
                self._free.wait()
            while self._next in self._busy:
                self._next = (self._next + 1) % len(self.chunks)
            index, self._next = self._next, (self._next + 1) % len(self.chunks)
            self._busy.add(index)
        try:
            yield self.chunks[index]
        finally:
            with self._free:
                self._busy.discard(index)
                self._free.notify()


class Workload:
    """What the steps draw from: the data set's shape, issues set aside for saves and bulk changes, the database."""

    def __init__(self, issues: int, seed: int, database_url: str):
        """Describe a data set of `issues` issues in `database_url`; `seed` fixes which issues the saves edit."""
        self.issues = issues
        self.database_url = database_url
        self.assignees = dataset.editor_ids()
        self.search_words = dataset.SEARCH_WORDS
        self.busy_issue = dataset.busy_issue(issues)
        pool = dataset.bulk_pool(issues)
        self.bulk_pools: dict[int, ChunkPool] = {}
        first = 0
        for size, share in BULK_SIZES.items():
            last = first + int(len(pool) * share)
            self.bulk_pools[size] = ChunkPool(pool[first:last], size)
            first = last
        reserved = {self.busy_issue, *pool}
        candidates = [i for i in range(1, issues + 1) if i not in reserved]
        self._fresh = iter(random.Random(seed).sample(candidates, min(len(candidates), EDIT_POOL)))
        self._lock = threading.Lock()
        self._local = threading.local()
        self._app = None
        self.server_pid = 0  # the gunicorn master, once serving (its workers' memory is read by import scenarios)
        self.port = 0  # the server's port, once serving (for steps that open browsers of their own)
        self.notes: dict[str, list[dict]] = {}  # facts steps keep for their probes, by scenario

    def random_issue(self, rng: random.Random) -> int:
        """Any issue id."""
        return rng.randint(1, self.issues)

    def fresh_issue(self) -> int:
        """An issue no other save of this run edits, so concurrent saves never conflict."""
        with self._lock:
            issue_id = next(self._fresh, None)
        if issue_id is None:
            raise BenchFailure(f"all {EDIT_POOL:,} issues set aside for saves are used; run fewer saves")
        return issue_id

    def cursor(self):
        """A cursor on this thread's own autocommit connection to the benchmark database (for untimed reads)."""
        connection = getattr(self._local, "connection", None)
        if connection is None or connection.closed:
            connection = database.psycopg2.connect(database.dsn(self.database_url))
            connection.autocommit = True
            self._local.connection = connection
        return connection.cursor()

    def versions(self, ids: list[int]) -> dict[int, tuple[int, str]]:
        """The current (version, status) of these issues, read from the database."""
        with self.cursor() as cursor:
            cursor.execute("SELECT id, version, status FROM issues WHERE id = ANY(%s)", (ids,))
            return {issue_id: (version, status) for issue_id, version, status in cursor.fetchall()}

    def app(self):
        """The Flask app on the benchmark database, in this process (for probes such as statement counts)."""
        with self._lock:
            if self._app is None:
                from tracker import create_app

                self._app = create_app(
                    overrides={"SQLALCHEMY_DATABASE_URI": self.database_url, "SECRET_KEY": "bench-probe"}
                )
            return self._app


Step = Callable[[Browser, Workload, random.Random], Response]
Probe = Callable[[Workload], dict]


@dataclass(frozen=True)
class Limits:
    """Caps on a heavy scenario's request counts (None: the run's setting)."""

    warmup: int | None = None
    requests: int | None = None
    concurrency: int | None = None
    concurrent_requests: int | None = None


@dataclass(frozen=True)
class Scenario:
    """A named step with the statuses it must answer and the latency targets it is held to."""

    name: str
    request: str
    step: Step
    expect: tuple[int, ...] = (200,)
    target_median_ms: float | None = 15.0
    target_p95_ms: float | None = 50.0
    note: str = ""
    limits: Limits = Limits()
    probe: Probe | None = None  # run once after the timed phases; its facts go into the report's details
    slow: bool = False  # left out of a default run: only with --include-slow or named in --only


SCENARIOS: dict[str, Scenario] = {}


def scenario(name: str, request: str, **options) -> Callable[[Step], Step]:
    """Register a step under `name`; `request` shows what it sends, options override Scenario's defaults."""

    def register(step: Step) -> Step:
        """Add the step to SCENARIOS and return it unchanged."""
        if name in SCENARIOS:
            raise ValueError(f"scenario {name} is registered twice")
        SCENARIOS[name] = Scenario(name, request, step, **options)
        return step

    return register


@scenario("list_first_page", "GET /issues")
def list_first_page(browser: Browser, work: Workload, rng: random.Random) -> Response:
    """The issue list as it opens: newest updates first."""
    return browser.get("/issues")


@scenario("list_filtered", "GET /issues?status=open&assignee=<id>&sort=-updated")
def list_filtered(browser: Browser, work: Workload, rng: random.Random) -> Response:
    """One person's open issues, most recently updated first."""
    query = urlencode({"status": "open", "assignee": rng.choice(work.assignees), "sort": "-updated"})
    return browser.get(f"/issues?{query}")


@scenario("list_page_100", "GET /issues?page=100")
def list_page_100(browser: Browser, work: Workload, rng: random.Random) -> Response:
    """Deep paging: issues 4,951-5,000 of the default order."""
    return browser.get("/issues?page=100")


@scenario("search", "GET /issues?q=<word>")
def search(browser: Browser, work: Workload, rng: random.Random) -> Response:
    """Full-text search for a word found in roughly 0.1%-1% of issues."""
    return browser.get(f"/issues?{urlencode({'q': rng.choice(work.search_words)})}")


def _query_step(query: str) -> Step:
    """GET the list for a query of the search language (issue 20), as the bench's user (the admin, who is
    assigned the most issues: @me is the heaviest person)."""

    def step(browser: Browser, work: Workload, rng: random.Random) -> Response:
        return browser.get(f"/issues?{urlencode({'q': query})}")

    return step


# The common queries of issue 20, each with the targets of a list page.
QUERIES = (
    ("query_my_open", "is:open assignee:@me"),
    ("query_open_bugs", "is:open label:bug sort:updated-desc"),
    ("query_unassigned_high", "no:assignee priority:>=high"),
)
for _name, _query in QUERIES:
    scenario(_name, f"GET /issues?q={_query}")(_query_step(_query))


@scenario("issue_page", "GET /issues/<id>")
def issue_page(browser: Browser, work: Workload, rng: random.Random) -> Response:
    """A random issue with its history."""
    return browser.get(f"/issues/{work.random_issue(rng)}")


@scenario(
    "edit_save",
    "POST /issues/<id>/edit",
    expect=(303,),
    note="only the POST is timed; each save also loads the edit form and follows the redirect, "
    "so its throughput is saves per second of that whole round trip",
)
def edit_save(browser: Browser, work: Workload, rng: random.Random) -> Response:
    """Save the edit form of an untouched issue with the next priority, status unchanged."""
    path = f"/issues/{work.fresh_issue()}/edit"
    form = browser.form(path, path)
    priority = form.values()["priority"]
    form.set("priority", PRIORITIES[(PRIORITIES.index(priority) + 1) % len(PRIORITIES)])
    response = browser.post(path, form.fields)
    if response.status == 303:  # a browser follows the redirect, which also shows (and clears) the flash
        browser.get(urlsplit(response.headers["Location"]).path).expect(200)
    return response


@scenario(
    "issue_page_busy",
    "GET /issues/<busy id>",
    note=f"the one issue with {dataset.BUSY_COMMENTS} comments and {dataset.BUSY_CHANGES} field and label changes"
    " (the page shows the newest 100 timeline entries)",
)
def issue_page_busy(browser: Browser, work: Workload, rng: random.Random) -> Response:
    """The issue with the longest timeline."""
    return browser.get(f"/issues/{work.busy_issue}")


def _label_step(label: str) -> Step:
    """GET the list filtered by one label, in the default order (newest updates first)."""

    def step(browser: Browser, work: Workload, rng: random.Random) -> Response:
        return browser.get(f"/issues?{urlencode({'label': label})}")

    return step


for _name, _label in (("list_label", dataset.LABEL_FILTERS[0]), ("list_label_rare", dataset.LABEL_FILTERS[-1])):
    scenario(_name, f"GET /issues?label={_label}")(_label_step(_label))


def bulk_statements(size: int) -> Probe:
    """Count the SQL statements of one bulk status change of `size` issues.

    Runs the app's own apply_bulk in this process on the benchmark database, counting statements with a
    SQLAlchemy before_cursor_execute listener on the bench's engine: the served app stays untouched (no
    counting hook in tracker/), and pg_stat_statements is not preloaded on this server. The count covers
    apply_bulk (read, guarded UPDATE, events INSERT, COMMIT is not a statement); the request around it also
    renders the list page (its own statements, the same as list_first_page).
    """

    def probe(work: Workload) -> dict:
        import sqlalchemy as sa

        from tracker.bulk.service import BulkChange, apply_bulk
        from tracker.extensions import db
        from tracker.models import User

        pool = work.bulk_pools[size]
        with work.app().app_context(), pool.chunk() as ids:
            current = work.versions(ids)
            target = _bulk_target(current)
            actor = db.session.get(User, 1)
            statements: list[str] = []

            def count(conn, cursor, statement, parameters, context, executemany):
                statements.append(statement.split(None, 1)[0].upper())

            sa.event.listen(db.engine, "before_cursor_execute", count)
            started = time.perf_counter()
            try:
                result = apply_bulk(
                    db.session,
                    actor,
                    ids,
                    {i: v for i, (v, _) in current.items()},
                    BulkChange(status=target, note="bench: statement count"),
                )
            finally:
                elapsed = time.perf_counter() - started
                sa.event.remove(db.engine, "before_cursor_execute", count)
                db.session.remove()
            return {
                "issues_per_request": len(ids),
                "changed": len(result.changed_ids),
                "sql_statements": len(statements),
                "apply_bulk_ms_in_process": round(elapsed * 1000, 1),
                "sql_statement_kinds": statements,
            }

    return probe


def _bulk_target(current: dict[int, tuple[int, str]]) -> str:
    """Toggle: in_progress when most of the chunk is open, else open (both are valid from either)."""
    opened = sum(1 for _, status in current.values() if status == "open")
    return "in_progress" if 2 * opened >= len(current) else "open"


def _bulk_step(size: int) -> Step:
    """POST /issues/bulk as htmx sends it from the list: the ticked ids, each with its version, a status and a note."""

    def step(browser: Browser, work: Workload, rng: random.Random) -> Response:
        with work.bulk_pools[size].chunk() as ids:
            current = work.versions(ids)  # untimed: the versions the rows were shown with
            target = _bulk_target(current)
            form = [("csrf_token", browser.csrf_token), ("filter", ""), ("page", "1")]
            form += [("page_ids", str(i)) for i in ids[:50]]  # the rows on the page the user sees
            form += [("issue_ids", str(i)) for i in ids]
            form += [(f"version_{i}", str(current[i][0])) for i in ids if i in current]
            form += [("status", target), ("note", "bench: bulk status change")]
            response = browser.post("/issues/bulk", form, headers={"HX-Request": "true", "HX-Target": "bulk-form"})
            if response.status == 200 and "bulk-ok" not in response.text:
                raise BenchFailure(f"POST /issues/bulk: 200 without a success report ({len(ids)} issues)")
            if response.status != 200:
                shown = re.search(r"<strong>(.*?)</strong>", response.text, re.S)
                raise BenchFailure(
                    f"POST /issues/bulk ({len(ids):,} issues): {response.status}"
                    + (f", '{' '.join(shown.group(1).split())[:200]}'" if shown else "")
                )
            return response

    return step


for _size, _median in ((1_000, 100.0), (10_000, 1_000.0)):
    scenario(
        f"bulk_status_{_size}",
        f"POST /issues/bulk ({_size:,} issue_ids + version_<id>, status)",
        target_median_ms=_median,
        target_p95_ms=None,
        note=f"htmx bulk status change of {_size:,} issues (open <-> in_progress) drawn from issues only bulk changes"
        " touch; each request's versions are read from the database first (untimed); the target is on the median",
        limits=Limits(
            warmup=2,
            requests=30 if _size <= 1_000 else 10,
            concurrency=2,
            concurrent_requests=10 if _size <= 1_000 else 4,
        ),
        probe=bulk_statements(_size),
    )(_bulk_step(_size))


# More rows, registered after the ones above (the report lists scenarios in registration order): reports,
# the JSON API, then CSV imports and export (last: they write and delete many rows, then vacuum).
from . import (  # noqa: E402,F401
    scenarios_api,
    scenarios_api_speed,
    scenarios_attachments,
    scenarios_imports,
    scenarios_load,
    scenarios_nodes,
    scenarios_notifications,
    scenarios_reports,
    scenarios_undo,
)
