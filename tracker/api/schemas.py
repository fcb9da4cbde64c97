"""JSON shapes of the API (marshmallow), from which the OpenAPI document is generated.

Schemas check only JSON types; every rule (lengths, workflow, who may do what) stays in the service functions,
whose InvalidInput errors become 422 responses. Enums and lengths appear here as documentation, read from the
same constants the services use.
"""

from __future__ import annotations

import re
from datetime import datetime, timezone

from flask_smorest.fields import Upload
from marshmallow import Schema, ValidationError, fields, missing, validate
from werkzeug.datastructures import FileStorage

from ..attachments.service import file_url
from ..issues.queries import MAX_PAGE, SORTS
from ..markdown import markdown_html
from ..models import (
    BULK_MAX,
    BULK_NOTE_MAX,
    COMMENT_MAX,
    DESCRIPTION_MAX,
    IMPORT_POLICIES,
    LABEL_NAME_MAX,
    PRIORITIES,
    ROLES,
    STATUSES,
    TITLE_MAX,
)
from ..numbers import MAX_ID as ID_MAX  # ids and versions are 32-bit integers; larger numbers cannot name anything
from ..reports.queries import PRESETS as REPORT_PRESETS

PER_PAGE_MAX = 100
SORT_VALUES = [key for key in SORTS] + [f"-{key}" for key in SORTS]


def utc_timestamp(value: datetime | None) -> str | None:
    """A stored (naive UTC) time as the API writes every time: RFC 3339 with its offset, e.g.
    2026-11-25T08:00:00+00:00 (None stays None)."""
    if value is None:
        return None
    return value.replace(tzinfo=timezone.utc).isoformat()


class UTCDateTime(fields.DateTime):
    """A stored (naive UTC) time as RFC 3339 with its offset, e.g. 2026-11-25T08:00:00+00:00."""

    def _serialize(self, value, attr, obj, **kwargs):
        """Naive UTC in, ISO 8601 with +00:00 out."""
        return utc_timestamp(value)


def Id(strict: bool = True, **kwargs) -> fields.Integer:
    """An id or version: a whole number from 1 to 2^31 - 1 (in JSON a number, not a string)."""
    return fields.Integer(validate=validate.Range(1, ID_MAX), strict=strict, **kwargs)


LONE_SURROGATE = re.compile("[\ud800-\udfff]")


def _no_lone_surrogates(value: str) -> None:
    """Refuse a lone surrogate (not a regex validator: the spec documents one pattern per field, the NUL one)."""
    if LONE_SURROGATE.search(value):
        raise ValidationError("Text cannot contain unpaired surrogates (invalid Unicode).")


class Text(fields.String):
    """A JSON string the databases can store: no NUL characters (PostgreSQL text cannot hold them) and no lone
    surrogates (JSON's "\\ud800" escapes decode to them, and they cannot be encoded as UTF-8)."""

    def __init__(self, **kwargs):
        """A string field with the NUL and surrogate checks."""
        super().__init__(
            validate=[
                validate.Regexp(r"^[^\x00]*$", error="Text cannot contain NUL characters."),
                _no_lone_surrogates,
            ],
            **kwargs,
        )


def Choice(values, **kwargs) -> fields.String:
    """A string documented with its allowed values. The service functions say which value is wrong; only an
    empty one, which the pages read as "not given", is refused here."""
    metadata = {**kwargs.pop("metadata", {}), "enum": list(values)}
    return fields.String(validate=validate.Length(min=1, error="Give a value."), metadata=metadata, **kwargs)


def AssigneeFilter(**kwargs) -> fields.String:
    """An assignee filter: a user id, or 'none' for unassigned issues."""
    return fields.String(
        validate=validate.Regexp(r"^(none|[1-9][0-9]{0,8})$", error="Use a user id or 'none'."), **kwargs
    )


class ErrorSchema(Schema):
    """Every error: a code, a sentence, and details (per-field messages, blocking issues...)."""

    error = fields.String(required=True, metadata={"example": "invalid"})
    message = fields.String(required=True)
    details = fields.Raw(required=True, allow_none=True)


