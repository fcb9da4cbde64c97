"""The search language on the list page and the API, on each database: which issues every qualifier lists."""

from __future__ import annotations

import re
from datetime import datetime
from html import unescape
from urllib.parse import quote, unquote_plus

import pytest
import sqlalchemy as sa

from tests.helpers import hx, text
from tracker.comments import service as comments_service
from tracker.extensions import db
from tracker.issues import service as issue_service
from tracker.models import Issue
from tracker.search.query import QUALIFIERS


def ids_in(html: str) -> list[int]:
    """Issue ids of the list's rows, in order."""
    return [int(n) for n in re.findall(r'<tr id="issue-(\d+)"', html)]


@pytest.fixture
def world(make_user, make_issue, make_label):
    """Grace and Ada, labels bug / ux / needs triage, and six issues with known fields and dates."""
    grace = make_user("member", name="Grace Hopper", email="grace@example.com")
    ada = make_user("member", name="Ada Lovelace", email="ada@example.com")
    bug, ux, triage = make_label("bug"), make_label("ux"), make_label("needs triage")
    one = make_issue("Login crash", reporter=grace, assignee_id=grace.id, priority="critical", labels=[bug.id])
    two = make_issue("Slow search page", reporter=ada, assignee_id=ada.id, priority="high", labels=[bug.id, ux.id],
                     description="The crash on save happens too")
    three = make_issue("Printer on fire", reporter=grace, priority="low", labels=[triage.id])
    four = make_issue("Typo in footer", reporter=ada, priority="medium")
    five = make_issue("Old resolved thing", reporter=ada, assignee_id=grace.id, priority="high")
    issue_service.update_issue(db.session, grace, five.id, five.version, {"status": "resolved"})
    six = make_issue("Closed wontfix", reporter=grace, priority="high")
    issue_service.update_issue(db.session, grace, six.id, six.version, {"status": "closed"})
    comments_service.add_comment(db.session, grace, four.id, "I can look at this")
    dates = {
        one: datetime(2026, 1, 10), two: datetime(2026, 2, 20), three: datetime(2026, 3, 5),
        four: datetime(2026, 11, 3), five: datetime(2026, 11, 30, 23), six: datetime(2026, 12, 1),
    }
    for issue, when in dates.items():
        db.session.execute(sa.update(Issue).where(Issue.id == issue.id).values(created_at=when, updated_at=when))
    db.session.execute(sa.update(Issue).where(Issue.id == five.id).values(resolved_at=datetime(2026, 11, 15)))
    db.session.commit()
    return {"grace": grace, "ada": ada, "ids": [one.id, two.id, three.id, four.id, five.id, six.id]}


def listed(client, q: str) -> list[int]:
    """Issue ids the list shows for the query, sorted by number."""
    response = client.get(f"/issues?q={quote(q)}")
    assert response.status_code == 200, text(response)
    return sorted(ids_in(text(response)))


