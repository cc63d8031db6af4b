"""The table cleaners (aiha.cleaning.tables) and the study assembly
(aiha.cleaning.study) on inputs small enough to work out by hand: every output
cell, every cleaning-log entry and every refusal (file, row, column, value and
message). Written for the mutation run (benchmarks/mutation.md): everything is
built inside the tests (mutmut switches a mutant on after import time)."""

from __future__ import annotations

import csv
import hashlib
from dataclasses import replace
from datetime import date
from pathlib import Path

import pandas as pd
import pytest

from aiha import identifiers
from aiha.cleaning import study, tables
from aiha.cleaning.profiles import CleaningLimits, SiteProfile
from aiha.cleaning.tables import CleaningLog, Site
from aiha.errors import InputError
from aiha.identifiers import IdentifierIndex
from aiha.pseudonym import pseudonymize

CUTOFF = date(2023, 6, 30)
EXPORT = date(2023, 7, 15)
TABLES = ("patients", "labs", "transfusions", "treatments", "adverse_events")
FILES = {t: f"raw/TST/{t}.csv" for t in TABLES}
PF, LF, XF, TF, AF = (FILES[t] for t in TABLES)
PAT_COLUMNS = ["record_number", "name", "birth_date", "sex", "diagnosis", "evans", "acrocyanosis",
               "acrocyanosis_response", "prior_lines", "prior_therapies", "comment"]
LAB_COLUMNS = ["record_number", "sample_date", "analyte", "value", "unit", "comment"]
TRT_COLUMNS = ["record_number", "administration_date", "treatment", "dose_mg", "route"]
XF_COLUMNS = ["record_number", "transfusion_date", "units", "product"]
AE_COLUMNS = ["record_number", "ae_number", "onset_date", "term", "ctcae_grade", "serious",
              "description"]
R1, R2 = "TST-100001", "TST-100002"
AIHA_REASON = ("new AIHA therapy during the daratumumab course: it ends the evaluable period; "
               "if it is part of the study regimen, map it to study_regimen in the site profile")
PSEUDO_REASON = "pseudonymized; age at first dose kept"
OTHER_TYPES = ["immunosuppressant", "splenectomy", "ivig", "bortezomib", "complement_inhibitor",
               "erythropoietin", "other"]


@pytest.fixture(autouse=True)
def no_active_index():
    """Each test starts and ends with an empty active identifier index."""
    identifiers.activate(IdentifierIndex())
    yield
    identifiers.activate(IdentifierIndex())


def profile(code: str = "TST", **kw) -> SiteProfile:
    fields = dict(code=code, name="Test Hospital", country="NL", delimiter=",", decimal=".",
                  encoding="utf-8", date_format="%Y-%m-%d", ldh_uln_u_l=248.0,
                  codes={"sex": {"M": "male", "F": "female"},
                         "yes_no": {"Y": True, "N": False},
                         "diagnosis": {"W": "wAIHA", "C": "cAIHA"},
                         "analyte": {"HB": "hb", "LDH": "ldh", "BILI": "bilirubin"},
                         "treatment": {"DARA": "daratumumab", "RITUX": "aiha_therapy",
                                       "PRED": "study_regimen", "FOL": "supportive"},
                         "prior_therapy": {"PRED": "corticosteroids", "RTX": "rituximab"}})
    fields.update(kw)
    return SiteProfile(**fields)


def limits() -> CleaningLimits:
    return CleaningLimits(
        hard={"hb_g_dl": (2.0, 25.0), "bilirubin_mg_dl": (0.0, 50.0), "ldh_x_uln": (0.0, 30.0),
              "dose_mg": (0.0, 5000.0), "transfusion_units": (1.0, 20.0)},
        suspicious={"hb_g_dl": (5.0, 17.5), "bilirubin_mg_dl": (0.0, 8.0), "ldh_x_uln": (0.0, 5.0)},
        age_years=(18.0, 110.0))


def index() -> IdentifierIndex:
    ix = IdentifierIndex()
    ix.add_person(R1, "Camille Lefèvre", "1968-10-05", ["%Y-%m-%d"])
    return ix


def make_site(**kw) -> Site:
    ix = index()
    site = Site(profile(), dict(FILES), CUTOFF, EXPORT, limits(), CleaningLog(index=ix), ix)
    for k, v in kw.items():
        setattr(site, k, v)
    return site


def ready_site() -> Site:
    """Two known patients (rows 1 and 3 of patients.csv), first doses, pseudonyms."""
    return make_site(known={R1: 1, R2: 3},
                     first_dose={R1: date(2022, 10, 5), R2: date(2022, 5, 31)},
                     pseudo={R1: "PT-1", R2: "PT-2"})


def frame(columns: list[str], rows: list[list[str]]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=columns, dtype=str)


def log(site: Site) -> list[tuple]:
    return [tuple(e[c] for c in tables.LOG_COLUMNS) for e in site.log.entries]


def refused(call, *args) -> InputError:
    with pytest.raises(InputError) as err:
        call(*args)
    return err.value


def fields(err: InputError) -> tuple:
    return (err.file, err.row, err.column, err.value, err.message)


# ---------------------------------------------------------------- the log and the Site helpers


def test_cleaning_log_cleans_text_and_keeps_other_values():
    """CleaningLog.add redacts identifiers and formulas in text values only; frame() has the log columns."""
    lg = CleaningLog(index=index())
    lg.add("f.csv", 3, "comment", "seen by Camille Lefèvre", "=1+1", "why")
    lg.add("g.csv", "*", "value", 7, None, "because")
    assert lg.entries == [
        {"file": "f.csv", "row": 3, "field": "comment", "old": "seen by [redacted]", "new": "'=1+1",
         "reason": "why"},
        {"file": "g.csv", "row": "*", "field": "value", "old": 7, "new": None, "reason": "because"}]
    got = lg.frame()
    assert list(got.columns) == ["file", "row", "field", "old", "new", "reason"]
    assert got.to_dict("records")[0] == lg.entries[0]
    assert list(CleaningLog().frame().columns) == ["file", "row", "field", "old", "new", "reason"]


def test_cleaning_log_without_index_keeps_names():
    """A log without an index neutralises formulas but has no identifiers to redact."""
    lg = CleaningLog()
    lg.add("f.csv", 1, "c", "Camille Lefèvre", "+x", "r")
    assert lg.entries[0]["old"] == "Camille Lefèvre" and lg.entries[0]["new"] == "'+x"


def test_site_date_accepts_the_export_date_and_refuses_the_day_after():
    """Site.date reads the site format; a date after the export date names file, row, column, value."""
    site = make_site(profile=profile(date_format="%d-%m-%Y"))
    assert site.date(" 15-07-2023 ", "labs", 4, "sample_date") == date(2023, 7, 15)
    err = refused(site.date, "16-07-2023", "labs", 4, "sample_date")
    assert fields(err) == (LF, 4, "sample_date", "16-07-2023",
                           "date after the export date 2023-07-15 (in the future of the export)")
    err = refused(site.date, "2023-07-01", "treatments", 2, "administration_date")
    assert fields(err) == (TF, 2, "administration_date", "2023-07-01",
                           "not a date in the site format %d-%m-%Y")


def test_site_after_cutoff_keeps_the_cutoff_day_and_logs_the_day_after():
    """after_cutoff is False on the cut-off day, True (and one log entry) the day after."""
    site = make_site()
    assert site.after_cutoff(date(2023, 6, 30), "labs", 1, "sample_date") is False
    assert site.log.entries == []
    assert site.after_cutoff(date(2023, 7, 1), "transfusions", 5, "transfusion_date") is True
    assert log(site) == [(XF, 5, "transfusion_date", "2023-07-01", "dropped",
                          "after data cut-off 2023-06-30")]


def test_site_text_logs_only_changed_text_with_its_reason():
    """Site.text: identifiers and formulas are logged with their reason; plain text is not logged."""
    site = make_site()
    assert site.text("plain note", "labs", 1, "comment") == "plain note"
    assert site.text("", "labs", 1, "comment") == ""
    assert site.text("seen by Camille Lefèvre", "patients", 2, "comment") == "seen by [redacted]"
    assert site.text("@SUM(1)", "adverse_events", 3, "term") == "'@SUM(1)"
    assert log(site) == [
        (PF, 2, "comment", "[free text]", "seen by [redacted]", "identifier removed from free text"),
        (AF, 3, "term", "[free text]", "'@SUM(1)", "spreadsheet formula neutralised")]


def test_site_day_counts_from_the_first_dose():
    """Site.day is the number of days since the patient's first dose (negative before)."""
    site = make_site(first_dose={R1: date(2022, 10, 5)})
    assert site.day(R1, date(2022, 10, 5)) == 0
    assert site.day(R1, date(2022, 10, 12)) == 7
    assert site.day(R1, date(2022, 10, 1)) == -4


def test_check_known_names_the_first_unknown_record_stripped():
    """check_known refuses a record number not in patients.csv, naming its table, row and value."""
    site = make_site(known={R1: 1})
    site.check_known(frame(["record_number"], [[f" {R1} "], [R1]]), "labs")
    err = refused(site.check_known, frame(["record_number"], [[R1], [" TST-999 "], ["TST-998"]]),
                  "transfusions")
    assert fields(err) == (XF, 2, "record_number", "TST-999",
                           "record number not in the site's patients.csv")


