"""Reading CSV files as people have them: encodings, delimiters, headers, other trackers' exports.

No Flask and no database here: bytes in; an encoding, a header, numbered records and a column mapping out.
A file that cannot be read raises FileProblem with one sentence saying why.
"""

from __future__ import annotations

import codecs
import csv
import io
import itertools
import re
import uuid
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timezone

from ..errors import DomainError
from ..models import PRIORITIES, PRIORITY_LABELS, STATUS_LABELS, STATUSES

CHUNK = 1 << 20  # bytes read, staged and decoded at a time
# A UTF-8 file with some Windows-1252 bytes in it (two exports pasted together, a line typed in another
# program): read as UTF-8, and each byte that is not UTF-8 as the Windows-1252 character it stands for.
MIXED = "utf-8+cp1252"
DELIMITERS = {",": "comma", ";": "semicolon", "\t": "tab"}
# A header naming one column separates nothing: each line is one value, commas and all. The reader is given a
# character no text file holds (the upload refuses NUL bytes as binary) as its delimiter.
ONE_COLUMN = "\x00"
ENCODING_LABELS = {
    "utf-8": "UTF-8",
    "utf-8-sig": "UTF-8 (with byte order mark)",
    "utf-16": "UTF-16 (with byte order mark)",
    "utf-32": "UTF-32 (with byte order mark)",
    "utf-16-le": "UTF-16 (little-endian, without byte order mark)",
    "utf-16-be": "UTF-16 (big-endian, without byte order mark)",
    "cp1252": "Windows-1252",
    MIXED: "UTF-8, with some Windows-1252 characters",
}
# Spreadsheets run cells that start with these as formulas; exports put a ' in front, imports take it off.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
_ESCAPED_FORMULA = re.compile(r"'+[=+\-@\t\r]")
_HEADER_NOISE = re.compile(r"[\s_\-]+")
_LABEL_SPLIT = re.compile(r"[;|]")


class FileProblem(DomainError):
    """The file as a whole cannot be imported (empty, binary, no header, duplicate columns...)."""

    status = 422
    code = "bad_file"


# ---- encodings -------------------------------------------------------------------------------------

_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)
_SIGNATURES = (
    (b"PK\x03\x04", "This is a zip file, perhaps an Excel workbook (.xlsx). Save it as CSV and upload that."),
    (b"\xd0\xcf\x11\xe0", "This is an Excel or Office file (.xls), not CSV. Save it as CSV and upload that."),
    (b"%PDF", "This is a PDF file, not CSV."),
    (b"\x89PNG", "This is a PNG image, not CSV."),
    (b"\xff\xd8\xff", "This is a JPEG image, not CSV."),
    (b"\x1f\x8b", "This is a gzip archive, not CSV. Unpack it and upload the CSV file inside."),
)
_WIDE = ("utf-16", "utf-32", "utf-16-le", "utf-16-be")  # read by decoding, not byte by byte
BINARY_MESSAGE = "This is not a CSV text file: it contains binary data. Export or save it as CSV and upload that."
_CONTROL_BYTES = bytes(b for b in range(32) if b not in b"\t\n\r\x0c")


def _cp1252_for_broken_utf8(error: UnicodeDecodeError) -> tuple[str, int]:
    """Decoding error handler for MIXED files: the bytes UTF-8 could not read, read as Windows-1252."""
    return error.object[error.start : error.end].decode("cp1252", errors="replace"), error.end


codecs.register_error("tracker-cp1252", _cp1252_for_broken_utf8)
_LEAD_BYTES = bytes(range(0xC0, 0x100))
_ESCAPED_BYTES = re.compile("[\udc80-\udcff]")


def text_codec(encoding: str) -> tuple[str, str]:
    """(Python codec, error handling) that read a file detected as `encoding`."""
    if encoding == MIXED:
        return "utf-8", "tracker-cp1252"
    return encoding, "replace" if encoding == "cp1252" else "strict"


