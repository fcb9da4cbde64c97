"""The trash (issue 22): delete, restore and purge issues; gone from every list, search, report, export and the API."""

import threading
from datetime import datetime, timedelta, timezone

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session

from tests.helpers import HX, assert_documented, count_rows, text
from tracker.comments import service as comments
from tracker.errors import Forbidden, InvalidInput, IssueDeleted, NotFound, StaleVersion
from tracker.extensions import db
from tracker.issues import queries
from tracker.issues import service as issues
from tracker.labels import service as labels
from tracker.models import Comment, Issue, IssueEvent, IssueLabel, utcnow
from tracker.reports import queries as reports
from tracker.trash import service as trash
from tracker.trash.tasks import purge_trash


def listed(**args) -> list[int]:
    """Ids the issue list shows for these query parameters."""
    view, errors, _labels = queries.load_filter(db.session, _Args(args))
    assert not errors
    return [i.id for i in queries.list_issues(db.session, view, per_page=100).items]


class _Args(dict):
    def getlist(self, key):
        value = self.get(key)
        return [] if value is None else (value if isinstance(value, list) else [value])


@pytest.fixture
def admin(make_user):
    return make_user("admin", name="Ada Admin")


# ---- service --------------------------------------------------------------------------------------


def test_a_deleted_issue_leaves_lists_search_labels_and_reports(admin, make_issue, make_label):
    bug = make_label("bug")
    kept = make_issue("Login crash kept", labels=[bug.id])
    gone = make_issue("Login crash gone", labels=[bug.id])
    trash.delete_issue(db.session, admin, gone.id)
    assert listed() == [kept.id]
    assert listed(q="crash") == [kept.id]
    assert listed(label="bug") == [kept.id]  # the lone-label path reads issue_labels alone
    assert dict((label.name, n) for label, n in labels.labels_with_counts(db.session))["bug"] == 1
    scope, errors = reports.scope_from_args(db.session, _Args({}), utcnow().date())
    assert not errors
    assert reports.open_issues(db.session, scope, utcnow().date()).total == 1
    with pytest.raises(IssueDeleted) as caught:
        issues.get_issue(db.session, gone.id)
    assert caught.value.trash_message.startswith(f"Issue #{gone.id} was deleted by Ada Admin on ")
    with pytest.raises(Exception):  # noqa: B017  comments on an issue in the trash are not found
        comments.add_comment(db.session, admin, gone.id, "Too late")


def test_a_restore_that_would_give_two_issues_one_key_is_refused(admin, make_issue, snapshot):
    old, newer, other = make_issue("From Jira"), make_issue("From Jira again"), make_issue("Another")
    for issue, key in ((old, "P-1"), (newer, "P-1"), (other, "P-2")):
        db.session.execute(sa.update(Issue).where(Issue.id == issue.id).values(external_key=key))
    db.session.commit()
    trash.delete_issue(db.session, admin, old.id)  # its import undone; the file imported again made `newer`
    trash.delete_issue(db.session, admin, other.id)
    before = snapshot()
    with pytest.raises(trash.TrashConflict, match=f"#{old.id}'s key P-1 is #{newer.id}'s now"):
        trash.restore_issues(db.session, admin, [old.id, other.id])
    assert snapshot() == before
    assert trash.restore_issues(db.session, admin, [other.id]) == 1

    trash.delete_issue(db.session, admin, newer.id)  # both with P-1 in the trash: only one may come back
    with pytest.raises(trash.TrashConflict, match=f"#{old.id} and #{newer.id} both have the key P-1"):
        trash.restore_issues(db.session, admin, [old.id, newer.id])
    assert trash.restore_issues(db.session, admin, [newer.id]) == 1


