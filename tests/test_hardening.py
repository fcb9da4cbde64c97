"""Uploads and requests an audit found weak: too many columns, staged files purged on a schedule and capped per
person, failed one-request imports kept visible and discardable, nameless multipart parts, form bodies that are
not UTF-8, NUL in file names; HSTS and no-store; the public API docs reveal no data."""

from __future__ import annotations

import io
from datetime import timedelta

import pytest
import sqlalchemy as sa

from tests.helpers import count_rows, hx, text
from tracker.errors import TooLarge
from tracker.extensions import db
from tracker.imports import staging
from tracker.models import ImportChunk, ImportRun, Issue, utcnow


def upload(client, content: bytes, name: str = "issues.csv", **form):
    """POST /import with a file."""
    return client.post("/import", data={"file": (io.BytesIO(content), name), **form})


def multipart(content: bytes, name: str, **fields: str) -> dict:
    """A multipart body built by hand, as keyword arguments for the test client (which would spool a large one
    to a temporary file it does not close)."""
    parts = [f'--B\r\nContent-Disposition: form-data; name="{k}"\r\n\r\n{v}\r\n'.encode() for k, v in fields.items()]
    head = f'--B\r\nContent-Disposition: form-data; name="file"; filename="{name}"\r\nContent-Type: text/csv\r\n\r\n'
    parts.append(
        head.encode()
        + content
        + b"\r\n--B--\r\n"
    )
    return {"data": b"".join(parts), "content_type": "multipart/form-data; boundary=B"}


def wide_csv(columns: int) -> bytes:
    """A header of `columns` columns (title first) and one row."""
    header = ["title"] + [f"extra {n}" for n in range(1, columns)]
    return (",".join(header) + "\n" + "A" + "," * (columns - 1) + "\n").encode()


# ---- 12: too many columns -------------------------------------------------------------------------------


def test_a_file_with_more_columns_than_the_limit_is_refused_before_any_page(client, login_as):
    login_as("member")
    response = upload(client, wide_csv(501), dry_run="1")
    assert response.status_code == 422
    assert "The file has 501 columns; an import reads at most 500." in text(response)
    assert len(response.data) < 50_000 and "<select" not in text(response).split("import-error")[1][:2000]
    assert count_rows(ImportRun) == 0 and count_rows(ImportChunk) == 0
    assert upload(client, wide_csv(500), dry_run="1").status_code == 303


def test_the_column_limit_is_a_setting_and_holds_for_the_api(app, client, token_for):
    app.config["IMPORT_MAX_COLUMNS"] = 3
    response = client.post(
        "/api/issues/import", data={"file": (io.BytesIO(wide_csv(4)), "w.csv")}, headers=token_for("member")
    )
    assert response.status_code == 422 and response.get_json()["error"] == "bad_file"
    assert "4 columns; an import reads at most 3" in response.get_json()["message"]
    assert count_rows(ImportRun) == 0


# ---- 13: staged files: purged on a schedule, capped per person, failed ones visible ---------------------


def test_staged_files_over_a_day_old_are_purged_on_their_own(app, runner, make_user):
    me = make_user("member")
    old = staging.stage(db.session, me, "old.csv", io.BytesIO(b"title\nA\n"))
    fresh = staging.stage(db.session, me, "fresh.csv", io.BytesIO(b"title\nB\n"))
    done = staging.stage(db.session, me, "done.csv", io.BytesIO(b"title\nC\n"))
    from tracker.imports import service

    service.run_import(db.session, me, done, "all_or_nothing", staging.mapping_of(done))
    long_ago = utcnow() - timedelta(hours=25)
    db.session.execute(sa.update(ImportRun).values(created_at=long_ago))
    db.session.execute(sa.update(ImportRun).where(ImportRun.id == fresh.id).values(created_at=utcnow()))
    db.session.commit()
    old_id, fresh_id, done_id = old.id, fresh.id, done.id
    result = runner.invoke(args=["imports", "purge"])
    assert result.exit_code == 0 and "Purged 1 staged import file(s)" in result.output
    db.session.rollback()
    assert sorted(db.session.execute(sa.select(ImportRun.id)).scalars()) == sorted([fresh_id, done_id])
    assert db.session.execute(sa.select(ImportChunk.run_id).distinct()).scalars().all() == [fresh_id]
    assert staging.purge_expired(db.session) == 0 and old_id not in (fresh_id, done_id)