@pytest.mark.parametrize(
    ("q", "expected"),
    [
        ("is:open", [1, 2, 3, 4]),
        ("is:closed", [5, 6]),
        ("-is:closed", [1, 2, 3, 4]),
        ("status:resolved,closed", [5, 6]),
        ("priority:high,critical", [1, 2, 5, 6]),
        ("priority:>=high", [1, 2, 5, 6]),
        ("priority:>high", [1]),
        ("priority:<medium", [3]),
        ("priority:<=medium", [3, 4]),
        ("assignee:@me", [1, 5]),
        ("assignee:ada", [2]),
        ("assignee:@GRACE", [1, 5]),  # a handle, without case, with its @
        ("-assignee:grace", [2, 3, 4, 6]),
        ("no:assignee", [3, 4, 6]),
        ("-no:assignee", [1, 2, 5]),
        ("reporter:@me", [1, 3, 6]),
        ("involves:@me", [1, 3, 4, 5, 6]),
        ("label:bug", [1, 2]),
        ('label:"needs triage"', [3]),
        ("label:bug,ux", [1, 2]),
        ("label:bug label:ux", [2]),
        ("-label:bug", [3, 4, 5, 6]),
        ("no:label", [4, 5, 6]),
        ("-no:label", [1, 2, 3]),
        ("created:>=2026-03-01", [3, 4, 5, 6]),
        ("created:<2026-02-20", [1]),
        ("created:<=2026-02-20", [1, 2]),
        ("created:>2026-11-03", [5, 6]),
        ("created:2026-11", [4, 5]),
        ("created:2026-01-01..2026-02-28", [1, 2]),
        ("created:2026-02..2026-03", [2, 3]),
        ("updated:2026-12-01", [6]),
        ("resolved:2026-11", [5]),
        ("-resolved:2026-11", [1, 2, 3, 4, 6]),
        ("crash", [1, 2]),
        ("CRAS", [1, 2]),  # words are prefixes, on both databases
        ("rash", []),  # not a piece of a word ("Crash")
        ("ooter", []),
        ('"crash on save"', [2]),
        ('"crash on sa"', [2]),
        ('"rash on save"', []),
        ("-crash", [3, 4, 5, 6]),
        ("#3", [3]),
        ("3", [3]),
        ("-#3 is:open", [1, 2, 4]),
        ("is:open label:bug sort:updated-desc", [1, 2]),
        ("no:assignee priority:>=high", [6]),
    ],
)
def test_each_qualifier_lists_exactly_its_issues(client, login, world, q, expected):
    login(world["grace"])
    assert listed(client, q) == [world["ids"][n - 1] for n in expected]


@pytest.fixture
def dotted(make_issue):
    """Issues whose words hold dots, @, slashes and apostrophes (PostgreSQL's parser keeps the first three whole)."""
    titles = ["Site example.com is down", "Upgrade to v1.2.3 fails", "Mail from user@example.com bounces",
              "Crash in /usr/lib/x loader", "It's broken again", "A foo-bar widget",
              "Rename the snake_case_name field"]
    return [make_issue(title).id for title in titles]


@pytest.mark.parametrize(
    ("q", "expected"),
    [
        ("v1.2", [2]),
        ("v1.2.3", [2]),
        ("V1.2.3 upgrade", [2]),
        ("v1.3", []),
        ("user@example.com", [3]),
        ("user@example.com bounces", [3]),
        ("/usr/lib/x", [4]),
        ("/usr/lib", [4]),
        ("it's", [5]),
        ("foo-bar", [6]),
        ("foo-b", [6]),
        ('"example.com is down"', [1]),
        ('"to v1.2"', [2]),
        ("-v1.2 -/usr/lib -foo-bar -user@example.com -example.com", [5, 7]),
        ("case", [7]),  # an underscore parts words, on both databases
        ("snake_case", [7]),
        ("snake_name", []),
    ],
)
def test_hosts_versions_addresses_and_paths_are_found_as_typed(client, login_as, dotted, q, expected):
    """A typed host, version, address or path finds its issue on both databases (PostgreSQL keeps each as one word
    in its documents, which the letters-and-digits parts alone never matched)."""
    login_as("member")
    assert listed(client, q) == [dotted[n - 1] for n in expected]
    assert dotted[0] in listed(client, "example.com")


@pytest.mark.parametrize(
    "q", ["a\\b'c", "it''s", "'v1.2'", "x\\", "o'neil.com:*", "a|b&c!d", "(v1.2)", r'"say \"hi\""', r'"x\\" y']
)
def test_quotes_backslashes_and_operators_in_search_words_are_only_words(client, login_as, dotted, q):
    """What to_tsquery reads as syntax is escaped: such words are searched, never a 500."""
    login_as("member")
    response = client.get(f"/issues?q={quote(q)}")
    assert response.status_code == 200, text(response)


def test_a_phrase_with_escaped_quotes_finds_its_words_in_order(client, login_as, make_issue):
    """Inside quotes \\" is a quote: the phrase is say "hi", whose words are found one after the other."""
    login_as("member")
    said = make_issue('Say "hi" to the team').id
    apart = make_issue("Say it, hi").id
    assert listed(client, r'"say \"hi\""') == [said]
    assert listed(client, r'-"say \"hi\""') == [apart]


