"""Forms of the user administration page."""

from flask_wtf import FlaskForm
from wtforms import EmailField, PasswordField, SelectField, StringField
from wtforms.fields.choices import SelectChoice

from ..models import ROLES

ROLE_CHOICES = [SelectChoice(r, r.capitalize()) for r in ROLES]


class NewUserForm(FlaskForm):
    """Add a user with a starting password."""

    name = StringField("Name")
    email = EmailField("Email", render_kw={"autocomplete": "off"})
    role = SelectField("Role", choices=ROLE_CHOICES, default="member", validate_choice=False)
    password = PasswordField("Starting password", render_kw={"autocomplete": "new-password"})


class ProfileForm(FlaskForm):
    """A user's name, the email they sign in with, and their @handle."""

    name = StringField("Name")
    email = EmailField("Email", render_kw={"autocomplete": "off"})
    handle = StringField("Handle", render_kw={"maxlength": 30, "autocomplete": "off", "spellcheck": "false"})


class NewPasswordForm(FlaskForm):
    """A new password an admin gives a user."""

    password = PasswordField("New password", render_kw={"autocomplete": "new-password"})
