"""Views: list, create, edit, delete (with confirmation) labels; the label colour stylesheet."""

import hashlib

from flask import Response, flash, redirect, request, url_for
from flask_login import current_user

from .. import access
from ..errors import InvalidInput
from ..extensions import db
from ..forms import apply_errors
from ..htmx import block_for, render
from . import bp, service
from .forms import LabelForm


def _blank_form() -> LabelForm:
    """The empty "add a label" form (blue preselected)."""
    return LabelForm(formdata=None, data={"color": "blue"})


def _page(
    form: LabelForm, status: int = 200, editing: int | None = None, edit_form: LabelForm | None = None, saved: str = ""
):
    """The labels page (or, for htmx, its table) with the add form and, when editing, the row's edit form;
    `saved` says which label an in-place edit just saved."""
    if edit_form is not None:
        for edit_field in (edit_form.name, edit_form.color):  # ids apart from the add form's (same field names)
            edit_field.id = edit_field.label.field_id = f"edit-{edit_field.name}"
    return render(
        "labels/index.html",
        block=block_for(["label_table"]),
        status=status,
        form=form,
        rows=service.labels_with_counts(db.session),
        palette=service.PALETTE,
        editing=editing,
        edit_form=edit_form,
        saved=saved,
    )


@bp.get("")
def index():
    """Every label with its colour and how many issues carry it; the form to add one."""
    return _page(_blank_form())


@bp.post("")
def create():
    """Create a label; invalid input re-renders the page with messages (422)."""
    form = LabelForm()
    try:
        label = service.create_label(db.session, current_user, form.name.data, form.color.data)
    except InvalidInput as exc:
        apply_errors(form, exc.errors)
        return _page(form, status=422)
    flash(f"Created label {label.name}.", "success")
    return redirect(url_for("labels.index"), 303)


@bp.route("/<int:label_id>/edit", methods=["GET", "POST"])
def edit(label_id: int):
    """Rename or recolour a label, inline in the table (htmx) or as a page."""
    access.require_manage_labels(current_user)
    label = service.get_label(db.session, label_id)
    if request.method == "GET":
        edit_form = LabelForm(formdata=None, data={"name": label.name, "color": label.color})
        return _page(_blank_form(), editing=label.id, edit_form=edit_form)
    edit_form = LabelForm()
    try:
        label = service.update_label(db.session, current_user, label_id, edit_form.name.data, edit_form.color.data)
    except InvalidInput as exc:
        apply_errors(edit_form, exc.errors)
        return _page(_blank_form(), status=422, editing=label_id, edit_form=edit_form)
    if block_for(["label_table"]):
        return _page(_blank_form(), saved=label.name)  # said in the swapped table, not flashed for the next page
    flash(f"Saved label {label.name}.", "success")
    return redirect(url_for("labels.index"), 303)


@bp.route("/<int:label_id>/delete", methods=["GET", "POST"])
def delete(label_id: int):
    """Ask first (saying how many issues carry the label), then delete and record it in their timelines."""
    access.require_manage_labels(current_user)
    label = service.get_label(db.session, label_id)
    if request.method == "GET":
        return render("labels/delete.html", label=label, count=service.usage(db.session, label_id))
    name = label.name
    count = service.delete_label(db.session, current_user, label_id)
    flash(f"Deleted label {name}; removed from {count} issue{'' if count == 1 else 's'}.", "success")
    return redirect(url_for("labels.index"), 303)


@bp.get("/colors.css")
def colors_css():
    """One CSS rule per label (keeps colours out of inline styles, which the CSP forbids)."""
    rules = [
        f".label-chip.label-{label.id}{{background-color:{label.color};color:{service.text_color(label.color)};}}"
        for label in service.all_labels(db.session)
    ]
    body = "\n".join(rules) + "\n"
    response = Response(body, mimetype="text/css")
    response.set_etag(hashlib.sha256(body.encode()).hexdigest()[:32])
    response.cache_control.no_cache = True
    return response.make_conditional(request)
