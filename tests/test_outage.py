"""Outages: an unreachable database answers every page and API call with a calm 503 (Retry-After, the security
headers, no database touched by the page); a connection killed in the middle of an import, a bulk change or an
edit answers 503, writes nothing, and the next request works (PostgreSQL)."""

from __future__ import annotations

import io
import json
from contextlib import contextmanager

import pytest
import sqlalchemy as sa
from werkzeug.datastructures import MultiDict

from tests.conftest import TEST_DATABASE_URL
from tests.helpers import HX, count_rows, form_for, hx, text
from tracker import create_app
from tracker.config import TestConfig
from tracker.extensions import db
from tracker.imports import writer
from tracker.models import ImportRun, Issue, IssueEvent, Label

UNREACHABLE = {
    "postgresql-closed-port": "postgresql://postgres@127.0.0.1:1/tracker",
    "sqlite-unopenable-path": "sqlite:////nonexistent-folder/for-tracker/tracker.db",
}


def assert_unavailable(response, api: bool = False) -> None:
    """A 503 with Retry-After and the security headers; the calm page, or for the API the JSON error."""
    assert response.status_code == 503, response.get_data(as_text=True)[:300]
    assert response.headers["Retry-After"] == "30"
    assert "frame-ancestors 'none'" in response.headers["Content-Security-Policy"]
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    if api:
        body = response.get_json()
        assert body["error"] in ("unavailable", "import_failed", "bulk_failed") and body["message"]
    else:
        page = text(response)
        assert "briefly unavailable" in page.lower() or "could not be saved" in page
        assert "nothing" in page.lower() and "Sign out" not in page


@pytest.fixture(params=list(UNREACHABLE), ids=list(UNREACHABLE))
def down(request):
    """An app whose database cannot be reached at all (nothing else is needed: the database is never there)."""
    app = create_app(TestConfig, {"SQLALCHEMY_DATABASE_URI": UNREACHABLE[request.param]})
    app.logger.disabled = True
    yield app
    with app.app_context():
        db.engine.dispose()


@pytest.mark.parametrize(
    ("method", "url", "headers", "data", "signed_in"),
    [
        ("GET", "/issues", {}, None, False),
        ("GET", "/login", {}, None, False),
        ("POST", "/login", {}, {"email": "a@example.com", "password": "secret-enough"}, False),
        ("GET", "/issues?status=open", {}, None, True),
        ("GET", "/issues/1", hx("issue-main"), None, True),
        ("POST", "/issues/1/edit", {}, {"title": "Typed while down", "version": "1"}, True),
        ("GET", "/issues/export.csv", {}, None, True),
        ("GET", "/nowhere", {}, None, True),
    ],
)
def test_pages_answer_503_while_the_database_is_unreachable(down, method, url, headers, data, signed_in):
    client = down.test_client()
    if signed_in:
        with client.session_transaction() as session:
            session["_user_id"] = "a-session-key-from-before-the-outage"
    response = client.open(url, method=method, headers=headers, data=data)
    assert_unavailable(response)
    if headers.get("HX-Request"):
        assert json.loads(response.headers["HX-Trigger"])["tracker:error"]["status"] == 503


@pytest.mark.parametrize(
    ("method", "url", "body"),
    [
        ("GET", "/api/issues", None),
        ("PATCH", "/api/issues/1", {"version": 1, "title": "x"}),
        ("GET", "/api/users", None),
    ],
)
def test_the_api_answers_503_json_while_the_database_is_unreachable(down, method, url, body):
    response = down.test_client().open(url, method=method, json=body, headers={"Authorization": "Bearer trk_x"})
    assert_unavailable(response, api=True)
    assert response.get_json()["error"] == "unavailable"


def test_static_files_and_the_api_docs_need_no_database(down):
    client = down.test_client()
    for url in ("/static/app.css", "/api/openapi.json"):
        response = client.get(url)
        assert response.status_code == 200, url
        response.close()


