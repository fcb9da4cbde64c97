"""Another tracker's keys and reporters (issue 22): kept in a field, shown, searchable, exported, in the API; a newer
export of the same tracker updates by key; a reporter column names the reporter, the timeline the importer."""

import io

import sqlalchemy as sa

from tests.helpers import text
from tracker.extensions import db
from tracker.imports import service as imports
from tracker.imports import staging
from tracker.issues import queries
from tracker.issues.timeline import load_timeline
from tracker.models import Issue

JIRA = "Summary,Issue key,Status,Priority,Reporter\r\n{rows}"


def jira(*rows: str) -> bytes:
    """A Jira CSV export with these rows."""
    return JIRA.format(rows="".join(r + "\r\n" for r in rows)).encode()


def run(user, content: bytes, policy: str = "all_or_nothing"):
    """Stage and import the file as `user`."""
    staged = staging.stage(db.session, user, "jira.csv", io.BytesIO(content))
    return imports.run_import(db.session, user, staged, policy, staging.mapping_of(staged))


class _Args(dict):
    def getlist(self, key):
        return [self[key]] if key in self else []


def search(q: str) -> list[int]:
    """Ids the list shows for this search."""
    view, errors, _labels = queries.load_filter(db.session, _Args(q=q))
    assert not errors
    return [i.id for i in queries.list_issues(db.session, view, per_page=50).items]


def test_a_newer_export_updates_by_key_and_duplicates_nothing(make_user):
    me = make_user("member", name="Ivy Importer")
    first = run(me, jira("Login crash,PROJ-12,To Do,High,", "Slow search,PROJ-13,To Do,Low,"))
    assert first.created_count == 2
    second = run(
        me, jira("Login crash,PROJ-12,Done,High,", "Slow search,PROJ-13,To Do,Low,", "New one,PROJ-14,To Do,,")
    )
    db.session.expire_all()
    assert (second.created_count, second.updated_count, second.unchanged_count) == (1, 1, 1)
    rows = db.session.execute(sa.select(Issue.external_key, Issue.status).order_by(Issue.id)).all()
    assert [tuple(r) for r in rows] == [("PROJ-12", "resolved"), ("PROJ-13", "open"), ("PROJ-14", "open")]


def test_the_key_is_shown_searchable_exported_and_in_the_api(client, login, make_user, token_for):
    me = make_user("member")
    made = run(me, jira("Login crash,PROJ-12,To Do,High,"))
    issue_id = made.first_issue_id
    assert search("PROJ-12") == [issue_id] and search("proj-12") == [issue_id]
    assert search("crash") == [issue_id]
    login(me)
    assert "PROJ-12" in text(client.get(f"/issues/{issue_id}"))
    export = client.get("/issues/export.csv").get_data(as_text=True)
    assert export.splitlines()[0].endswith(",key") and export.splitlines()[1].endswith(",PROJ-12")
    body = client.get(f"/api/issues/{issue_id}", headers=token_for(me)).get_json()
    assert body["external_key"] == "PROJ-12"


def test_an_issue_found_by_its_key_and_its_words_is_listed_and_counted_once(make_user):
    me = make_user("member")
    made = run(me, jira("Crash in PROJ 12 after login,PROJ-12,To Do,High,", "Other,PROJ-13,To Do,,"))  # words and key
    view, errors, _labels = queries.load_filter(db.session, _Args(q="PROJ-12"))
    assert not errors
    page = queries.list_issues(db.session, view, per_page=50)
    assert [i.id for i in page.items] == [made.first_issue_id]
    assert page.total == 1 and not page.capped


def test_a_known_reporter_is_kept_and_the_importer_is_in_the_timeline(make_user):
    me = make_user("member", name="Ivy Importer")
    grace = make_user("viewer", name="Grace Reporter", email="grace@example.com")
    made = run(me, jira("Login crash,PROJ-12,To Do,High,grace@example.com", "Other,PROJ-13,To Do,,"))
    reporters = db.session.execute(sa.select(Issue.reporter_id).order_by(Issue.id)).scalars().all()
    assert reporters == [grace.id, me.id]
    entry = load_timeline(db.session, made.first_issue_id).entries[0]
    assert entry.kind == "imported" and entry.actor.name == "Ivy Importer"


def test_an_unknown_reporter_is_mapped_on_the_check_page(make_user):
    me = make_user("member")
    ada = make_user("member", name="Ada", email="ada@example.com")
    staged = staging.stage(db.session, me, "jira.csv", io.BytesIO(jira("Login crash,PROJ-12,To Do,High,old.name")))
    report = imports.check(db.session, staged)
    assert report.invalid == 1 and "to be the reporter" in report.errors[0].error
    assert report.unmatched == {"old.name": 1}
    mapping = staging.mapping_of(staged)
    mapping.assignees["old.name"] = str(ada.id)
    done = imports.run_import(db.session, me, staged, "all_or_nothing", mapping)
    assert db.session.get(Issue, done.first_issue_id).reporter_id == ada.id


def test_a_key_given_twice_in_one_file_makes_one_issue(make_user):
    """A Jira file naming PROJ-9 twice: the second row is refused (else two issues would share the key, and every
    later export of PROJ-9 would be refused as ambiguous); the same holds for a key an issue already has."""
    me = make_user("member")
    first = run(me, jira("Login crash,PROJ-9,To Do,High,", "Login crash again,PROJ-9,To Do,High,"), "skip_invalid")
    db.session.expire_all()
    assert (first.created_count, first.rejected_count) == (1, 1)
    second = run(me, jira("Login crash,PROJ-9,Done,High,", "Other,PROJ-9,To Do,,"), "skip_invalid")
    db.session.expire_all()
    assert (second.updated_count, second.rejected_count) == (1, 1)
    rows = db.session.execute(sa.select(Issue.external_key, Issue.title, Issue.status)).all()
    assert [tuple(r) for r in rows] == [("PROJ-9", "Login crash", "resolved")]