def test_restore_brings_back_everything(admin, make_issue, make_label):
    bug = make_label("bug")
    issue = make_issue("Keep me", labels=[bug.id])
    comments.add_comment(db.session, admin, issue.id, "A note")
    trash.delete_issue(db.session, admin, issue.id)
    assert trash.trash_page(db.session).total == 1
    trash.restore_issues(db.session, admin, [issue.id])
    back = issues.get_issue(db.session, issue.id)
    assert [label.name for label in back.labels] == ["bug"]
    assert len(comments.issue_comments(db.session, issue.id)) == 1
    kinds = db.session.execute(
        sa.select(IssueEvent.kind).where(IssueEvent.issue_id == issue.id).order_by(IssueEvent.id)
    ).scalars().all()
    assert kinds == ["created", "comment", "deleted", "restored"]
    assert listed() == [issue.id]
    assert trash.trash_page(db.session).total == 0


@pytest.mark.parametrize(
    ("asked", "error", "message"),
    [
        (["missing"], NotFound, "Issue #999 does not exist."),
        (["trashed", "missing"], NotFound, "Issue #999 does not exist. Nothing was restored."),
        (["trashed", "missing", "live"], NotFound, "Issue #999 does not exist. Nothing was restored."),
        (["trashed", "live"], trash.TrashConflict, trash.NOT_IN_TRASH),
        (["live"], trash.TrashConflict, trash.NOT_IN_TRASH),
    ],
)
def test_restoring_an_issue_that_never_existed_is_not_found(admin, make_issue, snapshot, asked, error, message):
    """Fewer issues restored than asked: NotFound names those that never existed, else the issues are not in the
    trash (TrashConflict); either way nothing changed."""
    ids = {"trashed": make_issue("Trashed").id, "live": make_issue("Live").id, "missing": 999}
    trash.delete_issue(db.session, admin, ids["trashed"])
    before = snapshot()
    with pytest.raises(error) as caught:
        trash.restore_issues(db.session, admin, [ids[name] for name in asked])
    assert caught.value.message == message
    assert snapshot() == before


def test_only_admins_delete(make_user, make_issue, snapshot):
    issue, member = make_issue(), make_user("member")
    before = snapshot()
    with pytest.raises(Forbidden):
        trash.delete_issue(db.session, member, issue.id)
    assert snapshot() == before


def test_delete_with_an_old_version_is_stale_and_changes_nothing(admin, make_issue, snapshot):
    issue = make_issue()
    issues.update_issue(db.session, admin, issue.id, 1, {"title": "Renamed"})
    before = snapshot()
    with pytest.raises(StaleVersion):
        trash.delete_issue(db.session, admin, issue.id, version="1")
    assert snapshot() == before


def test_delete_with_a_version_newer_than_the_issue_is_invalid_as_a_change_is(admin, make_issue, snapshot):
    issue = make_issue()
    before = snapshot()
    with pytest.raises(InvalidInput) as caught:
        trash.delete_issue(db.session, admin, issue.id, version="2")
    assert caught.value.details == {"version": "Version 2 is newer than the issue's current version 1."}
    with pytest.raises(InvalidInput) as changing:
        issues.update_issue(db.session, admin, issue.id, 2, {"title": "Renamed"})
    assert changing.value.details == caught.value.details
    assert snapshot() == before


def test_bulk_delete_is_all_or_nothing(admin, make_issue, snapshot):
    a, b, c = (make_issue(f"I{n}") for n in range(3))
    trash.delete_issue(db.session, admin, c.id)
    before = snapshot()
    with pytest.raises(trash.TrashConflict) as caught:
        trash.delete_issues(db.session, admin, [a.id, b.id, c.id])
    assert f"#{c.id} no longer exists or is already deleted" in caught.value.message
    assert snapshot() == before
    assert trash.delete_issues(db.session, admin, [a.id, b.id], {a.id: 1, b.id: 1}) == 2
    assert listed() == []


