"""Exports: a person streams at most EXPORTS_PER_PERSON exports at once, counted in the database (so every app
process agrees), 429 with Retry-After beyond; a slot is freed when the download ends, or goes stale."""

from __future__ import annotations

import threading
from datetime import timedelta

import sqlalchemy as sa

from tests.helpers import count_rows, sign_in_client, text
from tracker.errors import Throttled
from tracker.extensions import db
from tracker.imports import export
from tracker.models import ExportSlot, utcnow


def test_a_third_export_at_once_hears_when_to_try_again(app, client, login_as, make_user, make_issue):
    me = login_as("viewer")
    make_issue("Exported")
    for _ in range(2):  # two exports of theirs stream (in other threads or app processes)
        export.claim_slot(db.session, me.id, 2)
    third = client.get("/issues/export.csv")
    assert third.status_code == 429 and third.headers["Retry-After"] == "30"
    assert "You have 2 exports running; each person may run 2 at a time." in text(third)
    assert count_rows(ExportSlot) == 2
    someone = app.test_client()
    sign_in_client(someone, make_user("member"))
    theirs = someone.get("/issues/export.csv")
    assert theirs.status_code == 200, "another person's exports are theirs"
    theirs.close()


def test_a_slot_is_held_while_the_export_streams_and_freed_after(client, login_as, make_issue):
    login_as("member")
    make_issue("Exported")
    response = client.get("/issues/export.csv")
    assert response.status_code == 200 and count_rows(ExportSlot) == 1
    assert "Exported" in response.get_data(as_text=True)
    response.close()
    assert count_rows(ExportSlot) == 0, "a finished (or abandoned) download frees its slot"


def test_the_limit_is_a_setting(app, client, login_as):
    app.config["EXPORTS_PER_PERSON"] = 1
    login_as("member")
    first = client.get("/issues/export.csv")
    assert client.get("/issues/export.csv").status_code == 429
    first.close()


def test_a_slot_of_a_process_that_died_stops_counting(app, client, login_as):
    me = login_as("member")
    long_ago = utcnow() - timedelta(minutes=3)
    db.session.add_all(ExportSlot(user_id=me.id, started_at=long_ago, seen_at=long_ago) for _ in range(2))
    db.session.commit()
    response = client.get("/issues/export.csv")
    assert response.status_code == 200
    response.close()
    assert count_rows(ExportSlot) == 0


def test_a_streaming_export_says_it_is_alive(app, make_user, monkeypatch):
    me = make_user("member")
    slot = export.claim_slot(db.session, me.id, 2)
    db.session.execute(sa.update(ExportSlot).values(seen_at=utcnow() - timedelta(minutes=1)))
    db.session.commit()
    monkeypatch.setattr(export, "SLOT_SEEN_EVERY", timedelta(0))
    rows = export.keeping_slot(iter([["a"], ["b"]]), db.engine, slot)
    assert next(rows) == ["a"]
    db.session.rollback()
    assert utcnow() - db.session.execute(sa.select(ExportSlot.seen_at)).scalar_one() < timedelta(seconds=5)
    export.release_slot(db.engine, slot)
    assert count_rows(ExportSlot) == 0


def test_claims_at_the_same_moment_take_no_more_than_the_limit(app, make_user):
    """Ten exports started at once by one person: two run, eight hear 429 (both databases)."""
    me = make_user("member")
    user_id = me.id
    start = threading.Barrier(10)
    outcomes: list[str] = []

    def claim() -> None:
        with app.app_context():
            start.wait()
            try:
                export.claim_slot(db.session, user_id, 2)
                outcomes.append("claimed")
            except Throttled:
                outcomes.append("throttled")
            except Exception as exc:
                outcomes.append(f"{type(exc).__name__}: {exc}")
            finally:
                db.session.remove()

    threads = [threading.Thread(target=claim) for _ in range(10)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes) == ["claimed"] * 2 + ["throttled"] * 8
    db.session.rollback()
    assert count_rows(ExportSlot) == 2
