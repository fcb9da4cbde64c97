"""Undoing an import (issue 22): its issues to the trash in one transaction, changed ones reported, redo."""

import io
import threading

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session

from tests.helpers import text
from tracker.comments import service as comments
from tracker.errors import Forbidden
from tracker.extensions import db
from tracker.imports import service as imports
from tracker.imports import staging, undo
from tracker.issues import service as issues
from tracker.models import Issue, IssueEvent, utcnow
from tracker.trash import service as trash


def imported(user, titles, name="issues.csv"):
    """Import these titles as `user`; the run."""
    content = ("title\n" + "".join(f"{t}\n" for t in titles)).encode()
    run = staging.stage(db.session, user, name, io.BytesIO(content))
    return imports.run_import(db.session, user, run, "all_or_nothing", staging.mapping_of(run))


def live_ids() -> list[int]:
    """Ids of the issues not in the trash."""
    db.session.expire_all()
    return list(db.session.execute(sa.select(Issue.id).where(Issue.deleted_at.is_(None)).order_by(Issue.id)).scalars())


@pytest.fixture
def importer(make_user):
    return make_user("member", name="Ivy Importer")


def test_undo_moves_exactly_the_imported_issues_to_the_trash(importer, make_issue):
    before = make_issue("Made by hand")
    run = imported(importer, ["One", "Two", "Three"])
    after = make_issue("Also by hand")
    assert undo.undo_import(db.session, importer, run.id) == 3
    assert live_ids() == [before.id, after.id]
    run = staging.get_run(db.session, run.id)
    assert run.undone_by_id == importer.id and run.undone_at is not None and undo.is_undone(run)
    kinds = db.session.execute(sa.select(IssueEvent.kind).where(IssueEvent.kind == "deleted")).scalars().all()
    assert len(kinds) == 3


def test_a_changed_issue_stops_the_undo_and_is_listed(importer, make_user, snapshot):
    run = imported(importer, ["One", "Two", "Three"])
    editor = make_user("member", name="Ed Editor")
    first = run.first_issue_id
    issues.update_issue(db.session, editor, first, 1, {"priority": "high"})
    comments.add_comment(db.session, editor, first + 2, "Seen it")
    before = snapshot()
    with pytest.raises(undo.ImportChanged) as caught:
        undo.undo_import(db.session, importer, run.id)
    assert snapshot() == before
    assert caught.value.total == 2
    listed = {c.issue_id: (c.what, c.who) for c in caught.value.changed}
    assert listed == {first: ("priority", "Ed Editor"), first + 2: ("commented", "Ed Editor")}


def test_undo_the_untouched_ones_only(importer, make_user):
    run = imported(importer, ["One", "Two", "Three"])
    first = run.first_issue_id
    issues.update_issue(db.session, make_user("member"), first + 1, 1, {"title": "Two, edited"})
    assert undo.undo_import(db.session, importer, run.id, untouched_only=True) == 2
    assert live_ids() == [first + 1]


@pytest.mark.parametrize("untouched_only", [False, True])
def test_an_edit_saved_while_the_undo_runs_is_seen(app, importer, make_user, untouched_only, postgres_only):
    """An edit of an imported issue committed while the undo waits for its row counts as a change: the undo stops
    (409) or, untouched only, leaves that issue out (it trashed the edited issue either way)."""
    run = imported(importer, ["One", "Two", "Three"])
    first, editor = run.first_issue_id, make_user("member", name="Ed Editor")
    outcome = {}
    with db.engine.connect() as connection:
        editing = Session(bind=connection)  # an edit saved at this moment, not committed yet
        editing.execute(sa.update(Issue).where(Issue.id == first).values(priority="high", version=2))
        editing.execute(sa.insert(IssueEvent).values(
            issue_id=first, actor_id=editor.id, kind="updated", changes={"priority": ["medium", "high"]}, version=2,
            created_at=utcnow(),
        ))

        def undo_now():
            with app.app_context():
                try:
                    outcome["moved"] = undo.undo_import(db.session, importer, run.id, untouched_only=untouched_only)
                except undo.ImportChanged as exc:
                    outcome["changed"] = [c.issue_id for c in exc.changed]
                db.session.remove()

        undoing = threading.Thread(target=undo_now)
        undoing.start()
        undoing.join(1.0)  # the undo waits for the edited issue's row
        editing.commit()
        editing.close()
        undoing.join()
    if untouched_only:
        assert outcome == {"moved": 2} and live_ids() == [first]
        deleted = db.session.execute(sa.select(IssueEvent.issue_id).where(IssueEvent.kind == "deleted")).scalars()
        assert sorted(deleted) == [first + 1, first + 2]
    else:
        assert outcome == {"changed": [first]} and live_ids() == [first, first + 1, first + 2]
        assert not undo.is_undone(staging.get_run(db.session, run.id))


