"""Saved views: create, change (guarded by version), delete, order and pin; the views a person sees, with a cheap
capped count of each one's issues (one statement for all of them)."""

from __future__ import annotations

import functools
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from .. import access
from ..errors import InvalidInput, NotFound, StaleView
from ..labels import service as labels_service
from ..models import (
    SAVED_VIEW_NAME_MAX,
    SAVED_VIEW_QUERY_MAX,
    Issue,
    SavedView,
    SavedViewPlace,
    User,
    ViewWatch,
    ViewWatchMember,
    utcnow,
)
from ..search.query import PEOPLE_KEYS, parse, to_text
from . import queries, search

COUNT_CAP = 500  # a sidebar says "500+": enough to tell a short list from a long one, at a bounded cost


@dataclass
class Listed:
    """A view as a person's sidebar shows it: the view, whether it is theirs, pinned, and its (capped) count."""

    view: SavedView
    mine: bool
    pinned: bool
    count: int | None = None
    watching: bool = False

    @property
    def capped(self) -> bool:
        """Whether the count stopped at the cap."""
        return self.count is not None and self.count > COUNT_CAP


def clean(name: Any, query: Any) -> tuple[str, str]:
    """A view's name and canonical query, or InvalidInput naming what is wrong with each."""
    errors = {}
    name = " ".join(str(name or "").split())
    if not name:
        errors["name"] = "Give the view a name."
    elif len(name) > SAVED_VIEW_NAME_MAX:
        errors["name"] = f"A view's name has at most {SAVED_VIEW_NAME_MAX} characters."
    text = str(query or "")
    parsed = parse(text)
    canonical = "" if parsed.errors else to_text(parsed)
    if len(text) > SAVED_VIEW_QUERY_MAX:
        errors["query"] = f"A view's query has at most {SAVED_VIEW_QUERY_MAX} characters."
    elif parsed.errors:
        errors["query"] = parsed.errors[0].message
    elif len(canonical) > SAVED_VIEW_QUERY_MAX:  # written out in full (quotes, sort:id-desc, #1) it grew
        errors["query"] = (
            f"A view's query has at most {SAVED_VIEW_QUERY_MAX} characters; as saved (quoted values, full sort and "
            f"issue names) this one has {len(canonical)}."
        )
    if errors:
        raise InvalidInput(errors)
    return name, canonical


def merged(
    current: SavedView, typed: Mapping[str, str], base: Mapping[str, str | None]
) -> tuple[dict[str, str], list[tuple[str, str]]]:
    """The three-way merge of a stale save (409): the name and query (by field: name, q) to show again, from what
    the person typed and what the fields held when shown (`base`), against the view as it is now (`current`). A field
    they changed keeps what they typed; one they left as it was takes the view's value now (a plain save again then
    undoes nobody's change); a field without its base value keeps what was typed. Also the fields both changed, as
    (label, the other person's value)."""
    form: dict[str, str] = {}
    both: list[tuple[str, str]] = []
    for field, label, now in (("name", "name", current.name), ("q", "query", current.query)):
        mine, was = typed.get(field, ""), base.get(field)
        changed = was is None or mine != was
        form[field] = mine if changed else now
        if changed and was is not None and now != was and now != mine:
            both.append((label, now))
    return form, both


def get_view(session: Session, user: User, view_id: int) -> SavedView:
    """A view the person may see; someone else's private view is not found, as a missing one."""
    view = session.get(SavedView, view_id)
    if view is None or not access.may_read_view(user, view):
        raise NotFound(f"View {view_id} does not exist.")
    return view


def create_view(session: Session, user: User, name: Any, query: Any, shared: bool = False) -> SavedView:
    """Save a query as a view of this person's, private unless shared; it goes to the end of their list."""
    if shared:
        access.require_share_views(user)
    name, text = clean(name, query)
    now = utcnow()
    view = SavedView(name=name, query=text, shared=bool(shared), owner_id=user.id, created_at=now, updated_at=now)
    session.add(view)
    session.flush()
    last = session.execute(
        sa.select(sa.func.max(SavedViewPlace.position)).where(SavedViewPlace.user_id == user.id)
    ).scalar_one()
    session.add(SavedViewPlace(user_id=user.id, view_id=view.id, position=(last or 0) + 1))
    session.commit()
    return view


