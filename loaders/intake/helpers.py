"""Reading, validating and shaping intake files.

A file (CSV with a header, or JSONL) is read into a ``Frame``: one arrow text column per
known field (stripped, empty -> null), the unknown columns of each row as JSON, and the
rows as read for messages. Checks run column-wise with pyarrow compute (RE2 regexes), so
50,000 rows validate in a fraction of a second; only failing rows are touched in Python.

Normalisation here (company names, website domains, LinkedIn URLs) is only used to match
people to their employer: the raw tables keep every value as given, only stripped.
"""

from __future__ import annotations

import csv
import functools
import hashlib
import io
import json
import unicodedata
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pa_csv

from loaders.intake import settings as s
from outreach import tombstones
from outreach.events import OperatorError


class IntakeError(Exception):
    """A fatal problem with an intake load."""


class IntakeFileError(IntakeError, OperatorError):
    """An intake file that cannot be used (missing, wrong type, no usable header): the
    operator's mistake, not a pipeline error (outreach/events.py)."""


# ---------------------------------------------------------------------------- raw tables
def _schema(fields: Iterable[tuple[str, pa.DataType]]) -> pa.Schema:
    return pa.schema([pa.field(name, dtype) for name, dtype in fields])


_TIMESTAMP = pa.timestamp("us", tz="UTC")
_META = [
    ("_row_key", pa.string()),
    ("_source_file", pa.string()),
    ("_row_number", pa.int64()),
    ("_loaded_at", _TIMESTAMP),
]
_DLT = [("_dlt_id", pa.string())]  # dlt appends _dlt_load_id
COMPANY_SCHEMA = _schema(
    _META
    + [(name, pa.string()) for name in s.COMPANY_TEXT_FIELDS]
    + [(name, pa.int64()) for name in s.COMPANY_INT_FIELDS]
    + [("_extra", pa.string())]
    + _DLT
)
PERSON_SCHEMA = _schema(
    _META + [(name, pa.string()) for name in s.PERSON_FIELDS] + [("_extra", pa.string())] + _DLT
)
DEAL_SCHEMA = _schema(
    _META + [(name, pa.string()) for name in s.DEAL_FIELDS] + [("_extra", pa.string())] + _DLT
)
QUARANTINE_SCHEMA = _schema(
    [
        ("_row_key", pa.string()),
        ("entity", pa.string()),
        ("source_file", pa.string()),
        ("row_number", pa.int64()),
        ("reason", pa.string()),
        ("field", pa.string()),
        ("detail", pa.string()),
        ("raw_record", pa.string()),
        ("_loaded_at", _TIMESTAMP),
        ("_dlt_id", pa.string()),
    ]
)
# columns holding JSON text in the arrow tables, jsonb in PostgreSQL
JSON_COLUMNS = {"_extra", "raw_record"}
TABLE_SCHEMAS = {
    "companies": COMPANY_SCHEMA,
    "people": PERSON_SCHEMA,
    "deals": DEAL_SCHEMA,
    "quarantine": QUARANTINE_SCHEMA,
}
ENTITY_TABLE = {s.COMPANY: "companies", s.PERSON: "people", s.DEAL: "deals"}


_NOT_NULL = {"_row_key", "_dlt_id"}


def dlt_id(row_key: str) -> str:
    """The row's _dlt_id: derived from _row_key, so a row keeps it across loads."""
    return row_key[:20]


def column_hints(table: str) -> dict[str, dict[str, Any]]:
    """dlt column hints for a raw table: every text column stays text, JSON columns are json."""
    hints: dict[str, dict[str, Any]] = {}
    for f in TABLE_SCHEMAS[table]:
        if f.name in JSON_COLUMNS:
            hints[f.name] = {"data_type": "json", "nullable": f.name != "_extra"}
        elif pa.types.is_string(f.type):
            hints[f.name] = {"data_type": "text", "nullable": f.name not in _NOT_NULL}
        elif pa.types.is_integer(f.type):
            hints[f.name] = {"data_type": "bigint"}
        else:
            hints[f.name] = {"data_type": "timestamp", "timezone": True}
    return hints


# ---------------------------------------------------------------------------- values
_ENCODE = json.JSONEncoder(
    ensure_ascii=False, sort_keys=True, separators=(",", ":"), default=str
).encode


_encode_string = json.encoder.encode_basestring  # a str as JSON text, non-ASCII kept


def as_text(value: Any) -> str | None:
    """A value as stored in a text column: stripped, empty -> None, JSON for nested values."""
    if value is None:
        return None
    if isinstance(value, str):
        return value.strip() or None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    return _ENCODE(value)


def shown(value: Any) -> str:
    """A found value for a message: quoted text (shortened) or JSON."""
    if isinstance(value, str):
        text = value if len(value) <= 80 else value[:77] + "..."
        return f"'{text}'"
    return json.dumps(value, ensure_ascii=False, default=str)


def row_key(*parts: Any) -> str:
    """sha256 of the canonical JSON of parts."""
    return hashlib.sha256(_ENCODE(parts).encode("utf-8")).hexdigest()


def _clean(column: pa.Array) -> pa.Array:
    """Stripped text, empty -> null."""
    column = pc.utf8_trim_whitespace(column)
    return pc.if_else(pc.equal(column, ""), pa.scalar(None, pa.string()), column)


