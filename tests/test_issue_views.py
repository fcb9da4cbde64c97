"""Issue pages through the test client: list, new, show, edit, conflict view, status codes and HTML."""

import re

import pytest
import sqlalchemy as sa

from tests.helpers import form_for, hx, text
from tracker.extensions import db
from tracker.issues import service as issue_service
from tracker.models import Issue, IssueEvent, IssueLabel, Label


def ids_in(html: str) -> list[int]:
    """Issue ids of the list's rows, in order."""
    return [int(n) for n in re.findall(r'<tr id="issue-(\d+)"', html)]


# ---- list -----------------------------------------------------------------------------------------


def test_list_shows_issues_newest_first(client, login_as, make_issue):
    login_as("viewer")
    first = make_issue(title="First issue")
    second = make_issue(title="Second issue")
    response = client.get("/issues")
    html = text(response)
    assert response.status_code == 200
    assert ids_in(html) == [second.id, first.id]
    assert "Showing 1–2 of 2 issues" in html
    assert "New issue" not in html, "viewers see no create controls"


def test_empty_list_says_so(client, login_as):
    login_as("member")
    html = text(client.get("/issues"))
    assert "No issues yet." in html and "Create the first issue" in html
    html = text(client.get("/issues?status=closed"))
    assert "No issues match these filters." in html


def test_filters_by_status_priority_assignee_and_none(client, login_as, make_user, make_issue):
    me = login_as("member")
    grace = make_user(name="Grace")
    a = make_issue(title="A", status="open", priority="high", assignee_id=grace.id)
    b = make_issue(title="B", status="in_progress", priority="high")
    c = make_issue(title="C", status="open", priority="low", assignee_id=me.id)
    assert ids_in(text(client.get("/issues?status=open"))) == [c.id, a.id]
    assert ids_in(text(client.get("/issues?priority=high"))) == [b.id, a.id]
    assert ids_in(text(client.get(f"/issues?assignee={grace.id}"))) == [a.id]
    assert ids_in(text(client.get("/issues?assignee=none"))) == [b.id]
    assert ids_in(text(client.get(f"/issues?status=open&assignee={me.id}"))) == [c.id]
    assert ids_in(text(client.get("/issues?status=open&status=in_progress&priority=high"))) == [b.id, a.id]


def test_my_issues_link_lists_my_unfinished_issues(client, login_as, make_user, make_issue):
    me = login_as("member")
    other = make_user(name="Other")
    mine = make_issue(title="Mine", assignee_id=me.id, status="in_progress")
    make_issue(title="Mine but done", assignee_id=me.id, status="closed")
    make_issue(title="Not mine", assignee_id=other.id)
    everything = text(client.get("/issues"))
    link = "/issues?q=is:open+assignee:@me"
    assert f'<a href="{link}" >My issues</a>' in everything
    assert re.search(r'<a href="/issues" aria-current="page">Issues</a>', everything)
    page = text(client.get(link))
    assert ids_in(page) == [mine.id]
    assert f'<a href="{link}" aria-current="page">My issues</a>' in page
    assert '<a href="/issues" >Issues</a>' in page


def test_my_page_is_in_the_navigation(client, login_as):
    login_as("viewer")
    assert '<a href="/" >My page</a>' in text(client.get("/issues"))
    assert '<a href="/" aria-current="page">My page</a>' in text(client.get("/"))


def test_search_matches_every_word_in_title_or_description(client, login_as, make_issue):
    login_as("viewer")
    a = make_issue(title="Login page crashes", description="stack trace attached")
    b = make_issue(title="Crash on export", description="The login button is fine")
    make_issue(title="Unrelated", description="nothing here")
    assert set(ids_in(text(client.get("/issues?q=crash")))) == {a.id, b.id}
    assert ids_in(text(client.get("/issues?q=login+trace"))) == [a.id]
    assert ids_in(text(client.get("/issues?q=LOGIN+button"))) == [b.id]
    response = client.get("/issues?q=%25%27%22%3Cscript%3E")
    assert response.status_code == 200
    assert "<script>" not in response.get_data(as_text=True)


def test_search_ignores_case_beyond_ascii(client, login_as, make_issue):
    login_as("viewer")
    umlaut = make_issue(title="Login fails with Ärger", description="")
    accent = make_issue(title="Résumé upload", description="ÉCOLE")
    assert ids_in(text(client.get("/issues?q=ärger"))) == [umlaut.id]
    assert ids_in(text(client.get("/issues?q=RÉSUMÉ"))) == [accent.id]
    assert ids_in(text(client.get("/issues?q=école"))) == [accent.id]


