"""Labels: naming and colour rules, usage counts, and deletion that is recorded in each issue's timeline."""

from __future__ import annotations

import functools
import re
from collections import defaultdict
from collections.abc import Iterable
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from .. import access
from ..errors import InvalidInput, NotFound
from ..models import LABEL_NAME_MAX, LABEL_SEPARATORS, Issue, IssueEvent, IssueLabel, Label, User, utcnow
from ..numbers import whole_number

# A fixed palette; each colour keeps text readable (contrast >= 4.5 with the text colour chosen for it).
PALETTE = {
    "red": "#b60205",
    "orange": "#d93f0b",
    "yellow": "#fbca04",
    "green": "#0e8a16",
    "teal": "#006b75",
    "blue": "#1d76db",
    "navy": "#0052cc",
    "purple": "#5319e7",
    "pink": "#e99695",
    "gray": "#6a737d",
}
DEFAULT_COLOR = PALETTE["blue"]
_HEX = re.compile(r"^#?([0-9a-fA-F]{6}|[0-9a-fA-F]{3})$")


def parse_color(raw: str | None) -> str:
    """A palette name or a hex colour (#abc or #aabbcc) as #rrggbb."""
    value = (raw or "").strip().lower()
    if value in PALETTE:
        return PALETTE[value]
    match = _HEX.match(value)
    if not match:
        names = ", ".join(PALETTE)
        raise InvalidInput({"color": f"Colour '{raw}' is not a palette colour ({names}) or a hex value like #1d76db."})
    digits = match.group(1)
    if len(digits) == 3:
        digits = "".join(c * 2 for c in digits)
    return "#" + digits


def text_color(background: str) -> str:
    """Black or white, whichever contrasts more with the background (WCAG relative luminance)."""
    channels = [int(background[i : i + 2], 16) / 255 for i in (1, 3, 5)]
    linear = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    luminance = 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]
    return "#000000" if (luminance + 0.05) / 0.05 > 1.05 / (luminance + 0.05) else "#ffffff"


def name_key(name: str) -> str:
    """How label names are compared and kept unique (Label.name_key): the name in lower case."""
    return name.lower()


def name_length_problem(name: str) -> str:
    """'' when a trimmed name and its key both fit the labels table, else what is too long, as 'is N characters
    long; at most 50 are allowed'. The key is checked too: some letters (İ) become two in lower case."""
    if len(name) > LABEL_NAME_MAX:
        return f"is {len(name)} characters long; at most {LABEL_NAME_MAX} are allowed"
    key_length = len(name_key(name))
    if key_length > LABEL_NAME_MAX:
        return (
            f"is {key_length} characters long in lower case, as names are compared (some letters, like İ, "
            f"become two); at most {LABEL_NAME_MAX} are allowed"
        )
    return ""


def separator_problem(name: str) -> str:
    """'' for a name without ';' or '|', else 'cannot contain ';': CSV files use ...'."""
    separators = [c for c in LABEL_SEPARATORS if c in name]
    if not separators:
        return ""
    return f"cannot contain '{separators[0]}': CSV files use ';' and '|' to separate labels"


def clean_name(session: Session, raw: str | None, exclude_id: int | None = None) -> str:
    """A label name: 1–50 characters after trimming (in lower case too), without ';' or '|', unique regardless
    of case."""
    name = " ".join((raw or "").split())
    if not name:
        raise InvalidInput({"name": "Label name is required."})
    too_long = name_length_problem(name)
    if too_long:
        raise InvalidInput({"name": f"Label name {too_long}."})
    separator = separator_problem(name)
    if separator:
        raise InvalidInput({"name": f"Label names {separator}."})
    clash = session.execute(sa.select(Label).where(Label.name_key == name_key(name))).scalar_one_or_none()
    if clash is not None and clash.id != exclude_id:
        raise InvalidInput({"name": f"A label named '{clash.name}' already exists."})
    return name


def all_labels(session: Session) -> list[Label]:
    """Every label by name."""
    return list(session.execute(sa.select(Label).order_by(Label.name_key)).scalars())


