"""The whole study: every site's exports -> stacked, tidy, pseudonymized tables.

Order of work: read every site's five exports (real CSV, text checks), build the
study's identifier index from every site's ``patients.csv`` and activate it (so
a patient of one site named in another site's comment is found, and no error
message can show an identifier), then clean each site table by table.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import pandas as pd

from aiha import identifiers
from aiha.cleaning.profiles import CleaningLimits, SiteProfile
from aiha.cleaning.reading import parse_raw_table
from aiha.schemas import validate_raw
from aiha.cleaning.tables import (
    CleaningLog,
    Site,
    clean_adverse_events,
    clean_labs,
    clean_patients,
    clean_transfusions,
    clean_treatments,
    patient_rows,
    treatment_rows,
)
from aiha.errors import InputError
from aiha.identifiers import IdentifierIndex
from aiha.pseudonym import pseudonymize
from aiha.schemas import CLEAN_SCHEMAS

RAW_TABLES = ("patients", "labs", "transfusions", "treatments", "adverse_events")
SORT_KEYS = {
    "patients": ["patient_id"],
    "labs": ["patient_id", "date", "analyte"],
    "transfusions": ["patient_id", "date"],
    "treatments": ["patient_id", "date", "treatment"],
    "adverse_events": ["patient_id", "ae_number"],
}


@dataclass
class CleanTables:
    patients: pd.DataFrame
    labs: pd.DataFrame
    transfusions: pd.DataFrame
    treatments: pd.DataFrame
    adverse_events: pd.DataFrame
    log: pd.DataFrame
    # (site, table) -> data records read from the raw export
    raw_rows: dict[tuple[str, str], int] = field(default_factory=dict)


def read_site(site_dir: Path, profile: SiteProfile) -> dict[str, pd.DataFrame]:
    """The five exports of one site, as text cells (not yet validated)."""
    return {t: parse_raw_table(site_dir / f"{t}.csv", t, profile) for t in RAW_TABLES}


def _check_identifier_columns(patients: pd.DataFrame, profile: SiteProfile, file: str) -> None:
    """An identifier column that holds the site's codes means the header row is out
    of order (the identifiers are then in a column whose values an error could show)."""
    codes = {k for mapping in profile.codes.values() for k in mapping}
    for column in identifiers.IDENTIFIER_COLUMNS:
        values = [v.strip().upper() for v in patients[column] if v.strip()]
        if values and sum(v in codes for v in values) * 2 >= len(values):
            raise InputError(file, "identifier column holds the site's codes: check the order "
                             "of the header row", column=column)


def build_index(raw: dict[str, dict[str, pd.DataFrame]], raw_dir: Path,
                profiles: dict[str, SiteProfile]) -> IdentifierIndex:
    """Every identifier of every patient of every site."""
    index = IdentifierIndex()
    for site, tables in raw.items():
        pat = tables["patients"]
        if not set(identifiers.IDENTIFIER_COLUMNS) <= set(pat.columns):
            continue  # validate_raw reports the missing column
        _check_identifier_columns(pat, profiles[site], str(raw_dir / site / "patients.csv"))
        for r in pat.to_dict("records"):
            index.add_person(r["record_number"], r["name"], r["birth_date"],
                             [profiles[site].date_format])
    return index


def check_one_person_one_record(raw: dict[str, dict[str, pd.DataFrame]], raw_dir: Path,
                                profiles: dict[str, SiteProfile]) -> None:
    """One person is one patient: the same name and date of birth (names compared
    accent-, case-, spacing- and Unicode-form-insensitively) under two record
    numbers, at one site or two, would count a patient twice. The error names both
    files and rows (and so both sites), never the person. (One record number at two
    sites is not refused: hospitals number their patients independently.)"""
    from datetime import datetime

    seen_person: dict[tuple[str, str], tuple[str, int, str]] = {}
    for site in sorted(raw):
        pat = raw[site]["patients"]
        if not set(identifiers.IDENTIFIER_COLUMNS) <= set(pat.columns):
            continue
        file = str(raw_dir / site / "patients.csv")
        for row, r in enumerate(pat.to_dict("records"), start=1):
            rec = r["record_number"].strip()
            name = " ".join(identifiers.fold(identifiers.normalise_text(r["name"])).split())
            try:
                born = datetime.strptime(r["birth_date"].strip(),
                                         profiles[site].date_format).date().isoformat()
            except ValueError:
                born = ""  # the cleaning reports an unreadable date of birth
            here = (file, row, rec)
            if not name or not born:
                continue
            other = seen_person.get((name, born))
            if other and (other[0], other[2]) != (file, rec):
                raise InputError(file, f"the same person (name and date of birth) as "
                                 f"{other[0]} row {other[1]}, under another record number: "
                                 "one patient counted twice; keep one record", row=row)
            seen_person.setdefault((name, born), here)


def study_index(patients_files: list[str | Path], profiles: dict[str, SiteProfile]) -> IdentifierIndex:
    """The identifier index from every site's patients.csv (``<raw_dir>/<SITE>/patients.csv``),
    for a job outside the cleaning that writes free text (the cytometry sample sheet)."""
    raw = {}
    for path in map(Path, patients_files):
        site = path.parent.name
        raw[site] = {"patients": parse_raw_table(path, "patients", profiles[site])}
        validate_raw("patients", raw[site]["patients"], str(path))
    return build_index(raw, Path(patients_files[0]).parent.parent if patients_files else Path("."),
                       profiles)


def export_records(raw_dir: Path, sites: list[str],
                   profiles: dict[str, SiteProfile]) -> set[tuple[str, str]]:
    """(site, record number) of every readable patients.csv (an unreadable file is
    skipped here: the validation reports it)."""
    out = set()
    for site in sites:
        try:
            frame = parse_raw_table(Path(raw_dir) / site / "patients.csv", "patients", profiles[site])
        except InputError:
            continue
        if "record_number" in frame.columns:
            out |= {(site, r.strip()) for r in frame["record_number"]}
    return out


def clean_site(site: Site, raw: dict[str, pd.DataFrame], key: bytes) -> dict[str, pd.DataFrame]:
    """Clean one site's five exports, table by table."""
    pat = patient_rows(raw["patients"], site)
    trt = treatment_rows(raw["treatments"], site)  # first dose = day 0
    site.pseudo = {rec: pseudonymize(site.profile.code, rec, key) for rec in site.known}
    return {
        "patients": pd.DataFrame(clean_patients(pat, site)),
        "labs": clean_labs(raw["labs"], site),
        "transfusions": clean_transfusions(raw["transfusions"], site),
        "treatments": clean_treatments(trt, site),
        "adverse_events": clean_adverse_events(raw["adverse_events"], site),
    }