def test_bulk_delete_with_a_stale_version_deletes_nothing(admin, make_issue, snapshot):
    a, b = make_issue("A"), make_issue("B")
    issues.update_issue(db.session, admin, b.id, 1, {"priority": "high"})
    before = snapshot()
    with pytest.raises(trash.TrashConflict) as caught:
        trash.delete_issues(db.session, admin, [a.id, b.id], {a.id: 1, b.id: 1})
    assert "changed since you loaded the list" in caught.value.message
    assert snapshot() == before


def test_bulk_delete_is_a_constant_number_of_statements(admin, make_issue, count_statements):
    made = [make_issue(f"I{n}") for n in range(30)]
    with count_statements() as statements:
        trash.delete_issues(db.session, admin, [i.id for i in made], {i.id: 1 for i in made})
    writes = [s for s in statements if s.split()[0].upper() in ("UPDATE", "INSERT", "DELETE")]
    assert len(writes) == 2


def test_purge_keeps_a_tombstone_and_the_number_is_never_reused(admin, make_issue):
    first = make_issue("First")
    last = make_issue("Last")
    comments.add_comment(db.session, admin, last.id, "gone with it")
    trash.delete_issue(db.session, admin, last.id)
    assert trash.purge_issues(db.session, admin, [last.id]) == 1
    db.session.expire_all()
    tomb = db.session.get(Issue, last.id)
    assert tomb.purged_at is not None and tomb.title == "" and tomb.deleted_by_id == admin.id
    assert count_rows(Comment) == 0
    assert db.session.execute(sa.select(sa.func.count()).where(IssueEvent.issue_id == last.id)).scalar_one() == 0
    assert db.session.execute(sa.select(sa.func.count()).where(IssueLabel.issue_id == last.id)).scalar_one() == 0
    newer = make_issue("Newer")
    assert newer.id > last.id > first.id
    with pytest.raises(IssueDeleted) as caught:
        issues.get_issue(db.session, last.id)
    assert caught.value.purged and "purged" in caught.value.trash_message
    with pytest.raises(trash.TrashConflict):
        trash.restore_issues(db.session, admin, [last.id])


def test_the_retention_purge_takes_only_old_deletions(app, admin, make_issue):
    old, recent = make_issue("Old"), make_issue("Recent")
    trash.delete_issues(db.session, admin, [old.id, recent.id])
    db.session.execute(
        sa.update(Issue).where(Issue.id == old.id).values(deleted_at=utcnow() - timedelta(days=31))
    )
    db.session.commit()
    assert purge_trash(db.session, utcnow()) == 1
    assert [row.id for row in trash.trash_page(db.session).items] == [recent.id]
    app.config["TRASH_RETENTION_DAYS"] = 0
    assert purge_trash(db.session, utcnow() + timedelta(seconds=1)) == 1
    assert trash.trash_page(db.session).total == 0


def test_a_restore_at_the_moment_of_the_retention_purge_keeps_everything(app, admin, make_issue, postgres_only):
    """The purge takes the issue's row first: a restore that got there before it (uncommitted while the purge runs)
    wins, and the issue comes back with its comments, labels and history (they were deleted under it)."""
    bug = labels.create_label(db.session, admin, "bug", "red")
    issue = make_issue("Old", labels=[bug.id])
    comments.add_comment(db.session, admin, issue.id, "Still relevant")
    trash.delete_issues(db.session, admin, [issue.id])
    db.session.execute(sa.update(Issue).where(Issue.id == issue.id).values(deleted_at=utcnow() - timedelta(days=31)))
    db.session.commit()
    outcome = {}
    with db.engine.connect() as connection:
        restoring = Session(bind=connection)
        assert trash.bring_back(restoring, admin, Issue.id == issue.id, utcnow()) == 1  # not committed yet

        def purge():
            with app.app_context():
                outcome["purged"] = trash.purge_expired(db.session, utcnow())
                db.session.remove()

        purging = threading.Thread(target=purge)
        purging.start()
        purging.join(1.0)  # it waits for the restore's row lock
        restoring.commit()
        restoring.close()
        purging.join()
    assert outcome["purged"] == 0
    db.session.expire_all()
    back = db.session.get(Issue, issue.id)
    assert back.deleted_at is None and back.purged_at is None and back.title == "Old"
    assert count_rows(Comment) == 1 and count_rows(IssueLabel) == 1
    kinds = db.session.execute(sa.select(IssueEvent.kind).where(IssueEvent.issue_id == issue.id)).scalars().all()
    assert "created" in kinds and "deleted" in kinds and "restored" in kinds