def _utf16_without_mark(head: bytes) -> str | None:
    """utf-16-le or utf-16-be for a file that starts with two ASCII characters in UTF-16 without a byte order
    mark (a zero byte after, or before, each), else None."""
    if len(head) < 4:
        return None
    if head[1] == 0 and head[3] == 0 and head[0] and head[2] and head[0] < 0x80 and head[2] < 0x80:
        return "utf-16-le"
    if head[0] == 0 and head[2] == 0 and head[1] and head[3] and head[1] < 0x80 and head[3] < 0x80:
        return "utf-16-be"
    return None


class EncodingDetector:
    """Fed a file's bytes in order; then names the encoding that reads it, or raises FileProblem."""

    def __init__(self) -> None:
        """Start with nothing seen."""
        self.size = 0
        self._head = b""
        self._codec: str | None = None  # decided once four bytes (or the whole file) are in
        self._decoder: codecs.IncrementalDecoder | None = None
        self._utf8_ok = True
        self._content = False
        self._controls = 0
        self._sampled = 0
        # Characters read as UTF-8 beyond ASCII, and bytes UTF-8 cannot read: which way a file that is not
        # all UTF-8 leans (Windows-1252 text rarely makes valid UTF-8 by chance).
        self._utf8_chars = 0
        self._broken_bytes = 0
        self._lenient: codecs.IncrementalDecoder | None = None

    def feed(self, chunk: bytes) -> None:
        """Look at the next piece of the file."""
        if not chunk:
            return
        self.size += len(chunk)
        if self._codec is None:
            self._head += chunk
            if len(self._head) < 4:
                return
            chunk, self._head = self._head, b""
            self._start(chunk)
        self._scan(chunk)

    def _start(self, head: bytes) -> None:
        for signature, message in _SIGNATURES:
            if head.startswith(signature):
                raise FileProblem(message)
        for bom, name in _BOMS:
            if head.startswith(bom):
                self._codec = name
                break
        else:
            self._codec = _utf16_without_mark(head) or "utf-8"
        if self._codec in _WIDE:
            self._decoder = codecs.getincrementaldecoder(self._codec)()
        else:
            self._decoder = codecs.getincrementaldecoder("utf-8-sig")()

    def _scan(self, chunk: bytes) -> None:
        if self._codec in _WIDE:
            try:
                text = self._decoder.decode(chunk)
            except UnicodeDecodeError:
                name = self._codec[:6].upper()
                if self._codec in ("utf-16", "utf-32"):
                    raise FileProblem(
                        f"The file starts with a {name} byte order mark but is not valid {name}."
                    ) from None
                raise FileProblem(
                    f"The file looks like {name} (every other byte is zero) but is not valid {name}."
                ) from None
            if "\x00" in text:
                raise FileProblem(BINARY_MESSAGE)
            self._content = self._content or bool(text.strip())
            return
        if b"\x00" in chunk:
            raise FileProblem(BINARY_MESSAGE)
        if self._sampled < 65536:  # many control characters at the start: binary without NULs
            sample = chunk[: 65536 - self._sampled]
            self._sampled += len(sample)
            self._controls += len(sample) - len(sample.translate(None, _CONTROL_BYTES))
        if self._utf8_ok:
            try:
                self._decoder.decode(chunk)
                self._utf8_chars += len(chunk) - len(chunk.translate(None, _LEAD_BYTES))
            except UnicodeDecodeError:
                self._utf8_ok = False
                self._lenient = codecs.getincrementaldecoder("utf-8")(errors="surrogateescape")
        if self._lenient is not None:
            text = self._lenient.decode(chunk)
            broken = len(_ESCAPED_BYTES.findall(text))
            self._broken_bytes += broken
            self._utf8_chars += len(text) - len(text.encode("ascii", "ignore")) - broken
        if not self._content:
            stripped = chunk.strip()
            self._content = bool(stripped) and stripped != codecs.BOM_UTF8

    def finish(self) -> str:
        """The encoding that reads the file: utf-8, utf-8-sig, utf-16, utf-32, cp1252 or MIXED (text_codec says
        how to read it)."""
        if self._codec is None:
            head, self._head = self._head, b""
            if not head.strip():
                raise FileProblem("The file is empty.")
            self._start(head)
            self._scan(head)
        if self._codec in _WIDE:
            try:
                self._decoder.decode(b"", final=True)
            except UnicodeDecodeError:
                raise FileProblem(
                    f"The file is cut off in the middle of a {self._codec[:6].upper()} character."
                ) from None
        elif self._utf8_ok:
            try:
                self._decoder.decode(b"", final=True)
            except UnicodeDecodeError:
                self._utf8_ok = False
        if not self._content:
            raise FileProblem("The file is empty.")
        if self._sampled and self._controls * 20 > self._sampled:
            raise FileProblem(BINARY_MESSAGE)
        if self._codec == "utf-8-sig":
            if not self._utf8_ok:
                raise FileProblem("The file starts with a UTF-8 byte order mark but is not valid UTF-8.")
            return "utf-8-sig"
        if self._codec == "utf-8":
            if self._utf8_ok:
                return "utf-8"
            mostly_utf8 = self._utf8_chars >= 2 and self._utf8_chars * 4 >= self._broken_bytes
            return MIXED if mostly_utf8 else "cp1252"
        return self._codec


