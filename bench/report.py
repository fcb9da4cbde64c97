"""Results on disk: the machine, the settings and each scenario, as JSON and as a Markdown table."""

from __future__ import annotations

import json
import os
import platform
import statistics
import timeit
from datetime import datetime, timezone
from pathlib import Path

RESULTS = Path(__file__).resolve().parent / "results"
COLUMNS = (
    "scenario",
    "median ms",
    "p95 ms",
    "throughput req/s",
    "target met",
    "median ms (loaded)",
    "p95 ms (loaded)",
    "failures",
    "details",
)


def _server(settings: dict) -> str:
    """How gunicorn served: sync workers (runs before issue 17, or --threads 0), or gthread workers with threads."""
    threads = settings.get("threads", 0)
    if not threads:
        return f"{settings['workers']} sync workers"
    return f"{settings['workers']} gthread workers × {threads} threads (the README's production command)"


def machine() -> dict:
    """Cores, CPU model, memory and Python of this machine."""
    cpu = next(
        (line.split(":", 1)[1].strip() for line in _lines("/proc/cpuinfo") if line.startswith("model name")),
        platform.processor() or "unknown",
    )
    mem_kib = next((int(line.split()[1]) for line in _lines("/proc/meminfo") if line.startswith("MemTotal:")), 0)
    return {
        "nproc": os.cpu_count(),
        "cpu": cpu,
        "memory_gib": round(mem_kib / 1024 / 1024, 1),
        "python": platform.python_version(),
        "kernel": platform.release(),
        # Other work on the machine inflates every figure; the load average shows whether there was any.
        "load_average_at_start": load_average(),
    }


# A fixed piece of Python work shaped like the app's own (formatting numbers and text into HTML, dictionary lookups).
SPEED_PROBE_PY = "''.join(f'<td class=\"c{n % 7}\">{n}</td>' for n in range(2000)); {n: str(n) for n in range(2000)}"


def speed(server_ms: list[float]) -> dict:
    """How fast this machine runs right now: the best and the median of seven timings of a fixed piece of Python and
    of PostgreSQL work (ms; lower is faster). Machines of one kind here differed by half and more, and one machine's
    speed wandered by a third from minute to minute; this says which kind of minute a run had."""
    python = sorted(t * 1000 / 20 for t in timeit.repeat(SPEED_PROBE_PY, number=20, repeat=7))
    return {
        "python_ms": [round(python[0], 3), round(statistics.median(python), 3)],
        "postgres_ms": [round(server_ms[0], 2), round(statistics.median(server_ms), 2)],
    }


def _speed_text(m: dict) -> str | None:
    """The speed probes' line of the report (None for reports made before they existed)."""
    start, end = m.get("speed_at_start"), m.get("speed_at_end")
    if not start:
        return None

    def pair(s: dict) -> str:
        python, postgres = s["python_ms"], s["postgres_ms"]
        return f"Python {python[0]:.2f} / {python[1]:.2f} ms, PostgreSQL {postgres[0]:.1f} / {postgres[1]:.1f} ms"

    text = f"- Machine speed (fixed work, best / median of 7, lower is faster): at start {pair(start)}"
    return text + (f"; at end {pair(end)}" if end else "")


def load_average() -> list[float]:
    """The 1, 5 and 15 minute load averages."""
    return [round(x, 2) for x in os.getloadavg()]


def _lines(path: str) -> list[str]:
    """The lines of a text file, none if it cannot be read."""
    try:
        return Path(path).read_text().splitlines()
    except OSError:
        return []


def earlier_load(issues: int) -> dict | None:
    """The load figures of the newest earlier report that loaded `issues` issues (marked as such), if any."""
    for path in sorted(RESULTS.glob("bench-*.json"), reverse=True):
        try:
            load = json.loads(path.read_text()).get("load")
        except (OSError, ValueError):
            continue
        if load and load.get("issues") == issues:
            return {**load, "from": load.get("from", path.name)}
    return None


def write(report: dict) -> list[Path]:
    """Write latest.json/latest.md and a timestamped copy of each; return the paths."""
    RESULTS.mkdir(exist_ok=True)
    stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    text = {"json": json.dumps(report, indent=2) + "\n", "md": markdown(report)}
    paths = []
    for name in ("latest", f"bench-{stamp}"):
        for suffix, content in text.items():
            path = RESULTS / f"{name}.{suffix}"
            path.write_text(content)
            paths.append(path)
    return paths


def _autovacuum_text(autovacuum: dict | None) -> str | None:
    """The line saying that the server ran without autovacuum and what the bench did in its place, table by table
    (None when the server runs it: nothing to say)."""
    if not autovacuum or not autovacuum.get("emulated"):
        return None
    passes = autovacuum["passes"]
    before: dict[str, list[str]] = {}
    for p in passes:
        for table in p["vacuumed"]:
            before.setdefault(table, []).append(p["before"])
    done = (
        f"{len(passes)} passes, {sum(p['seconds'] for p in passes):.1f} s in all; "
        + "; ".join(f"{table} vacuumed before {', '.join(rows)}" for table, rows in sorted(before.items()))
        if before
        else "no table was due"
    )
    return (
        "- autovacuum is off on this server (its CI configuration); before each row the bench did what autovacuum's"
        " own rule (each table's thresholds and scale factors, 2% for issues by migration 0008) asked for by then,"
        f" as a production server's autovacuum would have: {done}"
    )


