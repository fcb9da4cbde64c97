"""Who may do what: every permission rule of the tracker, in one place.

Each rule is a `may_*` function that answers yes or no for a person (and the thing concerned), and a `require_*`
function that raises Forbidden with the rule's one message. Services call `require_*`; templates receive the
`may_*` answers through `Permissions` (bound to the signed-in person), so a page never re-derives a rule.
"""

from __future__ import annotations

import functools
from typing import Any

from .errors import Forbidden
from .models import EDITING_ROLES, Attachment, Comment, ImportRun, User

# One message per rule: the page's 403 and the API's error say the same.
EDIT_ISSUES_DENIED = "Viewers can read issues but not change them."
COMMENT_DENIED = "Viewers can read comments but not post them."
EDIT_COMMENT_DENIED = "Only the author can edit this comment."
DELETE_COMMENT_DENIED = "Only the author or an admin can delete this comment."
MANAGE_LABELS_DENIED = "Viewers cannot change labels."
IMPORT_DENIED = "Viewers can read issues but not import them."
MANAGE_IMPORT_DENIED = "This file was uploaded by someone else."
MANAGE_USERS_DENIED = "Only admins can manage users."
MANAGE_TOKENS_DENIED = "Only active people keep API tokens; reactivate this person first."
READ_ISSUES_DENIED = "Sign in to read issues and their files."
ATTACH_DENIED = "Viewers can download files but not attach them."
DELETE_ATTACHMENT_DENIED = "Only the person who attached this file or an admin can delete it."
MANAGE_TRASH_DENIED = "Only admins delete issues, and restore or purge them from the trash."
UNDO_IMPORT_DENIED = "Only the person who imported this file or an admin can undo the import."
MANAGE_VIEW_DENIED = "Only its owner can change this view; admins manage the shared views."
SHARE_VIEWS_DENIED = "Viewers keep views for themselves; members and admins share them."


def _active(user: Any) -> bool:
    """An active person: an anonymous visitor (no `active`) or a deactivated user may do nothing. Works on a
    User and on the plain records an import checks against (`active` and `role`)."""
    return bool(getattr(user, "active", False))


def may_edit_issues(user: Any) -> bool:
    """Admins and members create, edit and bulk-change issues; viewers only read."""
    return _active(user) and user.role in EDITING_ROLES


def may_read_issues(user: Any) -> bool:
    """Every active person signed in reads every issue, its comments and its files."""
    return _active(user)


def issue_reader_clause(users: Any) -> Any:
    """may_read_issues as SQL, on the users table (or an alias of it): who may receive notifications about an issue.
    Notifications choose their recipients with this, so a future rule (private issues, projects) reaches them."""
    return users.active.is_(True)


def may_be_assigned(user: Any) -> bool:
    """Issues are assigned to active people who can work on them: not to viewers, who cannot edit them."""
    return may_edit_issues(user)


def may_comment(user: Any) -> bool:
    """Who may post comments: the people who change issues. Viewers read the discussion but do not join it (a
    permission, as in Jira, not GitHub's "readers comment"): the role is for people who follow the work, and a
    comment carries files; someone who should discuss is made a member (README: Roles)."""
    return may_edit_issues(user)


def may_edit_comment(user: Any, comment: Comment) -> bool:
    """Only the comment's author, while they may still comment, changes it."""
    return may_comment(user) and comment.author_id == user.id


def may_delete_comment(user: Any, comment: Comment) -> bool:
    """The comment's author (while they may still comment) or an admin deletes it."""
    return may_manage_users(user) or may_edit_comment(user, comment)


def may_attach(user: Any) -> bool:
    """Who attaches files to issues and comments (the people who change issues and comment)."""
    return may_edit_issues(user)


def may_delete_attachment(user: Any, attachment: Attachment) -> bool:
    """The person who attached the file (while they may still attach) or an admin deletes it."""
    return may_manage_users(user) or (may_attach(user) and attachment.uploader_id == user.id)


def may_manage_labels(user: Any) -> bool:
    """Admins and members create, rename, recolour and delete labels."""
    return may_edit_issues(user)


def may_import(user: Any) -> bool:
    """Who may bring issues in from a file (they create issues)."""
    return may_edit_issues(user)


def may_manage_import(user: Any, run: ImportRun) -> bool:
    """The person who staged a file, or an admin, checks, maps, imports or discards it."""
    return may_import(user) and (run.user_id == user.id or user.role == "admin")


def may_manage_users(user: Any) -> bool:
    """Admins add people, change roles, names, emails and passwords, deactivate and reactivate."""
    return _active(user) and user.role == "admin"


def may_manage_trash(user: Any) -> bool:
    """Admins delete issues (to the trash), see the trash and what became of a deleted issue, restore and purge."""
    return may_manage_users(user)


def may_undo_import(user: Any, run: ImportRun) -> bool:
    """The person who imported a file, while they may import, or an admin moves its issues to the trash and brings
    them back (the rest of the trash is the admins' alone)."""
    return may_manage_import(user, run)


def may_manage_tokens(user: Any) -> bool:
    """Everyone signed in keeps their own API tokens (a token acts as its owner, with the owner's role); the
    service looks tokens up among the person's own, so someone else's token is simply not found."""
    return _active(user)


def may_read_view(user: Any, view: Any) -> bool:
    """A shared view is everyone's to see and run; a private one its owner's alone (to others it does not exist)."""
    return _active(user) and (view.shared or view.owner_id == user.id)


def may_manage_view(user: Any, view: Any) -> bool:
    """The owner renames, changes and deletes their own view (while it is theirs to see); admins manage every shared
    view, the team's first ones (no owner) included."""
    return may_read_view(user, view) and (view.owner_id == user.id or (view.shared and user.role == "admin"))