def detect_encoding(chunks: Iterable[bytes]) -> str:
    """Read every chunk once and return the encoding of the file (FileProblem when it is not CSV text)."""
    detector = EncodingDetector()
    for chunk in chunks:
        detector.feed(chunk)
    return detector.finish()


def stream_chunks(stream, size: int = CHUNK) -> Iterator[bytes]:
    """The bytes of a binary file object, a chunk at a time."""
    return iter(lambda: stream.read(size), b"")


class _ChunkStream(io.RawIOBase):
    """A read-only byte stream over an iterator of chunks, for io.TextIOWrapper."""

    def __init__(self, chunks: Iterable[bytes]):
        """Wrap the chunks."""
        super().__init__()
        self._chunks = iter(chunks)
        self._pending = memoryview(b"")

    def readable(self) -> bool:
        """Always readable."""
        return True

    def readinto(self, buffer) -> int:
        """Copy the next bytes into `buffer`; 0 at the end."""
        while not self._pending:
            chunk = next(self._chunks, None)
            if chunk is None:
                return 0
            self._pending = memoryview(chunk)
        n = min(len(buffer), len(self._pending))
        buffer[:n] = self._pending[:n]
        self._pending = self._pending[n:]
        return n


# ---- reading the table -----------------------------------------------------------------------------


@dataclass
class Table:
    """A CSV file opened for reading: its dialect, its header and its records as (line number, cells)."""

    encoding: str
    delimiter: str
    header: list[str]
    header_line: int
    records: Iterator[tuple[int, list[str]]]

    @property
    def encoding_label(self) -> str:
        """The encoding as people name it."""
        return ENCODING_LABELS.get(self.encoding, self.encoding)

    @property
    def delimiter_label(self) -> str:
        """The delimiter as a word ("" for a file of one column)."""
        if self.delimiter == ONE_COLUMN:
            return ""
        return DELIMITERS.get(self.delimiter, repr(self.delimiter))


def _count_outside_quotes(line: str, char: str) -> int:
    count, quoted = 0, False
    for c in line:
        if c == '"':
            quoted = not quoted
        elif c == char and not quoted:
            count += 1
    return count


def sniff_delimiter(header_line: str) -> str:
    """The delimiter used most often outside quotes in the header line (ONE_COLUMN when none is)."""
    best, best_count = ONE_COLUMN, 0
    for candidate in DELIMITERS:
        n = _count_outside_quotes(header_line, candidate)
        if n > best_count:
            best, best_count = candidate, n
    return best


