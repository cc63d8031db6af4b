"""Cleaning on the smallest slice that shows each behaviour: one site's exports."""

from datetime import date
from pathlib import Path

import pandas as pd
import pytest
import yaml

from aiha.cleaning import CleaningLimits, clean_study, load_site_profiles
from aiha.demo.cohort import load_spec
from aiha.cleaning.profiles import read_profiles_yaml
from aiha.demo.exports import build_site_exports, write_exports
from aiha.errors import InputError
from conftest import ROOT

CFG = yaml.safe_load((ROOT / "config.yaml").read_text())
PROFILES = load_site_profiles(ROOT / "resources" / "sites.yaml")
KEY = b"test-key-0123456789abcdef"
CUTOFF = date.fromisoformat(CFG["data"]["data_cutoff"])


@pytest.fixture(scope="module")
def exports():
    spec = load_spec(ROOT / "resources" / "demo" / "cohort.yaml")
    raw = read_profiles_yaml(ROOT / "resources" / "sites.yaml")["sites"]
    return build_site_exports(spec, raw)


def write_site(tmp_path: Path, exports, site: str, edit=None) -> Path:
    tables = dict(exports[site])
    if edit:
        table, fn = edit
        tables[table] = fn(tables[table])
    write_exports({site: tables}, tmp_path, {site: "utf-8"})
    return tmp_path


def clean(tmp_path: Path, site: str):
    return clean_study(tmp_path, [site], PROFILES, KEY, CUTOFF,
                       CleaningLimits.from_config(CFG["cleaning"]))


def replace_nth_line(text: str, n: int, old: str, new: str) -> str:
    lines = text.split("\n")
    assert old in lines[n], (old, lines[n])
    lines[n] = lines[n].replace(old, new, 1)
    return "\n".join(lines)


def test_clean_site_normalizes_and_pseudonymizes(tmp_path, exports):
    t = clean(write_site(tmp_path, exports, "AMS"), "AMS")
    assert set(t.labs["unit"]) == {"g/dL", "mg/dL", "x ULN"}
    hb = t.labs[(t.labs["analyte"] == "hb") & (t.labs["raw_value"] == "4,6")]
    assert hb["value"].iloc[0] == pytest.approx(4.6 * 1.611)
    text = "\n".join(df.to_csv() for df in (t.patients, t.labs, t.adverse_events, t.log))
    for ident in ("Visser", "AMC-5520194", "21-07-1975", "Johanna"):
        assert ident not in text
    assert t.patients["age_at_first_dose"].between(18, 110).all()
    assert list(t.log.columns) == ["file", "row", "field", "old", "new", "reason"]


def test_duplicates_dropped_and_worst_ae_grade_kept(tmp_path, exports):
    t = clean(write_site(tmp_path, exports, "MIL"), "MIL")
    assert t.log["reason"].str.match(r"exact duplicate of row \d+: 1 copy dropped").sum() == 2
    t2 = clean(write_site(tmp_path / "r", exports, "RTM"), "RTM")
    pneu = t2.adverse_events[t2.adverse_events["term"] == "Pneumonia"]
    assert len(pneu) == 1 and pneu["grade"].iloc[0] == 3 and pneu["reports"].iloc[0] == 2


def test_suspicious_value_is_kept_and_logged(tmp_path, exports):
    t = clean(write_site(tmp_path, exports, "LDS"), "LDS")
    flagged = t.labs[t.labs["flag"] == "suspicious"]
    assert len(flagged) == 1 and flagged["value"].iloc[0] == pytest.approx(4.8)
    assert t.log["reason"].str.startswith("suspicious hb").sum() == 1