def labels_with_counts(session: Session) -> list[tuple[Label, int]]:
    """Every label with the number of issues carrying it, those in the trash left out (one query)."""
    count = sa.func.count(IssueLabel.issue_id)
    trashed = sa.select(Issue.id).where(Issue.deleted_at.is_not(None))
    rows = session.execute(
        sa.select(Label, count)
        .outerjoin(IssueLabel, sa.and_(IssueLabel.label_id == Label.id, IssueLabel.issue_id.not_in(trashed)))
        .group_by(Label.id)
        .order_by(Label.name_key)
    ).all()
    return [(label, n) for label, n in rows]


def get_label(session: Session, label_id: int) -> Label:
    """A label, or NotFound."""
    label = session.get(Label, label_id)
    if label is None:
        raise NotFound(f"Label {label_id} does not exist.")
    return label


def usage(session: Session, label_id: int) -> int:
    """How many live issues carry the label (those in the trash are left out, as every label count leaves them)."""
    return session.execute(
        sa.select(sa.func.count())
        .select_from(IssueLabel)
        .join(Issue, Issue.id == IssueLabel.issue_id)
        .where(IssueLabel.label_id == label_id, Issue.deleted_at.is_(None))
    ).scalar_one()


def create_label(session: Session, actor: User, name: str | None, color: str | None) -> Label:
    """Create a label."""
    access.require_manage_labels(actor)
    errors = {}
    try:
        name = clean_name(session, name)
    except InvalidInput as exc:
        errors.update(exc.errors)
    try:
        color = parse_color(color or DEFAULT_COLOR)
    except InvalidInput as exc:
        errors.update(exc.errors)
    if errors:
        raise InvalidInput(errors)
    now = utcnow()
    label = Label(name=name, name_key=name_key(name), color=color, created_at=now, updated_at=now)
    session.add(label)
    _commit_name(session, name)
    return label


def _commit_name(session: Session, name: str) -> None:
    """Commit a created or renamed label; someone who took the name meanwhile makes it a clash (422)."""
    try:
        session.commit()
    except sa.exc.IntegrityError:
        session.rollback()
        raise InvalidInput({"name": f"A label named '{name}' already exists."}) from None


def create_missing(session: Session, names: dict[str, str], now: datetime) -> dict[str, int]:
    """Create the labels that do not exist yet (key -> name as first written) in the default colour, and return
    the ids of all of them by key: one INSERT and one SELECT. A label someone else creates meanwhile is taken
    as it is (INSERT ... ON CONFLICT (name_key) DO NOTHING), so concurrent imports naming it both succeed.

    The rows go in sorted by key: two imports creating the same labels take their unique keys in the same order,
    so one waits for the other instead of each holding a key the other needs (a deadlock)."""
    if not names:
        return {}
    insert = postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert
    session.execute(
        insert(Label.__table__).on_conflict_do_nothing(index_elements=["name_key"]),
        [
            {"name": names[key], "name_key": key, "color": DEFAULT_COLOR, "created_at": now, "updated_at": now}
            for key in sorted(names)
        ],
    )
    found = session.execute(sa.select(Label.name_key, Label.id).where(Label.name_key.in_(list(names))))
    return {key: label_id for key, label_id in found}


def update_label(session: Session, actor: User, label_id: int, name: str | None, color: str | None) -> Label:
    """Rename and/or recolour a label (issues keep it)."""
    access.require_manage_labels(actor)
    label = get_label(session, label_id)
    errors = {}
    try:
        new_name = clean_name(session, name, exclude_id=label.id)
    except InvalidInput as exc:
        errors.update(exc.errors)
    try:
        new_color = parse_color(color)
    except InvalidInput as exc:
        errors.update(exc.errors)
    if errors:
        raise InvalidInput(errors)
    label.name, label.name_key, label.color, label.updated_at = new_name, name_key(new_name), new_color, utcnow()
    _commit_name(session, new_name)
    return label


