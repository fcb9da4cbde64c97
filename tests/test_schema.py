"""Migrations and models agree, on both databases; the search index exists on PostgreSQL."""

from datetime import datetime

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from werkzeug.datastructures import MultiDict

from tracker.extensions import db
from tracker.issues import queries
from tracker.models import LIVE_ISSUE, Issue, IssueEvent, utcnow


def _include_object(obj, name, type_, reflected, compare_to):
    from pathlib import Path

    env = Path(__file__).resolve().parent.parent / "migrations" / "env.py"
    source = env.read_text()
    namespace: dict = {}
    # The env module runs migrations on import; read only its list of hand-made tables and indexes.
    start = source.index("HAND_MADE =")
    exec(source[start : source.index("}", start) + 1], namespace)
    return not (type_ in ("index", "table") and name in namespace["HAND_MADE"])


# SQLite cannot reflect expression indexes; they are hand-made and left out of the comparison anyway.
@pytest.mark.filterwarnings("ignore:Skipped unsupported reflection of expression-based index")
def test_migrations_match_models(app):
    with db.engine.connect() as connection:
        context = MigrationContext.configure(
            connection, opts={"compare_type": True, "include_object": _include_object}
        )
        diff = compare_metadata(context, db.metadata)
    assert diff == []


def test_migration_head_is_applied(app):
    version = db.session.execute(sa.text("SELECT version_num FROM alembic_version")).scalar_one()
    from pathlib import Path

    heads = [
        p.stem.split("_")[0] for p in (Path(__file__).resolve().parent.parent / "migrations" / "versions").glob("*.py")
    ]
    assert version == max(heads)


def test_search_uses_the_gin_index_on_postgres(app, postgres_only):
    """The list counts and collects a search's matches from issue_documents through its GIN index.

    (The full filter joined to issues may legitimately walk issues first on a tiny table, so the plan is
    checked on the statement that finds the matches.)"""
    from tracker.issues.queries import COUNT_CAP, IssueFilter, lone_filter_ids

    db.session.execute(sa.text("SET enable_seqscan = off"))
    db.session.execute(sa.text("SET enable_indexscan = off"))  # nor a whole-pk scan with a filter
    stmt = lone_filter_ids("postgresql", IssueFilter(q="login crash"), COUNT_CAP + 1)
    compiled = stmt.compile(db.engine)
    connection = db.session.connection()
    plan = "\n".join(r[0] for r in connection.exec_driver_sql(f"EXPLAIN {compiled}", compiled.params))
    db.session.rollback()
    assert "ix_issue_documents_document" in plan


def _analysed_issues(reporter) -> None:
    """500 issues (every tenth resolved, every twentieth with an external key), analysed (PostgreSQL)."""
    db.session.execute(
        sa.text(
            "INSERT INTO issues (title, description, status, priority, reporter_id, version, created_at, updated_at,"
            " resolved_at, external_key)"
            " SELECT 'Issue ' || n, '', 'open', 'medium', :reporter, 1, now() - n * interval '1 minute',"
            " now() - n * interval '1 minute', CASE WHEN n % 10 = 0 THEN now() - n * interval '1 hour' END,"
            " CASE WHEN n % 20 = 0 THEN 'PROJ-' || n END FROM generate_series(1, 500) AS n"
        ),
        {"reporter": reporter.id},
    )
    db.session.commit()
    db.session.execute(sa.text("ANALYZE issues"))


@pytest.mark.parametrize("sort", ["-updated", "created", "-priority", "id"])
def test_a_set_of_issues_is_sorted_from_the_covering_index(app, postgres_only, make_user, sort):
    """A search's or a rare label's matches are put in list order from index entries alone: an index-only scan of
    the primary key, which carries the sort columns (migration 0031; before it, ix_issues_id_sort of 0020), no issue
    row read. (With a few hundred issues analysed: on an empty table any index's
    whole scan costs as little as three lookups.)"""
    from tracker.issues.queries import ids_in_order

    _analysed_issues(make_user(name="Reporter"))
    stmt = ids_in_order("postgresql", [3, 1, 2], sort).limit(50)
    compiled = stmt.compile(db.engine, compile_kwargs={"literal_binds": True})
    connection = db.session.connection()
    connection.exec_driver_sql("SET enable_seqscan = off")
    connection.exec_driver_sql("SET enable_bitmapscan = off")
    plan = "\n".join(r[0] for r in connection.exec_driver_sql(f"EXPLAIN {compiled}").all())
    db.session.rollback()
    assert "Index Only Scan using pk_issues" in plan, plan