def test_records_are_numbered_from_one_by_index():
    """records() pairs each row with its 1-based data row (index + 1)."""
    f = frame(["a"], [["x"], ["y"], ["z"]]).iloc[[0, 2]]
    assert list(tables.records(f)) == [(1, {"a": "x"}), (3, {"a": "z"})]


def test_drop_exact_duplicates_logs_one_entry_per_kept_row():
    """Exact copies are dropped; one log entry per kept row, in row order, five rows shown at most."""
    rows = [["a"], ["b"], ["b"], ["c"], *[["a"]] * 6, *[["c"]] * 5, ["d"]]
    lg = CleaningLog()
    got = tables.drop_exact_duplicates(frame(["v"], rows), "x.csv", lg)
    assert list(got.index) == [0, 1, 3, 15]
    assert list(got["v"]) == ["a", "b", "c", "d"]
    assert [tuple(e.values()) for e in lg.entries] == [
        ("x.csv", 1, "*", "6 duplicate row(s) (rows 5, 6, 7, 8, 9, ...)", "dropped",
         "exact duplicate of row 1: 6 copies dropped"),
        ("x.csv", 2, "*", "1 duplicate row(s) (rows 3)", "dropped",
         "exact duplicate of row 2: 1 copy dropped"),
        ("x.csv", 4, "*", "5 duplicate row(s) (rows 11, 12, 13, 14, 15)", "dropped",
         "exact duplicate of row 4: 5 copies dropped")]


def test_drop_exact_duplicates_without_copies_logs_nothing():
    """A frame without copies comes back whole and the log stays empty."""
    lg = CleaningLog()
    f = frame(["v", "w"], [["a", "1"], ["a", "2"]])
    got = tables.drop_exact_duplicates(f, "x.csv", lg)
    assert got.equals(f) and lg.entries == []


# ---------------------------------------------------------------- patients


def pat_row(rec=R1, name="Camille Lefèvre", birth="1968-10-05", sex="f", diagnosis="W",
            evans="y", acro="N", acro_resp=" ", prior_lines="2", prior="pred| RTX",
            comment="seen by Camille Lefèvre") -> list[str]:
    return [rec, name, birth, sex, diagnosis, evans, acro, acro_resp, prior_lines, prior, comment]


def test_patient_rows_drop_copies_and_number_the_known_records():
    """patient_rows drops exact copies (logged) and maps each stripped record number to its row."""
    site = make_site()
    raw = frame(PAT_COLUMNS, [pat_row(rec=f" {R1}"), pat_row(rec=f" {R1}"), pat_row(rec=R2)])
    got = tables.patient_rows(raw, site)
    assert list(got.index) == [0, 2]
    assert site.known == {R1: 1, R2: 3}
    assert log(site) == [(PF, 1, "*", "1 duplicate row(s) (rows 2)", "dropped",
                          "exact duplicate of row 1: 1 copy dropped")]


def test_patient_rows_refuse_a_record_again_with_other_data():
    """A record number seen again with other data names the row, the column and the first row."""
    raw = frame(PAT_COLUMNS, [pat_row(), pat_row(), pat_row(rec=R2), pat_row(rec=f"{R1} ", sex="M")])
    err = refused(tables.patient_rows, raw, make_site())
    assert fields(err) == (PF, 4, "record_number", R1,
                           "record number appears again with different data (first at row 1)")


def test_patient_rows_refuse_a_file_without_patients():
    """A patients.csv with only its header row is refused, naming the site."""
    err = refused(tables.patient_rows, frame(PAT_COLUMNS, []), make_site())
    assert fields(err) == (PF, None, None, None,
                           "site TST has no patients (the export holds only its header row); "
                           "remove the site directory or export its patients")


def test_clean_patients_every_column_and_log_entry():
    """clean_patients maps every code, computes the age at first dose and logs comments and pseudonyms."""
    site = make_site(first_dose={R1: date(2022, 10, 5), R2: date(2022, 5, 31)},
                     pseudo={R1: "PT-1", R2: "PT-2"})
    raw = frame(PAT_COLUMNS, [
        pat_row(),
        pat_row(rec=R2, name="Jan Smit", birth="1990-06-01", sex=" M", diagnosis="c", evans="N",
                acro="Y", acro_resp="y", prior_lines=" 0", prior="", comment="=1+1"),
        pat_row(rec=" TST-100003", name="Piet Bos", birth="1950-01-01", acro_resp="n",
                prior_lines="50", prior="|RTX|", comment="")])
    site.first_dose["TST-100003"] = date(2020, 1, 1)
    site.pseudo["TST-100003"] = "PT-3"
    got = tables.clean_patients(raw, site)
    common = {"site": "TST", "country": "NL", "prior_therapies_recorded": True,
              **{f"prior_{t}": False for t in OTHER_TYPES}}
    assert got == [
        {"patient_id": "PT-1", "sex": "female", "age_at_first_dose": 54, "diagnosis": "wAIHA",
         "evans": True, "acrocyanosis": False, "acrocyanosis_response": None, "prior_lines": 2,
         "prior_corticosteroids": True, "prior_rituximab": True, "first_dose_date": "2022-10-05",
         "comment": "seen by [redacted]", **common},
        {"patient_id": "PT-2", "sex": "male", "age_at_first_dose": 31, "diagnosis": "cAIHA",
         "evans": False, "acrocyanosis": True, "acrocyanosis_response": True, "prior_lines": 0,
         "prior_corticosteroids": False, "prior_rituximab": False, "first_dose_date": "2022-05-31",
         "comment": "'=1+1", **common},
        {"patient_id": "PT-3", "sex": "female", "age_at_first_dose": 70, "diagnosis": "wAIHA",
         "evans": True, "acrocyanosis": False, "acrocyanosis_response": False, "prior_lines": 50,
         "prior_corticosteroids": False, "prior_rituximab": True, "first_dose_date": "2020-01-01",
         "comment": "", **common}]
    assert [type(r["acrocyanosis_response"]) for r in got[1:]] == [bool, bool]
    assert list(got[0])[:10] == ["patient_id", "site", "country", "sex", "age_at_first_dose",
                                 "diagnosis", "evans", "acrocyanosis", "acrocyanosis_response",
                                 "prior_lines"]
    ident = "name, birth_date, record_number"
    assert log(site) == [
        (PF, 1, "comment", "[free text]", "seen by [redacted]", "identifier removed from free text"),
        (PF, 1, ident, "[identifiers]", "PT-1, age 54", PSEUDO_REASON),
        (PF, 2, "comment", "[free text]", "'=1+1", "spreadsheet formula neutralised"),
        (PF, 2, ident, "[identifiers]", "PT-2, age 31", PSEUDO_REASON),
        (PF, 3, ident, "[identifiers]", "PT-3, age 70", PSEUDO_REASON)]


def test_clean_patients_without_the_prior_therapies_column():
    """Without the prior_therapies column the types are missing (None) and recorded is false."""
    site = make_site(first_dose={R1: date(2022, 10, 5)}, pseudo={R1: "PT-1"})
    raw = frame(PAT_COLUMNS, [pat_row()]).drop(columns="prior_therapies")
    got = tables.clean_patients(raw, site)[0]
    assert got["prior_therapies_recorded"] is False
    assert [got[f"prior_{t}"] for t in ["corticosteroids", "rituximab", *OTHER_TYPES]] == [None] * 9


def test_prior_therapies_without_the_code_table_names_the_cell():
    """A prior_therapies cell at a site without codes.prior_therapy is refused at its row."""
    p = profile()
    site = make_site(profile=replace(p, codes={k: v for k, v in p.codes.items()
                                               if k != "prior_therapy"}))
    err = refused(tables.prior_therapies, {"prior_therapies": " PRED|RTX"}, site, 4)
    assert fields(err) == (PF, 4, "prior_therapies", "PRED",
                           "the export profile of site TST has no codes.prior_therapy table to map "
                           "this column (config data.site_profiles)")


@pytest.mark.parametrize("birth, age", [("2004-10-05", 18), ("1912-10-05", 110)])
def test_clean_patients_accepts_the_age_limits(birth, age):
    """An age at first dose equal to either limit is accepted."""
    site = make_site(first_dose={R1: date(2022, 10, 5)}, pseudo={R1: "PT-1"})
    got = tables.clean_patients(frame(PAT_COLUMNS, [pat_row(birth=birth)]), site)
    assert got[0]["age_at_first_dose"] == age


@pytest.mark.parametrize("birth, age", [(" 2004-10-06", 17), ("1911-10-05", 111)])
def test_clean_patients_refuses_an_age_outside_the_limits(birth, age):
    """An age outside the configured years names row, birth_date and the raw cell."""
    site = make_site(first_dose={R1: date(2022, 10, 5), R2: date(2022, 10, 5)},
                     pseudo={R1: "PT-1", R2: "PT-2"})
    raw = frame(PAT_COLUMNS, [pat_row(rec=R2, name="Jan Smit"), pat_row(birth=birth)])
    err = refused(tables.clean_patients, raw, site)
    assert fields(err) == (PF, 2, "birth_date", birth, f"age at first dose {age} outside 18-110 years")