def update_view(
    session: Session, user: User, view_id: int, version: Any, name: Any, query: Any, shared: Any = None
) -> SavedView:
    """Rename or change a view (and share or unshare it), from the version the person started from: one guarded
    UPDATE; someone else's save meanwhile is a StaleView (409), and nothing changes."""
    view = get_view(session, user, view_id)
    access.require_manage_view(user, view)
    expected = parse_version(version)
    name, text = clean(name, query)
    old_query = view.query
    shared = view.shared if shared is None else bool(shared)
    if shared != view.shared:
        access.require_share_views(user)
    changed = session.execute(
        sa.update(SavedView)
        .where(SavedView.id == view_id, SavedView.version == expected)
        .values(name=name, query=text, shared=shared, version=SavedView.version + 1, updated_at=utcnow())
        .execution_options(synchronize_session=False)
    ).rowcount
    if changed != 1:
        session.rollback()
        current = session.get(SavedView, view_id)
        raise StaleView(view_id, current.name if current else name, expected, current.version if current else 0)
    session.refresh(view)
    if text != old_query:  # the watchers' "already there" is the new query's issues: a change of query is no news
        for watch in session.execute(sa.select(ViewWatch).where(ViewWatch.view_id == view_id)).scalars():
            _take_stock(session, watch, view.query)
    session.commit()
    return view


def delete_view(session: Session, user: User, view_id: int, version: Any) -> None:
    """Delete a view (its places in everyone's lists go with it), from the version the person saw."""
    view = get_view(session, user, view_id)
    access.require_manage_view(user, view)
    expected = parse_version(version)
    deleted = session.execute(
        sa.delete(SavedView).where(SavedView.id == view_id, SavedView.version == expected)
    ).rowcount
    if deleted != 1:
        session.rollback()
        raise StaleView(view_id, view.name, expected, view.version)
    session.commit()


def watch_view(session: Session, user: User, view_id: int, watching: bool) -> bool:
    """Start (or stop) hearing when an issue starts matching a view the person sees: in the inbox, and by email as
    their settings say. The issues the view has now are its starting point (one INSERT ... SELECT): only issues that
    come into it later are news. Returns whether the person now watches it."""
    view = get_view(session, user, view_id)
    current = session.execute(
        sa.select(ViewWatch).where(ViewWatch.view_id == view_id, ViewWatch.user_id == user.id)
    ).scalar_one_or_none()
    if watching and current is None:
        now = utcnow()
        current = ViewWatch(view_id=view_id, user_id=user.id, created_at=now, checked_at=now)
        session.add(current)
        session.flush()
        _take_stock(session, current, view.query, user)
    elif not watching and current is not None:
        session.delete(current)
    session.commit()
    return watching


def is_watching(session: Session, user: User, view_id: int) -> bool:
    """Whether the person watches this view."""
    return session.execute(
        sa.select(sa.exists().where(ViewWatch.view_id == view_id, ViewWatch.user_id == user.id))
    ).scalar_one()


def _take_stock(session: Session, watch: ViewWatch, query: str, user: User | None = None) -> None:
    """Record the issues a watched view has now (as its watcher runs it) as its starting point, and check it from
    now on."""
    person = user if user is not None else session.get(User, watch.user_id)
    session.execute(sa.delete(ViewWatchMember).where(ViewWatchMember.watch_id == watch.id))
    matching = filtered_ids(session, person, query)
    session.execute(
        sa.insert(ViewWatchMember).from_select(
            ["watch_id", "issue_id"], matching.with_only_columns(sa.literal(watch.id, sa.Integer), Issue.id)
        )
    )
    watch.checked_at = utcnow()


def filtered_ids(session: Session, user: User, query: str, labels: list | None = None) -> sa.Select:
    """SELECT issues.id of the issues a query lists when this person runs it (@me is them; never the trash)."""
    issue_filter = filter_for(session, user, query, labels)
    return queries.filtered(session.get_bind().dialect.name, issue_filter).with_only_columns(Issue.id)


def parse_version(raw: Any) -> int:
    """The version a change started from, or InvalidInput."""
    text = str(raw if raw is not None else "").strip()
    if not text.isdigit() or int(text) < 1:
        raise InvalidInput({"version": "The view's version is missing; reload the page and try again."})
    return int(text)


@functools.cache
def _visible_views() -> sa.Select:
    """visible_views' statement, built once (every list page's sidebar runs it)."""
    place = SavedViewPlace
    user_id = sa.bindparam("user_id")
    watched = sa.exists().where(ViewWatch.view_id == SavedView.id, ViewWatch.user_id == user_id)
    return (
        sa.select(SavedView, place.position, place.pinned, watched)
        .outerjoin(place, sa.and_(place.view_id == SavedView.id, place.user_id == user_id))
        .where(sa.or_(SavedView.owner_id == user_id, SavedView.shared))
        .order_by(
            sa.case((SavedView.owner_id == user_id, 0), else_=1),
            sa.func.coalesce(place.position, 1_000_000),
            SavedView.id,
        )
    )


def visible_views(session: Session, user: User) -> list[Listed]:
    """The person's own views, then the shared ones of others, each in the person's order (new ones last)."""
    rows = session.execute(_visible_views(), {"user_id": user.id}).all()
    return [
        Listed(view, view.owner_id == user.id, bool(pinned), watching=bool(watching))
        for view, _position, pinned, watching in rows
    ]


