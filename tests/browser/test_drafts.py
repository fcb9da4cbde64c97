"""Drafts: what someone types into an issue or comment form survives a reload, a mis-click on Cancel and a
session that ended meanwhile, until it is saved or discarded, and never overwrites someone else's save."""

import re

import pytest
import sqlalchemy as sa
from playwright.sync_api import Page, expect

from tests.conftest import PASSWORD
from tracker.comments import service as comments
from tracker.extensions import db
from tracker.issues import service as issue_service
from tracker.models import Comment, Issue

from .conftest import sign_in, stored_issue
from .test_issue_edit import open_inline_editor

pytestmark = pytest.mark.browser

ISSUE_NOTICE = "You have changes to this issue that are not saved yet"
RESTORED = "Restored what you typed on"


def stored_drafts(page: Page) -> list[str]:
    """The drafts this browser keeps, as 'tracker-draft:<user id>:<form>' (each key also names its tab)."""
    keys = page.evaluate("Object.keys(localStorage).filter(k => k.startsWith('tracker-draft:')).sort()")
    return [key.rsplit(":", 1)[0] for key in keys]


def expect_drafts(page: Page, expected: list[str], timeout_ms: int = 5000) -> None:
    """The browser's drafts become `expected` within the timeout: a page's script saves or clears them after the
    URL has changed, so a look taken at once can come too early."""
    waited = 0
    while (drafts := stored_drafts(page)) != expected and waited < timeout_ms:
        page.wait_for_timeout(50)
        waited += 50
    assert drafts == expected


def page_notice(page: Page):
    """The issue page's notice of an unsaved edit."""
    return page.locator("[data-draft-notice]")


def form_notice(page: Page):
    """The notice in a form that a draft was put back into it."""
    return page.locator("form .draft-notice")


def sign_in_again(page: Page, live_server, email: str, back_to: str) -> None:
    """On the sign-in page a save led to (its session had ended), sign in and land back on `back_to`."""
    expect(page).to_have_url(live_server(f"/login?next={back_to}"))
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(live_server(back_to))


def test_an_edit_survives_a_reload_and_is_saved_from_the_issue_page(browsing, live_server, make_user, make_issue):
    """Typed but not saved, then reloaded: the issue page offers the edit, the form gets it back, Save stores it."""
    editor = make_user("member", name="Grace")
    issue = make_issue("Printer on fire", description="Smoke everywhere.", priority="medium")
    page = browsing.page(editor)
    page.goto(live_server(f"/issues/{issue.id}"))
    expect(page_notice(page)).to_be_hidden()
    open_inline_editor(page, issue.id)
    page.get_by_label("Title").fill("Printer on fire, again")
    page.get_by_label("Description").fill("Smoke everywhere.\nFlames now too.")
    page.get_by_label("Priority").select_option(label="Critical")
    expect_drafts(page, [f"tracker-draft:{editor.id}:issue-{issue.id}"])

    page.reload()
    expect(page.locator(".issue-title")).to_have_text("Printer on fire")
    expect(page_notice(page)).to_contain_text(ISSUE_NOTICE)
    page_notice(page).get_by_role("button", name="Continue editing").click()
    expect(page.get_by_label("Title")).to_have_value("Printer on fire, again")
    expect(page.get_by_label("Description")).to_have_value("Smoke everywhere.\nFlames now too.")
    expect(page.get_by_label("Priority")).to_have_value("critical")
    expect(form_notice(page)).to_contain_text(RESTORED)
    expect(form_notice(page)).not_to_contain_text("saved since")

    page.get_by_role("button", name="Save").click()
    expect(page.locator(".issue-title")).to_have_text("Printer on fire, again")
    expect(page.locator("#issue-main")).to_have_attribute("data-version", "2")
    row = stored_issue(issue.id)
    assert (row.title, row.description, row.priority, row.version) == (
        "Printer on fire, again", "Smoke everywhere.\nFlames now too.", "critical", 2,
    )
    expect_drafts(page, [])
    page.reload()
    expect(page_notice(page)).to_be_hidden()


