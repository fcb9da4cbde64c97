"""Saved views: private or shared, guarded changes, each person's order, capped counts, the team's first views."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from tests.conftest import fresh_database
from tests.helpers import text
from tracker.errors import Forbidden, InvalidInput, NotFound, StaleView
from tracker.extensions import db
from tracker.issues import saved
from tracker.models import SavedView


@pytest.fixture(autouse=True)
def no_default_views(app):
    """Start without the migration's shared views (the first test of a run would otherwise see them)."""
    db.session.execute(sa.delete(SavedView))
    db.session.commit()


def names(listed) -> list[tuple[str, bool]]:
    """(name, mine) of each listed view, in order."""
    return [(item.view.name, item.mine) for item in listed]


def rows() -> list[tuple]:
    """Every saved view row, to prove a refused change changed nothing."""
    found = db.session.execute(sa.select(SavedView.__table__).order_by(SavedView.id)).all()
    db.session.rollback()
    return [tuple(r) for r in found]


def test_the_team_starts_with_four_shared_views(tmp_path_factory):
    url = fresh_database("sqlite", tmp_path_factory)
    engine = sa.create_engine(url)
    with engine.connect() as conn:
        found = conn.execute(sa.text("SELECT name, query, shared, owner_id, version FROM saved_views ORDER BY id"))
        assert [tuple(r) for r in found] == [
            ("My open issues", "is:open assignee:@me", 1, None, 1),
            ("Reported by me", "reporter:@me", 1, None, 1),
            ("Unassigned", "is:open no:assignee", 1, None, 1),
            ("Recently updated", "sort:updated-desc", 1, None, 1),
        ]
    engine.dispose()


def test_own_views_come_first_then_shared_ones_and_private_views_stay_private(make_user):
    grace, ada = make_user("member", name="Grace"), make_user("member", name="Ada")
    saved.create_view(db.session, grace, "Grace's bugs", "label:bug  is:open")
    saved.create_view(db.session, ada, "Ada's shared", "no:assignee", shared=True)
    saved.create_view(db.session, ada, "Ada's own", "is:closed")
    assert names(saved.visible_views(db.session, grace)) == [("Grace's bugs", True), ("Ada's shared", False)]
    assert names(saved.visible_views(db.session, ada)) == [("Ada's shared", True), ("Ada's own", True)]
    mine = saved.visible_views(db.session, grace)[0].view
    assert mine.query == "label:bug is:open" and not mine.shared  # canonical text, private by default
    other = saved.visible_views(db.session, ada)[1].view
    with pytest.raises(NotFound):
        saved.get_view(db.session, grace, other.id)


def test_each_person_orders_their_views(make_user):
    grace = make_user("member")
    first, second, third = (saved.create_view(db.session, grace, n, "is:open") for n in ("One", "Two", "Three"))
    saved.move_view(db.session, grace, third.id, -1)
    assert [v.view.name for v in saved.visible_views(db.session, grace)] == ["One", "Three", "Two"]
    saved.move_view(db.session, grace, first.id, 1)
    saved.pin_view(db.session, grace, second.id, True)
    listed = saved.visible_views(db.session, grace)
    assert [(v.view.name, v.pinned) for v in listed] == [("Three", False), ("One", False), ("Two", True)]


@pytest.mark.parametrize(
    ("name", "query", "field", "message"),
    [
        ("", "is:open", "name", "Give the view a name."),
        ("x" * 101, "is:open", "name", "at most 100 characters"),
        ("Typo", "priorty:high", "query", "Unknown qualifier 'priorty' (did you mean priority?)."),
        ("Long", "word " * 120, "query", "at most 500 characters"),
        # 449 characters as typed, 509 as saved: each value with a comma is quoted
        ("Longer saved", " ".join(["a,bbbbbbbbbbbb"] * 30), "query", "as saved (quoted values"),
    ],
)
def test_a_bad_name_or_query_is_refused(make_user, name, query, field, message):
    grace = make_user("member")
    with pytest.raises(InvalidInput) as caught:
        saved.create_view(db.session, grace, name, query)
    assert message in caught.value.errors[field]
    db.session.rollback()
    assert rows() == []


def test_a_change_from_a_stale_version_is_a_conflict_and_changes_nothing(make_user):
    admin, ada = make_user("admin"), make_user("member")
    view = saved.create_view(db.session, ada, "Untriaged", "no:label", shared=True)
    saved.update_view(db.session, admin, view.id, 1, "Untriaged bugs", "no:label is:open")
    before = rows()
    with pytest.raises(StaleView) as caught:
        saved.update_view(db.session, ada, view.id, 1, "Mine now", "is:open")
    assert caught.value.status == 409
    assert "The view 'Untriaged bugs' was changed by someone else since you opened it" in caught.value.message
    assert rows() == before
    with pytest.raises(StaleView):
        saved.delete_view(db.session, ada, view.id, 1)
    assert rows() == before


