"""Clinical data cleaning: site exports -> tidy, typed, pseudonymized tables.

Every change to a value is written to the cleaning log (file, row, field, old,
new, reason). Bad input raises :class:`aiha.errors.InputError` naming the file,
row, column and value; suspicious but plausible values are kept and flagged.
Row numbers are 1-based data rows (the header is not counted).
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

import pandas as pd
import yaml

from aiha import units
from aiha.errors import InputError
from aiha.pseudonym import age_at, pseudonymize
from aiha.schemas import CLEAN_SCHEMAS, validate_raw

RAW_TABLES = ("patients", "labs", "transfusions", "treatments", "adverse_events")
# Treatment categories (docs/data_dictionary.md): the study drug; a drug given as
# part of the daratumumab regimen (does not end the evaluable period); a new AIHA
# therapy (ends it); supportive care.
TREATMENT_CATEGORIES = ("daratumumab", "study_regimen", "aiha_therapy", "supportive")
LOG_COLUMNS = ["file", "row", "field", "old", "new", "reason"]


@dataclass(frozen=True)
class SiteProfile:
    """How one site exports: delimiter, decimal mark, dates, codes, LDH ULN."""

    code: str
    name: str
    country: str
    delimiter: str
    decimal: str
    encoding: str
    date_format: str
    ldh_uln_u_l: float
    codes: dict[str, dict[str, Any]]


def load_site_profiles(path: str | Path) -> dict[str, SiteProfile]:
    """Read resources/sites.yaml."""
    raw = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    if not isinstance(raw, dict) or not isinstance(raw.get("sites"), dict):
        raise InputError(str(path), "expected a mapping with a 'sites' key")
    profiles = {}
    for code, p in raw["sites"].items():
        try:
            profiles[code] = SiteProfile(
                code=code,
                name=str(p["name"]),
                country=str(p["country"]),
                delimiter=str(p["delimiter"]),
                decimal=str(p["decimal"]),
                encoding=str(p["encoding"]),
                date_format=str(p["date_format"]),
                ldh_uln_u_l=float(p["ldh_uln_u_l"]),
                codes={
                    kind: {str(k).strip().upper(): v for k, v in m.items()}
                    for kind, m in p["codes"].items()
                },
            )
        except KeyError as err:
            raise InputError(str(path), f"site {code}: missing key {err}") from None
        unknown = sorted({str(v) for v in profiles[code].codes.get("treatment", {}).values()}
                         - set(TREATMENT_CATEGORIES))
        if unknown:
            raise InputError(str(path), f"site {code}: treatment codes map to {unknown}; "
                             f"the categories are {', '.join(TREATMENT_CATEGORIES)}",
                             column="codes.treatment")
    return profiles


@dataclass
class CleaningLog:
    """Every change made while cleaning."""

    entries: list[dict[str, Any]] = field(default_factory=list)

    def add(self, file: str, row: int | str, fld: str, old: Any, new: Any, reason: str) -> None:
        self.entries.append(
            {"file": file, "row": row, "field": fld, "old": old, "new": new, "reason": reason}
        )

    def frame(self) -> pd.DataFrame:
        return pd.DataFrame(self.entries, columns=LOG_COLUMNS)


@dataclass(frozen=True)
class CleaningLimits:
    hard: dict[str, tuple[float, float]]
    suspicious: dict[str, tuple[float, float]]
    age_years: tuple[float, float]

    @classmethod
    def from_config(cls, cfg: dict[str, Any]) -> "CleaningLimits":
        return cls(
            hard={k: (float(v[0]), float(v[1])) for k, v in cfg["hard_limits"].items()},
            suspicious={k: (float(v[0]), float(v[1])) for k, v in cfg["suspicious_limits"].items()},
            age_years=(float(cfg["age_years"][0]), float(cfg["age_years"][1])),
        )


LIMIT_KEY = {"hb": "hb_g_dl", "bilirubin": "bilirubin_mg_dl", "ldh": "ldh_x_uln"}


# ---------------------------------------------------------------- parsing


def read_raw_table(path: Path, table: str, profile: SiteProfile) -> pd.DataFrame:
    """Read one export as text, with the site's delimiter and encoding."""
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
    reader = csv.reader(text.splitlines(), delimiter=profile.delimiter)
    rows = list(reader)
    header = [h.strip() for h in rows[0]]
    body = rows[1:]
    for i, r in enumerate(body, start=1):
        if len(r) != len(header):
            raise InputError(  # the row's text is not shown: it may hold identifiers
                name,
                f"has {len(r)} fields, header has {len(header)} "
                f"(delimiter {profile.delimiter!r} expected)",
                row=i,
            )
    frame = pd.DataFrame(body, columns=header, dtype=str)
    validate_raw(table, frame, name)
    return frame


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
        return float(t)
    except ValueError:
        raise InputError(file, "not a number", row, column, text) from None


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


