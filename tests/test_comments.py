"""Comments and the timeline: Markdown, sanitizing, permissions, htmx append, paging, no conflicts."""

from html.parser import HTMLParser

import pytest
import sqlalchemy as sa

from tests.helpers import HX, form_for, hx, text
from tracker import markdown
from tracker.comments import service
from tracker.extensions import db
from tracker.issues import service as issues
from tracker.markdown import render_markdown
from tracker.models import Comment, Issue, IssueEvent

PAYLOADS = [
    "<script>alert('x')</script>",
    "[click](javascript:alert(1))",
    "<img src=x onerror=alert(1)>",
    "<svg onload=alert(1)><circle/></svg>",
    "<iframe src='https://evil.example'></iframe>",
    '<a href="javascript:alert(1)" onclick="alert(2)">x</a>',
    "![x](javascript:alert(1))",
    "<details open ontoggle=alert(1)>",
]


class _ActiveContent(HTMLParser):
    """Collects tags and attributes that could run script."""

    DANGEROUS_TAGS = {"script", "iframe", "svg", "object", "embed", "details", "math", "base", "form"}

    def __init__(self):
        super().__init__()
        self.found: list[str] = []

    def handle_starttag(self, tag, attrs):
        if tag in self.DANGEROUS_TAGS:
            self.found.append(f"<{tag}>")
        for name, value in attrs:
            if name.startswith("on"):
                self.found.append(f"{tag}[{name}]")
            if name in ("href", "src", "action") and (value or "").strip().lower().startswith("javascript:"):
                self.found.append(f"{tag}[{name}=javascript:]")


def active_content(html: str, allowed: set[str] = frozenset()) -> list[str]:
    """Script-capable tags and attributes in the HTML, except the allowed tags (the app's own forms)."""
    parser = _ActiveContent()
    parser.DANGEROUS_TAGS = parser.DANGEROUS_TAGS - allowed
    parser.feed(html)
    return parser.found


@pytest.mark.parametrize("payload", PAYLOADS)
def test_markdown_never_yields_active_content(payload):
    assert active_content(render_markdown(payload)) == []


def test_markdown_features_and_issue_references():
    html = render_markdown("**bold** _em_ `code`\n\n- one\n- two\n\n```\nx < y\n```\n\nSee #12, not a#3.\n\n[site](https://e.com)")
    assert "<strong>bold</strong>" in html and "<em>em</em>" in html and "<code>code</code>" in html
    assert "<li>one</li>" in html and "x &lt; y" in html
    assert '<a href="/issues/12" class="issue-ref" rel="nofollow noopener noreferrer">#12</a>' in html
    assert "a#3" in html and 'href="/issues/3"' not in html
    assert '<a href="https://e.com" rel="nofollow noopener noreferrer">site</a>' in html


def test_markdown_images_are_links_the_page_policy_allows():
    html = render_markdown('Look: ![the <b>crash</b> "screen"](https://example.com/a.png "Crash")')
    assert "<img" not in html
    assert ('<a href="https://example.com/a.png" title="Crash" class="image-link" rel="nofollow noopener noreferrer">'
            "Image: the &lt;b&gt;crash&lt;/b&gt; \"screen\"</a>") in html
    assert "<img" not in render_markdown('<img src="https://example.com/a.png">')


def test_post_comment_without_js_redirects_to_it(client, login_as, make_issue):
    me = login_as("member")
    issue = make_issue()
    before_version = issue.version
    response = client.post(f"/issues/{issue.id}/comments", data={"body": "Looks like **#1** again"})
    comment = db.session.execute(sa.select(Comment)).scalar_one()
    assert response.status_code == 303
    assert response.headers["Location"].endswith(f"/issues/{issue.id}#comment-{comment.id}")
    assert comment.author_id == me.id and comment.body == "Looks like **#1** again"
    db.session.expire_all()
    assert db.session.get(Issue, issue.id).version == before_version, "comments never bump the version"
    page = text(client.get(f"/issues/{issue.id}"))
    assert f'id="comment-{comment.id}"' in page
    assert '<p>Looks like <strong><a href="/issues/1" class="issue-ref"' in page


