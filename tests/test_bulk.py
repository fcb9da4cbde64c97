"""Bulk changes: all or nothing, blockers reported, set-based SQL, safe under failures and races."""

import re
import threading

import pytest
import sqlalchemy as sa

from tests.helpers import count_rows, hx, text
from tracker.bulk import service as bulk
from tracker.errors import Forbidden
from tracker.extensions import db
from tracker.issues import service as issues
from tracker.labels import service as labels
from tracker.models import BULK_MAX, Issue, IssueEvent, IssueLabel


def bulk_form(issue_list, **change):
    """The bulk bar as posted: ticked ids, each row's version, the change."""
    data = {"issue_ids": [str(i.id) for i in issue_list], "filter": "", "page": "1"}
    data.update({f"version_{i.id}": str(i.version) for i in issue_list})
    data.update(change)
    return data


def states(ids):
    """(status, priority, assignee, version) of these issues, fresh from the database."""
    db.session.expire_all()
    return [(i.status, i.priority, i.assignee_id, i.version) for i in (db.session.get(Issue, n) for n in ids)]


# ---- service --------------------------------------------------------------------------------------


def test_bulk_status_change_bumps_versions_and_records_events(make_user, make_issue):
    me = make_user()
    made = [make_issue(title=f"I{n}") for n in range(3)]
    change = bulk.BulkChange(status="resolved", note="fixed in 2.1")
    result = bulk.apply_bulk(db.session, me, [i.id for i in made], {i.id: 1 for i in made}, change)
    assert result.summary == "3 issues moved to Resolved."
    for issue in made:
        db.session.expire_all()
        fresh = db.session.get(Issue, issue.id)
        assert (fresh.status, fresh.version) == ("resolved", 2) and fresh.resolved_at is not None
    events = (
        db.session.execute(sa.select(IssueEvent).where(IssueEvent.kind == "bulk").order_by(IssueEvent.issue_id))
        .scalars()
        .all()
    )
    assert [(e.issue_id, e.version, e.changes, e.note, e.actor_id) for e in events] == [
        (i.id, 2, {"status": ["open", "resolved"]}, "fixed in 2.1", me.id) for i in made
    ]


def test_bulk_keeps_resolved_at_when_closing_and_clears_on_reopen(make_user, make_issue):
    me = make_user()
    resolved = make_issue(status="resolved")
    first = resolved.resolved_at
    bulk.apply_bulk(db.session, me, [resolved.id], {resolved.id: 1}, bulk.BulkChange(status="closed"))
    db.session.expire_all()
    assert db.session.get(Issue, resolved.id).resolved_at == first
    bulk.apply_bulk(db.session, me, [resolved.id], {resolved.id: 2}, bulk.BulkChange(status="open"))
    db.session.expire_all()
    assert db.session.get(Issue, resolved.id).resolved_at is None


def test_unchanged_issues_are_left_alone(make_user, make_issue):
    me = make_user()
    high = make_issue(priority="high")
    low = make_issue(priority="low")
    result = bulk.apply_bulk(db.session, me, [high.id, low.id], None, bulk.BulkChange(priority="high"))
    assert result.changed_ids == [low.id] and result.unchanged_ids == [high.id]
    assert "1 already had this value" in result.summary
    assert states([high.id, low.id]) == [("open", "high", None, 1), ("open", "high", None, 2)]


def test_labels_added_and_removed_with_full_sets_in_events(make_user, make_issue):
    me = make_user()
    bug, ui = labels.create_label(db.session, me, "bug", "red"), labels.create_label(db.session, me, "ui", "blue")
    a = make_issue(labels=[str(ui.id)])
    b = make_issue(labels=[str(bug.id), str(ui.id)])
    bulk.apply_bulk(db.session, me, [a.id, b.id], None, bulk.BulkChange(add_label=bug, remove_label=ui))
    rows = db.session.execute(sa.select(IssueLabel.issue_id, IssueLabel.label_id).order_by(IssueLabel.issue_id)).all()
    assert rows == [(a.id, bug.id), (b.id, bug.id)]
    event = db.session.execute(
        sa.select(IssueEvent).where(IssueEvent.issue_id == a.id, IssueEvent.kind == "bulk")
    ).scalar_one()
    assert event.changes["labels"] == [[ui.id], [bug.id]]
    # the conflict merge can reconstruct label sets through bulk events
    values, _ = issues.values_at_version(db.session, issues.get_issue(db.session, a.id), 1)
    assert values["labels"] == [ui.id]


