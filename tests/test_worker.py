"""The background worker's upkeep (issues 22 and 23): the trash purges itself after its retention period, with the
other periodic clean-ups, from `flask worker` (also without email) and once at a time across several workers."""

from datetime import timedelta

import sqlalchemy as sa

from tracker.extensions import db
from tracker.models import Issue, utcnow
from tracker.trash import service as trash
from tracker.worker import UPKEEP_LOCK, run_upkeep


def _deleted_days_ago(issue_id: int, days: int) -> None:
    db.session.execute(sa.update(Issue).where(Issue.id == issue_id).values(deleted_at=utcnow() - timedelta(days=days)))
    db.session.commit()


def _purged(issue_id: int) -> bool:
    db.session.expire_all()
    return db.session.get(Issue, issue_id).purged_at is not None


def test_the_upkeep_purges_the_trash_after_its_retention(app, make_user, make_issue):
    admin = make_user("admin")
    old, recent = make_issue("Old"), make_issue("Recent")
    trash.delete_issue(db.session, admin, old.id)
    trash.delete_issue(db.session, admin, recent.id)
    _deleted_days_ago(old.id, 31)
    assert run_upkeep(app) == {"trash purged": 1}
    assert _purged(old.id) and not _purged(recent.id)
    assert run_upkeep(app) == {}  # nothing more to do


def test_the_worker_does_the_upkeep_without_email(app, runner, make_user, make_issue):
    admin = make_user("admin")
    old = make_issue("Old")
    trash.delete_issue(db.session, admin, old.id)
    _deleted_days_ago(old.id, 40)
    result = runner.invoke(args=["worker", "--once"])
    assert result.exit_code == 0, result.output
    assert "1 trash purged" in result.output and "the upkeep still runs" in result.output
    assert _purged(old.id)


def test_one_worker_at_a_time_does_the_upkeep(app, make_user, make_issue, postgres_only):
    admin = make_user("admin")
    old = make_issue("Old")
    trash.delete_issue(db.session, admin, old.id)
    _deleted_days_ago(old.id, 31)
    with db.engine.connect() as other_worker:  # another node's worker is doing the upkeep right now
        assert other_worker.execute(sa.text("SELECT pg_try_advisory_lock(:k)"), {"k": UPKEEP_LOCK}).scalar()
        assert run_upkeep(app) == {}
        assert not _purged(old.id)
        other_worker.execute(sa.text("SELECT pg_advisory_unlock(:k)"), {"k": UPKEEP_LOCK})
    assert run_upkeep(app) == {"trash purged": 1}
