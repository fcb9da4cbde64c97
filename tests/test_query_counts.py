"""The list and the issue page run a constant number of SQL statements, whatever the data size."""

import sqlalchemy as sa

from tracker.extensions import db
from tracker.issues import service
from tracker.models import Issue


def _statements_for(client, count_statements, url):
    db.session.expire_all()  # as in a fresh request: nothing cached from the test's own work
    with count_statements() as statements:
        response = client.get(url)
    assert response.status_code == 200
    return len(statements)


def test_list_page_statement_count_is_constant(app, client, login_as, make_user, make_issue, count_statements):
    login_as("viewer")
    people = [make_user(name=f"Person {n}") for n in range(5)]
    for n in range(5):
        make_issue(title=f"Issue {n}", assignee_id=people[n % 5].id)
    small = _statements_for(client, count_statements, "/issues")
    for n in range(5, 60):
        make_issue(title=f"Issue {n}", assignee_id=people[n % 5].id)
    large = _statements_for(client, count_statements, "/issues")
    assert small == large <= 8  # user, labels, issues, their labels, count, people, the header's unread count,
    # saved views (their counts load apart)
    assert _statements_for(client, count_statements, "/issues?status=open&q=issue&sort=-priority") == large


def test_saved_views_in_the_sidebar_cost_the_same_however_many(app, client, login_as, make_issue, count_statements):
    """The sidebar's views and their counts: one statement for the views, one for every count, one for handles."""
    from tests.helpers import hx
    from tracker.issues import saved

    me = login_as("member")
    make_issue(title="One")
    saved.create_view(db.session, me, "Mine", "is:open assignee:@me")
    listing = _statements_for(client, count_statements, "/issues")
    db.session.expire_all()
    with count_statements() as few:
        assert client.get("/views/sidebar", headers=hx("saved-views")).status_code == 200
    for n in range(8):
        saved.create_view(db.session, me, f"View {n}", f"label:nope{n} reporter:someone{n} is:open")
    assert _statements_for(client, count_statements, "/issues") == listing
    db.session.expire_all()
    with count_statements() as many:
        html = client.get("/views/sidebar", headers=hx("saved-views")).get_data(as_text=True)
    assert len(many) == len(few) + 1  # + the handles they name, all at once
    assert html.strip().startswith('<aside id="saved-views"') and html.count('class="count"') == 9


def test_issue_page_statement_count_is_constant(app, client, login_as, make_user, make_issue, count_statements):
    me = login_as("member")
    people = [make_user(name=f"Person {n}") for n in range(6)]
    few = make_issue(title="Few events", assignee_id=people[0].id)
    few = service.update_issue(db.session, me, few.id, 1, {"assignee_id": str(people[1].id)})
    many = make_issue(title="Many events")
    for n in range(60):
        many = service.update_issue(
            db.session, me, many.id, many.version, {"assignee_id": str(people[n % 6].id), "title": f"T{n}"}
        )
    small = _statements_for(client, count_statements, f"/issues/{few.id}")
    large = _statements_for(client, count_statements, f"/issues/{many.id}")
    assert small == large <= 10  # user, issue (+labels), attachments, timeline, users named, people, labels, watchers,
    # the header's unread count


def test_imported_issue_page_statement_count_is_constant(app, client, login_as, make_user, count_statements):
    """An imported issue's first entry is read from its import: one statement more, whatever the history."""
    import io

    from tracker.imports import service as imports
    from tracker.imports import staging

    me = login_as("member")
    people = [make_user(name=f"Person {n}") for n in range(6)]
    run = staging.stage(db.session, me, "x.csv", io.BytesIO(b"title\nQuiet\nBusy\n"))
    imports.run_import(db.session, me, run, "all_or_nothing", staging.mapping_of(run))
    quiet, busy = db.session.execute(sa.select(Issue.id).order_by(Issue.id)).scalars().all()
    service.update_issue(db.session, me, quiet, 1, {"assignee_id": str(people[0].id)})
    version = 1
    for n in range(60):
        version = service.update_issue(db.session, me, busy, version, {"assignee_id": str(people[n % 6].id)}).version
    small = _statements_for(client, count_statements, f"/issues/{quiet}")
    large = _statements_for(client, count_statements, f"/issues/{busy}")
    assert small == large <= 11  # as above, and the import


