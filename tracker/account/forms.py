"""The account page's forms: your name, a personal API token, a new password."""

from flask_wtf import FlaskForm
from wtforms import PasswordField, StringField


class TokenForm(FlaskForm):
    """The token's name (what will use it)."""

    name = StringField("Token name", render_kw={"maxlength": 100, "autocomplete": "off"})


class PasswordForm(FlaskForm):
    """The current password, and the new one twice."""

    current_password = PasswordField("Current password", render_kw={"autocomplete": "current-password"})
    new_password = PasswordField("New password", render_kw={"autocomplete": "new-password"})
    confirm_password = PasswordField("New password again", render_kw={"autocomplete": "new-password"})


class NameForm(FlaskForm):
    """The name others see on issues, comments and the timeline."""

    name = StringField("Name", render_kw={"maxlength": 100, "autocomplete": "name"})