def test_each_person_keeps_at_most_their_quota_of_staged_files(app, client, login_as, make_user, token_for):
    app.config["IMPORT_STAGED_MB_PER_PERSON"] = 1
    me = login_as("member")
    six_tenths = b"title\n" + b"".join(b"Issue number %07d\n" % n for n in range(30_000))  # ~0.6 MB
    assert client.post("/import", **multipart(six_tenths, "first.csv", dry_run="1")).status_code == 303
    runs_before = count_rows(ImportRun)
    response = client.post("/import", **multipart(six_tenths, "second.csv", dry_run="1"))
    assert response.status_code == 413
    page = text(response)
    assert "each person may keep 1 MB of files waiting to be imported" in page and "discard them" in page
    assert count_rows(ImportRun) == runs_before and count_rows(ImportChunk) == 1
    # The API hears the same, as JSON; someone else's quota is their own.
    response = client.post(
        "/api/issues/import", **multipart(six_tenths, "api.csv", dry_run="true"), headers=token_for(me)
    )
    assert response.status_code == 413 and response.get_json()["error"] == "too_large"
    other = token_for(make_user("member"))
    assert (
        client.post(
            "/api/issues/import", **multipart(six_tenths, "theirs.csv", dry_run="true"), headers=other
        ).status_code
        == 200
    )
    # Discarding the waiting file makes room again.
    (mine,) = staging.waiting(db.session, me)
    assert client.post(f"/imports/{mine.id}/discard").status_code == 303
    assert client.post("/import", **multipart(six_tenths, "third.csv", dry_run="1")).status_code == 303


def test_the_quota_counts_what_arrives_when_the_size_is_not_announced(app, make_user):
    """A chunked upload (no Content-Length) is stopped as soon as it passes the quota; nothing stays."""
    me = make_user("member")
    limits = staging.StagingLimits(quota_bytes=3 * (1 << 20))
    two_megabytes = b"title\n" + b"An issue title\n" * (2 << 16)
    staging.stage(db.session, me, "a.csv", io.BytesIO(two_megabytes), limits)
    with pytest.raises(TooLarge):
        staging.stage(db.session, me, "b.csv", io.BytesIO(two_megabytes), limits)
    assert count_rows(ImportRun) == 1 and count_rows(ImportChunk) == 2


def test_a_failed_one_request_import_waits_in_the_history_and_can_be_discarded(
    app, client, login_as, make_user, login, snapshot
):
    me = login_as("member")
    response = upload(client, b"title,status\nGood,open\nBad,sideways\n", "failing.csv", policy="all_or_nothing")
    assert response.status_code == 422 and count_rows(Issue) == 0
    page = text(client.get("/imports"))
    assert "Waiting to be imported" in page and "failing.csv" in page
    assert "Import failed:" in page and "Nothing was imported: 1 row is invalid" in page
    (run,) = staging.waiting(db.session, me)
    assert client.get(f"/imports/{run.id}/check").status_code == 200, "it can still be checked and imported"

    someone = make_user("member", name="Someone else")
    login(someone)
    assert "failing.csv" not in text(client.get("/imports")), "others do not see it"
    assert client.post(f"/imports/{run.id}/discard").status_code == 403
    login(me)
    response = client.post(f"/imports/{run.id}/discard", headers=hx("waiting-imports"))
    body = text(response)
    assert response.status_code == 200 and body.lstrip().startswith('<section id="waiting-imports"')
    assert "failing.csv" not in body and count_rows(ImportRun) == 0
    assert client.post(f"/imports/{run.id}/discard").status_code == 404


@pytest.mark.parametrize(("meanwhile", "status"), (("imported", 409), ("discarded", 404)))
def test_a_file_imported_while_it_is_discarded_stays_imported(
    client, login_as, monkeypatch, meanwhile, status
):
    # Discard in one tab while Import runs in another: the import claimed the file after the discard read it,
    # and the discard's guarded DELETE then removed nothing, yet the page said "Discarded issues.csv." while its
    # issues were there. The discard now says it was imported (or, discarded meanwhile, that it is gone).
    me = login_as("member")
    run = staging.stage(db.session, me, "issues.csv", io.BytesIO(b"title\nA\n"))
    allowed = staging.access.require_manage_import

    def changed_meanwhile(actor, found):
        allowed(actor, found)
        with db.engine.begin() as other:
            which = ImportRun.__table__.c.id == run.id
            if meanwhile == "imported":
                other.execute(sa.update(ImportRun.__table__).where(which).values(state="imported"))
            else:
                other.execute(sa.delete(ImportRun.__table__).where(which))

    monkeypatch.setattr(staging.access, "require_manage_import", changed_meanwhile)
    response = client.post(f"/imports/{run.id}/discard")
    assert response.status_code == status
    if meanwhile == "imported":
        assert "issues.csv was imported; only files waiting to be imported can be discarded." in text(response)
        db.session.rollback()
        assert count_rows(ImportRun) == 1
    assert "Discarded" not in text(client.get("/imports"))


def test_an_admin_sees_and_discards_anyones_waiting_file(client, login_as, make_user):
    owner = make_user("member", name="Owner")
    run = staging.stage(db.session, owner, "theirs.csv", io.BytesIO(b"title\nA\n"))
    login_as("admin")
    assert "theirs.csv" in text(client.get("/imports"))
    response = client.post(f"/imports/{run.id}/discard")
    assert response.status_code == 303 and "Discarded theirs.csv." in text(client.get("/imports"))