# ---------------------------------------------------------------------------- reading files
@dataclass
class Frame:
    """The rows of one file: known fields column-wise, extras as JSON, rows as read."""

    entity: str
    file: str
    row_numbers: list[int]
    columns: dict[str, pa.Array]  # every field of the entity; null where empty or absent
    extras: list[str]  # JSON object text per row, "{}" when none
    record: Callable[[int], dict[str, Any]]  # row i as read
    malformed: list[tuple[int, dict[str, Any], str]]  # (row number, as read, what is wrong)
    _normalised: dict[tuple[str, str], pa.Array] = field(default_factory=dict, repr=False)

    def __len__(self) -> int:
        return len(self.row_numbers)

    def linkedin(self, name: str, kind: str) -> pa.Array:
        """linkedin_urls of a column (computed once: checks and matching both use it)."""
        if (name, kind) not in self._normalised:
            self._normalised[(name, kind)] = linkedin_urls(self.columns[name], kind)
        return self._normalised[(name, kind)]

    def raw_values(self, i: int) -> dict[str, Any]:
        """Known fields of row i -> value as read (absent fields are not keys)."""
        return split_record(self.record(i), self.entity)[0]


def file_format(path: Path) -> str:
    fmt = s.FILE_FORMATS.get(path.suffix.lower())
    if fmt is None:
        raise IntakeFileError(
            f"{path}: unsupported file type {path.suffix or '(no extension)'!r}; "
            f"expected one of {', '.join(sorted(s.FILE_FORMATS))}"
        )
    return fmt


def check_file(path: Path, entity: str) -> str:
    """The file's format; raises IntakeError if it has the wrong extension or is missing."""
    fmt = file_format(path)
    if not path.is_file():
        what = "is a directory" if path.is_dir() else "file not found"
        raise IntakeFileError(f"{path}: {what}; expected a {entity} file (.csv, .jsonl or .ndjson)")
    return fmt


def read_file(path: Path, entity: str) -> Frame:
    """Read an intake file; raises IntakeError when the file as a whole is unusable."""
    path = Path(path)
    fmt = check_file(path, entity)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise IntakeFileError(
            f"{path}: cannot be read ({exc.strerror}); expected a readable file"
        ) from None
    if fmt == "csv":
        return _read_csv(path, data, entity)
    return _read_jsonl(path, data, entity)


def _expected_columns(entity: str) -> str:
    return ", ".join(s.FIELDS[entity])


def _read_csv(path: Path, data: bytes, entity: str) -> Frame:
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise IntakeFileError(
            f"{path}: not UTF-8 text (bad byte on line {line}); expected a UTF-8 CSV file"
        ) from None
    csv.field_size_limit(2**31 - 1)  # long values are quarantined by their field's limit
    reader = csv.reader(io.StringIO(text, newline=""))
    rows: list[list[str]] = []
    numbers: list[int] = []
    malformed: list[tuple[int, dict[str, Any], str]] = []
    try:
        header = next(reader, None)
        while header is not None and not "".join(header).strip():
            header = next(reader, None)  # leading blank lines
        if header is None:
            raise IntakeFileError(
                f"{path}: empty file, no header row; expected a header with some of "
                f"{_expected_columns(entity)}"
            )
        names = _unique_names(header)
        layout = _layout(tuple(names), entity)
        if not any(layout):
            raise IntakeFileError(
                f"{path}: no recognisable columns in header ({', '.join(names)}); "
                f"expected some of {_expected_columns(entity)}"
            )
        width = len(names)
        if reader.line_num == 1:  # a one-line header: try the fast reader first
            frame = _read_csv_arrow(path, data, names, layout, entity)
            if frame is not None:
                return frame
        for number, values in enumerate(reader, start=1):
            if len(values) != width:
                if not "".join(values).strip():
                    continue  # blank line
                if len(values) > width:
                    if "".join(values[width:]).strip():
                        raw = {
                            **dict(zip(names, values, strict=False)),
                            "_unnamed_values": values[width:],
                        }
                        problem = (
                            f"row has {len(values)} values but the header has {width} columns; "
                            "expected at most one value per header column"
                        )
                        malformed.append((number, raw, problem))
                        continue
                    values = values[:width]
                else:
                    values = values + [""] * (width - len(values))
            elif not "".join(values).strip():
                continue
            rows.append(values)
            numbers.append(number)
    except csv.Error as exc:
        raise IntakeFileError(
            f"{path}: unreadable CSV at line {reader.line_num} ({exc}); expected a "
            "comma-separated file with a header row"
        ) from None

    transposed = list(zip(*rows, strict=True)) if rows else [()] * width
    columns = {
        name: _clean(pa.array(transposed[i], pa.string()))
        for i, name in enumerate(layout)
        if name is not None
    }
    extra_at = [i for i, name in enumerate(layout) if name is None]
    extras = _csv_extras([names[i] for i in extra_at], [transposed[i] for i in extra_at], len(rows))
    return Frame(
        entity=entity,
        file=path.name,
        row_numbers=numbers,
        columns=_all_fields(columns, entity, len(rows)),
        extras=extras,
        record=lambda i: dict(zip(names, rows[i], strict=True)),
        malformed=malformed,
    )


