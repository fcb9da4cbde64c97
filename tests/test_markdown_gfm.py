"""GitHub-flavoured Markdown: strike, task lists (and ticking one), bare URLs, missing issues, the Preview."""

import pytest

from tests.helpers import hx, text
from tracker.extensions import db
from tracker.issues import service
from tracker.markdown import render_markdown, task_lines, toggle_task

TASKS = "Plan:\n\n- [ ] write\n- [x] test\n  > - [ ] quoted\n\n```\n- [ ] in code\n```\n"


def test_strike_keeps_its_text_and_shows_struck():
    assert "<s>old</s>" in render_markdown("the ~~old~~ new way")


def test_bare_urls_are_linked_and_safe():
    html = render_markdown("see https://example.com/a?b=1 and www.example.org, not javascript:alert(1)")
    link = '<a href="https://example.com/a?b=1" rel="nofollow noopener noreferrer">https://example.com/a?b=1</a>'
    assert link in html
    assert '<a href="http://www.example.org"' in html
    assert 'href="javascript' not in html


def test_task_lists_are_numbered_boxes_and_code_is_not_a_task():
    html = render_markdown(TASKS)
    assert html.count('type="checkbox"') == 3
    assert '<input data-task="1" aria-label="Task 2 done" class="task-list-item-checkbox" checked="checked"' in html
    assert "- [ ] in code" in html
    assert task_lines(TASKS) == [2, 3, 4]


@pytest.mark.parametrize(
    ("index", "done", "line", "expected"),
    [(0, True, 2, "- [x] write"), (1, False, 3, "- [ ] test"), (2, True, 4, "  > - [x] quoted")],
)
def test_toggle_task_changes_only_that_box(index, done, line, expected):
    toggled = toggle_task(TASKS, index, done)
    lines, before = toggled.split("\n"), TASKS.split("\n")
    assert lines[line] == expected
    assert [x for i, x in enumerate(lines) if i != line] == [x for i, x in enumerate(before) if i != line]


@pytest.mark.parametrize("index", [-1, 3, 99])
def test_toggle_task_out_of_range_is_none(index):
    assert toggle_task(TASKS, index, True) is None


def test_ticking_a_task_is_a_guarded_description_edit(client, login_as, make_issue):
    login_as("member")
    issue = make_issue("Tasks", description=TASKS.strip("\n"))
    response = client.post(f"/issues/{issue.id}/tasks", data={"version": "1", "task": "0", "done": "1"})
    assert response.status_code == 303
    db.session.rollback()
    after = service.get_issue(db.session, issue.id)
    assert after.version == 2 and "- [x] write" in after.description
    page = text(client.get(f"/issues/{issue.id}"))
    assert 'data-tasks-url="/issues/%d/tasks"' % issue.id in page


def test_a_stale_tick_gets_the_merge_with_the_tick_kept(client, login_as, make_issue):
    me = login_as("member")
    issue = make_issue("Tasks", description=TASKS.strip("\n"), priority="low")
    service.update_issue(db.session, me, issue.id, 1, {"priority": "high"})
    response = client.post(
        f"/issues/{issue.id}/tasks", data={"version": "1", "task": "2", "done": "1"}, headers=hx("issue-main")
    )
    assert response.status_code == 409
    html = text(response)
    assert "changed while you were editing" in html and "&gt; - [x] quoted" not in html and "> - [x] quoted" in html
    db.session.rollback()
    assert service.get_issue(db.session, issue.id).description == TASKS.strip("\n")


@pytest.mark.parametrize(("task", "version", "message"), [("7", "1", "no task number 7"), ("0", "x", "not a number")])
def test_a_bad_tick_says_why_and_changes_nothing(client, login_as, make_issue, task, version, message):
    login_as("member")
    issue = make_issue("Tasks", description=TASKS.strip("\n"))
    response = client.post(
        f"/issues/{issue.id}/tasks", data={"version": version, "task": task, "done": "1"}, headers=hx("issue-main")
    )
    assert response.status_code == 422 and message in text(response)
    db.session.rollback()
    assert service.get_issue(db.session, issue.id).version == 1


def test_preview_renders_as_the_page_does(client, login_as, make_issue):
    login_as("member")
    other = make_issue("Other")
    response = client.post("/issues/preview", data={"text": f"**hi** ~~x~~ #{other.id} #999999"})
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert "<strong>hi</strong>" in html and "<s>x</s>" in html and f'href="/issues/{other.id}"' in html
    assert "/issues/999999" not in html and "<html" not in html
    assert "Nothing to preview" in text(client.post("/issues/preview", data={"text": "  "}))
    assert client.post("/issues/preview", data={"text": "x" * 20_001}).status_code == 413