def test_a_failed_api_import_is_kept_for_the_history(client, token_for, make_user):
    me = make_user("member")
    response = client.post(
        "/api/issues/import",
        data={"file": (io.BytesIO(b"title,status\nBad,sideways\n"), "api.csv")},
        headers=token_for(me),
    )
    assert response.status_code == 422
    (run,) = staging.waiting(db.session, me)
    assert run.failure.startswith("Nothing was imported: 1 row is invalid")


# ---- 14: a multipart part without a name ------------------------------------------------------------------


def test_a_nameless_multipart_part_is_422_not_500(client, token_for):
    body = (
        b'--b\r\nContent-Disposition: form-data; filename="x.csv"\r\nContent-Type: text/csv\r\n\r\ntitle\nA\n\r\n'
        b"--b--\r\n"
    )
    response = client.post(
        "/api/issues/import", data=body, content_type="multipart/form-data; boundary=b", headers=token_for("member")
    )
    assert response.status_code == 422 and response.get_json()["error"] == "invalid"
    assert "Every part of the multipart body needs a name" in response.get_json()["message"]
    assert count_rows(ImportRun) == 0


# ---- 16: form bodies in other encodings, NUL in file names -------------------------------------------------


@pytest.mark.parametrize("title", [b"%FF%FE", b"caf%E9", b"ok&%C3"])
def test_a_form_body_that_is_not_utf8_is_400_and_changes_nothing(client, login_as, snapshot, title):
    login_as("member")
    before = snapshot()
    response = client.post(
        "/issues/new",
        data=b"title=" + title + b"&priority=medium&status=open",
        content_type="application/x-www-form-urlencoded",
    )
    assert response.status_code == 400 and "not UTF-8" in text(response)
    assert snapshot() == before


def test_utf8_percent_escapes_still_work(client, login_as):
    login_as("member")
    response = client.post(
        "/issues/new",
        data=b"title=Caf%C3%A9+%E2%82%AC+%2525FF&priority=medium&status=open",
        content_type="application/x-www-form-urlencoded",
    )
    assert response.status_code == 303
    assert db.session.execute(sa.select(Issue.title)).scalar_one() == "Café € %25FF"


def test_a_nul_in_an_uploaded_file_name_is_refused(client, login_as, token_for):
    login_as("member")
    response = upload(client, b"title\nA\n", "evil\x00.csv.exe", dry_run="1")
    assert response.status_code == 400 and "file's name contains a NUL character" in text(response)
    response = client.post(
        "/api/issues/import", data={"file": (io.BytesIO(b"title\nA\n"), "a\x00b.csv")}, headers=token_for("member")
    )
    assert response.status_code == 400 and "NUL character" in response.get_json()["message"]
    assert count_rows(ImportRun) == 0


def test_a_nul_in_the_address_is_refused(client, login_as):
    """A NUL in a path part (an @handle) is refused as in a field: PostgreSQL cannot compare with it (a 500)."""
    login_as("member")
    response = client.get("/@a%00b")
    assert response.status_code == 400 and "NUL character" in text(response)


# ---- 15: HSTS, no-store ------------------------------------------------------------------------------------


def test_hsts_only_when_cookies_are_secure(app, client, login_as):
    login_as("viewer")
    assert "Strict-Transport-Security" not in client.get("/issues").headers
    app.config["SESSION_COOKIE_SECURE"] = True
    assert client.get("/issues").headers["Strict-Transport-Security"] == "max-age=31536000"


def test_what_a_signed_in_person_sees_is_never_stored(client, login_as, make_issue, token_for):
    login_as("viewer")
    issue = make_issue()
    for url in (
        "/issues",
        f"/issues/{issue.id}",
        "/issues/export.csv",
        "/account",
        "/reports/assignees.csv",
        "/nowhere",
    ):
        response = client.get(url)
        assert response.headers.get("Cache-Control") == "no-store", url
        response.close()
    assert client.get("/api/issues", headers=token_for("member")).headers["Cache-Control"] == "no-store"
    client.post("/logout")
    login_page = client.get("/login")
    assert login_page.status_code == 200 and "no-store" not in login_page.headers.get("Cache-Control", "")
    static = client.get("/static/app.css")
    assert "no-store" not in static.headers.get("Cache-Control", "")
    static.close()


# ---- 17: the public API docs reveal no data ----------------------------------------------------------------


def test_the_public_api_docs_reveal_nothing_from_the_database(client, make_user, make_issue, make_label):
    secrets_ = ["Zebulon Quarrington", "zebulon.q@hidden.example", "label-xyzzy-secret", "Issue about plugh"]
    person = make_user("member", name=secrets_[0], email=secrets_[1])
    make_label(secrets_[2])
    make_issue(secrets_[3], assignee_id=person.id)
    for url in ("/api/openapi.json", "/api/docs"):
        response = client.get(url)
        assert response.status_code == 200
        body = response.get_data(as_text=True).lower()
        assert not [s for s in secrets_ if s.lower() in body], url
        assert response.headers.get("Cache-Control") != "no-store", "public and the same for everyone"
