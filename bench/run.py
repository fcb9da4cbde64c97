"""`make bench`: load a large data set into PostgreSQL, serve the app with gunicorn, measure each scenario.

Examples: `make bench`, `make bench BENCH_ARGS="--issues 20000"`, `make bench BENCH_ARGS="--only search,edit_save"`.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import time
from datetime import datetime, timezone

from . import database, dataset, measure, report, server
from .browser import Browser
from .scenarios import SCENARIOS, Workload

DEFAULT_URL = "postgresql://postgres@127.0.0.1:5432/tracker_bench"
# A data set loaded more than this many days ago is loaded again: the reports' last 30 days would have drifted
# past its recent resolutions (a day costs ~1/29 of them).
STALE_DAYS = 3


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """The command line; the database comes from BENCH_DATABASE_URL unless --database-url is given."""
    parser = argparse.ArgumentParser(prog="python -m bench.run", description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", default=os.environ.get("BENCH_DATABASE_URL", DEFAULT_URL))
    parser.add_argument("--issues", type=int, default=1_000_000, help="issues in the data set (default 1,000,000)")
    parser.add_argument("--reload", action="store_true", help="replace the data even if the count matches")
    parser.add_argument("--only", default="", help=f"comma-separated scenarios, from: {', '.join(SCENARIOS)}")
    parser.add_argument(
        "--include-slow",
        action="store_true",
        help=f"also run the slow scenarios ({', '.join(n for n, s in SCENARIOS.items() if s.slow)}),"
        " left out by default",
    )
    parser.add_argument("--warmup", type=int, default=30, help="untimed requests per scenario")
    parser.add_argument("--requests", type=int, default=300, help="timed requests one at a time, per scenario")
    parser.add_argument("--concurrency", type=int, default=4, help="concurrent clients for throughput")
    parser.add_argument("--concurrent-requests", type=int, default=400, help="timed requests across those clients")
    parser.add_argument("--phase-seconds", type=float, default=60.0, help="time budget of each measuring phase")
    parser.add_argument("--workers", type=int, default=server.default_workers(), help="gunicorn workers")
    parser.add_argument(
        "--threads",
        type=int,
        default=server.DEFAULT_THREADS,
        help=f"threads per gthread worker (default {server.DEFAULT_THREADS}, as in production); 0: sync workers",
    )
    parser.add_argument("--seed", type=int, default=1, help="seed of the data set and of the requests")
    args = parser.parse_args(argv)
    names = [n.strip() for n in args.only.split(",") if n.strip()] or [
        n for n, s in SCENARIOS.items() if args.include_slow or not s.slow
    ]
    unknown = [n for n in names if n not in SCENARIOS]
    if unknown:
        parser.error(f"unknown scenario {', '.join(unknown)}; choose from {', '.join(SCENARIOS)}")
    if args.issues < 1:
        parser.error("--issues must be at least 1")
    args.scenarios = [SCENARIOS[n] for n in names]
    return args


def prepare_database(args: argparse.Namespace) -> dict | None:
    """Create and migrate the database, and load the data set unless it is already there; return the load."""
    url = args.database_url
    if database.create_database(url):
        print(f"created database {url}")
    database.migrate(url)
    created = database.create_missing_indexes(url)
    if created:
        print(f"created indexes the models declare but this database lacked: {', '.join(created)}")
    if not args.reload and database.is_loaded(url, args.issues):
        end = database.data_end(url, args.issues)
        age = (dataset.load_end() - end).days if end else None
        if age is not None and age <= STALE_DAYS:
            print(
                f"data set present: {args.issues:,} issues ending {end:%Y-%m-%d}; loading skipped (--reload forces it)"
            )
            return report.earlier_load(args.issues)
        # The reports' "last 30 days" must hold the data set's recent resolutions (see dataset.RECENT_DAYS).
        print(f"data set present but it ends {end:%Y-%m-%d}, {age} days ago (over {STALE_DAYS}); reloading" if end else
              "data set present but its end is unknown; reloading")
    print(f"loading {args.issues:,} issues into {url}")
    load = database.load(url, args.issues, args.seed)
    print(f"loaded in {load.seconds:.1f} s: {load.rows:,} rows, {load.rows_per_second:,.0f} rows/s")
    return {
        "issues": load.issues,
        "rows": load.rows,
        "seconds": round(load.seconds, 1),
        "rows_per_second": round(load.rows_per_second),
    }


def main(argv: list[str] | None = None) -> None:
    """Prepare the data, serve the app, run the chosen scenarios, and write and print the results."""
    args = parse_args(argv)
    machine = report.machine()
    load = prepare_database(args)
    machine["speed_at_start"] = report.speed(database.server_speed(args.database_url))
    search_words = {word: database.match_count(args.database_url, word) for word in dataset.SEARCH_WORDS}
    print("search words (issues matched): " + ", ".join(f"{w} {n:,}" for w, n in search_words.items()))
    label_counts = {name: database.label_count(args.database_url, name) for name in dataset.LABEL_FILTERS}
    print("filter labels (issues carrying): " + ", ".join(f"{w} {n:,}" for w, n in label_counts.items()))
    settings = measure.Settings(
        args.warmup, args.requests, args.concurrency, args.concurrent_requests, args.phase_seconds, args.seed
    )
    work = Workload(args.issues, args.seed, args.database_url)
    results = []
    with server.serve(args.database_url, args.workers, args.threads) as served:
        port = served.port
        work.server_pid = served.pid
        work.port = port
        print(f"gunicorn: {args.workers} workers, {args.threads or 'no'} threads each, on port {port}")

        def sign_in() -> Browser:
            """A browser signed in as the benchmark's admin."""
            browser = Browser(server.HOST, port)
            browser.sign_in(dataset.ADMIN_EMAIL, dataset.ADMIN_PASSWORD)
            return browser

        vacuumed = False
        emulated = database.server_facts(args.database_url)["autovacuum"] != "on"
        passes: list[dict] = []
        for scenario in args.scenarios:
            if emulated:
                # This server runs without autovacuum (a CI configuration); a production server's would have
                # vacuumed what the write rows churned by the time the next row runs: do what its rule asks now.
                settled = database.settle(args.database_url)
                if settled.vacuumed or settled.analyzed:
                    passes.append({"before": scenario.name, **dataclasses.asdict(settled)})
                    print(
                        f"  autovacuum's rule before {scenario.name}: vacuumed {', '.join(settled.vacuumed) or 'none'}"
                        f"{', analysed ' + ', '.join(settled.analyzed) if settled.analyzed else ''}"
                        f" in {settled.seconds:.1f} s",
                        flush=True,
                    )
            if scenario.name.startswith("report") and not vacuumed:
                # The bulk scenarios just changed some 150,000 issues within two minutes; autovacuum (after 2%
                # of issues change) would catch up shortly, and the reports are measured on the settled table.
                print(f"  vacuumed before the reports in {database.vacuum(args.database_url):.1f} s", flush=True)
                vacuumed = True
            started = time.perf_counter()
            result = measure.run(scenario, work, sign_in, settings)
            results.append(result.as_dict())
            print(
                f"  {scenario.name}: median {result.median_ms or 0:.1f} ms, p95 {result.p95_ms or 0:.1f} ms, "
                f"{result.throughput:.1f} req/s, {result.tally.failures} failures"
                f"{', cut short by the time budget' if result.tally.cut_short else ''} "
                f"({time.perf_counter() - started:.0f} s)"
                + "".join(f"\n    {m}" for m in result.tally.messages)
                + (f"\n    {report.details_text(result.details)}" if result.details else ""),
                flush=True,
            )
    machine["load_average_at_end"] = report.load_average()
    machine["speed_at_end"] = report.speed(database.server_speed(args.database_url))
    outcome = {
        "finished_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "machine": machine,
        "database": {
            **database.server_facts(args.database_url),
            "issues": args.issues,
            "users": len(dataset.users()),
            "search_words": search_words,
            "filter_labels": label_counts,
            "labels": len(dataset.LABELS),
            "busy_issue": {
                "id": work.busy_issue,
                "comments": dataset.BUSY_COMMENTS,
                "changes": dataset.BUSY_CHANGES,
            },
            "bulk_pool": {str(size): len(pool.chunks) * pool.size for size, pool in work.bulk_pools.items()},
        },
        "load": load,
        "autovacuum": {"emulated": emulated, "passes": passes},
        "settings": {
            "workers": args.workers,
            "threads": args.threads,
            "warmup": args.warmup,
            "requests": args.requests,
            "concurrency": args.concurrency,
            "concurrent_requests": args.concurrent_requests,
            "phase_seconds": args.phase_seconds,
            "seed": args.seed,
        },
        "scenarios": results,
    }
    paths = report.write(outcome)
    print()
    print(report.table(results))
    print()
    print("written: " + ", ".join(str(p.relative_to(report.RESULTS.parent.parent)) for p in paths))


if __name__ == "__main__":
    main()