def test_the_purge_command(app, runner, admin, make_issue):
    issue = make_issue()
    trash.delete_issue(db.session, admin, issue.id)
    app.config["TRASH_RETENTION_DAYS"] = 0
    result = runner.invoke(args=["trash", "purge"])
    assert result.exit_code == 0, result.output
    assert "Purged 1 issue deleted more than 0 days ago." in result.output


# ---- pages ------------------------------------------------------------------------------------------


def test_delete_asks_first_without_javascript_then_moves_to_the_trash(client, login, admin, make_issue):
    issue = make_issue("Doomed")
    login(admin)
    page = client.get(f"/issues/{issue.id}")
    assert f"/issues/{issue.id}/delete" in text(page)
    question = client.get(f"/issues/{issue.id}/delete")
    assert question.status_code == 200 and f"Delete #{issue.id} Doomed?" in text(question)
    response = client.post(f"/issues/{issue.id}/delete", data={"version": "1"})
    assert response.status_code == 303
    assert listed() == []
    trash_page = client.get("/admin/trash")
    assert "Doomed" in text(trash_page) and "Ada Admin" in text(trash_page)


def test_htmx_delete_redirects_to_the_list(client, login, admin, make_issue):
    issue = make_issue()
    login(admin)
    response = client.post(f"/issues/{issue.id}/delete", data={"version": "1"}, headers=HX)
    assert response.status_code == 200 and response.headers["HX-Redirect"] == "/issues"


def test_a_link_to_a_deleted_issue(client, login, make_user, admin, make_issue):
    issue = make_issue()
    trash.delete_issue(db.session, admin, issue.id)
    login(admin)
    page = client.get(f"/issues/{issue.id}")
    assert page.status_code == 404
    assert "Deleted by Ada Admin on" in text(page) and f"Restore #{issue.id}" in text(page)
    login(make_user("member"))
    page = client.get(f"/issues/{issue.id}")
    assert page.status_code == 404 and "Ada Admin" not in text(page)


def test_restore_and_purge_from_the_trash_page(client, login, admin, make_issue):
    a, b = make_issue("A"), make_issue("B")
    trash.delete_issues(db.session, admin, [a.id, b.id])
    login(admin)
    assert client.post("/admin/trash/restore", data={"issue_ids": [str(a.id)]}).status_code == 303
    assert listed() == [a.id]
    question = client.get(f"/admin/trash/{b.id}/purge")
    assert question.status_code == 200 and "cannot be brought back" in text(question)
    assert client.post(f"/admin/trash/{b.id}/purge").status_code == 303
    assert trash.trash_page(db.session).total == 0


def test_restoring_from_the_trash_page_an_issue_that_never_existed_is_404(client, login, admin, make_issue,
                                                                         make_user, snapshot):
    """As the API answers: 404 for an issue that never existed, 409 for one that is not in the trash."""
    kept, live, member = make_issue("Kept in the trash"), make_issue("Live"), make_user("member")
    trash.delete_issue(db.session, admin, kept.id)
    before = snapshot()
    login(member)
    assert client.post("/admin/trash/restore", data={"issue_ids": ["999"]}).status_code == 403  # who first
    login(admin)
    response = client.post("/admin/trash/restore", data={"issue_ids": ["999"]})
    assert response.status_code == 404 and "Issue #999 does not exist." in text(response)
    response = client.post("/admin/trash/restore", data={"issue_ids": [str(kept.id), "999"]})
    assert response.status_code == 404 and "Issue #999 does not exist. Nothing was restored." in text(response)
    response = client.post("/admin/trash/restore", data={"issue_ids": [str(live.id)]})
    assert response.status_code == 409 and trash.NOT_IN_TRASH in text(response)
    assert snapshot() == before and trash.trash_page(db.session).total == 1