def markdown(report: dict) -> str:
    """The report as Markdown: machine and data first, then the table and its notes."""
    m, s, db = report["machine"], report["settings"], report["database"]
    load = report["load"]
    lines = [
        f"# Tracker benchmark, {report['finished_at']}",
        "",
        f"- Machine: {m['nproc']} cores, {m['cpu']}, {m['memory_gib']} GiB memory, Python {m['python']},"
        f" Linux {m['kernel']}",
        f"- Load average (1, 5, 15 min) at start {', '.join(map(str, m['load_average_at_start']))},"
        f" at end {', '.join(map(str, m['load_average_at_end']))}",
        *filter(None, [_speed_text(m)]),
        f"- PostgreSQL {db['server_version']} (shared_buffers {db['shared_buffers']}, work_mem {db['work_mem']},"
        f" effective_cache_size {db['effective_cache_size']}, random_page_cost {db['random_page_cost']})",
        *filter(None, [_autovacuum_text(report.get("autovacuum"))]),
        f"- Data: {db['issues']:,} issues (each with its 'created' event), {db['users']} users,"
        f" {db.get('labels', 0)} labels"
        + (
            f" (filter labels: {', '.join(f'{n} on {c:,} issues' for n, c in db['filter_labels'].items())})"
            if db.get("filter_labels")
            else ""
        )
        + (
            f"; issue #{db['busy_issue']['id']} has {db['busy_issue']['comments']} comments and"
            f" {db['busy_issue']['changes']} changes"
            if db.get("busy_issue")
            else ""
        ),
        "- Load: "
        + (
            f"{load['seconds']:.1f} s for {load.get('rows', 0):,} rows (issues, events, issue labels, comments),"
            f" {load['rows_per_second']:,.0f} rows/s, by COPY with indexes and foreign keys rebuilt afterwards"
            + (
                f" (measured by the run of {load['from']}; this run found the data set loaded)"
                if load.get("from")
                else ""
            )
            if load
            else "skipped, the database already held the data set (its load time is in an earlier report)"
        ),
        "- Search words (issues matched): "
        + ", ".join(f"{w} ({n:,}, {100 * n / db['issues']:.2f}%)" for w, n in db["search_words"].items()),
        f"- Server: gunicorn, {_server(s)}; client: http.client on the same machine",
        f"- Per scenario: {s['warmup']} warm-up requests, {s['requests']} timed one at a time (median, p95),"
        f" then {s['concurrent_requests']} from {s['concurrency']} concurrent clients (throughput, loaded latency);"
        f" each phase stops after {s['phase_seconds']:g} s; heavy scenarios run fewer (see their notes)",
        "- Targets (one request at a time, no failed request): "
        + "; ".join(
            " and ".join(t for t in (_target("median", median), _target("p95", p95)) if t) + f" for {', '.join(names)}"
            for (median, p95), names in _targets(report["scenarios"]).items()
        ),
        "",
        table(report["scenarios"]),
        "",
    ]
    lines += [
        f"- {r['scenario']}: {r['note']}"
        + (
            f" ({r['requests_per_phase']['serial']} timed one at a time, {r['requests_per_phase']['concurrent']} from"
            f" {r['requests_per_phase']['concurrency']} clients)"
            if r.get("requests_per_phase")
            and r["requests_per_phase"]["serial"] != s["requests"]
            and r["requests_per_phase"]["concurrency"] > 0
            and r["requests_per_phase"]["concurrent"] > 0
            else f" ({r['requests_per_phase']['serial']} timed, one at a time only)"
            if r.get("requests_per_phase") and r["requests_per_phase"]["serial"] != s["requests"]
            else ""
        )
        for r in report["scenarios"]
        if r["note"]
    ]
    lines += [
        f"- {r['scenario']}: stopped by the time budget after {r['timed_requests']} timed requests"
        for r in report["scenarios"]
        if r["cut_short"]
    ]
    lines += [
        f"- {r['scenario']}: {r['failures']} failed requests, e.g. {'; '.join(r['failure_messages'])}"
        for r in report["scenarios"]
        if r["failures"]
    ]
    return "\n".join(lines).rstrip() + "\n"


def _targets(scenarios: list[dict]) -> dict[tuple[float, float], list[str]]:
    """Scenario names grouped by their (median, p95) targets."""
    groups: dict[tuple[float, float], list[str]] = {}
    for r in scenarios:
        if r["target_median_ms"] is None and r["target_p95_ms"] is None:
            continue  # no latency target (their targets, if any, are in their notes and details)
        groups.setdefault((r["target_median_ms"], r["target_p95_ms"]), []).append(r["scenario"])
    return groups


def table(scenarios: list[dict]) -> str:
    """The Markdown table of scenario results."""
    rows = [
        (
            r["scenario"],
            _number(r["median_ms"]),
            _number(r["p95_ms"]),
            _number(r["throughput_rps"], 1),
            "n/a" if r["target_met"] is None else "yes" if r["target_met"] else "no",
            _number(r["loaded_median_ms"]),
            _number(r["loaded_p95_ms"]),
            str(r["failures"]),
            details_text(r.get("details") or {}),
        )
        for r in scenarios
    ]
    head = "| " + " | ".join(COLUMNS) + " |"
    rule = "|" + "|".join("---" if i == 0 else "---:" for i in range(len(COLUMNS))) + "|"
    return "\n".join([head, rule] + ["| " + " | ".join(row) + " |" for row in rows])


def _target(name: str, value: float | None) -> str:
    """One latency target as text, or "" when there is none."""
    return "" if value is None else f"{name} < {value:g} ms"


def details_text(details: dict) -> str:
    """A probe's facts in a table cell (lists, e.g. statement kinds, are left to the JSON)."""
    return ", ".join(f"{k.replace('_', ' ')} {v:,}" if isinstance(v, int) else f"{k.replace('_', ' ')} {v}"
                     for k, v in details.items() if not isinstance(v, (list, dict))) or ""


def _number(value: float | None, digits: int = 1) -> str:
    """A figure for the table."""
    return "n/a" if value is None else f"{value:,.{digits}f}"