PATIENT_REFUSALS = {
    "birth_date": ("05-10-1968", "not a date in the site format %Y-%m-%d"),
    "sex": ("X", "unknown sex code; allowed: F, M"),
    "diagnosis": ("MIX", "unknown diagnosis code; allowed: C, W"),
    "evans": ("ja", "unknown yes_no code; allowed: N, Y"),
    "acrocyanosis": ("ja", "unknown yes_no code; allowed: N, Y"),
    "acrocyanosis_response": ("ja", "unknown yes_no code; allowed: N, Y"),
    "prior_lines": ("51", "whole number out of range (allowed 0-50)"),
    "prior_therapies": ("PRED|IVIG", "unknown prior_therapy code; allowed: PRED, RTX"),
}


@pytest.mark.parametrize("column", sorted(PATIENT_REFUSALS))
def test_clean_patients_refusals_name_file_row_column_value(column):
    """Each coded patient cell that cannot be read names patients.csv, its row, column and value."""
    value, message = PATIENT_REFUSALS[column]
    site = make_site(first_dose={R1: date(2022, 10, 5), R2: date(2022, 10, 5)},
                     pseudo={R1: "PT-1", R2: "PT-2"})
    bad = pat_row(rec=R2, name="Jan Smit")
    bad[PAT_COLUMNS.index(column)] = value
    err = refused(tables.clean_patients, frame(PAT_COLUMNS, [pat_row(), bad]), site)
    shown = "IVIG" if column == "prior_therapies" else value
    assert fields(err) == (PF, 2, column, shown, message)


# ---------------------------------------------------------------- treatments


def trt_raw(rows):
    return frame(TRT_COLUMNS, [[*r, "iv"] for r in rows])


def test_treatment_rows_parse_every_administration_and_find_first_doses():
    """treatment_rows parses each row (drug upper-cased, 1-based _row) and sets the first daratumumab dose."""
    site = make_site(known={R1: 1, R2: 2})
    raw = trt_raw([[R1, "2022-10-12", "DARA", "1000.5"], [f" {R1} ", "2022-10-05", " dara ", "0"],
                   [R1, "2022-10-01", "ritux", "375"], [R2, "2022-05-30", "PRED", "5000"],
                   [R2, "2022-05-31", "Dara", "1800"], [R2, "2022-05-31", "Dara", "1800"],
                   [R2, "2023-06-30", "DARA", "1800"]])
    got = tables.treatment_rows(raw, site)
    assert list(got.columns) == ["record_number", "date", "treatment", "drug", "dose_mg", "_row"]
    assert got.to_dict("records") == [
        {"record_number": R1, "date": date(2022, 10, 12), "treatment": "daratumumab", "drug": "DARA",
         "dose_mg": 1000.5, "_row": 1},
        {"record_number": R1, "date": date(2022, 10, 5), "treatment": "daratumumab", "drug": "DARA",
         "dose_mg": 0.0, "_row": 2},
        {"record_number": R1, "date": date(2022, 10, 1), "treatment": "aiha_therapy", "drug": "RITUX",
         "dose_mg": 375.0, "_row": 3},
        {"record_number": R2, "date": date(2022, 5, 30), "treatment": "study_regimen", "drug": "PRED",
         "dose_mg": 5000.0, "_row": 4},
        {"record_number": R2, "date": date(2022, 5, 31), "treatment": "daratumumab", "drug": "DARA",
         "dose_mg": 1800.0, "_row": 5},
        {"record_number": R2, "date": date(2023, 6, 30), "treatment": "daratumumab", "drug": "DARA",
         "dose_mg": 1800.0, "_row": 7}]
    assert site.first_dose == {R1: date(2022, 10, 5), R2: date(2022, 5, 31)}
    assert log(site) == [(TF, 5, "*", "1 duplicate row(s) (rows 6)", "dropped",
                          "exact duplicate of row 5: 1 copy dropped")]


def test_treatment_rows_accept_a_first_dose_on_the_cutoff_day():
    """A first dose on the cut-off day is accepted."""
    site = make_site(known={R1: 1})
    tables.treatment_rows(trt_raw([[R1, "2023-06-30", "DARA", "10"], [R1, "2023-07-15", "DARA", "10"]]),
                          site)
    assert site.first_dose == {R1: date(2023, 6, 30)}


def test_treatment_rows_refuse_a_first_dose_after_the_cutoff():
    """A first dose after the cut-off names the row of the earliest dose and its date."""
    site = make_site(known={R1: 1, R2: 2})
    raw = trt_raw([[R1, "2022-10-05", "DARA", "10"], [R2, "2022-05-30", "RITUX", "10"],
                   [R2, "2023-07-03", "DARA", "10"], [R2, "2023-07-01", "DARA", "10"],
                   [R2, "2023-07-02", "DARA", "10"]])
    err = refused(tables.treatment_rows, raw, site)
    assert fields(err) == (TF, 4, "administration_date", "2023-07-01",
                           "first dose after the data cut-off 2023-06-30")


def test_treatment_rows_refuse_a_patient_without_daratumumab():
    """A known patient with no daratumumab row names the patients.csv row (no row of treatments.csv)."""
    site = make_site(known={R1: 1, R2: 3})
    raw = trt_raw([[R1, "2022-10-05", "DARA", "10"], [R2, "2022-10-05", "RITUX", "10"],
                   [R1, "2022-10-06", "RITUX", "10"]])
    err = refused(tables.treatment_rows, raw, site)
    assert fields(err) == (TF, None, "treatment", "patients.csv row 3",
                           "patient has no daratumumab administration")


TREATMENT_REFUSALS = {
    "dose_high": ("dose_mg", "5000.5", "implausible dose 5000.5 mg (allowed 0-5000 mg, "
                  "config cleaning.hard_limits.dose_mg)"),
    "dose_negative": ("dose_mg", "-1", "implausible dose -1 mg (allowed 0-5000 mg, "
                      "config cleaning.hard_limits.dose_mg)"),
    "dose_text": ("dose_mg", "1,5", "decimal mark must be '.'"),
    "date": ("administration_date", "05-10-2022", "not a date in the site format %Y-%m-%d"),
    "future": ("administration_date", "2023-07-16",
               "date after the export date 2023-07-15 (in the future of the export)"),
    "treatment": ("treatment", "CHOP", "unknown treatment code; allowed: DARA, FOL, PRED, RITUX"),
    "record": ("record_number", "TST-9", "record number not in the site's patients.csv"),
}


@pytest.mark.parametrize("case", sorted(TREATMENT_REFUSALS))
def test_treatment_rows_refusals_name_file_row_column_value(case):
    """Each unreadable treatments.csv cell names the file, its row, column and value."""
    column, value, message = TREATMENT_REFUSALS[case]
    bad = [R1, "2022-10-06", "DARA", "10"]
    bad[TRT_COLUMNS.index(column)] = value
    err = refused(tables.treatment_rows, trt_raw([[R1, "2022-10-05", "DARA", "10"], bad]),
                  make_site(known={R1: 1}))
    assert fields(err) == (TF, 2, column, value, message)


def test_clean_treatments_days_cutoff_and_new_aiha_therapy():
    """Days, cut-off drops, and a new AIHA therapy logged from first to last daratumumab dose only."""
    site = make_site(known={R1: 1, R2: 2}, pseudo={R1: "PT-1", R2: "PT-2"})
    raw = trt_raw([[R1, "2022-10-05", "DARA", "1000"], [R1, "2022-10-12", "DARA", "1000"],
                   [R1, "2022-10-01", "RITUX", "375"], [R1, "2022-10-05", "RITUX", "375"],
                   [R1, "2022-10-12", "RITUX", "375"], [R1, "2022-10-13", "RITUX", "375"],
                   [R2, "2022-05-31", "DARA", "1800"], [R2, "2022-06-01", "RITUX", "375"],
                   [R2, "2023-07-01", "PRED", "5"], [R1, "2022-10-06", "FOL", "5"]])
    trt = tables.treatment_rows(raw, site)
    got = tables.clean_treatments(trt, site)
    assert list(got.columns) == ["patient_id", "date", "day", "treatment", "drug", "dose_mg"]
    assert got.to_dict("records") == [
        {"patient_id": "PT-1", "date": "2022-10-05", "day": 0, "treatment": "daratumumab",
         "drug": "DARA", "dose_mg": 1000.0},
        {"patient_id": "PT-1", "date": "2022-10-12", "day": 7, "treatment": "daratumumab",
         "drug": "DARA", "dose_mg": 1000.0},
        {"patient_id": "PT-1", "date": "2022-10-01", "day": -4, "treatment": "aiha_therapy",
         "drug": "RITUX", "dose_mg": 375.0},
        {"patient_id": "PT-1", "date": "2022-10-05", "day": 0, "treatment": "aiha_therapy",
         "drug": "RITUX", "dose_mg": 375.0},
        {"patient_id": "PT-1", "date": "2022-10-12", "day": 7, "treatment": "aiha_therapy",
         "drug": "RITUX", "dose_mg": 375.0},
        {"patient_id": "PT-1", "date": "2022-10-13", "day": 8, "treatment": "aiha_therapy",
         "drug": "RITUX", "dose_mg": 375.0},
        {"patient_id": "PT-2", "date": "2022-05-31", "day": 0, "treatment": "daratumumab",
         "drug": "DARA", "dose_mg": 1800.0},
        {"patient_id": "PT-2", "date": "2022-06-01", "day": 1, "treatment": "aiha_therapy",
         "drug": "RITUX", "dose_mg": 375.0},
        {"patient_id": "PT-1", "date": "2022-10-06", "day": 1, "treatment": "supportive",
         "drug": "FOL", "dose_mg": 5.0}]
    assert log(site) == [
        (TF, 4, "treatment", "RITUX", "aiha_therapy", AIHA_REASON),
        (TF, 5, "treatment", "RITUX", "aiha_therapy", AIHA_REASON),
        (TF, 9, "administration_date", "2023-07-01", "dropped", "after data cut-off 2023-06-30")]