def may_share_views(user: Any) -> bool:
    """Members and admins share views with everyone; viewers save views for themselves only."""
    return may_edit_issues(user)


def _require(allowed: bool, message: str) -> None:
    if not allowed:
        raise Forbidden(message)


def require_edit_issues(user: User) -> None:
    """Raise Forbidden unless the person may create and change issues."""
    _require(may_edit_issues(user), EDIT_ISSUES_DENIED)


def require_comment(user: User) -> None:
    """Raise Forbidden unless the person may post comments."""
    _require(may_comment(user), COMMENT_DENIED)


def require_edit_comment(user: User, comment: Comment) -> None:
    """Raise Forbidden unless the person may change this comment."""
    _require(may_edit_comment(user, comment), EDIT_COMMENT_DENIED)


def require_delete_comment(user: User, comment: Comment) -> None:
    """Raise Forbidden unless the person may delete this comment."""
    _require(may_delete_comment(user, comment), DELETE_COMMENT_DENIED)


def require_read_issues(user: User) -> None:
    """Raise Forbidden unless the person may read issues (and download their files)."""
    _require(may_read_issues(user), READ_ISSUES_DENIED)


def require_attach(user: User) -> None:
    """Raise Forbidden unless the person may attach files."""
    _require(may_attach(user), ATTACH_DENIED)


def require_delete_attachment(user: User, attachment: Attachment) -> None:
    """Raise Forbidden unless the person may delete this attachment."""
    _require(may_delete_attachment(user, attachment), DELETE_ATTACHMENT_DENIED)


def require_manage_labels(user: User) -> None:
    """Raise Forbidden unless the person may change labels."""
    _require(may_manage_labels(user), MANAGE_LABELS_DENIED)


def require_import(user: User) -> None:
    """Raise Forbidden unless the person may import issues."""
    _require(may_import(user), IMPORT_DENIED)


def require_manage_import(user: User, run: ImportRun) -> None:
    """Raise Forbidden unless the person may check, import or discard this staged file (viewers get the
    import rule's own message)."""
    require_import(user)
    _require(may_manage_import(user, run), MANAGE_IMPORT_DENIED)


def require_manage_users(user: User) -> None:
    """Raise Forbidden unless the person is an admin."""
    _require(may_manage_users(user), MANAGE_USERS_DENIED)


def require_manage_trash(user: User) -> None:
    """Raise Forbidden unless the person may delete issues and manage the trash."""
    _require(may_manage_trash(user), MANAGE_TRASH_DENIED)


def require_undo_import(user: User, run: ImportRun) -> None:
    """Raise Forbidden unless the person may undo this import."""
    _require(may_undo_import(user, run), UNDO_IMPORT_DENIED)


def require_manage_tokens(user: User) -> None:
    """Raise Forbidden unless the person may keep API tokens."""
    _require(may_manage_tokens(user), MANAGE_TOKENS_DENIED)


def require_manage_view(user: User, view: Any) -> None:
    """Raise Forbidden unless the person may rename, change or delete this view."""
    _require(may_manage_view(user, view), MANAGE_VIEW_DENIED)


def require_share_views(user: User) -> None:
    """Raise Forbidden unless the person may share views with everyone."""
    _require(may_share_views(user), SHARE_VIEWS_DENIED)


class Permissions:
    """The rules' answers for one person, as templates ask them: `may.edit_issues`, `may.delete_comment(c)`."""

    def __init__(self, user: Any):
        self._user = user

    @functools.cached_property
    def user(self) -> Any:
        """The person, looked up on the first question only, so a page that asks none (an error page while the
        database is down) loads nobody; a proxy such as current_user is resolved once rather than on every attribute
        of every question (a timeline asks two per comment)."""
        resolve = getattr(self._user, "_get_current_object", None)
        return resolve() if resolve is not None else self._user

    @property
    def edit_issues(self) -> bool:
        """May create, edit and bulk-change issues (and so be assigned them)."""
        return may_edit_issues(self.user)

    @property
    def be_assigned(self) -> bool:
        """May be assigned issues (so has issues of their own: "My issues")."""
        return may_be_assigned(self.user)

    @property
    def share_views(self) -> bool:
        """May share saved views with everyone."""
        return may_share_views(self.user)

    def manage_view(self, view: Any) -> bool:
        """May rename, change or delete this saved view."""
        return may_manage_view(self.user, view)

    @property
    def comment(self) -> bool:
        """May post comments."""
        return may_comment(self.user)

    @property
    def attach(self) -> bool:
        """May attach files to issues and comments."""
        return may_attach(self.user)

    @property
    def manage_labels(self) -> bool:
        """May change labels."""
        return may_manage_labels(self.user)

    @property
    def import_issues(self) -> bool:
        """May import issues from a file."""
        return may_import(self.user)

    @property
    def manage_users(self) -> bool:
        """Is an admin."""
        return may_manage_users(self.user)

    @property
    def manage_trash(self) -> bool:
        """May delete issues and restore or purge them from the trash."""
        return may_manage_trash(self.user)

    def undo_import(self, run: ImportRun) -> bool:
        """May move this import's issues to the trash."""
        return may_undo_import(self.user, run)

    def edit_comment(self, comment: Comment) -> bool:
        """May change this comment."""
        return may_edit_comment(self.user, comment)

    def delete_comment(self, comment: Comment) -> bool:
        """May delete this comment."""
        return may_delete_comment(self.user, comment)

    def delete_attachment(self, attachment: Attachment) -> bool:
        """May delete this attachment."""
        return may_delete_attachment(self.user, attachment)

    def manage_import(self, run: ImportRun) -> bool:
        """May check, import or discard this staged file."""
        return may_manage_import(self.user, run)
