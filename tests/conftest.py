"""Fixtures: an app per database (SQLite always, PostgreSQL when TEST_DATABASE_URL is set), clients, factories."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import sqlalchemy as sa
from flask_migrate import upgrade
from werkzeug.security import generate_password_hash

from tests.helpers import sign_in_client
from tracker import create_app
from tracker.account import service as tokens
from tracker.config import TestConfig
from tracker.extensions import db
from tracker.issues import service as issue_service
from tracker.labels import service as label_service
from tracker.models import Issue, IssueEvent, Label, User

TEST_DATABASE_URL = os.environ.get("TEST_DATABASE_URL", "")
REQUIRE_POSTGRES = os.environ.get("REQUIRE_POSTGRES") == "1"
PASSWORD = "correct horse battery"
PASSWORD_HASH = generate_password_hash(PASSWORD)


def _database_params() -> list:
    params = [pytest.param("sqlite", id="sqlite")]
    if TEST_DATABASE_URL:
        params.append(pytest.param("postgresql", id="postgresql"))
    elif REQUIRE_POSTGRES:
        params.append(pytest.param("postgresql", id="postgresql"))
    return params


def _check_postgres(url: str) -> None:
    if not url:
        pytest.fail("REQUIRE_POSTGRES=1 but TEST_DATABASE_URL is not set")
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            conn.execute(sa.text("SELECT 1"))
    except sa.exc.OperationalError as exc:
        if REQUIRE_POSTGRES:
            pytest.fail(f"PostgreSQL at {url} is unreachable and REQUIRE_POSTGRES=1: {exc}")
        pytest.skip(f"PostgreSQL at {url} is unreachable")
    finally:
        engine.dispose()


def _migrated_app(url: str):
    app = create_app(TestConfig, {"SQLALCHEMY_DATABASE_URI": url})
    with app.app_context():
        upgrade()
        db.engine.dispose()
    return app


def fresh_database(kind: str, tmp_path_factory) -> str:
    """The URL of a freshly migrated database of this kind ('sqlite' or 'postgresql')."""
    if kind == "sqlite":
        url = "sqlite:///" + str(tmp_path_factory.mktemp("db") / "tracker-test.db")
    else:
        url = TEST_DATABASE_URL
        _check_postgres(url)
        engine = sa.create_engine(url)
        with engine.begin() as conn:
            conn.execute(sa.text("DROP SCHEMA public CASCADE"))
            conn.execute(sa.text("CREATE SCHEMA public"))
        engine.dispose()
    _migrated_app(url)
    return url


@pytest.fixture(scope="session", params=_database_params())
def database_url(request, tmp_path_factory) -> str:
    """A freshly migrated database of each kind; reused by every test, emptied after each."""
    return fresh_database(request.param, tmp_path_factory)


def empty_database() -> None:
    """Delete every row (and on PostgreSQL restart the id sequences)."""
    tables = [t.name for t in reversed(db.metadata.sorted_tables)]
    if db.engine.dialect.name == "postgresql":
        db.session.execute(sa.text(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE"))
    else:
        for name in tables:
            db.session.execute(sa.text(f"DELETE FROM {name}"))
        db.session.execute(sa.text("DELETE FROM sqlite_sequence")) if _has_sqlite_sequence() else None
    db.session.commit()


def _has_sqlite_sequence() -> bool:
    return bool(db.session.execute(sa.text("SELECT 1 FROM sqlite_master WHERE name='sqlite_sequence'")).first())


@pytest.fixture
def app(database_url, tmp_path):
    """The application bound to the test database, with an app context pushed; rows removed afterwards. Attached
    files go to the test's own temporary folder."""
    application = create_app(
        TestConfig, {"SQLALCHEMY_DATABASE_URI": database_url, "ATTACHMENTS_URL": str(tmp_path / "attachments")}
    )
    with application.app_context():
        yield application
        db.session.rollback()
        empty_database()
        db.session.remove()
        db.engine.dispose()


@pytest.fixture
def dialect(app) -> str:
    """'sqlite' or 'postgresql'."""
    return db.engine.dialect.name


@pytest.fixture
def client(app):
    """A test client (no JavaScript: plain form posts and redirects)."""
    return app.test_client()


@pytest.fixture
def runner(app):
    """The Flask CLI runner."""
    return app.test_cli_runner()


