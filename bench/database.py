"""The benchmark database: create it, migrate it through the app, and bulk-load the data set with COPY."""

from __future__ import annotations

import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime

import psycopg2
import sqlalchemy as sa
from flask_migrate import upgrade
from psycopg2 import sql
from sqlalchemy.engine import make_url
from werkzeug.security import generate_password_hash

from tracker import create_app
from tracker.extensions import db
from tracker.imports.copying import LineReader
from tracker.issues.search import search_clause
from tracker.models import Issue

from . import dataset

# issue_documents is filled by the trigger on issues during the COPY (migration 0009); its GIN index is rebuilt after.
LOADED_TABLES = ("issues", "issue_events", "issue_labels", "comments", "issue_documents")
ISSUE_COLUMNS = (
    "id, title, description, status, priority, assignee_id, reporter_id, version, created_at, updated_at, resolved_at"
)
EVENT_COLUMNS = "id, issue_id, actor_id, kind, changes, version, created_at, comment_id, note"
COMMENT_COLUMNS = "id, issue_id, author_id, body, created_at, edited_at, deleted_at, deleted_by_id"


@dataclass
class LoadReport:
    """How long the load took and how fast it went."""

    issues: int
    seconds: float
    rows: int  # issues, events, issue labels and comments

    @property
    def rows_per_second(self) -> float:
        """Rows of every loaded table, per second."""
        return self.rows / self.seconds


def dsn(url: str, database: str | None = None) -> str:
    """A libpq connection string for `url` (SQLAlchemy style allowed), optionally for another database."""
    parsed = make_url(url).set(drivername="postgresql")
    if database:
        parsed = parsed.set(database=database)
    return parsed.render_as_string(hide_password=False)


@contextmanager
def connect(url: str, database: str | None = None, autocommit: bool = False):
    """A psycopg2 connection, closed afterwards."""
    connection = psycopg2.connect(dsn(url, database))
    connection.autocommit = autocommit
    try:
        yield connection
    finally:
        connection.close()


def create_database(url: str) -> bool:
    """Create the database named in `url` unless it exists; True when it was created."""
    name = make_url(url).database
    with connect(url, "postgres", autocommit=True) as connection, connection.cursor() as cursor:
        cursor.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,))
        if cursor.fetchone():
            return False
        cursor.execute(f'CREATE DATABASE "{name}"')
        return True


def migrate(url: str) -> None:
    """Bring the schema up to date with the app's own migrations."""
    app = create_app(overrides={"SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": "bench-migrate"})
    with app.app_context():
        upgrade()
        db.engine.dispose()


def create_missing_indexes(url: str) -> list[str]:
    """Create the models' indexes the database lacks; return their names.

    A migration edited after this database had run it (0004 gained the report indexes that way) leaves the
    benchmark database without indexes the app's migrations now make; the benchmark must measure the schema the
    migrations give a new database, so the models' declared indexes are checked by name and made if missing.
    """
    app = create_app(overrides={"SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": "bench-migrate"})
    created = []
    with app.app_context():
        existing = set(
            db.session.execute(
                sa.text("SELECT indexname FROM pg_indexes WHERE schemaname = current_schema()")
            ).scalars()
        )
        db.session.remove()
        for table in db.metadata.sorted_tables:
            for index in sorted(table.indexes, key=lambda i: i.name or ""):
                if index.name and index.name not in existing:
                    index.create(bind=db.engine)
                    created.append(index.name)
        if created:
            with db.engine.begin() as connection:
                connection.execute(sa.text("ANALYZE issues"))
        db.engine.dispose()
    return created


def is_loaded(url: str, issues: int) -> bool:
    """Whether the database holds this data set: `issues` issues, the admin, the labels and the busy issue."""
    with connect(url) as connection, connection.cursor() as cursor:
        cursor.execute(
            "SELECT (SELECT count(*) FROM issues), EXISTS (SELECT 1 FROM users WHERE email = %s),"
            " (SELECT count(*) FROM labels), (SELECT count(*) FROM comments WHERE issue_id = %s)",
            (dataset.ADMIN_EMAIL, dataset.busy_issue(issues)),
        )
        count, has_admin, labels, busy_comments = cursor.fetchone()
        return (
            count == issues and has_admin and labels == len(dataset.LABELS) and busy_comments == dataset.BUSY_COMMENTS
        )


