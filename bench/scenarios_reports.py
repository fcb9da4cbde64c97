"""Reports (issue 6): the dashboard over HTTP, and each report query timed in this process.

The data set resolves about 100,000 issues in the reports' default period, the last 30 days (see
dataset.RECENT_DAYS); the dashboard's probe counts how many the period really holds on the day of the run.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable

from werkzeug.datastructures import MultiDict

from .browser import BenchFailure, Browser, Response
from .scenarios import Limits, Step, Workload, scenario

PERIOD_DAYS = 30
QUERY_RUNS = 30  # timed calls of each report query (one at a time); the target is on their median


def _resolved_in_period(work: Workload) -> dict:
    """How many issues the default period holds: resolved in it, created in it, open now."""
    with work.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FILTER (WHERE resolved_at >= current_date - %s AND resolved_at < current_date + 1),"
            " count(*) FILTER (WHERE created_at >= current_date - %s AND created_at < current_date + 1),"
            " count(*) FILTER (WHERE status IN ('open', 'in_progress')) FROM issues",
            (PERIOD_DAYS - 1, PERIOD_DAYS - 1),
        )
        resolved, created, opened = cursor.fetchone()
    return {"resolved_in_period": resolved, "created_in_period": created, "open_issues": opened}


@scenario(
    "reports_dashboard",
    f"GET /reports?period={PERIOD_DAYS}",
    target_median_ms=None,
    target_p95_ms=300.0,
    note="the reports dashboard for the last 30 days (every section: top assignees, resolution times, flow per day,"
    " open issues by status, priority and age, oldest open); details count the period's issues",
    limits=Limits(warmup=5, requests=100, concurrent_requests=100),
    probe=_resolved_in_period,
)
def reports_dashboard(browser: Browser, work: Workload, rng: random.Random) -> Response:
    """The whole dashboard page."""
    return browser.get(f"/reports?period={PERIOD_DAYS}")


def _query_step(name: str) -> Step:
    """Time one call of a report query function in this process, on the benchmark database (its SQL and rows)."""

    def step(browser: Browser, work: Workload, rng: random.Random) -> Response:
        from tracker.extensions import db
        from tracker.models import utcnow
        from tracker.reports import queries

        calls: dict[str, Callable] = {
            "top_assignees": lambda session, scope, now: queries.top_assignees(session, scope),
            "resolution_times": lambda session, scope, now: queries.resolution_times(session, scope),
            "flow": lambda session, scope, now: queries.flow(session, scope),
            "open_issues": lambda session, scope, now: queries.open_issues(session, scope, now.date()),
            "oldest_open": lambda session, scope, now: queries.oldest_open(session, scope),
        }
        with work.app().app_context():
            try:
                now = utcnow()
                params, errors = queries.parse_params(MultiDict({"period": str(PERIOD_DAYS)}), now.date())
                scope, unknown = queries.resolve_scope(params, [], [])
                if errors or unknown:
                    raise BenchFailure(f"report parameters: {errors or unknown}")
                db.session.execute(queries.sa.text("SELECT 1"))  # the connection is checked out before timing
                started = time.perf_counter()
                calls[name](db.session, scope, now)
                elapsed = time.perf_counter() - started
            except BenchFailure:
                raise
            except Exception as exc:  # a database error is a failed call, not the end of the run
                raise BenchFailure(f"{name}: {type(exc).__name__}: {str(exc).splitlines()[0][:200]}") from exc
            finally:
                db.session.remove()
        return Response("CALL", f"reports.queries.{name}", 200, {}, "", elapsed)

    return step


for _name in ("top_assignees", "resolution_times", "flow", "open_issues", "oldest_open"):
    scenario(
        f"report_query_{_name}",
        f"queries.{_name}(period={PERIOD_DAYS}) in process",
        target_median_ms=100.0,
        target_p95_ms=None,
        note=f"tracker.reports.queries.{_name} called in the benchmark's process on the benchmark database"
        " (the SQL statement and turning its rows into the report's dataclasses; no HTTP, no template),"
        " one call at a time; the target is on the median",
        limits=Limits(warmup=3, requests=QUERY_RUNS, concurrency=0, concurrent_requests=0),
    )(_query_step(_name))
