"""Issue rules: create, guarded update, workflow, and the merge shown on a version conflict."""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session, joinedload
from sqlalchemy.orm.attributes import set_committed_value
from sqlalchemy.orm.util import identity_key

from .. import access
from ..attachments import service as attachments_service
from ..errors import InvalidInput, IssueDeleted, NotFound, StaleVersion
from ..extensions import commit_and_read
from ..labels import service as labels_service
from ..markdown import toggle_task
from ..models import (
    DESCRIPTION_MAX,
    DONE_STATUSES,
    EDITABLE_FIELDS,
    LIVE_ISSUE,
    PRIORITIES,
    STATUS_LABELS,
    STATUSES,
    TITLE_MAX,
    TRANSITIONS,
    Issue,
    IssueEvent,
    IssueLabel,
    Label,
    User,
    as_written,
    record_event,
    utcnow,
)
from ..notifications import fanout
from ..numbers import whole_number


def parse_version(raw: Any) -> int:
    """The version a form or request started from, as a positive integer."""
    if raw is None or str(raw).strip() == "":
        raise InvalidInput({"version": "The issue version is missing; reload the issue and try again."})
    value = whole_number(raw)
    if value is None:
        raise InvalidInput({"version": f"The issue version '{str(raw)[:40]}' is not a number."})
    if value < 1:
        raise InvalidInput({"version": "The issue version must be 1 or more."})
    return value


def check_version(issue_id: int, expected: int, current: int) -> None:
    """The version a change started from, against the issue's: a newer one cannot have been read (InvalidInput, 422),
    an older one means someone saved first (StaleVersion, 409)."""
    if expected > current:
        raise InvalidInput({"version": f"Version {expected} is newer than the issue's current version {current}."})
    if expected < current:
        raise StaleVersion(issue_id, expected, current)


def parse_assignee_id(raw: Any) -> int | None:
    """An assignee id from a form value: empty or 'none' means unassigned."""
    if raw is None or str(raw).strip().lower() in ("", "none"):
        return None
    value = whole_number(raw)
    if value is None:
        raise InvalidInput({"assignee_id": f"Unknown assignee '{str(raw)[:40]}'."})
    return value


def clean_fields(
    session: Session, raw: Mapping[str, Any], current: Issue | None = None, loaded: list[Any] | None = None
) -> dict[str, Any]:
    """Validate and normalise the editable fields present in `raw` (labels as ids, or as `label_names`); raise
    InvalidInput listing every problem. `loaded`, if given, receives the assignee and the named labels read to check
    them (the session holds read objects only while something refers to them), for the answer to the change."""
    cleaned, errors = clean_fields_keeping(session, raw, current, loaded)
    if errors:
        raise InvalidInput(errors)
    return cleaned


