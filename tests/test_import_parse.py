"""The CSV parser and row checks, without Flask or a database: each file quirk, each rule, and properties."""

import codecs
from datetime import datetime

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.helpers import EXPORT_HEADER
from tracker.imports import parse
from tracker.imports.export import csv_text, export_cells
from tracker.imports.parse import FileProblem
from tracker.imports.validate import Directory, Person, RowChecker
from tracker.labels.service import name_length_problem
from tracker.models import PRIORITIES, STATUSES

NOW = datetime(2026, 6, 1, 12, 0, 0)
ADA = Person(1, "Ada Lovelace", "ada@example.com", True)
GRACE = Person(2, "Grace", "grace@example.com", True)
GRACE_TOO = Person(3, "Grace", "grace2@example.com", True)
OLD = Person(4, "Old Timer", "old@example.com", False)
VERA = Person(5, "Vera Viewer", "vera@example.com", True, "viewer")
DIRECTORY = Directory.build([ADA, GRACE, GRACE_TOO, OLD, VERA], [(10, "bug"), (11, "UI")])


def chunks(data: bytes, size: int = 7):
    """The bytes in small pieces, so every rule is tested across chunk boundaries."""
    return [data[i : i + size] for i in range(0, len(data), size)]


def read(data: bytes):
    """Detect the encoding, open the table and read every record."""
    encoding = parse.detect_encoding(chunks(data))
    table = parse.read_table(chunks(data), encoding)
    return table, list(table.records)


def check(content: str, directory: Directory = DIRECTORY):
    """Check every row of a UTF-8 file with its default mapping."""
    table, records = read(content.encode("utf-8"))
    mapping = parse.default_mapping(table.header)
    checker = RowChecker(table.header, mapping, directory, NOW)
    return [checker.check(line, cells) for line, cells in records]


# ---- encodings -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "encoding", "label"),
    [
        ("title\nCafé\n".encode("utf-8"), "utf-8", "UTF-8"),
        (codecs.BOM_UTF8 + "title\nCafé\n".encode("utf-8"), "utf-8-sig", "UTF-8 (with byte order mark)"),
        ("title\nCafé\n".encode("utf-16"), "utf-16", "UTF-16 (with byte order mark)"),
        (codecs.BOM_UTF16_BE + "title\nCafé\n".encode("utf-16-be"), "utf-16", "UTF-16 (with byte order mark)"),
        ("title\nCafé\n".encode("utf-16-le"), "utf-16-le", "UTF-16 (little-endian, without byte order mark)"),
        ("title\nCafé\n".encode("utf-16-be"), "utf-16-be", "UTF-16 (big-endian, without byte order mark)"),
        ("title\nCafé – “quoted”\n".encode("cp1252"), "cp1252", "Windows-1252"),
    ],
)
def test_encodings_are_detected(data, encoding, label):
    table, records = read(data)
    assert table.encoding == encoding and table.encoding_label == label
    assert table.header == ["title"]
    assert records[0][1][0].startswith("Café")


def test_a_utf8_file_with_some_windows_1252_lines_reads_both_right():
    """Two exports pasted together: the UTF-8 lines and the Windows-1252 line each read as written."""
    data = (
        "title,description\nCafé crème,Grüße aus Köln\n".encode("utf-8")
        + "Déjà vu,“quoted” – 5 €\n".encode("cp1252")
        + "Smörgåsbord,naïve\n".encode("utf-8")
    )
    table, records = read(data)
    assert (table.encoding, table.encoding_label) == ("utf-8+cp1252", "UTF-8, with some Windows-1252 characters")
    assert [cells for _, cells in records] == [
        ["Café crème", "Grüße aus Köln"],
        ["Déjà vu", "“quoted” – 5 €"],
        ["Smörgåsbord", "naïve"],
    ]


