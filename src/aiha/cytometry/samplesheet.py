"""The raw cytometry sample sheet: validation (pandera) and pseudonymized metadata.

Sample metadata come from the sheet, never from file names. The sheet holds the
hospital record number; the results table built here holds only the pseudonym.
"""

from __future__ import annotations

import os
import re
from datetime import date
from pathlib import Path

import pandas as pd
import pandera.pandas as pa

from aiha.cleaning.freetext import clean_text
from aiha.errors import InputError
from aiha.identifiers import IdentifierIndex
from aiha.pseudonym import pseudonymize

TUBES = ("phenotype", "function")
SAMPLE_ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._-]*$"
# Optional columns: workspace_sample, the sample's name in the FlowJo workspace
# (default: the FCS file name, as FlowJo names samples; set it when a file was
# renamed after analysis).
OPTIONAL_COLUMNS = {"workspace_sample": pa.Column(str, required=False)}  # empty: the file name
SAMPLES_COLUMNS = ["sample_id", "patient_id", "tube", "visit", "collection_date", "day", "file"]


def _iso_date(value: str) -> bool:
    try:
        return bool(re.fullmatch(r"\d{4}-\d{2}-\d{2}", value)) and date.fromisoformat(value) is not None
    except ValueError:
        return False


SAMPLE_SHEET_SCHEMA = pa.DataFrameSchema(
    {
        "sample_id": pa.Column(str, pa.Check.str_matches(SAMPLE_ID_PATTERN), unique=True),
        "file": pa.Column(str, [pa.Check.str_length(min_value=1), pa.Check.str_matches(r"(?i)^[^/\\]+\.fcs$")]),
        "site": pa.Column(str, pa.Check.str_length(min_value=1)),
        "record_number": pa.Column(str, pa.Check.str_length(min_value=1)),
        "tube": pa.Column(str, pa.Check.isin(TUBES)),
        "visit": pa.Column(str, pa.Check.str_length(min_value=1)),
        "collection_date": pa.Column(str, pa.Check(lambda s: s.map(_iso_date), element_wise=False)),
    },
    strict=True,
    ordered=False,
    coerce=False,
    unique=["file"],
)


def read_sample_sheet(path: str | os.PathLike[str]) -> pd.DataFrame:
    """Read and validate the sheet; a violation raises InputError naming row,
    column and value (rows are 1-based data rows)."""
    path = str(path)
    try:
        sheet = pd.read_csv(path, dtype=str, keep_default_na=False, na_values=[])
    except FileNotFoundError as exc:
        raise InputError(path, "sample sheet not found") from exc
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
        raise InputError(path, f"sample sheet is not a readable CSV: {exc}") from exc
    sheet = sheet.apply(lambda col: col.str.strip())
    missing = [c for c in SAMPLE_SHEET_SCHEMA.columns if c not in sheet.columns]
    if missing:
        raise InputError(path, "sample sheet lacks a required column", column=missing[0])
    extra = [c for c in sheet.columns if c not in SAMPLE_SHEET_SCHEMA.columns and c not in OPTIONAL_COLUMNS]
    if extra:
        raise InputError(path, "sample sheet has an unknown column", column=extra[0])
    try:
        SAMPLE_SHEET_SCHEMA.add_columns(
            {c: col for c, col in OPTIONAL_COLUMNS.items() if c in sheet.columns}).validate(sheet, lazy=True)
    except pa.errors.SchemaErrors as exc:
        cases = exc.failure_cases
        first = cases.iloc[0]
        column = first.get("column")
        index = first.get("index")
        row = int(index) + 1 if pd.notna(index) else None
        value = first.get("failure_case")
        raise InputError(path, f"sample sheet check failed: {first.get('check')}", row=row,
                         column=None if pd.isna(column) else str(column), value=value) from exc
    return sheet.reset_index(drop=True)


def check_files(sheet: pd.DataFrame, sheet_path: str | os.PathLike[str]) -> None:
    """Every row names an existing FCS file beside the sheet, and every FCS file
    there has a row."""
    folder = Path(sheet_path).parent
    for i, name in enumerate(sheet["file"], start=1):
        if not (folder / name).is_file():
            raise InputError(str(sheet_path), "sample sheet row names an FCS file that does not exist",
                             row=i, column="file", value=name)
    listed = set(sheet["file"])
    for fcs in sorted(folder.iterdir()):
        if fcs.suffix.lower() == ".fcs" and fcs.name not in listed:
            raise InputError(str(fcs), "FCS file has no row in the sample sheet", column="file",
                             value=fcs.name)