class IssueSchema(Schema):
    """An issue as the API shows it; labels by name."""

    id = fields.Integer(required=True)
    title = fields.String(required=True)
    description = fields.String(required=True)
    status = fields.String(required=True, metadata={"enum": list(STATUSES)})
    priority = fields.String(required=True, metadata={"enum": list(PRIORITIES)})
    assignee_id = fields.Integer(required=True, allow_none=True)
    reporter_id = fields.Integer(required=True)
    labels = fields.Pluck("LabelSchema", "name", many=True, required=True)
    version = fields.Integer(required=True)
    created_at = UTCDateTime(required=True)
    updated_at = UTCDateTime(required=True)
    resolved_at = UTCDateTime(required=True, allow_none=True)
    external_key = fields.String(
        required=True, allow_none=True, metadata={"description": "Its key in the tracker it was imported from."}
    )
    duplicate_of = fields.Integer(
        required=True,
        allow_none=True,
        attribute="duplicate_of_id",
        metadata={"description": "The issue this one was closed as a duplicate of; null when it is none's."},
    )


class ConflictSchema(ErrorSchema):
    """A stale version: the error plus the issue as it is now."""

    current = fields.Nested(IssueSchema, required=True)


class IssueFieldsSchema(Schema):
    """The editable fields of an issue (all optional here; the service decides what is required)."""

    title = Text(metadata={"maxLength": TITLE_MAX, "example": "Login button does nothing"})
    description = Text(allow_none=True, metadata={"maxLength": DESCRIPTION_MAX})
    status = Text(metadata={"enum": list(STATUSES)})
    priority = Text(metadata={"enum": list(PRIORITIES)})
    assignee_id = Id(
        allow_none=True,
        metadata={
            "description": "The id of an active admin or member (viewers cannot be assigned issues); "
            "null leaves it unassigned."
        },
    )
    labels = fields.List(Text(metadata={"maxLength": LABEL_NAME_MAX}), metadata={"description": "Label names."})


class IssueCreateSchema(IssueFieldsSchema):
    """A new issue: a title at least."""

    title = Text(required=True, metadata={"maxLength": TITLE_MAX, "example": "Login button does nothing"})


class IssuePatchSchema(IssueFieldsSchema):
    """Fields to change, and the version they were read at."""

    version = Id(required=True, metadata={"description": "The version you last read."})


class LabelsPutSchema(Schema):
    """The issue's complete label set, by name."""

    labels = fields.List(Text(metadata={"maxLength": LABEL_NAME_MAX}), required=True)
    version = Id(required=True, metadata={"description": "The version you last read."})


class DuplicateSchema(Schema):
    """Close an issue as a duplicate of another, guarded by the version the client read."""

    duplicate_of = Id(required=True, metadata={"description": "The number of the issue this one duplicates."})
    version = Id(required=True)


class IssueListArgsSchema(Schema):
    """Filters, sorting and paging of the issue list (the same filters as the list page)."""

    status = fields.List(Choice(STATUSES), metadata={"description": "Any of these statuses."})
    priority = fields.List(Choice(PRIORITIES))
    assignee_id = AssigneeFilter(
        metadata={"description": "A user id, or 'none' for unassigned issues.", "example": "none"}
    )
    label = fields.List(Text(), metadata={"description": "Label names; issues must carry all of them."})
    q = Text(
        metadata={
            "description": "A query in the search language of the list page (README: Searching), e.g. "
            "`is:open label:bug assignee:@me sort:updated-desc`; plain words must all appear in the title or "
            "description. A mistake answers 400 with the message the list page shows.",
        }
    )
    sort = Choice(SORT_VALUES, metadata={"description": "Sort key; a leading '-' sorts descending."})
    page = fields.Integer(validate=validate.Range(1, MAX_PAGE))
    per_page = fields.Integer(validate=validate.Range(1, PER_PAGE_MAX))
    created_from = fields.Date(metadata={"description": "Created on or after this day (UTC)."})
    created_to = fields.Date(metadata={"description": "Created on or before this day (UTC)."})
    resolved_from = fields.Date(metadata={"description": "Resolved on or after this day (UTC)."})
    resolved_to = fields.Date(metadata={"description": "Resolved on or before this day (UTC)."})
    import_id = Id(
        strict=False,
        metadata={"description": "Only the issues this import created (the `import_id` of POST /issues/import)."},
    )


class IssuePageSchema(Schema):
    """One page of issues; `total` stops counting at 10,000 (then `total_capped` is true)."""

    items = fields.List(fields.Nested(IssueSchema), required=True)
    page = fields.Integer(required=True)
    per_page = fields.Integer(required=True)
    total = fields.Integer(required=True)
    total_capped = fields.Boolean(required=True)


class CommentCreateSchema(Schema):
    """A comment's Markdown text."""

    body = Text(required=True, metadata={"maxLength": COMMENT_MAX, "example": "Reproduced on Firefox too."})