# ---------------------------------------------------------------- identifiers


def identifier_pattern(identifiers: Iterable[str]) -> re.Pattern[str] | None:
    """One case-insensitive pattern for every identifier of 3 or more characters.

    Longer identifiers come first, so a full name is replaced as a whole rather
    than name part by name part. Compiled once per site: scrubbing then costs one
    scan per text, whatever the number of patients (one ``re.sub`` per identifier
    per text grew with rows x patients).
    """
    idents = sorted({i for i in identifiers if len(i) >= 3}, key=lambda i: (-len(i), i))
    return re.compile("|".join(map(re.escape, idents)), re.IGNORECASE) if idents else None


def scrub_identifiers(text: str, identifiers: Iterable[str] | re.Pattern[str] | None) -> str:
    """Replace identifiers (names, record numbers, birth dates) in free text.

    ``identifiers``: the identifiers, or their :func:`identifier_pattern`. One
    left-to-right pass, so a replacement is never matched again.
    """
    if not text:
        return text
    pattern = identifiers if isinstance(identifiers, re.Pattern) or identifiers is None \
        else identifier_pattern(identifiers)
    return text if pattern is None else pattern.sub("[redacted]", text)


def _identifiers(name: str, record_number: str, birth_text: str) -> list[str]:
    parts = [p for p in re.split(r"\s+", name.strip()) if len(p) >= 3]
    return [name.strip(), record_number.strip(), birth_text.strip(), *parts]


# ---------------------------------------------------------------- cleaning


@dataclass
class CleanTables:
    patients: pd.DataFrame
    labs: pd.DataFrame
    transfusions: pd.DataFrame
    treatments: pd.DataFrame
    adverse_events: pd.DataFrame
    log: pd.DataFrame


def _records(frame: pd.DataFrame) -> Iterable[tuple[Any, dict[str, Any]]]:
    """(index, row as a dict) pairs: ``iterrows`` without a Series per row."""
    return zip(frame.index, frame.to_dict("records"))


def _drop_exact_duplicates(
    frame: pd.DataFrame, file: str, log: CleaningLog
) -> pd.DataFrame:
    dup = frame.duplicated(keep="first")
    for idx in frame.index[dup]:
        log.add(file, int(idx) + 1, "*", "duplicate row", "dropped", "exact duplicate of an earlier row")
    return frame[~dup]