# ---- a connection killed in the middle of a request (PostgreSQL) -----------------------------------------


def terminate(pid: int) -> None:
    """End a PostgreSQL backend from another connection, waiting until it is gone."""
    engine = sa.create_engine(TEST_DATABASE_URL)
    try:
        with engine.connect() as connection:
            assert connection.execute(sa.text("SELECT pg_terminate_backend(:pid, 5000)"), {"pid": pid}).scalar()
    finally:
        engine.dispose()


@contextmanager
def killed_before(statement_start: str):
    """Kill the app's own backend just before it runs a statement starting with `statement_start` (once)."""
    fired: list[str] = []

    def kill(conn, cursor, statement, parameters, context, executemany):
        if not fired and statement.lstrip().upper().startswith(statement_start):
            fired.append(statement)
            terminate(cursor.connection.get_backend_pid())

    sa.event.listen(db.engine, "before_cursor_execute", kill)
    try:
        yield fired
    finally:
        sa.event.remove(db.engine, "before_cursor_execute", kill)
    assert fired, f"no statement starting with {statement_start} ran"


def everything() -> list:
    """Every issue, event, label and import run, to prove nothing was written."""
    rows = []
    for model in (Issue, IssueEvent, Label):
        rows += [
            tuple(r) for r in db.session.execute(sa.select(model.__table__).order_by(*model.__table__.primary_key))
        ]
    rows += [
        (r.id, r.state, r.created_count)
        for r in db.session.execute(sa.select(ImportRun).order_by(ImportRun.id)).scalars()
    ]
    db.session.rollback()
    return rows


@pytest.fixture
def quiet(app):
    """The app's own error log is expected here."""
    app.logger.disabled = True
    yield
    app.logger.disabled = False


def test_an_edit_whose_connection_dies_answers_503_and_writes_nothing(
    app, postgres_only, quiet, client, login_as, make_issue
):
    login_as("member")
    issue = make_issue("Before the outage")
    before = everything()
    with killed_before("INSERT INTO ISSUE_EVENTS"):
        response = client.post(f"/issues/{issue.id}/edit", data=form_for(issue, title="Saved during the outage"))
    assert_unavailable(response)
    assert everything() == before
    assert client.get(f"/issues/{issue.id}").status_code == 200, "the next request works"
    assert client.post(f"/issues/{issue.id}/edit", data=form_for(issue, title="Saved after")).status_code == 303


def test_an_api_edit_whose_connection_dies_answers_503_json(app, postgres_only, quiet, client, make_issue, token_for):
    issue = make_issue("Before the outage")
    headers = token_for("member")
    before = everything()
    with killed_before("UPDATE ISSUES"):
        response = client.patch(f"/api/issues/{issue.id}", json={"version": 1, "title": "During"}, headers=headers)
    assert_unavailable(response, api=True)
    assert everything() == before
    response = client.patch(f"/api/issues/{issue.id}", json={"version": 1, "title": "After"}, headers=headers)
    assert response.status_code == 200


def test_a_bulk_change_whose_connection_dies_answers_503_and_writes_nothing(
    app, postgres_only, quiet, client, login_as, make_issue
):
    login_as("member")
    issues = [make_issue(f"Bulk {n}") for n in range(3)]
    form = MultiDict([("issue_ids", str(i.id)) for i in issues] + [(f"version_{i.id}", "1") for i in issues])
    form.add("status", "in_progress")
    before = everything()
    with killed_before("INSERT INTO ISSUE_EVENTS"):
        response = client.post("/issues/bulk", data=form, headers=hx("bulk-form"))
    assert response.status_code == 503 and response.headers["Retry-After"] == "30"
    assert "could not be saved" in json.loads(response.headers["HX-Trigger"])["tracker:error"]["message"]
    assert everything() == before
    assert client.post("/issues/bulk", data=form).status_code == 303, "the next request works"


