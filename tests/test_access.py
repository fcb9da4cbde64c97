"""Every route, for every kind of person: one table of the status codes the permission rules give.

A rule changed in tracker/access.py shows here for every page and API call at once; a new route must be added to
the table (the first test fails until it is). Requests that would change something send a body the rules refuse
(so every person meets the same data), except where success itself is the point.
"""

from __future__ import annotations

import io

import pytest
import sqlalchemy as sa

from tests.files import image
from tracker.account import service as tokens
from tracker.attachments import service as attachments
from tracker.attachments import web as attachments_web
from tracker.auth import sessions
from tracker.comments import service as comments
from tracker.extensions import db
from tracker.imports import staging
from tracker.issues import saved
from tracker.labels import service as labels
from tracker.models import Notification, User

ROLES = ("anonymous", "viewer", "member", "admin", "deactivated")

# Status codes per person: anonymous, viewer, member, admin, deactivated (a member whose account was then
# deactivated, still holding the cookie or token of before).
PAGE_ANY = (302, 200, 200, 200, 302)  # every signed-in person reads it
PAGE_EDITOR = (302, 403, 200, 200, 302)  # people who change issues
PAGE_ADMIN = (302, 403, 403, 200, 302)
PAGE_POST_EDITOR = (302, 403, 422, 422, 302)  # a refused post by people who change issues
API_ANY = (401, 200, 200, 200, 401)
PUBLIC = (200, 200, 200, 200, 200)


def s(*codes: int) -> tuple[int, ...]:
    """A row of the table, one status per person in ROLES order."""
    assert len(codes) == len(ROLES)
    return codes