def clean_study(
    raw_dir: Path,
    sites: list[str],
    profiles: dict[str, SiteProfile],
    key: bytes,
    cutoff: date,
    limits: CleaningLimits,
    export_date: date | None = None,
) -> CleanTables:
    """Clean every site's exports and stack them into study tables.

    ``export_date``: no record may be dated after it (default: today).
    """
    export_date = export_date or date.today()
    raw_dir = Path(raw_dir)
    for site in sites:
        if site not in profiles:
            raise InputError(str(raw_dir / site), f"site code {site!r} has no export profile; "
                             f"known: {', '.join(sorted(profiles))}")
    raw = {site: read_site(raw_dir / site, profiles[site]) for site in sites}
    index = build_index(raw, raw_dir, profiles)
    identifiers.activate(index)  # from here no message can show an identifier
    for code, tables in raw.items():
        for t, frame in tables.items():
            validate_raw(t, frame, str(raw_dir / code / f"{t}.csv"))
    check_one_person_one_record(raw, raw_dir, profiles)
    log = CleaningLog(index=index)
    parts: dict[str, list[pd.DataFrame]] = {t: [] for t in RAW_TABLES}
    for code in sites:
        files = {t: str(raw_dir / code / f"{t}.csv") for t in RAW_TABLES}
        site = Site(profiles[code], files, cutoff, export_date, limits, log, index)
        for t, frame in clean_site(site, raw[code], key).items():
            parts[t].append(frame)
    out = {t: pd.concat(frames, ignore_index=True) for t, frames in parts.items()}
    ids = out["patients"]["patient_id"]
    if ids.duplicated().any():
        raise InputError(str(raw_dir), "pseudonym collision between sites",
                         value=ids[ids.duplicated()].iloc[0])
    for t, cols in SORT_KEYS.items():
        out[t] = out[t].sort_values(cols, kind="stable").reset_index(drop=True)
    for t in ("patients", "labs", "adverse_events"):
        out[t] = CLEAN_SCHEMAS[t].validate(out[t])
    raw_rows = {(code, t): len(frame) for code, tables in raw.items() for t, frame in tables.items()}
    return CleanTables(log=log.frame(), raw_rows=raw_rows, **out)


def input_summary(raw_dir: Path, sites: list[str], tables: CleanTables) -> pd.DataFrame:
    """What was validated: each raw file with its data records and SHA-256."""
    from aiha.ard import file_sha256

    rows = []
    for site in sites:
        for table in RAW_TABLES:
            path = Path(raw_dir) / site / f"{table}.csv"
            rows.append({"site": site, "table": table, "file": str(path),
                         "rows": tables.raw_rows[(site, table)], "sha256": file_sha256(path)})
    return pd.DataFrame(rows)