def test_a_save_after_the_session_ended_keeps_the_edit_through_signing_in(browsing, live_server, make_user, make_issue):
    """The session ends while editing (signed out elsewhere): Save leads to sign-in, and the edit is still there."""
    editor = make_user("member", name="Grace")
    issue = make_issue("Printer on fire", description="Smoke everywhere.")
    page = browsing.page(editor)
    page.goto(live_server(f"/issues/{issue.id}"))
    open_inline_editor(page, issue.id)
    page.get_by_label("Description").fill("A long explanation nobody wants to type twice.")
    page.context.clear_cookies()
    browsing.problems.expect_status(401)

    page.get_by_role("button", name="Save").click()
    sign_in_again(page, live_server, editor.email, f"/issues/{issue.id}")
    assert stored_issue(issue.id).version == 1

    page_notice(page).get_by_role("button", name="Continue editing").click()
    expect(page.get_by_label("Description")).to_have_value("A long explanation nobody wants to type twice.")
    page.get_by_role("button", name="Save").click()
    expect(page.locator(".issue-description")).to_have_text("A long explanation nobody wants to type twice.")
    row = stored_issue(issue.id)
    assert (row.description, row.version) == ("A long explanation nobody wants to type twice.", 2)


def grace_types_a_title_while_bob_saves(browsing, live_server, make_user, make_issue, bobs_change: dict):
    """Grace opens the editor and types a title; then Bob saves `bobs_change` (version 2). Her page and the issue."""
    grace = make_user("member", name="Grace")
    bob = make_user("member", name="Bob")
    issue = make_issue("Printer on fire", description="Smoke everywhere.")
    page = browsing.page(grace)
    page.goto(live_server(f"/issues/{issue.id}"))
    open_inline_editor(page, issue.id)
    page.get_by_label("Title").fill("Title from Grace")
    issue_service.update_issue(db.session, bob, issue.id, 1, bobs_change)
    return page, issue


def test_a_draft_older_than_the_issue_brings_the_conflict_view_not_an_overwrite(
    browsing, live_server, make_user, make_issue
):
    """A draft typed against version 1, restored after someone saved version 2, is merged, not saved over it."""
    bobs_change = {"description": "Description from Bob."}
    page, issue = grace_types_a_title_while_bob_saves(browsing, live_server, make_user, make_issue, bobs_change)

    page.reload()
    page_notice(page).get_by_role("button", name="Continue editing").click()
    expect(page.get_by_label("Title")).to_have_value("Title from Grace")
    expect(form_notice(page)).to_contain_text("This issue has been saved since (version 2)")
    with page.expect_response(lambda r: r.request.method == "POST") as saved:
        page.get_by_role("button", name="Save").click()
    assert saved.value.status == 409
    expect(page.get_by_role("heading", name=f"#{issue.id} changed while you were editing")).to_be_visible()
    expect(page.get_by_label("Title")).to_have_value("Title from Grace")
    expect(page.get_by_label("Description")).to_have_value("Description from Bob.")

    page.get_by_role("button", name="Save merged version").click()
    expect(page.locator(".issue-title")).to_have_text("Title from Grace")
    row = stored_issue(issue.id)
    assert (row.title, row.description, row.version) == ("Title from Grace", "Description from Bob.", 3)
    expect_drafts(page, [])


def test_cancel_asks_before_discarding_what_was_typed(browsing, live_server, make_user, make_issue):
    """Cancel with changes asks; declining keeps editing, accepting discards the draft. Unchanged: no question."""
    editor = make_user("member", name="Grace")
    issue = make_issue("Printer on fire")
    page = browsing.page(editor)
    page.goto(live_server(f"/issues/{issue.id}"))
    questions: list[str] = []

    open_inline_editor(page, issue.id)
    page.once("dialog", lambda dialog: (questions.append(dialog.message), dialog.dismiss()))
    page.get_by_label("Title").fill("Half-typed")
    page.get_by_role("link", name="Cancel").click()
    expect(page.get_by_label("Title")).to_have_value("Half-typed")
    assert questions == ["Discard the changes you have not saved?"]

    page.once("dialog", lambda dialog: (questions.append(dialog.message), dialog.accept()))
    page.get_by_role("link", name="Cancel").click()
    expect(page.locator(".issue-title")).to_have_text("Printer on fire")
    assert len(questions) == 2
    expect(page_notice(page)).to_be_hidden()
    expect_drafts(page, [])

    open_inline_editor(page, issue.id)
    expect(form_notice(page)).to_have_count(0)
    page.get_by_role("link", name="Cancel").click()  # nothing typed: no question (an unexpected dialog is dismissed)
    expect(page.locator(".issue-title")).to_have_text("Printer on fire")
    assert len(questions) == 2
    assert stored_issue(issue.id).version == 1


