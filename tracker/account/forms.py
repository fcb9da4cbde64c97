"""The account page's forms: your name, a personal API token, a new password."""

from flask_wtf import FlaskForm
from wtforms import PasswordField, RadioField, StringField
from wtforms.fields.choices import SelectChoice


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


class HandleForm(FlaskForm):
    """The @handle others mention you by."""

    handle = StringField("Handle", render_kw={"maxlength": 30, "autocomplete": "off", "spellcheck": "false"})


class EmailSettingsForm(FlaskForm):
    """Which notifications also come by email, and when."""

    email_scope = RadioField(
        "Email me about",
        choices=[
            SelectChoice("involved", "Issues I'm involved in (assigned, mentioned, reported)"),
            SelectChoice("watching", "Every issue I watch"),
            SelectChoice("none", "Nothing (the inbox only)"),
        ],
        validate_choice=False,
    )
    email_delivery = RadioField(
        "Send",
        choices=[
            SelectChoice("immediate", "Right away"),
            SelectChoice("hourly", "An hourly digest"),
            SelectChoice("daily", "A daily digest"),
        ],
        validate_choice=False,
    )