def test_one_invalid_transition_among_many_changes_nothing(make_user, make_issue, snapshot):
    me = make_user()
    made = [make_issue(title=f"I{n}") for n in range(30)]
    closed = make_issue(title="Closed one", status="closed")
    before = snapshot()
    ids = [i.id for i in made] + [closed.id]
    with pytest.raises(bulk.BulkRejected) as info:
        bulk.apply_bulk(db.session, me, ids, None, bulk.BulkChange(status="resolved"))
    assert info.value.status == 422
    assert [(b.issue_id, b.kind) for b in info.value.blockers] == [(closed.id, "invalid")]
    assert "cannot move from Closed to Resolved" in info.value.blockers[0].reason
    assert snapshot() == before


def test_stale_and_missing_issues_block_with_409(make_user, make_issue, snapshot):
    me = make_user()
    a, b = make_issue(), make_issue()
    issues.update_issue(db.session, me, b.id, 1, {"title": "changed meanwhile"})
    before = snapshot()
    with pytest.raises(bulk.BulkRejected) as info:
        bulk.apply_bulk(db.session, me, [a.id, b.id, 999], {a.id: 1, b.id: 1}, bulk.BulkChange(priority="high"))
    assert info.value.status == 409
    assert {(x.issue_id, x.kind) for x in info.value.blockers} == {(b.id, "stale"), (999, "missing")}
    assert snapshot() == before


def test_viewer_cannot_bulk(make_user, make_issue):
    issue = make_issue()
    with pytest.raises(Forbidden):
        bulk.apply_bulk(db.session, make_user("viewer"), [issue.id], None, bulk.BulkChange(priority="high"))


def test_statement_count_is_the_same_for_10_and_10000_issues(app, make_user, make_issue, count_statements):
    """Set-based all the way up to the limit (10,000 row values once overflowed PostgreSQL's parser stack)."""
    me = make_user()
    bug = labels.create_label(db.session, me, "bug", "red")
    reporter = make_user()
    counts = []
    for size in (10, BULK_MAX):
        now_rows = [
            {"title": f"{size}-{n}", "description": "", "status": "open", "priority": "low", "reporter_id": reporter.id,
             "version": 1, "created_at": issues.utcnow(), "updated_at": issues.utcnow()}
            for n in range(size)
        ]
        db.session.execute(sa.insert(Issue), now_rows)
        db.session.commit()
        ids = list(db.session.execute(sa.select(Issue.id).where(Issue.title.like(f"{size}-%"))).scalars())
        change = bulk.BulkChange(status="in_progress", priority="high", add_label=bug)
        with count_statements() as statements:
            result = bulk.apply_bulk(db.session, me, ids, {i: 1 for i in ids}, change)
        assert len(result.changed_ids) == size
        counts.append(len(statements))
    assert counts[0] == counts[1] <= 8, counts  # the 8th: the watchers' notifications of the status change
    assert count_rows(IssueLabel) == 10 + BULK_MAX
    assert set(db.session.execute(sa.select(Issue.version)).scalars()) == {2}


def test_failure_after_update_rolls_everything_back(app, make_user, make_issue, snapshot, monkeypatch):
    me = make_user()
    made = [make_issue() for _ in range(5)]
    before = snapshot()

    def broken_insert(*args, **kwargs):
        raise sa.exc.OperationalError("INSERT INTO issue_events", {}, Exception("disk full"))

    monkeypatch.setattr(bulk, "insert_events", broken_insert)
    with pytest.raises(bulk.BulkFailed) as info:
        bulk.apply_bulk(db.session, me, [i.id for i in made], None, bulk.BulkChange(status="closed"))
    assert "nothing was changed" in info.value.message
    assert snapshot() == before


# ---- views ----------------------------------------------------------------------------------------


def test_list_rows_have_checkboxes_and_versions_for_members_only(client, login_as, make_issue):
    issue = make_issue()
    login_as("member")
    html = client.get("/issues").get_data(as_text=True)
    assert f'name="issue_ids" value="{issue.id}" form="bulk-form"' in html
    assert f'name="version_{issue.id}" value="1" form="bulk-form"' in html and 'id="bulk-form"' in html
    login_as("viewer")
    html = client.get("/issues").get_data(as_text=True)
    assert 'name="issue_ids"' not in html and 'id="bulk-form"' not in html


