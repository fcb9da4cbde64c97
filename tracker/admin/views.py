"""Views: list and add users, edit a user's name and email, change roles, set a new password, deactivate and
reactivate."""

from flask import flash, redirect, request, url_for
from flask_login import current_user

from .. import access
from ..auth.cookies import current_session
from ..auth.service import create_user, get_user, set_password
from ..errors import InvalidInput
from ..extensions import db
from ..forms import apply_errors
from ..htmx import render
from ..issues.queries import people
from ..notifications import service as notifications_service
from . import bp
from .forms import NewPasswordForm, NewUserForm, ProfileForm
from .service import change_role, set_active, update_profile


@bp.before_request
def admins_only():
    """Only admins manage users."""
    access.require_manage_users(current_user)


def _page(form: NewUserForm, status: int = 200, error: str | None = None):
    return render("admin/users.html", users=people(db.session), form=form, error=error, status=status)


@bp.get("/users")
def users():
    """Every user with role and state, and the form to add one."""
    return _page(NewUserForm())


@bp.post("/users")
def add_user():
    """Add a user; invalid input re-renders the form with messages."""
    form = NewUserForm()
    try:
        user = create_user(db.session, form.name.data, form.email.data, form.password.data or "", form.role.data)
    except InvalidInput as exc:
        apply_errors(form, exc.errors)
        return _page(form, status=422)
    flash(f"Added {user.name} ({user.email}) as {user.role}.", "success")
    return redirect(url_for("admin.users"), 303)


@bp.post("/users/<int:user_id>/role")
def set_role(user_id: int):
    """Change a user's role."""
    try:
        user = change_role(db.session, user_id, request.form.get("role", ""))
    except InvalidInput as exc:
        return _page(NewUserForm(formdata=None), status=422, error=" ".join(exc.errors.values()))
    flash(f"{user.name} is now {user.role}.", "success")
    return redirect(url_for("admin.users"), 303)


@bp.post("/users/<int:user_id>/active")
def set_user_active(user_id: int):
    """Deactivate (active=0) or reactivate (active=1) a user."""
    value = request.form.get("active", "")
    if value not in ("0", "1"):
        return _page(NewUserForm(formdata=None), status=422, error="Choose active=1 or active=0.")
    try:
        user = set_active(db.session, user_id, value == "1")
    except InvalidInput as exc:
        return _page(NewUserForm(formdata=None), status=422, error=" ".join(exc.errors.values()))
    flash(f"{user.name} is {'active again' if user.active else 'deactivated'}.", "success")
    return redirect(url_for("admin.users"), 303)


def _user_page(user, form: ProfileForm | None = None, password_form: NewPasswordForm | None = None, status: int = 200):
    """One user's page: name and email, and a new password."""
    form = form or ProfileForm(formdata=None, data={"name": user.name, "email": user.email, "handle": user.handle})
    password_form = password_form or NewPasswordForm(formdata=None)
    return render("admin/user.html", user=user, form=form, password_form=password_form, status=status)


@bp.get("/users/<int:user_id>")
def user(user_id: int):
    """Edit one user's name and email, or give them a new password."""
    return _user_page(get_user(db.session, user_id))


@bp.post("/users/<int:user_id>")
def update_user(user_id: int):
    """Save a user's name and email; invalid input re-renders the page with messages."""
    form = ProfileForm()
    try:
        # A form without the handle (an older page, a script) keeps it.
        handle = form.handle.data and notifications_service.check_handle(db.session, user_id, form.handle.data)
        user = update_profile(db.session, user_id, form.name.data, form.email.data)
        if handle:
            notifications_service.change_handle(db.session, current_user, user_id, handle)
    except InvalidInput as exc:
        apply_errors(form, exc.errors)
        return _user_page(get_user(db.session, user_id), form, status=422)
    flash(f"Saved {user.name} ({user.email}).", "success")
    return redirect(url_for("admin.users"), 303)


@bp.post("/users/<int:user_id>/password")
def set_user_password(user_id: int):
    """Give a user a new password (they forgot theirs); their browsers are signed out, their API tokens stay."""
    form = NewPasswordForm()
    # An admin giving themselves a new password here keeps this browser signed in, as on the account page.
    keep = current_session().id if user_id == current_user.id and current_session() else None
    try:
        user = set_password(db.session, user_id, form.password.data or "", keep_session_id=keep)
    except InvalidInput as exc:
        apply_errors(form, exc.errors)
        return _user_page(get_user(db.session, user_id), password_form=form, status=422)
    flash(f"{user.name} has a new password; tell them, and ask them to change it on their account page.", "success")
    return redirect(url_for("admin.users"), 303)