def test_relative_dates_count_back_from_now(client, login, world):
    login(world["grace"])
    recent = world["ids"][0]
    db.session.execute(sa.update(Issue).where(Issue.id == recent).values(updated_at=datetime.now()))
    db.session.commit()
    db.session.execute(sa.update(Issue).where(Issue.id != recent).values(updated_at=datetime(2026, 1, 1)))
    db.session.commit()
    assert listed(client, "updated:<7d") == listed(client, "updated:7d") == [recent]
    assert listed(client, "updated:>7d") == [i for i in world["ids"] if i != recent]


def test_sort_orders_the_list(client, login, world):
    login(world["grace"])
    html = text(client.get("/issues?q=" + quote("sort:title-asc")))
    titles = re.findall(r'<td class="title-cell"><a href="/issues/\d+">([^<]+)</a>', html)
    assert titles == sorted(titles)
    assert ids_in(text(client.get("/issues?q=" + quote("sort:created-asc")))) == world["ids"]
    assert ids_in(text(client.get("/issues?q=" + quote("sort:priority-desc is:open"))))[0] == world["ids"][0]


def test_a_mistake_is_shown_marked_and_the_rest_applies(client, login, world):
    login(world["grace"])
    response = client.get("/issues?q=" + quote("priorty:high is:closed"))
    assert response.status_code == 422
    html = text(response)
    assert "Unknown qualifier 'priorty' (did you mean priority?)." in html
    assert '<mark>priorty:high</mark>' in html and 'role="alert"' in html
    assert sorted(ids_in(html)) == world["ids"][4:]
    emoji = client.get("/issues?q=%F0%9F%90%9B+%25")
    assert emoji.status_code == 422 and "Nothing to search for in '🐛': search words need letters" in text(emoji)
    fragment = client.get("/issues?q=" + quote("label:nope is:closed"), headers=hx("issue-results"))
    assert fragment.status_code == 422 and "There is no label named 'nope'." in text(fragment)


def test_older_urls_keep_working_and_their_links_carry_the_query(client, login, world):
    login(world["grace"])
    ada = world["ada"]
    html = text(client.get(f"/issues?status=open&assignee={ada.id}"))
    assert ids_in(html) == [world["ids"][1]]
    assert 'value="status:open assignee:ada"' in html
    assert ids_in(text(client.get("/issues?assignee=none&priority=high"))) == [world["ids"][5]]
    assert sorted(ids_in(text(client.get("/issues?label=bug&label=ux")))) == [world["ids"][1]]


def test_the_form_sent_without_javascript_writes_changed_fields_into_the_query(client, login, world):
    login(world["grace"])
    # The box says is:open; the person picked "High" in the priority field: both apply.
    response = client.get("/issues?q=is%3Aopen+crash&was=is%3Aopen+crash&status=open&status=in_progress"
                          "&priority=high&assignee=&sort=-updated")
    assert response.status_code == 302
    assert response.headers["Location"] == "/issues?q=is:open+crash+priority:high"
    # The person typed status:closed over is:open and left the fields as shown: the box wins.
    response = client.get("/issues?q=is%3Aclosed&was=is%3Aopen&status=open&status=in_progress&assignee=&sort=-updated")
    assert response.headers["Location"] == "/issues?q=is:closed"
    # Unassigned chosen in the field replaces the assignee the box named.
    response = client.get("/issues?q=assignee%3Aada&was=assignee%3Aada&assignee=none&sort=-updated")
    assert response.headers["Location"] == "/issues?q=no:assignee"


def test_the_api_takes_the_same_language(client, world, token_for):
    headers = token_for(world["grace"])
    body = client.get("/api/issues?q=" + quote("is:open assignee:@me"), headers=headers).get_json()
    assert [i["id"] for i in body["items"]] == [world["ids"][0]]
    response = client.get("/api/issues?q=" + quote("priorty:high"), headers=headers)
    assert response.status_code == 400
    assert response.get_json()["message"] == "Unknown qualifier 'priorty' (did you mean priority?)."


