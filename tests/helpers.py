"""Helpers that several test files share: a page's text, htmx request headers, the edit form, row counts."""

from __future__ import annotations

import html

import schemathesis
import sqlalchemy as sa
from flask import g

from tracker.auth import sessions
from tracker.extensions import db

HX = {"HX-Request": "true"}  # the header htmx sends with every request it makes

# The CSV export's header row, as a person's spreadsheet sees it (spelled out, not read from the app).
EXPORT_HEADER = [
    "id", "title", "description", "status", "priority", "assignee", "labels",
    "created_at", "updated_at", "resolved_at", "version", "key",
]


def text(response) -> str:
    """The response body with HTML entities decoded, to compare with messages."""
    return html.unescape(response.get_data(as_text=True))


def hx(target: str) -> dict[str, str]:
    """Headers of an htmx request aimed at the element with this id (the view answers with that block)."""
    return {**HX, "HX-Target": target}


def form_for(issue, **changes) -> dict[str, str]:
    """The issue's edit form as the browser would post it, with these fields changed."""
    data = {
        "title": issue.title,
        "description": issue.description,
        "status": issue.status,
        "priority": issue.priority,
        "assignee_id": str(issue.assignee_id or ""),
        "version": str(issue.version),
    }
    data.update(changes)
    return data


def count_rows(model) -> int:
    """How many rows the model's table holds, as this session sees it."""
    return db.session.execute(sa.select(sa.func.count()).select_from(model)).scalar_one()


def sign_in_client(client, user, address: str = "127.0.0.1", agent: str = "pytest") -> str:
    """Sign a test client in as `user` with a real session row, as signing in would (no password hashing);
    returns the session's key. Flask-Login's user cached in the shared app context is forgotten."""
    _row, key = sessions.start_session(db.session, user, address, agent)
    with client.session_transaction() as session:
        session["_user_id"] = key
        session["_fresh"] = True
    g.pop("_login_user", None)
    g.pop("user_session", None)
    return key


def assert_documented(app, response, method: str, path: str) -> None:
    """The API's answer is one the OpenAPI document declares for this operation (`path` as the document writes
    it, e.g. /api/issues/{issue_id}): its status listed by itself, not only covered by `default`, and its body
    matching the schema declared for that status (schemathesis validates it)."""
    operation = schemathesis.openapi.from_wsgi("/api/openapi.json", app)[path][method.upper()]
    declared = operation.definition.raw["responses"]
    assert str(response.status_code) in declared, f"{method.upper()} {path} does not declare {response.status_code}"
    operation.validate_response(response)