def _deferred_schema(cursor) -> tuple[list[tuple[str, str, str]], list[tuple[str, str, str]]]:
    """Foreign keys and non-constraint indexes of the loaded tables: (table, name, definition) each."""
    cursor.execute(
        "SELECT conrelid::regclass::text, conname, pg_get_constraintdef(oid) FROM pg_constraint"
        " WHERE contype = 'f' AND conrelid::regclass::text = ANY(%s)",
        (list(LOADED_TABLES),),
    )
    foreign_keys = cursor.fetchall()
    cursor.execute(
        "SELECT t.relname, i.relname, pg_get_indexdef(i.oid) FROM pg_index x"
        " JOIN pg_class i ON i.oid = x.indexrelid JOIN pg_class t ON t.oid = x.indrelid"
        " WHERE t.relname = ANY(%s) AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = x.indexrelid)",
        (list(LOADED_TABLES),),
    )
    return foreign_keys, cursor.fetchall()


def data_end(url: str, issues: int) -> datetime | None:
    """Where the loaded data set ends (see dataset.end_of), from its newest issue; None if it is missing."""
    with connect(url) as connection, connection.cursor() as cursor:
        cursor.execute("SELECT created_at FROM issues WHERE id = %s", (issues,))
        row = cursor.fetchone()
        return dataset.end_of(row[0]) if row else None


def load(url: str, issues: int, seed: int, end: datetime | None = None) -> LoadReport:
    """Empty every table, load the generated users, labels and issues (see dataset), then VACUUM ANALYZE.

    The data set ends at `end` (default: today's midnight, dataset.load_end).
    """
    end = end or dataset.load_end()
    # Like pg_restore, drop foreign keys and secondary indexes for the COPY and rebuild them afterwards, all in
    # one transaction: a failed load leaves the previous data and schema in place.
    started = time.perf_counter()
    with connect(url) as connection:
        with connection.cursor() as cursor, _spools() as spools:
            cursor.execute("SET LOCAL maintenance_work_mem = '1GB'")
            cursor.execute(
                "SELECT tablename FROM pg_tables WHERE schemaname = current_schema() AND tablename <> 'alembic_version'"
            )
            tables = ", ".join(f'"{name}"' for (name,) in cursor.fetchall())
            cursor.execute(f"TRUNCATE {tables} RESTART IDENTITY")
            foreign_keys, indexes = _deferred_schema(cursor)
            for table, name, _ in foreign_keys:
                cursor.execute(f'ALTER TABLE {table} DROP CONSTRAINT "{name}"')
            for _, name, _ in indexes:
                cursor.execute(f'DROP INDEX "{name}"')
            insert_users(cursor, end)
            insert_labels(cursor, end)
            print(f"  generating and copying {issues:,} issues...", flush=True)
            cursor.copy_expert(
                f"COPY issues ({ISSUE_COLUMNS}) FROM STDIN WITH (FREEZE)",
                LineReader(_issue_lines(issues, seed, spools, end)),
                size=1 << 16,
            )
            # Comments before events: the busy issue's comment events point at them.
            for table, columns in (
                ("comments", COMMENT_COLUMNS),
                ("issue_events", EVENT_COLUMNS),
                ("issue_labels", "issue_id, label_id"),
            ):
                spools[table].seek(0)
                cursor.copy_expert(f"COPY {table} ({columns}) FROM STDIN WITH (FREEZE)", spools[table], size=1 << 16)
            copied = time.perf_counter() - started
            print(f"  copied in {copied:.1f} s; rebuilding indexes and foreign keys...", flush=True)
            for _table, _name, definition in indexes:
                cursor.execute(definition)
            for table, name, definition in foreign_keys:
                cursor.execute(f'ALTER TABLE {table} ADD CONSTRAINT "{name}" {definition}')
            for table in ("users", "labels", "issues", "issue_events", "comments"):
                cursor.execute(
                    f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT max(id) FROM {table}))"
                )
            cursor.execute(f"SELECT {' + '.join(f'(SELECT count(*) FROM {t})' for t in LOADED_TABLES)}")
            rows = cursor.fetchone()[0]
        connection.commit()
    with connect(url, autocommit=True) as connection, connection.cursor() as cursor:
        cursor.execute(f"VACUUM (ANALYZE) users, labels, {', '.join(LOADED_TABLES)}")
    return LoadReport(issues=issues, seconds=time.perf_counter() - started, rows=rows)