def _is_blank(cells: list[str]) -> bool:
    """True for a record of nothing but whitespace."""
    return not "".join(cells).strip()


def read_table(chunks: Iterable[bytes], encoding: str) -> Table:
    """Open the file: skip leading blank lines, detect the delimiter, read the header; records follow lazily."""
    codec, errors = text_codec(encoding)
    text = io.TextIOWrapper(io.BufferedReader(_ChunkStream(chunks), CHUNK), encoding=codec, errors=errors, newline="")
    offset = 0
    peeked: list[str] = []
    try:
        for line in text:
            if line.strip():
                peeked.append(line)
                break
            offset += 1
    except UnicodeDecodeError as exc:
        raise FileProblem(f"The file is not valid {ENCODING_LABELS.get(encoding, encoding)} ({exc.reason}).") from None
    if not peeked:
        raise FileProblem("The file is empty.")
    first = peeked[0].lstrip("\ufeff")
    hint = first.rstrip("\r\n")
    if len(hint) == 5 and hint.startswith("sep=") and hint[4] in DELIMITERS:  # Excel's delimiter hint line
        delimiter = hint[4]
        offset += 1
        peeked = []
    else:
        delimiter = sniff_delimiter(first)
        peeked = [first]
    end = _EndMark()
    lines = itertools.chain(peeked, text, end.lines())
    reader = csv.reader(lines, delimiter=delimiter, quotechar='"', doublequote=True, strict=False)
    records = _numbered(reader, offset, encoding, end)
    for line, cells in records:
        header = [cell.strip().lstrip("\ufeff").strip() for cell in cells]
        while header and not header[-1]:
            header.pop()
        return Table(encoding, delimiter, header, line, records)
    raise FileProblem("The file is empty.")


class _EndMark:
    """A line fed to the CSV reader after the file's last one, to see how the file ends.

    With strict=False the reader hands back a quoted value left open at the end of its input as if it were
    closed. The mark (a fresh random token in quotes, text no file holds) tells the cases apart: read as a
    record of its own, the file ended cleanly and the record is dropped; found inside the last record, the
    file ended inside a quoted value.
    """

    def __init__(self) -> None:
        """A fresh mark, not yet read."""
        self.token = f"tracker-end-of-file-{uuid.uuid4().hex}"
        self.read = False

    def lines(self) -> Iterator[str]:
        """The mark as the reader's last line; noting when the reader asks for it."""
        self.read = True
        yield f'"{self.token}"'

    def is_clean_end(self, cells: list[str]) -> bool:
        """True for the record the mark makes on its own line."""
        return len(cells) == 1 and cells[0] == self.token


def _numbered(reader, offset: int, encoding: str, end: _EndMark) -> Iterator[tuple[int, list[str]]]:
    """Non-blank records with the file line each starts on (quoted fields may span lines); FileProblem when the
    file ends inside a quoted value."""
    previous = 0
    try:
        for cells in reader:
            line = offset + previous + 1
            previous = reader.line_num
            if end.read:  # this record took in the end mark: the last one
                if end.is_clean_end(cells):
                    return
                raise FileProblem(f"line {line}: a quoted value is never closed (the file ends inside it).")
            if not _is_blank(cells):
                yield line, cells
    except csv.Error as exc:
        line = offset + previous + 1
        if "field larger than field limit" in str(exc):
            raise FileProblem(
                f"line {line}: a value is longer than {csv.field_size_limit():,} characters "
                "(or a quote is never closed)."
            ) from None
        raise FileProblem(f"line {line}: the CSV cannot be read ({exc}).") from None
    except UnicodeDecodeError as exc:
        label = ENCODING_LABELS.get(encoding, encoding)
        raise FileProblem(f"line {offset + previous + 1}: the file is not valid {label} ({exc.reason}).") from None


