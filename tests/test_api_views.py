"""The API's saved views: listed, created, run, changed with the version guard, deleted; in the OpenAPI document."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from tracker.extensions import db
from tracker.models import SavedView


@pytest.fixture(autouse=True)
def no_default_views(app):
    """Start without the migration's shared views."""
    db.session.execute(sa.delete(SavedView))
    db.session.commit()


def test_views_are_created_listed_run_changed_and_deleted(client, make_user, make_issue, token_for):
    grace = make_user("member", name="Grace", email="grace@example.com")
    headers = token_for(grace)
    mine = make_issue("Mine", assignee_id=grace.id)
    make_issue("Not mine")
    created = client.post("/api/views", json={"name": "My work", "query": "assignee:@me  is:open"}, headers=headers)
    assert created.status_code == 201
    body = created.get_json()
    assert (body["name"], body["query"], body["shared"], body["version"]) == ("My work", "assignee:@me is:open",
                                                                              False, 1)
    assert created.headers["Location"] == f"/api/views/{body['id']}"
    listed = client.get("/api/views", headers=headers).get_json()["items"]
    assert [(v["name"], v["count"], v["mine"]) for v in listed] == [("My work", 1, True)]
    run = client.get(f"/api/views/{body['id']}/issues", headers=headers).get_json()
    assert [i["id"] for i in run["items"]] == [mine.id] and run["total"] == 1
    changed = client.patch(f"/api/views/{body['id']}", json={"version": 1, "name": "Mine"}, headers=headers)
    assert changed.status_code == 200 and changed.get_json()["version"] == 2
    stale = client.patch(f"/api/views/{body['id']}", json={"version": 1, "query": "is:closed"}, headers=headers)
    assert stale.status_code == 409 and "was changed by someone else" in stale.get_json()["message"]
    assert client.delete(f"/api/views/{body['id']}?version=1", headers=headers).status_code == 409
    assert client.delete(f"/api/views/{body['id']}?version=2", headers=headers).status_code == 204
    assert client.get("/api/views", headers=headers).get_json()["items"] == []


def test_running_a_view_whose_label_was_deleted_says_so(client, make_user, token_for):
    """As GET /api/issues?q= does (400 naming the label), not an empty page that looks like no issue matches."""
    from tracker.labels import service as labels

    admin = make_user("admin")
    headers = token_for(admin)
    temp = labels.create_label(db.session, admin, "temp", "red")
    view = client.post("/api/views", json={"name": "Temp", "query": "label:temp"}, headers=headers).get_json()
    labels.delete_label(db.session, admin, temp.id)
    ran = client.get(f"/api/views/{view['id']}/issues", headers=headers)
    assert ran.status_code == 400 and ran.get_json()["message"] == "There is no label named 'temp'."
    assert client.get("/api/issues?q=label:temp", headers=headers).get_json()["message"] == ran.get_json()["message"]


def test_a_bad_query_is_422_with_the_message(client, token_for):
    response = client.post("/api/views", json={"name": "Typo", "query": "priorty:high"}, headers=token_for("member"))
    assert response.status_code == 422
    assert response.get_json()["details"]["query"] == "Unknown qualifier 'priorty' (did you mean priority?)."


def test_the_views_are_in_the_openapi_document(client):
    spec = client.get("/api/openapi.json").get_json()
    assert {"/api/views", "/api/views/{view_id}", "/api/views/{view_id}/issues"} <= set(spec["paths"]) or {
        "/views", "/views/{view_id}", "/views/{view_id}/issues"} <= set(spec["paths"])
    assert "Saved views" in [t["name"] for t in spec["tags"]]