def test_an_unsent_comment_survives_a_reload_and_ends_when_posted(browsing, live_server, make_user, make_issue):
    """A comment typed but not sent is back after a reload; once posted, the form is empty for good."""
    author = make_user("member", name="Grace")
    issue = make_issue("Printer on fire")
    page = browsing.page(author)
    page.goto(live_server(f"/issues/{issue.id}"))
    page.get_by_label("Comment").fill("It jams on page 2.")
    page.reload()
    expect(page.get_by_label("Comment")).to_have_value("It jams on page 2.")
    expect(form_notice(page)).to_contain_text(RESTORED)
    expect(page_notice(page)).to_be_hidden()  # the notice on the page is for the issue's own fields

    page.get_by_role("button", name="Comment", exact=True).click()
    expect(page.locator("#issue-timeline .comment-body")).to_have_text("It jams on page 2.")
    expect(page.get_by_label("Comment")).to_have_value("")
    page.reload()
    expect(page.get_by_label("Comment")).to_have_value("")
    expect_drafts(page, [])
    db.session.rollback()
    assert db.session.execute(sa.select(Comment.body)).scalars().all() == ["It jams on page 2."]


def test_a_new_issue_survives_leaving_the_page_and_ends_when_created(browsing, live_server, make_user):
    """The new-issue form (sent without htmx) keeps its draft until the issue exists."""
    author = make_user("member", name="Grace")
    page = browsing.page(author)
    page.goto(live_server("/issues/new"))
    page.get_by_label("Title").fill("Export times out")
    page.get_by_label("Description").fill("After a minute.")
    page.goto(live_server("/issues"))
    page.goto(live_server("/issues/new"))
    expect(page.get_by_label("Title")).to_have_value("Export times out")
    expect(form_notice(page)).to_contain_text(RESTORED)

    page.get_by_role("button", name="Create issue").click()
    expect(page).to_have_url(re.compile(r"/issues/\d+$"))
    expect_drafts(page, [])
    page.goto(live_server("/issues/new"))
    expect(page.get_by_label("Title")).to_have_value("")
    db.session.rollback()
    assert db.session.execute(sa.select(Issue.title)).scalars().all() == ["Export times out"]


def test_a_new_issue_sent_after_the_session_ended_is_kept_through_signing_in(browsing, live_server, make_user):
    """Create after the session ended: the sign-in page, then the form comes back filled in."""
    author = make_user("member", name="Grace")
    page = browsing.page(author)
    page.goto(live_server("/issues/new"))
    page.get_by_label("Title").fill("Export times out")
    page.context.clear_cookies()
    page.get_by_role("button", name="Create issue").click()
    sign_in_again(page, live_server, author.email, "/issues/new")
    expect(page.get_by_label("Title")).to_have_value("Export times out")
    db.session.rollback()
    assert db.session.execute(sa.select(sa.func.count(Issue.id))).scalar_one() == 0
    page.get_by_role("button", name="Create issue").click()
    expect(page).to_have_url(re.compile(r"/issues/\d+$"))
    expect_drafts(page, [])


def test_drafts_are_each_persons_own_and_signing_out_forgets_them(browsing, live_server, make_user, make_issue):
    """Another person signing in to the same browser never sees a draft, and signing out leaves none behind."""
    grace = make_user("member", name="Grace")
    bob = make_user("member", name="Bob")
    issue = make_issue("Printer on fire")
    page = browsing.page(grace)
    page.goto(live_server(f"/issues/{issue.id}"))
    page.get_by_label("Comment").fill("Grace's half-written thought")
    page.context.clear_cookies()  # her session ends without signing out

    sign_in(page, live_server, bob.email)
    page.goto(live_server(f"/issues/{issue.id}"))
    expect(page.get_by_label("Comment")).to_have_value("")
    page.get_by_role("button", name="Sign out").click()
    expect(page).to_have_url(live_server("/login"))
    expect_drafts(page, [f"tracker-draft:{grace.id}:comment-on-{issue.id}"])  # Bob's sign-out keeps hers

    sign_in(page, live_server, grace.email)
    page.goto(live_server(f"/issues/{issue.id}"))
    expect(page.get_by_label("Comment")).to_have_value("Grace's half-written thought")
    page.get_by_role("button", name="Sign out").click()
    expect(page).to_have_url(live_server("/login"))
    expect_drafts(page, [])


def test_a_draft_from_the_conflict_view_brings_the_conflict_back(browsing, live_server, make_user, make_issue):
    """The conflict view's form is kept against the version its owner started from: restored after a reload,
    saving it shows the conflict again instead of saving over the other person's title."""
    bobs_change = {"title": "Title from Bob"}
    page, issue = grace_types_a_title_while_bob_saves(browsing, live_server, make_user, make_issue, bobs_change)
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_role("heading", name=f"#{issue.id} changed while you were editing")).to_be_visible()

    page.reload()
    page_notice(page).get_by_role("button", name="Continue editing").click()
    expect(page.get_by_label("Title")).to_have_value("Title from Grace")
    with page.expect_response(lambda r: r.request.method == "POST") as saved:
        page.get_by_role("button", name="Save").click()
    assert saved.value.status == 409
    expect(page.locator("#choose-title")).to_be_visible()
    row = stored_issue(issue.id)
    assert (row.title, row.version) == ("Title from Bob", 2)


