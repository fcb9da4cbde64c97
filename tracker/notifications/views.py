"""Views: the inbox (read, done, filter), the header's unread count, watching an issue, @mention suggestions."""

from __future__ import annotations

from flask import current_app, redirect, request, url_for
from flask_login import current_user

from .. import access
from ..errors import InvalidInput
from ..extensions import csrf, db
from ..htmx import block_for, render
from . import bp, mail, service


@bp.app_context_processor
def unread_badge() -> dict:
    """`inbox_unread()` for the header: asked only by pages that show it, one indexed query."""

    def count() -> int:
        if not current_user.is_authenticated:
            return 0
        if not hasattr(request, "inbox_unread"):  # the header and My page ask once per request between them
            request.inbox_unread = service.unread_count(db.session, current_user.id)
        return request.inbox_unread

    return {"inbox_unread": count, "UNREAD_CAP": service.UNREAD_CAP}


def _inbox_args() -> dict:
    """The inbox's filters from the query string or the posted form."""
    values = request.values
    return {"state": values.get("state", "unread"), "reason": values.get("reason", ""), "before": values.get("before")}


def _inbox_page(**args):
    """The inbox page, or its list for htmx; a bad filter shows the unread ones with what was wrong (422)."""
    args = args or _inbox_args()
    error, status = None, 200
    try:
        page = service.inbox(db.session, current_user, args["state"], args["reason"], args.get("before"))
    except InvalidInput as exc:
        error, status = " ".join(exc.errors.values()), 422
        page = service.inbox(db.session, current_user)
    return render(
        "notifications/inbox.html", block=block_for(["inbox_list"]), status=status, inbox=page, error=error
    )


@bp.get("/inbox")
def inbox():
    """Newest first, grouped by issue; unread by default, filter by state and reason."""
    return _inbox_page()


@bp.get("/inbox/count")
def count():
    """The header's inbox link with the unread count (htmx refreshes it after marking)."""
    return render("notifications/_count.html")


@bp.post("/inbox/mark")
def mark():
    """Mark the chosen notifications (ids), one issue's, or all of them read, unread or done."""
    state = request.form.get("mark", "read")
    ids = service.parse_ids(request.form.getlist("ids")) if request.form.getlist("ids") else None
    everything = request.form.get("all") == "1"
    if ids is None and not everything:
        raise InvalidInput({"ids": "Choose the notifications to mark, or mark them all."})
    service.mark(db.session, current_user, ids, state)
    args = _inbox_args()
    if block_for(["inbox_list"]):
        response = _inbox_page(**args)
        response.headers["HX-Trigger"] = "unread-changed"
        return response
    kept = {k: v for k, v in args.items() if v and k != "before"}
    return redirect(url_for("notifications.inbox", **kept), 303)


# Sec-Fetch-Site of a request a person made in Tracker or from the address bar or a bookmark; a browser that sends no
# such header (an old one) is taken at its word too.
OWN_NAVIGATION = {"same-origin", "none", ""}


@bp.get("/inbox/<int:notification_id>")
def open_notification(notification_id: int):
    """Mark it (and its issue's others) read and go where it points: the comment, the change, or the import. A link
    on another site leads there too but marks nothing: a GET it sends (SameSite=Lax cookies ride on a top-level
    navigation) must not clear someone's inbox."""
    from_tracker = request.headers.get("Sec-Fetch-Site", "") in OWN_NAVIGATION
    found, anchor = service.open_notification(db.session, current_user, notification_id, mark_read=from_tracker)
    if found.import_run_id is not None:
        return redirect(url_for("imports.show", run_id=found.import_run_id), 303)
    return redirect(url_for("issues.show", issue_id=found.issue_id, _anchor=anchor), 303)


@bp.post("/issues/<int:issue_id>/watch")
def watch(issue_id: int):
    """Start (watch=1) or stop (watch=0) watching an issue; htmx swaps the button, without JS back to the issue."""
    state = service.set_watching(db.session, current_user, issue_id, request.form.get("watch"))
    if block_for(["watch_widget"]):
        return render("notifications/_watch.html", watching=state)
    return redirect(url_for("issues.show", issue_id=issue_id), 303)


@bp.get("/@<handle>")
def person(handle: str):
    """Where a mention links: the person's open issues (an unknown handle: 404)."""
    user = service.person_by_handle(db.session, handle)
    return redirect(url_for("issues.index", assignee=user.id, status=["open", "in_progress"]), 303)


@bp.get("/people/suggest")
def suggest():
    """People matching what follows an @ (handle or name), as a list the mention picker shows."""
    people = service.suggest_people(db.session, request.args.get("q", ""))
    return render("notifications/_suggest.html", people=people)


@bp.route("/unsubscribe/<token>", methods=["GET", "POST"])
@csrf.exempt  # a mail client's one-click POST (RFC 8058) carries no CSRF token; the signed token is the proof
def unsubscribe(token: str):
    """One-click unsubscribe from an email, without signing in: stop watching its issue (a digest's: email)."""
    if request.method == "GET":  # a person following the link is asked first (link scanners only GET)
        valid = mail.read_unsubscribe_token(current_app.config["SECRET_KEY"], token) is not None
        page = render("notifications/unsubscribe.html", token=token, done=None, valid=valid)
        return page, (200 if valid else 404)
    done = mail.unsubscribe(db.session, current_app.config["SECRET_KEY"], token)
    return render("notifications/unsubscribe.html", token=token, done=done, valid=bool(done)), (200 if done else 404)


@bp.get("/admin/mail")
def failed_mail():
    """Emails the mail server refused for good, with its reason (admins)."""
    access.require_manage_users(current_user)
    return render("notifications/failed.html", failed=mail.failed_emails(db.session))