def test_clean_treatments_last_dose_counts_doses_after_the_cutoff():
    """The course ends at the last daratumumab dose given, even after the cut-off (row not kept)."""
    site = make_site(known={R1: 1}, pseudo={R1: "PT-1"})
    trt = tables.treatment_rows(trt_raw([[R1, "2023-06-01", "DARA", "10"], [R1, "2023-06-30", "RITUX", "1"],
                                         [R1, "2023-07-02", "DARA", "10"]]), site)
    got = tables.clean_treatments(trt, site)
    assert list(got["day"]) == [0, 29]
    assert log(site) == [(TF, 2, "treatment", "RITUX", "aiha_therapy", AIHA_REASON),
                         (TF, 3, "administration_date", "2023-07-02", "dropped",
                          "after data cut-off 2023-06-30")]


def test_clean_treatments_without_daratumumab_logs_no_aiha_therapy():
    """A record without daratumumab rows has no course: an AIHA therapy on day 0 is not logged."""
    site = make_site(first_dose={R1: date(2022, 10, 5)}, pseudo={R1: "PT-1"})
    trt = pd.DataFrame([{"record_number": R1, "date": date(2022, 10, 5), "treatment": "aiha_therapy",
                         "drug": "RITUX", "dose_mg": 1.0, "_row": 1}])
    got = tables.clean_treatments(trt, site)
    assert list(got["day"]) == [0] and site.log.entries == []


def test_clean_treatments_of_no_rows_has_the_columns():
    """No administrations give an empty table with the treatment columns."""
    site = make_site()
    trt = pd.DataFrame(columns=["record_number", "date", "treatment", "drug", "dose_mg", "_row"])
    got = tables.clean_treatments(trt, site)
    assert got.empty and list(got.columns) == ["patient_id", "date", "day", "treatment", "drug",
                                                "dose_mg"]


# ---------------------------------------------------------------- labs


def lab(rec, when, analyte, value, unit, comment=""):
    return [rec, when, analyte, value, unit, comment]


LAB_KEYS = ["patient_id", "date", "day", "analyte", "value", "unit", "raw_value", "raw_unit", "flag",
            "comment"]


def lab_out(*values):
    return dict(zip(LAB_KEYS, values))


def test_clean_labs_every_column_and_log_entry():
    """clean_labs converts units, flags suspicious values, keeps limit values and logs each change."""
    site = ready_site()
    raw = frame(LAB_COLUMNS, [
        lab(R1, "2022-10-01", "hb", " 7.0", " mmol/L "),
        lab(R1, "2022-10-05", "HB", "3.1234567", "g/dL", "=cmd"),
        lab(R1, "2022-10-05", "ldh", "500", "U/L"),
        lab(f" {R1}", "2022-10-12", " bili ", "34.2", "µmol/L"),
        lab(R2, "2022-05-31", "hb", "9.5", "g/dL"),
        lab(R2, "2023-07-01", "hb", "9.5", "g/dL"),
        lab(R2, "2022-06-07", "hb", "2.0", "g/dL"),
        lab(R2, "2022-06-14", "hb", "25.0", "g/dL", "seen by Camille Lefèvre"),
        lab(R2, "2022-06-21", "hb", "5.0", "g/dL"),
        lab(R2, "2022-06-28", "hb", "17.5", "g/dL"),
        lab(R2, "2022-07-05", "bili", "8.0", "mg/dL"),
        lab(R2, "2022-07-05", "ldh", "2232", "u/l"),
        lab(R2, "2022-05-31", "hb", "9.5", "g/dL"),
        lab(R2, "2022-07-12", "bili", "0", "mg/dL"),
    ])
    got = tables.clean_labs(raw, site)
    assert list(got.columns) == LAB_KEYS
    assert got.to_dict("records") == [
        lab_out("PT-1", "2022-10-01", -4, "hb", 11.277, "g/dL", "7.0", "mmol/L", "", ""),
        lab_out("PT-1", "2022-10-05", 0, "hb", 3.123457, "g/dL", "3.1234567", "g/dL", "suspicious",
                "'=cmd"),
        lab_out("PT-1", "2022-10-05", 0, "ldh", 2.016129, "x ULN", "500", "U/L", "", ""),
        lab_out("PT-1", "2022-10-12", 7, "bilirubin", 2.0, "mg/dL", "34.2", "µmol/L", "", ""),
        lab_out("PT-2", "2022-05-31", 0, "hb", 9.5, "g/dL", "9.5", "g/dL", "", ""),
        lab_out("PT-2", "2022-06-07", 7, "hb", 2.0, "g/dL", "2.0", "g/dL", "suspicious", ""),
        lab_out("PT-2", "2022-06-14", 14, "hb", 25.0, "g/dL", "25.0", "g/dL", "suspicious",
                "seen by [redacted]"),
        lab_out("PT-2", "2022-06-21", 21, "hb", 5.0, "g/dL", "5.0", "g/dL", "", ""),
        lab_out("PT-2", "2022-06-28", 28, "hb", 17.5, "g/dL", "17.5", "g/dL", "", ""),
        lab_out("PT-2", "2022-07-05", 35, "bilirubin", 8.0, "mg/dL", "8.0", "mg/dL", "", ""),
        lab_out("PT-2", "2022-07-05", 35, "ldh", 9.0, "x ULN", "2232", "u/l", "suspicious", ""),
        lab_out("PT-2", "2022-07-12", 42, "bilirubin", 0.0, "mg/dL", "0", "mg/dL", "", ""),
    ]
    susp = "; kept and flagged"
    assert log(site) == [
        (LF, 5, "*", "1 duplicate row(s) (rows 13)", "dropped", "exact duplicate of row 5: 1 copy dropped"),
        (LF, 1, "value", " 7.0  mmol/L ", "11.28 g/dL", "unit normalized"),
        (LF, 2, "value", "3.1234567 g/dL", "3.12 g/dL", f"suspicious hb (outside 5-17.5 g/dL){susp}"),
        (LF, 2, "comment", "[free text]", "'=cmd", "spreadsheet formula neutralised"),
        (LF, 3, "value", "500 U/L", "2.016 x ULN", "unit normalized"),
        (LF, 4, "value", "34.2 µmol/L", "2 mg/dL", "unit normalized"),
        (LF, 6, "sample_date", "2023-07-01", "dropped", "after data cut-off 2023-06-30"),
        (LF, 7, "value", "2.0 g/dL", "2 g/dL", f"suspicious hb (outside 5-17.5 g/dL){susp}"),
        (LF, 8, "value", "25.0 g/dL", "25 g/dL", f"suspicious hb (outside 5-17.5 g/dL){susp}"),
        (LF, 8, "comment", "[free text]", "seen by [redacted]", "identifier removed from free text"),
        (LF, 12, "value", "2232 u/l", "9 x ULN", f"suspicious ldh (outside 0-5 x ULN){susp}"),
        (LF, 12, "value", "2232 u/l", "9 x ULN", "unit normalized"),
    ]


def test_clean_labs_suspicious_formats_three_digits():
    """The suspicious-value log shows three significant digits, the unit log four."""
    site = make_site(known={R1: 1}, first_dose={R1: date(2022, 10, 5)}, pseudo={R1: "PT-1"})
    got = tables.clean_labs(frame(LAB_COLUMNS, [lab(R1, "2022-10-05", "HB", "11.1", "mmol/L")]), site)
    assert list(got["value"]) == [17.8821]
    assert log(site) == [
        (LF, 1, "value", "11.1 mmol/L", "17.9 g/dL", "suspicious hb (outside 5-17.5 g/dL); kept and flagged"),
        (LF, 1, "value", "11.1 mmol/L", "17.88 g/dL", "unit normalized")]


def test_clean_labs_an_empty_export_has_the_columns():
    """A labs.csv of no rows at a site without patients gives an empty typed-column table."""
    got = tables.clean_labs(frame(LAB_COLUMNS, []), make_site())
    assert got.empty and list(got.columns) == LAB_KEYS


