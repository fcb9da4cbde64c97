"""Notifications (issue 18): the inbox and the header's unread count with 100,000 notifications for one person, and
a bulk change of issues that each have watchers.

The rows are added once, the first time one of these scenarios runs (untimed; kept with the data set): the bench
admin, who the client signs in as, gets NOTIFICATIONS notifications spread over the issues (a third unread), and
every issue of the bulk pool gets WATCHERS watchers, so the bulk rows' changes fan out to them.
"""

from __future__ import annotations

import random
import statistics
import threading
import time

from .browser import BenchFailure, Browser, Response
from .scenarios import Limits, Workload, _bulk_step, bulk_statements, scenario

NOTIFICATIONS = 100_000
WATCHERS = 3
COUNT_RUNS = 200
_ready = threading.Lock()
_done: set[str] = set()


def _prepare(work: Workload) -> None:
    """Add the inbox's notifications and the bulk pool's watchers, once per data set."""
    with _ready:
        if work.database_url in _done:
            return
        with work.cursor() as cursor:
            cursor.execute("SELECT count(*) FROM notifications WHERE user_id = 1")
            have = cursor.fetchone()[0]
            if have < NOTIFICATIONS:
                cursor.execute(
                    "INSERT INTO notifications (user_id, issue_id, reason, actor_id, summary, count, created_at,"
                    " read_at) SELECT 1, 1 + (g * 7919) %% %s, (ARRAY['commented', 'status', 'assigned',"
                    " 'mentioned'])[1 + g %% 4], 2, 'commented', 1, now() - g * interval '1 minute',"
                    " CASE WHEN g %% 3 = 0 THEN NULL ELSE now() END FROM generate_series(1, %s) AS g",
                    (work.issues, NOTIFICATIONS - have),
                )
            for pool in work.bulk_pools.values():
                ids: list[int] = []
                for chunk in pool.chunks:
                    ids.extend(chunk)
                cursor.execute(
                    "INSERT INTO watchers (issue_id, user_id, created_at) SELECT i, u, now()"
                    " FROM unnest(%s::int[]) AS i, generate_series(2, %s) AS u ON CONFLICT DO NOTHING",
                    (sorted(set(ids)), WATCHERS + 1),
                )
            cursor.execute("ANALYZE notifications")
            cursor.execute("ANALYZE watchers")
        _done.add(work.database_url)


def _unread_count_probe(work: Workload) -> dict:
    """Time the header's unread count (the query every page adds) in this process, COUNT_RUNS times."""
    from tracker.extensions import db
    from tracker.notifications.service import unread_count

    timings = []
    with work.app().app_context():
        for _ in range(COUNT_RUNS):
            started = time.perf_counter()
            count = unread_count(db.session, 1)
            timings.append((time.perf_counter() - started) * 1000)
        db.session.remove()
    timings.sort()
    return {
        "unread_shown": count,
        "count_query_median_ms": round(statistics.median(timings), 3),
        "count_query_p95_ms": round(timings[int(len(timings) * 0.95) - 1], 3),
    }


@scenario(
    "inbox",
    "GET /inbox?state=all",
    note=f"the inbox's first page (50 newest of {NOTIFICATIONS:,} notifications, grouped by issue, with the header)",
    limits=Limits(warmup=5),
)
def inbox(browser: Browser, work: Workload, rng: random.Random) -> Response:
    """The whole inbox page, every state."""
    _prepare(work)
    response = browser.get("/inbox?state=all")
    if response.status == 200 and "data-inbox-group" not in response.text:
        raise BenchFailure("GET /inbox: no notification shown")
    return response


@scenario(
    "inbox_unread_count",
    "GET /inbox/count",
    target_median_ms=None,
    target_p95_ms=50.0,
    note=f"the header's unread count as htmx refreshes it ({NOTIFICATIONS // 3:,} unread; shown as 99+); details"
    " time the count query alone in this process (what it adds to every page)",
    limits=Limits(warmup=5),
    probe=_unread_count_probe,
)
def inbox_count(browser: Browser, work: Workload, rng: random.Random) -> Response:
    """The header's inbox link with its count."""
    _prepare(work)
    return browser.get("/inbox/count")


def _watched_bulk(size: int):
    step = _bulk_step(size)

    def watched(browser: Browser, work: Workload, rng: random.Random) -> Response:
        _prepare(work)
        return step(browser, work, rng)

    return watched


scenario(
    "bulk_watched_1000",
    f"POST /issues/bulk (1,000 issues with {WATCHERS} watchers each, status)",
    target_median_ms=100.0,
    target_p95_ms=None,
    note=f"as bulk_status_1000, each issue watched by {WATCHERS} people: {WATCHERS * 1000:,} notifications in one"
    " INSERT ... SELECT, in the change's transaction",
    limits=Limits(warmup=2, requests=30, concurrency=2, concurrent_requests=10),
    probe=bulk_statements(1_000),
)(_watched_bulk(1_000))
scenario(
    "bulk_watched_10000",
    f"POST /issues/bulk (10,000 issues with {WATCHERS} watchers each, status)",
    target_median_ms=1_000.0,
    target_p95_ms=None,
    note=f"as bulk_status_10000, each issue watched by {WATCHERS} people ({WATCHERS * 10_000:,} notifications)",
    limits=Limits(warmup=2, requests=10, concurrency=2, concurrent_requests=4),
    probe=bulk_statements(10_000),
)(_watched_bulk(10_000))
