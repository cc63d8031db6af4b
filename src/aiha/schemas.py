"""pandera schemas of the raw site exports and of the cleaned tables.

Raw tables are validated as text first (every cell a string, as exported), so a
failure can be reported with its file, row, column and value before any parsing.
"""

from __future__ import annotations

import re

import pandas as pd
import pandera.pandas as pa

from aiha.errors import InputError
from aiha.pseudonym import PATTERN as PSEUDONYM_PATTERN
from aiha.therapies import COLUMNS as PRIOR_THERAPY_COLUMNS
from aiha.therapies import RECORDED_COLUMN as PRIOR_THERAPIES_RECORDED

_NONEMPTY = pa.Check.str_length(min_value=1, error="must not be empty")
_INT = pa.Check.str_matches(r"^\s*\d+\s*$", error="must be a whole number")
_NUMBER = pa.Check.str_matches(r"^\s*-?\d+([.,]\d+)?\s*$", error="must be a number")
_OPTIONAL = {"nullable": False}


def _text(*checks: pa.Check) -> pa.Column:
    return pa.Column(str, checks=list(checks), **_OPTIONAL)


RAW_SCHEMAS: dict[str, pa.DataFrameSchema] = {
    "patients": pa.DataFrameSchema(
        {
            "record_number": _text(_NONEMPTY),
            "name": _text(),
            "birth_date": _text(_NONEMPTY),
            "sex": _text(_NONEMPTY),
            "diagnosis": _text(_NONEMPTY),
            "evans": _text(_NONEMPTY),
            "acrocyanosis": _text(_NONEMPTY),
            "acrocyanosis_response": _text(),
            "prior_lines": _text(_INT),
            # Optional: codes separated by aiha.therapies.SEPARATOR, mapped when cleaning.
            "prior_therapies": pa.Column(str, required=False, **_OPTIONAL),
            "comment": _text(),
        },
        strict=False,
    ),
    "labs": pa.DataFrameSchema(
        {
            "record_number": _text(_NONEMPTY),
            "sample_date": _text(_NONEMPTY),
            "analyte": _text(_NONEMPTY),
            "value": _text(_NUMBER),
            "unit": _text(_NONEMPTY),
            "comment": _text(),
        },
        strict=False,
    ),
    "transfusions": pa.DataFrameSchema(
        {
            "record_number": _text(_NONEMPTY),
            "transfusion_date": _text(_NONEMPTY),
            "units": _text(_INT),
            "product": _text(),
        },
        strict=False,
    ),
    "treatments": pa.DataFrameSchema(
        {
            "record_number": _text(_NONEMPTY),
            "administration_date": _text(_NONEMPTY),
            "treatment": _text(_NONEMPTY),
            "dose_mg": _text(_NUMBER),
            "route": _text(),
        },
        strict=False,
    ),
    "adverse_events": pa.DataFrameSchema(
        {
            "record_number": _text(_NONEMPTY),
            "ae_number": _text(_INT),
            "onset_date": _text(_NONEMPTY),
            "term": _text(_NONEMPTY),
            "ctcae_grade": _text(_INT, pa.Check.str_matches(r"^\s*[1-5]\s*$", error="CTCAE grade must be 1-5")),
            "serious": _text(_NONEMPTY),
            "description": _text(),
        },
        strict=False,
    ),
}


# A column name, or column names joined by a wrong delimiter (letters and "_" only:
# a record number such as AB_123456 is not shown).
_COLUMN_NAME = re.compile(r"[A-Za-z_]{1,40}(?:[,;|\t][A-Za-z_]{1,40}){0,30}")
_KNOWN_COLUMNS = {c for s in RAW_SCHEMAS.values() for c in s.columns}


def _known(cell: str) -> bool:
    return all(part in _KNOWN_COLUMNS for part in re.split(r"[,;|\t]", cell))