def test_issue_page_with_comments_and_labels_is_constant(
    app, client, login_as, make_user, make_issue, count_statements
):
    from tracker.comments import service as comments
    from tracker.labels import service as labels

    me = login_as("member")
    people = [make_user(name=f"Person {n}") for n in range(3)]
    tags = [labels.create_label(db.session, me, f"tag{n}", "blue") for n in range(6)]

    def busy_issue(size: int):
        issue = make_issue(title=f"Size {size}", labels=[str(tags[0].id)])
        for n in range(size):
            comments.add_comment(db.session, people[n % 3], issue.id, f"Comment **{n}** about #{issue.id}")
            issue = service.update_issue(
                db.session, me, issue.id, issue.version,
                {"assignee_id": str(people[n % 3].id), "labels": [str(tags[n % 6].id), str(tags[(n + 1) % 6].id)]},
            )
        return issue

    small = _statements_for(client, count_statements, f"/issues/{busy_issue(2).id}")
    large = _statements_for(client, count_statements, f"/issues/{busy_issue(40).id}")
    assert small == large <= 12  # as above, labels named; quick changes: people, labels; watchers, unread count


def test_api_single_issue_calls_make_few_round_trips(app, client, make_user, make_issue, token_for, count_statements):
    """The calls scripts make most (issue 23): create, PATCH and comment each read the token once and write their
    rows; they answer with what they wrote, without reading it back; the version guard and the history stay."""
    me = make_user("member")
    headers = token_for(me)
    issue_id = make_issue(title="Patched", reporter=me).id
    client.post("/api/issues", json={"title": "Warm-up"}, headers=headers)  # the token's last use is recorded once
    with count_statements() as created:
        response = client.post("/api/issues", json={"title": "New", "labels": []}, headers=headers)
    assert response.status_code == 201
    with count_statements() as patched:
        response = client.patch(f"/api/issues/{issue_id}", json={"title": "Renamed", "version": 1}, headers=headers)
    assert response.status_code == 200 and response.json["version"] == 2
    with count_statements() as commented:
        response = client.post(f"/api/issues/{issue_id}/comments", json={"body": "Noted"}, headers=headers)
    assert response.status_code == 201
    # token; INSERT issue; INSERT event; INSERT the reporter as watcher (the answer is the row as written)
    assert len(created) == 4, created
    # token; SELECT the issue; guarded UPDATE; INSERT event (the answer is the issue read, with the values saved)
    assert len(patched) == 4, patched
    # token; UPDATE updated_at RETURNING version; INSERT comment; INSERT event; INSERT the author as watcher;
    # INSERT ... SELECT the watchers' notifications (the answer is the comment as written)
    assert len(commented) == 6, commented


def test_a_create_with_an_assignee_and_labels_does_not_read_the_issue_back(
    app, client, make_user, make_label, token_for, count_statements
):
    """The API's commonest create (the bench's): an assignee and labels that exist; they were read to check them,
    and the answer is made from them."""
    me = make_user("member")
    ada = make_user("member", name="Ada")
    make_label("bug")
    make_label("api")
    headers = token_for(me)
    client.post("/api/issues", json={"title": "Warm-up"}, headers=headers)
    body = {"title": "New", "priority": "high", "assignee_id": ada.id, "labels": ["bug", "api"]}
    with count_statements() as created:
        response = client.post("/api/issues", json=body, headers=headers)
    assert response.status_code == 201 and response.json["labels"] == ["api", "bug"]
    assert response.json["assignee_id"] == ada.id
    assert not [s for s in created if s.startswith("SELECT issues")], created