def test_bulk_delete_from_the_list_asks_first_then_deletes_all(client, login, admin, make_issue):
    made = [make_issue(f"I{n}") for n in range(3)]
    login(admin)
    form = {"issue_ids": [str(i.id) for i in made], "filter": "", "page": "1"}
    form.update({f"version_{i.id}": "1" for i in made})
    question = client.post("/issues/bulk-delete", data=form)
    assert question.status_code == 200 and "Delete 3 issues?" in text(question)
    assert len(listed()) == 3  # only asked
    response = client.post("/issues/bulk-delete", data={**form, "confirmed": "1"})
    assert response.status_code == 303
    assert listed() == []


def test_bulk_delete_blocked_shows_why(client, login, admin, make_issue, snapshot):
    a, b = make_issue("A"), make_issue("B")
    trash.delete_issue(db.session, admin, b.id)
    login(admin)
    before = snapshot()
    form = {"issue_ids": [str(a.id), str(b.id)], "version_%d" % a.id: "1", "version_%d" % b.id: "1",
            "filter": "", "page": "1", "confirmed": "1"}
    response = client.post("/issues/bulk-delete", data=form, headers={**HX, "HX-Target": "bulk-form"})
    assert response.status_code == 409
    assert "Nothing was deleted" in text(response)
    assert snapshot() == before


# ---- API ----------------------------------------------------------------------------------------------


def test_api_delete_and_restore(client, token_for, admin, make_issue):
    issue = make_issue("Via API")
    headers = token_for(admin)
    assert client.delete(f"/api/issues/{issue.id}?version=1", headers=headers).status_code == 204
    assert client.get("/api/issues", headers=headers).get_json()["items"] == []
    gone = client.get(f"/api/issues/{issue.id}", headers=headers)
    assert gone.status_code == 404 and gone.get_json()["details"]["deleted_by"] == "Ada Admin"
    member = client.get(f"/api/issues/{issue.id}", headers=token_for("member"))
    assert member.status_code == 404 and member.get_json()["details"] is None
    restored = client.post(f"/api/issues/{issue.id}/restore", headers=headers)
    assert restored.status_code == 200 and restored.get_json()["title"] == "Via API"
    assert client.post(f"/api/issues/{issue.id}/restore", headers=headers).status_code == 409  # not in the trash
    missing = client.post("/api/issues/999999/restore", headers=headers)
    assert missing.status_code == 404 and missing.get_json()["error"] == "not_found"
    assert missing.get_json()["message"] == "Issue #999999 does not exist."
    refused = client.post("/api/issues/999999/restore", headers=token_for("member"))
    assert refused.status_code == 403  # who may restore, before whether the issue exists


def test_api_delete_of_a_stale_version_is_409_with_the_issue_now_as_the_document_says(
    app, client, token_for, admin, make_issue, snapshot
):
    issue, headers = make_issue("Start"), token_for(admin)
    issues.update_issue(db.session, admin, issue.id, 1, {"title": "Theirs"})
    before = snapshot()
    response = client.delete(f"/api/issues/{issue.id}?version=1", headers=headers)
    assert response.status_code == 409
    body = response.get_json()
    assert body["error"] == "version_conflict" and body["message"] == f"Issue #{issue.id} changed since version 1."
    assert body["details"] == {"expected_version": 1, "current_version": 2}
    assert body["current"]["title"] == "Theirs" and body["current"]["version"] == 2
    assert_documented(app, response, "DELETE", "/api/issues/{issue_id}")
    patch = client.patch(f"/api/issues/{issue.id}", json={"title": "Mine", "version": 1}, headers=headers)
    assert patch.status_code == 409 and set(patch.get_json()) == set(body)  # the same conflict as PATCH's
    assert snapshot() == before