def test_export_of_a_query_exports_exactly_its_issues(client, login, world):
    login(world["grace"])
    csv = client.get("/issues/export.csv?q=" + quote("label:bug")).get_data(as_text=True)
    assert len(csv.strip().splitlines()) == 3 and "Login crash" in csv and "Slow search page" in csv


def test_htmx_answers_carry_the_query_shown_and_the_fields_a_typed_qualifier_changed(client, login, world):
    login(world["grace"])
    # A field chosen (the script wrote its qualifier into the box): the fields are in step, only `was` is sent anew.
    chosen = text(client.get("/issues?q=priority%3Ahigh&was=&priority=high&status=&assignee=&sort=-updated",
                             headers=hx("issue-results")))
    assert '<input type="hidden" id="filter-was" name="was" value="priority:high" hx-swap-oob="true">' in chosen
    assert 'id="filter-fields"' not in chosen
    # A qualifier typed in the box: the fields come out of band, showing it.
    typed = text(client.get("/issues?q=is%3Aclosed+priority%3Ahigh&was=priority%3Ahigh&priority=high&status="
                            "&assignee=&sort=-updated", headers=hx("issue-results")))
    assert '<div id="filter-fields" class="filter-fields" hx-swap-oob="true">' in typed
    assert '<option value="resolved" selected>' in typed and '<option value="closed" selected>' in typed
    assert sorted(ids_in(typed)) == world["ids"][4:]


def test_a_report_and_its_links_cover_exactly_the_query_or_the_view(client, login, world, token_for):
    from tracker.issues import saved

    grace = login(world["grace"])
    top = client.get("/api/reports/top-assignees?q=" + quote("label:bug"), headers=token_for(grace)).get_json()
    total = next(r for r in top["rows"] if r["kind"] == "total")
    assert total["total"] == 2  # the two bugs, not six issues
    view = saved.create_view(db.session, grace, "Bugs", "label:bug")
    html = text(client.get(f"/reports?view={view.id}"))
    assert "view <strong>Bugs</strong>" in html
    # Every count links to the issue list under the view's query, narrowed by the figure's own filter.
    links = re.findall(r'href="(/issues\?[^"]+)"', html.split('id="report"', 1)[1])
    assert links and all("q=label:bug" in link for link in links)
    some = next(link for link in links if "status=" in link)
    shown = ids_in(text(client.get(some.replace("&amp;", "&"))))
    assert set(shown) <= {world["ids"][0], world["ids"][1]}
    printable = text(client.get(f"/reports/print?q={quote('label:bug')}"))
    assert "<dt>Query</dt><dd><code>label:bug</code></dd>" in printable
    assert client.get("/reports?view=999999").status_code == 404
    assert client.get("/reports?q=" + quote("lable:bug")).status_code == 400


def test_export_of_a_view_exports_exactly_its_issues(client, login, world, make_user):
    from tracker.issues import saved

    grace = login(world["grace"])
    view = saved.create_view(db.session, grace, "Mine", "assignee:@me")
    csv = client.get(f"/issues/export.csv?view={view.id}").get_data(as_text=True)
    assert len(csv.strip().splitlines()) == 3 and "Login crash" in csv and "Old resolved thing" in csv
    other = saved.create_view(db.session, world["ada"], "Ada's own", "is:open")
    assert client.get(f"/issues/export.csv?view={other.id}").status_code == 404


