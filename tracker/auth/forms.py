"""Sign-in and first-run forms."""

from flask_wtf import FlaskForm
from wtforms import EmailField, PasswordField, StringField


class LoginForm(FlaskForm):
    """Email and password."""

    email = EmailField("Email", render_kw={"autocomplete": "username"})
    password = PasswordField("Password", render_kw={"autocomplete": "current-password"})


class SetupForm(FlaskForm):
    """The first admin's name, email and password."""

    name = StringField("Name", render_kw={"autocomplete": "name"})
    email = EmailField("Email", render_kw={"autocomplete": "username"})
    password = PasswordField("Password", render_kw={"autocomplete": "new-password"})