@pytest.fixture
def renderer_cache():
    """The Markdown cache emptied before and after the test, which may swap the renderer."""
    markdown.markdown_html.cache_clear()
    yield
    markdown.markdown_html.cache_clear()


def test_comments_render_on_view_as_descriptions_do(
    client, login_as, make_issue, token_for, monkeypatch, renderer_cache
):
    """Only a comment's Markdown is stored: the issue page, the delete page and the API render it when shown,
    through the function that renders descriptions, so a change of the renderer reaches stored comments too."""
    me = login_as("member")
    issue = make_issue(description="Seen on *staging*")
    comment = service.add_comment(db.session, me, issue.id, "Seen on *staging*")
    assert "body_html" not in Comment.__table__.columns
    html = render_markdown("Seen on *staging*")
    page = client.get(f"/issues/{issue.id}").get_data(as_text=True)
    assert f'<div class="markdown description-body">{html}</div>' in page
    assert f'<div class="comment-body markdown">{html}</div>' in page

    monkeypatch.setattr(markdown, "render_markdown", lambda source: f"<p>{len(source)} characters, rendered anew</p>")
    markdown.markdown_html.cache_clear()
    anew = "<p>17 characters, rendered anew</p>"
    for url in (f"/issues/{issue.id}", f"/comments/{comment.id}/delete"):
        assert f'<div class="comment-body markdown">{anew}</div>' in client.get(url).get_data(as_text=True), url
    listed = client.get(f"/api/issues/{issue.id}/comments", headers=token_for(me)).get_json()
    assert [c["body_html"] for c in listed] == [anew]


def test_the_issue_page_renders_each_comment_once(client, login_as, make_issue, monkeypatch, renderer_cache):
    """A view renders the description and each comment once; the next view finds them rendered (cached by source)."""
    me = login_as("member")
    issue = make_issue(description="The *description*")
    for n in range(5):
        service.add_comment(db.session, me, issue.id, f"Comment **{n}**")
    rendered: list[str] = []
    real = markdown.render_markdown
    monkeypatch.setattr(markdown, "render_markdown", lambda source: rendered.append(source) or real(source))
    page = client.get(f"/issues/{issue.id}").get_data(as_text=True)
    assert sorted(rendered) == [f"Comment **{n}**" for n in range(5)] + ["The *description*"]
    assert page.count('<div class="comment-body markdown"><p>Comment <strong>') == 5
    rendered.clear()
    client.get(f"/issues/{issue.id}")
    assert rendered == []


def test_htmx_comment_returns_fresh_form_and_appended_entry(client, login_as, make_issue):
    login_as("member")
    issue = make_issue()
    response = client.post(
        f"/issues/{issue.id}/comments", data={"body": "Appended"}, headers=hx("comment-form")
    )
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert html.lstrip().startswith('<section id="comment-form"')
    assert 'name="body"' in html and ">Appended</textarea>" not in html, "form is cleared"
    assert 'hx-swap-oob="beforeend:#timeline-entries"' in html and "<p>Appended</p>" in html


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("", "Write something before posting the comment."),
        ("   \n\t ", "Write something before posting the comment."),
        ("x" * 10_001, "A comment can be at most 10,000 characters (this one has 10,001)."),
    ],
)
def test_invalid_comment_is_422_with_text_kept(client, login_as, make_issue, snapshot, body, message):
    login_as("member")
    issue = make_issue()
    before = snapshot()
    for headers in ({}, hx("comment-form")):
        response = client.post(f"/issues/{issue.id}/comments", data={"body": body}, headers=headers)
        html = text(response)
        assert response.status_code == 422 and message in html
        if body.strip():
            assert body in html
    assert snapshot() == before and db.session.execute(sa.select(sa.func.count(Comment.id))).scalar_one() == 0