def test_api_single_issue_calls_answer_from_their_own_transaction(app, client, make_user, make_issue, token_for):
    """The saved issue or comment is read before the commit and kept as read (not expired by it): the answer needs no
    second transaction, whose pool checkout, BEGIN, SELECT and ROLLBACK were four more round trips (issue 23)."""
    me = make_user("member")
    headers = token_for(me)
    issue_id = make_issue(title="Patched", reporter=me).id
    client.post("/api/issues", json={"title": "Warm-up"}, headers=headers)
    began: list[int] = []

    def transactions(call):
        listener = lambda _connection: began.append(1)  # noqa: E731
        db.session.commit()  # the test's own transaction ends: every BEGIN counted is the call's
        began.clear()
        sa.event.listen(db.engine, "begin", listener)
        try:
            response = call()
        finally:
            sa.event.remove(db.engine, "begin", listener)
        return response, len(began)

    created, count = transactions(lambda: client.post("/api/issues", json={"title": "New"}, headers=headers))
    assert created.status_code == 201 and created.json["title"] == "New" and count == 1
    patched, count = transactions(
        lambda: client.patch(f"/api/issues/{issue_id}", json={"title": "Renamed", "version": 1}, headers=headers)
    )
    assert patched.status_code == 200 and patched.json["title"] == "Renamed" and patched.json["version"] == 2
    assert count == 1
    commented, count = transactions(
        lambda: client.post(f"/api/issues/{issue_id}/comments", json={"body": "Noted"}, headers=headers)
    )
    assert commented.status_code == 201 and commented.json["body"] == "Noted" and count == 1
    db.session.expire_all()
    assert db.session.get(Issue, issue_id).title == "Renamed"  # committed, as answered


def test_an_edit_answers_with_the_issue_as_saved_without_reading_it_again(
    app, client, make_user, make_issue, token_for
):
    """A PATCH answers with the issue read at the start of the edit and the values its guarded UPDATE wrote: the
    answer is what a later GET shows, field for field, for a new assignee, a resolution (resolved_at set) and a
    reopening (resolved_at cleared), and for labels (read again: their names come from the label table)."""
    me = make_user("member")
    ada = make_user("member", name="Ada")
    headers = token_for(me)
    issue_id = make_issue(title="Saved", reporter=me).id
    edits = (
        {"assignee_id": ada.id, "priority": "high"},
        {"status": "resolved", "description": "Fixed in **main**."},
        {"status": "open", "assignee_id": None},
        {"labels": ["ux", "api"]},  # new labels: read with the issue
        {"labels": ["api", "zeta", "UX"]},  # one kept, one new, one named again
        {"labels": ["ux", "api"]},  # known ones only: the answer is made from them
        {"title": "Saved again"},
    )
    version = 1
    for edit in edits:
        patched = client.patch(f"/api/issues/{issue_id}", json={**edit, "version": version}, headers=headers)
        assert patched.status_code == 200, patched.get_data(as_text=True)
        version = patched.json["version"]
        db.session.expire_all()
        shown = client.get(f"/api/issues/{issue_id}", headers=headers)
        assert patched.json == shown.json, edit
    assert shown.json["title"] == "Saved again" and shown.json["assignee_id"] is None and version == 8
    assert shown.json["resolved_at"] is None and shown.json["labels"] == ["api", "ux"]


def test_a_create_and_a_comment_answer_with_what_they_wrote(app, client, make_user, token_for):
    """A create without labels and a comment answer with the rows they wrote, not read again: the answers are what
    a later GET shows (with labels, the create reads the issue, as their names come from the label table)."""
    me = make_user("member")
    ada = make_user("member", name="Ada")
    headers = token_for(me)
    for body in (
        {"title": "Plain"},
        {"title": "Full", "description": "Steps", "status": "resolved", "priority": "high", "assignee_id": ada.id},
        {"title": "Labelled", "labels": ["ux"]},  # a new label: read with the issue
        {"title": "Labelled again", "labels": ["UX", "api"], "assignee_id": ada.id},
    ):
        created = client.post("/api/issues", json=body, headers=headers)
        assert created.status_code == 201, created.get_data(as_text=True)
        db.session.expire_all()
        assert created.json == client.get(f"/api/issues/{created.json['id']}", headers=headers).json, body
    assert created.json["labels"] == ["api", "ux"]
    posted = client.post(f"/api/issues/{created.json['id']}/comments", json={"body": "See *this*"}, headers=headers)
    assert posted.status_code == 201, posted.get_data(as_text=True)
    db.session.expire_all()
    listed = client.get(f"/api/issues/{created.json['id']}/comments", headers=headers).json
    assert [posted.json] == (listed["items"] if isinstance(listed, dict) else listed)