def _read_csv_arrow(
    path: Path, data: bytes, names: list[str], layout: tuple[str | None, ...], entity: str
) -> Frame | None:
    """The CSV read by pyarrow (fast), or None when a row does not fit the header or a line
    is blank: row numbers then need the row-by-row reader. Gives the same frame as it."""
    invalid: list[int] = []

    def on_invalid(_row: Any) -> str:
        invalid.append(1)
        return "skip"

    try:
        table = pa_csv.read_csv(
            io.BytesIO(data[3:] if data.startswith(b"\xef\xbb\xbf") else data),
            read_options=pa_csv.ReadOptions(column_names=names, skip_rows=1),
            parse_options=pa_csv.ParseOptions(
                newlines_in_values=True, ignore_empty_lines=False, invalid_row_handler=on_invalid
            ),
            convert_options=pa_csv.ConvertOptions(
                column_types={name: pa.string() for name in names},
                strings_can_be_null=False,
                quoted_strings_can_be_null=False,
            ),
        )
    except pa.ArrowInvalid:
        return None
    if invalid:
        return None
    raw = [table.column(i).combine_chunks() for i in range(len(names))]
    cleaned = [_clean(column) for column in raw]
    non_blank = functools.reduce(pc.or_, [pc.is_valid(c) for c in cleaned])
    kept = pc.indices_nonzero(non_blank)
    raw = [column.take(kept) for column in raw]
    cleaned = [column.take(kept) for column in cleaned]
    extra_at = [i for i, name in enumerate(layout) if name is None]
    extra_columns = [raw[i].to_pylist() for i in extra_at]
    extras = _csv_extras([names[i] for i in extra_at], extra_columns, len(kept))
    return Frame(
        entity=entity,
        file=path.name,
        row_numbers=pc.add(kept, 1).to_pylist(),
        columns=_all_fields(
            {name: cleaned[i] for i, name in enumerate(layout) if name is not None},
            entity,
            len(kept),
        ),
        extras=extras,
        record=lambda i: {name: raw[j][i].as_py() for j, name in enumerate(names)},
        malformed=[],
    )


def _csv_extras(names: list[str], columns: list[Sequence[str]], length: int) -> list[str]:
    """Per row, the non-empty values of the extra columns as a JSON object (keys sorted,
    exactly as ``_ENCODE`` writes it), "{}" when none."""
    if not names:
        return ["{}"] * length
    order = sorted(range(len(names)), key=names.__getitem__)
    keys = [_encode_string(names[i]) + ":" for i in order]
    extras = []
    for values in zip(*[columns[i] for i in order], strict=True):
        parts = [k + _encode_string(v) for k, v in zip(keys, values, strict=True) if v != ""]
        extras.append("{" + ",".join(parts) + "}" if parts else "{}")
    return extras


def _unique_names(header: list[str]) -> list[str]:
    """Header names stripped; blank names become column_N, repeated names get a _N suffix."""
    names: list[str] = []
    seen: set[str] = set()
    for position, raw in enumerate(header, start=1):
        name = raw.strip() or f"column_{position}"
        candidate, n = name, 2
        while candidate in seen:
            candidate, n = f"{name}_{n}", n + 1
        seen.add(candidate)
        names.append(candidate)
    return names


def _read_jsonl(path: Path, data: bytes, entity: str) -> Frame:
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    records: list[dict[str, Any]] = []
    numbers: list[int] = []
    malformed: list[tuple[int, dict[str, Any], str]] = []
    for number, line in enumerate(data.split(b"\n"), start=1):
        if not line.strip():
            continue
        try:
            text = line.decode("utf-8").strip()
        except UnicodeDecodeError:
            text = line.decode("utf-8", errors="replace").strip()
            malformed.append(
                (number, {"_line": text}, "line is not UTF-8 text; expected a UTF-8 JSON object")
            )
            continue
        try:
            value = json.loads(text)
        except json.JSONDecodeError as exc:
            problem = f"line is not valid JSON ({exc.msg} at column {exc.colno}); expected one JSON object per line"
            malformed.append((number, {"_line": text}, problem))
            continue
        if not isinstance(value, dict):
            problem = f"line holds a JSON {_json_kind(value)}; expected a JSON object"
            malformed.append((number, {"_line": text}, problem))
            continue
        records.append(value)
        numbers.append(number)

    split = [split_record(record, entity) for record in records]
    if records and not any(values for values, _ in split):
        raise IntakeFileError(
            f"{path}: no recognisable fields in any JSON object; expected some of "
            f"{_expected_columns(entity)}"
        )
    columns = {
        name: pa.array([as_text(values.get(name)) for values, _ in split], pa.string())
        for name in s.FIELDS[entity]
    }
    return Frame(
        entity=entity,
        file=path.name,
        row_numbers=numbers,
        columns=columns,
        extras=[_ENCODE(extra) if extra else "{}" for _, extra in split],
        record=records.__getitem__,
        malformed=malformed,
    )


def _all_fields(columns: dict[str, pa.Array], entity: str, length: int) -> dict[str, pa.Array]:
    return {name: columns.get(name, pa.nulls(length, pa.string())) for name in s.FIELDS[entity]}


def _json_kind(value: Any) -> str:
    if isinstance(value, list):
        return "array"
    if isinstance(value, str):
        return "string"
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    return "number"


_FIELD_CACHE: dict[tuple[str, str], str | None] = {}
_LAYOUTS: dict[tuple[str, tuple[Any, ...]], tuple[str | None, ...]] = {}


def _field_of(name: str, entity: str) -> str | None:
    """The known field a column name means (case-insensitive, stripped), else None."""
    key = (name, entity)
    if key not in _FIELD_CACHE:
        folded = name.strip().lower()
        _FIELD_CACHE[key] = folded if folded in s.FIELDS[entity] else None
    return _FIELD_CACHE[key]


