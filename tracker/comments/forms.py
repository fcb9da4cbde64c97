"""The comment form."""

from flask_wtf import FlaskForm
from wtforms import TextAreaField


class CommentForm(FlaskForm):
    """A Markdown body."""

    body = TextAreaField("Comment", render_kw={"rows": 5, "placeholder": "Markdown: **bold**, `code`, lists, links; #123 links to an issue."})