# ---- columns and formats ---------------------------------------------------------------------------

# What a column can become; "" means ignored.
TARGETS = {
    "title": "Title",
    "description": "Description",
    "status": "Status",
    "priority": "Priority",
    "assignee": "Assignee (email, id or name)",
    "assignee_email": "Assignee email",
    "assignee_id": "Assignee id",
    "labels": "Labels",
    "created_at": "Created at",
    "resolved_at": "Resolved at",
    "key": "Key in the other tracker (kept; a newer export updates the issue with the same key)",
    "reporter": "Reporter (email, id or name)",
    "id": "Tracker issue number (updates that issue)",
    "version": "Version (an update only if the issue is still at it)",
}
ASSIGNEE_TARGETS = ("assignee_email", "assignee_id", "assignee")
FORMATS = {"native": "Tracker CSV", "jira": "Jira export", "redmine": "Redmine export"}
# Header names per format, compared without case, spaces, underscores or hyphens.
FORMAT_COLUMNS = {
    "native": {
        "title": "title",
        "description": "description",
        "status": "status",
        "priority": "priority",
        "assignee": "assignee",
        "assigneeemail": "assignee_email",
        "assigneeid": "assignee_id",
        "labels": "labels",
        "label": "labels",
        "createdat": "created_at",
        "resolvedat": "resolved_at",
        "id": "id",
        "version": "version",
        "key": "key",
        "reporter": "reporter",
    },
    "jira": {
        "summary": "title",
        "issuekey": "key",
        "description": "description",
        "status": "status",
        "priority": "priority",
        "assignee": "assignee",
        "labels": "labels",
        "created": "created_at",
        "resolved": "resolved_at",
        "reporter": "reporter",
    },
    "redmine": {
        "subject": "title",
        "#": "key",
        "description": "description",
        "status": "status",
        "priority": "priority",
        "assignee": "assignee",
        "created": "created_at",
        "closed": "resolved_at",
        "author": "reporter",
    },
}
# Columns of Tracker's own export that an import does not use: it creates new issues.
EXPORT_ONLY_COLUMNS = {"id", "version", "updatedat"}
# Words of other trackers for our statuses and priorities (lower case); ours are always understood.
STATUS_WORDS = {
    "native": {},
    "jira": {
        "to do": "open",
        "backlog": "open",
        "selected for development": "open",
        "reopened": "open",
        "in progress": "in_progress",
        "in review": "in_progress",
        "done": "resolved",
        "resolved": "resolved",
        "closed": "closed",
        # Work that will not be done, as Jira's templates and service desks close it.
        "won't do": "closed",
        "won't fix": "closed",
        "cancelled": "closed",
        "canceled": "closed",
        "declined": "closed",
    },
    "redmine": {
        "new": "open",
        "in progress": "in_progress",
        "feedback": "in_progress",
        "resolved": "resolved",
        "closed": "closed",
        "rejected": "closed",
    },
}
PRIORITY_WORDS = {
    "native": {},
    "jira": {
        "highest": "critical",
        "blocker": "critical",
        "critical": "critical",
        "high": "high",
        "major": "high",
        "medium": "medium",
        "normal": "medium",
        "low": "low",
        "minor": "low",
        "lowest": "low",
        "trivial": "low",
    },
    "redmine": {"low": "low", "normal": "medium", "high": "high", "urgent": "critical", "immediate": "critical"},
}


def header_key(name: str) -> str:
    """A header cell as compared: lower case, without spaces, underscores or hyphens."""
    return _HEADER_NOISE.sub("", name.lower())


def word_key(word: str) -> str:
    """A status or priority word as compared: lower case, single spaces."""
    return " ".join(word.split()).lower()


def detect_format(header: list[str]) -> str:
    """native, jira or redmine, from the name of the title column."""
    keys = {header_key(h) for h in header}
    if "title" in keys:
        return "native"
    if "summary" in keys:
        return "jira"
    if "subject" in keys:
        return "redmine"
    return "native"