def test_priority_sort_walks_the_rank_index(app):
    """sort=priority reads the expression index in order instead of sorting every issue (both databases)."""
    from tracker.issues.queries import IssueFilter, filtered, ordered

    stmt = ordered(filtered(db.engine.dialect.name, IssueFilter()), "-priority").limit(50)
    compiled = stmt.compile(db.engine, compile_kwargs={"literal_binds": True})
    connection = db.session.connection()
    if db.engine.dialect.name == "postgresql":
        connection.exec_driver_sql("SET enable_seqscan = off")
        rows = connection.exec_driver_sql(f"EXPLAIN {compiled}").all()
        plan = "\n".join(r[0] for r in rows)
    else:
        plan = "\n".join(str(r[-1]) for r in connection.exec_driver_sql(f"EXPLAIN QUERY PLAN {compiled}").all())
    db.session.rollback()
    assert "ix_issues_priority_rank_id" in plan, plan
    assert "TEMP B-TREE" not in plan and "Sort" not in plan, plan


def test_issues_are_vacuumed_after_two_percent_change(app, postgres_only):
    """Index-only scans stay index-only after big bulk changes: autovacuum runs after 2% of issues change."""
    options = db.session.execute(sa.text("SELECT reloptions FROM pg_class WHERE relname = 'issues'")).scalar_one()
    assert "autovacuum_vacuum_scale_factor=0.02" in options


def test_staged_import_files_are_stored_uncompressed(app, postgres_only):
    """Staging and reading back a file skip pglz: import_chunks.data has STORAGE EXTERNAL."""
    storage = db.session.execute(
        sa.text("SELECT attstorage FROM pg_attribute WHERE attrelid = 'import_chunks'::regclass AND attname = 'data'")
    ).scalar_one()
    assert storage == "e"


def test_imported_events_become_ranges_and_back(app, make_user, make_issue):
    """Migration 0012: 'imported' events of runs that exist become id ranges (and are deleted); others stay.
    Its downgrade writes one 'imported' event per issue still in a range again."""
    from flask_migrate import downgrade, upgrade

    from tracker.models import ImportedRange, ImportRun

    me = make_user(name="Importer")
    run = ImportRun(user_id=me.id, file_name="old.csv", state="imported", policy="all_or_nothing", finished_at=utcnow())
    db.session.add(run)
    db.session.commit()
    a, b, c, d, e = (make_issue(title=t, reporter=me).id for t in "abcde")
    run_id, me_id = run.id, me.id
    db.session.commit()
    db.session.close()
    downgrade(revision="0011")
    try:
        for issue_id, file_run in ((a, run_id), (b, run_id), (d, run_id), (e, run_id + 1000)):
            db.session.add(IssueEvent(issue_id=issue_id, actor_id=me_id, kind="imported", version=1,
                                      changes={"import_run": file_run, "file": "old.csv"}))
        db.session.commit()
        db.session.close()
        upgrade()
        ranges = db.session.execute(
            sa.select(ImportedRange.first_id, ImportedRange.last_id, ImportedRange.run_id).order_by(
                ImportedRange.first_id
            )
        ).all()
        assert ranges == [(a, b, run_id), (d, d, run_id)]
        imported = (
            db.session.execute(sa.select(IssueEvent.issue_id).where(IssueEvent.kind == "imported")).scalars().all()
        )
        assert imported == [e]  # its run does not exist: the event stays
        db.session.close()

        downgrade(revision="0011")
        events = db.session.execute(
            sa.select(IssueEvent.issue_id, IssueEvent.actor_id, IssueEvent.changes)
            .where(IssueEvent.kind == "imported")
            .order_by(IssueEvent.issue_id)
        ).all()
        assert [(i, actor) for i, actor, _changes in events] == [(a, me_id), (b, me_id), (d, me_id), (e, me_id)]
        assert events[0].changes == {"import_run": run_id, "file": "old.csv"}
        assert c not in [i for i, _a, _c in events]
        db.session.close()
    finally:
        db.session.rollback()
        db.session.close()
        upgrade()