def check_sheet_identifiers(sheet: pd.DataFrame, sheet_path: str | os.PathLike[str],
                            raw_dir: str | os.PathLike[str],
                            site_profiles: str | os.PathLike[str]) -> None:
    """Refuse a sample id or FCS file name that holds an identifier of a patient of
    any site (the index of every readable ``<raw_dir>/<SITE>/patients.csv``), when
    the workflow is parsed: before any job reads, digests or gates the files, so
    the identifier reaches no table, log or Snakemake metadata. The message shows
    the row and column, never the value. Exports that cannot be read are left to
    the validation job, which reports them."""
    from aiha.cleaning.profiles import load_site_profiles
    from aiha.cleaning.study import study_index

    profiles = load_site_profiles(site_profiles)
    files = [Path(raw_dir) / s / "patients.csv" for s in sorted(profiles)
             if (Path(raw_dir) / s / "patients.csv").is_file()]
    try:
        index = study_index(files, profiles) if files else None
    except InputError:
        return
    if not index:
        return
    for i, rec in enumerate(sheet.itertuples(index=False), start=1):
        for column in ("sample_id", "file"):
            value = str(getattr(rec, column))
            if index.matches(value) or index.matches(Path(value).stem):
                raise InputError(str(sheet_path), "holds an identifier of a patient (name, "
                                 "record number or date of birth); name samples and files "
                                 "with codes", row=i, column=column)


def after_cutoff(sheet: pd.DataFrame, cutoff: date | None) -> list[int]:
    """1-based rows of the sheet collected after the data cut-off: they are dropped
    (not gated, not analysed) and logged, as clinical records after the cut-off are.
    A date that does not parse is left to :func:`sample_table`'s error."""
    rows = []
    if cutoff is None:
        return rows
    for i, value in enumerate(sheet["collection_date"], start=1):
        try:
            if date.fromisoformat(str(value)) > cutoff:
                rows.append(i)
        except ValueError:
            continue
    return rows


def sample_table(sheet: pd.DataFrame, patients: pd.DataFrame, key: bytes,
                 sheet_path: str = "samples.csv", patients_path: str = "patients.tsv",
                 index: IdentifierIndex | None = None, cutoff: date | None = None,
                 export_date: date | None = None,
                 days_window: tuple[int, int] | None = None) -> pd.DataFrame:
    """Pseudonymized sample metadata with days from the first dose.

    Collection dates are checked like clinical dates: not after ``export_date``
    (default today) and ``days_window`` (config
    ``cleaning.sample_days_from_first_dose``): within these days of the patient's
    first dose. Each is an error naming the sheet, row, column and date. A sample
    collected after the data cut-off ``cutoff`` is dropped (:func:`after_cutoff`; the
    job logs it).

    ``index``: the study's identifiers (:func:`aiha.cleaning.study_index`); the
    free-text ``visit`` passes through it (default: the active index).

    ``patients`` is results/clinical/patients.tsv (patient_id, first_dose_date).
    """
    for column in ("patient_id", "first_dose_date"):
        if column not in patients.columns:
            raise InputError(patients_path, "patients table lacks a required column", column=column)
    first_dose = dict(zip(patients["patient_id"], patients["first_dose_date"]))
    rows = []
    for i, rec in enumerate(sheet.itertuples(index=False), start=1):
        pid = pseudonymize(rec.site, rec.record_number, key)
        if pid not in first_dose:
            raise InputError(sheet_path, "sample's patient (site, record_number) is not in the clinical "
                             "patients table", row=i, column="record_number", value=pid)
        try:
            dose = date.fromisoformat(str(first_dose[pid]))
        except ValueError as exc:
            raise InputError(patients_path, "first_dose_date is not an ISO date", column="first_dose_date",
                             value=first_dose[pid]) from exc
        for column in ("sample_id", "file"):  # names of files and jobs: refused, not scrubbed
            if index is not None and index.matches(getattr(rec, column)):
                raise InputError(sheet_path, "holds an identifier of a patient (name, record number "
                                 "or date of birth); use codes", row=i, column=column,
                                 value=getattr(rec, column))
        collected = date.fromisoformat(rec.collection_date)
        if collected > (export_date or date.today()):
            raise InputError(sheet_path, f"collection date after the export date "
                             f"{export_date or date.today()}", row=i, column="collection_date",
                             value=rec.collection_date)
        if cutoff is not None and collected > cutoff:
            continue  # after the data cut-off: dropped (after_cutoff), logged by the job
        if days_window is not None and not days_window[0] <= (collected - dose).days <= days_window[1]:
            raise InputError(sheet_path, f"collection date {(collected - dose).days} days from "
                             f"the patient's first dose, outside {days_window[0]} to "
                             f"{days_window[1]} (config cleaning.sample_days_from_first_dose)",
                             row=i, column="collection_date", value=rec.collection_date)
        rows.append(
            {
                "sample_id": rec.sample_id,
                "patient_id": pid,
                "tube": rec.tube,
                "visit": clean_text(rec.visit, index),  # identifiers out, formulas defused
                "collection_date": collected.isoformat(),
                "day": (collected - dose).days,
                "file": rec.file,
            }
        )
    out = pd.DataFrame(rows, columns=SAMPLES_COLUMNS)
    return out.sort_values(["patient_id", "day", "tube", "sample_id"], kind="stable").reset_index(drop=True)