def test_the_page_counts_up_to_its_cap_and_pages_on_past_it(client, login, world, token_for, monkeypatch):
    """The list page stops counting at PAGE_COUNT_CAP ("3+ issues" here) and still pages to the end; the API
    counts further (its own cap), and a label among other filters past the page's cap lists the same issues in
    the same order whichever way the page is found."""
    from tracker.issues import queries

    login(world["grace"])
    monkeypatch.setattr(queries, "PAGE_COUNT_CAP", 3)
    monkeypatch.setitem(client.application.config, "ISSUES_PER_PAGE", 2)
    everything = [i for i in reversed(world["ids"])]  # newest update first (the world's dates)
    first = text(client.get("/issues?q=" + quote("sort:id-desc")))
    assert "Showing 1–2 of 3+ issues" in first
    assert 'rel="next"' in first
    assert ids_in(first) == everything[:2]
    last = text(client.get("/issues?q=" + quote("sort:id-desc") + "&page=3"))
    assert ids_in(last) == everything[4:]
    assert 'rel="next"' not in last
    body = client.get("/api/issues?q=" + quote("sort:id-desc"), headers=token_for(world["grace"])).get_json()
    assert body["total"] == 6 and body["total_capped"] is False

    # label:bug among other filters: more matches than the page counts, few enough candidates to sort from them
    monkeypatch.setattr(queries, "PAGE_COUNT_CAP", 1)
    capped = text(client.get("/issues?q=" + quote("label:bug priority:>=high sort:id-asc")))
    assert "of 1+ issues" in capped
    assert ids_in(capped) == world["ids"][:2]
    monkeypatch.setattr(queries, "COUNT_CAP", 1)  # now too many candidates: the page walks the sort order instead
    walked = text(client.get("/issues?q=" + quote("label:bug priority:>=high sort:id-asc")))
    assert ids_in(walked) == world["ids"][:2]


def _help_examples(html: str) -> list[str]:
    """The queries the help page's examples link to, in order."""
    return [unquote_plus(q) for q in re.findall(r'<a href="/issues\?q=([^"]+)"><code>', html)]


def test_the_search_help_lists_every_qualifier_and_each_example_lists_issues(client, login, world):
    login(world["grace"])
    page = client.get("/issues/search-help")
    assert page.status_code == 200
    html = text(page)
    cells = [unescape(cell) for cell in re.findall(r"<code>([^<]+)</code>", page.get_data(as_text=True))]
    for name in QUALIFIERS:
        assert any(cell.lstrip("-").startswith(f"{name}:") for cell in cells), name
    assert "handle is <code>@grace</code>" in html
    examples = _help_examples(html)
    # The label examples use the tracker's own labels (by name), so they list issues instead of an error.
    assert {"label:bug", "label:bug,\"needs triage\"", 'label:bug label:"needs triage"'} <= set(examples)
    for q in examples:
        response = client.get("/issues?q=" + quote(q))
        assert response.status_code == 200, (q, text(response))
        assert 'id="query-errors"' not in text(response), q
    assert listed(client, "label:bug label:\"needs triage\"") == []


def test_the_search_help_without_labels_says_so(client, login_as):
    login_as("member")
    html = text(client.get("/issues/search-help"))
    assert "No labels yet" in html
    assert not any(q.startswith("label:") for q in _help_examples(html))


def test_the_search_help_needs_a_signed_in_person(client, world):
    response = client.get("/issues/search-help")
    assert response.status_code in (302, 303)
    assert "/login" in response.headers["Location"]


def test_the_list_links_to_the_search_help_and_a_mistake_does_too(client, login, world):
    login(world["grace"])
    html = text(client.get("/issues"))
    assert 'href="/issues/search-help">Search syntax</a>' in html
    assert "README" not in html
    wrong = text(client.get("/issues?q=" + quote("priorty:high")))
    assert wrong.count('href="/issues/search-help">Search syntax</a>') == 2


def test_the_reports_and_views_pages_link_to_the_search_help(client, login, world):
    login(world["grace"])
    for path in ("/reports", "/views"):
        assert 'href="/issues/search-help"' in text(client.get(path)), path


def test_involves_lists_the_issues_a_person_was_mentioned_in(client, login, make_issue, world):
    grace, ada = world["grace"], world["ada"]
    one, two, three, four, five, six = world["ids"]
    comments_service.add_comment(db.session, ada, two, "@grace could you look at this one?")
    cc = make_issue("Printer jams", reporter=ada, description="cc @grace")
    quiet = make_issue("Nobody named", reporter=ada, description="grace without the at sign")
    login(grace)
    assert listed(client, "involves:@me") == sorted([one, two, three, four, five, six, cc.id])
    assert listed(client, "involves:grace") == listed(client, "involves:@me")
    assert quiet.id in listed(client, "-involves:@me")
    assert two not in listed(client, "-involves:grace")
    login(ada)
    assert listed(client, "involves:grace") == sorted([one, two, three, four, five, six, cc.id])