# (method, URL with {placeholders}, body (dict: form; ("json", dict): JSON; ("file", ...): upload), statuses)
TABLE: list[tuple[str, str, object, tuple[int, ...]]] = [
    ("GET", "/", None, s(302, 200, 200, 200, 302)),  # my page (issue 20)
    ("GET", "/static/app.css", None, PUBLIC),
    ("GET", "/login", None, s(200, 302, 302, 302, 200)),
    ("POST", "/login", {"email": "nobody@example.com", "password": "wrong password"}, s(422, 302, 302, 302, 422)),
    ("GET", "/setup", None, s(302, 302, 302, 302, 302)),  # set up already: to sign-in (or, signed in, onwards)
    ("POST", "/setup", {}, s(302, 302, 302, 302, 302)),
    ("POST", "/logout", {}, s(302, 303, 303, 303, 302)),
    # account: everyone signed in keeps their own name, password and tokens
    ("GET", "/account", None, PAGE_ANY),
    ("POST", "/account/name", {"profile-name": ""}, s(302, 422, 422, 422, 302)),
    ("POST", "/account/password", {}, s(302, 422, 422, 422, 302)),
    ("POST", "/account/tokens", {"name": ""}, s(302, 422, 422, 422, 302)),
    ("POST", "/account/tokens/{other_token}/revoke", {}, s(302, 404, 404, 404, 302)),  # someone else's: not found
    ("POST", "/account/sessions/{other_session}/end", {}, s(302, 404, 404, 404, 302)),  # someone else's: not found
    ("POST", "/account/sessions/end-others", {}, s(302, 303, 303, 303, 302)),
    # users: admins only
    ("GET", "/admin/users", None, PAGE_ADMIN),
    ("POST", "/admin/users", {"name": ""}, s(302, 403, 403, 422, 302)),
    ("GET", "/admin/users/{other_user}", None, PAGE_ADMIN),
    ("POST", "/admin/users/{other_user}", {"name": ""}, s(302, 403, 403, 422, 302)),
    ("POST", "/admin/users/{other_user}/active", {"active": "maybe"}, s(302, 403, 403, 422, 302)),
    ("POST", "/admin/users/{other_user}/password", {"password": "short"}, s(302, 403, 403, 422, 302)),
    ("POST", "/admin/users/{other_user}/role", {"role": "owner"}, s(302, 403, 403, 422, 302)),
    # issues
    ("GET", "/issues", None, PAGE_ANY),
    ("GET", "/issues/search-help", None, PAGE_ANY),
    ("GET", "/issues/new", None, PAGE_EDITOR),
    ("POST", "/issues/new", {"title": ""}, s(302, 403, 422, 422, 302)),
    ("GET", "/issues/{issue}", None, PAGE_ANY),
    ("GET", "/issues/{issue}/timeline", None, PAGE_ANY),
    ("GET", "/issues/{issue}/edit", None, PAGE_EDITOR),
    ("POST", "/issues/{issue}/edit", {"version": "1", "title": ""}, s(302, 403, 422, 422, 302)),
    ("POST", "/issues/bulk", {"issue_ids": "{issue}"}, s(302, 403, 422, 422, 302)),
    ("GET", "/issues/export.csv", None, PAGE_ANY),
    # comments: the author edits; the author or an admin deletes
    ("POST", "/issues/{issue}/comments", {"body": " "}, s(302, 403, 422, 422, 302)),
    ("GET", "/comments/{others_comment}", None, s(302, 302, 302, 302, 302)),  # to its place on the issue page
    ("GET", "/comments/{others_comment}/edit", None, s(302, 403, 403, 403, 302)),
    ("POST", "/comments/{others_comment}/edit", {"body": " "}, s(302, 403, 403, 403, 302)),
    # {own_comment}: a viewer's is from when they were a member
    ("GET", "/comments/{own_comment}/edit", None, s(302, 403, 200, 200, 302)),
    ("POST", "/comments/{own_comment}/edit", {"body": " "}, s(302, 403, 422, 422, 302)),
    ("GET", "/comments/{others_comment}/delete", None, s(302, 403, 403, 200, 302)),
    ("GET", "/comments/{own_comment}/delete", None, s(302, 403, 200, 200, 302)),
    # attachments: read by all, attached by people who change issues, deleted by the uploader or an admin
    ("POST", "/issues/{issue}/attachments", {}, s(302, 403, 422, 422, 302)),  # no file chosen
    ("GET", "/files/{others_file}/shot.png", None, PAGE_ANY),
    ("GET", "/thumbnails/{others_file}", None, PAGE_ANY),
    ("GET", "/attachments/{others_file}/delete", None, s(302, 403, 403, 200, 302)),
    ("GET", "/attachments/{own_file}/delete", None, s(302, 403, 200, 200, 302)),  # a viewer's from when a member
    # labels: read by all, changed by people who change issues
    ("GET", "/labels", None, PAGE_ANY),
    ("GET", "/labels/colors.css", None, PAGE_ANY),
    ("POST", "/labels", {"name": "", "color": "blue"}, s(302, 403, 422, 422, 302)),
    ("GET", "/labels/{label}/edit", None, PAGE_EDITOR),
    ("POST", "/labels/{label}/edit", {"name": "", "color": "blue"}, s(302, 403, 422, 422, 302)),
    ("GET", "/labels/{label}/delete", None, PAGE_EDITOR),
    # imports: people who change issues import; a staged file is its uploader's (or an admin's)
    ("GET", "/import", None, PAGE_EDITOR),
    ("POST", "/import", {}, s(302, 403, 422, 422, 302)),
    ("GET", "/import/template.csv", None, PAGE_ANY),
    ("GET", "/imports", None, PAGE_ANY),
    ("GET", "/imports/{imported_run}", None, PAGE_ANY),
    ("GET", "/imports/{imported_run}/rejected.csv", None, s(302, 403, 403, 200, 302)),  # the importer's or an admin's
    ("GET", "/imports/{others_run}", None, s(302, 404, 404, 303, 302)),  # not imported yet: the check, for who may
    ("GET", "/imports/{others_run}/check", None, s(302, 403, 403, 200, 302)),
    ("POST", "/imports/{others_run}/check", {"column": ["bogus"]}, s(302, 403, 403, 422, 302)),
    ("POST", "/imports/{others_run}/import", {"policy": "bogus"}, s(302, 403, 403, 422, 302)),
    ("GET", "/imports/{own_run}/check", None, s(302, 403, 200, 200, 302)),  # a viewer's from when they were a member
    ("POST", "/imports/{own_run}/import", {"policy": "bogus"}, s(302, 403, 422, 422, 302)),
    ("POST", "/imports/{imported_run}/discard", {}, s(302, 403, 403, 409, 302)),  # imported: stays in the history
    # reports: read by all
    ("GET", "/reports", None, PAGE_ANY),
    ("GET", "/reports/print", None, PAGE_ANY),
    ("GET", "/reports/assignees.csv", None, PAGE_ANY),
    # saved views (issue 20): everyone keeps views; a private one is its owner's alone (others: not found); the owner
    # or, for a shared one, an admin changes it (a refused name: 422); everyone orders and pins what they see
    ("GET", "/views", None, PAGE_ANY),
    ("POST", "/views", {"name": "", "q": "is:open"}, s(302, 422, 422, 422, 302)),
    ("GET", "/views/sidebar", None, s(302, 302, 302, 302, 302)),  # without htmx: to the views page
    ("GET", "/views/{shared_view}", None, s(302, 302, 302, 302, 302)),
    ("GET", "/views/{others_view}", None, s(302, 404, 404, 404, 302)),
    ("POST", "/views/{shared_view}", {"version": "1", "name": ""}, s(302, 403, 403, 422, 302)),
    ("POST", "/views/{others_view}", {"version": "1", "name": ""}, s(302, 404, 404, 404, 302)),
    ("POST", "/views/{shared_view}/delete", {"version": "x"}, s(302, 403, 403, 422, 302)),
    ("POST", "/views/{shared_view}/move", {"step": "up"}, s(302, 303, 303, 303, 302)),
    ("POST", "/views/{shared_view}/pin", {"pinned": "1"}, s(302, 303, 303, 303, 302)),
    ("POST", "/views/{shared_view}/watch", {"watching": "1"}, s(302, 303, 303, 303, 302)),
    ("POST", "/views/{others_view}/watch", {"watching": "1"}, s(302, 404, 404, 404, 302)),
    # the JSON API: a personal token, never the session; the docs are public
    ("GET", "/api/docs", None, PUBLIC),
    ("GET", "/api/openapi.json", None, PUBLIC),
    ("GET", "/api/issues", None, API_ANY),
    ("POST", "/api/issues", ("json", {"title": "From the API"}), s(401, 403, 201, 201, 401)),
    ("GET", "/api/issues/{issue}", None, API_ANY),
    ("PATCH", "/api/issues/{issue}", ("json", {"version": 1, "title": ""}), s(401, 403, 422, 422, 401)),
    ("PUT", "/api/issues/{issue}/labels", ("json", {"version": 1, "labels": ["n" * 51]}), s(401, 403, 422, 422, 401)),
    ("GET", "/api/issues/{issue}/comments", None, API_ANY),
    ("POST", "/api/issues/{issue}/comments", ("json", {"body": " "}), s(401, 403, 422, 422, 401)),
    ("GET", "/api/issues/{issue}/timeline", None, API_ANY),
    ("GET", "/api/issues/{issue}/attachments", None, API_ANY),
    ("POST", "/api/issues/{issue}/attachments", ("file", b""), s(401, 403, 422, 422, 401)),  # an empty file
    ("GET", "/api/attachments/{others_file}", None, API_ANY),
    ("GET", "/api/attachments/{others_file}/content", None, API_ANY),
    ("DELETE", "/api/attachments/{others_doc}", None, s(401, 403, 403, 204, 401)),
    ("POST", "/api/issues/bulk-status", ("json", {"issue_ids": [], "status": "closed"}), s(401, 403, 422, 422, 401)),
    ("POST", "/api/issues/import", ("file", b"title\n"), s(401, 403, 422, 422, 401)),
    ("GET", "/api/users", None, API_ANY),
    ("GET", "/api/views", None, API_ANY),
    ("POST", "/api/views", ("json", {"name": "", "query": "is:open"}), s(401, 422, 422, 422, 401)),
    ("GET", "/api/views/{shared_view}", None, API_ANY),
    ("GET", "/api/views/{others_view}", None, s(401, 404, 404, 404, 401)),
    ("GET", "/api/views/{shared_view}/issues", None, API_ANY),
    ("PATCH", "/api/views/{shared_view}", ("json", {"version": 1, "name": ""}), s(401, 403, 403, 422, 401)),
    ("DELETE", "/api/views/{others_view}?version=1", None, s(401, 404, 404, 404, 401)),
    ("PUT", "/api/views/{shared_view}/watch", None, API_ANY),
    ("DELETE", "/api/views/{others_view}/watch", None, s(401, 404, 404, 404, 401)),
    ("GET", "/api/labels", None, API_ANY),
    ("GET", "/api/reports/top-assignees", None, API_ANY),
    ("GET", "/api/reports/latency", None, API_ANY),
    # the issue page's quick changes (a refused priority changes nothing)
    ("POST", "/issues/{issue}/quick", {"field": "priority", "priority": "x", "version": "1"}, PAGE_POST_EDITOR),
    ("POST", "/issues/{issue}/duplicate", {"duplicate_of": "x", "version": "1"}, PAGE_POST_EDITOR),
    ("POST", "/api/issues/{issue}/duplicate", ("json", {"duplicate_of": 999999, "version": 1}),
     s(401, 403, 422, 422, 401)),
    # the trash (issue 22): admins delete issues, restore and purge them
    ("GET", "/issues/{issue}/delete", None, PAGE_ADMIN),
    ("POST", "/issues/{issue}/delete", {"version": "99"}, s(302, 403, 403, 422, 302)),  # newer than the issue: kept
    ("POST", "/issues/bulk-delete", {"issue_ids": "x"}, s(302, 403, 403, 422, 302)),
    ("GET", "/admin/trash", None, PAGE_ADMIN),
    ("POST", "/admin/trash/restore", {"issue_ids": "x"}, s(302, 403, 403, 422, 302)),
    ("GET", "/admin/trash/{issue}/purge", None, s(302, 403, 403, 404, 302)),  # not in the trash
    ("POST", "/admin/trash/{issue}/purge", {}, s(302, 403, 403, 409, 302)),
    ("POST", "/api/issues/bulk-delete", ("json", {"issue_ids": []}), s(401, 403, 403, 422, 401)),
    ("POST", "/api/issues/{issue}/restore", None, s(401, 403, 403, 409, 401)),
    # reverting a change of the timeline: people who change issues (entry 1 is no field change: not found)
    ("GET", "/issues/{issue}/revert/1/title", None, s(302, 403, 404, 404, 302)),
    ("POST", "/issues/{issue}/revert/1/title", {"version": "1"}, s(302, 403, 404, 404, 302)),
    # undoing an import: its importer or an admin (a staged file has nothing to undo: 409)
    ("GET", "/imports/{imported_run}/undo", None, s(302, 403, 403, 200, 302)),
    ("POST", "/imports/{others_run}/undo", {}, s(302, 403, 403, 409, 302)),
    ("POST", "/imports/{others_run}/redo", {}, s(302, 403, 403, 409, 302)),
    ("POST", "/api/imports/{others_run}/undo", ("json", {}), s(401, 403, 403, 409, 401)),
    ("POST", "/api/imports/{others_run}/redo", None, s(401, 403, 403, 409, 401)),
    ("POST", "/issues/{issue}/tasks", {"task": "9", "version": "1"}, PAGE_POST_EDITOR),  # no such task
    ("POST", "/issues/preview", {"text": "**hi**"}, PAGE_EDITOR),
    # notifications: everyone signed in has an inbox, watches issues, changes their handle and email settings
    ("GET", "/inbox", None, PAGE_ANY),
    ("GET", "/inbox/count", None, PAGE_ANY),
    ("POST", "/inbox/mark", {"mark": "read"}, s(302, 422, 422, 422, 302)),  # nothing chosen
    ("GET", "/inbox/{others_notification}", None, s(302, 404, 404, 404, 302)),  # someone else's: not found
    ("POST", "/issues/{issue}/watch", {"watch": "maybe"}, s(302, 422, 422, 422, 302)),
    ("GET", "/people/suggest", None, PAGE_ANY),
    ("GET", "/@{owner_handle}", None, s(302, 303, 303, 303, 302)),  # a mention's link: the person's issues
    ("POST", "/account/handle", {"handle": "No Spaces"}, s(302, 422, 422, 422, 302)),
    ("POST", "/account/notifications", {"email_scope": "all"}, s(302, 422, 422, 422, 302)),
    ("GET", "/api/notifications", None, API_ANY),
    ("POST", "/api/notifications/mark", ("json", {"state": "read"}), s(401, 422, 422, 422, 401)),
    ("POST", "/api/issues/{issue}/watch", None, API_ANY),
    ("DELETE", "/api/issues/{issue}/watch", None, API_ANY),
    ("GET", "/unsubscribe/forged", None, s(404, 404, 404, 404, 404)),  # no sign-in needed; a forged token: 404
    ("POST", "/unsubscribe/forged", {}, s(404, 404, 404, 404, 404)),
    ("GET", "/admin/mail", None, PAGE_ADMIN),
    # last, as they succeed: deleting
    ("POST", "/comments/{others_comment}/delete", {}, s(302, 403, 403, 303, 302)),
    ("POST", "/comments/{own_comment}/delete", {}, s(302, 403, 303, 303, 302)),
    ("POST", "/labels/{label}/delete", {}, s(302, 403, 303, 303, 302)),
    ("POST", "/attachments/{others_file}/delete", {}, s(302, 403, 403, 303, 302)),
    ("POST", "/attachments/{own_file}/delete", {}, s(302, 403, 303, 303, 302)),
    ("POST", "/imports/{others_run}/discard", {}, s(302, 403, 403, 303, 302)),
    ("POST", "/imports/{own_run}/discard", {}, s(302, 403, 303, 303, 302)),
    ("DELETE", "/api/issues/{issue}", None, s(401, 403, 403, 204, 401)),  # the very last: the issue goes
]


