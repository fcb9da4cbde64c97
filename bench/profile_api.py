"""Where the time of the API's single-issue calls goes (issue 23): create, PATCH and comment, profiled in process.

`make profile-api` (or `python -m bench.profile_api --database-url URL --calls 300`) migrates the PostgreSQL
database it is given (default: BENCH_DATABASE_URL, else the benchmark's), makes a token, then sends each call in
the benchmark's shape (a create with a description, an assignee and two labels; a PATCH of the priority; a comment
with Markdown) `--calls` times through the app (Flask's test client: no HTTP server, so the socket and gunicorn are
left out) under cProfile. Each function's own time (not counting what it calls) is put in one bucket by the file it
lives in, so the buckets add up to the whole:

- PostgreSQL round trips: psycopg2 sending a statement and waiting for its answer (the server's work + the wire);
- SQLAlchemy: the ORM, statement building and compiling, result rows;
- schemas: marshmallow/APIFlask loading the body and dumping the answer, and the OpenAPI layer;
- framework: Flask, Werkzeug, Flask-Login, Jinja;
- token check: hashing the bearer token (the lookup is a PostgreSQL round trip);
- Tracker: the app's own code (services, history, access rules, views);
- other Python: the standard library and the rest.

It prints a Markdown table (milliseconds per call).
"""

from __future__ import annotations

import argparse
import cProfile
import os
import pstats
import time
from collections import defaultdict

import sqlalchemy as sa
from flask_migrate import upgrade

from tracker import create_app
from tracker.config import TestConfig
from tracker.extensions import db
from tracker.models import User

from .run import DEFAULT_URL
from .scenarios_api_speed import COMMENT_BODY, DESCRIPTION, LABELS

BUCKETS = (
    ("PostgreSQL round trips", ("psycopg2",)),
    ("SQLAlchemy", ("sqlalchemy",)),
    ("schemas", ("marshmallow", "apiflask", "apispec", "webargs", "flask_marshmallow")),
    ("framework", ("flask", "werkzeug", "flask_login", "flask_wtf", "jinja2", "itsdangerous", "blinker")),
    ("token check", ("hashlib", "hmac", "tracker/auth/tokens")),
    ("Tracker", ("tracker/",)),
)


def bucket_of(filename: str, function: str) -> str:
    """The bucket of a profiled function, by its file (C functions by the module they belong to)."""
    where = filename.replace(os.sep, "/")
    if where == "~" and ("psycopg2" in function or "cursor" in function and "execute" in function):
        return "PostgreSQL round trips"
    for name, marks in BUCKETS:
        if any(f"/{mark}" in where or where.startswith(mark) for mark in marks):
            return name
    if where == "~" and ("sha256" in function or "hmac" in function or "compare_digest" in function):
        return "token check"
    return "other Python"


def profile(client, calls: int, send) -> tuple[float, dict[str, float]]:
    """Milliseconds per call, in all and per bucket, of `calls` calls of `send`."""
    profiler = cProfile.Profile()
    started = time.perf_counter()
    profiler.enable()
    for n in range(calls):
        send(client, n)
    profiler.disable()
    elapsed = time.perf_counter() - started
    stats = pstats.Stats(profiler)
    buckets: dict[str, float] = defaultdict(float)
    for (filename, _line, function), (_cc, _nc, tottime, _ct, _callers) in stats.stats.items():  # type: ignore[attr-defined]
        buckets[bucket_of(filename, function)] += tottime
    total = sum(buckets.values())
    scale = elapsed / total if total else 1.0  # the profiler's own cost is spread over the buckets
    return elapsed * 1000 / calls, {k: v * scale * 1000 / calls for k, v in buckets.items()}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url", default=os.environ.get("BENCH_DATABASE_URL", DEFAULT_URL))
    parser.add_argument("--calls", type=int, default=300)
    args = parser.parse_args(argv)
    app = create_app(TestConfig, {"SQLALCHEMY_DATABASE_URI": args.database_url})
    with app.app_context():
        upgrade()
        from tracker.account.service import create_token
        from tracker.auth.service import create_user

        user = db.session.execute(
            sa.select(User).where(User.role == "admin", User.active.is_(True)).order_by(User.id).limit(1)
        ).scalar_one_or_none()
        if user is None:
            user = create_user(db.session, "Profile Admin", "profile-admin@example.com", "profile-password-1", "admin")
        assignee_id = db.session.execute(
            sa.select(User.id)
            .where(User.role != "viewer", User.active.is_(True), User.id != user.id)
            .order_by(User.id)
            .limit(1)
        ).scalar_one_or_none()
        if assignee_id is None:
            assignee_id = create_user(
                db.session, "Profile Member", "profile-member@example.com", "profile-password-1", "member"
            ).id
        _token, secret = create_token(db.session, user, "profile")
        db.session.remove()
    headers = {"Authorization": f"Bearer {secret}"}
    client = app.test_client()
    made: list[tuple[int, int]] = []

    def create(c, n):
        issue = {
            "title": f"Profiled {n}",
            "description": DESCRIPTION,
            "priority": "high",
            "assignee_id": assignee_id,
            "labels": LABELS,
        }
        answer = c.post("/api/issues", json=issue, headers=headers)
        assert answer.status_code == 201, answer.get_data(as_text=True)
        made.append((answer.json["id"], answer.json["version"]))

    def patch(c, n):
        issue_id, version = made[n]
        answer = c.patch(f"/api/issues/{issue_id}", json={"priority": "low", "version": version}, headers=headers)
        assert answer.status_code == 200, answer.get_data(as_text=True)

    def comment(c, n):
        issue_id, _version = made[n]
        answer = c.post(f"/api/issues/{issue_id}/comments", json={"body": COMMENT_BODY}, headers=headers)
        assert answer.status_code == 201, answer.get_data(as_text=True)

    for warm in range(20):  # imports, caches and the connection pool before timing
        create(client, warm)
    made.clear()
    rows = []
    for name, send in (("create", create), ("PATCH", patch), ("comment", comment)):
        per_call, buckets = profile(client, args.calls, send)
        rows.append((name, per_call, buckets))
    names = [b for b, _ in BUCKETS] + ["other Python"]
    database = args.database_url.rsplit("/", 1)[-1]
    print(f"Milliseconds per call, {args.calls} calls each, in process (no HTTP), on {database}")
    print()
    print("| call | total | " + " | ".join(names) + " |")
    print("|---|---:|" + "---:|" * len(names))
    for name, per_call, buckets in rows:
        print(f"| {name} | {per_call:.2f} | " + " | ".join(f"{buckets.get(b, 0.0):.2f}" for b in names) + " |")


if __name__ == "__main__":
    main()
