"""Reading a site export as real CSV, and parsing its cells.

The file is decoded as a whole and handed to the csv module through a text
stream opened with ``newline=""`` (as the csv documentation requires), so:

- a newline inside a quoted field stays in the field;
- Unicode line and paragraph separators (U+2028, U+2029, U+0085, ...) inside a
  field are ordinary characters (``str.splitlines`` used to break rows there);
- a field longer than :data:`FIELD_SIZE_LIMIT` characters, a NUL byte, and an
  integer out of its range are errors naming file, row and column.

Row numbers are 1-based data records (the header is not counted; a record with
a quoted newline is still one row).
"""

from __future__ import annotations

import csv
import io
import re
from datetime import date, datetime
from pathlib import Path
from typing import Any

import pandas as pd

from aiha.cleaning.profiles import SiteProfile
from aiha.errors import InputError
from aiha.schemas import shown_header, validate_raw

# Longest field accepted, in characters (a free-text comment of several pages).
FIELD_SIZE_LIMIT = 32_768
# Characters that never belong in an export: NUL and the other C0 controls
# except tab, newline and carriage return, DEL, and the C1 controls U+0080-U+009F
# (a Windows-1252 file read as Latin-1 gives them for its quotes, dashes and the
# ellipsis).
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")


def read_raw_table(path: Path, table: str, profile: SiteProfile) -> pd.DataFrame:
    """Read one export as text cells and validate them (:func:`aiha.schemas.validate_raw`)."""
    frame = parse_raw_table(path, table, profile)
    validate_raw(table, frame, str(path))
    return frame


def parse_raw_table(path: Path, table: str, profile: SiteProfile) -> pd.DataFrame:
    """Read one export as text cells, with the site's delimiter and encoding."""
    name = str(path)
    if not path.exists():
        raise InputError(name, f"missing export file for table {table!r}")
    data = path.read_bytes()
    if not data.strip():
        raise InputError(name, "file is empty (expected a header row)")
    try:
        text = data.decode(profile.encoding)
    except UnicodeDecodeError as err:
        raise InputError(
            name,
            f"not valid {profile.encoding} (byte {data[err.start]:#04x} at offset {err.start}); "
            "re-export with the encoding declared in the site profile",
        ) from None
    text = text.lstrip("\ufeff")
    rows = _parse_csv(text, profile.delimiter, name)
    header = [h.strip() for h in rows[0]]
    check_unique_header(header, name)
    body = [r for r in rows[1:] if r]  # csv gives [] for a blank line
    for i, r in enumerate(body, start=1):
        if len(r) != len(header):
            raise InputError(  # the row's text is not shown: it may hold identifiers
                name,
                f"has {len(r)} fields, header has {len(header)} "
                f"(delimiter {profile.delimiter!r} expected)",
                row=i,
            )
        for column, cell in zip(header, r):
            if len(cell) > FIELD_SIZE_LIMIT:
                raise InputError(name, f"field of {len(cell)} characters; the limit is "
                                 f"{FIELD_SIZE_LIMIT} (aiha.cleaning.reading.FIELD_SIZE_LIMIT)",
                                 row=i, column=column)
            bad = _CONTROL.search(cell)
            if bad:
                c = ord(bad.group())
                kind = ("NUL byte" if c == 0 else
                        "C1 control: a Windows-1252 file read as "
                        f"{profile.encoding}? declare encoding cp1252 in the site profile"
                        if 0x80 <= c <= 0x9F else "not text")
                raise InputError(name, f"control character U+{c:04X} ({kind}) in the "
                                 "field; re-export as plain text", row=i, column=column)
    return pd.DataFrame(body, columns=header, dtype=str)


