"""Checks of the benchmark's own machinery (no database, nothing timed); part of `make test` (testpaths)."""

from __future__ import annotations

import json
import threading

from bench import dataset, report
from bench.scenarios import SCENARIOS, ChunkPool

ISSUE_COLUMNS, EVENT_COLUMNS, COMMENT_COLUMNS = 11, 9, 8  # comments lost body_html in migration 0013


def _rows(count: int) -> dict[int, dataset.IssueRows]:
    return {index: rows for index, rows in enumerate(dataset.issue_rows(count, seed=1), start=1)}


def test_copy_lines_have_every_column_and_escape_text():
    rows = _rows(2_000)
    busy = dataset.busy_issue(2_000)
    for issue_id, each in rows.items():
        assert each.issue.endswith("\n") and each.issue.count("\t") == ISSUE_COLUMNS - 1
        for line in each.events.splitlines():
            assert line.count("\t") == EVENT_COLUMNS - 1
        for line in each.labels.splitlines():
            assert line.split("\t")[0] == str(issue_id)
        if issue_id != busy:
            assert each.comments == "" and each.events.count("\n") == 1
    comments = rows[busy].comments.splitlines()
    assert len(comments) == dataset.BUSY_COMMENTS
    assert all(line.count("\t") == COMMENT_COLUMNS - 1 for line in comments)
    assert dataset.copy_text("a\\b\tc\nd\re") == "a\\\\b\\tc\\nd\\re"


def test_busy_issue_timeline_matches_its_row():
    count = 2_000
    busy = dataset.busy_issue(count)
    rows = _rows(count)[busy]
    fields = rows.issue.rstrip("\n").split("\t")
    status, priority, assignee, version = fields[3], fields[4], fields[5], int(fields[7])
    events = [line.split("\t") for line in rows.events.splitlines()]
    updates = [e for e in events if e[3] == "updated"]
    assert len(updates) == dataset.BUSY_CHANGES and version == 1 + dataset.BUSY_CHANGES
    assert [int(e[5]) for e in updates] == list(range(2, version + 1))
    assert sum(1 for e in events if e[3] == "comment") == dataset.BUSY_COMMENTS
    last = {}
    for e in updates:
        changes = json.loads(e[4].replace("\\\\", "\\"))
        last.update({k: v[1] for k, v in changes.items() if k != "label_names"})
    assert last["status"] == status and last["priority"] == priority and str(last["assignee_id"]) == assignee
    assert sorted(last["labels"]) == sorted(int(line.split("\t")[1]) for line in rows.labels.splitlines())


def test_bulk_pool_is_open_and_apart_from_the_busy_issue():
    count = 2_000
    pool = dataset.bulk_pool(count)
    assert pool and dataset.busy_issue(count) not in pool
    rows = _rows(count)
    assert {rows[i].issue.split("\t")[3] for i in pool} == {"open"}