def test_comments_stored_html_goes_and_comes_back_rendered(app, make_user, make_issue):
    """Migration 0013 drops comments.body_html in place: every comment and its timeline entry stay (rebuilding
    the table on SQLite would delete the entries through their ON DELETE CASCADE). Its downgrade puts the
    column back filled by rendering each comment's Markdown, as the old code stored it."""
    from flask_migrate import downgrade, upgrade

    from tracker.comments import service as comments
    from tracker.markdown import render_markdown
    from tracker.models import Comment

    me = make_user()
    issue = make_issue(reporter=me)
    kept = comments.add_comment(db.session, me, issue.id, "Seen **twice**, see #1").id
    gone = comments.add_comment(db.session, me, issue.id, "Oops").id
    comments.delete_comment(db.session, me, gone)

    def state():
        """The comments' ids and the comment ids of the timeline entries."""
        ids = db.session.execute(sa.select(Comment.id).order_by(Comment.id)).scalars().all()
        entries = db.session.execute(
            sa.select(IssueEvent.comment_id).where(IssueEvent.kind == "comment").order_by(IssueEvent.comment_id)
        ).scalars().all()
        db.session.close()
        return ids, entries

    assert state() == ([kept, gone], [kept, gone])
    downgrade(revision="0012")
    try:
        rows = db.session.execute(sa.text("SELECT id, body_html FROM comments ORDER BY id")).all()
        assert [tuple(r) for r in rows] == [(kept, render_markdown("Seen **twice**, see #1")), (gone, "")]
        assert state() == ([kept, gone], [kept, gone])
        upgrade()
        assert "body_html" not in [c["name"] for c in sa.inspect(db.engine).get_columns("comments")]
        assert state() == ([kept, gone], [kept, gone])
    finally:
        db.session.rollback()
        db.session.close()
        upgrade()


def test_a_table_rebuilt_by_a_migration_keeps_the_rows_that_point_at_it(app, make_user, make_issue, make_label):
    """SQLite alters a table by rebuilding it (batch mode). Migrations run with foreign keys off, so rebuilding
    labels (0010) keeps every issue's labels instead of deleting them through ON DELETE CASCADE."""
    from flask_migrate import downgrade, upgrade

    from tracker.models import IssueLabel

    me = make_user()
    label = make_label("bug")
    expected = [(make_issue(reporter=me, labels=[label.id]).id, label.id)]
    db.session.close()
    downgrade(revision="0009")
    try:
        upgrade()
        pairs = db.session.execute(sa.select(IssueLabel.issue_id, IssueLabel.label_id)).all()
        assert [tuple(p) for p in pairs] == expected
    finally:
        db.session.rollback()
        db.session.close()
        upgrade()


def test_the_issues_indexes_hold_live_issues_only(app):
    """Migration 0026: every index that lists, sorts, counts or reports issues is partial on deleted_at IS NULL, so
    moving issues to the trash adds entries only to the primary key and the trash's own index (both databases)."""
    if db.engine.dialect.name == "postgresql":
        query = "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = 'issues'"
    else:
        query = "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = 'issues' AND sql IS NOT NULL"
    definitions = dict(db.session.execute(sa.text(query)).all())
    whole = {"pk_issues", "ix_issues_deleted_at_id", "ix_issues_duplicate_of_id"}
    live = {name: sql for name, sql in definitions.items() if name not in whole}
    assert "ix_issues_priority_rank_id" in live and "ix_issues_updated_at_id" in live
    assert len(live) >= 12
    for name, sql in live.items():
        assert "deleted_at IS NULL" in sql, (name, sql)


