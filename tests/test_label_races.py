"""Label races: imports creating the same new labels never deadlock (one fixed order), and deleting a label
while someone adds it to an issue either records the new link or makes the add fail cleanly."""

from __future__ import annotations

import threading
import time

import pytest
import sqlalchemy as sa

from tests.conftest import TEST_DATABASE_URL
from tests.helpers import form_for, text
from tracker.errors import InvalidInput
from tracker.extensions import db
from tracker.issues import service as issues
from tracker.labels import service as labels
from tracker.models import Issue, IssueEvent, IssueLabel, Label, utcnow


def test_missing_labels_are_created_in_one_fixed_order(app):
    """Whatever order a file names them in, new labels are inserted sorted by key (ids grow in that order)."""
    names = {"zeta": "Zeta", "alpha": "Alpha", "mike": "Mike", "bravo": "Bravo", "yankee": "Yankee"}
    created = labels.create_missing(db.session, names, utcnow())
    db.session.commit()
    assert [key for key, _id in sorted(created.items(), key=lambda item: item[1])] == sorted(names)


def test_two_imports_creating_the_same_labels_in_opposite_order_never_deadlock(app, postgres_only):
    """3,000 shared new labels, named in opposite orders by two transactions running at once, five times over."""
    keys = [f"shared-{n:04d}" for n in range(3000)]
    failures: list[str] = []

    def create(order: list[str], start: threading.Barrier) -> None:
        with app.app_context():
            try:
                start.wait()
                labels.create_missing(db.session, {key: key for key in order}, utcnow())
                time.sleep(0.05)  # hold the keys a moment, as an import does while it writes its issues
                db.session.commit()
            except Exception as exc:  # a deadlock is reported here, not hidden in the thread
                failures.append(f"{type(exc).__name__}: {str(exc).splitlines()[0]}")
            finally:
                db.session.remove()

    for _round in range(5):
        start = threading.Barrier(2)
        threads = [threading.Thread(target=create, args=(order, start)) for order in (keys, keys[::-1])]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        db.session.execute(sa.delete(Label))
        db.session.commit()
    assert failures == []


# ---- deleting a label while it is being added (PostgreSQL: two transactions at once) ---------------------


@pytest.fixture
def other_connection(app, postgres_only):
    """A connection of its own, for the transaction that races the app's."""
    engine = sa.create_engine(TEST_DATABASE_URL)
    connection = engine.connect()
    yield connection
    connection.close()
    engine.dispose()