class MarkdownHtml(fields.String):
    """The sanitized HTML of the Markdown in the attribute `source`, rendered on output as the pages render it
    (a string in the document, like the field it replaced: nothing stored)."""

    def __init__(self, source: str, **kwargs):
        super().__init__(**kwargs)
        self.source = source

    def get_value(self, obj, attr, accessor=None, default=missing):
        """The Markdown to render: the source attribute's value."""
        return super().get_value(obj, self.source, accessor, default)

    def _serialize(self, value, attr, obj, **kwargs):
        """Markdown in, sanitized HTML out."""
        return str(markdown_html(value))


class CommentSchema(Schema):
    """A comment: its Markdown and the sanitized HTML rendered from it."""

    id = fields.Integer(required=True)
    issue_id = fields.Integer(required=True)
    author_id = fields.Integer(required=True)
    author_name = fields.Function(lambda c: c.author.name, required=True, metadata={"type": "string"})
    body = fields.String(required=True)
    body_html = MarkdownHtml("body", required=True)
    created_at = UTCDateTime(required=True)
    edited_at = UTCDateTime(required=True, allow_none=True)


class TimelineArgsSchema(Schema):
    """Paging back through the timeline."""

    before = Id(strict=False, metadata={"description": "Entries older than this entry id."})


class TimelineEntrySchema(Schema):
    """One entry: created, imported, updated (field changes as [old, new]), bulk, comment or label_deleted."""

    id = fields.Integer(
        required=True,
        allow_none=True,
        metadata={"description": "The entry's id (a `before` cursor); null for 'imported', read from the import run."},
    )
    kind = fields.String(required=True)
    actor_id = fields.Integer(required=True, allow_none=True)
    version = fields.Integer(required=True)
    created_at = UTCDateTime(required=True)
    changes = fields.Dict(required=True)
    note = fields.String(required=True, allow_none=True)
    comment = fields.Nested(CommentSchema, required=True, allow_none=True)


class TimelineSchema(Schema):
    """Up to 100 entries, oldest first; `before` pages to earlier ones."""

    entries = fields.List(fields.Nested(TimelineEntrySchema), required=True)
    has_earlier = fields.Boolean(required=True)
    before = fields.Integer(
        required=True, allow_none=True, metadata={"description": "Pass as ?before= for earlier entries."}
    )


class BulkStatusSchema(Schema):
    """Move many issues to one status, all or nothing."""

    # At most BULK_MAX ids, repeats counted (the document's maxItems): more is a 422 like any schema violation.
    issue_ids = fields.List(Id(), required=True, validate=validate.Length(max=BULK_MAX))
    status = Text(required=True, metadata={"enum": list(STATUSES)})
    versions = fields.Dict(
        keys=Text(),
        values=Id(),
        metadata={"description": "Optional: the version each issue was read at, by issue id; a changed one blocks."},
    )
    note = Text(metadata={"maxLength": BULK_NOTE_MAX, "description": "Why; recorded in each issue's timeline."})


class BulkResultSchema(Schema):
    """How many issues changed (others already had the status), and their new versions."""

    updated = fields.Integer(required=True)
    unchanged = fields.Integer(required=True)
    versions = fields.Dict(keys=fields.String(), values=fields.Integer(), required=True)
    message = fields.String(required=True)


class UserSchema(Schema):
    """A person, for assignee ids."""

    id = fields.Integer(required=True)
    name = fields.String(required=True)
    role = fields.String(required=True, metadata={"enum": list(ROLES)})
    active = fields.Boolean(required=True)


class LabelSchema(Schema):
    """A label and how many issues carry it."""

    id = fields.Integer(required=True)
    name = fields.String(required=True)
    color = fields.String(required=True, metadata={"example": "#1d76db"})


class LabelWithCountSchema(LabelSchema):
    """A label with its usage."""

    issue_count = fields.Integer(required=True)


class CsvUpload(Upload):
    """An uploaded file part (a plain form field of the same name is not a file)."""

    def _deserialize(self, value, attr, data, **kwargs):
        """Only a file part passes."""
        if not isinstance(value, FileStorage):
            raise ValidationError("Send the CSV as a file part of a multipart/form-data body.")
        return value


class AnyUpload(CsvUpload):
    """An uploaded file part of any kind."""

    def _deserialize(self, value, attr, data, **kwargs):
        """Only a file part passes."""
        if not isinstance(value, FileStorage):
            raise ValidationError("Send each file as a file part (field `file`) of a multipart/form-data body.")
        return value


class AttachmentFormSchema(Schema):
    """One or more files, each a `file` part."""

    file = fields.List(
        AnyUpload(),
        required=True,
        metadata={"description": "The files (repeat the part for several): all are attached, or none."},
    )


