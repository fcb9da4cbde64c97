"""Races: many writers on one issue never lose an update (PostgreSQL); admins stepping down at once keep one
active admin, and two first-run setups make one admin (both databases)."""

import threading

import sqlalchemy as sa

from tests.helpers import count_rows, sign_in_client
from tracker.admin.service import change_role, set_active
from tracker.auth.service import create_first_admin
from tracker.errors import InvalidInput
from tracker.extensions import db
from tracker.models import Issue, IssueEvent, User

THREADS = 8
CYCLES = 50


def test_racing_writers_never_lose_an_update(app, postgres_only, make_user, make_issue):
    writers = [make_user("member", name=f"Writer {n}") for n in range(THREADS)]
    clients = [app.test_client() for _ in writers]
    for client, writer in zip(clients, writers):
        sign_in_client(client, writer)
    issue_id = make_issue(title="Contended", description="").id
    successes = [0] * THREADS
    conflicts = [0] * THREADS
    errors: list[str] = []
    start = threading.Barrier(THREADS)

    def work(n: int) -> None:
        client = clients[n]
        start.wait()
        for cycle in range(CYCLES):
            while True:
                with app.app_context():
                    current = db.session.get(Issue, issue_id)
                    version, description = current.version, current.description
                    db.session.remove()
                line = f"w{n}-c{cycle}"
                data = {
                    "title": "Contended",
                    "description": (description + "\n" + line).strip("\n"),
                    "status": "open",
                    "priority": "medium",
                    "assignee_id": "",
                    "version": str(version),
                }
                response = client.post(f"/issues/{issue_id}/edit", data=data)
                if response.status_code == 303:
                    successes[n] += 1
                    break
                if response.status_code == 409:
                    conflicts[n] += 1
                    continue
                errors.append(f"writer {n}: unexpected {response.status_code}")
                return

    threads = [threading.Thread(target=work, args=(n,)) for n in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=300)
    assert not errors
    db.session.expire_all()
    final = db.session.get(Issue, issue_id)
    lines = final.description.split("\n")
    assert sum(successes) == THREADS * CYCLES
    assert final.version == 1 + sum(successes)
    assert sorted(lines) == sorted(f"w{n}-c{c}" for n in range(THREADS) for c in range(CYCLES))
    versions = db.session.execute(
        sa.select(IssueEvent.version).where(IssueEvent.issue_id == issue_id).order_by(IssueEvent.version)
    ).scalars().all()
    assert versions == list(range(1, final.version + 1)), "one event per version, none missing or doubled"
    assert sum(conflicts) > 0, "the race was real: some writers had to retry"


def _race(app, calls) -> list[str]:
    """Run each call(session) in its own thread and app context, released together; each outcome: 'ok' or
    the refusal's messages."""
    start = threading.Barrier(len(calls))
    outcomes = [""] * len(calls)

    def work(n: int) -> None:
        with app.app_context():
            start.wait()
            try:
                calls[n](db.session)
                outcomes[n] = "ok"
            except InvalidInput as exc:
                outcomes[n] = " ".join(exc.errors.values())
            finally:
                db.session.remove()

    threads = [threading.Thread(target=work, args=(n,)) for n in range(len(calls))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return outcomes


def test_admins_stepping_down_at_once_leave_one_active_admin(app, make_user):
    admins = [make_user("admin").id for _ in range(4)]
    calls = [lambda s, uid=uid: set_active(s, uid, False) for uid in admins[:2]]
    calls += [lambda s, uid=uid: change_role(s, uid, "member") for uid in admins[2:]]
    outcomes = _race(app, calls)
    db.session.expire_all()
    remaining = db.session.execute(
        sa.select(sa.func.count()).select_from(User).where(User.role == "admin", User.active.is_(True))
    ).scalar_one()
    assert remaining == 1
    assert outcomes.count("ok") == 3
    assert "last active admin" in next(o for o in outcomes if o != "ok")


def test_two_first_run_setups_at_once_create_one_admin(app):
    calls = [
        lambda s, n=n: create_first_admin(s, f"Admin {n}", f"admin{n}@example.com", "long-enough-1") for n in range(4)
    ]
    outcomes = _race(app, calls)
    assert outcomes.count("ok") == 1
    assert outcomes.count("Tracker is already set up; sign in instead.") == 3
    assert count_rows(User) == 1