def test_two_tabs_keep_their_own_drafts(browsing, live_server, make_user, make_issue):
    """Typing in one tab and saving in another loses nothing from the first tab."""
    editor = make_user("member", name="Grace")
    issue = make_issue("Printer on fire", description="Smoke everywhere.")
    first = browsing.page(editor)
    second = first.context.new_page()
    browsing.problems.watch(second)
    for page in (first, second):
        page.goto(live_server(f"/issues/{issue.id}"))
        open_inline_editor(page, issue.id)
    second.get_by_label("Description").fill("A long description typed in the second tab.")
    first.get_by_label("Title").fill("Title from the first tab")
    first.get_by_role("button", name="Save").click()
    expect(first.locator("#issue-main")).to_have_attribute("data-version", "2")

    second.reload()
    page_notice(second).get_by_role("button", name="Continue editing").click()
    expect(second.get_by_label("Description")).to_have_value("A long description typed in the second tab.")
    second.get_by_role("button", name="Save").click()  # typed against version 1: the merge
    expect(second.get_by_role("heading", name=f"#{issue.id} changed while you were editing")).to_be_visible()
    expect(second.get_by_label("Title")).to_have_value("Title from the first tab")
    second.get_by_role("button", name="Save merged version").click()
    expect(second.locator("#issue-main")).to_have_attribute("data-version", "3")
    row = stored_issue(issue.id)
    assert (row.title, row.description) == ("Title from the first tab", "A long description typed in the second tab.")


def test_a_new_issue_whose_sending_failed_is_kept(browsing, live_server, make_user):
    """The connection fails while creating: only the created issue's page ends the draft, so it is still there."""
    author = make_user("member", name="Grace")
    page = browsing.page(author)
    page.goto(live_server("/issues/new"))
    page.get_by_label("Title").fill("Export times out")
    page.route("**/issues/new", lambda route: route.abort() if route.request.method == "POST" else route.continue_())
    page.get_by_role("button", name="Create issue").click()
    page.wait_for_load_state()
    page.unroute("**/issues/new")
    page.goto(live_server("/issues/new"))
    expect(page.get_by_label("Title")).to_have_value("Export times out")
    expect(form_notice(page)).to_contain_text(RESTORED)
    db.session.rollback()
    assert db.session.execute(sa.select(sa.func.count(Issue.id))).scalar_one() == 0


def test_an_unsaved_comment_edit_is_offered_on_the_comment(browsing, live_server, make_user, make_issue):
    """Editing one's comment, then reloading: the comment says so and opens its form with the text back."""
    author = make_user("member", name="Grace")
    issue = make_issue("Printer on fire")
    comment = comments.add_comment(db.session, author, issue.id, "First thought")
    page = browsing.page(author)
    page.goto(live_server(f"/issues/{issue.id}"))
    entry = page.locator(f"#comment-{comment.id}")
    entry.get_by_role("link", name="Edit").click()
    entry.get_by_label("Comment").fill("Second thought, longer")
    expect_drafts(page, [f"tracker-draft:{author.id}:comment-{comment.id}"])
    page.reload()
    expect(entry.locator(".comment-body")).to_have_text("First thought")
    expect(entry.locator("[data-draft-notice]")).to_contain_text(
        "You have an edit of this comment that is not saved yet"
    )
    entry.get_by_role("button", name="Continue editing").click()
    expect(entry.get_by_label("Comment")).to_have_value("Second thought, longer")
    entry.get_by_role("button", name="Save comment").click()
    expect(entry.locator(".comment-body")).to_have_text("Second thought, longer")
    expect(entry.locator("[data-draft-notice]")).to_be_hidden()
    expect_drafts(page, [])


def test_signing_out_from_a_page_without_a_draft_form_forgets_the_drafts(browsing, live_server, make_user):
    """Signing out clears drafts from every page, also from one that does not load drafts.js (the labels page)."""
    grace = make_user("member", name="Grace")
    page = browsing.page(grace)
    page.goto(live_server("/issues/new"))
    page.get_by_label("Title").fill("Export times out")
    expect_drafts(page, [f"tracker-draft:{grace.id}:new-issue"])
    page.goto(live_server("/labels"))
    expect(page.locator('script[src$="/drafts.js"]')).to_have_count(0)
    page.get_by_role("button", name="Sign out").click()
    expect(page).to_have_url(live_server("/login"))
    expect_drafts(page, [])