def clean_fields_keeping(
    session: Session, raw: Mapping[str, Any], current: Issue | None = None, loaded: list[Any] | None = None
) -> tuple[dict[str, Any], dict[str, str]]:
    """clean_fields without raising: the normalised fields, each kept as typed even when invalid (so a conflict
    view can show it), and the problems by field. Of the labels, those that still exist are kept."""
    errors: dict[str, str] = {}
    cleaned: dict[str, Any] = {}
    if "title" in raw:
        title = " ".join(str(raw["title"] or "").split())
        if not title:
            errors["title"] = "Title is required."
        elif len(title) > TITLE_MAX:
            errors["title"] = f"Title must be at most {TITLE_MAX} characters (it has {len(title)})."
        cleaned["title"] = title
    if "description" in raw:
        description = str(raw["description"] or "").replace("\r\n", "\n").replace("\r", "\n").strip("\n")
        if len(description) > DESCRIPTION_MAX:
            errors["description"] = (
                f"Description must be at most {DESCRIPTION_MAX:,} characters (it has {len(description):,})."
            )
        cleaned["description"] = description
    if "status" in raw:
        status = str(raw["status"] or "").strip()
        if status not in STATUSES:
            errors["status"] = f"Status '{status}' is not one of {', '.join(STATUSES)}."
        cleaned["status"] = status
    if "priority" in raw:
        priority = str(raw["priority"] or "").strip()
        if priority not in PRIORITIES:
            errors["priority"] = f"Priority '{priority}' is not one of {', '.join(PRIORITIES)}."
        cleaned["priority"] = priority
    if "assignee_id" in raw:
        try:
            assignee_id = parse_assignee_id(raw["assignee_id"])
        except InvalidInput as exc:
            errors.update(exc.errors)
        else:
            cleaned["assignee_id"] = assignee_id
            unchanged = current is not None and current.assignee_id == assignee_id
            if assignee_id is not None and not unchanged:
                user = _person(session, assignee_id)
                if loaded is not None and user is not None:
                    loaded.append(user)
                if user is None:
                    errors["assignee_id"] = f"Unknown assignee '{raw['assignee_id']}'."
                elif not user.active:
                    errors["assignee_id"] = f"{user.name} is deactivated and cannot be assigned."
                elif not access.may_be_assigned(user):
                    errors["assignee_id"] = f"{user.name} is a viewer and cannot be assigned issues."
    if "label_names" in raw:  # the API names labels; unknown ones are created, as an import does (README)
        found, unknown = labels_service.by_names(session, raw["label_names"] or [])
        if loaded is not None:
            loaded.extend(found)
        cleaned["labels"] = sorted(label.id for label in found)
        unknown_keys = {labels_service.name_key(" ".join(n.split())) for n in unknown}
        new_names: dict[str, str] = {}
        for name in (" ".join(str(n).split()) for n in raw["label_names"] or []):
            if labels_service.name_key(name) not in unknown_keys:
                continue
            problem = labels_service.name_length_problem(name) or labels_service.separator_problem(name)
            if problem:
                errors["labels"] = f"The new label '{name}' {problem}."
            new_names.setdefault(labels_service.name_key(name), name)
        if new_names and not errors:  # created in the caller's transaction: a refused save creates none
            created = labels_service.create_missing(session, new_names, utcnow())
            cleaned["labels"] = sorted(set(cleaned["labels"]) | set(created.values()))
    if "labels" in raw:
        values = raw["labels"]
        if isinstance(values, (str, int)):
            values = [values]
        try:
            cleaned["labels"] = labels_service.resolve_ids(session, values or [])
        except InvalidInput as exc:
            errors.update(exc.errors)
            ids = (whole_number(str(v).strip()) for v in values or [])
            cleaned["labels"] = sorted(labels_service.by_ids(session, [i for i in ids if i is not None]))
    return cleaned, errors


def _person(session: Session, user_id: int) -> User | None:
    """session.get(User, user_id) with the SELECT built once (session.get builds it anew on every call that is not
    answered from the session, about 0.1 ms of every change naming an assignee)."""
    if session.identity_map.get(identity_key(User, user_id)) is not None:
        return session.get(User, user_id)
    return session.execute(_person_by_id(), {"user_id": user_id}).scalar_one_or_none()


@functools.cache
def _person_by_id() -> sa.Select:
    """_person's statement, built once."""
    return sa.select(User).where(User.id == sa.bindparam("user_id"))


def check_transition(old: str, new: str) -> None:
    """Raise InvalidInput when the workflow does not allow moving from `old` to `new`."""
    if old != new and new not in TRANSITIONS[old]:
        raise InvalidInput({"status": transition_message(old, new)})


def transition_message(old: str, new: str) -> str:
    """The sentence that explains a forbidden status change."""
    allowed = ", ".join(STATUS_LABELS[s] for s in TRANSITIONS[old])
    return f"An issue cannot move from {STATUS_LABELS[old]} to {STATUS_LABELS[new]} (allowed: {allowed})."


def resolved_at_for(old_status: str | None, new_status: str, old_resolved_at: datetime | None, now: datetime):
    """resolved_at after a status change: set on entering resolved/closed, cleared on reopening."""
    if new_status not in DONE_STATUSES:
        return None
    if old_status in DONE_STATUSES and old_resolved_at is not None:
        return old_resolved_at
    return now