def move_view(session: Session, user: User, view_id: int, step: int) -> None:
    """Move a view one place up (step -1) or down (+1) among the person's own or among the shared views."""
    view = get_view(session, user, view_id)
    listed = [v for v in visible_views(session, user) if v.mine == (view.owner_id == user.id)]
    ids = [v.view.id for v in listed]
    at = ids.index(view_id)
    to = min(max(at + step, 0), len(ids) - 1)
    ids.insert(to, ids.pop(at))
    pinned = {v.view.id for v in listed if v.pinned}
    save_places(session, user, ids, pinned)


def pin_view(session: Session, user: User, view_id: int, pinned: bool) -> None:
    """Pin a view to the person's page (or take it off)."""
    get_view(session, user, view_id)
    listed = visible_views(session, user)
    order = [v.view.id for v in listed]
    chosen = {v.view.id for v in listed if v.pinned}
    chosen = chosen | {view_id} if pinned else chosen - {view_id}
    save_places(session, user, order, chosen)


def save_places(session: Session, user: User, ids: list[int], pinned: set[int]) -> None:
    """Write the person's order (and pins) of these views: their places replaced in two statements."""
    session.execute(sa.delete(SavedViewPlace).where(SavedViewPlace.user_id == user.id))
    session.execute(
        sa.insert(SavedViewPlace),
        [{"user_id": user.id, "view_id": i, "position": n, "pinned": i in pinned} for n, i in enumerate(ids, 1)],
    )
    session.commit()


MAX_PINNED = 8  # views on a person's page


def pinned_lists(session: Session, user: User, size: int = 5) -> list[tuple[Listed, list[Issue]]]:
    """The views the person pinned, each with its capped count and its first `size` issues in its own order: one
    statement for the views, one for the counts, one for every list's issue numbers, one to load those issues."""
    listed = [item for item in visible_views(session, user) if item.pinned][:MAX_PINNED]
    if not listed:
        return []
    labels = labels_service.all_labels(session)
    count_views(session, user, listed, labels)
    dialect = session.get_bind().dialect.name
    lookups = lookups_for(session, user, [item.view.query for item in listed], labels)
    parts = []
    for n, item in enumerate(listed):
        issue_filter = queries.IssueFilter(q=item.view.query, lookups=lookups)
        keys = queries.sort_keys(issue_filter.sort)
        first = (
            queries.filtered(dialect, issue_filter)
            .with_only_columns(Issue.id, sa.func.row_number().over(order_by=keys).label("rank"))
            .order_by(*keys)
            .limit(size)
            .subquery()
        )
        parts.append(sa.select(sa.literal(n).label("list"), first.c.id, first.c.rank))
    rows = session.execute(sa.union_all(*parts)).all()
    issues = {issue.id: issue for issue in queries.issues_by_ids(session, [row.id for row in rows])}
    lists: list[list[Issue]] = [[] for _ in listed]
    for row in sorted(rows, key=lambda r: (r.list, r.rank)):
        if row.id in issues:
            lists[row.list].append(issues[row.id])
    return list(zip(listed, lists, strict=True))


def filter_for(session: Session, user: User, query: str, labels=None) -> queries.IssueFilter:
    """The list filter of a query run by this person (@me is them), its names resolved."""
    view = queries.IssueFilter(q=query)
    labels = labels_service.all_labels(session) if labels is None else labels
    view.lookups = search.load_lookups(session, view.query, user.id, labels, utcnow())
    return view


def lookups_for(session: Session, user: User, texts: list[str], labels: list) -> search.Lookups:
    """What the names of several queries stand for, resolved at once (one statement for all their handles)."""
    handles = sorted({v for text in texts for t in parse(text).terms if t.key in PEOPLE_KEYS for v in t.values})
    people = search.people_by_handle(session, [h for h in handles if h != "@me"])
    return search.Lookups({label.name_key: label.id for label in labels}, people, user.id, utcnow())


def count_views(session: Session, user: User, listed: list[Listed], labels: list | None = None) -> None:
    """Fill in each view's count of issues, stopping at COUNT_CAP + 1: one statement for all the views, each
    count a bounded index walk of the view's own filter."""
    if not listed:
        return
    dialect = session.get_bind().dialect.name
    labels = labels_service.all_labels(session) if labels is None else labels
    lookups = lookups_for(session, user, [item.view.query for item in listed], labels)
    columns = []
    for n, item in enumerate(listed):
        view = queries.IssueFilter(q=item.view.query, lookups=lookups)
        ids = queries.filtered(dialect, view).with_only_columns(Issue.id).limit(COUNT_CAP + 1).subquery()
        columns.append(sa.select(sa.func.count()).select_from(ids).scalar_subquery().label(f"v{n}"))
    counts = session.execute(sa.select(*columns)).one()
    for item, count in zip(listed, counts, strict=True):
        item.count = count