# Each bad input: (site, table, line, old, new, expected words in the message)
BAD = {
    "unknown_unit": ("CRE", "labs", 1, "g/dL", "g/dm", ["labs.csv", "row 1", "'unit'", "g/dm"]),
    "hb_150": ("CRE", "labs", 1, ",7.0,", ",150.0,", ["row 1", "'value'", "150.0", "implausible hb"]),
    "negative": ("CRE", "labs", 1, ",7.0,", ",-7.0,", ["row 1", "'value'", "-7.0"]),
    "bad_date": ("CRE", "labs", 2, "2022-05-", "2022-13-", ["row 2", "'sample_date'", "2022-13-"]),
    "ae_grade_6": ("CRE", "adverse_events", 1, ",2,", ",6,", ["adverse_events.csv", "row 1", "ctcae_grade", "'6'"]),
    "diagnosis": ("CRE", "patients", 1, "AHAI CHAUDE", "AHAI MIXTE", ["patients.csv", "row 1", "'diagnosis'", "AHAI MIXTE"]),
    "renamed_column": ("CRE", "labs", 0, "sample_date", "date_prelevement", ["labs.csv", "missing column", "sample_date"]),
    "decimal_mark": ("AMS", "labs", 1, "4,5", "4.5", ["row 1", "'value'", "4.5", "decimal mark"]),
    "ae_before_dose": ("CRE", "adverse_events", 1, "2022-08-07", "2022-06-07", ["row 1", "onset_date", "before the first dose"]),
}


@pytest.mark.parametrize("case", sorted(BAD))
def test_bad_input_names_file_row_column_value(tmp_path, exports, case):
    site, table, line, old, new, words = BAD[case]
    root = write_site(tmp_path, exports, site,
                      (table, lambda text: replace_nth_line(text, line, old, new)))
    with pytest.raises(InputError) as err:
        clean(root, site)
    message = str(err.value)
    for word in words:
        assert word in message, (word, message)


def test_conflicting_duplicate_patient(tmp_path, exports):
    def dup(text):
        lines = text.rstrip("\n").split("\n")
        changed = lines[1].replace("AHAI CHAUDE", "MAF")
        return "\n".join([*lines, changed]) + "\n"

    root = write_site(tmp_path, exports, "CRE", ("patients", dup))
    with pytest.raises(InputError, match=r"row 3.*record_number.*different data"):
        clean(root, "CRE")


def test_empty_file_wrong_delimiter_and_encoding(tmp_path, exports):
    root = write_site(tmp_path / "a", exports, "CRE", ("transfusions", lambda t: ""))
    with pytest.raises(InputError, match="transfusions.csv.*empty"):
        clean(root, "CRE")
    root = write_site(tmp_path / "b", exports, "CRE", ("labs", lambda t: t.replace(",", ";")))
    with pytest.raises(InputError, match="labs.csv.*missing column"):
        clean(root, "CRE")
    root = write_site(tmp_path / "c", exports, "CRE")
    path = root / "CRE" / "patients.csv"
    path.write_bytes(path.read_text("utf-8").encode("latin-1"))
    with pytest.raises(InputError, match="patients.csv.*not valid utf-8"):
        clean(root, "CRE")


def test_unknown_site_code(tmp_path, exports):
    root = write_site(tmp_path, exports, "CRE")
    (root / "CRE").rename(root / "XYZ")
    with pytest.raises(InputError, match="XYZ.*no export profile"):
        clean(root, "XYZ")


def test_cleaned_tables_are_typed(tmp_path, exports):
    t = clean(write_site(tmp_path, exports, "VIE"), "VIE")
    assert pd.api.types.is_integer_dtype(t.labs["day"])
    assert pd.api.types.is_float_dtype(t.labs["value"])
    assert t.patients["diagnosis"].isin(["wAIHA", "cAIHA"]).all()


# ---------------------------------------------------------------- prior therapies


def edit_patient_cells(text: str, delimiter: str, edits: dict[tuple[int, str], str],
                       drop: str | None = None) -> str:
    """patients.csv text with cells (data row 1-based, column) set, or a column dropped."""
    import csv
    import io

    rows = list(csv.reader(io.StringIO(text), delimiter=delimiter))
    for (row, column), value in edits.items():
        rows[row][rows[0].index(column)] = value
    if drop is not None:
        i = rows[0].index(drop)
        rows = [r[:i] + r[i + 1:] for r in rows]
    buf = io.StringIO()
    csv.writer(buf, delimiter=delimiter, lineterminator="\n").writerows(rows)
    return buf.getvalue()