def create_issue(
    session: Session, actor: User, raw: Mapping[str, Any], files: attachments_service.Incoming | None = None
) -> Issue:
    """Create an issue reported by `actor` at version 1 and record its creation; `files` are attached to it (stored
    only once the fields are valid; links to them written into the description while choosing them now point at
    them)."""
    access.require_edit_issues(actor)
    values = {"title": "", "description": "", "status": "open", "priority": "medium", "assignee_id": None, "labels": []}
    values.update({k: v for k, v in raw.items() if k in EDITABLE_FIELDS or k == "label_names"})
    if "label_names" in values:
        del values["labels"]
    loaded: list[Any] = []
    cleaned = clean_fields(session, values, loaded=loaded)
    label_ids = cleaned.pop("labels")
    now = utcnow()
    table = Issue.__table__
    with attachments_service.kept(session, files, None) as checked:
        # A plain INSERT built once, rather than an object for the session to flush.
        values = {
            **cleaned,
            "reporter_id": actor.id,
            "version": 1,
            "created_at": now,
            "updated_at": now,
            "resolved_at": now if cleaned["status"] in DONE_STATUSES else None,
        }
        issue_id = session.execute(_insert_issue(), values).scalar_one()
        if label_ids:
            add_labels(session, issue_id, label_ids)
        record_event(session, issue_id, actor.id, "created", 1, now)
        description = cleaned["description"]
        if checked:
            attached = attachments_service.record(session, actor, issue_id, checked)
            description = attachments_service.link_placeholders(description, attached)
            if description != cleaned["description"]:
                session.execute(sa.update(table).where(table.c.id == issue_id).values(description=description))
        fanout.issue_created(session, actor.id, issue_id, cleaned["assignee_id"], description, now)
        known = _as_created(session, actor, issue_id, {**values, "description": description}, label_ids, loaded)
        issue = commit_and_read(session, lambda: get_issue(session, issue_id), known=known)
    return issue


def _as_created(
    session: Session, actor: User, issue_id: int, values: dict[str, Any], label_ids: list[int], loaded: list[Any]
) -> Callable[[], Issue | None]:
    """The answer to a create without reading the issue: the row create_issue wrote with these values, reported by
    `actor`, with the assignee and labels read to check them (`loaded`). None (the issue is read) when a label is
    not among them: one created by this change, or named by number."""
    written = Issue(
        id=issue_id, **values, deleted_at=None, deleted_by_id=None, purged_at=None, external_key=None,
        duplicate_of_id=None,
    )

    def known() -> Issue | None:
        assignee_id = values["assignee_id"]
        held = _held(loaded, assignee_id, label_ids)
        if held is None:
            return None
        assignee, shown = held
        reporter = session.get(User, actor.id)  # the person itself, not a proxy of it (a page's current_user)
        return as_written(session, written, reporter=reporter, assignee=assignee, labels=shown, deleted_by=None)

    return known


@functools.cache
def _insert_issue() -> sa.Insert:
    """create_issue's INSERT ... RETURNING id, built once."""
    return sa.insert(Issue.__table__).returning(Issue.__table__.c.id)


@functools.cache
def _issue_with_people() -> sa.Select:
    """get_issue's statement, built once: building it (three joined loads) cost more Python than running it."""
    return (
        sa.select(Issue)
        .where(Issue.id == sa.bindparam("issue_id"))
        .options(joinedload(Issue.assignee), joinedload(Issue.reporter), joinedload(Issue.labels))
        .execution_options(populate_existing=True)
    )


@functools.cache
def _issue_with_labels() -> sa.Select:
    """get_issue's statement without the people, built once."""
    return (
        sa.select(Issue)
        .where(Issue.id == sa.bindparam("issue_id"))
        .options(joinedload(Issue.labels))
        .execution_options(populate_existing=True)
    )


def get_issue(session: Session, issue_id: int, people: bool = True) -> Issue:
    """Load an issue with its labels, and its assignee and reporter unless `people` is False (one statement), or raise
    NotFound (IssueDeleted for one in the trash)."""
    statement = _issue_with_people() if people else _issue_with_labels()
    issue = session.execute(statement, {"issue_id": issue_id}).unique().scalar_one_or_none()
    if issue is None:
        raise NotFound(f"Issue #{issue_id} does not exist.")
    if issue.deleted_at is not None:
        raise_deleted(session, issue)
    return issue


def touch(session: Session, issue_id: int, now: datetime) -> int | None:
    """Move a live issue's "last updated" without a new version (discussion, a duplicate of it): its version, or
    None when it does not exist or is in the trash."""
    return session.execute(_touch(), {"issue_id": issue_id, "updated_at": now}).scalar_one_or_none()


