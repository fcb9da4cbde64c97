"""No lost update: many writers racing on one issue through the app (PostgreSQL)."""

import threading

import sqlalchemy as sa

from tracker.extensions import db
from tracker.models import Issue, IssueEvent

THREADS = 8
CYCLES = 50


def test_racing_writers_never_lose_an_update(app, postgres_only, make_user, make_issue):
    writers = [make_user("member", name=f"Writer {n}") for n in range(THREADS)]
    session_ids = [writer.get_id() for writer in writers]
    issue_id = make_issue(title="Contended", description="").id
    successes = [0] * THREADS
    conflicts = [0] * THREADS
    errors: list[str] = []
    start = threading.Barrier(THREADS)

    def work(n: int) -> None:
        client = app.test_client()
        with client.session_transaction() as session:
            session["_user_id"] = session_ids[n]
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