def default_words(fmt: str, kind: str) -> dict[str, str]:
    """The word mapping a format starts with: our own codes and labels, plus the other tracker's words."""
    if kind == "status":
        words = (
            {s: s for s in STATUSES}
            | {s.replace("_", "-"): s for s in STATUSES}
            | {STATUS_LABELS[s].lower(): s for s in STATUSES}
        )
        return words | STATUS_WORDS[fmt]
    words = {p: p for p in PRIORITIES} | {PRIORITY_LABELS[p].lower(): p for p in PRIORITIES}
    return words | PRIORITY_WORDS[fmt]


@dataclass
class Mapping:
    """How the file's columns become issue fields, and how its words and people map to ours."""

    format: str
    columns: list[str]  # per file column: a key of TARGETS or "" (ignored)
    status_words: dict[str, str] = field(default_factory=dict)  # chosen on the preview, over the defaults
    priority_words: dict[str, str] = field(default_factory=dict)
    assignees: dict[str, str] = field(default_factory=dict)  # unmatched value (lower case) -> user id or "none"

    def to_settings(self) -> dict:
        """As stored on the import run."""
        return {
            "format": self.format,
            "columns": list(self.columns),
            "status_words": dict(self.status_words),
            "priority_words": dict(self.priority_words),
            "assignees": dict(self.assignees),
        }

    @classmethod
    def from_settings(cls, settings: dict, header: list[str]) -> Mapping:
        """Read stored settings (columns padded or cut to the header's width)."""
        columns = [str(c or "") for c in settings.get("columns", [])][: len(header)]
        columns += [""] * (len(header) - len(columns))
        return cls(
            format=settings.get("format", "native") if settings.get("format") in FORMATS else "native",
            columns=columns,
            status_words={str(k): str(v) for k, v in (settings.get("status_words") or {}).items()},
            priority_words={str(k): str(v) for k, v in (settings.get("priority_words") or {}).items()},
            assignees={str(k): str(v) for k, v in (settings.get("assignees") or {}).items()},
        )

    def words(self, kind: str) -> dict[str, str]:
        """The effective word mapping for 'status' or 'priority'."""
        chosen = self.status_words if kind == "status" else self.priority_words
        return default_words(self.format, kind) | chosen

    def columns_of(self, target: str) -> list[int]:
        """Indexes of the columns mapped to `target`."""
        return [i for i, t in enumerate(self.columns) if t == target]

    def problems(self, header: list[str]) -> list[str]:
        """What keeps this mapping from being imported: no title column (unless an id column names the issues to
        update: `id,priority` changes priorities), a field fed by two columns."""
        messages = []
        if not self.columns_of("title") and not self.columns_of("id"):
            names = ", ".join(f"'{h}'" for h in header if h) or "none"
            messages.append(
                f"The file has no title column (its columns are: {names}). "
                "Name the column that holds each issue's title 'title', or map it to Title on the check page."
            )
        for target in TARGETS:
            used = self.columns_of(target)
            if target != "labels" and len(used) > 1:
                names = ", ".join(f"'{header[i]}'" for i in used[:-1]) + f" and '{header[used[-1]]}'"
                verb = "are all mapped to it" if len(used) > 2 else "both are"
                messages.append(f"Only one column can be used as {TARGETS[target].lower()}: {names} {verb}.")
        assignee_columns = [i for t in ASSIGNEE_TARGETS for i in self.columns_of(t)]
        if len(assignee_columns) > 1:
            ordered = sorted(assignee_columns)
            names = ", ".join(f"'{header[i]}'" for i in ordered[:-1]) + f" and '{header[ordered[-1]]}'"
            messages.append(
                f"Only one column can give the assignee: {names} {'all' if len(ordered) > 2 else 'both'} do."
            )
        return messages


