"""Markdown to safe HTML: CommonMark by markdown-it-py with GitHub's extensions people expect (tables, ~~strike~~,
task lists, bare URLs linked), sanitized by nh3; `#123` links to issue 123 (when it exists: see unlink_missing).

Issue descriptions and comments store only their Markdown and render through markdown_html on view, so a change
here shows on every one of them without a data migration.

A single line break is kept as a line break (as on GitHub): descriptions and comments are usually typed, or
imported from other trackers, as plain text with one line per step.
"""

from __future__ import annotations

import re
from functools import lru_cache

import nh3
import sqlalchemy as sa
from markdown_it import MarkdownIt
from markdown_it.common.utils import escapeHtml
from markdown_it.rules_inline import StateInline
from markupsafe import Markup
from mdit_py_plugins.tasklists import tasklists_plugin
from sqlalchemy.orm import Session

from .mentions import MENTION
from .models import Issue, User

ALLOWED_TAGS = {
    "p", "br", "hr", "em", "strong", "del", "s", "code", "pre", "blockquote", "ul", "ol", "li",
    "h1", "h2", "h3", "h4", "h5", "h6", "a", "table", "thead", "tbody", "tr", "th", "td", "img", "input",
}
ALLOWED_ATTRIBUTES = {
    "a": {"href", "title", "class"},
    "ol": {"start", "class"},
    "ul": {"class"},
    "li": {"class"},
    "img": {"src", "alt", "title", "loading"},
    "input": {"class", "checked", "disabled", "data-task", "aria-label"},  # a task list's box (type: below)
}
TAG_ATTRIBUTE_VALUES = {"input": {"type": {"checkbox"}}}
_TASK_BOX = re.compile(r'<input class="task-list-item-checkbox"')
_TASK_MARK = re.compile(r"\[[ xX]\]")
_ISSUE_LINK = re.compile(r'<a href="/issues/(\d+)" class="issue-ref"[^>]*>(#\d+)</a>')
URL_SCHEMES = {"http", "https", "mailto"}
_ISSUE_REF = re.compile(r"#(\d{1,9})\b")
# A mention as the renderer writes it, before unlink_missing_mentions links it to the person or makes it plain text.
_MENTION_LINK = re.compile(r'<a href="/@([a-z0-9_-]{1,30})" class="mention"[^>]*>(@[A-Za-z0-9_-]{1,30})</a>')
# A file attached to this Tracker (attachments.download, /files/<id>/<name>): the only images shown inline.
_OWN_FILE = re.compile(r"^/files/[0-9]{1,10}/[^/?#\s]+$")


def _issue_reference(issue_url: str):
    """An inline rule turning `#123` (not inside a word) into a link to that issue."""

    def rule(state: StateInline, silent: bool) -> bool:
        if state.src[state.pos] != "#":
            return False
        if state.pos > 0 and (state.src[state.pos - 1].isalnum() or state.src[state.pos - 1] in "&/"):
            return False
        match = _ISSUE_REF.match(state.src, state.pos)
        if not match:
            return False
        if not silent:
            token = state.push("link_open", "a", 1)
            token.attrs = {"href": issue_url.format(match.group(1)), "class": "issue-ref"}
            token = state.push("text", "", 0)
            token.content = match.group(0)
            state.push("link_close", "a", -1)
        state.pos = match.end()
        return True

    return rule


def _mention(state: StateInline, silent: bool) -> bool:
    """An inline rule marking `@handle` (not inside a word or an address) as a mention; whether that person exists
    is decided on view (tracker/formatting.py), so the cached HTML needs no database."""
    if state.src[state.pos] != "@":
        return False
    match = MENTION.match(state.src, state.pos)  # its look-behind sees the characters before pos
    if not match:
        return False
    if not silent:
        token = state.push("link_open", "a", 1)
        token.attrs = {"href": f"/@{match.group(1).lower()}", "class": "mention"}
        token = state.push("text", "", 0)
        token.content = match.group(0)
        state.push("link_close", "a", -1)
    state.pos = match.end()
    return True


def _image_as_link(self, tokens, idx, options, env) -> str:
    """`![alt](url)` as a link to the image ("Image: alt"), not an <img>: the page's Content-Security-Policy
    loads images from Tracker only (a picture from elsewhere would show broken, and would tell that site who
    read the issue). A file attached to this Tracker is the exception: it shows inline, linked to the file."""
    token = tokens[idx]
    alt = self.renderInlineAsText(token.children or [], options, env).strip() or "image"
    title = token.attrGet("title")
    title_attr = f' title="{escapeHtml(str(title))}"' if title else ""
    src = escapeHtml(str(token.attrGet("src") or ""))
    if _OWN_FILE.match(str(token.attrGet("src") or "")):
        image = f'<img src="{src}" alt="{escapeHtml(alt)}"{title_attr} loading="lazy">'
        return f'<a href="{src}" class="image-link inline-image">{image}</a>'
    return f'<a href="{src}"{title_attr} class="image-link">Image: {escapeHtml(alt)}</a>'


