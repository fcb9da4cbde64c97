"""The JSON API (issue 7): create, get, patch and comment, and bulk status of 1,000 issues, with a bearer token.

The token is made by the app's own command (`flask --app wsgi token create EMAIL NAME`) for the benchmark's
admin; earlier runs' benchmark tokens are deleted first. Requests carry only the token (no session cookie).
What the API creates is deleted again right after each timed request (untimed), so the data set keeps its
shape: created issues (their events and labels go with them) and posted comments (with their timeline events).
"""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
from pathlib import Path

from tracker.models import PRIORITIES

from . import database, dataset
from .browser import BenchFailure, Browser, Response
from .scenarios import Limits, Workload, _bulk_target, bulk_statements, scenario
from .server import ROOT

TOKEN_NAME = "bench"
API_TARGET_P95_MS = 30.0


def api_token(work: Workload) -> str:
    """The run's token for the admin (made once per run)."""
    with work._lock:
        token = getattr(work, "api_token", "")
        if not token:
            token = work.api_token = make_token(work.database_url)
        return token


def make_token(database_url: str, name: str = TOKEN_NAME) -> str:
    """A new token for the benchmark's admin in this database, made by the app's own command (`flask --app wsgi
    token create EMAIL NAME`); earlier benchmark tokens of that name there are deleted first."""
    with database.connect(database_url, autocommit=True) as connection, connection.cursor() as cursor:
        cursor.execute("DELETE FROM api_tokens WHERE name = %s", (name,))
    result = subprocess.run(
        [str(Path(sys.executable).parent / "flask"), "--app", "wsgi"]
        + ["token", "create", dataset.ADMIN_EMAIL, name],
        cwd=ROOT,
        env={**os.environ, "DATABASE_URL": database_url, "SECRET_KEY": "bench-token"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    lines = result.stdout.strip().splitlines()
    if result.returncode != 0 or not lines:
        raise BenchFailure(f"flask token create failed ({result.returncode}): {result.stderr.strip()[-300:]}")
    return lines[-1].strip()


def _json(response: Response) -> dict:
    """The response's JSON body ({} if it is not JSON)."""
    try:
        return json.loads(response.text)
    except ValueError:
        return {}


def _delete_issue(work: Workload, issue_id: int) -> None:
    """Remove an issue the benchmark created (its events, labels and comments cascade)."""
    with work.cursor() as cursor:
        cursor.execute("DELETE FROM issues WHERE id = %s", (issue_id,))


_WRITE = "; what it creates is deleted right after each request (untimed), which the throughput includes"


@scenario(
    "api_create",
    "POST /api/issues (JSON, bearer token)",
    expect=(201,),
    target_median_ms=None,
    target_p95_ms=API_TARGET_P95_MS,
    note="create an issue with a title, description, priority, assignee and two labels" + _WRITE,
)
def api_create(browser: Browser, work: Workload, rng: random.Random) -> Response:
    """A new issue through the API."""
    payload = {
        "title": f"Bench API issue {rng.randrange(1 << 30)}",
        "description": "Created by the benchmark through the JSON API.",
        "priority": rng.choice(PRIORITIES),
        "assignee_id": rng.choice(work.assignees),
        "labels": ["bug", "api"],
    }
    response = browser.json("POST", "/api/issues", payload, api_token(work))
    if response.status == 201:
        issue_id = _json(response).get("id")
        if not issue_id:
            raise BenchFailure("POST /api/issues: 201 without an id")
        _delete_issue(work, issue_id)
    return response


@scenario(
    "api_get",
    "GET /api/issues/<id>",
    target_median_ms=None,
    target_p95_ms=API_TARGET_P95_MS,
    note="one random issue as JSON",
)
def api_get(browser: Browser, work: Workload, rng: random.Random) -> Response:
    """One issue through the API."""
    return browser.json("GET", f"/api/issues/{work.random_issue(rng)}", token=api_token(work))


@scenario(
    "api_patch",
    "PATCH /api/issues/<id> {priority, version}",
    target_median_ms=None,
    target_p95_ms=API_TARGET_P95_MS,
    note="change the priority of an issue no other save of the run touches, with the version read from the"
    " database first (untimed)",
)
def api_patch(browser: Browser, work: Workload, rng: random.Random) -> Response:
    """A guarded change of one field."""
    issue_id = work.fresh_issue()
    with work.cursor() as cursor:
        cursor.execute("SELECT version, priority FROM issues WHERE id = %s", (issue_id,))
        version, priority = cursor.fetchone()
    payload = {"priority": PRIORITIES[(PRIORITIES.index(priority) + 1) % len(PRIORITIES)], "version": version}
    return browser.json("PATCH", f"/api/issues/{issue_id}", payload, api_token(work))


@scenario(
    "api_comment",
    "POST /api/issues/<id>/comments {body}",
    expect=(201,),
    target_median_ms=None,
    target_p95_ms=API_TARGET_P95_MS,
    note="a Markdown comment (a paragraph, a list, a link) on a random issue" + _WRITE,
)
def api_comment(browser: Browser, work: Workload, rng: random.Random) -> Response:
    """A comment through the API."""
    issue_id = work.random_issue(rng)
    while issue_id == work.busy_issue:
        issue_id = work.random_issue(rng)
    body = "Seen again on **staging**:\n\n- open the list\n- sort by priority\n\nSee [the log](https://example.com/log/1)."
    response = browser.json("POST", f"/api/issues/{issue_id}/comments", {"body": body}, api_token(work))
    if response.status == 201:
        comment_id = _json(response).get("id")
        if not comment_id:
            raise BenchFailure("POST comments: 201 without an id")
        with work.cursor() as cursor:
            # issue_events.comment_id has no index, so the foreign key's cascade would scan every event for each
            # deleted comment: delete the comment's event by its issue first, then the comment without the check.
            cursor.execute(
                "BEGIN; DELETE FROM issue_events WHERE issue_id = %(issue)s AND comment_id = %(comment)s;"
                " SET LOCAL session_replication_role = replica; DELETE FROM comments WHERE id = %(comment)s; COMMIT",
                {"issue": issue_id, "comment": comment_id},
            )
    return response


def _api_bulk_step(size: int):
    """POST /api/issues/bulk-status with the chunk's ids, versions (read first, untimed) and a status."""

    def step(browser: Browser, work: Workload, rng: random.Random) -> Response:
        with work.bulk_pools[size].chunk() as ids:
            current = work.versions(ids)
            payload = {
                "issue_ids": ids,
                "status": _bulk_target(current),
                "versions": {str(i): v for i, (v, _) in current.items()},
                "note": "bench: API bulk status change",
            }
            response = browser.json("POST", "/api/issues/bulk-status", payload, api_token(work))
            if response.status == 200 and _json(response).get("updated") != len(ids):
                raise BenchFailure(f"bulk-status: {_json(response).get('updated')} of {len(ids)} updated")
            return response

    return step


scenario(
    "api_bulk_status_1000",
    "POST /api/issues/bulk-status (1,000 issue_ids, versions, status)",
    target_median_ms=100.0,
    target_p95_ms=None,
    note="1,000 issues open <-> in_progress through the API, all or nothing, drawn from the same pool as"
    " bulk_status_1000 with versions read first (untimed); target as for bulk_status_1000, on the median",
    limits=Limits(warmup=2, requests=30, concurrency=2, concurrent_requests=10),
    probe=bulk_statements(1_000),
)(_api_bulk_step(1_000))