def test_windows_1252_text_that_happens_to_hold_a_utf8_sequence_stays_windows_1252():
    """'ß' then '–' (DF 96) is valid UTF-8 by chance; a file of Windows-1252 accents is still read as such."""
    text = "title\nStraße–Ecke\nÉté à Zürich\nCrème brûlée\nNaïve façade\n"
    table, records = read(text.encode("cp1252"))
    assert table.encoding == "cp1252"
    assert [cells[0] for _, cells in records] == ["Straße–Ecke", "Été à Zürich", "Crème brûlée", "Naïve façade"]


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "The file is empty."),
        (b" \r\n\n", "The file is empty."),
        (codecs.BOM_UTF8, "The file is empty."),
        (b"PK\x03\x04\x14\x00", "This is a zip file, perhaps an Excel workbook (.xlsx)."),
        (b"\xd0\xcf\x11\xe0\xa1\xb1", "This is an Excel or Office file (.xls), not CSV."),
        (b"%PDF-1.7\n", "This is a PDF file, not CSV."),
        (b"title\nA\x00B\n", "it contains binary data"),
        (bytes(range(1, 9)) * 100, "it contains binary data"),
        (codecs.BOM_UTF8 + b"title\n\xff\xfe\xfa\n", "starts with a UTF-8 byte order mark but is not valid UTF-8"),
        (codecs.BOM_UTF16_LE + b"t\x00i\x00t", "cut off in the middle of a UTF-16 character"),
        (b"t\x00i\x00t", "cut off in the middle of a UTF-16 character"),
        (b"t\x00i\x00\x00\xd8A\x00", "looks like UTF-16 (every other byte is zero) but is not valid UTF-16"),
        (b"t\x00i\x00\x00\x00", "it contains binary data"),
    ],
)
def test_unreadable_files_have_one_clear_message(data, message):
    with pytest.raises(FileProblem) as caught:
        read(data)
    assert message in caught.value.message


# ---- the table -------------------------------------------------------------------------------------


@pytest.mark.parametrize("delimiter", [",", ";", "\t"])
def test_delimiters_are_detected(delimiter):
    content = (
        delimiter.join(["Title", "Description", "priority"]) + "\n" + delimiter.join(["A", "x, y; z", "high"]) + "\n"
    )
    if delimiter != "\t":
        content = content.replace("x, y; z", '"x, y; z"')
    table, records = read(content.encode())
    assert table.delimiter == delimiter
    assert records == [(2, ["A", "x, y; z", "high"])]


def test_a_file_of_one_column_takes_each_line_whole():
    """A header naming one column separates nothing: a comma or semicolon in a title is part of it."""
    table, records = read(b'Title\nFix login, again\nOne; two\n"Quoted, ""as Excel does"""\n')
    assert (table.header, table.delimiter_label) == (["Title"], "")
    assert records == [(2, ["Fix login, again"]), (3, ["One; two"]), (4, ['Quoted, "as Excel does"'])]


def test_excel_sep_line_names_the_delimiter():
    table, records = read(b"sep=;\ntitle;labels\nA;b,c\n")
    assert (table.delimiter, table.header, table.header_line) == (";", ["title", "labels"], 2)
    assert records == [(3, ["A", "b,c"])]


def test_quoted_fields_with_newlines_quotes_and_delimiters_keep_line_numbers():
    content = b'title,description\r\n\r\n"One, two","He said ""hi""\r\nsecond line"\r\nThree,x\r\n\r\n  \r\nFour,y\n'
    table, records = read(content)
    assert records == [
        (3, ["One, two", 'He said "hi"\r\nsecond line']),
        (5, ["Three", "x"]),
        (8, ["Four", "y"]),
    ]


@pytest.mark.parametrize(
    ("content", "line"),
    [
        (b'title,description\nfoo,"never closed\nbar,baz\n', 2),
        (b'title,description\nA,x\r\nfoo,"never closed', 3),
        (b'title,description\nA,"ok"\n\nB,"closed ""inside"" only\n', 4),
        (b'title\nA\n"', 3),
        (b'title,"description\nA,x\n', 1),
        ('title;description\nA;"x\n'.encode("utf-16"), 2),
        (b'sep=;\ntitle;description\nA;"x\n', 3),
    ],
)
def test_a_quote_never_closed_is_a_file_problem_not_a_swallowed_file(content, line):
    with pytest.raises(FileProblem) as caught:
        read(content)
    assert caught.value.message == f"line {line}: a quoted value is never closed (the file ends inside it)."


@pytest.mark.parametrize(
    ("content", "records"),
    [
        (b"title,description\nA,x", [(2, ["A", "x"])]),
        (b'title,description\nA,"x"', [(2, ["A", "x"])]),
        (b'title,description\nA,"x\ny"\r\n\r\n\r\n', [(2, ["A", "x\ny"])]),
        (b'title,description\nA,""\n', [(2, ["A", ""])]),
        (b'title,description\nA,x"y\n', [(2, ["A", 'x"y'])]),
    ],
)
def test_files_that_end_cleanly_keep_every_record(content, records):
    assert read(content)[1] == records