def check_unique_header(header: list[str], name: str) -> None:
    """Each column name once (trimmed, any case): a second ``name`` or ``value``
    column would silently stand in for the first. The error names the file and both
    columns (their 1-based positions). A header row that reads as data (a file
    without its header: :func:`aiha.schemas.shown_header` hides its cells) is left to
    the missing-column check, so that no data value is echoed."""
    shown = shown_header(header)
    first: dict[str, int] = {}
    for i, h in enumerate(header, start=1):
        key = h.casefold()
        if key in first and shown[i - 1] == h:
            raise InputError(name, f"duplicated column header: columns {first[key]} "
                             f"({header[first[key] - 1]!r}) and {i} ({h!r}) have the same "
                             "name; each column must be named once", column=h)
        first.setdefault(key, i)


def _parse_csv(text: str, delimiter: str, name: str) -> list[list[str]]:
    old = csv.field_size_limit()
    # Parse with room to spare, then report the first field over the stated limit
    # with its row and column (the csv module's own error names neither).
    csv.field_size_limit(max(old, 64 * FIELD_SIZE_LIMIT))
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=False)
    rows: list[list[str]] = []
    try:
        for r in reader:
            rows.append(r)
    except csv.Error as err:
        raise InputError(name, f"not readable as CSV ({err}); a field may exceed "
                         f"{FIELD_SIZE_LIMIT} characters or a quote is not closed",
                         row=max(1, len(rows))) from None
    finally:
        csv.field_size_limit(old)
    return rows


def parse_date(text: str, fmt: str, file: str, row: int, column: str) -> date:
    """A date in the site's format."""
    try:
        return datetime.strptime(text.strip(), fmt).date()
    except ValueError:
        raise InputError(file, f"not a date in the site format {fmt}", row, column, text) from None


def parse_number(text: str, decimal: str, file: str, row: int, column: str) -> float:
    """A number with the site's decimal mark."""
    t = text.strip()
    if decimal != ".":
        if "." in t:
            raise InputError(file, f"decimal mark must be {decimal!r}", row, column, text)
        t = t.replace(decimal, ".")
    elif "," in t:
        raise InputError(file, "decimal mark must be '.'", row, column, text)
    try:
        value = float(t)
    except ValueError:
        raise InputError(file, "not a number", row, column, text) from None
    if value != value or value in (float("inf"), float("-inf")):
        raise InputError(file, "not a finite number", row, column, text)
    return value


def parse_int(text: str, file: str, row: int, column: str, lo: int, hi: int) -> int:
    """A whole number within [lo, hi] (a 23-digit integer is out of range, not a crash)."""
    t = text.strip()
    if not t.isdigit() or not t.isascii():
        raise InputError(file, "must be a whole number", row, column, text)
    if len(t) > 18 or not lo <= int(t) <= hi:
        shown = text if len(t) <= 18 else f"{t[:6]}... ({len(t)} digits)"
        raise InputError(file, f"whole number out of range (allowed {lo}-{hi})", row, column, shown)
    return int(t)


def map_code(
    text: str, profile: SiteProfile, kind: str, file: str, row: int, column: str
) -> Any:
    """A site code mapped to the study's canonical value."""
    mapping = profile.codes[kind]
    key = text.strip().upper()
    if key not in mapping:
        allowed = ", ".join(sorted(mapping))
        raise InputError(file, f"unknown {kind} code; allowed: {allowed}", row, column, text)
    return mapping[key]


def map_code_list(
    text: str, separator: str, profile: SiteProfile, kind: str, file: str, row: int, column: str
) -> set[Any]:
    """A cell holding site codes separated by ``separator``, each mapped like
    :func:`map_code`. An empty cell (or empty items, e.g. a trailing separator) maps
    to nothing; an unknown code is an error showing that code."""
    items = [item.strip() for item in text.split(separator)]
    items = [item for item in items if item]
    if items and kind not in profile.codes:
        raise InputError(file, f"the export profile of site {profile.code} has no "
                         f"codes.{kind} table to map this column (config data.site_profiles)",
                         row, column, items[0])
    return {map_code(item, profile, kind, file, row, column) for item in items}
