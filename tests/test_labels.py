"""Labels: the /labels page, rules for names and colours, labels on issues, filters, deletion."""

import re
from urllib.parse import parse_qs, unquote_plus, urlsplit

import pytest
import sqlalchemy as sa

from tests.helpers import count_rows, form_for, hx, text
from tracker.errors import InvalidInput
from tracker.extensions import db
from tracker.issues import service as issues
from tracker.labels import service
from tracker.models import Issue, IssueEvent, IssueLabel, Label, SavedView
from tracker.trash import service as trash


def test_create_label_page(client, login_as):
    login_as("member")
    response = client.post("/labels", data={"name": "  Needs   triage ", "color": "orange"})
    assert response.status_code == 303
    label = db.session.execute(sa.select(Label)).scalar_one()
    assert (label.name, label.name_key, label.color) == ("Needs triage", "needs triage", "#d93f0b")
    page = text(client.get("/labels"))
    assert "Needs triage" in page and "#d93f0b" in page
    assert "without ; or | (CSV files separate label names with them)" in page


@pytest.mark.parametrize(
    ("name", "color", "field", "message"),
    [
        ("", "blue", "name", "Label name is required."),
        ("x" * 51, "blue", "name", "Label name is 51 characters long; at most 50 are allowed."),
        ("İ" * 30, "blue", "name", "Label name is 60 characters long in lower case, as names are compared"),
        ("BUG", "blue", "name", "A label named 'bug' already exists."),
        ("ui;backend", "blue", "name", "Label names cannot contain ';': CSV files use ';' and '|' to separate labels."),
        ("ui | backend", "blue", "name", "Label names cannot contain '|'"),
        ("ok", "chartreuse", "color", "Colour 'chartreuse' is not a palette colour"),
        ("ok", "#12345", "color", "is not a palette colour"),
    ],
)
def test_label_rules(client, login_as, make_label, snapshot, name, color, field, message):
    make_label("bug")
    login_as("member")
    before = db.session.execute(sa.select(Label.__table__)).all()
    response = client.post("/labels", data={"name": name, "color": color})
    assert response.status_code == 422 and message in text(response)
    assert db.session.execute(sa.select(Label.__table__)).all() == before


def test_database_refuses_separators_in_label_names(app):
    for name in ("a;b", "a|b"):
        with pytest.raises(sa.exc.IntegrityError):
            db.session.execute(sa.insert(Label).values(name=name, name_key=name, color="#000000"))
        db.session.rollback()
    assert count_rows(Label) == 0


def test_hex_colours_accepted_and_text_contrast(make_label):
    assert make_label("short", "#ABC").color == "#aabbcc"
    assert make_label("long", "1d76db").color == "#1d76db"
    assert service.text_color("#fbca04") == "#000000"
    assert service.text_color("#0052cc") == "#ffffff"


def test_rename_and_recolour_keeps_issues(client, login_as, make_label, make_issue):
    login_as("member")
    label = make_label("bug")
    issue = make_issue(labels=[str(label.id)])
    response = client.post(f"/labels/{label.id}/edit", data={"name": "Defect", "color": "#000000"})
    assert response.status_code == 303
    db.session.expire_all()
    assert db.session.get(Label, label.id).name == "Defect"
    assert "Defect" in text(client.get(f"/issues/{issue.id}"))
    css = client.get("/labels/colors.css")
    assert f".label-chip.label-{label.id}{{background-color:#000000;color:#ffffff;}}" in css.get_data(as_text=True)
    assert client.get("/labels/colors.css", headers={"If-None-Match": css.headers["ETag"]}).status_code == 304


def test_inline_edit_has_its_own_field_ids_and_says_saved(client, login_as, make_label):
    login_as("member")
    label = make_label("bug")
    html = client.get(f"/labels/{label.id}/edit").get_data(as_text=True)
    ids = re.findall(r' id="([^"]+)"', html)
    assert len(ids) == len(set(ids)), "every id on the page is unique"
    assert '<label for="edit-name">' in html and 'id="edit-name"' in html and 'name="name"' in html
    headers = hx("label-table")
    saved = client.post(f"/labels/{label.id}/edit", data={"name": "Defect", "color": "blue"}, headers=headers)
    assert saved.status_code == 200 and "Saved label Defect." in text(saved)
    assert "Saved label" not in text(client.get("/labels")), "nothing left to flash on the next page"