def make_renderer(issue_url: str = "/issues/{}") -> MarkdownIt:
    """A CommonMark renderer with raw HTML disabled, hard line breaks, issue references, images as links."""
    md = MarkdownIt("commonmark", {"html": False, "linkify": True, "typographer": False, "breaks": True})
    md.enable("table").enable("strikethrough").enable("linkify")
    md.use(tasklists_plugin)
    md.inline.ruler.before("link", "issue_reference", _issue_reference(issue_url))
    md.inline.ruler.before("link", "mention", _mention)
    md.add_render_rule("image", _image_as_link)
    return md


_RENDERER = make_renderer()


def render_markdown(source: str) -> str:
    """Render Markdown and sanitize the result: no scripts, handlers, iframes or javascript: links."""
    html = _number_tasks(_RENDERER.render(source or ""))
    return nh3.clean(
        html,
        tags=ALLOWED_TAGS,
        attributes=ALLOWED_ATTRIBUTES,
        tag_attribute_values=TAG_ATTRIBUTE_VALUES,
        url_schemes=URL_SCHEMES,
        link_rel="nofollow noopener noreferrer",
        strip_comments=True,
    )


@lru_cache(maxsize=1024)
def markdown_html(source: str | None) -> Markup:
    """Descriptions and comments as the pages (the `markdown` filter) and the API show them: sanitized HTML,
    rendered on view and cached by source (a page of 100 comments takes about 10 ms to render, 0.02 from here;
    the cache holds several such pages)."""
    return Markup(render_markdown(source or ""))


def _number_tasks(html: str) -> str:
    """Number a task list's boxes in reading order (data-task, the index toggle_task takes) and name them."""
    count = iter(range(1, 1_000_000))

    def box(_match: re.Match) -> str:
        n = next(count)
        return f'<input data-task="{n - 1}" aria-label="Task {n} done" class="task-list-item-checkbox"'

    return _TASK_BOX.sub(box, html)


def task_lines(source: str) -> list[int]:
    """The source line of each task list item (`- [ ]`, `- [x]`), in the order the page numbers their boxes."""
    lines = []
    for token in _RENDERER.parse(source or ""):
        if token.type != "inline" or not token.children or token.map is None:
            continue
        first = token.children[0]
        if first.type == "html_inline" and "task-list-item-checkbox" in first.content:
            lines.append(token.map[0])
    return lines


def toggle_task(source: str, index: int, done: bool) -> str | None:
    """The Markdown with its task number `index` (from 0) ticked or not; None when there is no such task."""
    lines_of_tasks = task_lines(source)
    if not 0 <= index < len(lines_of_tasks):
        return None
    lines = source.split("\n")
    line = lines_of_tasks[index]
    lines[line] = _TASK_MARK.sub("[x]" if done else "[ ]", lines[line], count=1)
    return "\n".join(lines)


def referenced_issues(html: str) -> set[int]:
    """The issue numbers a rendered text links to with `#123`."""
    return {int(match.group(1)) for match in _ISSUE_LINK.finditer(html)}


def unlink_missing(html: str, existing: set[int]) -> Markup:
    """The rendered text with each `#123` link to an issue that does not exist turned back into plain text."""
    return Markup(_ISSUE_LINK.sub(lambda m: m.group(0) if int(m.group(1)) in existing else m.group(2), html))


def existing_issues(session: Session, ids: set[int]) -> set[int]:
    """Which of these issue numbers exist (one query)."""
    if not ids:
        return set()
    return set(session.execute(sa.select(Issue.id).where(Issue.id.in_(sorted(ids)))).scalars())


def mentioned_in(html: str) -> set[str]:
    """The handles a rendered text mentions."""
    return {match.group(1) for match in _MENTION_LINK.finditer(html)}


def link_mentions(html: str, people: dict[str, tuple[int, str]]) -> Markup:
    """Each mention of a known handle kept as a link (/@handle leads to the person's issues) with their name as its
    title; an unknown handle back to plain text."""

    def link(match: re.Match) -> str:
        found = people.get(match.group(1))
        if found is None:
            return match.group(2)
        name = found[1]
        return f'<a href="/@{match.group(1)}" class="mention" title="{escapeHtml(name)}">{match.group(2)}</a>'

    return Markup(_MENTION_LINK.sub(link, html))


def people_by_handle(session: Session, handles: set[str]) -> dict[str, tuple[int, str]]:
    """(id, name) of the people with these handles (one query)."""
    if not handles:
        return {}
    rows = session.execute(sa.select(User.handle, User.id, User.name).where(User.handle.in_(sorted(handles))))
    return {handle: (user_id, name) for handle, user_id, name in rows}