@pytest.mark.parametrize(
    ("sort", "expected"),
    [
        ("id", ["a", "b", "c"]),
        ("-id", ["c", "b", "a"]),
        ("-priority", ["b", "c", "a"]),
        ("priority", ["a", "c", "b"]),
        ("created", ["a", "b", "c"]),
        ("-updated", ["a", "c", "b"]),
    ],
)
def test_sorting(client, login_as, make_issue, sort, expected):
    from tracker.issues import service

    me = login_as("member")
    issues = {
        "a": make_issue(title="a", priority="low"),
        "b": make_issue(title="b", priority="critical"),
        "c": make_issue(title="c", priority="medium"),
    }
    service.update_issue(db.session, me, issues["a"].id, 1, {"description": "touched last"})
    by_id = {i.id: k for k, i in issues.items()}
    html = text(client.get(f"/issues?sort={sort}"))
    assert [by_id[i] for i in ids_in(html)] == expected


def test_pagination(app, client, login_as, make_issue):
    app.config["ISSUES_PER_PAGE"] = 2
    login_as("viewer")
    made = [make_issue(title=f"Issue {n}") for n in range(5)]
    page2 = text(client.get("/issues?page=2&sort=id"))
    assert ids_in(page2) == [made[2].id, made[3].id]
    assert "Showing 3–4 of 5 issues" in page2 and "Page 2 of 3" in page2
    assert 'href="/issues?q=sort:id-asc&page=3"' in page2 and 'href="/issues?q=sort:id-asc"' in page2
    past = text(client.get("/issues?page=9"))
    assert "past the last issue" in past
    filtered = text(client.get("/issues?q=Issue&sort=id&page=9"))
    assert "Page 9 is past the last issue these filters match." in filtered
    assert 'href="/issues?q=Issue+sort:id-asc">Go to the first page' in filtered
    assert "No issues match these filters" not in filtered


@pytest.mark.parametrize("cap", [2, 10_000], ids=["over-the-count-cap", "under-the-count-cap"])
def test_search_and_label_pages_are_the_same_whichever_plan(app, client, login_as, make_issue, monkeypatch, cap):
    """Few matches are sorted from the matches, many by walking the sort index: the pages must agree."""
    from tracker.issues import queries
    from tracker.labels import service as labels

    monkeypatch.setattr(queries, "COUNT_CAP", cap)
    app.config["ISSUES_PER_PAGE"] = 2
    me = login_as("member")
    bug = labels.create_label(db.session, me, "bug", "red")
    made = [make_issue(title=f"Printer {n}" if n % 2 else f"Scanner {n}") for n in range(7)]
    for issue in made[:5]:
        db.session.add(IssueLabel(issue_id=issue.id, label_id=bug.id))
    db.session.commit()
    printers = [i.id for i in made if i.title.startswith("Printer")]  # 3 of them
    assert ids_in(text(client.get("/issues?q=printer&sort=-id"))) == printers[::-1][:2]
    assert ids_in(text(client.get("/issues?q=printer&sort=-id&page=2"))) == printers[::-1][2:]
    assert ids_in(text(client.get("/issues?label=bug&sort=id&page=2"))) == [made[2].id, made[3].id]
    summary = text(client.get("/issues?label=bug"))
    assert ("of 2+ issues" if cap == 2 else "of 5 issues") in summary


@pytest.mark.parametrize("sort", ["-updated", "updated", "created", "-created", "priority", "-priority", "id", "-id"])
def test_a_lone_label_or_search_is_sorted_like_the_full_filter(app, client, login_as, make_issue, sort):
    """A lone label or search filter sorts its collected matches by number alone (page_of_ids); with a status
    filter that takes in every status the same issues go through the general query: both orders agree, ties
    included, on every page."""
    from tracker.labels import service as labels

    app.config["ISSUES_PER_PAGE"] = 3
    me = login_as("member")
    bug = labels.create_label(db.session, me, "bug", "red")
    priorities = ["high", "low", "high", "critical", "medium", "low", "high"]
    made = [make_issue(title=f"Printer {n}", priority=p) for n, p in enumerate(priorities)]
    for issue in made[:6]:
        db.session.add(IssueLabel(issue_id=issue.id, label_id=bug.id))
    db.session.commit()
    made[1].updated_at = made[1].updated_at.replace(year=2099)  # the latest change, whatever the clock did
    made[4].created_at = made[0].created_at  # a tie, broken by number
    db.session.commit()
    every = "&status=open&status=in_progress&status=resolved&status=closed"
    for lone in ("label=bug", "q=printer"):
        for page in (1, 2, 3):
            alone = ids_in(text(client.get(f"/issues?{lone}&sort={sort}&page={page}")))
            general = ids_in(text(client.get(f"/issues?{lone}{every}&sort={sort}&page={page}")))
            assert alone == general, (lone, page)