def test_redo_restores_what_the_undo_moved_and_nothing_else(importer, make_user):
    admin = make_user("admin", name="Ada Admin")
    run = imported(importer, ["One", "Two", "Three"])
    first = run.first_issue_id
    trash.delete_issue(db.session, admin, first)  # deleted by hand before the undo: stays in the trash
    undo.undo_import(db.session, importer, run.id)
    assert live_ids() == []
    assert undo.redo_import(db.session, admin, run.id) == 2
    assert live_ids() == [first + 1, first + 2]
    run = staging.get_run(db.session, run.id)
    assert not undo.is_undone(run) and run.redone_by_id == admin.id
    with pytest.raises(undo.NothingToUndo):
        undo.redo_import(db.session, admin, run.id)
    # undone again: the earlier trash entries are not changes
    assert undo.undo_import(db.session, importer, run.id) == 2


def test_only_the_importer_or_an_admin_undoes(importer, make_user, snapshot):
    run = imported(importer, ["One"])
    other = make_user("member")
    before = snapshot()
    with pytest.raises(Forbidden):
        undo.undo_import(db.session, other, run.id)
    assert snapshot() == before


def test_undo_is_a_constant_number_of_statements(importer, count_statements):
    run = imported(importer, [f"Issue {n}" for n in range(40)])
    with count_statements() as statements:
        undo.undo_import(db.session, importer, run.id)
    writes = [s for s in statements if s.split()[0].upper() in ("UPDATE", "INSERT", "DELETE")]
    assert len(writes) == 3  # the issues, their 'deleted' entries, the import run


# ---- pages and API ------------------------------------------------------------------------------


def test_the_undo_page_asks_then_undoes_and_the_history_says_who(client, login, importer, make_user):
    run = imported(importer, ["One", "Two"])
    login(importer)
    page = client.get(f"/imports/{run.id}")
    assert f"/imports/{run.id}/undo" in text(page)
    question = client.get(f"/imports/{run.id}/undo")
    assert question.status_code == 200 and "None of them changed since the import." in text(question)
    assert client.post(f"/imports/{run.id}/undo").status_code == 303
    assert live_ids() == []
    page = text(client.get(f"/imports/{run.id}"))
    assert "Undone by Ivy Importer" in page and "Redo" in page
    assert "undone by Ivy Importer" in text(client.get("/imports"))
    assert client.post(f"/imports/{run.id}/redo").status_code == 303
    assert len(live_ids()) == 2
    assert "redone by Ivy Importer" in text(client.get(f"/imports/{run.id}"))


def test_the_undo_page_lists_changes_and_refuses_with_409(client, login, importer, make_user, snapshot):
    run = imported(importer, ["One", "Two"])
    issues.update_issue(db.session, make_user("member", name="Ed Editor"), run.first_issue_id, 1, {"status": "closed"})
    login(importer)
    question = text(client.get(f"/imports/{run.id}/undo"))
    assert "1 of them changed since the import" in question and "Ed Editor" in question
    before = snapshot()
    response = client.post(f"/imports/{run.id}/undo")
    assert response.status_code == 409 and "nothing was undone" in text(response)
    assert snapshot() == before
    assert client.post(f"/imports/{run.id}/undo", data={"untouched_only": "1"}).status_code == 303
    assert live_ids() == [run.first_issue_id]


def test_redo_never_gives_two_issues_one_key(client, token_for, importer, snapshot):
    # Undo an import of a Jira file, import the file again (its keys are free: the first issues are in the trash),
    # then redo the first import: both issues were live with key P-1, and every later import of that Jira file
    # refused the row ("2 issues have the key P-1"), as would a restore of the first issue from the trash.
    def jira(title):
        content = f"Summary,Issue key\n{title},P-1\n".encode()
        run = staging.stage(db.session, importer, "jira.csv", io.BytesIO(content))
        return imports.run_import(db.session, importer, run, "all_or_nothing", staging.mapping_of(run))

    first = jira("One")
    undo.undo_import(db.session, importer, first.id)
    again = jira("One again")
    before = snapshot()
    refused = client.post(f"/api/imports/{first.id}/redo", headers=token_for(importer))
    assert refused.status_code == 409
    message = refused.get_json()["message"]
    assert f"#{first.first_issue_id}'s key P-1 is #{again.first_issue_id}'s now" in message
    assert "Nothing was restored" in message
    assert snapshot() == before and live_ids() == [again.first_issue_id]


def test_api_undo_and_redo(client, token_for, importer, make_user):
    run = imported(importer, ["One", "Two"])
    issues.update_issue(db.session, make_user("member", name="Ed Editor"), run.first_issue_id, 1, {"priority": "low"})
    headers = token_for(importer)
    refused = client.post(f"/api/imports/{run.id}/undo", json={}, headers=headers)
    assert refused.status_code == 409
    assert refused.get_json()["details"] == [{"issue_id": run.first_issue_id, "what": "priority", "who": "Ed Editor"}]
    done = client.post(f"/api/imports/{run.id}/undo", json={"untouched_only": True}, headers=headers)
    assert done.status_code == 200 and done.get_json()["count"] == 1
    back = client.post(f"/api/imports/{run.id}/redo", headers=headers)
    assert back.status_code == 200 and back.get_json()["count"] == 1