def test_rename_to_existing_name_is_422(client, login_as, make_label):
    login_as("member")
    make_label("bug")
    other = make_label("ui")
    response = client.post(f"/labels/{other.id}/edit", data={"name": "Bug", "color": "blue"})
    assert response.status_code == 422 and "A label named 'bug' already exists." in text(response)


def test_viewer_cannot_change_labels(client, login_as, make_label, snapshot):
    label = make_label("bug")
    login_as("viewer")
    assert client.post("/labels", data={"name": "x", "color": "blue"}).status_code == 403
    assert client.post(f"/labels/{label.id}/edit", data={"name": "x", "color": "blue"}).status_code == 403
    assert client.post(f"/labels/{label.id}/delete").status_code == 403
    assert client.get("/labels").status_code == 200
    assert db.session.get(Label, label.id).name == "bug"


def test_unknown_label_is_404(client, login_as):
    login_as("member")
    assert client.get("/labels/99/edit").status_code == 404
    assert client.post("/labels/99/delete").status_code == 404


def test_labels_set_in_edit_form_are_versioned_and_in_timeline(client, login_as, make_label, make_issue):
    login_as("member")
    bug, ui = make_label("bug"), make_label("ui")
    issue = make_issue(title="Labelled")
    data = {"title": "Labelled", "description": "", "status": "open", "priority": "medium", "assignee_id": "",
            "version": "1", "labels": ["", str(bug.id), str(ui.id)]}
    assert client.post(f"/issues/{issue.id}/edit", data=data).status_code == 303
    issue = issues.get_issue(db.session, issue.id)
    assert [label.name for label in issue.labels] == ["bug", "ui"] and issue.version == 2
    data.update(version="2", labels=["", str(ui.id)])
    assert client.post(f"/issues/{issue.id}/edit", data=data).status_code == 303
    data.update(version="3", labels=[""])
    assert client.post(f"/issues/{issue.id}/edit", data=data).status_code == 303
    issue = issues.get_issue(db.session, issue.id)
    assert issue.labels == [] and issue.version == 4
    page = text(client.get(f"/issues/{issue.id}"))
    assert "+bug" in page and "+ui" in page and "−bug" in page and "−ui" in page


def test_form_without_labels_field_leaves_labels_alone(client, login_as, make_label, make_issue):
    login_as("member")
    bug = make_label("bug")
    issue = make_issue(labels=[str(bug.id)])
    assert client.post(f"/issues/{issue.id}/edit", data=form_for(issue, title="New title")).status_code == 303
    assert [label.name for label in issues.get_issue(db.session, issue.id).labels] == ["bug"]


def test_unknown_label_id_is_422_and_changes_nothing(client, login_as, make_issue, snapshot):
    login_as("member")
    issue = make_issue()
    before = snapshot()
    data = {"title": "x", "description": "", "status": "open", "priority": "medium", "assignee_id": "",
            "version": "1", "labels": ["", "999"]}
    response = client.post(f"/issues/{issue.id}/edit", data=data)
    assert response.status_code == 422 and "Unknown label id 999" in text(response)
    assert snapshot() == before


def test_stale_label_change_gets_conflict_with_sets_merged(client, login_as, make_user, make_label, make_issue):
    login_as("member")
    bug, ui, docs, perf = (make_label(n) for n in ("bug", "ui", "docs", "perf"))
    issue = make_issue(title="Merge me", labels=[str(bug.id), str(ui.id)])
    other = make_user(name="Ada")
    issues.update_issue(db.session, other, issue.id, 1, {"labels": [str(bug.id), str(ui.id), str(docs.id)]})
    # I started from {bug, ui}: I remove ui and add perf
    data = {"title": "Merge me", "description": "", "status": "open", "priority": "medium", "assignee_id": "",
            "version": "1", "labels": ["", str(bug.id), str(perf.id)]}
    response = client.post(f"/issues/{issue.id}/edit", data=data)
    page = response.get_data(as_text=True)
    assert response.status_code == 409
    assert "merged" in page and 'name="conflict"' not in page
    checked = re.findall(r'name="labels" value="(\d+)" checked', page)
    assert sorted(int(i) for i in checked) == sorted([bug.id, docs.id, perf.id])
    data.update(version="2", labels=[""] + checked)
    assert client.post(f"/issues/{issue.id}/edit", data=data).status_code == 303
    assert [label.name for label in issues.get_issue(db.session, issue.id).labels] == ["bug", "docs", "perf"]