def test_htmx_request_gets_only_the_results_fragment(client, login_as, make_issue):
    login_as("viewer")
    make_issue(title="Fragment me")
    response = client.get("/issues?status=open", headers=hx("issue-results"))
    html = text(response)
    assert response.status_code == 200
    assert html.lstrip().startswith('<section id="issue-results"')
    assert "<html" not in html and "Fragment me" in html
    assert "HX-Request" in response.headers["Vary"]
    full = client.get("/issues?status=open")
    assert "<html" in text(full) and "HX-Request" in full.headers["Vary"]


def test_history_restore_gets_the_full_page(client, login_as):
    login_as("viewer")
    html = text(client.get(
        "/issues", headers={**hx("issue-results"), "HX-History-Restore-Request": "true"}
    ))
    assert "<html" in html


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("status=done", "Unknown status 'done'"),
        ("priority=urgent", "Unknown priority 'urgent'"),
        ("assignee=bob", "Assignee must be a user id or 'none', not 'bob'."),
        ("sort=size", "Unknown sort 'size'"),
        ("sort=--id", "Unknown sort '--id'"),
        ("page=0", "Page must be a whole number from 1 to 10,000."),
        ("page=abc", "Page must be a whole number from 1 to 10,000."),
        ("page=%C2%B2", "Page must be a whole number from 1 to 10,000."),
        ("assignee=%C2%B2", "Assignee must be a user id or 'none'"),
        ("assignee=99999999999999", "Assignee must be a user id or 'none'"),
    ],
)
def test_bad_list_parameters_are_400_with_message(client, login_as, query, message):
    login_as("viewer")
    response = client.get(f"/issues?{query}")
    assert response.status_code == 400
    assert message in text(response)


# ---- create ---------------------------------------------------------------------------------------


def test_create_issue_redirects_to_it(client, login_as, make_user):
    me = login_as("member")
    grace = make_user(name="Grace")
    response = client.post(
        "/issues/new",
        data={
            "title": "Export is slow",
            "description": "Takes **ages**",
            "status": "open",
            "priority": "high",
            "assignee_id": str(grace.id),
        },
    )
    assert response.status_code == 303
    issue = db.session.execute(sa.select(Issue)).scalar_one()
    assert response.headers["Location"].endswith(f"/issues/{issue.id}")
    assert (issue.title, issue.priority, issue.assignee_id, issue.reporter_id, issue.version) == (
        "Export is slow", "high", grace.id, me.id, 1
    )
    page = text(client.get(f"/issues/{issue.id}"))
    assert "Export is slow" in page and "Grace" in page and "Takes <strong>ages</strong>" in page


def test_new_form_defaults(client, login_as):
    login_as("member")
    html = text(client.get("/issues/new"))
    assert '<option selected value="medium">' in html and '<option selected value="open">' in html


def test_invalid_create_rerenders_with_messages_and_keeps_input(client, login_as, snapshot):
    login_as("member")
    before = snapshot()
    response = client.post(
        "/issues/new",
        data={
            "title": "   ",
            "description": "Keep this text",
            "status": "open",
            "priority": "urgent",
            "assignee_id": "",
        },
    )
    html = text(response)
    assert response.status_code == 422
    assert "Title is required." in html
    assert "Priority 'urgent' is not one of low, medium, high, critical." in html
    assert "Keep this text" in html
    assert snapshot() == before


def test_viewer_cannot_create_or_edit(client, login_as, make_issue, snapshot):
    issue = make_issue()
    login_as("viewer")
    before = snapshot()
    assert client.get("/issues/new").status_code == 403
    assert client.post("/issues/new", data={"title": "Nope"}).status_code == 403
    assert client.get(f"/issues/{issue.id}/edit").status_code == 403
    response = client.post(f"/issues/{issue.id}/edit", data=form_for(issue, title="Nope"))
    assert response.status_code == 403
    assert "Viewers can read issues but not change them." in text(response)
    page = text(client.get(f"/issues/{issue.id}"))
    assert f'/issues/{issue.id}/edit"' not in page, "no edit controls for viewers"
    assert snapshot() == before


# ---- show and edit --------------------------------------------------------------------------------