def test_a_value_over_the_limit_names_both_possible_causes():
    content = b"title,description\n" + b"A,x\n" * 3 + b'B,"' + b"x" * 140_000 + b'"\nC,y\n'
    with pytest.raises(FileProblem) as caught:
        read(content)
    assert caught.value.message == "line 5: a value is longer than 131,072 characters (or a quote is never closed)."


def test_leading_blank_lines_and_header_spaces():
    table, records = read(b"\n\n  Title , Assignee Email ,,\nA,a@example.com\n")
    assert table.header == ["Title", "Assignee Email"] and table.header_line == 3
    assert parse.default_mapping(table.header).columns == ["title", "assignee_email"]
    assert records == [(4, ["A", "a@example.com"])]


def test_duplicate_headers_are_rejected():
    with pytest.raises(FileProblem) as caught:
        parse.default_mapping(["title", "Priority", " priority"])
    assert caught.value.message.startswith("The header has the column ' priority' twice (columns 2 and 3)")


def test_jira_repeats_labels_and_other_columns():
    header = ["Summary", "Issue key", "Status", "Labels", "Labels", "Watchers", "Watchers", "Created"]
    mapping = parse.default_mapping(header)
    assert mapping.format == "jira"
    assert mapping.columns == ["title", "key", "status", "labels", "labels", "", "", "created_at"]
    assert parse.ignored_columns(header, mapping) == ["Watchers", "Watchers"]


def test_the_other_trackers_key_is_kept_in_a_field_of_its_own():
    header = ["Summary", "Issue key", "Description"]
    checker = RowChecker(header, parse.default_mapping(header), DIRECTORY, NOW)
    row = checker.check(2, ["Crash", "PROJ-12", "Steps:\n1. open"])
    assert (row.values["description"], row.values["external_key"]) == ("Steps:\n1. open", "PROJ-12")
    assert checker.check(4, ["Crash", "", "Body"]).values["external_key"] is None
    redmine = ["#", "Subject"]
    checker = RowChecker(redmine, parse.default_mapping(redmine), DIRECTORY, NOW)
    assert checker.check(2, ["#4711", "Crash"]).values["external_key"] == "4711"


@pytest.mark.parametrize("word", ["Won't Do", "Won't Fix", "Cancelled", "Canceled", "Declined"])
def test_jiras_closing_statuses_close_the_issue(word):
    """Jira's templates close work that will not be done with these statuses: no mapping needed for them."""
    header = ["Summary", "Status"]
    checker = RowChecker(header, parse.default_mapping(header), DIRECTORY, NOW)
    row = checker.check(2, ["Not doing this", word])
    assert row.ok and row.values["status"] == "closed"


def test_common_spellings_of_our_words_and_jiras_normal_are_mapped():
    assert parse.default_mapping(["title", "status"]).words("status")["in-progress"] == "in_progress"
    assert parse.default_mapping(["Summary", "Issue key"]).words("priority")["normal"] == "medium"


def test_redmine_columns_and_words():
    header = ["#", "Subject", "Status", "Priority", "Assignee", "Created", "Closed", "Description", "Tracker"]
    mapping = parse.default_mapping(header)
    assert mapping.format == "redmine"
    assert mapping.columns == [
        "key",
        "title",
        "status",
        "priority",
        "assignee",
        "created_at",
        "resolved_at",
        "description",
        "",
    ]
    assert mapping.words("priority")["normal"] == "medium" and mapping.words("status")["new"] == "open"


def test_a_field_fed_by_three_columns_is_said_in_plain_words():
    mapping = parse.Mapping.from_settings({}, ["a", "b", "c"])
    mapping.columns = ["title", "title", "title"]
    assert mapping.problems(["a", "b", "c"]) == [
        "Only one column can be used as title: 'a', 'b' and 'c' are all mapped to it."
    ]


def test_no_title_column_is_a_mapping_problem():
    mapping = parse.default_mapping(["name", "notes"])
    assert mapping.problems(["name", "notes"]) == [
        "The file has no title column (its columns are: 'name', 'notes'). "
        "Name the column that holds each issue's title 'title', or map it to Title on the check page."
    ]