def test_bulk_without_javascript_redirects_with_summary(client, login_as, make_issue):
    login_as("member")
    made = [make_issue(title=f"I{n}") for n in range(3)]
    data = bulk_form(made, status="resolved", note="done")
    data["filter"] = "status=open"
    response = client.post("/issues/bulk", data=data)
    assert response.status_code == 303 and response.headers["Location"] == "/issues?q=status:open"
    assert "3 issues moved to Resolved." in text(client.get("/issues"))
    assert states([i.id for i in made]) == [("resolved", "medium", None, 2)] * 3
    page = text(client.get(f"/issues/{made[0].id}"))
    assert "changed in bulk" in page and "done" in page


def test_htmx_bulk_rerenders_changed_rows_out_of_band(client, login_as, make_issue):
    login_as("member")
    made = [make_issue(title=f"I{n}") for n in range(3)]
    data = bulk_form(made[:2], priority="critical")
    data["page_ids"] = [str(i.id) for i in made]
    response = client.post("/issues/bulk", data=data, headers=hx("bulk-form"))
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert html.lstrip().startswith('<form id="bulk-form"') and "Updated 2 issues: priority Critical." in html
    rows = re.findall(r'<tr id="issue-(\d+)" hx-swap-oob="true">', html)
    assert sorted(int(r) for r in rows) == sorted(i.id for i in made[:2])
    assert f'name="version_{made[0].id}" value="2"' in html


def test_blocked_bulk_lists_blockers_and_keeps_selection(client, login_as, make_issue, snapshot):
    login_as("member")
    ok = make_issue(title="Fine")
    closed = make_issue(title="Already closed", status="closed")
    before = snapshot()
    data = bulk_form([ok, closed], status="resolved")
    response = client.post("/issues/bulk", data=data)
    page = text(response)
    assert response.status_code == 422
    assert "1 issue blocks this change; nothing was changed." in page
    assert f"#{closed.id} Already closed" in page and "cannot move from Closed to Resolved" in page
    assert f'name="issue_ids" value="{ok.id}" form="bulk-form" aria-label="Select #{ok.id}" checked' in page
    assert '<option value="resolved" selected>' in page, "the chosen change is kept"
    htmx = client.post("/issues/bulk", data=data, headers=hx("bulk-form"))
    assert htmx.status_code == 422 and "Already closed" in text(htmx) and "<html" not in text(htmx)
    assert snapshot() == before


def test_stale_row_is_409(client, login_as, make_issue, make_user, snapshot):
    login_as("member")
    a, b = make_issue(), make_issue(title="Edited elsewhere")
    data = bulk_form([a, b], status="in_progress")
    issues.update_issue(db.session, make_user(), b.id, 1, {"priority": "high"})
    before = snapshot()
    response = client.post("/issues/bulk", data=data)
    assert response.status_code == 409
    assert "you saw version 1, it is now version 2" in text(response)
    assert snapshot() == before


def test_bulk_cannot_assign_a_viewer(client, login_as, make_issue, make_user, snapshot):
    login_as("member")
    reader = make_user("viewer", name="Reader")
    issue = make_issue()
    before = snapshot()
    response = client.post("/issues/bulk", data=bulk_form([issue], assignee_id=str(reader.id)))
    assert response.status_code == 422 and "Reader is a viewer and cannot be assigned issues." in text(response)
    assert snapshot() == before


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({}, "Choose what to change"),
        ({"status": "done"}, "Status 'done' is not one of"),
        ({"priority": "urgent"}, "Priority 'urgent' is not one of"),
        ({"assignee_id": "999"}, "Unknown assignee '999'."),
        ({"add_label": "999"}, "Unknown label '999'"),
        ({"add_label": "99999999999999"}, "Unknown label '99999999999999'"),
        ({"assignee_id": "\u00b2"}, "Unknown assignee"),
        ({"note": "x" * 501, "status": "closed"}, "The note can be at most 500 characters"),
    ],
)
def test_bad_bulk_input_is_422(client, login_as, make_issue, snapshot, change, message):
    login_as("member")
    issue = make_issue()
    before = snapshot()
    response = client.post("/issues/bulk", data=bulk_form([issue], **change))
    assert response.status_code == 422 and message in text(response)
    assert "Please correct the marked fields" not in text(response), "the bar marks no field"
    assert snapshot() == before