def _layout(keys: tuple[Any, ...], entity: str) -> tuple[str | None, ...]:
    """For each key of a record: the field it fills, or None when it is an extra column.

    A field named twice (``Email`` and ``email``) is filled by the first; the other is kept
    as an extra. Cached per key tuple: JSONL records mostly share a few layouts.
    """
    layout = _LAYOUTS.get((entity, keys))
    if layout is None:
        taken: set[str] = set()
        fields: list[str | None] = []
        for key in keys:
            name = _field_of(str(key), entity)
            if name in taken:
                name = None
            if name is not None:
                taken.add(name)
            fields.append(name)
        layout = tuple(fields)
        if len(_LAYOUTS) > 10_000:  # JSONL files with ever-changing keys
            _LAYOUTS.clear()
        _LAYOUTS[(entity, keys)] = layout
    return layout


def split_record(record: dict[str, Any], entity: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """(known fields -> value as read, unknown columns -> value); empty extras are dropped."""
    values: dict[str, Any] = {}
    extra: dict[str, Any] = {}
    for (key, value), name in zip(record.items(), _layout(tuple(record), entity), strict=True):
        if name is not None:
            values[name] = value
        elif value is not None and value != "":
            extra[str(key)] = value
    return values, extra


# ---------------------------------------------------------------------------- normalisation
def _strip_accents(value: str | None) -> str | None:
    if value is None or value.isascii():
        return value
    return "".join(
        ch for ch in unicodedata.normalize("NFKD", value) if not unicodedata.combining(ch)
    )


_SUFFIXES = "|".join(sorted(s.LEGAL_SUFFIXES))


def normalise_names(names: pa.Array) -> pa.Array:
    """Company names for matching: lowercase, no accents or punctuation, no legal suffix.

    "Acme, Inc." -> "acme"; "A.C.M.E. Corp" -> "acme"; "Smith & Co. KG" -> "smith".
    """
    names = pa.array([_strip_accents(v) for v in names.to_pylist()], pa.string())
    names = pc.utf8_lower(names)
    names = pc.replace_substring_regex(names, r"['’`.]", "")
    names = pc.replace_substring_regex(names, r"[^\p{L}\p{N}\s]|_", " ")
    names = pc.utf8_trim_whitespace(pc.replace_substring_regex(names, r"\s+", " "))
    names = pc.replace_substring_regex(names, rf"(?: (?:{_SUFFIXES}))+$", "")
    return pc.if_else(pc.equal(names, ""), pa.scalar(None, pa.string()), names)


def website_domains(urls: pa.Array) -> pa.Array:
    """Website URLs as domains for matching: https://www.Acme.com/about -> acme.com."""
    valid = pc.fill_null(pc.match_substring_regex(urls, s.WEB_URL_RE2), False)
    found = pc.extract_regex(pc.if_else(valid, urls, pa.scalar(None, pa.string())), s.HOST_RE2)
    hosts = pc.if_else(
        pc.is_valid(found), pc.struct_field(found, [0]), pa.scalar(None, pa.string())
    )
    hosts = pc.utf8_rtrim(pc.utf8_lower(hosts), characters=".")
    return pc.replace_substring_regex(hosts, r"^www\.", "")


def linkedin_urls(urls: pa.Array, kind: str, max_length: int | None = None) -> pa.Array:
    """Canonical LinkedIn URLs of the given kind ("company" or "in"), else null.

    The one canonical form (``outreach.tombstones.canonical_linkedin_url``, as dbt's
    normalize_linkedin_url): percent-encoding, case, scheme, www./country subdomains, port,
    query, fragment, trailing slash and sub-pages (/about/) do not matter. Computed once per
    distinct value. ``max_length`` overrides the canonical form's length limit.
    """
    distinct = pc.unique(urls)
    limit = {} if max_length is None else {"max_length": max_length}
    canonical = []
    for value in distinct.to_pylist():
        url = tombstones.canonical_linkedin_url(value, **limit)
        canonical.append(url if tombstones.linkedin_kind(url) == kind else None)
    return pc.take(pa.array(canonical, pa.string()), pc.index_in(urls, value_set=distinct))


def _matches(column: pa.Array, pattern: str) -> pa.Array:
    """True where the value matches, null where it is null."""
    return pc.match_substring_regex(column, pattern)


# ---------------------------------------------------------------------------- validation
@dataclass(frozen=True)
class Problem:
    reason: str
    field: str | None
    detail: str


Problems = dict[int, list[Problem]]


def _flag(problems: Problems, bad: pa.Array, make: Callable[[int], Problem]) -> None:
    """Add make(i) to every row i where bad is true."""
    for i in pc.indices_nonzero(pc.fill_null(bad, False)).to_pylist():
        problems.setdefault(i, []).append(make(i))


def _require(problems: Problems, frame: Frame, name: str, what: str) -> None:
    def make(i: int) -> Problem:
        raw = frame.raw_values(i)
        found = "missing" if name not in raw else f"empty ({shown(raw[name])})"
        return Problem(s.MISSING_REQUIRED_FIELD, name, f"{name} is {found}; expected {what}")

    _flag(problems, pc.is_null(frame.columns[name]), make)


def _check_format(
    problems: Problems, frame: Frame, name: str, ok: pa.Array, reason: str, expected: str
) -> None:
    """Flag rows where the field has a value and ok is false."""
    column = frame.columns[name]

    def make(i: int) -> Problem:
        value = frame.raw_values(i).get(name)
        return Problem(reason, name, f"{name} is {shown(value)}; expected {expected}")

    _flag(problems, pc.and_(pc.is_valid(column), pc.invert(pc.fill_null(ok, False))), make)


def _integers(column: pa.Array, low: int, high: int) -> tuple[pa.Array, pa.Array]:
    """(int64 values or null, ok) for text like 3, 03, +3, 3.0; ok is false out of [low, high]."""
    well_formed = pc.fill_null(_matches(column, r"^[+-]?\d{1,15}(?:\.0*)?$"), False)
    digits = pc.replace_substring_regex(column, r"^\+|\.0*$", "")
    values = pc.cast(pc.if_else(well_formed, digits, pa.scalar(None, pa.string())), pa.int64())
    in_range = pc.and_(pc.greater_equal(values, low), pc.less_equal(values, high))
    return values, pc.fill_null(in_range, False)


_WEB_EXPECTED = "an http(s) URL whose host contains a dot, or a bare domain like acme.com"
_LI_COMPANY = "a LinkedIn company URL like https://www.linkedin.com/company/acme"
_LI_PERSON = "a LinkedIn profile URL like https://www.linkedin.com/in/jane-doe"


def _check_lengths(problems: Problems, frame: Frame, linkedin: dict[str, str]) -> None:
    """Flag values longer than their field's limit (settings.MAX_LENGTH), and LinkedIn URLs
    (``linkedin``: field -> kind) whose canonical form is longer than the canonical limit."""
    for name, column in frame.columns.items():
        limit = s.MAX_LENGTH[name]

        def make(i: int, name: str = name, limit: int = limit) -> Problem:
            value = as_text(frame.raw_values(i).get(name)) or ""
            return Problem(
                s.VALUE_TOO_LONG,
                name,
                f"{name} is {len(value)} characters long ({shown(value)}); expected at most "
                f"{limit} characters",
            )

        _flag(problems, pc.greater(pc.utf8_length(column), limit), make)
    for name, kind in linkedin.items():
        column = frame.columns[name]
        fits = pc.less_equal(pc.utf8_length(column), s.MAX_LENGTH[name])
        unbounded = linkedin_urls(column.filter(fits), kind, max_length=2**31)
        bounded = frame.linkedin(name, kind).filter(fits)
        over = pc.and_(pc.is_valid(unbounded), pc.is_null(bounded))
        where = pc.indices_nonzero(fits).filter(over).to_pylist()

        def make_canonical(i: int, name: str = name) -> Problem:
            return Problem(
                s.VALUE_TOO_LONG,
                name,
                f"{name} is {shown(frame.raw_values(i).get(name))}, whose canonical form is "
                f"longer than {tombstones.MAX_LINKEDIN_URL} characters; expected at most "
                f"{tombstones.MAX_LINKEDIN_URL} (non-ASCII characters count 3-12 once "
                "percent-encoded)",
            )

        for i in where:
            problems.setdefault(i, []).append(make_canonical(i))


def check_companies(frame: Frame) -> tuple[Problems, dict[str, pa.Array]]:
    """Problems per row index (in check order) and the parsed integer columns."""
    problems: Problems = {}
    cols = frame.columns
    _check_lengths(problems, frame, {"linkedin_url": "company"})
    _require(problems, frame, "company_name", "the company's name")
    month, month_ok = _integers(cols["renewal_month"], 1, 12)
    _check_format(
        problems,
        frame,
        "renewal_month",
        month_ok,
        s.INVALID_RENEWAL_MONTH,
        "an integer 1-12 (or empty)",
    )
    days, days_ok = _integers(cols["renewal_notice_window_days"], 0, s.MAX_NOTICE_WINDOW_DAYS)
    _check_format(
        problems,
        frame,
        "renewal_notice_window_days",
        days_ok,
        s.INVALID_RENEWAL_WINDOW,
        f"a whole number of days from 0 to {s.MAX_NOTICE_WINDOW_DAYS} (or empty)",
    )
    for name in ("website_url", "news_url"):
        ok = _matches(cols[name], s.WEB_URL_RE2)
        _check_format(problems, frame, name, ok, s.INVALID_URL, _WEB_EXPECTED)
    ok = pc.is_valid(frame.linkedin("linkedin_url", "company"))
    _check_format(problems, frame, "linkedin_url", ok, s.INVALID_URL, _LI_COMPANY)
    return problems, {"renewal_month": month, "renewal_notice_window_days": days}


def check_people(frame: Frame) -> Problems:
    """Problems per row index (in check order), employer matching aside."""
    problems: Problems = {}
    cols = frame.columns
    _check_lengths(problems, frame, {"linkedin_url": "in", "company_linkedin_url": "company"})
    _require(problems, frame, "full_name", "the person's full name")
    no_employer = pc.and_(
        pc.and_(pc.is_null(cols["company_name"]), pc.is_null(cols["company_website"])),
        pc.is_null(cols["company_linkedin_url"]),
    )
    _flag(
        problems,
        no_employer,
        lambda _i: Problem(
            s.MISSING_REQUIRED_FIELD,
            "company_name",
            "no employer given (company_name, company_website and company_linkedin_url are "
            "all empty); expected at least one of them",
        ),
    )
    email = cols["email"]
    email_ok = pc.and_(_matches(email, s.EMAIL_RE2), pc.less_equal(pc.utf8_length(email), 254))
    _check_format(
        problems, frame, "email", email_ok, s.INVALID_EMAIL, "an address like jane.doe@acme.com"
    )
    ok = pc.is_valid(frame.linkedin("linkedin_url", "in"))
    _check_format(problems, frame, "linkedin_url", ok, s.INVALID_URL, _LI_PERSON)
    ok = _matches(cols["company_website"], s.WEB_URL_RE2)
    _check_format(problems, frame, "company_website", ok, s.INVALID_URL, _WEB_EXPECTED)
    ok = pc.is_valid(frame.linkedin("company_linkedin_url", "company"))
    _check_format(problems, frame, "company_linkedin_url", ok, s.INVALID_URL, _LI_COMPANY)
    return problems


def _valid_timestamps(column: pa.Array) -> pa.Array:
    """True where the text is an ISO 8601 date or timestamp Python can parse (a real
    calendar date: 2026-02-30 is not), null where it is null."""
    out: list[bool | None] = []
    for value in column.to_pylist():
        if value is None:
            out.append(None)
            continue
        try:
            datetime.fromisoformat(value.replace("z", "Z"))
        except ValueError:
            out.append(False)
        else:
            out.append(True)
    return pa.array(out, pa.bool_())


def check_deals(frame: Frame) -> Problems:
    """Problems per row index (in check order) of a deals file."""
    problems: Problems = {}
    cols = frame.columns
    _check_lengths(problems, frame, {})
    _require(problems, frame, "deal_id", "the deal's id in the CRM")
    no_contact = pc.and_(pc.is_null(cols["contact_id"]), pc.is_null(cols["contact_email"]))
    _flag(
        problems,
        no_contact,
        lambda _i: Problem(
            s.MISSING_REQUIRED_FIELD,
            "contact_email",
            "no contact given (contact_id and contact_email are both empty); expected at "
            "least one of them",
        ),
    )
    _, id_ok = _integers(cols["contact_id"], 1, 10**15)
    _check_format(
        problems,
        frame,
        "contact_id",
        id_ok,
        s.INVALID_CONTACT_ID,
        "a people.contact id (1, 2, ...)",
    )
    email = cols["contact_email"]
    email_ok = pc.and_(_matches(email, s.EMAIL_RE2), pc.less_equal(pc.utf8_length(email), 254))
    _check_format(
        problems,
        frame,
        "contact_email",
        email_ok,
        s.INVALID_EMAIL,
        "an address like jane.doe@acme.com",
    )
    amount_ok = _matches(cols["amount"], s.AMOUNT_RE2)
    _check_format(
        problems,
        frame,
        "amount",
        amount_ok,
        s.INVALID_AMOUNT,
        "a non-negative number like 12500 or 12500.50 (no thousands separators or symbols)",
    )
    _flag(
        problems,
        pc.and_(pc.is_valid(cols["amount"]), pc.is_null(cols["currency"])),
        lambda i: Problem(
            s.MISSING_REQUIRED_FIELD,
            "currency",
            f"amount is {shown(frame.raw_values(i).get('amount'))} but currency is empty; "
            "expected a currency code like USD",
        ),
    )
    currency_ok = _matches(cols["currency"], s.CURRENCY_RE2)
    _check_format(
        problems,
        frame,
        "currency",
        currency_ok,
        s.INVALID_CURRENCY,
        "a three-letter currency code like USD or EUR",
    )
    won_ok = pc.is_in(pc.utf8_lower(cols["closed_won"]), pa.array(s.BOOLEAN_WORDS))
    _check_format(
        problems,
        frame,
        "closed_won",
        won_ok,
        s.INVALID_BOOLEAN,
        "one of " + ", ".join(s.BOOLEAN_WORDS) + " (or empty)",
    )
    _check_format(
        problems,
        frame,
        "closed_at",
        _valid_timestamps(cols["closed_at"]),
        s.INVALID_DATE,
        "an ISO 8601 date or timestamp like 2026-11-30 or 2026-11-30T14:00:00Z",
    )
    return problems


# ---------------------------------------------------------------------------- employer matching
@dataclass
class CompanyIndex:
    """Normalised identities of known companies: LinkedIn URLs, website domains, names."""

    parts: list[tuple[pa.Array, pa.Array, pa.Array]] = field(default_factory=list)

    def add_frame(self, frame: Frame, good: pa.Array) -> None:
        """The companies of a frame where good is true."""
        self.parts.append(
            (
                frame.linkedin("linkedin_url", "company").filter(good),
                website_domains(frame.columns["website_url"].filter(good)),
                normalise_names(frame.columns["company_name"].filter(good)),
            )
        )

    def add_records(self, companies: Sequence[dict[str, Any]]) -> None:
        """Companies as {company_name, website_url, linkedin_url} (e.g. already loaded)."""

        def column(name: str) -> pa.Array:
            return _clean(pa.array([as_text(c.get(name)) for c in companies], pa.string()))

        if companies:
            self.parts.append(
                (
                    linkedin_urls(column("linkedin_url"), "company"),
                    website_domains(column("website_url")),
                    normalise_names(column("company_name")),
                )
            )

    def _set(self, position: int) -> pa.Array:
        arrays = [part[position] for part in self.parts]
        if not arrays:
            return pa.array([], pa.string())
        return pc.unique(pc.drop_null(pa.concat_arrays(arrays)))

    def matched(self, frame: Frame) -> pa.Array:
        """True for people whose employer matches by LinkedIn URL, website domain or name."""
        cols = frame.columns
        by_linkedin = pc.is_in(
            frame.linkedin("company_linkedin_url", "company"), value_set=self._set(0)
        )
        by_domain = pc.is_in(website_domains(cols["company_website"]), value_set=self._set(1))
        by_name = pc.is_in(normalise_names(cols["company_name"]), value_set=self._set(2))
        return pc.or_(pc.or_(by_linkedin, by_domain), by_name)


def _unmatched(frame: Frame, i: int) -> Problem:
    values = frame.raw_values(i)
    given = [name for name in s.EMPLOYER_FIELDS if as_text(values.get(name))]
    tried = ", ".join(f"{name} {shown(values[name])}" for name in given)
    return Problem(
        s.UNMATCHED_EMPLOYER,
        given[0],
        f"no company matches {tried}; expected the employer to be a company in this load "
        "or already in raw_intake.companies (matched by LinkedIn URL, website domain or name)",
    )


# ---------------------------------------------------------------------------- the batch
@dataclass
class EntityStats:
    """Counts for one entity file."""

    entity: str
    file: str
    rows: int = 0
    loaded: int = 0
    new: int = 0
    already_present: int = 0
    quarantined: int = 0
    by_reason: Counter = field(default_factory=Counter)
    gdpr_erased: int = 0  # rows of erased people: dropped, not quarantined (no PII kept)

    def as_dict(self) -> dict[str, Any]:
        return {
            "entity": self.entity,
            "file": self.file,
            "rows": self.rows,
            "loaded": self.loaded,
            "new": self.new,
            "already_present": self.already_present,
            "quarantined": self.quarantined,
            "quarantined_by_reason": dict(sorted(self.by_reason.items())),
            "gdpr_erased": self.gdpr_erased,
        }


@dataclass
class ExistingState:
    """What raw_intake already holds: row keys per table and company identities."""

    keys: dict[str, set[str]] = field(default_factory=dict)
    companies: list[dict[str, Any]] = field(default_factory=list)
    tombstones: frozenset[str] = frozenset()  # hashes of GDPR-erased identifiers


def read_existing(
    fetch: Callable[[str], list[tuple] | None], dataset: str = s.DATASET_NAME
) -> ExistingState:
    """Existing row keys and company identities; ``fetch(sql)`` returns None for a missing table."""
    state = ExistingState()
    for table in TABLE_SCHEMAS:
        rows = fetch(f'select _row_key from "{dataset}"."{table}"')
        state.keys[table] = {r[0] for r in rows or []}
    rows = fetch(f'select company_name, website_url, linkedin_url from "{dataset}"."companies"')
    state.companies = [
        {"company_name": r[0], "website_url": r[1], "linkedin_url": r[2]} for r in rows or []
    ]
    rows = fetch(f"select value_sha256 from {tombstones.SCHEMA}.{tombstones.TABLE}")
    state.tombstones = frozenset(r[0] for r in rows or [])
    return state


def drop_erased(frame: Frame, erased: frozenset[str]) -> tuple[Frame, int]:
    """The frame without rows (malformed ones too) that carry a GDPR-erased email or
    LinkedIn URL anywhere in the row as read, and how many were dropped. Such rows are
    neither loaded nor quarantined: nothing of them is kept."""
    if not erased:
        return frame, 0
    drop = [i for i in range(len(frame)) if tombstones.record_is_erased(frame.record(i), erased)]
    malformed = [m for m in frame.malformed if not tombstones.record_is_erased(m[1], erased)]
    dropped = len(drop) + len(frame.malformed) - len(malformed)
    if not dropped:
        return frame, 0
    gone = set(drop)
    keep = [i for i in range(len(frame)) if i not in gone]
    take = pa.array(keep, pa.int64())
    record = frame.record
    return (
        Frame(
            entity=frame.entity,
            file=frame.file,
            row_numbers=[frame.row_numbers[i] for i in keep],
            columns={name: column.take(take) for name, column in frame.columns.items()},
            extras=[frame.extras[i] for i in keep],
            record=lambda i: record(keep[i]),
            malformed=malformed,
        ),
        dropped,
    )


@dataclass
class IntakeBatch:
    """Everything one load writes: arrow tables for the three raw tables, and the counts."""

    companies: pa.Table
    people: pa.Table
    quarantine: pa.Table
    stats: list[EntityStats]
    loaded_at: datetime
    deals: pa.Table = field(default_factory=DEAL_SCHEMA.empty_table)


def _shortened(raw: dict[str, Any], entity: str) -> dict[str, Any]:
    """The row as read, with each value longer than its field's limit cut to its beginning
    (an over-long value is never stored in full, not even in the quarantine)."""
    out = {}
    for key, value in raw.items():
        field_name = _field_of(str(key), entity)
        limit = s.MAX_LENGTH[field_name] if field_name else s.MAX_EXTRA_CHARS
        text = value if isinstance(value, str) else as_text(value)
        if text is not None and len(text) > limit:
            kept = min(s.QUARANTINE_VALUE_CHARS, limit)
            value = f"{text[:kept]}… [cut: {len(text)} characters]"
        out[key] = value
    return out


class _BatchBuilder:
    """Collects new raw-table rows and quarantine rows, skipping keys already present."""

    def __init__(self, existing_keys: dict[str, set[str]], loaded_at: datetime) -> None:
        self.loaded_at = loaded_at
        self.seen = {name: set(existing_keys.get(name, ())) for name in TABLE_SCHEMAS}
        self.tables: dict[str, pa.Table] = {}
        self.quarantine_rows: list[tuple] = []

    def quarantine(
        self, st: EntityStats, row_number: int, raw: dict[str, Any], problems: list[Problem]
    ) -> None:
        first = problems[0]
        raw = _shortened(raw, st.entity)
        detail = first.detail
        if len(problems) > 1:
            detail += "; also: " + "; ".join(f"{p.reason} ({p.field})" for p in problems[1:])
        st.quarantined += 1
        st.by_reason[first.reason] += 1
        key = row_key(st.entity, st.file, row_number, raw)
        if key not in self.seen["quarantine"]:
            self.seen["quarantine"].add(key)
            self.quarantine_rows.append(
                (
                    key,
                    st.entity,
                    st.file,
                    row_number,
                    first.reason,
                    first.field,
                    detail,
                    _ENCODE(raw),
                    self.loaded_at,
                    dlt_id(key),
                )
            )

    def add_frame(
        self, frame: Frame, problems: Problems, values: dict[str, pa.Array]
    ) -> EntityStats:
        """Quarantine the rows with problems, keep the rest (new keys only)."""
        st = EntityStats(frame.entity, frame.file, rows=len(frame) + len(frame.malformed))
        bad: dict[int, tuple[dict[str, Any], list[Problem]]] = {}
        for number, raw, problem in frame.malformed:
            bad[number] = (raw, [Problem(s.MALFORMED_ROW, None, problem)])
        for i, row_problems in problems.items():
            bad[frame.row_numbers[i]] = (frame.record(i), row_problems)
        for number in sorted(bad):
            raw, row_problems = bad[number]
            self.quarantine(st, number, raw, row_problems)

        good = [i for i in range(len(frame)) if i not in problems]
        st.loaded = len(good)
        if not good:
            return st
        take = pa.array(good, pa.int64())
        columns = [values[name].take(take) for name in s.FIELDS[frame.entity]]
        extras = [frame.extras[i] for i in good]
        canonical = pc.binary_join_element_wise(
            frame.entity,
            *[c.cast(pa.string()) for c in columns],
            pa.array(extras, pa.string()),
            "\x1f",
            null_handling="replace",
            null_replacement="\x00",
        )
        seen = self.seen[ENTITY_TABLE[frame.entity]]
        keep: list[int] = []
        keys: list[str] = []
        for position, text in enumerate(canonical.to_pylist()):
            key = hashlib.sha256(text.encode("utf-8")).hexdigest()
            if key not in seen:
                seen.add(key)
                keep.append(position)
                keys.append(key)
        st.new = len(keep)
        st.already_present = st.loaded - st.new
        rows = pa.array(keep, pa.int64())
        n = len(keep)
        table = pa.Table.from_arrays(
            [
                pa.array(keys, pa.string()),
                pa.repeat(pa.scalar(frame.file, pa.string()), n),
                pa.array([frame.row_numbers[good[p]] for p in keep], pa.int64()),
                pa.repeat(pa.scalar(self.loaded_at, _TIMESTAMP), n),
                *[c.take(rows) for c in columns],
                pa.array([extras[p] for p in keep], pa.string()),
                pa.array([dlt_id(key) for key in keys], pa.string()),
            ],
            schema=TABLE_SCHEMAS[ENTITY_TABLE[frame.entity]],
        )
        self.tables[ENTITY_TABLE[frame.entity]] = table
        return st

    def batch(self, stats: list[EntityStats]) -> IntakeBatch:
        def table(name: str) -> pa.Table:
            return self.tables.get(name) or TABLE_SCHEMAS[name].empty_table()

        columns = list(zip(*self.quarantine_rows, strict=True)) or [()] * len(QUARANTINE_SCHEMA)
        quarantine = pa.Table.from_arrays(
            [pa.array(col, f.type) for col, f in zip(columns, QUARANTINE_SCHEMA, strict=True)],
            schema=QUARANTINE_SCHEMA,
        )
        return IntakeBatch(
            companies=table("companies"),
            people=table("people"),
            deals=table("deals"),
            quarantine=quarantine,
            stats=stats,
            loaded_at=self.loaded_at,
        )


def build_batch(
    companies: Path | None,
    people: Path | None,
    *,
    known_companies: Sequence[dict[str, Any]] = (),
    existing_keys: dict[str, set[str]] | None = None,
    progress: Callable[[str], Any] = lambda _line: None,
    loaded_at: datetime | None = None,
    erased: frozenset[str] = frozenset(),
    deals: Path | None = None,
) -> IntakeBatch:
    """Read, validate and shape the files; rows whose key is in existing_keys are left out.

    People are matched against the valid companies of this batch and known_companies.
    People and deal rows carrying an identifier hash in ``erased`` (GDPR tombstones) are
    dropped.
    """
    builder = _BatchBuilder(existing_keys or {}, loaded_at or datetime.now(UTC))
    index = CompanyIndex()
    stats: list[EntityStats] = []
    if companies:
        progress(f"reading companies file {companies}")
        frame = read_file(Path(companies), s.COMPANY)
        problems, ints = check_companies(frame)
        stats.append(builder.add_frame(frame, problems, {**frame.columns, **ints}))
        if people:
            index.add_frame(frame, pa.array([i not in problems for i in range(len(frame))]))
    if people:
        progress(f"reading people file {people}")
        frame = read_file(Path(people), s.PERSON)
        frame, dropped = drop_erased(frame, erased)
        problems = check_people(frame)
        index.add_records(known_companies)
        matched = index.matched(frame)
        unmatched = pc.invert(pc.fill_null(matched, False))
        for i in pc.indices_nonzero(unmatched).to_pylist():
            if i not in problems:
                problems[i] = [_unmatched(frame, i)]
        stats.append(builder.add_frame(frame, problems, frame.columns))
        stats[-1].rows += dropped
        stats[-1].gdpr_erased = dropped
        if dropped:
            progress(f"dropped {dropped} rows of GDPR-erased people (tombstoned; nothing kept)")
    if deals:
        progress(f"reading deals file {deals}")
        frame = read_file(Path(deals), s.DEAL)
        frame, dropped = drop_erased(frame, erased)
        stats.append(builder.add_frame(frame, check_deals(frame), frame.columns))
        stats[-1].rows += dropped
        stats[-1].gdpr_erased = dropped
        if dropped:
            progress(f"dropped {dropped} deal rows of GDPR-erased people (nothing kept)")
    return builder.batch(stats)
