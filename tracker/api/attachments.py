"""API: attach files to an issue (multipart), list them, download one, delete one; the same service as the pages."""

from __future__ import annotations

from ..attachments import service as attachments_service
from ..attachments import web as attachments_web
from ..extensions import db
from . import bp
from .schemas import ID_MAX, AttachedSchema, AttachmentFormSchema, AttachmentSchema
from .views import ISSUE, actor

ATTACHMENT = f"/attachments/<int(min=1, max={ID_MAX}):attachment_id>"


@bp.get(ISSUE + "/attachments", tags=["Attachments"])
@bp.response(200, AttachmentSchema(many=True))
@bp.alt_response(404, response="NOT_FOUND")
def list_attachments(issue_id: int):
    """The issue's files, oldest first."""
    attachments_service.issue_version(db.session, issue_id)
    return attachments_service.issue_attachments(db.session, issue_id)


@bp.post(ISSUE + "/attachments", tags=["Attachments"])
@bp.arguments(AttachmentFormSchema, location="multipart")
@bp.response(201, AttachedSchema(many=True), description="One entry per file sent, in order.")
@bp.alt_response(403, response="FORBIDDEN")
@bp.alt_response(404, response="NOT_FOUND")
@bp.alt_response(413, response="REQUEST_ENTITY_TOO_LARGE", description="A file is over the size limit.")
@bp.alt_response(422, response="UNPROCESSABLE_ENTITY", description="A file's kind is not accepted, or too many files.")
def upload_attachments(form, issue_id: int):
    """Attach files (field `file`, repeated for several): all of them, or, if one is refused, none (413 for a file
    over the size limit, 422 for a kind not accepted or too many files). A file whose content the issue holds
    already is not stored again: its entry is the attachment there, with `duplicate` true."""
    uploads = [attachments_service.Upload(f.filename, f.stream) for f in form["file"]]
    incoming = attachments_service.Incoming(attachments_web.store(), uploads, attachments_web.limits())
    outcomes = attachments_service.attach_files(db.session, actor(), issue_id, incoming)
    return [_Attached(o) for o in outcomes], 201


class _Attached:
    """An outcome as AttachedSchema reads it: the attachment's attributes, whether it was there already, and the
    name the file was sent with."""

    def __init__(self, outcome: attachments_service.Attached):
        self._attachment = outcome.attachment
        self.duplicate = outcome.duplicate
        self.sent_as = outcome.file_name

    def __getattr__(self, name: str):
        return getattr(self._attachment, name)


@bp.get(ATTACHMENT, tags=["Attachments"])
@bp.response(200, AttachmentSchema)
@bp.alt_response(404, response="NOT_FOUND")
def get_attachment(attachment_id: int):
    """One file's details."""
    return attachments_service.get_attachment(db.session, attachment_id)


@bp.get(ATTACHMENT + "/content", tags=["Attachments"])
@bp.response(200, description="The file's bytes (with S3 storage, perhaps a 302 to a short-lived link).")
@bp.alt_response(404, response="NOT_FOUND")
def download_attachment(attachment_id: int):
    """The file itself, with the same headers as on the pages (only checked raster images inline)."""
    return attachments_web.send(attachments_service.get_attachment(db.session, attachment_id))


@bp.delete(ATTACHMENT, tags=["Attachments"])
@bp.response(204)
@bp.alt_response(403, response="FORBIDDEN")
@bp.alt_response(404, response="NOT_FOUND")
def delete_attachment(attachment_id: int):
    """Delete a file (its uploader or an admin); the timeline notes it."""
    attachments_service.delete_attachment(db.session, attachments_web.store(), actor(), attachment_id)
    return None