@pytest.mark.parametrize(
    "index, condition",
    [
        ("ix_issues_external_key", lambda: Issue.external_key.in_(["PROJ-12", "101"])),
        (
            "ix_issues_resolved_at_assignee_id_created_at",
            lambda: sa.and_(Issue.resolved_at >= datetime(2026, 11, 1), Issue.resolved_at < datetime(2026, 12, 1)),
        ),
    ],
)
def test_keys_and_resolutions_are_read_from_their_narrow_indexes(app, make_user, index, condition):
    """Migration 0027: the key and resolution indexes hold only issues with a key or a resolution; a lookup by key
    and a resolution period imply that, so both databases still read them."""
    if db.engine.dialect.name == "postgresql":
        _analysed_issues(make_user(name="Reporter"))
    stmt = sa.select(Issue.id).where(LIVE_ISSUE, condition())
    compiled = stmt.compile(db.engine, compile_kwargs={"literal_binds": True})
    connection = db.session.connection()
    if db.engine.dialect.name == "postgresql":
        connection.exec_driver_sql("SET enable_seqscan = off")
        plan = "\n".join(r[0] for r in connection.exec_driver_sql(f"EXPLAIN {compiled}").all())
    else:
        plan = "\n".join(str(r[-1]) for r in connection.exec_driver_sql(f"EXPLAIN QUERY PLAN {compiled}").all())
    db.session.rollback()
    assert index in plan, plan


def test_open_issues_by_last_change_are_read_from_their_own_index(app, postgres_only, make_user):
    """Migration 0028: an `is:open` list in update order (the list's own statement) walks the index of open issues
    by update time instead of every live issue's. (PostgreSQL, analysed; SQLite has the index too, and picks its
    plan from its own guesses on a table never analysed.)"""
    _analysed_issues(make_user(name="Reporter"))
    view, errors, _labels = queries.load_filter(db.session, MultiDict({"q": "is:open sort:updated-desc"}), me_id=None)
    assert not errors
    stmt = queries.ordered(queries.filtered(db.engine.dialect.name, view), view.sort).limit(51)
    compiled = stmt.compile(db.engine, compile_kwargs={"literal_binds": True})
    plan = "\n".join(r[0] for r in db.session.connection().exec_driver_sql(f"EXPLAIN {compiled}").all())
    db.session.rollback()
    assert "ix_issues_open_updated_at_id" in plan, plan


def _entries(issue_id: int) -> list[str]:
    return list(db.session.execute(sa.select(IssueEvent.kind).where(IssueEvent.issue_id == issue_id)).scalars())


def test_deleting_an_issue_takes_its_timeline_with_it(app, make_user, make_issue):
    """issue_events has no foreign key to the issue (migration 0032): a trigger deletes what the cascade did, and an
    entry for an issue that does not exist is not refused."""
    from tracker.comments import service as comments

    me = make_user()
    gone = make_issue("Gone", reporter=me)
    kept = make_issue("Kept", reporter=me)
    comments.add_comment(db.session, me, gone.id, "Going.")
    comments.add_comment(db.session, me, kept.id, "Staying.")
    assert _entries(gone.id) == ["created", "comment"]
    gone_id = gone.id
    db.session.execute(sa.delete(Issue).where(Issue.id == gone_id))
    db.session.commit()
    assert _entries(gone_id) == []
    assert _entries(kept.id) == ["created", "comment"]
    db.session.add(IssueEvent(issue_id=999_999, actor_id=me.id, kind="updated", changes={}, version=2))
    db.session.commit()
    assert _entries(999_999) == ["updated"]


def test_emptying_the_issues_empties_the_timeline(app, postgres_only, make_user, make_issue):
    """A TRUNCATE of the issues alone (CASCADE reaches the comments and what points at them) leaves no entry."""
    make_issue("One", reporter=make_user())
    db.session.execute(sa.text("TRUNCATE issues CASCADE"))
    db.session.commit()
    assert db.session.execute(sa.select(sa.func.count()).select_from(IssueEvent)).scalar_one() == 0
