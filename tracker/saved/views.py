"""Views: the saved views page (rename, change, share, delete, order, pin), saving the list's query, running a view."""

from flask import flash, redirect, request, url_for
from flask_login import current_user

from ..errors import InvalidInput, StaleView
from ..extensions import db
from ..htmx import is_htmx, render
from ..issues import saved
from ..notifications import service as notifications_service
from ..search.query import parse, to_text
from . import bp


def _page(status: int = 200, errors: dict | None = None, editing: int | None = None, conflict: str = "",
          typed: dict | None = None):
    """The saved views page: the person's own views, then the shared ones, each with what they may do to it."""
    listed = saved.visible_views(db.session, current_user)
    saved.count_views(db.session, current_user, listed)
    return render(
        "saved/index.html",
        status=status,
        listed=listed,
        errors=errors or {},
        editing=editing,
        conflict=conflict,
        typed=typed or {},
        cap=saved.COUNT_CAP,
    )


def my_page():
    """My page (`/`): the person's unread inbox count, the issues they were last mentioned in, and the views they
    pinned, each as a short list with its count and a link to all of it."""
    return render(
        "saved/home.html",
        pinned=saved.pinned_lists(db.session, current_user),
        cap=saved.COUNT_CAP,
        mentioned=notifications_service.mentioned_issues(db.session, current_user.id),
    )


@bp.get("")
def index():
    """Every view the person sees, with its count of issues, and the forms to change their own."""
    return _page()


@bp.post("")
def create():
    """Save a query (usually the list's current one) as a view; a mistake re-renders the views page (422)."""
    form = request.form
    try:
        view = saved.create_view(db.session, current_user, form.get("name"), form.get("q", ""),
                                 shared=form.get("shared") == "1")
    except InvalidInput as exc:
        db.session.rollback()
        return _page(status=422, errors=exc.errors, typed={"name": form.get("name", ""), "q": form.get("q", "")})
    flash(f"Saved the view {view.name}.", "success")
    return redirect(url_for("issues.index", q=view.query), 303)


@bp.get("/sidebar")
def sidebar():
    """The list's views with their capped counts (asked for by the list page once it is shown; one statement for
    all the counts). Loaded directly, the views page says the same."""
    if not is_htmx():
        return redirect(url_for("saved.index"))
    listed = saved.visible_views(db.session, current_user)
    saved.count_views(db.session, current_user, listed)
    return render(
        "issues/list.html", block="saved_views", saved_views=listed, counted=True, saved_cap=saved.COUNT_CAP,
        canonical_q=to_text(parse(request.args.get("q", ""))),
    )


@bp.get("/<int:view_id>")
def show(view_id: int):
    """Run a view: the issue list under the view's query (a URL of its own, bookmarkable)."""
    view = saved.get_view(db.session, current_user, view_id)
    return redirect(url_for("issues.index", q=view.query))


@bp.post("/<int:view_id>")
def edit(view_id: int):
    """Rename or change a view (shared views: admins), from the version shown; a stale version is a 409 with the
    view as it is now."""
    form = request.form
    typed = {"name": form.get("name", ""), "q": form.get("q", "")}
    shared = None if "shared_field" not in form else form.get("shared") == "1"
    try:
        view = saved.update_view(db.session, current_user, view_id, form.get("version"), form.get("name"),
                                 form.get("q", ""), shared)
    except InvalidInput as exc:
        db.session.rollback()
        return _page(status=422, errors=exc.errors, editing=view_id, typed=typed)
    except StaleView as exc:
        db.session.rollback()
        current = saved.get_view(db.session, current_user, view_id)
        shown, both = saved.merged(current, typed, {"name": form.get("base_name"), "q": form.get("base_q")})
        message = exc.message + "".join(
            f" Both of you changed the {label}: theirs is “{theirs}”; saving keeps yours." for label, theirs in both
        )
        return _page(status=409, editing=view_id, conflict=message, typed=shown)
    flash(f"Saved the view {view.name}.", "success")
    return redirect(url_for("saved.index"), 303)


@bp.post("/<int:view_id>/delete")
def delete(view_id: int):
    """Delete a view (its owner; admins for shared views), from the version shown."""
    try:
        saved.delete_view(db.session, current_user, view_id, request.form.get("version"))
    except StaleView as exc:
        return _page(status=409, editing=view_id, conflict=exc.message)
    flash("Deleted the view.", "success")
    return redirect(url_for("saved.index"), 303)


@bp.post("/<int:view_id>/move")
def move(view_id: int):
    """Move a view one place up or down in the person's own order."""
    step = -1 if request.form.get("step") == "up" else 1
    saved.move_view(db.session, current_user, view_id, step)
    return redirect(url_for("saved.index"), 303)


@bp.post("/<int:view_id>/watch")
def watch(view_id: int):
    """Start or stop hearing when an issue comes into a view (in the inbox, and by email as the account says)."""
    watching = saved.watch_view(db.session, current_user, view_id, request.form.get("watching") == "1")
    view = saved.get_view(db.session, current_user, view_id)
    if watching:
        flash(f"Watching the view {view.name}: issues that come into it will be in your inbox.", "success")
    else:
        flash(f"Stopped watching the view {view.name}.", "success")
    return redirect(url_for("saved.index", _anchor=f"view-{view_id}"), 303)


@bp.post("/<int:view_id>/pin")
def pin(view_id: int):
    """Pin a view to the person's page, or take it off."""
    saved.pin_view(db.session, current_user, view_id, request.form.get("pinned") == "1")
    return redirect(url_for("index") if request.form.get("next") == "home" else url_for("saved.index"), 303)