@pytest.mark.parametrize(
    ("data", "status", "message"),
    [
        ({"issue_ids": ["abc"], "status": "closed"}, 422, "'abc' is not an issue number."),
        ({"issue_ids": ["1"], "status": "closed"}, 422, "The version of #1 is missing"),
        ({"issue_ids": ["1"], "version_1": "x", "status": "closed"}, 422, "is not a positive number"),
        ({"issue_ids": ["1"], "version_1": "99999999999", "status": "closed"}, 422, "is not a positive number"),
        ({"issue_ids": ["\u00b2"], "status": "closed"}, 422, "is not an issue number."),
        ({"issue_ids": ["99999999999"], "status": "closed"}, 422, "is not an issue number."),
        ({"status": "closed"}, 422, "Select at least one issue."),
    ],
)
def test_bad_selections(client, login_as, make_issue, snapshot, data, status, message):
    login_as("member")
    make_issue()
    before = snapshot()
    response = client.post("/issues/bulk", data={"filter": "", **data})
    assert response.status_code == status and message in text(response)
    assert snapshot() == before


def test_more_than_10000_ids_is_413(client, login_as, snapshot):
    login_as("member")
    before = snapshot()
    response = client.post("/issues/bulk", data={"issue_ids": [str(n) for n in range(1, 10_002)], "status": "closed"})
    assert response.status_code == 413 and "at most 10,000 issues" in text(response)
    assert snapshot() == before


def test_select_all_matching_filter(app, client, login_as, make_issue):
    app.config["ISSUES_PER_PAGE"] = 2
    login_as("member")
    lows = [make_issue(title=f"L{n}", priority="low") for n in range(5)]
    high = make_issue(title="H", priority="high")
    page = text(client.get("/issues?priority=low"))
    assert "Apply to all 5 issues matching this filter" in page
    response = client.post(
        "/issues/bulk", data={"all_matching": "1", "filter": "priority=low", "status": "in_progress"}
    )
    assert response.status_code == 303
    assert [s[0] for s in states([i.id for i in lows])] == ["in_progress"] * 5
    assert states([high.id]) == [("open", "high", None, 1)]


@pytest.mark.parametrize(
    ("bad_filter", "message"),
    [
        ("status=bogus", "bogus"),
        ("priority=low&label=no-such-label", "There is no label named"),
        ("assignee=abc", "abc"),
    ],
)
def test_all_matching_with_a_bad_filter_changes_nothing(client, login_as, make_issue, snapshot, bad_filter, message):
    login_as("member")
    for n in range(3):
        make_issue(title=f"I{n}", priority="low")
    before = snapshot()
    data = {"all_matching": "1", "filter": bad_filter, "priority": "high"}
    response = client.post("/issues/bulk", data=data)
    assert response.status_code == 422 and message in text(response)
    bar = client.post("/issues/bulk", data=data, headers=hx("bulk-form"))
    assert bar.status_code == 422 and "The filter is not valid, so no issue was changed." in text(bar)
    assert snapshot() == before


def test_a_nul_in_the_bars_filter_is_refused_on_both_databases(client, login_as, make_issue, snapshot):
    """The filter field carries the list's query string; a NUL inside it (%00) is refused like one in any field
    (PostgreSQL cannot take it into a query: it was a 500 there)."""
    login_as("admin")
    make_issue(title="One")
    before = snapshot()
    for url in ("/issues/bulk", "/issues/bulk-delete"):
        for bad_filter, field in (("q=a%00b", "q"), ("label=bug&page%00=1", "page")):
            response = client.post(url, data={"all_matching": "1", "filter": bad_filter, "status": "in_progress"})
            message = f"The field '{field}' of the list's filter contains a NUL character, which is not allowed."
            assert response.status_code == 400 and message in text(response), (url, bad_filter)
    assert snapshot() == before


def test_blockers_of_an_all_matching_change_say_to_narrow_the_filter(client, login_as, make_issue, snapshot):
    login_as("member")
    make_issue(title="Shut", status="closed")
    before = snapshot()
    response = client.post(
        "/issues/bulk", data={"all_matching": "1", "filter": "status=closed", "status": "in_progress"}
    )
    assert response.status_code == 422
    assert "Narrow the filter to leave these out" in text(response) and "Untick these" not in text(response)
    assert snapshot() == before