def clean_site(
    site_dir: Path,
    profile: SiteProfile,
    key: bytes,
    cutoff: date,
    limits: CleaningLimits,
    log: CleaningLog,
) -> dict[str, pd.DataFrame]:
    """Clean one site's five exports. Returns tidy frames keyed by table."""
    raw = {t: read_raw_table(site_dir / f"{t}.csv", t, profile) for t in RAW_TABLES}
    files = {t: str(site_dir / f"{t}.csv") for t in RAW_TABLES}

    # ---- patients
    pf = files["patients"]
    pat = _drop_exact_duplicates(raw["patients"], pf, log)
    seen: dict[str, int] = {}
    for idx, r in _records(pat):
        rec = r["record_number"].strip()
        if rec in seen:
            raise InputError(
                pf,
                f"record number appears again with different data (first at row {seen[rec]})",
                int(idx) + 1,
                "record_number",
                "[record number]",
            )
        seen[rec] = int(idx) + 1

    # ---- treatments (first dose defines day 0)
    tf = files["treatments"]
    trt_rows = []
    for idx, r in _records(_drop_exact_duplicates(raw["treatments"], tf, log)):
        row = int(idx) + 1
        trt_rows.append(
            {
                "record_number": r["record_number"].strip(),
                "date": parse_date(r["administration_date"], profile.date_format, tf, row, "administration_date"),
                "treatment": map_code(r["treatment"], profile, "treatment", tf, row, "treatment"),
                "drug": r["treatment"].strip().upper(),
                "dose_mg": parse_number(r["dose_mg"], profile.decimal, tf, row, "dose_mg"),
                "_row": row,
            }
        )
    trt = pd.DataFrame(trt_rows, columns=["record_number", "date", "treatment", "drug", "dose_mg", "_row"])
    _check_known_records(trt, seen, tf)

    first_dose: dict[str, date] = {}
    for rec in seen:
        doses = trt[(trt["record_number"] == rec) & (trt["treatment"] == "daratumumab")]
        if doses.empty:
            raise InputError(
                tf, "patient has no daratumumab administration", column="treatment",
                value=f"patients.csv row {seen[rec]}",
            )
        first_dose[rec] = min(doses["date"])
        if first_dose[rec] > cutoff:
            row = int(doses.loc[doses["date"].idxmin(), "_row"])
            raise InputError(tf, f"first dose after the data cut-off {cutoff}", row,
                             "administration_date", str(first_dose[rec]))

    pseudo = {rec: pseudonymize(profile.code, rec, key) for rec in seen}
    identifiers: list[str] = []
    patients = []
    for idx, r in _records(pat):
        row = int(idx) + 1
        rec = r["record_number"].strip()
        ids = _identifiers(r["name"], rec, r["birth_date"])
        identifiers.extend(ids)
        try:
            birth = parse_date(r["birth_date"], profile.date_format, pf, row, "birth_date")
        except InputError as err:  # a date of birth is an identifier: not shown
            raise InputError(pf, err.message, row, "birth_date", "[date of birth]") from None
        age = age_at(birth, first_dose[rec])
        lo, hi = limits.age_years
        if not lo <= age <= hi:
            raise InputError(pf, f"age at first dose {age} outside {lo:g}-{hi:g} years", row,
                             "birth_date", "[date of birth]")
        diagnosis = map_code(r["diagnosis"], profile, "diagnosis", pf, row, "diagnosis")
        acro = map_code(r["acrocyanosis"], profile, "yes_no", pf, row, "acrocyanosis")
        acro_resp: bool | None = None
        if r["acrocyanosis_response"].strip():
            acro_resp = bool(map_code(r["acrocyanosis_response"], profile, "yes_no", pf, row,
                                      "acrocyanosis_response"))
        patients.append(
            {
                "patient_id": pseudo[rec],
                "site": profile.code,
                "country": profile.country,
                "sex": map_code(r["sex"], profile, "sex", pf, row, "sex"),
                "age_at_first_dose": age,
                "diagnosis": diagnosis,
                "evans": bool(map_code(r["evans"], profile, "yes_no", pf, row, "evans")),
                "acrocyanosis": bool(acro),
                "acrocyanosis_response": acro_resp,
                "prior_lines": int(r["prior_lines"]),
                "first_dose_date": first_dose[rec].isoformat(),
                "comment": r["comment"],
                "_row": row,
            }
        )
        log.add(pf, row, "name, birth_date, record_number", "[identifiers]",
                f"{pseudo[rec]}, age {age}", "pseudonymized; age at first dose kept")

    site_identifiers = identifier_pattern(identifiers)

    def scrub(text: str, file: str, row: int, fld: str) -> str:
        new = scrub_identifiers(text, site_identifiers)
        if new != text:
            log.add(file, row, fld, "[free text with identifier]", new, "identifier removed from free text")
        return new

    for p in patients:
        p["comment"] = scrub(p["comment"], pf, p.pop("_row"), "comment")

    def day_of(rec: str, d: date) -> int:
        return (d - first_dose[rec]).days

    # ---- labs
    lf = files["labs"]
    labs = []
    lab_raw = _drop_exact_duplicates(raw["labs"], lf, log)
    _check_known_records(lab_raw.assign(record_number=lab_raw["record_number"].str.strip()), seen, lf)
    for idx, r in _records(lab_raw):
        row = int(idx) + 1
        rec = r["record_number"].strip()
        when = parse_date(r["sample_date"], profile.date_format, lf, row, "sample_date")
        if when > cutoff:
            log.add(lf, row, "sample_date", when.isoformat(), "dropped", f"after data cut-off {cutoff}")
            continue
        analyte = map_code(r["analyte"], profile, "analyte", lf, row, "analyte")
        raw_value = parse_number(r["value"], profile.decimal, lf, row, "value")
        try:
            value = units.to_canonical(analyte, raw_value, r["unit"], profile.ldh_uln_u_l)
        except units.UnknownUnitError as err:
            raise InputError(lf, str(err), row, "unit", r["unit"]) from None
        unit = units.CANONICAL_UNIT[analyte]
        lk = LIMIT_KEY[analyte]
        lo, hi = limits.hard[lk]
        if not lo <= value <= hi:
            raise InputError(
                lf, f"implausible {analyte} {value:.4g} {unit} (allowed {lo:g}-{hi:g} {unit})",
                row, "value", r["value"],
            )
        flag = ""
        slo, shi = limits.suspicious[lk]
        if not slo <= value <= shi:
            flag = "suspicious"
            log.add(lf, row, "value", f"{r['value']} {r['unit']}", f"{value:.3g} {unit}",
                    f"suspicious {analyte} (outside {slo:g}-{shi:g} {unit}); kept and flagged")
        if r["unit"].strip() != unit:
            log.add(lf, row, "value", f"{r['value']} {r['unit']}", f"{value:.4g} {unit}", "unit normalized")
        labs.append(
            {
                "patient_id": pseudo[rec],
                "date": when.isoformat(),
                "day": day_of(rec, when),
                "analyte": analyte,
                "value": round(value, 6),
                "unit": unit,
                "raw_value": r["value"].strip(),
                "raw_unit": r["unit"].strip(),
                "flag": flag,
                "comment": scrub(r["comment"], lf, row, "comment"),
            }
        )
    labs_df = pd.DataFrame(labs, columns=list(CLEAN_SCHEMAS["labs"].columns))
    key_cols = ["patient_id", "date", "analyte"]
    clash = labs_df[labs_df.duplicated(key_cols, keep=False)]
    if not clash.empty:
        first = clash.iloc[0]
        rows = [i + 1 for i in clash.index[:2]]
        raise InputError(lf, f"two different {first['analyte']} values on the same date (rows {rows})",
                         rows[1], "value", first["raw_value"])

    # ---- transfusions
    xf = files["transfusions"]
    tx = []
    tx_raw = _drop_exact_duplicates(raw["transfusions"], xf, log)
    _check_known_records(tx_raw.assign(record_number=tx_raw["record_number"].str.strip()), seen, xf)
    for idx, r in _records(tx_raw):
        row = int(idx) + 1
        rec = r["record_number"].strip()
        when = parse_date(r["transfusion_date"], profile.date_format, xf, row, "transfusion_date")
        if when > cutoff:
            log.add(xf, row, "transfusion_date", when.isoformat(), "dropped", f"after data cut-off {cutoff}")
            continue
        tx.append({"patient_id": pseudo[rec], "date": when.isoformat(), "day": day_of(rec, when),
                   "units": int(r["units"])})

    # ---- treatments out
    treatments = []
    for _, r in _records(trt):
        if r["date"] > cutoff:
            log.add(tf, int(r["_row"]), "administration_date", r["date"].isoformat(), "dropped",
                    f"after data cut-off {cutoff}")
            continue
        treatments.append({"patient_id": pseudo[r["record_number"]], "date": r["date"].isoformat(),
                           "day": day_of(r["record_number"], r["date"]), "treatment": r["treatment"],
                           "drug": r["drug"], "dose_mg": r["dose_mg"]})

    # ---- adverse events: one row per event, worst grade
    af = files["adverse_events"]
    ae_raw = _drop_exact_duplicates(raw["adverse_events"], af, log)
    _check_known_records(ae_raw.assign(record_number=ae_raw["record_number"].str.strip()), seen, af)
    events: dict[tuple[str, int], dict[str, Any]] = {}
    for idx, r in _records(ae_raw):
        row = int(idx) + 1
        rec = r["record_number"].strip()
        onset = parse_date(r["onset_date"], profile.date_format, af, row, "onset_date")
        if onset < first_dose[rec]:
            raise InputError(af, f"adverse event onset before the first dose {first_dose[rec]}",
                             row, "onset_date", r["onset_date"])
        grade = int(r["ctcae_grade"])
        k = (rec, int(r["ae_number"]))
        serious = bool(map_code(r["serious"], profile, "yes_no", af, row, "serious"))
        if k in events:
            ev = events[k]
            if ev["term"] != r["term"].strip():
                raise InputError(af, f"adverse event {k[1]} reported with another term {ev['term']!r}",
                                 row, "term", r["term"])
            if grade != ev["grade"]:
                log.add(af, row, "ctcae_grade", ev["grade"], max(grade, ev["grade"]),
                        "event reported again; worst grade kept")
            ev["grade"] = max(ev["grade"], grade)
            ev["serious"] = ev["serious"] or serious
            ev["reports"] += 1
            continue
        events[k] = {
            "patient_id": pseudo[rec], "ae_number": k[1], "onset_date": onset.isoformat(),
            "day": day_of(rec, onset), "term": r["term"].strip(), "grade": grade,
            "serious": serious, "description": scrub(r["description"], af, row, "description"),
            "reports": 1,
        }
    return {
        "patients": pd.DataFrame(patients),
        "labs": labs_df,
        "transfusions": pd.DataFrame(tx, columns=["patient_id", "date", "day", "units"]),
        "treatments": pd.DataFrame(
            treatments, columns=["patient_id", "date", "day", "treatment", "drug", "dose_mg"]
        ),
        "adverse_events": pd.DataFrame(list(events.values()),
                                       columns=list(CLEAN_SCHEMAS["adverse_events"].columns)),
    }