def test_the_export_columns_are_not_listed_as_ignored():
    header = ["id", "title", "version", "updated_at", "error"]
    assert parse.ignored_columns(header, parse.default_mapping(header)) == ["error"]


# ---- rows ------------------------------------------------------------------------------------------


def test_a_good_row_becomes_issue_fields():
    [row] = check(
        'title,description,status,priority,assignee,labels,created_at\n'
        '"  Spaced   title ","\nbody\n",In progress,HIGH,ada@example.com,'
        'bug | New one;  bug ,2025-01-02T03:04:05+02:00\n'
    )
    assert row.ok
    assert row.values == {
        "title": "Spaced title",
        "description": "body",
        "status": "in_progress",
        "priority": "high",
        "assignee_id": 1,
        "labels": ["bug", "New one"],
        "created_at": datetime(2025, 1, 2, 1, 4, 5),
        "resolved_at": None,
        "issue_id": None,
        "version": None,
        "action": "create",
        "external_key": None,
        "reporter_id": None,
    }


def test_empty_status_and_priority_take_the_defaults():
    [row] = check("title,status,priority\nA,,\n")
    assert (row.values["status"], row.values["priority"]) == ("open", "medium")


@pytest.mark.parametrize(
    ("content", "error"),
    [
        ("title,priority\nA,urgent\n", "priority 'urgent' is not one of low, medium, high, critical"),
        ("title,status\nA,later\n", "status 'later' is not one of open, in_progress, resolved, closed"),
        ("title,description\n,x\n", "title is empty; every issue needs a title"),
        ("title\n" + "x" * 201 + "\n", "title is 201 characters long; at most 200 are allowed"),
        ("title,assignee\nA,x@y\n", "no active user with email x@y"),
        ("title,assignee\nA,99\n", "no user with id 99"),
        ("title,assignee_id\nA,abc\n", "assignee id 'abc' is not a number"),
        ("title,assignee\nA,Grace\n", "2 active users are named 'Grace'; use an email instead"),
        ("title,assignee\nA,Nobody Here\n", "no active user with email, id or name 'Nobody Here'"),
        ("title,assignee\nA,old@example.com\n", "Old Timer (old@example.com) is deactivated and cannot be assigned"),
        (
            "title,assignee\nA,vera@example.com\n",
            "Vera Viewer (vera@example.com) is a viewer and cannot be assigned issues",
        ),
        ("title,assignee\nA,Vera Viewer\n", "Vera Viewer (vera@example.com) is a viewer and cannot be assigned issues"),
        ("title,assignee_id\nA,5\n", "Vera Viewer (vera@example.com) is a viewer and cannot be assigned issues"),
        ("title,labels\nA,ok;" + "l" * 51 + "\n", "is 51 characters long; at most 50 are allowed"),
        ("title,labels\nA," + "İ" * 30 + "\n", "is 60 characters long in lower case, as names are compared"),
        ("title,created_at\nA,yesterday\n", "created_at 'yesterday' is not a date and time like 2026-01-31T14:05:00Z"),
        ("title,created_at\nA,2030-01-01\n", "created_at '2030-01-01' is in the future"),
        (
            "title,created_at,resolved_at,status\nA,2025-01-02,2025-01-01,closed\n",
            "resolved_at (2025-01-01 00:00) is before the issue was created",
        ),
        ("title,priority\nA,low,extra\n", "the row has 3 values but the header has 2 columns"),
    ],
)
def test_row_rules(content, error):
    row_line = content.split("\n", 1)[1]
    rows = check(content + row_line)  # the same row twice: the second meets the checker's remembered outcomes
    assert len(rows) == 2
    for row in rows:
        assert not row.ok and row.values is None
        assert error in row.error


def test_every_problem_of_a_row_is_reported_with_its_column():
    [row] = check("Title,Priority,Status\n,urgent,later\n")
    assert [column for column, _reason in row.problems] == ["Title", "Status", "Priority"]


