"""Views: the account page: your name, your signed-in browsers, personal API tokens (create, shown once, revoke)
and a password change."""

from flask import current_app, flash, redirect, request, url_for
from flask_login import current_user

from ..admin.service import update_profile
from ..auth import sessions
from ..auth.cookies import current_session, lifetimes, sign_out
from ..auth.service import SignInLimits, change_password
from ..errors import InvalidInput, Throttled
from ..extensions import db
from ..forms import apply_errors
from ..htmx import block_for, go, render
from ..notifications import service as notifications_service
from . import bp, service
from .forms import EmailSettingsForm, HandleForm, NameForm, PasswordForm, TokenForm

NAME_PREFIX = "profile"  # the token form has a `name` field too: keep their ids apart


def _page(
    form: TokenForm,
    status: int = 200,
    new_token=None,
    secret: str | None = None,
    password_form=None,
    name_form=None,
    handle_form=None,
    email_form=None,
):
    """The account page, or only its token or browsers section for htmx."""
    return render(
        "account/index.html",
        block=block_for(["api_tokens", "signed_in_browsers"]),
        status=status,
        form=form,
        password_form=password_form or PasswordForm(formdata=None),
        name_form=name_form or NameForm(formdata=None, data={"name": current_user.name}, prefix=NAME_PREFIX),
        handle_form=handle_form or HandleForm(formdata=None, data={"handle": current_user.handle}),
        email_form=email_form
        or EmailSettingsForm(
            formdata=None,
            data={"email_scope": current_user.email_scope, "email_delivery": current_user.email_delivery},
        ),
        tokens=service.user_tokens(db.session, current_user),
        new_token=new_token,
        secret=secret,
        browsers=sessions.live_sessions(db.session, current_user, lifetimes()),
        this_browser=current_session(),
        session_lifetimes=lifetimes(),
    )


@bp.get("")
def index():
    """Who you are and your API tokens."""
    return _page(TokenForm(formdata=None))


@bp.post("/tokens")
def create_token():
    """Create a token and show its secret this once.

    The page is rendered in the POST response instead of redirecting: a redirect would have to carry the
    secret in the session cookie, which the browser keeps readable.
    """
    form = TokenForm()
    try:
        token, secret = service.create_token(db.session, current_user, form.name.data)
    except InvalidInput as exc:
        apply_errors(form, exc.errors)
        return _page(form, status=422)
    response = _page(TokenForm(formdata=None), status=201, new_token=token, secret=secret)
    response.headers["Cache-Control"] = "no-store"  # the secret must not stay in a cache or the back-forward cache
    return response


@bp.post("/tokens/<int:token_id>/revoke")
def revoke_token(token_id: int):
    """Revoke one of your tokens: it stops working at once."""
    token = service.revoke_token(db.session, current_user, token_id)
    if block_for(["api_tokens"]):
        return _page(TokenForm(formdata=None))
    flash(f"Revoked token {token.name}.", "success")
    return redirect(url_for("account.index"), 303)


@bp.post("/password")
def password():
    """Change your own password; your other browsers are signed out, this one stays signed in."""
    form = PasswordForm()
    try:
        change_password(
            db.session,
            current_user._get_current_object(),
            form.current_password.data,
            form.new_password.data,
            form.confirm_password.data,
            request.remote_addr or "unknown",
            SignInLimits.from_config(current_app.config),
            keep_session_id=current_session().id,
        )
    except InvalidInput as exc:
        apply_errors(form, exc.errors)
        return _page(TokenForm(formdata=None), status=422, password_form=form)
    except Throttled as exc:
        apply_errors(form, {"current_password": exc.message})
        response = _page(TokenForm(formdata=None), status=429, password_form=form)
        response.headers.update(exc.headers())
        return response
    flash("Your password is changed. Any other browser signed in as you has been signed out.", "success")
    return redirect(url_for("account.index"), 303)


@bp.post("/name")
def rename():
    """Change the name others see; the email you sign in with is changed by an admin."""
    form = NameForm(prefix=NAME_PREFIX)
    try:
        update_profile(db.session, current_user.id, form.name.data, current_user.email)
    except InvalidInput as exc:
        apply_errors(form, exc.errors)
        return _page(TokenForm(formdata=None), status=422, name_form=form)
    flash("Your name is changed.", "success")
    return redirect(url_for("account.index"), 303)


@bp.post("/sessions/<int:session_id>/end")
def end_session(session_id: int):
    """Sign out one of your browsers from here (someone else's is not found); this one signs out as usual."""
    row = sessions.end_own_session(db.session, current_user, session_id)
    if row.id == current_session().id:
        sign_out()
        flash("You are signed out.", "info")
        return go(url_for("auth.login"))
    if block_for(["signed_in_browsers"]):
        return _page(TokenForm(formdata=None))
    flash(f"Signed out {row.user_agent} ({row.address}).", "success")
    return redirect(url_for("account.index"), 303)


@bp.post("/sessions/end-others")
def end_other_sessions():
    """Sign out every other browser signed in as you; this one stays signed in."""
    ended = sessions.end_other_sessions(db.session, current_user, current_session().id)
    if block_for(["signed_in_browsers"]):
        return _page(TokenForm(formdata=None))
    flash(f"Signed out {ended} other browser{'' if ended == 1 else 's'}.", "success")
    return redirect(url_for("account.index"), 303)



@bp.post("/handle")
def handle():
    """Change the @handle others mention you by."""
    form = HandleForm()
    try:
        notifications_service.change_handle(db.session, current_user, current_user.id, form.handle.data)
    except InvalidInput as exc:
        apply_errors(form, exc.errors)
        return _page(TokenForm(formdata=None), status=422, handle_form=form)
    flash(f"You are @{current_user.handle} now.", "success")
    return redirect(url_for("account.index"), 303)


@bp.post("/notifications")
def email_settings():
    """Which notifications also come by email, and whether right away or as a digest."""
    form = EmailSettingsForm()
    try:
        notifications_service.update_email_settings(
            db.session, current_user, form.email_scope.data, form.email_delivery.data
        )
    except InvalidInput as exc:
        apply_errors(form, exc.errors)
        return _page(TokenForm(formdata=None), status=422, email_form=form)
    flash("Your email settings are saved.", "success")
    return redirect(url_for("account.index"), 303)
