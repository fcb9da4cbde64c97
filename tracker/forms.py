"""Helpers shared by every form."""

from wtforms import Form


def apply_errors(form: Form, errors: dict[str, str]) -> None:
    """Put a domain error's per-field messages on the form's fields (others on the form itself)."""
    extra = []
    for name, message in errors.items():
        field = getattr(form, name, None)
        if field is not None and hasattr(field, "errors"):
            field.errors = list(field.errors or []) + [message]
        else:
            extra.append(message)
    form.form_errors = list(getattr(form, "form_errors", []) or []) + extra