def test_unknown_issue_is_404(client, login_as):
    login_as("viewer")
    for url in ("/issues/999", "/issues/999/edit"):
        response = client.get(url)
        assert response.status_code in (403, 404)
    response = client.get("/issues/999")
    assert response.status_code == 404 and "Issue #999 does not exist." in text(response)


def test_description_is_rendered_markdown_safely(client, login_as, make_issue):
    login_as("viewer")
    other = make_issue("Other")
    description = (
        f"Steps:\n1. open **the board**\n2. see #{other.id}\n\nFirst line\nsecond line\n\n"
        "<script>alert(1)</script> [x](javascript:alert(1)) #999999"
    )
    issue = make_issue("Board", description=description)
    body = client.get(f"/issues/{issue.id}").get_data(as_text=True)
    shown = body.split('class="markdown description-body">', 1)[1].split("</div>", 1)[0]
    assert "<li>open <strong>the board</strong></li>" in shown
    assert f'<a href="/issues/{other.id}" class="issue-ref" rel="nofollow noopener noreferrer">#{other.id}</a>' in shown
    assert "#999999" in shown and "/issues/999999" not in shown, "a missing issue's number stays text"
    assert "First line<br>\nsecond line" in shown, "a single line break stays a line break"
    assert "<script>" not in shown and "&lt;script&gt;alert(1)&lt;/script&gt;" in shown
    assert "href=\"javascript" not in shown and "[x](javascript:alert(1))" in shown, "an unsafe link stays text"
    assert db.session.get(Issue, issue.id).description == description, "the source is stored as typed"


def test_edit_without_javascript_saves_and_redirects(client, login_as, make_issue):
    me = login_as("member")
    issue = make_issue(title="Before")
    form = text(client.get(f"/issues/{issue.id}/edit"))
    assert 'name="version" type="hidden" value="1"' in form
    response = client.post(f"/issues/{issue.id}/edit", data=form_for(issue, title="After", status="in_progress"))
    assert response.status_code == 303 and response.headers["Location"].endswith(f"/issues/{issue.id}")
    db.session.expire_all()
    saved = db.session.get(Issue, issue.id)
    assert (saved.title, saved.status, saved.version) == ("After", "in_progress", 2)
    page = text(client.get(f"/issues/{issue.id}"))
    assert "Before" in page and "After" in page and "In progress" in page  # history old -> new
    assert me.name in page


def test_edit_form_offers_only_allowed_statuses(client, login_as, make_issue):
    login_as("member")
    issue = make_issue(status="resolved")
    html = text(client.get(f"/issues/{issue.id}/edit"))
    select = html.split('name="status"')[1].split("</select>")[0]
    assert 'value="open"' in select and 'value="closed"' in select and 'value="resolved"' in select
    assert 'value="in_progress"' not in select


def test_htmx_edit_opens_in_place_and_save_returns_the_issue_block(client, login_as, make_issue):
    login_as("member")
    issue = make_issue(title="Inline")
    target = hx("issue-main")
    form = client.get(f"/issues/{issue.id}/edit", headers=target)
    assert form.status_code == 200 and text(form).lstrip().startswith('<section id="issue-main"')
    saved = client.post(f"/issues/{issue.id}/edit", data=form_for(issue, priority="critical"), headers=target)
    html = text(saved)
    assert saved.status_code == 200 and html.lstrip().startswith('<article id="issue-main"')
    assert "Critical" in html and saved.headers["HX-Trigger"] == "issue-changed"
    history = text(client.get(f"/issues/{issue.id}", headers=hx("issue-timeline")))
    assert history.lstrip().startswith('<section id="issue-timeline"') and "Critical" in history