def test_the_table_covers_every_route(app):
    """Each route and method of the app appears in the table (a new route needs its row)."""
    covered = set()
    for method, url, _body, _codes in TABLE:
        adapter = app.url_map.bind("localhost")
        path = url.format(**{k: 1 for k in ("issue", "label", "other_user", "other_token", "others_comment",
                                            "own_comment", "imported_run", "others_run", "own_run",
                                            "others_file", "own_file", "others_doc", "other_session",
                                            "others_view", "shared_view", "others_notification", "owner_handle")})
        endpoint, _args = adapter.match(path.split("?")[0], method=method)
        covered.add((endpoint, method))
    missing = sorted(
        (rule.rule, method)
        for rule in app.url_map.iter_rules()
        for method in rule.methods - {"HEAD", "OPTIONS"}
        if (rule.endpoint, method) not in covered
    )
    assert not missing, f"routes without a row in the access table: {missing}"


@pytest.fixture
def world(app, make_user, make_issue):
    """The things the table's URLs name, owned by people other than the one asking (and some by them)."""

    def build(me: User | None) -> dict[str, int]:
        owner = make_user("member", name="Owner")
        make_user("admin", name="Another admin")
        issue = make_issue("Shared issue", reporter=owner)
        others_comment = comments.add_comment(db.session, owner, issue.id, "Not yours")
        comments.add_comment(db.session, make_user("member", name="Commenter"), issue.id, "The owner hears of it")
        others_notification = db.session.execute(sa.select(sa.func.max(Notification.id))).scalar_one()
        label = labels.create_label(db.session, owner, "bug", "red")
        _token, _secret = tokens.create_token(db.session, owner, "owner's script")
        owner_session, _key = sessions.start_session(db.session, owner, "192.0.2.7", "Firefox on Linux")
        others_run = staging.stage(db.session, owner, "theirs.csv", io.BytesIO(b"title\nOne\n"))
        imported = staging.stage(db.session, owner, "done.csv", io.BytesIO(b"title\nTwo\n"))
        from tracker.imports import service as imports

        imports.run_import(db.session, owner, imported, "all_or_nothing", staging.mapping_of(imported))
        others_file = _attach(owner, issue.id, "shot.png", image(color="red"))
        others_doc = _attach(owner, issue.id, "notes.txt", b"Notes\n")
        others_view = saved.create_view(db.session, owner, "Owner's own", "is:open")
        shared_view = saved.create_view(db.session, owner, "Owner's shared", "label:bug", shared=True)
        ids = {
            "issue": issue.id,
            "label": label.id,
            "other_user": owner.id,
            "other_token": _token.id,
            "other_session": owner_session.id,
            "others_comment": others_comment.id,
            "others_run": others_run.id,
            "imported_run": imported.id,
            "own_comment": others_comment.id,
            "own_run": others_run.id,
            "others_file": others_file,
            "own_file": others_file,
            "others_doc": others_doc,
            "others_view": others_view.id,
            "shared_view": shared_view.id,
            "others_notification": others_notification,
            "owner_handle": owner.handle,
        }
        if me is not None:
            # Made as a member would have made them: a viewer may have been a member then.
            role, me.role = me.role, "member"
            own = comments.add_comment(db.session, me, issue.id, "Mine")
            own_run = staging.stage(db.session, me, "mine.csv", io.BytesIO(b"title\nThree\n"))
            own_file = _attach(me, issue.id, "mine.png", image(color="blue"))
            me.role = role
            db.session.commit()
            ids.update(own_comment=own.id, own_run=own_run.id, own_file=own_file)
        return ids

    return build


