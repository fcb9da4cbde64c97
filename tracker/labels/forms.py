"""The label form (create and edit)."""

from flask_wtf import FlaskForm
from wtforms import StringField

from ..models import LABEL_NAME_MAX, LABEL_SEPARATORS


class LabelForm(FlaskForm):
    """A name and a colour (palette name or hex)."""

    name = StringField(
        "Name",
        description=f"Up to {LABEL_NAME_MAX} characters, without {' or '.join(LABEL_SEPARATORS)} "
        "(CSV files separate label names with them).",
        render_kw={"maxlength": LABEL_NAME_MAX, "autocomplete": "off"},
    )
    color = StringField("Colour", render_kw={"list": "label-palette", "autocomplete": "off"})