def wait_until_blocked(pattern: str) -> None:
    """Wait until a backend of the test database waits for a lock while running a statement like `pattern`
    (each look in a transaction of its own: pg_stat_activity is a snapshot per transaction)."""
    engine = sa.create_engine(TEST_DATABASE_URL, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as connection:
            for _ in range(200):
                waiting = connection.execute(
                    sa.text(
                        "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
                        " AND wait_event_type = 'Lock' AND query ILIKE :pattern"
                    ),
                    {"pattern": pattern},
                ).scalar_one()
                if waiting:
                    return
                time.sleep(0.05)
    finally:
        engine.dispose()
    raise AssertionError(f"nothing waited on a lock running {pattern}")


def in_thread(app, work) -> tuple[threading.Thread, list]:
    """Run `work()` in an app context of its own; its result or exception lands in the returned list."""
    outcome: list = []

    def run() -> None:
        with app.app_context():
            try:
                outcome.append(work())
            except Exception as exc:
                outcome.append(exc)
            finally:
                db.session.remove()

    thread = threading.Thread(target=run)
    thread.start()
    return thread, outcome


def test_a_delete_waits_for_an_add_in_progress_and_records_it(app, other_connection, make_user, make_issue, make_label):
    member = make_user("member")
    label = make_label("doomed")
    issue = make_issue("Gets the label just in time")
    label_id, issue_id = label.id, issue.id
    # Someone saves the issue with the label: their transaction has linked it, not yet committed.
    other_connection.execute(sa.text("UPDATE issues SET version = version + 1 WHERE id = :i"), {"i": issue_id})
    other_connection.execute(
        sa.text("INSERT INTO issue_labels (issue_id, label_id) VALUES (:i, :l)"), {"i": issue_id, "l": label_id}
    )
    thread, outcome = in_thread(app, lambda: labels.delete_label(db.session, member, label_id))
    wait_until_blocked("%FOR UPDATE%")
    other_connection.commit()
    thread.join(10)
    assert outcome == [1], "the delete saw the new link"
    db.session.rollback()
    assert db.session.get(Issue, issue_id).version == 3
    event = (
        db.session.execute(sa.select(IssueEvent).where(IssueEvent.issue_id == issue_id).order_by(IssueEvent.id.desc()))
        .scalars()
        .first()
    )
    assert (event.kind, event.version, event.changes["labels"]) == ("label_deleted", 3, [[label_id], []])
    assert db.session.execute(sa.select(IssueLabel)).all() == []


def test_an_add_after_the_delete_began_fails_cleanly(
    app, other_connection, make_user, make_issue, make_label, snapshot
):
    member = make_user("member")
    label = make_label("doomed")
    issue = make_issue("Wants the label")
    label_id, issue_id = label.id, issue.id
    before = snapshot()
    # The delete has locked the label (as delete_label does first) and removed it, not yet committed.
    other_connection.execute(sa.text("SELECT id FROM labels WHERE id = :l FOR UPDATE"), {"l": label_id})
    other_connection.execute(sa.text("DELETE FROM labels WHERE id = :l"), {"l": label_id})
    thread, outcome = in_thread(
        app, lambda: issues.update_issue(db.session, member, issue_id, 1, {"labels": [str(label_id)]})
    )
    wait_until_blocked("%INSERT INTO issue_labels%")
    other_connection.commit()
    thread.join(10)
    assert isinstance(outcome[0], InvalidInput) and outcome[0].errors["labels"] == labels.LABEL_GONE
    assert snapshot() == before, "no version, no event"


def then_deleted(function, label_id: int):
    """`function`, after which someone deletes the label (committed at once, on a connection of their own)."""

    def call(*args, **kwargs):
        result = function(*args, **kwargs)
        with db.engine.begin() as connection:
            connection.execute(sa.delete(Label).where(Label.id == label_id))
        return result

    return call


def test_a_label_gone_before_the_link_is_written_is_a_422(
    app, client, login_as, make_issue, make_label, monkeypatch, snapshot
):
    """Both databases: the label vanishes between the check of the form and the write; the form comes back."""
    login_as("member")
    issue = make_issue("Wants the label")
    label = make_label("doomed")
    label_id = label.id
    monkeypatch.setattr(labels, "resolve_ids", then_deleted(labels.resolve_ids, label_id))
    before = snapshot()
    data = {**form_for(issue, title="With the label"), "labels": [str(label_id)]}
    response = client.post(f"/issues/{issue.id}/edit", data=data)
    assert response.status_code == 422 and labels.LABEL_GONE in text(response)
    assert snapshot() == before


def test_a_bulk_add_of_a_label_deleted_meanwhile_changes_nothing(
    app, client, login_as, make_issue, make_label, monkeypatch, snapshot
):
    from tracker.bulk import service as bulk

    login_as("member")
    issue = make_issue("Bulk target")
    label = make_label("doomed")
    label_id = label.id
    monkeypatch.setattr(bulk, "_read", then_deleted(bulk._read, label_id))
    before = snapshot()
    response = client.post(
        "/issues/bulk", data={"issue_ids": str(issue.id), f"version_{issue.id}": "1", "add_label": str(label_id)}
    )
    assert response.status_code == 422 and labels.LABEL_GONE in text(response)
    assert snapshot() == before