def test_api_delete_of_a_version_newer_than_the_issue_is_422_as_patch_is(app, client, token_for, admin, make_issue,
                                                                         snapshot):
    issue, headers = make_issue(), token_for(admin)
    before = snapshot()
    response = client.delete(f"/api/issues/{issue.id}?version=7", headers=headers)
    expected = {
        "error": "invalid",
        "message": "Please correct the marked fields.",
        "details": {"version": "Version 7 is newer than the issue's current version 1."},
    }
    assert response.status_code == 422 and response.get_json() == expected
    assert_documented(app, response, "DELETE", "/api/issues/{issue_id}")
    patch = client.patch(f"/api/issues/{issue.id}", json={"version": 7}, headers=headers)
    assert patch.status_code == 422 and patch.get_json() == expected
    assert snapshot() == before


def test_api_delete_of_an_issue_deleted_meanwhile_is_its_404(app, client, token_for, admin, make_issue, monkeypatch):
    """Deleted by someone else between the read and the guarded UPDATE: the conflict's answer cannot show the issue
    (it raised IssueDeleted inside the 409's handler: a 500); it is the trash's 404."""
    issue, headers = make_issue(), token_for(admin)
    moving = trash.move_to_trash

    def someone_else_first(session, actor, which, now):
        moving(session, actor, which, now)
        session.commit()
        return 0

    monkeypatch.setattr(trash, "move_to_trash", someone_else_first)
    response = client.delete(f"/api/issues/{issue.id}", headers=headers)
    assert response.status_code == 404
    assert response.get_json()["error"] == "deleted" and response.get_json()["details"]["deleted_by"] == "Ada Admin"
    assert_documented(app, response, "DELETE", "/api/issues/{issue_id}")


def test_api_trash_404_writes_deleted_at_as_every_api_time_is(app, client, token_for, admin, make_issue):
    issue, kept, headers = make_issue("Gone"), make_issue("Kept"), token_for(admin)
    trash.delete_issue(db.session, admin, issue.id)
    for when in ("in the trash", "purged"):
        gone = client.get(f"/api/issues/{issue.id}", headers=headers)
        assert gone.status_code == 404 and gone.get_json()["error"] == "deleted", when
        deleted_at = db.session.get(Issue, issue.id).deleted_at
        stamp = gone.get_json()["details"]["deleted_at"]
        assert stamp == deleted_at.isoformat() + "+00:00" and not stamp.endswith("Z"), when
        assert datetime.fromisoformat(stamp) == deleted_at.replace(tzinfo=timezone.utc), when
        assert gone.get_json()["details"]["purged"] is (when == "purged")
        assert_documented(app, gone, "GET", "/api/issues/{issue_id}")
        if when == "in the trash":
            trash.purge_issues(db.session, admin, [issue.id])
            db.session.expire_all()
    shown = client.get(f"/api/issues/{kept.id}", headers=headers).get_json()
    assert shown["created_at"].endswith("+00:00") and shown["updated_at"].endswith("+00:00")  # the same form


def test_api_delete_is_refused_to_members(client, token_for, make_issue, snapshot):
    issue, headers = make_issue(), token_for("member")
    before = snapshot()
    response = client.delete(f"/api/issues/{issue.id}", headers=headers)
    assert response.status_code == 403
    assert snapshot() == before


def test_the_export_leaves_deleted_issues_out(client, login, admin, make_issue):
    make_issue("Kept in export")
    gone = make_issue("Gone from export")
    trash.delete_issue(db.session, admin, gone.id)
    login(admin)
    body = client.get("/issues/export.csv").get_data(as_text=True)
    assert "Kept in export" in body and "Gone from export" not in body