@pytest.mark.parametrize(
    ("changes", "status", "message"),
    [
        ({"title": ""}, 422, "Title is required."),
        ({"title": "x" * 201}, 422, "Title must be at most 200 characters"),
        ({"description": "y" * 20_001}, 422, "Description must be at most 20,000 characters"),
        ({"status": "done"}, 422, "Status 'done' is not one of"),
        ({"status": "in_progress", "version": "1"}, None, None),  # placeholder replaced below
        ({"priority": "urgent"}, 422, "Priority 'urgent' is not one of"),
        ({"assignee_id": "424242"}, 422, "Unknown assignee '424242'."),
        ({"assignee_id": "x"}, 422, "Unknown assignee 'x'."),
        ({"version": ""}, 422, "The issue version is missing"),
        ({"version": "abc"}, 422, "The issue version 'abc' is not a number."),
        ({"version": "99"}, 422, "Version 99 is newer than the issue's current version 1."),
        ({"version": "\u00b2"}, 422, "is not a number."),
        ({"version": "99999999999999"}, 422, "is not a number."),
        ({"assignee_id": "99999999999999"}, 422, "Unknown assignee '99999999999999'."),
        ({"labels": "99999999999999"}, 422, "Unknown label '99999999999999'."),
    ],
)
def test_bad_edits_never_change_the_database(
    client, login_as, make_issue, make_user, snapshot, changes, status, message
):
    login_as("member")
    issue = make_issue(title="Stable", status="closed")
    if status is None:  # closed -> in_progress breaks the workflow
        status, message = 422, "An issue cannot move from Closed to In progress"
    before = snapshot()
    data = form_for(issue, **changes)
    response = client.post(f"/issues/{issue.id}/edit", data=data)
    html = text(response)
    assert response.status_code == status
    assert message in html
    if changes.get("description"):
        assert changes["description"] in html, "what the user typed is kept"
    assert snapshot() == before


def test_missing_version_field_is_422(client, login_as, make_issue, snapshot):
    login_as("member")
    issue = make_issue()
    before = snapshot()
    data = form_for(issue, title="No version")
    del data["version"]
    response = client.post(f"/issues/{issue.id}/edit", data=data)
    assert response.status_code == 422 and "The issue version is missing" in text(response)
    assert snapshot() == before


def test_inactive_assignee_cannot_be_chosen(client, login_as, make_issue, make_user, snapshot):
    login_as("member")
    gone = make_user(name="Gone", active=False)
    issue = make_issue()
    before = snapshot()
    response = client.post(f"/issues/{issue.id}/edit", data=form_for(issue, assignee_id=str(gone.id)))
    assert response.status_code == 422 and "Gone is deactivated and cannot be assigned." in text(response)
    assert snapshot() == before


def test_viewers_are_not_offered_as_assignees(client, login_as, make_issue, make_user, snapshot):
    login_as("member")
    reader = make_user("viewer", name="Reader")
    worker = make_user(name="Worker")
    issue = make_issue()
    page = text(client.get(f"/issues/{issue.id}/edit"))
    assert f'<option value="{worker.id}">Worker</option>' in page
    assert f'value="{reader.id}"' not in page
    assert f'value="{reader.id}"' not in text(client.get("/issues/new"))
    assert (
        f'value="{reader.id}"'
        not in text(client.get("/issues")).split('id="bulk-assignee"', 1)[1].split("</select>", 1)[0]
    )
    before = snapshot()
    response = client.post(f"/issues/{issue.id}/edit", data=form_for(issue, assignee_id=str(reader.id)))
    assert response.status_code == 422 and "Reader is a viewer and cannot be assigned issues." in text(response)
    assert snapshot() == before


def test_edit_post_to_unknown_issue_is_404(client, login_as, snapshot):
    login_as("member")
    before = snapshot()
    response = client.post("/issues/999/edit", data={"title": "x", "version": "1"})
    assert response.status_code == 404
    assert snapshot() == before


# ---- conflicts ------------------------------------------------------------------------------------


def _someone_else_saves(issue, make_user, **changes):
    from tracker.issues import service

    other = make_user("member", name="Ada")
    return service.update_issue(db.session, other, issue.id, issue.version, changes)


def test_stale_save_gets_409_conflict_view_with_merge(client, login_as, make_issue, make_user):
    login_as("member")
    issue = make_issue(title="Original", description="Old body", priority="low")
    started = form_for(issue)
    _someone_else_saves(issue, make_user, title="Their title", priority="high")
    response = client.post(f"/issues/{issue.id}/edit", data={**started, "title": "My title", "description": "My body"})
    html = text(response)
    assert response.status_code == 409
    assert "changed while you were editing" in html and "Ada" in html and "saved version 2" in html
    assert 'name="version" type="hidden" value="2"' in html
    assert 'name="base_version" value="1"' in html
    assert 'name="conflict" value="title"' in html
    assert "My body" in html and "My title" in html and "Their title" in html
    assert '<option selected value="high">' in html, "their one-sided change is merged"
    db.session.expire_all()
    assert db.session.get(Issue, issue.id).title == "Their title"