LAB_REFUSALS = {
    "unit": ("unit", "g/dm", "unknown hemoglobin unit 'g/dm'; expected one of g/dL, g/L, mmol/L"),
    "high": ("value", "26.1234", "implausible hb 26.12 g/dL (allowed 2-25 g/dL)"),
    "low": ("value", "1.99", "implausible hb 1.99 g/dL (allowed 2-25 g/dL)"),
    "number": ("value", "7,0", "decimal mark must be '.'"),
    "analyte": ("analyte", "CRP", "unknown analyte code; allowed: BILI, HB, LDH"),
    "date": ("sample_date", "2022/10/06", "not a date in the site format %Y-%m-%d"),
    "future": ("sample_date", "2023-07-16",
               "date after the export date 2023-07-15 (in the future of the export)"),
    "record": ("record_number", "TST-9", "record number not in the site's patients.csv"),
}


@pytest.mark.parametrize("case", sorted(LAB_REFUSALS))
def test_clean_labs_refusals_name_file_row_column_value(case):
    """Each unreadable labs.csv cell names the file, its row, column and value."""
    column, value, message = LAB_REFUSALS[case]
    bad = lab(R1, "2022-10-06", "hb", "9.0", "g/dL")
    bad[LAB_COLUMNS.index(column)] = value
    err = refused(tables.clean_labs, frame(LAB_COLUMNS, [lab(R1, "2022-10-05", "hb", "9", "g/dL"), bad]),
                  ready_site())
    assert fields(err) == (LF, 2, column, value, message)


@pytest.mark.parametrize("analyte, value, unit, message", [
    ("bili", "51", "mg/dL", "implausible bilirubin 51 mg/dL (allowed 0-50 mg/dL)"),
    ("ldh", "7456", "U/L", "implausible ldh 30.06 x ULN (allowed 0-30 x ULN)"),
])
def test_clean_labs_hard_limits_per_analyte(analyte, value, unit, message):
    """Each analyte is checked against its own hard limit, after unit conversion."""
    raw = frame(LAB_COLUMNS, [lab(R1, "2022-10-05", "hb", "9", "g/dL"),
                              lab(R1, "2022-10-06", analyte, value, unit)])
    err = refused(tables.clean_labs, raw, ready_site())
    assert fields(err) == (LF, 2, "value", value, message)


def test_clean_labs_refuse_a_patient_without_a_baseline_hb():
    """A patient whose first Hb is after day 0 (an LDH on day 0 does not count) names the patients.csv row."""
    raw = frame(LAB_COLUMNS, [lab(R1, "2022-10-05", "hb", "9", "g/dL"),
                              lab(R2, "2022-05-31", "ldh", "300", "U/L"),
                              lab(R2, "2022-06-01", "hb", "9", "g/dL")])
    err = refused(tables.clean_labs, raw, ready_site())
    assert fields(err) == (PF, 3, None, None,
                           "patient of site TST has no baseline Hb (no hb in raw/TST/labs.csv on or "
                           "before the first dose 2022-05-31); the response cannot be scored")


def test_clean_labs_refuse_two_values_of_one_analyte_on_one_date():
    """Two different values of an analyte on one date name the first two rows and the second value."""
    raw = frame(LAB_COLUMNS, [lab(R1, "2022-10-05", "hb", "9", "g/dL"),
                              lab(R2, "2022-05-31", "hb", "9", "g/dL"),
                              lab(R1, "2022-10-06", "ldh", "300", "U/L"),
                              lab(R2, "2022-05-30", "ldh", "300", "U/L"),
                              lab(R1, "2022-10-06", "ldh", " 310", "U/L"),
                              lab(R1, "2022-10-06", "ldh", "320", "U/L")])
    err = refused(tables.clean_labs, raw, ready_site())
    assert fields(err) == (LF, 5, "value", "310",
                           "two different ldh values on the same date (rows [3, 5])")


# ---------------------------------------------------------------- transfusions


def test_clean_transfusions_rows_limits_and_cutoff():
    """clean_transfusions keeps units at both limits, counts days and drops rows after the cut-off."""
    site = ready_site()
    raw = frame(XF_COLUMNS, [[R1, "2022-10-06", "2", "RBC"], [R2, "2023-07-01", "1", "RBC"],
                             [f"{R2} ", "2022-05-30", "20", ""], [R1, "2022-10-07", " 1 ", "RBC"],
                             [R1, "2022-10-07", " 1 ", "RBC"]])
    got = tables.clean_transfusions(raw, site)
    assert list(got.columns) == ["patient_id", "date", "day", "units"]
    assert got.to_dict("records") == [
        {"patient_id": "PT-1", "date": "2022-10-06", "day": 1, "units": 2},
        {"patient_id": "PT-2", "date": "2022-05-30", "day": -1, "units": 20},
        {"patient_id": "PT-1", "date": "2022-10-07", "day": 2, "units": 1}]
    assert log(site) == [
        (XF, 4, "*", "1 duplicate row(s) (rows 5)", "dropped", "exact duplicate of row 4: 1 copy dropped"),
        (XF, 2, "transfusion_date", "2023-07-01", "dropped", "after data cut-off 2023-06-30")]


def test_clean_transfusions_of_no_rows_has_the_columns():
    """No transfusions give an empty table with the transfusion columns."""
    got = tables.clean_transfusions(frame(XF_COLUMNS, []), ready_site())
    assert got.empty and list(got.columns) == ["patient_id", "date", "day", "units"]


TRANSFUSION_REFUSALS = {
    "many": ("units", "21", "whole number out of range (allowed 1-20)"),
    "none": ("units", "0", "whole number out of range (allowed 1-20)"),
    "date": ("transfusion_date", "2022-10-32", "not a date in the site format %Y-%m-%d"),
    "future": ("transfusion_date", "2023-07-16",
               "date after the export date 2023-07-15 (in the future of the export)"),
    "record": ("record_number", "TST-9", "record number not in the site's patients.csv"),
}


@pytest.mark.parametrize("case", sorted(TRANSFUSION_REFUSALS))
def test_clean_transfusions_refusals_name_file_row_column_value(case):
    """Each unreadable transfusions.csv cell names the file, its row, column and value."""
    column, value, message = TRANSFUSION_REFUSALS[case]
    bad = [R1, "2023-07-02", "2", ""]  # after the cut-off: still checked
    bad[XF_COLUMNS.index(column)] = value
    err = refused(tables.clean_transfusions, frame(XF_COLUMNS, [[R1, "2022-10-06", "2", ""], bad]),
                  ready_site())
    assert fields(err) == (XF, 2, column, value, message)


# ---------------------------------------------------------------- adverse events


AE_KEYS = ["patient_id", "ae_number", "onset_date", "day", "term", "grade", "serious", "description",
           "reports", "soc", "related", "outcome"]


def ae_out(*values):
    """An event row; the optional columns (soc, related, outcome) empty unless given."""
    return dict(zip(AE_KEYS, [*values, *[""] * (len(AE_KEYS) - len(values))]))


def test_clean_adverse_events_merge_reports_of_one_event():
    """One row per (record, ae_number): worst grade (logged when it differs), any serious, report count."""
    site = ready_site()
    raw = frame(AE_COLUMNS, [
        [R1, "1", "2022-10-05", "Pneumonia ", "2", "n", "first report"],
        [R1, "2", "2022-11-01", "Zoster", "1", "Y", "seen by Camille Lefèvre"],
        [R1, " 1", "2022-10-06", "Pneumonia", "3", "Y", "again"],
        [R1, "1", "2022-10-07", " Pneumonia", "1", "N", "later"],
        [R1, "2", "2022-11-02", "Zoster", "1", "N", ""],
        [R2, "1", "2022-06-01", "=Anaemia", "5", "N", ""],
        [R2, "1000000", "2023-07-01", "Rash", "1", "N", ""],
        [R2, "1", "2022-06-01", "=Anaemia", "5", "N", ""],
    ])
    got = tables.clean_adverse_events(raw, site)
    assert list(got.columns) == AE_KEYS
    assert got.to_dict("records") == [
        ae_out("PT-1", 1, "2022-10-05", 0, "Pneumonia", 3, True, "first report", 3),
        ae_out("PT-1", 2, "2022-11-01", 27, "Zoster", 1, True, "seen by [redacted]", 2),
        ae_out("PT-2", 1, "2022-06-01", 1, "'=Anaemia", 5, False, "", 1)]
    worst = "event reported again; worst grade kept"
    assert log(site) == [
        (AF, 6, "*", "1 duplicate row(s) (rows 8)", "dropped", "exact duplicate of row 6: 1 copy dropped"),
        (AF, 2, "description", "[free text]", "seen by [redacted]", "identifier removed from free text"),
        (AF, 3, "ctcae_grade", 2, 3, worst),
        (AF, 4, "ctcae_grade", 3, 3, worst),
        (AF, 6, "term", "[free text]", "'=Anaemia", "spreadsheet formula neutralised"),
        (AF, 7, "onset_date", "2023-07-01", "dropped", "after data cut-off 2023-06-30")]


def test_clean_adverse_events_serious_once_stays_serious():
    """An event once reported serious stays serious; a lone non-serious report stays non-serious."""
    site = ready_site()
    raw = frame(AE_COLUMNS, [[R1, "4", "2022-10-05", "Rash", "1", "Y", ""],
                             [R1, "4", "2022-10-06", "Rash", "1", "N", ""],
                             [R1, "5", "2022-10-06", "Cough", "1", "N", ""]])
    got = tables.clean_adverse_events(raw, site)
    assert list(got["serious"]) == [True, False] and list(got["reports"]) == [2, 1]
    assert site.log.entries == []


