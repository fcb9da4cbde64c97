"""The label form (create and edit)."""

from flask_wtf import FlaskForm
from wtforms import StringField


class LabelForm(FlaskForm):
    """A name and a colour (palette name or hex)."""

    name = StringField(
        "Name",
        description="Up to 50 characters, without ; or | (CSV files separate label names with them).",
        render_kw={"maxlength": 50, "autocomplete": "off"},
    )
    color = StringField("Colour", render_kw={"list": "label-palette", "autocomplete": "off"})