def test_resolving_a_conflict_saves_both_sides(client, login_as, make_issue, make_user):
    login_as("member")
    issue = make_issue(title="Original", description="Old body", priority="low")
    started = form_for(issue)
    _someone_else_saves(issue, make_user, title="Their title", priority="high")
    merged = {
        **started,
        "title": "My title",
        "description": "My body",
        "priority": "high",
        "version": "2",
        "base_version": "1",
        "conflict": "title",
    }
    unchosen = client.post(f"/issues/{issue.id}/edit", data=merged)
    assert unchosen.status_code == 422 and "Choose which title to keep." in text(unchosen)
    assert "My body" in text(unchosen)
    response = client.post(f"/issues/{issue.id}/edit", data={**merged, "choose_title": "theirs"})
    assert response.status_code == 303
    db.session.expire_all()
    saved = db.session.get(Issue, issue.id)
    assert (saved.title, saved.description, saved.priority, saved.version) == ("Their title", "My body", "high", 3)


def test_a_choice_of_the_saved_value_survives_a_second_conflict(client, login_as, make_issue, make_user):
    """Ada chose Grace's title on the conflict view; Grace saved again (the description) before Ada's merged save.
    The second merge keeps Grace's title (Ada's choice) and merges Grace's new description; the title offered no
    new choice (it had offered Ada's own title as "yours", and a save kept it)."""
    login_as("member")
    issue = make_issue(title="Original", description="Old body")
    started = form_for(issue)
    _someone_else_saves(issue, make_user, title="Their title")
    merged = {**started, "title": "My title", "version": "2", "base_version": "1", "conflict": "title",
              "choose_title": "theirs"}
    db.session.expire_all()
    grace = make_user("member", name="Grace")
    issue_service.update_issue(db.session, grace, issue.id, 2, {"description": "Their body"})
    again = client.post(f"/issues/{issue.id}/edit", data=merged)
    assert again.status_code == 409
    html = text(again)
    assert 'name="conflict" value="title"' not in html and "My title" not in html
    assert "Their body" in html
    form = {"title": "Their title", "description": "Their body", "status": "open", "priority": "medium",
            "assignee_id": "", "version": "3"}
    assert client.post(f"/issues/{issue.id}/edit", data=form).status_code == 303
    db.session.expire_all()
    assert (db.session.get(Issue, issue.id).title, db.session.get(Issue, issue.id).description) == (
        "Their title", "Their body")


def test_conflict_names_who_saved_not_who_commented(client, login_as, make_issue, make_user):
    from tracker.comments import service as comments

    login_as("member")
    issue = make_issue(title="Original")
    started = form_for(issue)
    _someone_else_saves(issue, make_user, title="Their title")
    commenter = make_user("member", name="Max Commenter")
    comments.add_comment(db.session, commenter, issue.id, "Just a remark.")
    response = client.post(f"/issues/{issue.id}/edit", data={**started, "description": "Mine"})
    html = text(response)
    assert response.status_code == 409
    intro = html.split('class="conflict-intro"')[1].split("</div>")[0]
    assert "Ada</strong> saved version 2" in intro and "Max Commenter" not in intro


def test_conflict_keep_mine(client, login_as, make_issue, make_user):
    login_as("member")
    issue = make_issue(title="Original")
    started = form_for(issue)
    _someone_else_saves(issue, make_user, title="Their title")
    data = {
        **started,
        "title": "My title",
        "version": "2",
        "base_version": "1",
        "conflict": "title",
        "choose_title": "mine",
    }
    assert client.post(f"/issues/{issue.id}/edit", data=data).status_code == 303
    db.session.expire_all()
    assert db.session.get(Issue, issue.id).title == "My title"


def test_invalid_field_with_a_choice_left_open_keeps_the_conflict_view(
    client, login_as, make_issue, make_user, snapshot
):
    from tracker.labels import service as labels_service

    me = login_as("member")
    gone = labels_service.create_label(db.session, me, "gone", "blue")
    issue = make_issue(title="Original", description="Old body", priority="low")
    started = form_for(issue)
    _someone_else_saves(issue, make_user, priority="high")
    db.session.delete(db.session.get(Label, gone.id))
    db.session.commit()
    before = snapshot()
    data = {
        **started,
        "title": "",
        "description": "Every word I typed",
        "priority": "critical",
        "labels": [str(gone.id)],
        "version": "2",
        "base_version": "1",
        "conflict": "priority",
    }
    response = client.post(f"/issues/{issue.id}/edit", data=data)
    html = text(response)
    assert response.status_code == 422
    assert "changed while you were editing" in html and "Choose which priority to keep." in html
    assert "Title is required." in html and "it may have been deleted" in html
    assert "Every word I typed" in html
    assert snapshot() == before


