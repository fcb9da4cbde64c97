"""Sign-in and first-run forms."""

from flask_wtf import FlaskForm
from wtforms import EmailField, PasswordField, StringField


class LoginForm(FlaskForm):
    """Email and password."""

    email = EmailField("Email")
    password = PasswordField("Password")


class SetupForm(FlaskForm):
    """The first admin's name, email and password."""

    name = StringField("Name")
    email = EmailField("Email")
    password = PasswordField("Password")