def _check_known_records(frame: pd.DataFrame, known: dict[str, int], file: str) -> None:
    for idx, rec in frame["record_number"].items():
        if rec not in known:
            raise InputError(file, "record number not in the site's patients.csv", int(idx) + 1,
                             "record_number", "[unknown record number]")


def clean_study(
    raw_dir: Path,
    sites: list[str],
    profiles: dict[str, SiteProfile],
    key: bytes,
    cutoff: date,
    limits: CleaningLimits,
) -> CleanTables:
    """Clean every site's exports and stack them into study tables."""
    log = CleaningLog()
    parts: dict[str, list[pd.DataFrame]] = {t: [] for t in RAW_TABLES}
    for site in sites:
        if site not in profiles:
            raise InputError(str(raw_dir / site), f"site code {site!r} has no export profile; "
                             f"known: {', '.join(sorted(profiles))}")
        tables = clean_site(raw_dir / site, profiles[site], key, cutoff, limits, log)
        for t, frame in tables.items():
            parts[t].append(frame)
    out = {t: pd.concat(frames, ignore_index=True) for t, frames in parts.items()}
    ids = out["patients"]["patient_id"]
    if ids.duplicated().any():
        dup = ids[ids.duplicated()].iloc[0]
        raise InputError(str(raw_dir), "pseudonym collision between sites", value=dup)
    order = {
        "patients": ["patient_id"],
        "labs": ["patient_id", "date", "analyte"],
        "transfusions": ["patient_id", "date"],
        "treatments": ["patient_id", "date", "treatment"],
        "adverse_events": ["patient_id", "ae_number"],
    }
    for t, cols in order.items():
        out[t] = out[t].sort_values(cols, kind="stable").reset_index(drop=True)
    for t in ("patients", "labs", "adverse_events"):
        out[t] = CLEAN_SCHEMAS[t].validate(out[t])
    return CleanTables(log=log.frame(), **out)


def input_summary(raw_dir: Path, sites: list[str], tables: CleanTables) -> pd.DataFrame:
    """What was validated: each raw file with its data rows and SHA-256."""
    from aiha.ard import file_sha256

    rows = []
    for site in sites:
        for table in RAW_TABLES:
            path = raw_dir / site / f"{table}.csv"
            n = max(0, len(path.read_bytes().splitlines()) - 1)
            rows.append({"site": site, "table": table, "file": str(path), "rows": n,
                         "sha256": file_sha256(path)})
    summary = pd.DataFrame(rows)
    return summary