@functools.cache
def _touch() -> sa.Update:
    """touch's statement, built once (every comment runs it)."""
    table = Issue.__table__
    return (
        sa.update(table)
        .where(table.c.id == sa.bindparam("issue_id"), LIVE_ISSUE)
        .values(updated_at=sa.bindparam("updated_at"))
        .returning(table.c.version)
    )


def raise_deleted(session: Session, issue: Issue) -> None:
    """Raise IssueDeleted for an issue in the trash, naming who deleted it."""
    deleter = session.get(User, issue.deleted_by_id) if issue.deleted_by_id else None
    raise IssueDeleted(issue.id, issue.deleted_at, deleter.name if deleter else "someone", issue.purged_at is not None)


def update_issue(
    session: Session,
    actor: User,
    issue_id: int,
    version: Any,
    raw: Mapping[str, Any],
    take_theirs: Iterable[str] = (),
) -> Issue:
    """Apply the fields in `raw` to the issue if it is still at `version`, in one guarded UPDATE.

    Fields named in `take_theirs` keep the issue's current value (a choice made on the conflict view).
    Raises StaleVersion when someone else saved first, InvalidInput for broken rules, NotFound, Forbidden.
    """
    access.require_edit_issues(actor)
    expected = parse_version(version)
    # The pages show the issue read again after a save; the edit itself and the API's answer need no people.
    issue = get_issue(session, issue_id, people=False)
    loaded: list[Any] = []
    cleaned = clean_fields(session, raw, issue, loaded=loaded)
    current = issue.field_values()
    try:
        check_version(issue_id, expected, issue.version)
        for name in take_theirs:
            if name in EDITABLE_FIELDS:
                cleaned[name] = current[name]
        if "status" in cleaned:
            check_transition(issue.status, cleaned["status"])
    except (InvalidInput, StaleVersion):
        session.rollback()  # nothing stays of a refused save (labels the API named, created by clean_fields)
        raise
    changes: dict[str, Any] = {
        name: [current[name], value] for name, value in cleaned.items() if current[name] != value
    }
    if not changes:
        return issue
    now = utcnow()
    values: dict[str, Any] = {name: new for name, (_old, new) in changes.items() if name != "labels"}
    if "status" in changes:
        values["resolved_at"] = resolved_at_for(issue.status, values["status"], issue.resolved_at, now)
        if issue.duplicate_of_id is not None and values["status"] != "closed":
            # Reopened: no longer a duplicate (the timeline says which issue it was a duplicate of).
            values["duplicate_of_id"] = None
            changes["duplicate_of"] = [issue.duplicate_of_id, None]
    values["updated_at"] = now
    result = session.execute(_guarded_update(), {**values, "guard_id": issue_id, "guard_version": expected})
    if result.rowcount != 1:
        session.rollback()
        raise StaleVersion(issue_id, expected)
    if "labels" in changes:
        old, new = changes["labels"]
        replace_labels(session, issue_id, old, new)
        names = labels_service.by_ids(session, set(old) ^ set(new))
        loaded.extend(names.values())  # the labels added, for the answer
        changes["label_names"] = {str(i): label.name for i, label in names.items()}
    event_id = record_event(session, issue_id, actor.id, "updated", expected + 1, now, changes)
    fanout.issue_updated(session, actor.id, issue_id, issue.reporter_id, changes, now, event_id)
    saved = {**values, "version": expected + 1}
    new_labels = changes["labels"][1] if "labels" in changes else None
    return commit_and_read(
        session,
        lambda: get_issue(session, issue_id),
        known=lambda: _as_saved(session, issue, saved, new_labels, loaded),
    )


def _as_saved(
    session: Session, issue: Issue, saved: dict[str, Any], new_labels: list[int] | None, loaded: list[Any]
) -> Issue | None:
    """The issue as the guarded UPDATE left it, without reading it again: the UPDATE matched the row read at the start
    of the edit at its version (any other change would have raised the version), and wrote exactly `saved`. The new
    assignee and labels are those read to check them (`loaded`) or the issue's own; None (the issue is read) when one
    is not among them."""
    held = _held([*loaded, *issue.labels], saved.get("assignee_id"), new_labels or [])
    if held is None:
        return None
    assignee, labels = held
    for name, value in saved.items():
        set_committed_value(issue, name, value)
    if "assignee_id" in saved:
        set_committed_value(issue, "assignee", assignee)
    if new_labels is not None:
        set_committed_value(issue, "labels", labels)
    return issue