def kill_mid_copy(monkeypatch, after_rows: int = 500) -> list[int]:
    """Make the import's COPY of issues lose its connection after `after_rows` rows."""
    real_copy = writer.copy_rows
    killed: list[int] = []

    def copy_then_die(session, table, columns, rows):
        pid = session.execute(sa.text("SELECT pg_backend_pid()")).scalar_one()

        def rows_until_killed():
            for number, row in enumerate(rows):
                if number == after_rows and not killed and table == "issues":
                    killed.append(pid)
                    terminate(pid)
                yield row

        return real_copy(session, table, columns, rows_until_killed())

    monkeypatch.setattr(writer, "copy_rows", copy_then_die)
    return killed


def csv_file(rows: int) -> bytes:
    """A CSV of new issues, each naming a label no one has made yet."""
    return ("title,labels\n" + "".join(f"Imported {n},brand-new-{n % 7}\n" for n in range(rows))).encode()


def test_an_import_whose_connection_dies_mid_copy_answers_503_and_writes_nothing(
    app, postgres_only, quiet, client, login_as, monkeypatch
):
    login_as("member")
    before = everything()
    killed = kill_mid_copy(monkeypatch)
    response = client.post("/import", data={"file": (io.BytesIO(csv_file(3000)), "big.csv")})
    assert killed and response.status_code == 503 and response.headers["Retry-After"] == "30"
    assert "nothing was imported" in text(response)
    assert [r for r in everything() if len(r) != 3] == [r for r in before if len(r) != 3], "no issue or label"
    run = db.session.execute(sa.select(ImportRun)).scalar_one()
    assert (run.state, run.failure) == (
        "staged",
        "The import could not be saved and nothing was imported. Please try again.",
    )
    db.session.rollback()
    page = text(client.get("/imports"))
    assert "big.csv" in page and "could not be saved" in page, "the failed file waits in the history"
    monkeypatch.undo()
    response = client.post(f"/imports/{run.id}/import", data={"policy": "all_or_nothing"})
    assert response.status_code == 303 and count_rows(Issue) == 3000, "the next request works"


def test_an_api_import_whose_connection_dies_mid_copy_answers_503_json(
    app, postgres_only, quiet, client, token_for, monkeypatch
):
    headers = token_for("member")
    before = everything()
    kill_mid_copy(monkeypatch)
    response = client.post(
        "/api/issues/import", data={"file": (io.BytesIO(csv_file(3000)), "big.csv")}, headers=headers
    )
    assert_unavailable(response, api=True)
    assert response.get_json()["error"] == "import_failed"
    assert [r for r in everything() if len(r) != 3] == [r for r in before if len(r) != 3]
    monkeypatch.undo()
    response = client.post("/api/issues/import", data={"file": (io.BytesIO(csv_file(10)), "b.csv")}, headers=headers)
    assert response.status_code == 201


def test_a_rollback_on_a_dead_connection_does_not_raise(app, postgres_only, quiet, make_user):
    """The session lets go of a connection whose backend is gone (its rollback would raise InterfaceError)."""
    from tracker.outage import discard

    make_user()
    pid = db.session.execute(sa.text("SELECT pg_backend_pid()")).scalar_one()
    terminate(pid)
    raw = db.session.connection().connection.dbapi_connection
    with pytest.raises(Exception):  # noqa: B017 - psycopg2's error for a dead connection varies
        raw.cursor().execute("SELECT 1")
    discard(db.session)
    assert db.session.execute(sa.text("SELECT 1")).scalar_one() == 1


def test_the_error_page_touches_no_database(app, client, login_as, count_statements):
    """A 404 for a signed-in person: one statement (finding the session), none for the page itself."""
    login_as("member")
    with count_statements() as statements:
        response = client.get("/nowhere", headers=HX)
    assert response.status_code == 404
    assert len(statements) == 1 and "user_sessions" in statements[0]