def test_chunk_pool_never_lends_a_chunk_twice_at_once():
    pool = ChunkPool(list(range(100)), 25)
    lent: list[int] = []
    overlap = []
    lock = threading.Lock()

    def borrow():
        for _ in range(50):
            with pool.chunk() as ids:
                with lock:
                    if set(ids) & set(lent):
                        overlap.append(ids)
                    lent.extend(ids)
                with lock:
                    for i in ids:
                        lent.remove(i)

    threads = [threading.Thread(target=borrow) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not overlap and not lent


def test_every_scenario_renders_in_the_report():
    scenarios = [
        {
            "scenario": s.name,
            "request": s.request,
            "median_ms": None,
            "p95_ms": None,
            "throughput_rps": 0.0,
            "loaded_median_ms": None,
            "loaded_p95_ms": None,
            "timed_requests": 0,
            "failures": 0,
            "failure_messages": [],
            "cut_short": False,
            "target_median_ms": s.target_median_ms,
            "target_p95_ms": s.target_p95_ms,
            "target_met": False,
            "note": s.note,
            "details": {"sql_statements": 3, "sql_statement_kinds": ["SELECT"]},
        }
        for s in SCENARIOS.values()
    ]
    outcome = {
        "finished_at": "now",
        "machine": {**report.machine(), "load_average_at_end": [0.0, 0.0, 0.0]},
        "database": {
            "server_version": "15",
            "shared_buffers": "128MB",
            "work_mem": "4MB",
            "effective_cache_size": "4GB",
            "random_page_cost": "4",
            "issues": 10,
            "users": 50,
            "search_words": {"checksum": 1},
        },
        "load": None,
        "settings": {
            "workers": 5,
            "warmup": 1,
            "requests": 1,
            "concurrency": 1,
            "concurrent_requests": 1,
            "phase_seconds": 1,
            "seed": 1,
        },
        "scenarios": scenarios,
    }
    text = report.markdown(outcome)
    assert all(f"| {name} |" in text for name in SCENARIOS)
    assert "sql statements 3" in text and "median < 100 ms" in text


def test_recent_resolutions_fall_in_the_last_days_and_leave_the_rest_alone():
    from datetime import datetime, timedelta

    end = datetime(2026, 11, 25)
    recent, resolved = 0, 0
    fixed = list(dataset.issue_rows(2_000, seed=1))
    shifted = list(dataset.issue_rows(2_000, seed=1, end=end))
    for before, after in zip(fixed, shifted):
        old, new = before.issue.split("\t"), after.issue.split("\t")
        assert old[1:8] == new[1:8]  # titles, descriptions, statuses, people: only timestamps move
        if new[10].strip() != r"\N":
            resolved += 1
            at = datetime.fromisoformat(new[10].strip())
            assert datetime.fromisoformat(new[8]) <= at < end
            recent += at >= end - timedelta(days=dataset.RECENT_DAYS)
    assert 0.1 < recent / resolved < 0.4
    assert dataset.end_of(datetime(2026, 11, 24, 23, 59, 30)) == end


def test_import_file_has_the_rows_and_columns_the_importer_reads():
    import csv
    import io

    from bench.scenarios_imports import import_csv

    rows = list(csv.reader(io.StringIO(import_csv(500).decode("utf-8"))))
    assert rows[0] == ["title", "description", "status", "priority", "assignee", "labels"]
    assert len(rows) == 501 and all(len(row) == 6 and row[0] for row in rows[1:])
    assert any("\n" in row[1] for row in rows[1:]) and any('"' in row[1] for row in rows[1:])


def test_slow_scenarios_are_left_out_unless_asked_for():
    from bench import run

    assert "import_1m" not in [s.name for s in run.parse_args([]).scenarios]
    assert "import_1m" in [s.name for s in run.parse_args(["--include-slow"]).scenarios]
    assert [s.name for s in run.parse_args(["--only", "import_1m"]).scenarios] == ["import_1m"]


def test_the_machine_speed_is_measured_and_reported():
    speed = report.speed([5.0, 6.5, 9.0])
    assert speed["postgres_ms"] == [5.0, 6.5]
    assert 0 < speed["python_ms"][0] <= speed["python_ms"][1]
    line = report._speed_text({"speed_at_start": speed, "speed_at_end": speed})
    assert line.startswith("- Machine speed") and "PostgreSQL 5.0 / 6.5 ms; at end" in line
    assert report._speed_text({}) is None  # reports made before the probes existed


def test_autovacuum_rule_follows_each_tables_own_settings():
    from bench.database import autovacuum_due

    server = {
        "autovacuum_vacuum_threshold": 50.0,
        "autovacuum_vacuum_scale_factor": 0.2,
        "autovacuum_vacuum_insert_threshold": 1000.0,
        "autovacuum_vacuum_insert_scale_factor": 0.2,
        "autovacuum_analyze_threshold": 50.0,
        "autovacuum_analyze_scale_factor": 0.1,
    }
    issues = ["autovacuum_vacuum_scale_factor=0.02", "autovacuum_analyze_scale_factor=0.02"]  # migration 0008
    assert autovacuum_due(20_051, 0, 20_051, 1_000_000, issues, server) == "vacuum"
    assert autovacuum_due(20_050, 0, 20_050, 1_000_000, issues, server) is None
    assert autovacuum_due(20_051, 0, 0, 1_000_000, None, server) is None  # the server's 20%: not yet
    assert autovacuum_due(0, 201_001, 0, 1_000_000, None, server) == "vacuum"  # inserted rows count too
    assert autovacuum_due(0, 0, 100_051, 1_000_000, None, server) == "analyze"
    assert autovacuum_due(51, 0, 0, -1, None, server) == "vacuum"  # never analysed: the thresholds alone


def test_a_server_without_autovacuum_says_so_in_the_report():
    passes = [
        {"before": "search", "vacuumed": ["issues", "notifications"], "analyzed": ["watchers"], "seconds": 5.7},
        {"before": "inbox", "vacuumed": ["issues"], "analyzed": [], "seconds": 1.3},
        {"before": "api_get", "vacuumed": [], "analyzed": ["users"], "seconds": 0.1},
    ]
    line = report._autovacuum_text({"emulated": True, "passes": passes})
    assert line.startswith("- autovacuum is off") and "3 passes, 7.1 s in all" in line
    assert "issues vacuumed before search, inbox; notifications vacuumed before search" in line
    assert "no table was due" in report._autovacuum_text({"emulated": True, "passes": []})
    assert report._autovacuum_text({"emulated": False, "passes": []}) is None
    assert report._autovacuum_text(None) is None  # reports made before