def test_clean_adverse_events_of_no_rows_has_the_columns():
    """No adverse events give an empty table with the event columns."""
    got = tables.clean_adverse_events(frame(AE_COLUMNS, []), ready_site())
    assert got.empty and list(got.columns) == AE_KEYS


def test_clean_adverse_events_refuse_another_term_for_one_event():
    """An event number reported again with another term names the row, the raw term and the first row."""
    raw = frame(AE_COLUMNS, [[R1, "1", "2022-10-05", "Pneumonia", "2", "N", ""],
                             [R2, "1", "2022-10-05", "Cough", "2", "N", ""],
                             [R1, "1", "2022-10-06", " Sepsis", "2", "N", ""]])
    err = refused(tables.clean_adverse_events, raw, ready_site())
    assert fields(err) == (AF, 3, "term", " Sepsis",
                           "adverse event 1 reported again with another term (first at row 1)")


AE_REFUSALS = {
    "before": ("onset_date", " 2022-10-04", "adverse event onset before the first dose 2022-10-05"),
    "date": ("onset_date", "4 Oct 2022", "not a date in the site format %Y-%m-%d"),
    "future": ("onset_date", "2023-07-16",
               "date after the export date 2023-07-15 (in the future of the export)"),
    "grade6": ("ctcae_grade", "6", "whole number out of range (allowed 1-5)"),
    "grade0": ("ctcae_grade", "0", "whole number out of range (allowed 1-5)"),
    "number0": ("ae_number", "0", "whole number out of range (allowed 1-1000000)"),
    "number_big": ("ae_number", "1000001", "whole number out of range (allowed 1-1000000)"),
    "serious": ("serious", "maybe", "unknown yes_no code; allowed: N, Y"),
    "record": ("record_number", "TST-9", "record number not in the site's patients.csv"),
}


@pytest.mark.parametrize("case", sorted(AE_REFUSALS))
def test_clean_adverse_events_refusals_name_file_row_column_value(case):
    """Each unreadable adverse_events.csv cell names the file, its row, column and value."""
    column, value, message = AE_REFUSALS[case]
    bad = [R1, "2", "2023-07-02", "Cough", "2", "N", ""]  # after the cut-off: still checked
    bad[AE_COLUMNS.index(column)] = value
    raw = frame(AE_COLUMNS, [[R1, "1", "2022-10-05", "Rash", "1", "N", ""], bad])
    err = refused(tables.clean_adverse_events, raw, ready_site())
    assert fields(err) == (AF, 2, column, value, message)


# ---------------------------------------------------------------- the study (files on disk)

HEADERS = {
    "patients": ["record_number", "name", "birth_date", "sex", "diagnosis", "evans", "acrocyanosis",
                 "acrocyanosis_response", "prior_lines", "comment"],
    "labs": LAB_COLUMNS, "transfusions": XF_COLUMNS, "treatments": TRT_COLUMNS,
    "adverse_events": AE_COLUMNS,
}


def write_site(root: Path, code: str, rows: dict[str, list[list[str]]], delimiter: str = ",") -> Path:
    d = root / code
    d.mkdir(parents=True, exist_ok=True)
    for t in TABLES:
        with open(d / f"{t}.csv", "w", newline="", encoding="utf-8") as handle:
            w = csv.writer(handle, delimiter=delimiter, lineterminator="\n")
            w.writerow(HEADERS[t])
            w.writerows(rows.get(t, []))
    return root


def study_profiles() -> dict[str, SiteProfile]:
    return {"BBB": profile("BBB", delimiter=";", decimal=",", date_format="%Y.%m.%d",
                           country="BE"),
            "AAA": profile("AAA")}


def aaa_rows() -> dict[str, list[list[str]]]:
    return {
        "patients": [["A-100001", "Anna Jansen", "1960-01-15", "F", "W", "N", "N", "", "1",
                      "also seen: Bram Pietersen"],
                     ["A-100003", "Carl Dekker", "1970-02-01", "M", "C", "N", "Y", "N", "0", ""]],
        "labs": [["A-100003", "2022-03-01", "HB", "10", "g/dL", ""],
                 ["A-100001", "2022-01-10", "LDH", "248", "U/L", ""],
                 ["A-100001", "2022-01-10", "HB", "8.0", "g/dL", ""],
                 ["A-100001", "2022-01-03", "HB", "8.5", "g/dL", ""],
                 ["A-100001", "2022-01-10", "HB", "8.0", "g/dL", ""]],
        "transfusions": [["A-100001", "2022-01-20", "2", "RBC"], ["A-100001", "2022-01-12", "1", "RBC"],
                         ["A-100003", "2022-03-02", "1", "RBC"]],
        "treatments": [["A-100001", "2022-01-17", "DARA", "1000", "iv"],
                       ["A-100001", "2022-01-10", "PRED", "50", "po"],
                       ["A-100001", "2022-01-10", "DARA", "1000", "iv"],
                       ["A-100003", "2022-03-01", "DARA", "1000", "iv"]],
        "adverse_events": [["A-100001", "2", "2022-01-11", "Cough", "1", "N", ""],
                           ["A-100001", "1", "2022-01-12", "Rash", "2", "N", ""],
                           ["A-100003", "1", "2022-03-05", "Fever", "1", "N", ""]],
    }


def bbb_rows() -> dict[str, list[list[str]]]:
    return {
        "patients": [["B-200002", "Bram Pietersen", "1970.03.04", "M", "W", "Y", "N", "", "3", ""]],
        "labs": [["B-200002", "2022.02.01", "HB", "7,5", "g/dL", ""]],
        "treatments": [["B-200002", "2022.02.01", "DARA", "1800", "sc"]],
    }


def write_study(root: Path) -> Path:
    write_site(root, "AAA", aaa_rows())
    write_site(root, "BBB", bbb_rows(), delimiter=";")
    return root


KEY = b"0123456789abcdef-test-key"


def run_study(root: Path, sites=("BBB", "AAA"), profiles=None, export_date=EXPORT):
    return study.clean_study(root, list(sites), profiles or study_profiles(), KEY, CUTOFF, limits(),
                             export_date)


def test_clean_study_stacks_sorts_and_validates_every_table(tmp_path):
    """clean_study cleans each site, stacks the tables sorted by their keys and counts the raw rows."""
    root = write_study(tmp_path)
    t = run_study(root)
    a1, a3, b2 = (pseudonymize("AAA", "A-100001", KEY), pseudonymize("AAA", "A-100003", KEY),
                  pseudonymize("BBB", "B-200002", KEY))
    order = sorted([a1, a3, b2])
    assert list(t.patients["patient_id"]) == order
    pat = t.patients.set_index("patient_id")
    assert pat.loc[a1, "comment"] == "also seen: [redacted]"  # another site's patient
    assert list(pat.loc[[a1, a3, b2], "site"]) == ["AAA", "AAA", "BBB"]
    assert list(pat.loc[[a1, a3, b2], "country"]) == ["NL", "NL", "BE"]
    assert list(pat.loc[[a1, a3, b2], "age_at_first_dose"]) == [61, 52, 51]
    assert list(pat.loc[[a1, a3, b2], "first_dose_date"]) == ["2022-01-10", "2022-03-01", "2022-02-01"]
    assert t.patients["prior_corticosteroids"].isna().all()
    assert str(t.patients["prior_corticosteroids"].dtype) == "boolean"
    assert t.patients.index.tolist() == [0, 1, 2]

    def rows(df, cols):
        return [tuple(r) for r in df[cols].itertuples(index=False)]

    labs = sorted([(a3, "2022-03-01", "hb", 10.0), (a1, "2022-01-10", "ldh", 1.0),
                   (a1, "2022-01-10", "hb", 8.0), (a1, "2022-01-03", "hb", 8.5),
                   (b2, "2022-02-01", "hb", 7.5)])
    assert rows(t.labs, ["patient_id", "date", "analyte", "value"]) == labs
    assert t.labs.index.tolist() == list(range(5))
    assert list(t.transfusions.columns) == ["patient_id", "date", "day", "units"]
    assert rows(t.transfusions, ["patient_id", "date", "day", "units"]) == sorted(
        [(a1, "2022-01-20", 10, 2), (a1, "2022-01-12", 2, 1), (a3, "2022-03-02", 1, 1)])
    assert t.transfusions.index.tolist() == [0, 1, 2]
    assert list(t.treatments.columns) == ["patient_id", "date", "day", "treatment", "drug", "dose_mg"]
    assert rows(t.treatments, ["patient_id", "date", "treatment", "dose_mg"]) == sorted(
        [(a1, "2022-01-17", "daratumumab", 1000.0), (a1, "2022-01-10", "study_regimen", 50.0),
         (a1, "2022-01-10", "daratumumab", 1000.0), (a3, "2022-03-01", "daratumumab", 1000.0),
         (b2, "2022-02-01", "daratumumab", 1800.0)])
    assert t.treatments.index.tolist() == list(range(5))
    assert rows(t.adverse_events, ["patient_id", "ae_number", "term", "day"]) == sorted(
        [(a1, 2, "Cough", 1), (a1, 1, "Rash", 2), (a3, 1, "Fever", 4)])
    assert t.adverse_events.index.tolist() == [0, 1, 2]
    assert t.raw_rows == {("BBB", "patients"): 1, ("BBB", "labs"): 1, ("BBB", "transfusions"): 0,
                          ("BBB", "treatments"): 1, ("BBB", "adverse_events"): 0,
                          ("AAA", "patients"): 2, ("AAA", "labs"): 5, ("AAA", "transfusions"): 3,
                          ("AAA", "treatments"): 4, ("AAA", "adverse_events"): 3}
    aaa = str(tmp_path / "AAA")
    assert list(t.log.columns) == ["file", "row", "field", "old", "new", "reason"]
    assert [tuple(r) for r in t.log[["file", "row", "field", "reason"]].itertuples(index=False)] == [
        (str(tmp_path / "BBB" / "patients.csv"), 1, "name, birth_date, record_number", PSEUDO_REASON),
        (f"{aaa}/patients.csv", 1, "comment", "identifier removed from free text"),
        (f"{aaa}/patients.csv", 1, "name, birth_date, record_number", PSEUDO_REASON),
        (f"{aaa}/patients.csv", 2, "name, birth_date, record_number", PSEUDO_REASON),
        (f"{aaa}/labs.csv", 3, "*", "exact duplicate of row 3: 1 copy dropped"),
        (f"{aaa}/labs.csv", 2, "value", "unit normalized")]