def test_viewer_cannot_comment(client, login_as, make_issue):
    issue = make_issue()
    login_as("viewer")
    assert client.post(f"/issues/{issue.id}/comments", data={"body": "hi"}).status_code == 403
    assert "Viewers can read the discussion but not comment." in text(client.get(f"/issues/{issue.id}"))


def test_comment_on_unknown_issue_is_404(client, login_as):
    login_as("member")
    assert client.post("/issues/999/comments", data={"body": "hi"}).status_code == 404


def test_author_edits_with_edited_mark(client, login_as, make_issue):
    me = login_as("member")
    issue = make_issue()
    comment = service.add_comment(db.session, me, issue.id, "first")
    form = client.get(f"/comments/{comment.id}/edit", headers={**HX, "HX-Target": f"comment-{comment.id}"})
    assert form.status_code == 200
    # Its own field id: swapped into the issue page, it sits beside the new-comment form's "body".
    assert f'<label for="comment-{comment.id}-body">' in text(form) and f'id="comment-{comment.id}-body"' in text(form)
    response = client.post(
        f"/comments/{comment.id}/edit", data={"body": "second"}, headers={**HX, "HX-Target": f"comment-{comment.id}"}
    )
    html = text(response)
    assert response.status_code == 200 and html.lstrip().startswith(f'<li id="comment-{comment.id}"')
    assert "<p>second</p>" in html and "edited" in html
    bad = client.post(f"/comments/{comment.id}/edit", data={"body": " "})
    assert bad.status_code == 422 and "Write something" in text(bad)
    assert db.session.get(Comment, comment.id).body == "second"


def test_one_comment_as_the_timeline_shows_it(client, login_as, make_issue):
    """GET /comments/<id>: for htmx the entry (a comment edit's Cancel swaps it back), else its place on the page."""
    me = login_as("member")
    issue = make_issue()
    comment = service.add_comment(db.session, me, issue.id, "Hello **there**")
    entry = client.get(f"/comments/{comment.id}", headers=hx(f"comment-{comment.id}"))
    assert entry.status_code == 200
    html = entry.get_data(as_text=True)
    assert html.lstrip().startswith(f'<li id="comment-{comment.id}"') and "<strong>there</strong>" in html
    assert "<textarea" not in html
    plain = client.get(f"/comments/{comment.id}")
    assert plain.status_code == 302 and plain.headers["Location"].endswith(f"/issues/{issue.id}#comment-{comment.id}")
    assert client.get("/comments/999999").status_code == 404


def test_others_cannot_edit_and_only_author_or_admin_delete(client, login, make_user, make_issue):
    author, other, admin = make_user(), make_user(), make_user("admin")
    issue = make_issue()
    comment = service.add_comment(db.session, author, issue.id, "mine")
    login(other)
    refused = client.get(f"/comments/{comment.id}/edit")
    assert refused.status_code == 403 and "Only the author can edit this comment." in text(refused)
    assert client.post(f"/comments/{comment.id}/edit", data={"body": "hijack"}).status_code == 403
    assert client.post(f"/comments/{comment.id}/delete").status_code == 403
    login(admin)
    assert client.post(f"/comments/{comment.id}/delete").status_code == 303
    db.session.expire_all()
    deleted = db.session.get(Comment, comment.id)
    assert deleted.deleted_at is not None and deleted.body == "" and deleted.deleted_by_id == admin.id
    page = text(client.get(f"/issues/{issue.id}"))
    assert "wrote a comment that was deleted by" in page and "mine" not in page.split('id="issue-timeline"')[1]
    assert client.post(f"/comments/{comment.id}/delete").status_code == 404