def test_who_may_share_and_manage(make_user):
    viewer, member, other, admin = (make_user(r) for r in ("viewer", "member", "member", "admin"))
    with pytest.raises(Forbidden):
        saved.create_view(db.session, viewer, "Shared by a viewer", "is:open", shared=True)
    db.session.rollback()
    saved.create_view(db.session, viewer, "A viewer's own", "is:open")
    shared = saved.create_view(db.session, member, "Team", "is:open", shared=True)
    with pytest.raises(Forbidden):
        saved.update_view(db.session, other, shared.id, 1, "Renamed", "is:open")
    db.session.rollback()
    renamed = saved.update_view(db.session, admin, shared.id, 1, "Renamed", "is:closed")
    assert (renamed.name, renamed.query, renamed.version) == ("Renamed", "is:closed", 2)
    saved.delete_view(db.session, admin, shared.id, 2)
    assert [v.view.name for v in saved.visible_views(db.session, viewer)] == ["A viewer's own"]


def test_counts_stop_at_the_cap(make_user, make_issue, monkeypatch):
    grace = make_user("member")
    for n in range(4):
        make_issue(f"Issue {n}", assignee_id=grace.id if n < 3 else None)
    saved.create_view(db.session, grace, "Mine", "assignee:@me")
    saved.create_view(db.session, grace, "Unassigned", "no:assignee")
    monkeypatch.setattr(saved, "COUNT_CAP", 2)
    listed = saved.visible_views(db.session, grace)
    saved.count_views(db.session, grace, listed)
    assert [(v.count, v.capped) for v in listed] == [(3, True), (1, False)]


def test_the_list_shows_the_views_and_saving_the_query_keeps_it(client, login, make_user, make_issue):
    grace = login(make_user("member", name="Grace"))
    make_issue("Mine", assignee_id=grace.id)
    response = client.post("/views", data={"name": "My work", "q": "is:open assignee:@me"})
    assert response.status_code == 303 and response.headers["Location"] == "/issues?q=is:open+assignee:@me"
    html = text(client.get("/issues?q=is:open+assignee:@me"))
    assert 'aria-label="Saved views"' in html and 'aria-current="page">My work</a>' in html
    view_id = saved.visible_views(db.session, grace)[0].view.id
    assert client.get(f"/views/{view_id}").headers["Location"] == "/issues?q=is:open+assignee:@me"
    refused = client.post("/views", data={"name": "Typo", "q": "lable:bug"})
    assert refused.status_code == 422 and "Unknown qualifier 'lable' (did you mean label?)." in text(refused)


def test_a_stale_edit_on_the_page_is_409_with_the_message(client, login, make_user):
    ada = make_user("member")
    admin = login(make_user("admin"))
    view = saved.create_view(db.session, ada, "Team", "is:open", shared=True)
    saved.update_view(db.session, ada, view.id, 1, "Team work", "is:open")
    response = client.post(f"/views/{view.id}", data={"version": "1", "name": "Mine", "q": "is:closed"})
    assert response.status_code == 409
    assert "The view 'Team work' was changed by someone else" in text(response)
    assert saved.get_view(db.session, admin, view.id).name == "Team work"


def test_after_a_409_the_form_keeps_the_other_persons_change_where_mine_left_the_field(client, login, make_user):
    """Ada renamed the view; the admin, from the old page, changed only its query: the 409's form holds Ada's name
    and the admin's query, so saving it again undoes nobody's change (it held the old name and undid the rename)."""
    ada = make_user("member")
    admin = login(make_user("admin"))
    view = saved.create_view(db.session, ada, "Team", "is:open", shared=True)
    saved.update_view(db.session, ada, view.id, 1, "Team work", "is:open")
    stale = {"version": "1", "base_name": "Team", "base_q": "is:open", "name": "Team", "q": "is:closed"}
    response = client.post(f"/views/{view.id}", data=stale)
    assert response.status_code == 409
    html = text(response)
    assert f'id="view-{view.id}-name" name="name" maxlength="100" value="Team work"' in html
    assert f'id="view-{view.id}-q" name="q" spellcheck="false" value="is:closed"' in html
    again = {"version": "2", "base_name": "Team work", "base_q": "is:open", "name": "Team work", "q": "is:closed"}
    assert client.post(f"/views/{view.id}", data=again).status_code == 303
    db.session.expire_all()
    saved_view = saved.get_view(db.session, admin, view.id)
    assert (saved_view.name, saved_view.query) == ("Team work", "is:closed")
    # Both changed the name: mine is kept on the form and theirs is named.
    both = {"version": "3", "base_name": "Team work", "base_q": "is:closed", "name": "Mine", "q": "is:closed"}
    saved.update_view(db.session, ada, view.id, 3, "Ada's name", "is:closed")
    html = text(client.post(f"/views/{view.id}", data=both))
    assert "Both of you changed the name: theirs is “Ada's name”; saving keeps yours." in html
    assert 'name="name" maxlength="100" value="Mine"' in html