def test_clean_study_refuses_an_unknown_site_naming_the_known_ones(tmp_path):
    """A site without a profile names its directory and the known codes, sorted."""
    root = write_study(tmp_path)
    err = refused(run_study, root, ("AAA", "XYZ"))
    assert fields(err) == (str(tmp_path / "XYZ"), None, None, None,
                           "site code 'XYZ' has no export profile; known: AAA, BBB")


def test_clean_study_reports_the_invalid_raw_file(tmp_path):
    """A raw cell failing its schema names that site's file (validated before cleaning)."""
    rows = aaa_rows()
    rows["transfusions"][1][2] = "two"
    write_site(tmp_path, "AAA", rows)
    write_site(tmp_path, "BBB", bbb_rows(), delimiter=";")
    err = refused(run_study, tmp_path)
    assert fields(err) == (str(tmp_path / "AAA" / "transfusions.csv"), 2, "units", "two",
                           "value fails check: must be a whole number")


def test_clean_study_refuses_a_pseudonym_shared_by_two_sites(tmp_path):
    """Two site directories under one site code and record number give one pseudonym: refused."""
    write_site(tmp_path, "AAA", aaa_rows())
    rows = aaa_rows()
    rows["patients"][0][1:3] = ["Other Person", "1961-01-15"]
    rows["patients"][1][1:3] = ["Third Person", "1971-02-01"]
    rows["patients"][0][9] = ""
    write_site(tmp_path, "CCC", rows)
    profiles = {"AAA": profile("AAA"), "CCC": profile("AAA")}
    err = refused(run_study, tmp_path, ("AAA", "CCC"), profiles)
    assert fields(err) == (str(tmp_path), None, None, pseudonymize("AAA", "A-100001", KEY),
                           "pseudonym collision between sites")


def test_clean_study_export_date_defaults_to_today(tmp_path):
    """Without an export date, a record dated after today is refused, naming today."""
    rows = bbb_rows()
    rows["treatments"].append(["B-200002", "2999.01.01", "DARA", "1800", "sc"])
    write_site(tmp_path, "BBB", rows, delimiter=";")
    err = refused(run_study, tmp_path, ("BBB",), None, None)
    assert fields(err) == (str(tmp_path / "BBB" / "treatments.csv"), 2, "administration_date",
                           "2999.01.01",
                           f"date after the export date {date.today()} (in the future of the export)")


def test_clean_study_refuses_codes_in_an_identifier_column(tmp_path):
    """A patients.csv whose name column holds site codes (shifted header) is refused before cleaning."""
    rows = bbb_rows()
    rows["patients"][0][1] = "w"
    write_site(tmp_path, "BBB", rows, delimiter=";")
    err = refused(run_study, tmp_path, ("BBB",))
    assert fields(err) == (str(tmp_path / "BBB" / "patients.csv"), None, "name", None,
                           "identifier column holds the site's codes: check the order of the header row")


def pat_frame(rows: list[list[str]]) -> pd.DataFrame:
    return frame(HEADERS["patients"], [[*r, "F", "W", "N", "N", "", "0", ""] for r in rows])


@pytest.mark.parametrize("names, refused_", [
    (["M", "Anna Jansen"], True),         # half the values are codes
    (["M", "Anna Jansen", "Bo Li"], False),  # a third
    (["", " y ", "Bo Li"], True),         # empty cells do not count; codes read trimmed, any case
    (["", ""], False),                    # nothing to judge
])
def test_identifier_column_check_counts_codes_against_values(names, refused_):
    """An identifier column is refused when at least half its non-empty values are site codes."""
    pat = pat_frame([[f"A-{i}", n, "1960-01-01"] for i, n in enumerate(names)])
    if refused_:
        err = refused(study._check_identifier_columns, pat, profile(), "p.csv")
        assert fields(err) == ("p.csv", None, "name", None, "identifier column holds the site's "
                               "codes: check the order of the header row")
    else:
        study._check_identifier_columns(pat, profile(), "p.csv")


def test_identifier_column_check_covers_every_identifier_column():
    """Codes in the birth_date or record_number column are refused naming that column."""
    pat = pat_frame([["A-1", "Anna Jansen", "n"], ["A-2", "Bo Li", "1960-01-01"]])
    err = refused(study._check_identifier_columns, pat, profile(), "p.csv")
    assert (err.column, err.file) == ("birth_date", "p.csv")
    pat = pat_frame([["dara", "Anna Jansen", "1960-01-01"]])
    assert refused(study._check_identifier_columns, pat, profile(), "p.csv").column == "record_number"


def test_build_index_reads_every_site_with_its_date_format(tmp_path):
    """build_index indexes every patient's identifiers (birth date in the site format), skipping bad sites."""
    raw = {"CCC": {"patients": frame(["record_number"], [["C-777777"]])},
           "BBB": {"patients": pat_frame([["B-200002", "Bram Pietersen", "1970.03.04"]])},
           "AAA": {"patients": pat_frame([["A-100001", "Anna Jansen", "1960-01-15"]])}}
    ix = study.build_index(raw, tmp_path, study_profiles())
    for text in ("born 04/03/1970", "rec B-200002", "Mr Pietersen", "Ms Anna", "dob 15.01.1960",
                 "rec A-100001"):
        assert ix.scrub(text) == text.split(" ")[0] + " [redacted]", text
    assert ix.scrub("rec C-777777") == "rec C-777777"


def test_build_index_names_the_file_of_a_shifted_header(tmp_path):
    """A shifted patients.csv header is reported with the site's path under raw_dir."""
    raw = {"AAA": {"patients": pat_frame([["A-1", "w", "1960-01-01"]])}}
    err = refused(study.build_index, raw, tmp_path, study_profiles())
    assert (err.file, err.column) == (str(tmp_path / "AAA" / "patients.csv"), "name")


def test_one_person_under_two_record_numbers_is_refused_naming_both_rows(tmp_path):
    """One person (name folded, same birth date) under two records names both rows, sites sorted."""
    raw = {"ZZZ": {"patients": pat_frame([["Z-1", "Bo Li", "1960-01-01"],
                                          ["Z-2", " camille   LEFEVRE ", "05.10.1968"]])},
           "AAA": {"patients": pat_frame([["A-1", "Camille Lefèvre", "1968-10-05"],
                                          ["A-1", "Camille Lefèvre", "1968-10-05"],
                                          ["A-3", "Camille Lefèvre", "1968-10-05"]])},
           "NOC": {"patients": frame(["record_number"], [["A-1"]])}}
    profiles = {"ZZZ": profile("ZZZ", date_format="%d.%m.%Y"), "AAA": profile("AAA"),
                "NOC": profile("NOC")}
    err = refused(study.check_one_person_one_record, raw, tmp_path, profiles)
    a = str(tmp_path / "AAA" / "patients.csv")
    assert fields(err) == (a, 3, None, None, f"the same person (name and date of birth) as {a} row 1, "
                           "under another record number: one patient counted twice; keep one record")
    raw["AAA"]["patients"] = pat_frame([["A-1", "Camille Lefèvre", "1968-10-05"]])
    err = refused(study.check_one_person_one_record, raw, tmp_path, profiles)
    z = str(tmp_path / "ZZZ" / "patients.csv")
    assert (err.file, err.row) == (z, 2) and f"as {a} row 1," in err.message