def prior_types(patients: pd.DataFrame, site: str, record_number: str) -> set[str]:
    """The therapy types of one patient in the cleaned table (found by pseudonym)."""
    from aiha.pseudonym import pseudonymize
    from aiha.therapies import PRIOR_THERAPY_TYPES, column

    r = patients.set_index("patient_id").loc[pseudonymize(site, record_number, KEY)]
    assert not r[[column(t) for t in PRIOR_THERAPY_TYPES]].isna().any()
    return {t for t in PRIOR_THERAPY_TYPES if bool(r[column(t)])}


def test_prior_therapy_codes_map_trimmed_and_case_insensitively(tmp_path, exports):
    # Row 1 of Amsterdam: Dutch codes in mixed case, spaces, a repeated type (two
    # corticosteroids) and a trailing separator.
    cell = " prednisolon | Dexamethason|rituximab |  ivig |"
    root = write_site(tmp_path, exports, "AMS",
                      ("patients", lambda t: edit_patient_cells(t, ";", {(1, "prior_therapies"): cell,
                                                                         (2, "prior_therapies"): ""})))
    t = clean(root, "AMS")
    records = pd.read_csv(root / "AMS" / "patients.csv", sep=";", dtype=str)["record_number"]
    assert prior_types(t.patients, "AMS", records[0]) == {"corticosteroids", "rituximab", "ivig"}
    # An empty cell: recorded, no therapy of any type (false, not missing).
    assert prior_types(t.patients, "AMS", records[1]) == set()
    assert t.patients["prior_therapies_recorded"].all()


def test_unknown_prior_therapy_code_names_file_row_column_value(tmp_path, exports):
    root = write_site(tmp_path, exports, "AMS", ("patients", lambda t: edit_patient_cells(
        t, ";", {(3, "prior_therapies"): "PREDNISOLON|Plasmaferese"})))
    with pytest.raises(InputError) as err:
        clean(root, "AMS")
    message = str(err.value)
    for word in ("patients.csv", "row 3", "column 'prior_therapies'", "value 'Plasmaferese'",
                 "unknown prior_therapy code"):
        assert word in message, (word, message)


def test_identifier_in_prior_therapies_is_not_shown(tmp_path, exports):
    # A patient's name typed into the column: the error names the cell, not the name.
    root = write_site(tmp_path, exports, "AMS", ("patients", lambda t: edit_patient_cells(
        t, ";", {(2, "prior_therapies"): "PREDNISOLON|Johanna de Vries"})))
    with pytest.raises(InputError) as err:
        clean(root, "AMS")
    message = str(err.value)
    assert "row 2" in message and "prior_therapies" in message
    assert "Johanna" not in message and "Vries" not in message


def test_absent_prior_therapies_column_cleans_as_before(tmp_path, exports):
    root = write_site(tmp_path, exports, "AMS", ("patients", lambda t: edit_patient_cells(
        t, ";", {}, drop="prior_therapies")))
    t = clean(root, "AMS")
    assert not t.patients["prior_therapies_recorded"].any()
    assert t.patients["prior_corticosteroids"].isna().all()
    assert (t.patients["prior_lines"] >= 0).all()


def test_prior_therapies_need_the_profile_code_table(tmp_path, exports):
    from dataclasses import replace

    root = write_site(tmp_path, exports, "AMS")
    ams = PROFILES["AMS"]
    without = replace(ams, codes={k: v for k, v in ams.codes.items() if k != "prior_therapy"})
    with pytest.raises(InputError, match=r"row 1.*prior_therapies.*no codes.prior_therapy"):
        clean_study(root, ["AMS"], {"AMS": without}, KEY, CUTOFF,
                    CleaningLimits.from_config(CFG["cleaning"]))
    # Without the column the code table is not needed.
    root = write_site(tmp_path / "b", exports, "AMS", ("patients", lambda t: edit_patient_cells(
        t, ";", {}, drop="prior_therapies")))
    clean_study(root, ["AMS"], {"AMS": without}, KEY, CUTOFF,
                CleaningLimits.from_config(CFG["cleaning"]))

