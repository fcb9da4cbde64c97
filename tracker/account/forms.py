"""The form that creates a personal API token."""

from flask_wtf import FlaskForm
from wtforms import StringField


class TokenForm(FlaskForm):
    """The token's name (what will use it)."""

    name = StringField("Token name", render_kw={"maxlength": 100, "autocomplete": "off"})