def shown_header(columns: list[str]) -> list[str]:
    """Header cells a message may show. A header that is mostly unknown is a data
    row (a file without its header): then only known column names are shown."""
    cells = [str(c) for c in columns]
    mostly_known = sum(_known(c) for c in cells) * 2 >= len(cells)
    return [c if _known(c) or (mostly_known and _COLUMN_NAME.fullmatch(c)) else "[not shown]"
            for c in cells]


def validate_raw(table: str, frame: pd.DataFrame, file: str) -> None:
    """Validate a raw export read as text; raise InputError at the first failure."""
    schema = RAW_SCHEMAS[table]
    missing = [c for c, col in schema.columns.items() if col.required and c not in frame.columns]
    if missing:
        # A file without its header row has data in the header: show only cells
        # that look like column names, never a record number, name or date.
        found = shown_header(list(frame.columns))
        raise InputError(
            file,
            f"missing column(s) {missing}; found {found} "
            "(check the column names and the site's delimiter)",
            column=missing[0],
        )
    try:
        schema.validate(frame, lazy=True)
    except pa.errors.SchemaErrors as err:
        cases = err.failure_cases.sort_values("index", na_position="first")
        first = cases.iloc[0]
        index = first["index"]
        row = None if pd.isna(index) else int(index) + 1
        raise InputError(
            file,
            f"value fails check: {first['check']}",
            row=row,
            column=str(first["column"]),
            value=first["failure_case"],
        ) from None


_BOOL = pa.Column(bool)
CLEAN_SCHEMAS: dict[str, pa.DataFrameSchema] = {
    "patients": pa.DataFrameSchema(
        {
            "patient_id": pa.Column(str, pa.Check.str_matches(PSEUDONYM_PATTERN), unique=True),
            "site": pa.Column(str),
            "country": pa.Column(str),
            "sex": pa.Column(str, pa.Check.isin(["male", "female"])),
            "age_at_first_dose": pa.Column(int),
            "diagnosis": pa.Column(str, pa.Check.isin(["wAIHA", "cAIHA"])),
            "evans": _BOOL,
            "acrocyanosis": _BOOL,
            "acrocyanosis_response": pa.Column(object, nullable=True),
            "prior_lines": pa.Column(int, pa.Check.ge(0)),
            # Prior therapies by type (aiha.therapies): missing where the site does not
            # export them (prior_therapies_recorded false).
            PRIOR_THERAPIES_RECORDED: _BOOL,
            **{c: pa.Column("boolean", nullable=True) for c in PRIOR_THERAPY_COLUMNS},
            "first_dose_date": pa.Column(str),
            "comment": pa.Column(str),
        },
        strict=True,
        coerce=True,
    ),
    "labs": pa.DataFrameSchema(
        {
            "patient_id": pa.Column(str),
            "date": pa.Column(str),
            "day": pa.Column(int),
            "analyte": pa.Column(str, pa.Check.isin(["hb", "ldh", "bilirubin"])),
            "value": pa.Column(float, pa.Check.ge(0)),
            "unit": pa.Column(str),
            "raw_value": pa.Column(str),
            "raw_unit": pa.Column(str),
            "flag": pa.Column(str, pa.Check.isin(["", "suspicious"])),
            "comment": pa.Column(str),
        },
        strict=True,
        coerce=True,
    ),
    "adverse_events": pa.DataFrameSchema(
        {
            "patient_id": pa.Column(str),
            "ae_number": pa.Column(int),
            "onset_date": pa.Column(str),
            "day": pa.Column(int, pa.Check.ge(0)),
            "term": pa.Column(str),
            "grade": pa.Column(int, pa.Check.in_range(1, 5)),
            "serious": _BOOL,
            "description": pa.Column(str),
            "reports": pa.Column(int, pa.Check.ge(1)),
            # Optional export columns ("" where not exported).
            "soc": pa.Column(str),
            "related": pa.Column(str, pa.Check.isin(["", "True", "False"])),
            "outcome": pa.Column(str),
        },
        strict=True,
        coerce=True,
    ),
}