def vacuum(url: str, tables: tuple[str, ...] = ("issues", "issue_documents", "issue_events", "issue_labels")) -> float:
    """VACUUM (ANALYZE) the tables the write scenarios churn; returns the seconds it took."""
    started = time.perf_counter()
    with connect(url, autocommit=True) as connection, connection.cursor() as cursor:
        cursor.execute(f"VACUUM (ANALYZE) {', '.join(tables)}")
    return time.perf_counter() - started


@contextmanager
def _spools():
    """Temporary files for the rows generated alongside the issues, by table."""
    with (
        tempfile.TemporaryFile("w+") as events,
        tempfile.TemporaryFile("w+") as labels,
        tempfile.TemporaryFile("w+") as comments,
    ):
        yield {"issue_events": events, "issue_labels": labels, "comments": comments}


def _issue_lines(issues: int, seed: int, spools: dict, end: datetime) -> Iterator[str]:
    """The issues' COPY lines; their events', labels' and comments' lines go to the spool files on the way."""
    events, labels, comments = spools["issue_events"], spools["issue_labels"], spools["comments"]
    for rows in dataset.issue_rows(issues, seed, end):
        events.write(rows.events)
        if rows.labels:
            labels.write(rows.labels)
        if rows.comments:
            comments.write(rows.comments)
        yield rows.issue


def insert_labels(cursor, end: datetime) -> None:
    """Insert the data set's labels (ids from 1, in dataset.LABELS order)."""
    start = end - dataset.SPAN
    cursor.executemany(
        "INSERT INTO labels (id, name, name_key, color, created_at, updated_at) VALUES (%s, %s, %s, %s, %s, %s)",
        [(i, name, name.lower(), color, start, start) for name, i in dataset.label_ids().items()
         for _, color, _ in [dataset.LABELS[i - 1]]],
    )


def insert_users(cursor, end: datetime) -> None:
    """Insert the generated users; all share the admin's password (one hash: hashing is slow on purpose)."""
    password_hash = generate_password_hash(dataset.ADMIN_PASSWORD)
    start = end - dataset.SPAN
    cursor.executemany(
        "INSERT INTO users (id, name, email, password_hash, role, active, created_at, handle)"
        " VALUES (%s, %s, %s, %s, %s, true, %s, %s)",
        [(u.id, u.name, u.email, password_hash, u.role, start, f"u{u.id}") for u in dataset.users()],
    )


def match_count(url: str, word: str) -> int:
    """How many issues the app's own full-text clause matches for `word`."""
    statement = sa.select(sa.func.count()).select_from(Issue).where(search_clause("postgresql", [word]))
    engine = sa.create_engine(dsn(url))
    try:
        with engine.connect() as connection:
            return connection.execute(statement).scalar_one()
    finally:
        engine.dispose()


def label_count(url: str, name: str) -> int:
    """How many issues carry the label `name`."""
    with connect(url) as connection, connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM issue_labels il JOIN labels l ON l.id = il.label_id WHERE l.name_key = %s",
            (name.lower(),),
        )
        return cursor.fetchone()[0]


# Autovacuum's rule (PostgreSQL 15, autovacuum.c relation_needs_vacanalyze): a table is vacuumed once its dead rows
# pass threshold + scale_factor x its rows, or its rows inserted since the last vacuum pass the insert threshold +
# insert scale factor x its rows; analysed once the rows changed since the last analyse pass theirs. Each table's own
# settings (reloptions: migration 0008 sets 2% for issues) come before the server's.
AUTOVACUUM_SETTINGS = (
    "autovacuum_vacuum_threshold",
    "autovacuum_vacuum_scale_factor",
    "autovacuum_vacuum_insert_threshold",
    "autovacuum_vacuum_insert_scale_factor",
    "autovacuum_analyze_threshold",
    "autovacuum_analyze_scale_factor",
)


@dataclass
class Settled:
    """What one pass of autovacuum's rule did: the tables vacuumed (and analysed), those only analysed, the time."""

    vacuumed: list[str]
    analyzed: list[str]
    seconds: float