class AttachmentSchema(Schema):
    """A file attached to an issue (and to a comment, when sent with one)."""

    id = fields.Integer(required=True)
    issue_id = fields.Integer(required=True)
    comment_id = fields.Integer(required=True, allow_none=True)
    name = fields.String(required=True, attribute="file_name", metadata={"description": "As uploaded."})
    content_type = fields.String(required=True, metadata={"description": "Found by reading the file, not its name."})
    size = fields.Integer(required=True)
    sha256 = fields.String(required=True)
    image = fields.Boolean(
        required=True, attribute="is_image", metadata={"description": "A raster image read and shown inline."}
    )
    width = fields.Integer(required=True, allow_none=True)
    height = fields.Integer(required=True, allow_none=True)
    uploader_id = fields.Integer(required=True)
    created_at = UTCDateTime(required=True)
    url = fields.Function(
        lambda a: f"/api/attachments/{a.id}/content", required=True, metadata={"type": "string"}
    )
    page_url = fields.Function(
        file_url, required=True, metadata={"type": "string", "description": "For Markdown: ![name](page_url)."}
    )


class AttachedSchema(AttachmentSchema):
    """An attached file, and whether the issue held that content already (then nothing new was stored)."""

    duplicate = fields.Boolean(required=True)
    sent_as = fields.String(required=True, metadata={"description": "The name the file was sent with."})


class ImportFormSchema(Schema):
    """A CSV file of issues, the policy for invalid rows, and whether to only check it."""

    file = CsvUpload(required=True, metadata={"description": "CSV with a header row (title required; see /import)."})
    policy = Choice(IMPORT_POLICIES, metadata={"description": "all_or_nothing (default) or skip_invalid."})
    dry_run = fields.Boolean(load_default=False, metadata={"description": "Check every row, create nothing."})


class RejectedRowSchema(Schema):
    """A problem in one row: its line in the file, the column, and why."""

    line = fields.Integer(required=True)
    column = fields.String(required=True, allow_none=True)
    message = fields.String(required=True)


class ImportResultSchema(Schema):
    """What an import created (or, for a dry run, would create) and every rejected row (the first 1,000)."""

    import_id = fields.Integer(required=True)
    dry_run = fields.Boolean(required=True)
    policy = fields.String(required=True)
    rows_read = fields.Integer(required=True)
    created = fields.Integer(required=True, metadata={"description": "Issues created; 0 for a dry run."})
    valid = fields.Integer(required=True, metadata={"description": "Rows that can be (or were) imported."})
    plan = fields.Dict(
        keys=fields.String(),
        values=fields.Integer(),
        required=True,
        metadata={"description": "Valid rows by what they do: create, update (an `id` column), unchanged; and "
                  "stale: rows whose issue changed since their `version`."},
    )
    rejected_count = fields.Integer(required=True)
    rejected = fields.List(fields.Nested(RejectedRowSchema), required=True)
    problems = fields.List(
        fields.String(), required=True, metadata={"description": "Problems with the file as a whole."}
    )
    new_labels = fields.List(fields.String(), required=True, metadata={"description": "Labels the import creates."})
    first_issue_id = fields.Integer(required=True, allow_none=True)
    last_issue_id = fields.Integer(required=True, allow_none=True)


class ReportArgsSchema(Schema):
    """The report's period (a preset or from/to dates, UTC days) and optional label and assignee."""

    period = Choice(
        [str(days) for days in REPORT_PRESETS] + ["custom"], metadata={"description": "Last 7, 30 or 90 days."}
    )
    from_ = fields.Date(data_key="from", metadata={"description": "First day of a custom period."})
    to = fields.Date(metadata={"description": "Last day of a custom period."})
    label = Text(metadata={"description": "Only issues with this label."})
    assignee = AssigneeFilter(metadata={"description": "Only this user's issues, or 'none' for unassigned ones."})
    q = Text(metadata={"description": "Only the issues this query lists (the issue list's search language)."})
    view = Id(strict=False, metadata={"description": "Only the issues this saved view lists (its id)."})


class TopAssigneesArgsSchema(ReportArgsSchema):
    """The report's scope and how many people to rank."""

    limit = fields.Integer(validate=validate.Range(1, 100), metadata={"description": "People ranked (default 10)."})


class PeriodSchema(Schema):
    """The period a report covers, both days included."""

    from_ = fields.Date(data_key="from", required=True)
    to = fields.Date(required=True)


