"""Views: the account page with personal API tokens (create, shown once, revoke)."""

from flask import flash, redirect, url_for
from flask_login import current_user

from ..errors import InvalidInput
from ..extensions import db
from ..forms import apply_errors
from ..htmx import block_for, render
from . import bp, service
from .forms import TokenForm


def _page(form: TokenForm, status: int = 200, new_token=None, secret: str | None = None):
    """The account page, or only its token section for htmx."""
    return render(
        "account/index.html",
        block=block_for(["api_tokens"]),
        status=status,
        form=form,
        tokens=service.user_tokens(db.session, current_user),
        new_token=new_token,
        secret=secret,
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
    return _page(TokenForm(formdata=None), status=201, new_token=token, secret=secret)


@bp.post("/tokens/<int:token_id>/revoke")
def revoke_token(token_id: int):
    """Revoke one of your tokens: it stops working at once."""
    token = service.revoke_token(db.session, current_user, token_id)
    if block_for(["api_tokens"]):
        return _page(TokenForm(formdata=None))
    flash(f"Revoked token {token.name}.", "success")
    return redirect(url_for("account.index"), 303)