def delete_label(session: Session, actor: User, label_id: int) -> int:
    """Delete a label; each issue carrying it gets a new version and a timeline entry (those in the trash too).
    Returns how many live issues carried it.

    A constant number of statements: the label is read locked, one guarded UPDATE ... RETURNING locks the issues
    and gives their new versions, one query reads their label sets, one insert writes all events, two deletes
    remove the label. The lock (FOR UPDATE on PostgreSQL; SQLite runs one writer at a time) settles a race with
    someone adding the label to an issue: an add that came first is waited for and then recorded like the
    others; an add that comes later waits and then fails on the missing label (a 422, nothing saved), never
    leaving the cascade to remove its link without a version or a timeline entry.
    """
    access.require_manage_labels(actor)
    label = session.execute(
        sa.select(Label).where(Label.id == label_id).with_for_update().execution_options(populate_existing=True)
    ).scalar_one_or_none()
    if label is None:
        raise NotFound(f"Label {label_id} does not exist.")
    now = utcnow()
    carrying = sa.select(IssueLabel.issue_id).where(IssueLabel.label_id == label_id).scalar_subquery()
    bumped = session.execute(
        sa.update(Issue)
        .where(Issue.id.in_(carrying))
        .values(version=Issue.version + 1, updated_at=now)
        .returning(Issue.id, Issue.version, Issue.deleted_at)
        .execution_options(synchronize_session=False)
    ).all()
    if bumped:
        label_sets: dict[int, list[int]] = defaultdict(list)
        for issue_id, other_label_id in session.execute(
            sa.select(IssueLabel.issue_id, IssueLabel.label_id).where(IssueLabel.issue_id.in_(carrying))
        ):
            label_sets[issue_id].append(other_label_id)
        names = {str(label.id): label.name}
        session.execute(
            sa.insert(IssueEvent),
            [
                {
                    "issue_id": issue_id,
                    "actor_id": actor.id,
                    "kind": "label_deleted",
                    "changes": {
                        "labels": [sorted(label_sets[issue_id]), sorted(set(label_sets[issue_id]) - {label.id})],
                        "label_names": names,
                    },
                    "version": version,
                    "created_at": now,
                    "comment_id": None,
                }
                for issue_id, version, _deleted_at in bumped
            ],
        )
    session.execute(sa.delete(IssueLabel).where(IssueLabel.label_id == label_id))
    session.execute(sa.delete(Label).where(Label.id == label_id))
    session.commit()
    return sum(1 for _issue_id, _version, deleted_at in bumped if deleted_at is None)  # the live ones, as usage()


LABEL_GONE = "A label you chose was deleted while this was being saved; nothing was saved. Choose the labels again."


def resolve_ids(session: Session, raw: Iterable) -> list[int]:
    """Label ids from form values (empty values ignored); unknown ids raise InvalidInput."""
    wanted: set[int] = set()
    for value in raw:
        text = str(value).strip()
        if not text:
            continue
        label_id = whole_number(text)
        if label_id is None:
            raise InvalidInput({"labels": f"Unknown label '{text[:40]}'."})
        wanted.add(label_id)
    if not wanted:
        return []
    found = set(session.execute(sa.select(Label.id).where(Label.id.in_(wanted))).scalars())
    missing = sorted(wanted - found)
    if missing:
        raise InvalidInput({"labels": f"Unknown label id {missing[0]}; it may have been deleted."})
    return sorted(wanted)


def by_names(session: Session, names: Iterable[str]) -> tuple[list[Label], list[str]]:
    """Labels matching these names regardless of case (one query), and the names that match none."""
    keys = {name_key(" ".join(n.split())): n for n in names if n and n.strip()}
    if not keys:
        return [], []
    found = list(session.execute(_labels_by_keys(), {"keys": list(keys)}).scalars())
    known = {label.name_key for label in found}
    return found, [original for key, original in keys.items() if key not in known]


@functools.cache
def _labels_by_keys() -> sa.Select:
    """by_names' statement, built once (every API change naming labels runs it)."""
    return sa.select(Label).where(Label.name_key.in_(sa.bindparam("keys", expanding=True)))


def ids_for_names(session: Session, names: Iterable[str]) -> list[int]:
    """Label ids for these names regardless of case (the API names labels); an unknown name raises InvalidInput."""
    found, unknown = by_names(session, names)
    if unknown:
        raise InvalidInput({"labels": f"There is no label named '{unknown[0]}'."})
    return sorted(label.id for label in found)


def by_ids(session: Session, ids: Iterable[int]) -> dict[int, Label]:
    """Labels with these ids (one query), for naming labels in timelines."""
    wanted = {i for i in ids if i is not None}
    if not wanted:
        return {}
    return {label.id: label for label in session.execute(sa.select(Label).where(Label.id.in_(wanted))).scalars()}
