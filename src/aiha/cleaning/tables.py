"""One cleaner per raw table. Each reads its raw frame, checks and converts every
value, logs every change and returns the tidy rows (see docs/data_dictionary.md).

Dated records: a record dated after the data cut-off is dropped and logged; a
record dated after the export date (in the future of the export) is an error.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import pandas as pd

from aiha import therapies, units
from aiha.cleaning.freetext import clean_text
from aiha.cleaning.profiles import CleaningLimits, SiteProfile
from aiha.cleaning.reading import map_code, map_code_list, parse_date, parse_int, parse_number
from aiha.errors import InputError
from aiha.identifiers import IdentifierIndex
from aiha.pseudonym import age_at
from aiha.schemas import CLEAN_SCHEMAS

LOG_COLUMNS = ["file", "row", "field", "old", "new", "reason"]
LIMIT_KEY = {"hb": "hb_g_dl", "bilirubin": "bilirubin_mg_dl", "ldh": "ldh_x_uln"}
TREATMENT_COLUMNS = ["patient_id", "date", "day", "treatment", "drug", "dose_mg"]
TRANSFUSION_COLUMNS = ["patient_id", "date", "day", "units"]
# Ranges of integer columns that have no config limit.
PRIOR_LINES = (0, 50)
AE_NUMBER = (1, 1_000_000)


@dataclass
class CleaningLog:
    """Every change made while cleaning (free text in it is cleaned too)."""

    index: IdentifierIndex | None = None
    entries: list[dict[str, Any]] = field(default_factory=list)

    def add(self, file: str, row: int | str, fld: str, old: Any, new: Any, reason: str) -> None:
        def safe(v: Any) -> Any:
            return clean_text(v, self.index) if isinstance(v, str) else v

        self.entries.append({"file": file, "row": row, "field": fld, "old": safe(old),
                             "new": safe(new), "reason": reason})

    def frame(self) -> pd.DataFrame:
        return pd.DataFrame(self.entries, columns=LOG_COLUMNS)


@dataclass
class Site:
    """What every table cleaner of one site needs."""

    profile: SiteProfile
    files: dict[str, str]
    cutoff: date
    export_date: date
    limits: CleaningLimits
    log: CleaningLog
    index: IdentifierIndex
    known: dict[str, int] = field(default_factory=dict)  # record number -> patients.csv row
    pseudo: dict[str, str] = field(default_factory=dict)
    first_dose: dict[str, date] = field(default_factory=dict)

    def date(self, text: str, table: str, row: int, column: str) -> date:
        when = parse_date(text, self.profile.date_format, self.files[table], row, column)
        if when > self.export_date:
            raise InputError(self.files[table], f"date after the export date {self.export_date} "
                             "(in the future of the export)", row, column, text)
        return when

    def after_cutoff(self, when: date, table: str, row: int, column: str) -> bool:
        """True (and logged) when a dated record falls after the cut-off."""
        if when > self.cutoff:
            self.log.add(self.files[table], row, column, when.isoformat(), "dropped",
                         f"after data cut-off {self.cutoff}")
            return True
        return False

    def text(self, value: str, table: str, row: int, column: str) -> str:
        new = clean_text(value, self.index)
        if new != value:
            reason = ("identifier removed from free text" if self.index.matches(value)
                      else "spreadsheet formula neutralised")
            self.log.add(self.files[table], row, column, "[free text]", new, reason)
        return new

    def day(self, rec: str, when: date) -> int:
        return (when - self.first_dose[rec]).days

    def check_known(self, frame: pd.DataFrame, table: str) -> None:
        for idx, rec in frame["record_number"].str.strip().items():
            if rec not in self.known:
                raise InputError(self.files[table], "record number not in the site's patients.csv",
                                 int(idx) + 1, "record_number", rec)


def records(frame: pd.DataFrame) -> Iterable[tuple[int, dict[str, Any]]]:
    """(1-based data row, row as a dict) pairs."""
    return zip((int(i) + 1 for i in frame.index), frame.to_dict("records"))


def drop_exact_duplicates(frame: pd.DataFrame, file: str, log: CleaningLog) -> pd.DataFrame:
    """``frame`` without exact duplicate rows. The cleaning log gets one entry per
    kept row that had copies (its row, and how many copies were dropped), not one
    per copy: 50,000 copies of a lab row are one line of the log and the listings."""
    dup = frame.duplicated(keep="first")
    if not dup.any():
        return frame
    hashes = pd.util.hash_pandas_object(frame, index=False)
    first_of = {}
    for idx, h in zip(frame.index[~dup], hashes[~dup]):
        first_of.setdefault(h, idx)
    copies: dict[int, list[int]] = {}
    for idx, h in zip(frame.index[dup], hashes[dup]):
        copies.setdefault(first_of[h], []).append(int(idx) + 1)
    for first, rows in sorted(copies.items()):
        shown = ", ".join(map(str, rows[:5])) + (", ..." if len(rows) > 5 else "")
        log.add(file, int(first) + 1, "*", f"{len(rows)} duplicate row(s) (rows {shown})",
                "dropped", f"exact duplicate of row {int(first) + 1}: {len(rows)} "
                f"cop{'y' if len(rows) == 1 else 'ies'} dropped")
    return frame[~dup]


# ---------------------------------------------------------------- patients


def patient_rows(raw: pd.DataFrame, site: Site) -> pd.DataFrame:
    """patients.csv without exact duplicates; fills ``site.known``. A record number
    seen again with other data, or a file with no patient, is an error."""
    pf = site.files["patients"]
    if raw.empty:
        raise InputError(pf, f"site {site.profile.code} has no patients (the export holds only "
                         "its header row); remove the site directory or export its patients")
    pat = drop_exact_duplicates(raw, pf, site.log)
    for row, r in records(pat):
        rec = r["record_number"].strip()
        if rec in site.known:
            raise InputError(pf, f"record number appears again with different data (first at row "
                             f"{site.known[rec]})", row, "record_number", rec)
        site.known[rec] = row
    return pat


def prior_therapies(r: dict[str, Any], site: Site, row: int) -> dict[str, Any]:
    """The optional ``prior_therapies`` cell as one column per therapy type
    (:mod:`aiha.therapies`): true/false where the site exports the column (an empty
    cell: none recorded, every type false), missing where it does not."""
    recorded = "prior_therapies" in r
    types: set[Any] = set()
    if recorded:
        types = map_code_list(r["prior_therapies"], therapies.SEPARATOR, site.profile,
                              "prior_therapy", site.files["patients"], row, "prior_therapies")
    return {therapies.RECORDED_COLUMN: recorded,
            **{therapies.column(t): (t in types) if recorded else None
               for t in therapies.PRIOR_THERAPY_TYPES}}


def clean_patients(pat: pd.DataFrame, site: Site) -> list[dict[str, Any]]:
    pf = site.files["patients"]
    code = site.profile
    out = []
    for row, r in records(pat):
        rec = r["record_number"].strip()
        birth = parse_date(r["birth_date"], code.date_format, pf, row, "birth_date")
        age = age_at(birth, site.first_dose[rec])
        lo, hi = site.limits.age_years
        if not lo <= age <= hi:
            raise InputError(pf, f"age at first dose {age} outside {lo:g}-{hi:g} years", row,
                             "birth_date", r["birth_date"])
        acro_resp: bool | None = None
        if r["acrocyanosis_response"].strip():
            acro_resp = bool(map_code(r["acrocyanosis_response"], code, "yes_no", pf, row,
                                      "acrocyanosis_response"))
        out.append(
            {
                "patient_id": site.pseudo[rec],
                "site": code.code,
                "country": code.country,
                "sex": map_code(r["sex"], code, "sex", pf, row, "sex"),
                "age_at_first_dose": age,
                "diagnosis": map_code(r["diagnosis"], code, "diagnosis", pf, row, "diagnosis"),
                "evans": bool(map_code(r["evans"], code, "yes_no", pf, row, "evans")),
                "acrocyanosis": bool(map_code(r["acrocyanosis"], code, "yes_no", pf, row, "acrocyanosis")),
                "acrocyanosis_response": acro_resp,
                "prior_lines": parse_int(r["prior_lines"], pf, row, "prior_lines", *PRIOR_LINES),
                **prior_therapies(r, site, row),
                "first_dose_date": site.first_dose[rec].isoformat(),
                "comment": site.text(r["comment"], "patients", row, "comment"),
            }
        )
        site.log.add(pf, row, "name, birth_date, record_number", "[identifiers]",
                     f"{site.pseudo[rec]}, age {age}", "pseudonymized; age at first dose kept")
    return out


# ---------------------------------------------------------------- treatments


def treatment_rows(raw: pd.DataFrame, site: Site) -> pd.DataFrame:
    """Every administration, parsed (before the cut-off filter: the first dose
    defines day 0); fills ``site.first_dose``."""
    tf = site.files["treatments"]
    code = site.profile
    lo, hi = site.limits.hard["dose_mg"]
    rows = []
    raw = drop_exact_duplicates(raw, tf, site.log)
    site.check_known(raw, "treatments")
    for row, r in records(raw):
        dose = parse_number(r["dose_mg"], code.decimal, tf, row, "dose_mg")
        if not lo <= dose <= hi:
            raise InputError(tf, f"implausible dose {dose:g} mg (allowed {lo:g}-{hi:g} mg, "
                             "config cleaning.hard_limits.dose_mg)", row, "dose_mg", r["dose_mg"])
        rows.append({
            "record_number": r["record_number"].strip(),
            "date": site.date(r["administration_date"], "treatments", row, "administration_date"),
            "treatment": map_code(r["treatment"], code, "treatment", tf, row, "treatment"),
            "drug": r["treatment"].strip().upper(),
            "dose_mg": dose,
            "_row": row,
        })
    trt = pd.DataFrame(rows, columns=["record_number", "date", "treatment", "drug", "dose_mg", "_row"])
    for rec, first_row in site.known.items():
        doses = trt[(trt["record_number"] == rec) & (trt["treatment"] == "daratumumab")]
        if doses.empty:
            raise InputError(tf, "patient has no daratumumab administration", column="treatment",
                             value=f"patients.csv row {first_row}")
        first = min(doses["date"])
        if first > site.cutoff:
            row = int(doses.loc[doses["date"].idxmin(), "_row"])
            raise InputError(tf, f"first dose after the data cut-off {site.cutoff}", row,
                             "administration_date", str(first))
        site.first_dose[rec] = first
    return trt


def clean_treatments(trt: pd.DataFrame, site: Site) -> pd.DataFrame:
    """Cleaned administrations. A new AIHA therapy (``aiha_therapy``) given during the
    daratumumab course (from the first to the last dose) ends the evaluable period;
    as it may instead be a partner drug of the study regimen, it is noted in the
    cleaning log (map such a drug to ``study_regimen`` in the site profile)."""
    out = []
    last_dose: dict[str, int] = {}
    for _, r in records(trt):
        if r["treatment"] == "daratumumab":
            rec = r["record_number"]
            last_dose[rec] = max(last_dose.get(rec, 0), site.day(rec, r["date"]))
    for _, r in records(trt):
        if site.after_cutoff(r["date"], "treatments", int(r["_row"]), "administration_date"):
            continue
        rec = r["record_number"]
        day = site.day(rec, r["date"])
        if r["treatment"] == "aiha_therapy" and 0 <= day <= last_dose.get(rec, -1):
            site.log.add(site.files["treatments"], int(r["_row"]), "treatment", r["drug"],
                         "aiha_therapy",
                         "new AIHA therapy during the daratumumab course: it ends the "
                         "evaluable period; if it is part of the study regimen, map it to "
                         "study_regimen in the site profile")
        out.append({"patient_id": site.pseudo[rec], "date": r["date"].isoformat(),
                    "day": day, "treatment": r["treatment"],
                    "drug": r["drug"], "dose_mg": r["dose_mg"]})
    return pd.DataFrame(out, columns=TREATMENT_COLUMNS)


# ---------------------------------------------------------------- labs


def clean_labs(raw: pd.DataFrame, site: Site) -> pd.DataFrame:
    lf = site.files["labs"]
    code = site.profile
    raw = drop_exact_duplicates(raw, lf, site.log)
    site.check_known(raw, "labs")
    out = []
    for row, r in records(raw):
        rec = r["record_number"].strip()
        when = site.date(r["sample_date"], "labs", row, "sample_date")
        if site.after_cutoff(when, "labs", row, "sample_date"):
            continue
        analyte = map_code(r["analyte"], code, "analyte", lf, row, "analyte")
        raw_value = parse_number(r["value"], code.decimal, lf, row, "value")
        try:
            value = units.to_canonical(analyte, raw_value, r["unit"], code.ldh_uln_u_l)
        except units.UnknownUnitError as err:
            raise InputError(lf, str(err), row, "unit", r["unit"]) from None
        unit = units.CANONICAL_UNIT[analyte]
        key = LIMIT_KEY[analyte]
        lo, hi = site.limits.hard[key]
        if not lo <= value <= hi:
            raise InputError(lf, f"implausible {analyte} {value:.4g} {unit} (allowed {lo:g}-{hi:g} {unit})",
                             row, "value", r["value"])
        flag = ""
        slo, shi = site.limits.suspicious[key]
        if not slo <= value <= shi:
            flag = "suspicious"
            site.log.add(lf, row, "value", f"{r['value']} {r['unit']}", f"{value:.3g} {unit}",
                         f"suspicious {analyte} (outside {slo:g}-{shi:g} {unit}); kept and flagged")
        if r["unit"].strip() != unit:
            site.log.add(lf, row, "value", f"{r['value']} {r['unit']}", f"{value:.4g} {unit}",
                         "unit normalized")
        out.append({
            "patient_id": site.pseudo[rec], "date": when.isoformat(), "day": site.day(rec, when),
            "analyte": analyte, "value": round(value, 6), "unit": unit,
            "raw_value": r["value"].strip(), "raw_unit": clean_text(r["unit"].strip(), site.index),
            "flag": flag, "comment": site.text(r["comment"], "labs", row, "comment"),
            "_row": row,
        })
    labs = pd.DataFrame(out, columns=[*CLEAN_SCHEMAS["labs"].columns, "_row"])
    with_baseline = set(labs.loc[(labs["analyte"] == "hb") & (labs["day"] <= 0), "patient_id"])
    for rec, row in site.known.items():
        if site.pseudo[rec] not in with_baseline:
            raise InputError(site.files["patients"], f"patient of site {code.code} has no "
                             f"baseline Hb (no hb in {lf} on or before the first dose "
                             f"{site.first_dose[rec]}); the response cannot be scored", row=row)
    key = ["patient_id", "date", "analyte"]
    clash = labs[labs.duplicated(key, keep=False)]
    if not clash.empty:
        # The first clash in file order: its first two rows (another patient's or
        # analyte's clash may be interleaved with it).
        first = clash.iloc[0]
        same = clash[(clash[key] == first[key]).all(axis=1)]
        rows = [int(r) for r in same["_row"].iloc[:2]]
        raise InputError(lf, f"two different {first['analyte']} values on the same date (rows {rows})",
                         rows[1], "value", same["raw_value"].iloc[1])
    return labs.drop(columns="_row")


# ---------------------------------------------------------------- transfusions


def clean_transfusions(raw: pd.DataFrame, site: Site) -> pd.DataFrame:
    xf = site.files["transfusions"]
    raw = drop_exact_duplicates(raw, xf, site.log)
    site.check_known(raw, "transfusions")
    lo, hi = site.limits.hard["transfusion_units"]
    out = []
    for row, r in records(raw):
        rec = r["record_number"].strip()
        when = site.date(r["transfusion_date"], "transfusions", row, "transfusion_date")
        n = parse_int(r["units"], xf, row, "units", int(lo), int(hi))
        if site.after_cutoff(when, "transfusions", row, "transfusion_date"):
            continue
        out.append({"patient_id": site.pseudo[rec], "date": when.isoformat(),
                    "day": site.day(rec, when), "units": n})
    return pd.DataFrame(out, columns=TRANSFUSION_COLUMNS)


# ---------------------------------------------------------------- adverse events


# Outcomes of an adverse event (the CDISC AEOUT terms, lower case with "_"); a site
# maps its codes to them in codes.outcome.
AE_OUTCOMES = ("recovered", "recovering", "not_recovered", "recovered_with_sequelae",
               "fatal", "unknown")


def ae_optional_fields(r: Mapping[str, Any], site: Site, row: int) -> dict[str, str]:
    """The optional adverse-event columns of one report (docs/data_dictionary.md):
    ``soc`` (the MedDRA system organ class the site coded, as text), ``related``
    (relatedness to daratumumab, ``codes.yes_no``: "True"/"False") and ``outcome``
    (``codes.outcome``: one of :data:`AE_OUTCOMES`); "" where the column is absent
    or the cell empty."""
    af = site.files["adverse_events"]

    def cell(name: str) -> str:
        value = r.get(name)
        return "" if value is None or (isinstance(value, float) and value != value) \
            else str(value).strip()

    related = cell("related")
    outcome = cell("outcome")
    if outcome and "outcome" not in site.profile.codes:
        raise InputError(af, f"the export profile of site {site.profile.code} has no "
                         "codes.outcome table to map this column (config data.site_profiles)",
                         row, "outcome", outcome)
    return {
        "soc": site.text(cell("soc"), "adverse_events", row, "soc") if cell("soc") else "",
        "related": str(bool(map_code(related, site.profile, "yes_no", af, row, "related")))
        if related else "",
        "outcome": str(map_code(outcome, site.profile, "outcome", af, row, "outcome"))
        if outcome else "",
    }


def clean_adverse_events(raw: pd.DataFrame, site: Site) -> pd.DataFrame:
    """One row per event (site, record, ae_number): worst grade, any serious report."""
    af = site.files["adverse_events"]
    raw = drop_exact_duplicates(raw, af, site.log)
    site.check_known(raw, "adverse_events")
    events: dict[tuple[str, int], dict[str, Any]] = {}
    for row, r in records(raw):
        rec = r["record_number"].strip()
        onset = site.date(r["onset_date"], "adverse_events", row, "onset_date")
        if onset < site.first_dose[rec]:
            raise InputError(af, f"adverse event onset before the first dose {site.first_dose[rec]}",
                             row, "onset_date", r["onset_date"])
        grade = parse_int(r["ctcae_grade"], af, row, "ctcae_grade", 1, 5)
        number = parse_int(r["ae_number"], af, row, "ae_number", *AE_NUMBER)
        serious = bool(map_code(r["serious"], site.profile, "yes_no", af, row, "serious"))
        if site.after_cutoff(onset, "adverse_events", row, "onset_date"):
            continue
        k = (rec, number)
        term = site.text(r["term"].strip(), "adverse_events", row, "term")
        optional = ae_optional_fields(r, site, row)
        if k in events:
            ev = events[k]
            # Related if any report says so; the outcome of the latest report that gives one.
            if optional["related"] == "True" or not ev["related"]:
                ev["related"] = optional["related"] or ev["related"]
            ev["outcome"] = optional["outcome"] or ev["outcome"]
            ev["soc"] = ev["soc"] or optional["soc"]
            if ev["term"] != term:
                raise InputError(af, f"adverse event {number} reported again with another term "
                                 f"(first at row {ev['_row']})", row, "term", r["term"])
            if grade != ev["grade"]:
                site.log.add(af, row, "ctcae_grade", ev["grade"], max(grade, ev["grade"]),
                             "event reported again; worst grade kept")
            ev["grade"] = max(ev["grade"], grade)
            ev["serious"] = ev["serious"] or serious
            ev["reports"] += 1
            continue
        events[k] = {
            "patient_id": site.pseudo[rec], "ae_number": number, "onset_date": onset.isoformat(),
            "day": site.day(rec, onset), "term": term, "grade": grade, "serious": serious,
            "description": site.text(r["description"], "adverse_events", row, "description"),
            "reports": 1, "_row": row, **optional,
        }
    columns = list(CLEAN_SCHEMAS["adverse_events"].columns)
    return pd.DataFrame([{c: e[c] for c in columns} for e in events.values()], columns=columns)