@pytest.fixture
def make_user(app):
    """Factory: make_user(role='member', name=..., email=..., active=True) -> User."""
    counter = {"n": 0}

    def factory(role: str = "member", name: str | None = None, email: str | None = None, active: bool = True) -> User:
        counter["n"] += 1
        n = counter["n"]
        user = User(
            name=name or f"{role.capitalize()} {n}",
            email=(email or f"{role}{n}@example.com").lower(),
            password_hash=PASSWORD_HASH,
            role=role,
            active=active,
        )
        db.session.add(user)
        db.session.commit()
        return user

    return factory


@pytest.fixture
def login(client):
    """login(user): sign the test client in as this user (a real session row and its key in the cookie, no
    password hashing)."""

    def do_login(user: User) -> User:
        sign_in_client(client, user)
        return user

    return do_login


@pytest.fixture
def login_as(make_user, login):
    """login_as(role): create a user with that role and sign the client in as them."""

    def do_login(role: str = "member", **kwargs) -> User:
        return login(make_user(role, **kwargs))

    return do_login


@pytest.fixture
def make_issue(app, make_user):
    """Factory: make_issue(title=..., reporter=None, **fields) -> Issue (created through the service)."""
    state: dict = {}

    def factory(title: str = "An issue", reporter: User | None = None, **fields) -> Issue:
        if reporter is None:
            if "reporter" not in state:
                state["reporter"] = make_user("member", name="Reporter")
            reporter = state["reporter"]
        values = {"title": title, **fields}
        if "assignee_id" in values and isinstance(values["assignee_id"], User):
            values["assignee_id"] = values["assignee_id"].id
        return issue_service.create_issue(db.session, reporter, values)

    return factory


@pytest.fixture
def make_label(make_user):
    """Factory: make_label(name, color='blue') -> Label (created through the service, by one member for all)."""
    owner = {}

    def factory(name: str, color: str = "blue") -> Label:
        owner.setdefault("user", make_user("member", name="Labeller"))
        return label_service.create_label(db.session, owner["user"], name, color)

    return factory


def row_snapshot() -> list[tuple]:
    """Every issue and event row, to prove a rejected request changed nothing."""
    issues = db.session.execute(sa.select(Issue.__table__).order_by(Issue.id)).all()
    events = db.session.execute(sa.select(IssueEvent.__table__).order_by(IssueEvent.id)).all()
    users = db.session.execute(sa.select(User.__table__).order_by(User.id)).all()
    db.session.rollback()
    return [tuple(r) for r in issues] + [tuple(r) for r in events] + [tuple(r) for r in users]


@pytest.fixture
def snapshot(app):
    """snapshot() returns all rows of users, issues and events."""
    return row_snapshot


@contextmanager
def counting_statements() -> Iterator[list[str]]:
    """Collect the SQL statements executed inside the block."""
    statements: list[str] = []

    def record(conn, cursor, statement, parameters, context, executemany):
        statements.append(statement)

    sa.event.listen(db.engine, "before_cursor_execute", record)
    try:
        yield statements
    finally:
        sa.event.remove(db.engine, "before_cursor_execute", record)


@pytest.fixture
def count_statements(app):
    """A context manager collecting the SQL statements run inside it."""
    return counting_statements


@pytest.fixture
def postgres_only(dialect):
    """Skip on SQLite: the test is about PostgreSQL behaviour."""
    if dialect != "postgresql":
        pytest.skip("PostgreSQL-only test (runs when TEST_DATABASE_URL is set)")


@pytest.fixture
def token_for(make_user):
    """token_for(role or user) -> Authorization headers with a fresh personal API token of that user."""
    def factory(who: str | User = "member") -> dict[str, str]:
        user = make_user(who) if isinstance(who, str) else who
        _token, secret = tokens.create_token(db.session, user, "tests")
        return {"Authorization": f"Bearer {secret}"}

    return factory


def pytest_collection_modifyitems(config, items):
    """With PostgreSQL present, PostgreSQL-only tests are not collected for SQLite at all (no skips in CI)."""
    if not TEST_DATABASE_URL:
        return
    keep, drop = [], []
    for item in items:
        params = getattr(item, "callspec", None)
        on_sqlite = params is not None and params.params.get("database_url") == "sqlite"
        (drop if on_sqlite and "postgres_only" in getattr(item, "fixturenames", ()) else keep).append(item)
    if drop:
        config.hook.pytest_deselected(items=drop)
        items[:] = keep


def pytest_report_header(config):
    """Say which databases the run covers."""
    dbs = "SQLite" + (" + PostgreSQL" if TEST_DATABASE_URL else " only (set TEST_DATABASE_URL for PostgreSQL)")
    return [f"databases: {dbs}", f"instance: {Path(__file__).resolve().parent.parent / 'instance'}"]