def test_one_record_at_two_sites_and_unreadable_rows_are_not_refused(tmp_path):
    """Same record at one site, unreadable dates and empty names pass; same record at two sites fails."""
    raw = {"AAA": {"patients": pat_frame([["A-1", "Camille Lefèvre", "1968-10-05"],
                                          ["A-1 ", "Camille Lefèvre", "1968-10-05"],
                                          ["A-2", "Camille Lefèvre", "05-10-1968"],
                                          ["A-3", "", "1970-01-01"], ["A-4", "", "1970-01-01"]])}}
    study.check_one_person_one_record(raw, tmp_path, {"AAA": profile("AAA")})
    raw["BBB"] = {"patients": pat_frame([["A-1", "Camille Lefèvre", "1968-10-05"]])}
    err = refused(study.check_one_person_one_record, raw, tmp_path,
                  {"AAA": profile("AAA"), "BBB": profile("BBB")})
    assert (err.file, err.row) == (str(tmp_path / "BBB" / "patients.csv"), 1)


def test_study_index_reads_each_sites_patients_file(tmp_path):
    """study_index builds the index from the given patients.csv files, each read with its site profile."""
    root = write_study(tmp_path)
    ix = study.study_index([root / "BBB" / "patients.csv", str(root / "AAA" / "patients.csv")],
                           study_profiles())
    for text in ("rec B-200002", "born 04/03/1970", "rec A-100003", "Mr Dekker"):
        assert ix.scrub(text) == text.split(" ")[0] + " [redacted]", text
    assert not study.study_index([], study_profiles())


def test_study_index_validates_and_names_the_file(tmp_path):
    """study_index refuses an invalid patients.csv and a shifted header naming the file."""
    rows = bbb_rows()
    rows["patients"][0][1] = "W"
    write_site(tmp_path, "BBB", rows, delimiter=";")
    path = tmp_path / "BBB" / "patients.csv"
    err = refused(study.study_index, [path], study_profiles())
    assert (err.file, err.column, err.row) == (str(path), "name", None)
    rows["patients"][0][1] = "Bram Pietersen"
    rows["patients"][0][3] = ""
    write_site(tmp_path, "BBB", rows, delimiter=";")
    err = refused(study.study_index, [path], study_profiles())
    assert fields(err) == (str(path), 1, "sex", "", "value fails check: must not be empty")


def test_export_records_skips_unreadable_files(tmp_path):
    """export_records lists (site, stripped record number) of every readable patients.csv."""
    write_study(tmp_path)
    (tmp_path / "AAA" / "patients.csv").write_text(
        "record_number,name\n A-100001 ,x\nA-100003,y\n", encoding="utf-8")
    (tmp_path / "NOR").mkdir()
    (tmp_path / "NOR" / "patients.csv").write_text("number,name\nN-1,x\n", encoding="utf-8")
    profiles = {**study_profiles(), "MIS": profile("MIS"), "NOR": profile("NOR")}
    got = study.export_records(str(tmp_path), ["MIS", "BBB", "NOR", "AAA"], profiles)
    assert got == {("AAA", "A-100001"), ("AAA", "A-100003"), ("BBB", "B-200002")}


def test_input_summary_lists_each_raw_file(tmp_path):
    """input_summary gives site, table, path, raw record count and SHA-256 of every raw file."""
    root = write_study(tmp_path)
    t = run_study(root)
    got = study.input_summary(str(root), ["AAA", "BBB"], t)
    assert list(got.columns) == ["site", "table", "file", "rows", "sha256"]
    counts = {"AAA": [2, 5, 3, 4, 3], "BBB": [1, 1, 0, 1, 0]}
    expected = [{"site": s, "table": tb, "file": str(root / s / f"{tb}.csv"), "rows": counts[s][i],
                 "sha256": hashlib.sha256((root / s / f"{tb}.csv").read_bytes()).hexdigest()}
                for s in ("AAA", "BBB") for i, tb in enumerate(TABLES)]
    assert got.to_dict("records") == expected


def test_identifier_columns_alone_are_enough(tmp_path):
    """A patients frame of only the three identifier columns is indexed and checked for one person."""
    ids = ["record_number", "name", "birth_date"]
    raw = {"AAA": {"patients": frame(ids, [["C-777777", "Dirk Vos", "1950-05-05"]])},
           "BBB": {"patients": frame(ids, [["C-777778", "Dirk Vos", "1950.05.05"]])}}
    ix = study.build_index(raw, tmp_path, study_profiles())
    assert ix.scrub("rec C-777777") == "rec [redacted]"
    err = refused(study.check_one_person_one_record, raw, tmp_path, study_profiles())
    assert (err.file, err.row) == (str(tmp_path / "BBB" / "patients.csv"), 1)


def test_two_unreadable_dates_of_birth_are_not_one_person(tmp_path):
    """Two records with one name and unreadable dates of birth are left to the cleaning, not refused."""
    raw = {"AAA": {"patients": pat_frame([["A-1", "Camille Lefèvre", "05-10-1968"],
                                          ["A-2", "Camille Lefèvre", "05-10-1968"]])}}
    study.check_one_person_one_record(raw, tmp_path, {"AAA": profile("AAA")})


def test_a_missing_export_names_its_table(tmp_path):
    """A missing export file is refused naming the file and its table (clean_study and study_index)."""
    root = write_study(tmp_path)
    (root / "AAA" / "labs.csv").unlink()
    err = refused(run_study, root)
    assert fields(err) == (str(root / "AAA" / "labs.csv"), None, None, None,
                           "missing export file for table 'labs'")
    err = refused(study.study_index, [root / "CCC" / "patients.csv"],
                  {"CCC": profile("CCC")})
    assert fields(err) == (str(root / "CCC" / "patients.csv"), None, None, None,
                           "missing export file for table 'patients'")


def test_clean_study_activates_the_study_index_for_messages(tmp_path):
    """After clean_study builds the index, an error message shows no record number of the study."""
    rows = aaa_rows()
    rows["labs"][0][4] = "A-100003"  # a record number typed as the unit
    write_site(tmp_path, "AAA", rows)
    err = refused(run_study, tmp_path, ("AAA",))
    assert fields(err)[:4] == (str(tmp_path / "AAA" / "labs.csv"), 1, "unit", "A-100003")
    assert str(err) == (f"file {tmp_path / 'AAA' / 'labs.csv'}, row 1, column 'unit', value "
                        "'[identifier]': unknown hemoglobin unit '[redacted]'; expected one of "
                        "g/dL, g/L, mmol/L")


def test_clean_labs_raw_unit_is_scrubbed_with_the_site_index():
    """The raw unit goes through the site's identifier index (a name part that is also a unit word)."""
    site = ready_site()
    site.index.add_person("TST-100009", "Mmol Jansen", "1950-01-01")
    raw = frame(LAB_COLUMNS, [lab(R1, "2022-10-05", "hb", "6", "mmol/L"),
                              lab(R2, "2022-05-31", "hb", "9", "g/dL")])
    got = tables.clean_labs(raw, site)
    assert list(got["raw_unit"]) == ["[redacted]/L", "g/dL"]


def test_clean_labs_clash_rows_belong_to_one_clash():
    """Two clashing pairs interleaved: the error names the two rows of the first clash."""
    raw = frame(LAB_COLUMNS, [lab(R1, "2022-10-05", "hb", "9", "g/dL"),
                              lab(R2, "2022-05-31", "hb", "9", "g/dL"),
                              lab(R1, "2022-10-06", "hb", "10", "g/dL"),
                              lab(R2, "2022-06-01", "hb", "11", "g/dL"),
                              lab(R1, "2022-10-06", "hb", "12", "g/dL"),
                              lab(R2, "2022-06-01", "hb", "13", "g/dL")])
    err = refused(tables.clean_labs, raw, ready_site())
    assert fields(err) == (LF, 5, "value", "12",
                           "two different hb values on the same date (rows [3, 5])")


def test_clean_treatments_course_ends_at_the_latest_dose_in_any_row_order():
    """The course ends at the latest daratumumab dose even when an earlier dose comes later in the file."""
    site = make_site(known={R1: 1}, pseudo={R1: "PT-1"})
    trt = tables.treatment_rows(trt_raw([[R1, "2022-10-12", "DARA", "10"], [R1, "2022-10-05", "DARA", "10"],
                                         [R1, "2022-10-12", "RITUX", "1"]]), site)
    got = tables.clean_treatments(trt, site)
    assert list(got["day"]) == [7, 0, 7]
    assert log(site) == [(TF, 3, "treatment", "RITUX", "aiha_therapy", AIHA_REASON)]


def test_clean_adverse_events_rows_after_a_dropped_one_are_kept():
    """An event after the cut-off is dropped; the events listed after it are still cleaned."""
    site = ready_site()
    raw = frame(AE_COLUMNS, [[R1, "1", "2023-07-01", "Rash", "1", "N", ""],
                             [R1, "2", "2023-06-30", "Cough", "2", "Y", ""]])
    got = tables.clean_adverse_events(raw, site)
    assert got.to_dict("records") == [ae_out("PT-1", 2, "2023-06-30", 268, "Cough", 2, True, "", 1)]
    assert log(site) == [(AF, 1, "onset_date", "2023-07-01", "dropped", "after data cut-off 2023-06-30")]


def test_treatment_rows_refuse_an_export_without_administrations():
    """A treatments.csv of only its header: the first known patient has no daratumumab administration."""
    site = make_site(known={R1: 2})
    err = refused(tables.treatment_rows, frame(TRT_COLUMNS, []), site)
    assert fields(err) == (TF, None, "treatment", "patients.csv row 2",
                           "patient has no daratumumab administration")