def test_keeping_a_status_the_workflow_no_longer_allows_shows_it_and_refuses_it(
    client, login_as, make_issue, make_user, snapshot
):
    login_as("member")
    issue = make_issue(title="Original", status="open")
    started = form_for(issue)
    _someone_else_saves(issue, make_user, status="closed")
    response = client.post(f"/issues/{issue.id}/edit", data={**started, "status": "in_progress"})
    html = text(response)
    assert response.status_code == 409
    assert "An issue cannot move from Closed to In progress" in html
    assert '<option selected value="in_progress">In progress (not allowed from Closed)</option>' in html
    assert "Closed" in html and "In progress" in html
    before = snapshot()
    data = {
        **started,
        "status": "in_progress",
        "version": "2",
        "base_version": "1",
        "conflict": "status",
        "choose_status": "mine",
    }
    kept = client.post(f"/issues/{issue.id}/edit", data=data)
    assert kept.status_code == 422
    assert '<option selected value="in_progress">' in text(kept), "the form still shows the status the user kept"
    assert snapshot() == before
    db.session.expire_all()
    assert db.session.get(Issue, issue.id).status == "closed"


def test_merged_form_goes_stale_again(client, login_as, make_issue, make_user):
    login_as("member")
    issue = make_issue(title="Original")
    _someone_else_saves(issue, make_user, title="Second")
    db.session.expire_all()
    _someone_else_saves(db.session.get(Issue, issue.id), make_user, priority="critical")
    data = {
        **form_for(issue),
        "title": "Mine",
        "version": "2",
        "base_version": "1",
        "conflict": "title",
        "choose_title": "mine",
    }
    response = client.post(f"/issues/{issue.id}/edit", data=data)
    html = text(response)
    assert response.status_code == 409
    assert 'name="version" type="hidden" value="3"' in html
    assert '<option selected value="critical">' in html


def test_htmx_conflict_is_swapped_in_place(client, login_as, make_issue, make_user):
    login_as("member")
    issue = make_issue(title="Original")
    started = form_for(issue, description="Mine")
    _someone_else_saves(issue, make_user, title="Theirs")
    response = client.post(f"/issues/{issue.id}/edit", data=started, headers=hx("issue-main"))
    html = text(response)
    assert response.status_code == 409
    assert html.lstrip().startswith('<section id="issue-main"') and "Mine" in html and "Theirs" in html
    assert 'name="conflict"' not in html, "one-sided changes need no choice"


def test_history_lists_every_change_in_order(client, login_as, make_issue, make_user):
    from tracker.issues import service

    me = login_as("member")
    grace = make_user(name="Grace Hopper")
    issue = make_issue(title="Tracked")
    service.update_issue(db.session, me, issue.id, 1, {"assignee_id": str(grace.id)})
    service.update_issue(db.session, me, issue.id, 2, {"status": "resolved"})
    html = text(client.get(f"/issues/{issue.id}"))
    history = html.split('id="issue-timeline"')[1]
    assert history.index("created this issue") < history.index("Grace Hopper") < history.index("Resolved")
    assert "Unassigned" in history and 'title="Version 3"' in history
    assert db.session.execute(sa.select(sa.func.count(IssueEvent.id))).scalar_one() == 3


def test_several_statuses_stay_selected_in_the_filter_form(client, login_as, make_issue):
    login_as("viewer")
    html = client.get("/issues?status=open&status=in_progress").get_data(as_text=True)
    select = html.split('id="filter-status"')[1].split("</select>")[0]
    assert 'multiple size="4"' in select
    assert '<option value="open" selected>' in select and '<option value="in_progress" selected>' in select
    assert '<option value="closed">Closed</option>' in select, "not chosen: not selected"