@pytest.mark.parametrize(
    ("typed", "base", "shown", "both"),
    [
        # Mine changed the query only: their new name is shown, with my query.
        (("Team", "is:closed"), ("Team", "label:bug"), ("Team work", "is:closed"), []),
        # Both changed the name: mine is kept, theirs is named.
        (("Mine", "label:bug"), ("Team", "label:bug"), ("Mine", "label:bug"), [("name", "Team work")]),
        # Both changed both fields, theirs to what I typed for the name: only the query is a clash.
        (("Team work", "is:closed"), ("Team", "is:open"), ("Team work", "is:closed"), [("query", "label:bug")]),
        # A form without the values it was shown with keeps what was typed, and names no clash.
        (("Mine", "is:closed"), (None, None), ("Mine", "is:closed"), []),
    ],
)
def test_a_stale_save_merges_each_field_three_ways(typed, base, shown, both):
    """The view is now "Team work" / label:bug; the person typed `typed` into a form shown at `base`."""
    current = SavedView(name="Team work", query="label:bug")
    form, clashes = saved.merged(current, dict(zip(("name", "q"), typed)), dict(zip(("name", "q"), base)))
    assert form == dict(zip(("name", "q"), shown)) and clashes == both


def test_my_page_shows_each_pinned_view_as_a_short_list(client, login, make_user, make_issue, count_statements):
    grace = login(make_user("member", name="Grace", email="grace@example.com"))
    mine = [make_issue(f"Mine {n}", assignee_id=grace.id, priority=p) for n, p in enumerate(["low", "critical"])]
    make_issue("Unassigned one")
    by_priority = saved.create_view(db.session, grace, "Mine by priority", "assignee:grace sort:priority-desc")
    unassigned = saved.create_view(db.session, grace, "Nobody's", "no:assignee")
    saved.create_view(db.session, grace, "Not pinned", "is:open")
    assert "Nothing pinned yet." in text(client.get("/"))
    saved.pin_view(db.session, grace, by_priority.id, True)
    saved.pin_view(db.session, grace, unassigned.id, True)
    db.session.expire_all()
    with count_statements() as statements:
        html = text(client.get("/"))
    assert "Not pinned" not in html
    # The critical one first (the view's own order), then the other list.
    assert html.index(f"#{mine[1].id} Mine 1") < html.index(f"#{mine[0].id} Mine 0") < html.index("Unassigned one")
    assert html.index("Mine by priority") < html.index("Nobody's")
    # user and session, views, labels, counts, every list's numbers at once, the issues, their labels, handles,
    # the unread count (header and page), the issues one was mentioned in
    assert len(statements) <= 11
    more = saved.create_view(db.session, grace, "Third", "is:open")
    saved.pin_view(db.session, grace, more.id, True)
    db.session.expire_all()
    with count_statements() as again:
        client.get("/")
    assert len(again) == len(statements)


def test_my_page_shows_the_unread_count_and_where_i_was_mentioned(client, login, make_user, make_issue):
    from tracker.comments import service as comments

    grace = login(make_user("member", name="Grace", email="grace@example.com"))
    ada = make_user("member", name="Ada", email="ada@example.com")
    page = text(client.get("/"))
    assert "nothing unread" in page and f"an @{grace.handle} in a description" in page
    first, second = make_issue("First mention"), make_issue("Second mention")
    make_issue("Never mentioned")
    comments.add_comment(db.session, ada, first.id, f"@{grace.handle} could you look?")
    comments.add_comment(db.session, ada, second.id, f"Thanks @{grace.handle}")
    page = text(client.get("/"))
    assert "2 unread" in page
    mentioned = page[page.index("Mentioned in") :]
    assert mentioned.index("Second mention") < mentioned.index("First mention")  # the latest mention first
    assert "Never mentioned" not in mentioned