def test_list_shows_chips_and_filters_by_all_labels(client, login_as, make_label, make_issue):
    login_as("viewer")
    bug, ui = make_label("bug"), make_label("ui")
    both = make_issue(title="Both", labels=[str(bug.id), str(ui.id)])
    only_bug = make_issue(title="Only bug", labels=[str(bug.id)])
    make_issue(title="None")
    html = text(client.get("/issues?label=bug"))
    assert re.findall(r'<tr id="issue-(\d+)"', html) == [str(only_bug.id), str(both.id)]
    html = text(client.get("/issues?label=BUG&label=ui"))
    assert re.findall(r'<tr id="issue-(\d+)"', html) == [str(both.id)]
    assert f'class="label-chip label-{ui.id}"' in html


def test_unknown_label_filter_is_422(client, login_as):
    """An unknown label is a mistake of the query (issue 20): explained, the rest applied, like a form (422)."""
    login_as("viewer")
    response = client.get("/issues?label=nope")
    assert response.status_code == 422 and "There is no label named 'nope'." in text(response)
    assert "No issues match these filters." in text(response)


def test_deleting_a_label_asks_first_then_records_removal(client, login_as, make_label, make_issue, make_user):
    me = login_as("member")
    bug, ui = make_label("bug"), make_label("ui")
    first = make_issue(title="One", labels=[str(bug.id), str(ui.id)])
    second = make_issue(title="Two", labels=[str(bug.id)])
    untouched = make_issue(title="Three", labels=[str(ui.id)])
    trashed = make_issue(title="In the trash", labels=[str(bug.id)])
    trash.delete_issues(db.session, make_user("admin"), [trashed.id])  # not counted, as the labels page counts
    confirm = text(client.get(f"/labels/{bug.id}/delete"))
    assert "It is on <strong>2 issues</strong>." in " ".join(confirm.split())
    response = client.post(f"/labels/{bug.id}/delete")
    assert response.status_code == 303
    assert "Deleted label bug; removed from 2 issues." in text(client.get("/labels"))
    assert db.session.get(Label, bug.id) is None
    db.session.expire_all()
    assert [db.session.get(Issue, i.id).version for i in (first, second, untouched)] == [2, 2, 1]
    events = db.session.execute(sa.select(IssueEvent).where(IssueEvent.kind == "label_deleted")).scalars().all()
    assert {e.issue_id for e in events} == {first.id, second.id, trashed.id}  # its history stays whole for a restore
    assert all(e.actor_id == me.id and e.version == 2 for e in events)
    page = text(client.get(f"/issues/{first.id}"))
    assert "deleted a label" in page and "−bug" in page
    assert count_rows(IssueLabel) == 2


def test_label_deletion_runs_constant_statements(app, make_user, make_label, make_issue, count_statements):
    member = make_user()
    counts = []
    for size in (2, 40):
        label = make_label(f"label{size}")
        for n in range(size):
            make_issue(title=f"{size}-{n}", labels=[str(label.id)])
        with count_statements() as statements:
            service.delete_label(db.session, member, label.id)
        counts.append(len(statements))
    assert counts[0] == counts[1]


def test_stale_edit_after_label_deletion_is_a_conflict(client, login_as, make_label, make_issue):
    login_as("member")
    bug = make_label("bug")
    issue = make_issue(title="T", labels=[str(bug.id)])
    client.post(f"/labels/{bug.id}/delete")
    data = {"title": "T2", "description": "", "status": "open", "priority": "medium", "assignee_id": "", "version": "1"}
    response = client.post(f"/issues/{issue.id}/edit", data=data)
    assert response.status_code == 409


def test_resolve_ids_rejects_garbage(app):
    with pytest.raises(InvalidInput):
        service.resolve_ids(db.session, ["abc"])


# ---- names whose lower case is longer (İ is two characters in lower case) -----------------------------

LONG_KEY = "İ" * 30  # 30 characters, 60 in lower case: too long for name_key
FITS = "İ" * 25  # 50 in lower case: just fits


