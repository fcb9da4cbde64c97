"""The search language's parser and printer: every qualifier, negation, quoting, errors and suggestions."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tracker.search.query import Query, Term, parse, period, to_text


def terms(text: str) -> tuple[Term, ...]:
    """The terms of a query that must parse without errors."""
    query = parse(text)
    assert query.errors == (), query.errors
    return query.terms


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("is:open", Term("is", ("open",))),
        ("is:CLOSED", Term("is", ("closed",))),
        ("status:open,in_progress", Term("status", ("open", "in_progress"))),
        ("priority:high,critical", Term("priority", ("high", "critical"))),
        ("priority:>=high", Term("priority", ("high",), op=">=")),
        ("priority:<medium", Term("priority", ("medium",), op="<")),
        ("priority:<=low", Term("priority", ("low",), op="<=")),
        ("priority:>low", Term("priority", ("low",), op=">")),
        ("assignee:@me", Term("assignee", ("@me",))),
        ("assignee:Grace", Term("assignee", ("grace",))),
        ("assignee:@grace.hopper", Term("assignee", ("grace.hopper",))),
        ("reporter:@me", Term("reporter", ("@me",))),
        ("involves:@me", Term("involves", ("@me",))),
        ("no:assignee", Term("no", ("assignee",))),
        ("no:label", Term("no", ("label",))),
        ("label:bug", Term("label", ("bug",))),
        ('label:"needs triage"', Term("label", ("needs triage",))),
        ('label:bug,"needs triage"', Term("label", ("bug", "needs triage"))),
        ("label:bug,ux", Term("label", ("bug", "ux"))),
        ('label:"say \\"hi\\""', Term("label", ('say "hi"',))),
        ('label:"a\\\\b",c', Term("label", ("a\\b", "c"))),
        ('label:"a,b",c', Term("label", ("a,b", "c"))),
        ("created:>=2026-01-01", Term("created", ("2026-01-01",), op=">=")),
        ("updated:<7d", Term("updated", ("7d",), op="<")),
        ("updated:>2w", Term("updated", ("2w",), op=">")),
        ("resolved:2026-11", Term("resolved", ("2026-11",))),
        ("created:2026-01-01..2026-03-31", Term("created", ("2026-01-01", "2026-03-31"), op="..")),
        ("created:2026-01..2026-03", Term("created", ("2026-01", "2026-03"), op="..")),
        ("sort:updated-desc", Term("sort", ("updated-desc",))),
        ("sort:title-asc", Term("sort", ("title-asc",))),
        ("sort:priority", Term("sort", ("priority-desc",))),
        ("#123", Term("id", ("123",))),
        ("123", Term("id", ("123",))),
        ("crash", Term("text", ("crash",))),
        ('"crash on save"', Term("text", ("crash on save",), phrase=True)),
        ("-label:wontfix", Term("label", ("wontfix",), negated=True)),
        ("-is:closed", Term("is", ("closed",), negated=True)),
        ("-no:assignee", Term("no", ("assignee",), negated=True)),
        ("-crash", Term("text", ("crash",), negated=True)),
        ('-"crash on save"', Term("text", ("crash on save",), negated=True, phrase=True)),
        ("-#12", Term("id", ("12",), negated=True)),
        ("-created:2026-11", Term("created", ("2026-11",), negated=True)),
    ],
)
def test_every_qualifier_is_read(text, expected):
    assert terms(text) == (expected,)


def test_two_label_qualifiers_are_both_kept_and_words_stay_in_order():
    assert terms('is:open label:bug label:ux crash "on save" sort:created-asc') == (
        Term("is", ("open",)),
        Term("label", ("bug",)),
        Term("label", ("ux",)),
        Term("text", ("crash",)),
        Term("text", ("on save",), phrase=True),
        Term("sort", ("created-asc",)),
    )
    assert parse("sort:created-asc").sort == "created"
    assert parse("sort:updated-desc sort:id-asc").sort == "id"
    assert parse("sort:priority-desc").sort == "-priority"
    assert parse("is:open").sort is None


def test_quotes_group_white_space_and_a_quote_left_open_runs_to_the_end():
    assert terms('"crash   on\tsave"') == (Term("text", ("crash on save",), phrase=True),)
    assert terms('label:"needs triage') == (Term("label", ("needs triage",)),)
    assert terms('"is:open"') == (Term("text", ("is:open",), phrase=True),)


def test_inside_quotes_a_backslash_escapes_a_quote_or_a_backslash_and_nothing_else():
    assert terms('label:"say \\"hi\\" there" x') == (Term("label", ('say "hi" there',)), Term("text", ("x",)))
    assert terms('"say \\"hi\\""') == (Term("text", ('say "hi"',), phrase=True),)
    assert terms('label:"a\\\\" b') == (Term("label", ("a\\",)), Term("text", ("b",)))  # \\ then the closing quote
    assert terms('label:"C:\\dir\\n"') == (Term("label", ("C:\\dir\\n",)),)  # any other backslash is itself
    assert terms("label:a\\b,c\\") == (Term("label", ("a\\b", "c\\")),)  # outside quotes too
    assert terms('label:"open \\" end') == (Term("label", ('open " end',)),)  # an escaped quote leaves it open


def test_values_with_quotes_backslashes_and_commas_print_escaped_and_parse_back():
    query = Query((Term("label", ('say "hi"', "a,b", "c\\", 'q\\"')), Term("text", ('the "x" part',), phrase=True)))
    printed = to_text(query)
    assert printed == 'label:"say \\"hi\\"","a,b",c\\,"q\\\\\\"" "the \\"x\\" part"'
    assert parse(printed) == query and parse(printed).errors == ()


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("priorty:high", "Unknown qualifier 'priorty' (did you mean priority?)."),
        ("lable:bug", "Unknown qualifier 'lable' (did you mean label?)."),
        ("asignee:@me", "Unknown qualifier 'asignee' (did you mean assignee?)."),
        ("colour:red", "Unknown qualifier 'colour'; use one of is, status, priority"),
        ("is:opne", "Unknown is 'opne' (did you mean open? use one of open, closed, duplicate)."),
        ("status:done", "Unknown status 'done' (use one of open, in_progress, resolved, closed)."),
        ("priority:hihg", "Unknown priority 'hihg' (did you mean high?"),
        ("priority:>=high,low", "priority:>= takes one priority"),
        ("no:milestone", "Unknown no 'milestone'"),
        ("label:", "label: needs a value"),
        ("assignee:", "assignee: needs a value"),
        ('assignee:"grace hopper"', "'grace hopper' is not a person"),
        ("created:yesterday", "created: takes a date (2026-01-31), a month (2026-11)"),
        ("created:2026-02-30", "created: takes a date"),
        ("created:2026-03-01..2026-01-01", "starts after it ends"),
        ("created:7d..2026-01-01", "a range is between two dates"),
        ("sort:colour", "Unknown sort 'colour'"),
        ("sort:updatd-desc", "did you mean updated-desc?"),
        ("-sort:updated-desc", "sort: cannot be negated"),
        ('""', "Empty quotes"),
        ("!!!", "Nothing to search for in '!!!'"),
        ("___", "Nothing to search for in '___'"),  # an underscore is no letter, as in PostgreSQL's parser
    ],
)
def test_a_mistake_is_explained_and_left_out(text, message):
    query = parse(f"is:open {text} crash")
    assert message in query.errors[0].message
    assert query.terms == (Term("is", ("open",)), Term("text", ("crash",)))
    error = query.errors[0]
    assert f"is:open {text} crash"[error.start:error.end] == text


def test_too_many_parts_are_cut_with_an_error():
    query = parse(" ".join(f"w{i}" for i in range(40)))
    assert len(query.terms) == 30
    assert "at most 30 parts" in query.errors[0].message


@pytest.mark.parametrize(
    "text",
    ['is:open label:"needs triage",bug -label:wontfix assignee:@me "a phrase" word #12 sort:id-asc',
     "priority:>=high created:2026-01..2026-02 updated:<7d -no:label involves:@me reporter:grace",
     '"is:open" "12" "-x" --x'],
)
def test_the_printed_query_is_canonical(text):
    printed = to_text(parse(text))
    assert parse(printed) == parse(text)
    assert to_text(parse(printed)) == printed


def test_printing_quotes_only_what_needs_it():
    assert to_text(parse('label:"bug" label:"needs triage" "crash" 7')) == 'label:bug label:"needs triage" "crash" #7'


def test_a_month_period_ends_on_the_first_of_the_next_month():
    assert [d.isoformat() for d in period("2026-12")] == ["2026-12-01", "2027-01-01"]
    assert [d.isoformat() for d in period("2026-02-28")] == ["2026-02-28", "2026-03-01"]


QUERY_PIECES = st.sampled_from(
    ["is:", "status:", "priority:", ">=", "<", "assignee:", "@me", "label:", "no:", "sort:", "created:", "updated:",
     "resolved:", "involves:", "-", '"', ",", "..", " ", "open", "closed", "high", "bug", "ux", "2026-01", "2026-11-05",
     "7d", "#", "12", "updated-desc", "title-asc", "assignee", "label", "grace", ":", "ä", "\t", "x", "\\", '\\"']
)


@settings(max_examples=400, deadline=None)
@given(st.lists(QUERY_PIECES, max_size=25).map("".join))
def test_printing_a_parsed_query_and_parsing_it_again_gives_the_same_query(text):
    query = parse(text)
    printed = to_text(query)
    again = parse(printed)
    assert again == query
    assert again.errors == ()
    assert to_text(again) == printed


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=120))
def test_any_text_parses_and_prints_back_to_the_same_query(text):
    query = parse(text)
    assert parse(to_text(query)) == query
    assert isinstance(query, Query)