def _attach(user: User, issue_id: int, name: str, data: bytes) -> int:
    """Attach a file as this person; its attachment's id."""
    uploads = [attachments.Upload(name, io.BytesIO(data))]
    incoming = attachments.Incoming(attachments_web.store(), uploads, attachments_web.limits())
    return attachments.attach_files(db.session, user, issue_id, incoming)[0].attachment.id


def _request(client, method: str, url: str, body, headers: dict[str, str]):
    """Send one row's request: a form, JSON or a CSV upload."""
    if body is None:
        return client.open(url, method=method, headers=headers)
    if isinstance(body, tuple) and body[0] == "json":
        return client.open(url, method=method, json=body[1], headers=headers)
    if isinstance(body, tuple) and body[0] == "file":
        return client.open(url, method=method, data={"file": (io.BytesIO(body[1]), "x.csv")}, headers=headers)
    return client.open(url, method=method, data=body, headers=headers)


@pytest.mark.parametrize("role", ROLES)
def test_every_route_answers_each_person_as_the_rules_say(app, client, make_user, login, world, role):
    """One request per row; the status is the one the table gives this person."""
    me = None if role == "anonymous" else make_user("member" if role == "deactivated" else role, name="Me")
    ids = world(me)
    headers: dict[str, str] = {}
    if me is not None:
        _token, secret = tokens.create_token(db.session, me, "mine")
        headers = {"Authorization": f"Bearer {secret}"}
        login(me)
    if role == "deactivated":
        db.session.execute(sa.update(User).where(User.id == me.id).values(active=False))
        db.session.commit()
    column = ROLES.index(role)
    wrong = []
    for method, url, body, codes in TABLE:
        path = url.format(**ids)
        if isinstance(body, dict):
            body = {key: (value.format(**ids) if isinstance(value, str) else value) for key, value in body.items()}
        api = path.startswith("/api/")
        response = _request(client, method, path, body, headers if api else {})
        if path == "/logout" and response.status_code in (302, 303) and me is not None:
            login(me)  # stay signed in for the rows below
        if response.status_code != codes[column]:
            wrong.append(f"{method} {url}: {response.status_code}, expected {codes[column]}")
        response.close()
        db.session.rollback()
    assert not wrong, f"as {role}:\n" + "\n".join(wrong)