def due_tables(url: str) -> tuple[list[str], list[str]]:
    """The tables autovacuum would vacuum now, and those it would only analyse, by its own rule (above) on the
    statistics the server keeps; tables of the public schema only."""
    with connect(url) as connection, connection.cursor() as cursor:
        cursor.execute("SELECT name, setting FROM pg_settings WHERE name = ANY(%s)", (list(AUTOVACUUM_SETTINGS),))
        server = {name: float(value) for name, value in cursor.fetchall()}
        cursor.execute(
            "SELECT s.relname, s.n_dead_tup, s.n_ins_since_vacuum, s.n_mod_since_analyze, c.reltuples, c.reloptions"
            " FROM pg_stat_user_tables s JOIN pg_class c ON c.oid = s.relid WHERE s.schemaname = 'public'"
            " ORDER BY s.relname"
        )
        rows = cursor.fetchall()
    vacuum, analyze = [], []
    for name, dead, inserted, modified, reltuples, reloptions in rows:
        due = autovacuum_due(dead, inserted, modified, reltuples, reloptions, server)
        if due == "vacuum":
            vacuum.append(name)
        elif due == "analyze":
            analyze.append(name)
    return vacuum, analyze


def autovacuum_due(
    dead: float, inserted: float, modified: float, reltuples: float, reloptions: list[str] | None, server: dict
) -> str | None:
    """What autovacuum's rule asks of a table, "vacuum", "analyze" or None, from its statistics (dead rows, rows
    inserted since its last vacuum, rows changed since its last analyse, its estimated rows: -1 before the first
    analyse), its own settings and the server's (AUTOVACUUM_SETTINGS by name)."""
    own = dict(option.split("=", 1) for option in reloptions or [])
    setting = {key: float(own.get(key, server[key])) for key in AUTOVACUUM_SETTINGS}
    tuples = max(reltuples, 0.0)
    vacuum_limit = setting["autovacuum_vacuum_threshold"] + setting["autovacuum_vacuum_scale_factor"] * tuples
    insert_limit = (
        setting["autovacuum_vacuum_insert_threshold"] + setting["autovacuum_vacuum_insert_scale_factor"] * tuples
    )
    analyze_limit = setting["autovacuum_analyze_threshold"] + setting["autovacuum_analyze_scale_factor"] * tuples
    if dead > vacuum_limit or inserted > insert_limit:
        return "vacuum"
    if modified > analyze_limit:
        return "analyze"
    return None


def settle(url: str) -> Settled:
    """Do now what autovacuum would have done by now (due_tables): for a server that runs without it, so that a
    row measured after the write rows finds the tables as a production server's autovacuum keeps them (pages
    marked all-visible again, so index-only scans stay index-only; fresh statistics), not as they never are."""
    started = time.perf_counter()
    vacuum, analyze = due_tables(url)
    if vacuum or analyze:
        with connect(url, autocommit=True) as connection, connection.cursor() as cursor:
            if vacuum:
                cursor.execute(sql.SQL("VACUUM (ANALYZE) {}").format(sql.SQL(", ").join(map(sql.Identifier, vacuum))))
            if analyze:
                cursor.execute(sql.SQL("ANALYZE {}").format(sql.SQL(", ").join(map(sql.Identifier, analyze))))
    return Settled(vacuum, analyze, time.perf_counter() - started)


def server_facts(url: str) -> dict[str, str]:
    """PostgreSQL's version, the memory settings that matter for a large table, and whether autovacuum runs (a CI
    configuration may turn it off: this machine's conf.d/90-ci.conf)."""
    names = ("server_version", "shared_buffers", "work_mem", "effective_cache_size", "random_page_cost", "autovacuum")
    with connect(url) as connection, connection.cursor() as cursor:
        facts = {}
        for name in names:
            cursor.execute(f"SHOW {name}")
            facts[name] = cursor.fetchone()[0]
        return facts


# A fixed piece of work for PostgreSQL's own CPU (no table read): how fast its backend runs right now.
SPEED_PROBE_SQL = "SELECT sum(x) FROM generate_series(1, 300000) AS x"


def server_speed(url: str, repeat: int = 7) -> list[float]:
    """Milliseconds PostgreSQL took for SPEED_PROBE_SQL, `repeat` times (sorted), measured from this client."""
    times = []
    with connect(url) as connection, connection.cursor() as cursor:
        for _ in range(repeat):
            started = time.perf_counter()
            cursor.execute(SPEED_PROBE_SQL)
            cursor.fetchone()
            times.append((time.perf_counter() - started) * 1000)
    return sorted(times)