def test_name_length_rule_counts_the_lower_case_key():
    assert service.name_key(FITS) == "i̇" * 25 and len(service.name_key(FITS)) == 50
    assert service.name_length_problem(FITS) == ""
    assert service.name_length_problem("x" * 50) == ""
    assert service.name_length_problem("x" * 51) == "is 51 characters long; at most 50 are allowed"
    assert service.name_length_problem(LONG_KEY).startswith("is 60 characters long in lower case")


def test_a_name_that_grows_in_lower_case_is_422_on_create_and_rename(client, login_as, make_label):
    login_as("member")
    label = make_label("bug")
    before = db.session.execute(sa.select(Label.__table__)).all()
    for url in ("/labels", f"/labels/{label.id}/edit"):
        response = client.post(url, data={"name": LONG_KEY, "color": "blue"})
        assert response.status_code == 422
        message = (
            "Label name is 60 characters long in lower case, as names are compared (some letters, like İ, become two)"
        )
        assert message in text(response)
    db.session.rollback()
    assert db.session.execute(sa.select(Label.__table__)).all() == before


def test_a_name_whose_lower_case_just_fits_works_everywhere(client, login_as, make_issue):
    login_as("member")
    assert client.post("/labels", data={"name": FITS, "color": "blue"}).status_code == 303
    label = db.session.execute(sa.select(Label)).scalar_one()
    assert (label.name, label.name_key) == (FITS, service.name_key(FITS))
    assert service.ids_for_names(db.session, [FITS.lower()]) == [label.id]
    again = client.post("/labels", data={"name": FITS.lower(), "color": "red"})
    assert again.status_code == 422 and f"A label named '{FITS}' already exists." in text(again)


def test_api_label_names_too_long_in_lower_case_are_unknown_not_an_error(app):
    with pytest.raises(InvalidInput) as caught:
        service.ids_for_names(db.session, [LONG_KEY])
    assert caught.value.errors == {"labels": f"There is no label named '{LONG_KEY}'."}


def test_a_label_created_meanwhile_makes_the_create_a_422(client, login_as, monkeypatch):
    """Someone takes the name between the check and the insert: a clear 422, not a 500."""
    login_as("member")
    real_clean = service.clean_name

    def clean_then_race(session, raw, exclude_id=None):
        name = real_clean(session, raw, exclude_id)
        session.execute(sa.insert(Label).values(name="Bug", name_key="bug", color="#000000"))
        return name

    monkeypatch.setattr(service, "clean_name", clean_then_race)
    response = client.post("/labels", data={"name": "bug", "color": "blue"})
    assert response.status_code == 422 and "A label named 'bug' already exists." in text(response)
    assert count_rows(Label) == 0



# ---- label names with quotes, backslashes and commas in the search language -----------------------------------

SAY_HI = r'label:"say \"hi\""'  # the label named say "hi", as the search language writes it


@pytest.fixture
def odd_names(client, login_as, make_label, make_issue):
    """A member signed in; the label `say "hi"` made on the labels page and put on an issue by its edit form; and
    labels `say hi` (what the quoted name was read as), `a,b`, `a`, `b` and `c:\\`, each on an issue of its own.
    Returns the issue number of each label's issue."""
    login_as("member")
    assert client.post("/labels", data={"name": ' say "hi" ', "color": "blue"}).status_code == 303
    hi = db.session.execute(sa.select(Label).where(Label.name_key == 'say "hi"')).scalar_one()
    quoted = make_issue("Quoted")
    assert client.post(f"/issues/{quoted.id}/edit", data=form_for(quoted, labels=[str(hi.id)])).status_code == 303
    ids = {'say "hi"': quoted.id}
    for name in ("say hi", "a,b", "a", "b", "c:\\"):
        ids[name] = make_issue(f"Has {name}", labels=[str(make_label(name).id)]).id
    return ids


def listed(client, q: str, **fields) -> list[int]:
    """The issue numbers the list shows for the query `q` (and the filter form's `fields`), by number."""
    response = client.get("/issues", query_string={"q": q, **fields}, follow_redirects=True)
    assert response.status_code == 200, text(response)
    return sorted(int(n) for n in re.findall(r'<tr id="issue-(\d+)"', text(response)))