def test_summary_says_why_issues_stayed_as_they_were(make_user, make_issue):
    me = make_user()
    bug = labels.create_label(db.session, me, "bug", "red")
    issues = [make_issue() for _ in range(2)]
    result = bulk.apply_bulk(db.session, me, [i.id for i in issues], None, bulk.BulkChange(remove_label=bug))
    assert result.summary == "Updated 0 issues: label −bug. 2 did not carry the label and stayed as they were."


def test_viewer_post_is_403(client, login_as, make_issue, snapshot):
    issue = make_issue()
    login_as("viewer")
    before = snapshot()
    assert client.post("/issues/bulk", data=bulk_form([issue], status="closed")).status_code == 403
    assert snapshot() == before


def test_injected_failure_gives_a_clear_page_not_a_500(client, login_as, make_issue, snapshot, monkeypatch):
    login_as("member")
    made = [make_issue() for _ in range(3)]
    before = snapshot()

    def broken_insert(*args, **kwargs):
        raise sa.exc.OperationalError("INSERT", {}, Exception("connection lost"))

    monkeypatch.setattr(bulk, "insert_events", broken_insert)
    response = client.post("/issues/bulk", data=bulk_form(made, status="closed"))
    assert response.status_code == 503
    assert "could not be saved and nothing was changed" in text(response)
    assert snapshot() == before


# ---- races (PostgreSQL) ---------------------------------------------------------------------------


def test_bulk_racing_single_edits_never_loses_a_change(app, postgres_only, make_user, make_issue):
    editors = [make_user(name=f"Editor {n}").id for n in range(4)]
    issue_ids = [make_issue(title=f"Race {n}", priority="low").id for n in range(20)]
    outcomes = {"ok": 0, "conflict": 0}
    errors: list[str] = []
    lock = threading.Lock()
    start = threading.Barrier(4)

    def bulk_worker(n: int) -> None:
        start.wait()
        for round_ in range(15):
            with app.app_context():
                actor = db.session.get(issues.User, editors[n])
                chosen = issue_ids[(round_ + n) % 10 : (round_ + n) % 10 + 10]
                versions = dict(
                    db.session.execute(sa.select(Issue.id, Issue.version).where(Issue.id.in_(chosen))).all()
                )
                priority = ["low", "medium", "high", "critical"][(round_ + n) % 4]
                try:
                    bulk.apply_bulk(db.session, actor, chosen, versions, bulk.BulkChange(priority=priority))
                    kind = "ok"
                except bulk.BulkRejected:
                    kind = "conflict"
                except Exception as exc:  # noqa: BLE001 - any other error fails the test
                    errors.append(repr(exc))
                    return
                finally:
                    db.session.remove()
            with lock:
                outcomes[kind] += 1

    def edit_worker(n: int) -> None:
        start.wait()
        for round_ in range(15):
            with app.app_context():
                actor = db.session.get(issues.User, editors[n])
                target = issue_ids[(round_ * 3 + n) % len(issue_ids)]
                current = db.session.get(Issue, target)
                try:
                    issues.update_issue(
                        db.session,
                        actor,
                        target,
                        current.version,
                        {"description": f"{current.description}|{n}.{round_}"},
                    )
                    kind = "ok"
                except issues.StaleVersion:
                    kind = "conflict"
                except Exception as exc:  # noqa: BLE001
                    errors.append(repr(exc))
                    return
                finally:
                    db.session.remove()
            with lock:
                outcomes[kind] += 1

    threads = [threading.Thread(target=bulk_worker, args=(n,)) for n in (0, 1)]
    threads += [threading.Thread(target=edit_worker, args=(n,)) for n in (2, 3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=300)
    assert not errors
    assert outcomes["ok"] > 0
    db.session.expire_all()
    for issue_id in issue_ids:
        issue = db.session.get(Issue, issue_id)
        events = db.session.execute(
            sa.select(IssueEvent).where(IssueEvent.issue_id == issue_id).order_by(IssueEvent.version)
        ).scalars().all()
        assert [e.version for e in events] == list(range(1, issue.version + 1)), "one event per version"
        replay = {"priority": "low", "description": ""}
        for event in events[1:]:
            for name, (old, new) in event.changes.items():
                assert replay[name] == old, "each change starts from the previous state"
                replay[name] = new
        assert (replay["priority"], replay["description"]) == (issue.priority, issue.description)