def test_row_labels_are_read_in_two_statements_even_after_a_commit(app, make_issue, make_label, count_statements):
    """with_labels reads the links, then only the labels the session does not hold current: after a commit (which
    expires every object) that is one statement for all of them, never one per label; each issue's labels come in
    name order."""
    from tracker.extensions import db
    from tracker.issues import queries
    from tracker.labels import service as labels_service

    ux, bug, api = make_label("ux"), make_label("Bug"), make_label("api")
    first = make_issue("First", labels=[ux.id, bug.id, api.id])
    second = make_issue("Second", labels=[bug.id])
    ids = [first.id, second.id]
    labels_service.all_labels(db.session)
    db.session.commit()  # every label in the session is now expired
    with count_statements() as statements:
        issues = {issue.id: issue for issue in queries.issues_by_ids(db.session, ids)}
        names = {i: [label.name for label in issue.labels] for i, issue in issues.items()}
    assert len(statements) == 3, statements  # the issues, their label links, the labels
    assert names == {first.id: ["api", "Bug", "ux"], second.id: ["Bug"]}
    with count_statements() as again:
        queries.issues_by_ids(db.session, ids)
    assert len(again) == 2, again  # the labels are current now: not read again


def test_many_issue_numbers_bind_as_one_value(app, dialect, make_issue):
    """models.among: on PostgreSQL a list of issue numbers is one text parameter cast to integer[] (psycopg2 would
    spell a Python list out as ARRAY[...], one constant per number for PostgreSQL to parse); SQLite gets an IN list.
    Either way the same issues are found, an empty list finds none, and a number that is no issue is ignored."""
    from tracker.models import among

    issues = [make_issue(title=f"Issue {n}") for n in range(4)]
    wanted = [issues[0].id, issues[2].id, issues[3].id, 999_999]
    seen: list[tuple] = []

    def record(conn, cursor, statement, parameters, context, executemany):
        seen.append((statement, parameters))

    sa.event.listen(db.engine, "before_cursor_execute", record)
    try:
        found = db.session.execute(sa.select(Issue.id).where(among(Issue.id, wanted, dialect))).scalars().all()
        none = db.session.execute(sa.select(Issue.id).where(among(Issue.id, [], dialect))).scalars().all()
    finally:
        sa.event.remove(db.engine, "before_cursor_execute", record)
    assert sorted(found) == sorted(wanted[:3])
    assert none == []
    if dialect == "postgresql":
        statement, parameters = seen[0]
        assert "AS INTEGER[]" in statement
        assert list(parameters.values()) == ["{" + ",".join(map(str, wanted)) + "}"]


def test_a_row_the_session_holds_already_is_read_not_replaced(app, make_issue):
    """as_written leaves an object the session already holds for that row alone (None: the caller reads it)."""
    from tracker.models import as_written

    held = make_issue("Held")
    assert as_written(db.session, Issue(id=held.id, title="Other")) is None
    assert db.session.get(Issue, held.id) is held and held.title == "Held"


def test_a_comment_posted_on_the_page_answers_with_its_author_itself(app, make_user, make_issue):
    """The pages post as current_user, a proxy: a comment or issue written is answered with the person itself."""
    from tracker.comments import service as comments

    me = make_user("member")
    issue = make_issue("Talked about", reporter=me)
    with app.test_request_context():
        from flask_login import current_user, login_user

        login_user(db.session.get(type(me), me.id))
        comment = comments.add_comment(db.session, current_user, issue.id, "Posted")
        assert type(comment.author) is type(me) and comment.author.id == me.id
        created = service.create_issue(db.session, current_user, {"title": "From the page"})
        assert type(created.reporter) is type(me) and created.reporter.id == me.id