def test_label_names_with_quotes_commas_or_backslashes_filter_by_the_query_text(client, odd_names):
    ids = odd_names
    assert listed(client, SAY_HI) == [ids['say "hi"']]
    assert listed(client, r'label:"SAY \"HI\"" is:open') == [ids['say "hi"']]  # any case, with other parts
    assert listed(client, 'label:"say hi"') == [ids["say hi"]]
    assert listed(client, 'label:"a,b"') == [ids["a,b"]]
    assert listed(client, "label:a,b") == sorted([ids["a"], ids["b"]])  # two labels, either
    assert listed(client, r'label:"c:\\"') == listed(client, "label:c:\\") == [ids["c:\\"]]
    assert listed(client, f'{SAY_HI},"a,b"') == sorted([ids['say "hi"'], ids["a,b"]])
    assert listed(client, "-" + SAY_HI) == sorted(set(ids.values()) - {ids['say "hi"']})


def test_a_label_chip_links_to_its_label_written_with_escapes(client, odd_names):
    html = text(client.get("/issues"))
    chips = re.findall(r'<a class="label-chip label-\d+" href="/issues\?q=([^"&]+)">([^<]+)</a>', html)
    links = {name: unquote_plus(q) for q, name in chips}
    assert links['say "hi"'] == SAY_HI and links["a,b"] == 'label:"a,b"' and links["say hi"] == 'label:"say hi"'
    assert listed(client, links['say "hi"']) == [odd_names['say "hi"']]


def test_the_filter_form_without_javascript_writes_the_label_with_escapes(client, odd_names):
    """Without JavaScript the form sends the box, the query it was shown for (was) and the ticked labels; the
    server writes the labels into the query, and shows the list under it."""
    ids = odd_names
    response = client.get("/issues", query_string={"q": "is:open", "was": "is:open", "label": 'say "hi"'})
    assert response.status_code == 302
    assert parse_qs(urlsplit(response.location).query) == {"q": [f"is:open {SAY_HI}"]}
    page = client.get(response.location)
    assert f'value="is:open {SAY_HI}"' in text(page)
    assert '<input type="checkbox" name="label" value="say &#34;hi&#34;" checked>' in page.get_data(as_text=True)
    assert listed(client, "is:open", was="is:open", label='say "hi"') == [ids['say "hi"']]
    assert listed(client, "", was="", label="a,b") == [ids["a,b"]]
    assert listed(client, "", was="", label=['say "hi"', "a,b"]) == []  # both labels: no issue has both
    assert listed(client, "", label='say "hi"') == [ids['say "hi"']]  # an older URL's ?label=


def test_the_api_filters_by_a_label_with_quotes_in_its_name(client, token_for, odd_names):
    headers = token_for("viewer")
    for params in ({"q": SAY_HI}, {"q": SAY_HI, "label": 'say "hi"'}, {"label": 'say "hi"'}):
        body = client.get("/api/issues", query_string=params, headers=headers).get_json()
        assert [item["id"] for item in body["items"]] == [odd_names['say "hi"']], params
    body = client.get("/api/issues", query_string={"q": 'label:"a,b"'}, headers=headers).get_json()
    assert [item["id"] for item in body["items"]] == [odd_names["a,b"]]


def test_a_saved_view_of_a_label_with_quotes_in_its_name_keeps_it(client, token_for, odd_names):
    response = client.post("/views", data={"name": "Says hi", "q": f"{SAY_HI}   is:open"})
    assert response.status_code == 303
    view = db.session.execute(sa.select(SavedView).where(SavedView.name == "Says hi")).scalar_one()
    assert view.query == f"{SAY_HI} is:open"  # the canonical text, the quotes in the name escaped
    assert parse_qs(urlsplit(response.location).query) == {"q": [view.query]}
    assert listed(client, view.query) == [odd_names['say "hi"']]
    shown = client.get(f"/views/{view.id}", follow_redirects=True)
    assert sorted(map(int, re.findall(r'<tr id="issue-(\d+)"', text(shown)))) == [odd_names['say "hi"']]
    headers = token_for("member")
    both = r'label:"a,b","say \"hi\""'
    made = client.post("/api/views", json={"name": "Either", "query": both}, headers=headers)
    assert made.status_code == 201 and made.get_json()["query"] == both
    run = client.get(f"/api/views/{made.get_json()['id']}/issues", headers=headers).get_json()
    assert sorted(item["id"] for item in run["items"]) == sorted([odd_names['say "hi"'], odd_names["a,b"]])