def default_mapping(header: list[str]) -> Mapping:
    """Recognise the columns by their names; reject duplicate columns (Jira's repeated columns excepted)."""
    fmt = detect_format(header)
    known = FORMAT_COLUMNS[fmt]
    columns: list[str] = []
    seen: dict[str, int] = {}
    for index, name in enumerate(header):
        key = header_key(name)
        target = known.get(key, "")
        if key and key in seen and not (target == "labels" or (fmt == "jira" and not target)):
            raise FileProblem(
                f"The header has the column '{name}' twice (columns {seen[key] + 1} and {index + 1}); "
                "each column may appear only once."
            )
        seen.setdefault(key, index)
        columns.append(target)
    # A file with several assignee columns uses the most specific one (email, then id, then any).
    assignee_columns = sorted(
        (ASSIGNEE_TARGETS.index(t), i) for i, t in enumerate(columns) if t in ASSIGNEE_TARGETS
    )
    for _rank, index in assignee_columns[1:]:
        columns[index] = ""
    return Mapping(format=fmt, columns=columns)


def ignored_columns(header: list[str], mapping: Mapping) -> list[str]:
    """Names of the columns the import does not use (Tracker's own export columns are not listed)."""
    return [
        name
        for name, target in zip(header, mapping.columns)
        if not target and name and not (mapping.format == "native" and header_key(name) in EXPORT_ONLY_COLUMNS)
    ]


# ---- cell values -----------------------------------------------------------------------------------


def neutralise(cell: str) -> str:
    """Protect a cell from running as a spreadsheet formula (a ' in front); unescape() undoes it."""
    if cell.startswith(FORMULA_STARTS) or (cell.startswith("'") and _ESCAPED_FORMULA.match(cell)):
        return "'" + cell
    return cell


def unescape(cell: str) -> str:
    """Undo neutralise(): a cell of one or more ' followed by a formula character loses one '."""
    if cell.startswith("'") and _ESCAPED_FORMULA.match(cell):
        return cell[1:]
    return cell


def split_labels(cell: str) -> list[str]:
    """Label names in a cell, separated by ; or |, each with its spaces collapsed (empty ones dropped)."""
    names = []
    for part in _LABEL_SPLIT.split(cell):
        name = " ".join(part.split())
        if name:
            names.append(name)
    return names


# Date formats of other trackers' default exports, tried after ISO 8601.
OTHER_DATE_FORMATS = {
    "native": (),
    "jira": ("%d/%b/%y %I:%M %p", "%d/%b/%Y %I:%M %p", "%d/%b/%y %H:%M", "%d/%b/%Y %H:%M", "%d/%b/%y", "%d/%b/%Y"),
    "redmine": ("%m/%d/%Y %I:%M %p", "%m/%d/%Y %H:%M", "%m/%d/%Y", "%d.%m.%Y %H:%M", "%d.%m.%Y"),
}


# ISO 8601 dates with a 12-hour clock (Redmine with that time format, some spreadsheets), in any format.
TWELVE_HOUR_ISO = ("%Y-%m-%d %I:%M %p", "%Y-%m-%d %I:%M:%S %p")


def parse_when(value: str, fmt: str = "native") -> datetime:
    """A date and time (ISO 8601, or the other tracker's export format) as naive UTC; ValueError if not one."""
    text = value.strip()
    try:
        when = datetime.fromisoformat(text)
    except ValueError:
        for pattern in TWELVE_HOUR_ISO + OTHER_DATE_FORMATS.get(fmt, ()):
            try:
                when = datetime.strptime(text, pattern)
                break
            except ValueError:
                continue
        else:
            raise
    if when.tzinfo is not None:
        when = when.astimezone(timezone.utc).replace(tzinfo=None)
    return when


def format_when(value: datetime | None) -> str:
    """A stored (naive UTC) time as ISO 8601 with Z, exact to the microsecond when it has them."""
    return value.isoformat() + "Z" if value is not None else ""
