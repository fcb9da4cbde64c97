"""Views: first-run setup, sign-in, sign-out."""

from urllib.parse import urlsplit

from flask import current_app, flash, redirect, request, url_for
from flask_login import current_user

from ..errors import InvalidInput, Throttled
from ..extensions import db
from ..forms import apply_errors
from ..htmx import render
from . import bp
from .cookies import sign_in, sign_out
from .forms import LoginForm, SetupForm
from .service import SignInLimits, authenticate, create_first_admin, has_users


def _safe_next(target: str | None) -> str:
    """Where sign-in leads: the page asked for (same-site paths only), else My page (`/`, issue 20: the views the
    person pinned, their unread count and mentions)."""
    if target and target.startswith("/") and not target.startswith("//") and not urlsplit(target).netloc:
        return target
    return url_for("index")


@bp.route("/setup", methods=["GET", "POST"])
def setup():
    """Create the first admin while no user exists."""
    if has_users(db.session):
        return redirect(url_for("auth.login"))
    form = SetupForm()
    if request.method == "POST":
        try:
            user = create_first_admin(db.session, form.name.data, form.email.data, form.password.data or "")
        except InvalidInput as exc:
            apply_errors(form, exc.errors)
            return render("auth/setup.html", form=form, status=422)
        sign_in(user)
        flash(f"Welcome, {user.name}. Tracker is ready; you are its admin.", "success")
        return redirect(url_for("issues.index"), 303)
    return render("auth/setup.html", form=form)


@bp.route("/login", methods=["GET", "POST"])
def login():
    """Sign in with email and password; failures are throttled per account and address."""
    if current_user.is_authenticated:
        return redirect(_safe_next(request.args.get("next")))
    if not has_users(db.session):
        return redirect(url_for("auth.setup"))
    form = LoginForm()
    if request.method == "POST":
        try:
            user = authenticate(
                db.session,
                form.email.data or "",
                form.password.data or "",
                request.remote_addr or "unknown",
                SignInLimits.from_config(current_app.config),
            )
        except InvalidInput as exc:
            apply_errors(form, exc.errors)
            return render("auth/login.html", form=form, status=422)
        except Throttled as exc:
            form.password.errors = [exc.message]
            response = render("auth/login.html", form=form, status=429)
            response.headers.update(exc.headers())
            return response
        sign_in(user)
        return redirect(_safe_next(request.args.get("next")), 303)
    return render("auth/login.html", form=form)


@bp.post("/logout")
def logout():
    """Sign out: the session ends on the server (a copy of the cookie signs nobody in), then the sign-in page."""
    sign_out()
    flash("You are signed out.", "info")
    return redirect(url_for("auth.login"), 303)