def test_assignee_by_id_and_unique_name_and_mapping():
    rows = check("title,assignee\nA,1\nB,ada lovelace\nC,Someone Else\n")
    assert [r.values and r.values["assignee_id"] for r in rows[:2]] == [1, 1]
    assert rows[2].unmatched_assignee == "Someone Else"
    again = check("title,assignee,labels\nA,someone  else,UI;x\nB,Someone Else,ui; X\nC,ada@example.com,UI;x\n")
    assert [r.unmatched_assignee for r in again] == ["someone else", "Someone Else", None]
    assert again[2].values["labels"] == ["UI", "x"]
    again[2].values["labels"].append("changed")
    assert check("title,labels\nA,UI;x\nB,UI;x\n")[1].values["labels"] == ["UI", "x"]
    mapping = parse.default_mapping(["title", "assignee"])
    mapping.assignees = {"someone else": "2", "ghost": "none"}
    checker = RowChecker(["title", "assignee"], mapping, DIRECTORY, NOW)
    mapped, ghost = checker.check(2, ["C", "Someone Else"]), checker.check(3, ["D", "Ghost"])
    assert (mapped.values["assignee_id"], ghost.values["assignee_id"]) == (2, None)
    assert (mapped.unmatched_assignee, ghost.unmatched_assignee) == ("Someone Else", "Ghost"), "mapped: still offered"


def test_other_trackers_words_and_dates():
    content = (
        "Summary,Status,Priority,Created,Resolved\n"
        "A,To Do,Highest,05/Jan/25 10:30 AM,\n"
        "B,Done,Lowest,2025-01-05 10:00,2025-01-06 09:00\n"
    )
    rows = check(content)
    assert [(r.values["status"], r.values["priority"]) for r in rows] == [("open", "critical"), ("resolved", "low")]
    assert rows[0].values["created_at"] == datetime(2025, 1, 5, 10, 30)
    assert rows[1].values["resolved_at"] == datetime(2025, 1, 6, 9, 0)


def test_twelve_hour_iso_dates_are_read_and_local_day_month_dates_are_explained():
    """2024-03-14 10:20 PM (Redmine with a 12-hour clock) is read; 14/03/2024 is refused with the reason."""
    rows = check("title,created_at\nA,2024-03-14 10:20 PM\nB,2024-03-14 09:05:30 am\nC,14/03/2024\nD,yesterday\n")
    assert [r.values["created_at"] for r in rows[:2]] == [
        datetime(2024, 3, 14, 22, 20),
        datetime(2024, 3, 14, 9, 5, 30),
    ]
    assert rows[2].error == (
        "created_at '14/03/2024' could be day/month or month/day: write dates as year-month-day, like 2026-01-31 14:05"
    )
    assert rows[3].error == "created_at 'yesterday' is not a date and time like 2026-01-31T14:05:00Z"


def test_resolved_at_is_dropped_for_open_issues():
    [row] = check("title,status,resolved_at\nA,open,2025-01-01\n")
    assert row.values["resolved_at"] is None


def test_done_issues_without_a_resolution_time_keep_it_unknown():
    rows = check("title,status,created_at\nA,closed,2025-01-01\nB,resolved,\n")
    assert [(r.values["created_at"], r.values["resolved_at"]) for r in rows] == [
        (datetime(2025, 1, 1), None),
        (None, None),
    ]


def test_a_resolved_issue_without_a_creation_time_is_created_when_it_was_resolved():
    [row] = check("title,status,resolved_at\nA,resolved,2025-03-04T05:06:07Z\n")
    assert row.values["created_at"] == row.values["resolved_at"] == datetime(2025, 3, 4, 5, 6, 7)


def test_unmapped_words_stay_unmapped_over_the_defaults():
    mapping = parse.default_mapping(["Summary", "Priority"])
    mapping.priority_words = {"highest": "", "normal": "medium"}
    checker = RowChecker(["Summary", "Priority"], mapping, DIRECTORY, NOW)
    highest, normal = checker.check(2, ["A", "Highest"]), checker.check(3, ["B", "Normal"])
    assert highest.error == "priority 'Highest' is not one of low, medium, high, critical"
    assert normal.values["priority"] == "medium"
    assert (
        parse.Mapping.from_settings(mapping.to_settings(), ["Summary", "Priority"]).words("priority")["highest"] == ""
    )


@pytest.mark.parametrize("cell", ["=1+2", "+1", "-1", "@SUM(A1)", "\tx", "\rx", "'=x", "''+y", "plain", "'quoted"])
def test_neutralise_and_unescape_are_inverse(cell):
    safe = parse.neutralise(cell)
    assert not safe.startswith(parse.FORMULA_STARTS)
    assert parse.unescape(safe) == cell


# ---- properties ------------------------------------------------------------------------------------