def test_deleting_a_comment_without_javascript_asks_first(client, login, make_user, make_issue):
    """The issue page's Delete asks on a page of its own (GET changes nothing); only its POST deletes."""
    author, other = make_user(), make_user()
    issue = make_issue()
    comment = service.add_comment(db.session, author, issue.id, "Worth **keeping**")
    login(author)
    page = text(client.get(f"/issues/{issue.id}"))
    delete_url = f"/comments/{comment.id}/delete"
    form = page[page.index(f'action="{delete_url}"') - 200 : page.index(f'action="{delete_url}"')]
    assert 'method="get"' in form.split("<form")[-1]  # without htmx the button opens the question
    asked = client.get(delete_url)
    html = text(asked)
    assert asked.status_code == 200 and "Delete this comment?" in html and "<strong>keeping</strong>" in html
    assert f'<form method="post" action="{delete_url}"' in html and "Keep it" in html
    db.session.expire_all()
    assert db.session.get(Comment, comment.id).deleted_at is None
    login(other)
    refused = client.get(delete_url)
    assert refused.status_code == 403 and "Only the author or an admin can delete this comment." in text(refused)
    login(author)
    assert client.post(delete_url).status_code == 303
    assert client.get(delete_url).status_code == 404


def test_comment_never_conflicts_with_an_edit(client, login_as, make_issue, make_user):
    login_as("member")
    issue = make_issue(title="Quiet")
    service.add_comment(db.session, make_user(), issue.id, "Chatter while you edit")
    assert client.post(f"/issues/{issue.id}/edit", data=form_for(issue, title="Edited")).status_code == 303


def test_timeline_is_one_stream_in_order(client, login_as, make_issue, make_user):
    me = login_as("member")
    issue = make_issue(title="Story")
    service.add_comment(db.session, me, issue.id, "First comment")
    issues.update_issue(db.session, me, issue.id, 1, {"status": "in_progress"})
    service.add_comment(db.session, me, issue.id, "Second comment")
    page = text(client.get(f"/issues/{issue.id}")).split('id="issue-timeline"')[1]
    order = [page.index(s) for s in ("created this issue", "First comment", "In progress", "Second comment")]
    assert order == sorted(order)


def test_long_timelines_page_with_show_earlier(client, login_as, make_issue):
    me = login_as("member")
    issue = make_issue(title="Busy")
    for n in range(105):
        service.add_comment(db.session, me, issue.id, f"Comment number {n}")
    page = text(client.get(f"/issues/{issue.id}"))
    assert "Comment number 104" in page and "Comment number 5" in page and "Comment number 4<" not in page
    assert "created this issue" not in page and "Show earlier" in page
    first_shown = db.session.execute(
        sa.select(sa.func.min(IssueEvent.id)).where(IssueEvent.issue_id == issue.id, IssueEvent.comment_id.isnot(None))
    ).scalar_one() + 5
    earlier = client.get(
        f"/issues/{issue.id}/timeline?before={first_shown}", headers=hx("timeline-earlier")
    )
    html = text(earlier)
    assert "<html" not in html and "created this issue" in html and "Comment number 4<" in html
    assert "Comment number 5<" not in html and "Show earlier" not in html
    full = text(client.get(f"/issues/{issue.id}/timeline?before={first_shown}"))
    assert "<html" in full and "Back to the newest entries" in full
    assert client.get(f"/issues/{issue.id}/timeline?before=abc").status_code == 400


@pytest.mark.parametrize("payload", PAYLOADS)
def test_payloads_in_every_user_text_are_inert(client, login_as, make_user, make_issue, payload):
    from tracker.labels import service as labels

    me = login_as("admin")
    label = labels.create_label(db.session, me, payload[:50], "red")
    issue = make_issue(title=payload[:200], description=payload, labels=[str(label.id)])
    service.add_comment(db.session, me, issue.id, payload)
    for url in (f"/issues/{issue.id}", "/issues", "/labels", f"/issues/{issue.id}/edit", f"/labels/{label.id}/delete"):
        html = client.get(url).get_data(as_text=True)
        body = html.split("<body", 1)[1]
        # The only scripts are the app's own two, in <head>; its <form>s and <details> are allowed.
        assert active_content("<body" + body, allowed={"form", "details"}) == [], url