class AssigneeRowSchema(Schema):
    """One person (kind person), the unassigned issues, or the total over everyone."""

    kind = fields.String(required=True, metadata={"enum": ["person", "unassigned", "total"]})
    rank = fields.Integer(required=True, allow_none=True)
    assignee_id = fields.Integer(required=True, allow_none=True)
    name = fields.String(required=True, allow_none=True)
    active = fields.Boolean(required=True)
    total = fields.Integer(required=True, metadata={"description": "Issues assigned now."})
    by_status = fields.Dict(keys=fields.String(), values=fields.Integer(), required=True)
    resolved_in_period = fields.Integer(required=True)


class TopAssigneesSchema(Schema):
    """People ranked by issues assigned now, then unassigned, then the total."""

    period = fields.Nested(PeriodSchema, required=True)
    rows = fields.List(fields.Nested(AssigneeRowSchema), required=True)


class LatencyRowSchema(Schema):
    """Creation-to-resolution times (seconds) of the issues resolved in the period: overall, then per assignee."""

    kind = fields.String(required=True, metadata={"enum": ["overall", "person", "unassigned"]})
    assignee_id = fields.Integer(required=True, allow_none=True)
    name = fields.String(required=True, allow_none=True)
    active = fields.Boolean(required=True)
    count = fields.Integer(required=True)
    average_seconds = fields.Float(required=True, allow_none=True, attribute="average")
    median_seconds = fields.Float(required=True, allow_none=True, attribute="median")
    p90_seconds = fields.Float(required=True, allow_none=True, attribute="p90")


class LatencySchema(Schema):
    """Resolution times in the period."""

    period = fields.Nested(PeriodSchema, required=True)
    rows = fields.List(fields.Nested(LatencyRowSchema), required=True)


class DeleteArgsSchema(Schema):
    """Deleting an issue: optionally only if it is still at the version the client read."""

    version = Id(strict=False, metadata={"description": "Delete only if the issue is still at this version."})


class TrashIdsSchema(Schema):
    """Issues to delete to the trash or bring back from it, all or none."""

    issue_ids = fields.List(Id(), required=True, validate=validate.Length(max=BULK_MAX))


class TrashResultSchema(Schema):
    """How many issues were moved."""

    count = fields.Integer(required=True)
    message = fields.String(required=True)


class UndoImportSchema(Schema):
    """Undoing an import: all its issues, or only those nobody changed since."""

    untouched_only = fields.Boolean(
        load_default=False,
        metadata={"description": "Undo only the issues nobody changed since the import (the others stay)."},
    )


class SavedViewSchema(Schema):
    """A saved view: a named query of the issue list (`query` in the list's search language)."""

    id = fields.Integer(required=True)
    name = fields.String(required=True)
    query = fields.String(required=True, metadata={"example": "is:open assignee:@me"})
    shared = fields.Boolean(required=True, metadata={"description": "Shared with everyone (else its owner's alone)."})
    owner_id = fields.Integer(
        allow_none=True, required=True, metadata={"description": "None for the team's first views."}
    )
    version = fields.Integer(required=True, metadata={"description": "Send it back to change or delete the view."})
    mine = fields.Boolean(required=True)
    count = fields.Integer(allow_none=True, metadata={"description": "Matching issues, counted up to `count_cap` + 1."})
    count_cap = fields.Integer()
    watching = fields.Boolean(
        metadata={"description": "Whether you hear when an issue comes into the view (PUT or DELETE .../watch)."}
    )


class SavedViewListSchema(Schema):
    """The views the token's user sees: their own first, then the shared ones, in their order."""

    items = fields.List(fields.Nested(SavedViewSchema), required=True)


class SavedViewCreateSchema(Schema):
    """A new view: a name and a query; private unless shared."""

    name = Text(required=True, metadata={"maxLength": 100, "example": "Untriaged bugs"})
    query = Text(required=True, metadata={"maxLength": 500, "example": "is:open label:bug no:assignee"})
    shared = fields.Boolean(load_default=False)


class SavedViewPatchSchema(Schema):
    """A view's new name, query or sharing, and the version they were read at."""

    name = Text()
    query = Text()
    shared = fields.Boolean()
    version = Id(required=True, metadata={"description": "The version you last read."})


class SavedViewVersionArgsSchema(Schema):
    """The version of a view to delete."""

    version = Id(required=True, strict=False, metadata={"description": "The version you last read."})


class SavedViewRunArgsSchema(Schema):
    """Paging of a view's issues."""

    page = fields.Integer(validate=validate.Range(1, MAX_PAGE))
    per_page = fields.Integer(validate=validate.Range(1, PER_PAGE_MAX))