def _held(loaded: list[Any], assignee_id: int | None, label_ids: list[int]) -> tuple[User | None, list[Label]] | None:
    """The assignee and the labels (in the issue's label order) among objects already read, or None when one is not
    among them."""
    people = {o.id: o for o in loaded if isinstance(o, User)}
    labels = {o.id: o for o in loaded if isinstance(o, Label)}
    if (assignee_id is not None and assignee_id not in people) or any(i not in labels for i in label_ids):
        return None
    assignee = people[assignee_id] if assignee_id is not None else None
    return assignee, sorted((labels[i] for i in label_ids), key=lambda label: label.name_key)


@functools.cache
def _guarded_update() -> sa.Update:
    """update_issue's UPDATE, built once: the changed fields come as parameters, the version grows by one, and only
    a live issue still at the expected version is changed."""
    table = Issue.__table__
    return (
        sa.update(table)
        .where(
            table.c.id == sa.bindparam("guard_id"),
            table.c.version == sa.bindparam("guard_version"),
            LIVE_ISSUE,
        )
        .values(version=table.c.version + 1)
    )


REVERTIBLE_KINDS = ("updated", "bulk")


@dataclass
class Revert:
    """One field change of the timeline that can be taken back: the event, the field, its value before and after."""

    event: IssueEvent
    field: str
    old: Any
    new: Any

    @property
    def raw_old(self) -> Any:
        """The old value as a form sends it (labels as ids, no assignee as "")."""
        if self.field == "labels":
            return [str(i) for i in self.old or []]
        if self.field == "assignee_id":
            return "" if self.old is None else str(self.old)
        return self.old


def find_revert(session: Session, issue_id: int, event_id: int, field_name: str) -> Revert:
    """The change of `field_name` that timeline entry `event_id` of the issue recorded, or NotFound."""
    event = session.execute(
        sa.select(IssueEvent)
        .where(IssueEvent.id == event_id, IssueEvent.issue_id == issue_id, IssueEvent.kind.in_(REVERTIBLE_KINDS))
        .options(joinedload(IssueEvent.actor))
    ).scalar_one_or_none()
    change = (event.changes or {}).get(field_name) if event is not None else None
    if field_name not in EDITABLE_FIELDS or not isinstance(change, list) or len(change) != 2:
        raise NotFound(f"Issue #{issue_id} has no change of {field_name} in entry {event_id} to revert.")
    return Revert(event=event, field=field_name, old=change[0], new=change[1])


def revert_change(session: Session, actor: User, issue_id: int, event_id: int, field_name: str, version: Any) -> Issue:
    """Set the field back to its value before the change, as a normal guarded edit from `version`. When the field
    changed again since that change, StaleVersion from the change's version: the caller shows the conflict view
    (never a silent overwrite of the newer value)."""
    access.require_edit_issues(actor)
    revert = find_revert(session, issue_id, event_id, field_name)
    issue = get_issue(session, issue_id)
    if issue.field_values()[field_name] != revert.new:
        raise StaleVersion(issue_id, revert.event.version, issue.version)
    return update_issue(session, actor, issue_id, version, {field_name: revert.raw_old})


def replace_labels(session: Session, issue_id: int, old: list[int], new: list[int]) -> None:
    """Replace the issue's label set (inside the caller's transaction)."""
    removed, added = set(old) - set(new), set(new) - set(old)
    if removed:
        session.execute(sa.delete(IssueLabel).where(IssueLabel.issue_id == issue_id, IssueLabel.label_id.in_(removed)))
    if added:
        add_labels(session, issue_id, sorted(added))


def add_labels(session: Session, issue_id: int, label_ids: Iterable[int]) -> None:
    """Link the labels to the issue (inside the caller's transaction); a label deleted since it was chosen
    (labels/service.py delete_label) rolls everything back and raises InvalidInput."""
    rows = [{"issue_id": issue_id, "label_id": i} for i in label_ids]
    if not rows:
        return
    try:
        session.execute(_link_label(), rows)
    except sa.exc.IntegrityError:
        session.rollback()
        raise InvalidInput({"labels": labels_service.LABEL_GONE}) from None