def test_forms_say_whether_they_hold_a_draft_for_the_browser_to_keep(client, login, make_user, make_issue):
    """The drafts script reads these: a form as stored ("fresh": a kept draft goes back into it) or sent back
    with errors or a conflict ("unsaved": it is the draft); the signed-in person owns the drafts."""
    member = login(make_user("member"))
    other = make_user("member")
    issue = make_issue("Printer on fire")
    page = client.get(f"/issues/{issue.id}").get_data(as_text=True)
    assert f'data-user="{member.id}"' in page
    assert f'data-draft-notice="issue-{issue.id}"' in page and "data-edit" in page
    assert f'data-draft="comment-on-{issue.id}" data-draft-state="fresh"' in page
    assert f'data-draft="issue-{issue.id}" data-draft-state="fresh"' in client.get(f"/issues/{issue.id}/edit").get_data(
        as_text=True
    )
    assert 'data-draft="new-issue" data-draft-state="fresh"' in client.get("/issues/new").get_data(as_text=True)

    data = {"title": "", "description": "", "status": "open", "priority": "medium", "assignee_id": "", "version": "1"}
    response = client.post(f"/issues/{issue.id}/edit", data=data)
    assert response.status_code == 422
    assert f'data-draft="issue-{issue.id}" data-draft-state="unsaved"' in response.get_data(as_text=True)
    assert 'data-draft="new-issue" data-draft-state="unsaved"' in client.post("/issues/new", data=data).get_data(
        as_text=True
    )
    response = client.post(f"/issues/{issue.id}/comments", data={"body": ""})
    assert response.status_code == 422
    assert f'data-draft="comment-on-{issue.id}" data-draft-state="unsaved"' in response.get_data(as_text=True)

    issue_service.update_issue(db.session, other, issue.id, 1, {"description": "Meanwhile."})
    response = client.post(f"/issues/{issue.id}/edit", data={**data, "title": "Mine"})
    assert response.status_code == 409
    conflict = response.get_data(as_text=True)
    assert f'data-draft="issue-{issue.id}" data-draft-state="unsaved"' in conflict and "data-draft-discard" in conflict


def test_a_created_issue_ends_the_new_issue_draft_and_viewers_get_no_drafts(client, login, make_user, make_issue):
    """The page after creating an issue carries the mark that ends the browser's draft of the form (only that
    page: a sign-in page, an error or a failed connection keep it); viewers have nothing to draft."""
    login(make_user("member"))
    data = {"title": "Export times out", "description": "", "status": "open", "priority": "medium", "assignee_id": ""}
    response = client.post("/issues/new", data=data, follow_redirects=True)
    assert response.status_code == 200
    assert '<span hidden data-draft-saved="new-issue"></span>' in response.get_data(as_text=True)
    assert "data-draft-saved" not in client.get("/issues").get_data(as_text=True)
    issue = make_issue("Printer on fire")
    login(make_user("viewer"))
    page = client.get(f"/issues/{issue.id}").get_data(as_text=True)
    assert 'data-draft="' not in page and "data-draft-notice" not in page


def test_the_pages_with_a_draft_form_load_the_drafts_script_and_no_others(client, login_as, make_issue):
    """drafts.js comes after app.js on every page that has a draft form or notice, and on no other page (app.js
    clears drafts on sign-out everywhere)."""
    from tracker.comments import service as comments

    me = login_as("member")
    issue = make_issue("Printer on fire")
    comment = comments.add_comment(db.session, me, issue.id, "Mine")
    issue_service.update_issue(db.session, me, issue.id, 1, {"priority": "high"})
    with_drafts = [client.get(url) for url in (
        "/issues/new", f"/issues/{issue.id}", f"/issues/{issue.id}/edit", f"/issues/{issue.id}/timeline?before=999999",
        f"/comments/{comment.id}/edit",
    )]
    stale = {"title": "Fire", "description": "", "status": "open", "priority": "low", "assignee_id": "", "version": "1"}
    with_drafts.append(client.post(f"/issues/{issue.id}/edit", data=stale))
    assert [r.status_code for r in with_drafts] == [200] * 5 + [409]
    for response in with_drafts:
        html = response.get_data(as_text=True)
        assert re.search(r'data-draft(-notice)?="', html), response.request.path
        assert html.index('<script src="/static/app.js" defer>') < html.index('<script src="/static/drafts.js" defer>')
    for url in ("/issues", "/labels", "/reports", "/account", "/import", "/imports"):
        html = client.get(url).get_data(as_text=True)
        assert "data-draft" not in html and "drafts.js" not in html, url
        assert '<script src="/static/app.js" defer>' in html, url


def test_the_filter_form_sent_without_javascript_lands_on_the_short_url(client, login_as, make_issue):
    """Every field of the form is in its query, empty or not; the list answers under the URL one would bookmark."""
    login_as("member")
    make_issue("Printer on fire", priority="high")
    response = client.get("/issues?q=printer&status=&priority=high&assignee=&label=&sort=&created_from=")
    assert response.status_code == 302
    assert response.headers["Location"] == "/issues?q=printer+priority:high"
    assert "Printer on fire" in client.get(response.headers["Location"]).get_data(as_text=True)
    assert client.get("/issues?q=&status=").headers["Location"] == "/issues"
    # htmx asks for the results only and pushes the short URL itself; a bad filter is answered as it came.
    assert (
        client.get(
            "/issues?q=printer&status=", headers=hx("issue-results")
        ).status_code
        == 200
    )
    assert client.get("/issues?status=done&q=").status_code == 400
