"""Undo and redo of a 100,000-issue import (issue 22), through the gunicorn server on the benchmark database.

- undo_import_100k: POST /imports/<id>/undo: the import's 100,000 issues move to the trash in one transaction (one
  UPDATE by the import's id ranges and one INSERT ... SELECT of their timeline entries).
- restore_import_100k: POST /imports/<id>/redo: the same issues come back from the trash.

Each timed request works on an import of its own, made untimed just before (the one-request import of the same
100,000-row CSV as import_100k); the issues, their timeline entries and the run are deleted right after, untimed,
and the tables vacuumed after the scenario, so later scenarios and runs see the same data set.
"""

from __future__ import annotations

import random
import re

from .browser import BenchFailure, Browser, Response
from .scenarios import Limits, Workload, scenario
from .scenarios_imports import _delete_import, _location, _patient, _record, _summary, import_csv

ROWS = 100_000
TARGET_MS = 5_000.0


def _import(browser: Browser) -> int:
    """Import the 100,000-row file in one request (untimed); the run's id."""
    fields = [("csrf_token", browser.csrf_token), ("policy", "all_or_nothing")]
    done = browser.post_multipart("/import", fields, [("file", f"undo-{ROWS}.csv", import_csv(ROWS))]).expect(303)
    match = re.fullmatch(r"/imports/(\d+)", _location(done))
    if not match:
        raise BenchFailure("the import did not redirect to its result")
    return int(match.group(1))


def _trashed(work: Workload, run_id: int) -> int:
    """How many of the run's issues are in the trash now."""
    with work.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM issues i JOIN import_issue_ranges r ON i.id BETWEEN r.first_id AND r.last_id "
            "WHERE r.run_id = %s AND i.deleted_at IS NOT NULL",
            (run_id,),
        )
        return cursor.fetchone()[0]


def _step(name: str, redo: bool):
    """Import (untimed), then time the undo, or undo (untimed) and time the redo; check the trash; clean up."""

    def step(browser: Browser, work: Workload, rng: random.Random) -> Response:
        _patient(browser)
        run_id = _import(browser)
        form = [("csrf_token", browser.csrf_token)]
        undone = browser.post(f"/imports/{run_id}/undo", form).expect(303)
        timed = undone
        if redo:
            timed = browser.post(f"/imports/{run_id}/redo", form).expect(303)
        in_trash = _trashed(work, run_id)
        if in_trash != (0 if redo else ROWS):
            raise BenchFailure(f"{name}: {in_trash:,} of the import's {ROWS:,} issues are in the trash afterwards")
        _delete_import(work, run_id, ROWS)
        _record(work, name, seconds=timed.elapsed)
        return timed

    return step


_NOTE = (
    "; each run imports the 100,000-row CSV of import_100k first (untimed) and deletes its issues and run after"
    " (untimed); the tables are vacuumed after the scenario"
)

scenario(
    "undo_import_100k",
    "POST /imports/<id>/undo, an import of 100,000 issues",
    expect=(303,),
    target_median_ms=TARGET_MS,
    target_p95_ms=None,
    note="the import's 100,000 issues move to the trash in one transaction" + _NOTE,
    limits=Limits(warmup=0, requests=3, concurrency=0, concurrent_requests=0),
    probe=_summary("undo_import_100k", ROWS),
)(_step("undo_import_100k", redo=False))

scenario(
    "restore_import_100k",
    "POST /imports/<id>/redo, an undone import of 100,000 issues",
    expect=(303,),
    target_median_ms=TARGET_MS,
    target_p95_ms=None,
    note="the undone import's 100,000 issues come back from the trash in one transaction" + _NOTE,
    limits=Limits(warmup=0, requests=3, concurrency=0, concurrent_requests=0),
    probe=_summary("restore_import_100k", ROWS),
)(_step("restore_import_100k", redo=True))