@functools.cache
def _link_label() -> sa.Insert:
    """add_labels' INSERT on the table, built once (the ORM's bulk INSERT of the same rows cost about 0.1 ms more)."""
    return sa.insert(IssueLabel.__table__)


def users_by_id(session: Session, ids: Iterable[int | None]) -> dict[int, User]:
    """The users with these ids (one query), for naming assignees in history and conflicts."""
    wanted = {i for i in ids if i is not None}
    if not wanted:
        return {}
    return {u.id: u for u in session.execute(sa.select(User).where(User.id.in_(wanted))).scalars()}


@dataclass
class FieldMerge:
    """One field on the conflict view: where the user started, the saved value, theirs, and the merge."""

    name: str
    base: Any
    theirs: Any
    mine: Any
    merged: Any
    state: str  # same | theirs | mine | merged (label sets) | conflict


@dataclass
class Conflict:
    """What the conflict view needs: the current issue, each field's merge, and who changed it since."""

    issue: Issue
    expected: int
    fields: list[FieldMerge]
    changed_by: list[IssueEvent] = field(default_factory=list)

    @property
    def conflicted(self) -> list[str]:
        """Names of the fields both sides changed differently."""
        return [f.name for f in self.fields if f.state == "conflict"]

    @property
    def merged_values(self) -> dict[str, Any]:
        """The values the merged form starts with (the user's own value where both changed)."""
        return {f.name: f.merged for f in self.fields}


def values_at_version(session: Session, issue: Issue, version: int) -> tuple[dict[str, Any], list[IssueEvent]]:
    """The issue's editable fields as they were at `version`, undoing later events; also those events (not the
    comments posted meanwhile: they carry the version they were posted at but change no field)."""
    later = list(
        session.execute(
            sa.select(IssueEvent)
            .where(IssueEvent.issue_id == issue.id, IssueEvent.version > version, IssueEvent.kind != "comment")
            .options(joinedload(IssueEvent.actor))
            .order_by(IssueEvent.version.desc(), IssueEvent.id.desc())
        ).scalars()
    )
    values = issue.field_values()
    for event in later:
        for name, old_new in (event.changes or {}).items():
            if name in values and isinstance(old_new, list) and len(old_new) == 2:
                values[name] = old_new[0]
    later.reverse()
    return values, later


def build_conflict(session: Session, issue_id: int, expected: int, mine: Mapping[str, Any]) -> Conflict:
    """Three-way merge of the user's submission against what was saved since `expected`."""
    issue = get_issue(session, issue_id)
    base, changed_by = values_at_version(session, issue, expected)
    theirs = issue.field_values()
    fields = []
    for name in EDITABLE_FIELDS:
        b, t = base[name], theirs[name]
        m = mine.get(name, b)
        if m == t:
            fields.append(FieldMerge(name, b, t, m, t, "same"))
        elif m == b:
            fields.append(FieldMerge(name, b, t, m, t, "theirs"))
        elif t == b:
            fields.append(FieldMerge(name, b, t, m, m, "mine"))
        elif name == "labels":
            merged = sorted((set(t) | (set(m) - set(b))) - (set(b) - set(m)))
            fields.append(FieldMerge(name, b, t, m, merged, "merged"))
        else:
            fields.append(FieldMerge(name, b, t, m, m, "conflict"))
    return Conflict(issue=issue, expected=expected, fields=fields, changed_by=changed_by)


def ticked_description(session: Session, issue_id: int, version: Any, index: Any, done: bool) -> str:
    """The description as it was at `version` with its task number `index` ticked (or not): what a tick on the page
    saves, guarded by that version like any edit (so a stale tick meets the merge, not an overwrite)."""
    expected = parse_version(version)
    task = whole_number(index)
    issue = get_issue(session, issue_id)
    base = values_at_version(session, issue, expected)[0] if expected < issue.version else issue.field_values()
    ticked = toggle_task(base["description"], task, done) if task is not None else None
    if ticked is None:
        raise InvalidInput({"description": f"The description has no task number {str(index)[:20]}."})
    return ticked