@settings(max_examples=300, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=400), st.integers(min_value=1, max_value=64))
def test_arbitrary_bytes_never_crash_the_parser(data, size):
    try:
        encoding = parse.detect_encoding(chunks(data, size))
        table = parse.read_table(chunks(data, size), encoding)
        mapping = parse.default_mapping(table.header)
        checker = RowChecker(table.header, mapping, DIRECTORY, NOW)
        for line, cells in table.records:
            row = checker.check(line, cells)
            assert row.ok or row.error
    except FileProblem as exc:
        assert exc.message and "\n" not in exc.message


CSV_TEXT = st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"), max_size=40)


@settings(max_examples=200, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(CSV_TEXT, min_size=1, max_size=6), st.sampled_from([",", ";", "\t"]))
def test_arbitrary_text_cells_never_crash_the_parser(cells, delimiter):
    line = delimiter.join('"' + c.replace('"', '""') + '"' for c in cells)
    data = ("title" + delimiter + "description\n" + line + "\n").encode("utf-8")
    try:
        table, records = read(data)
    except FileProblem:
        return
    assert records == ([] if all(not c.strip() for c in cells) else [(2, cells)])
    checker = RowChecker(table.header, parse.default_mapping(table.header), DIRECTORY, NOW)
    for line_number, record in records:
        row = checker.check(line_number, record)
        assert row.ok or row.error


def _clean_title(text: str) -> str:
    return " ".join(text.split())[:200]


TITLES = (
    st.text(st.characters(blacklist_categories=("Cs", "Cc"), blacklist_characters="\x00"), min_size=1, max_size=80)
    .map(_clean_title)
    .filter(bool)
)
DESCRIPTIONS = st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00\r"), max_size=200).map(
    lambda text: text.strip("\n")
)
LABEL_NAMES = (
    st.text(st.characters(blacklist_categories=("Cs", "Cc"), blacklist_characters="\x00;|"), min_size=1, max_size=30)
    .map(lambda text: " ".join(text.split()))
    .filter(lambda name: name and not name_length_problem(name))
)
TIMES = st.datetimes(min_value=datetime(1990, 1, 1), max_value=datetime(2026, 1, 1))
ISSUES = st.fixed_dictionaries(
    {
        "id": st.integers(min_value=1, max_value=10**6),
        "title": TITLES,
        "description": DESCRIPTIONS,
        "status": st.sampled_from(STATUSES),
        "priority": st.sampled_from(PRIORITIES),
        "assignee": st.sampled_from([None, "ada@example.com", "grace@example.com"]),
        "labels": st.lists(LABEL_NAMES, max_size=4, unique_by=str.lower),
        "created_at": TIMES,
        "version": st.integers(min_value=1, max_value=50),
    }
)


@settings(max_examples=150, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(ISSUES, min_size=1, max_size=5))
def test_export_then_import_round_trips(issues):
    for issue in issues:
        issue["updated_at"] = issue["created_at"]
        issue["resolved_at"] = issue["created_at"] if issue["status"] in ("resolved", "closed") else None
    rows = [list(EXPORT_HEADER)]
    rows += [export_cells(issue) for issue in issues]
    data = "".join(csv_text(rows)).encode("utf-8")
    table, records = read(data)
    mapping = parse.default_mapping(table.header)
    checker = RowChecker(table.header, mapping, DIRECTORY, NOW)
    checked = [checker.check(line, cells) for line, cells in records]
    assert [row.error for row in checked] == [""] * len(issues)
    ids = {"ada@example.com": 1, "grace@example.com": 2, None: None}
    for issue, row in zip(issues, checked):
        assert row.values == {
            "title": issue["title"],
            "description": issue["description"],
            "status": issue["status"],
            "priority": issue["priority"],
            "assignee_id": ids[issue["assignee"]],
            "labels": issue["labels"],
            "created_at": issue["created_at"],
            "resolved_at": issue["resolved_at"],
            # The export's id and version: matched against the database (updates.py), the row updates that issue.
            "issue_id": issue["id"],
            "version": issue["version"],
            "action": "create",
            "external_key": None,
            "reporter_id": None,
        }


def test_id_ranges_groups_consecutive_ids():
    from tracker.imports.copying import id_ranges

    assert id_ranges([]) == []
    assert id_ranges([5]) == [(5, 5)]
    assert id_ranges([1, 2, 3, 7, 8, 10]) == [(1, 3), (7, 8), (10, 10)]
    assert id_ranges(range(100, 200)) == [(100, 199)]
