"""The analysis-datasets package (aiha.adam) on hand-made tables: CDISC study days,
the XPT version-5 files (written with pyreadstat) read back by pyreadstat and by an
independent reader (pandas), the Dataset-JSON writer against the CDISC schema, and the v5 limits."""

from __future__ import annotations

import datetime as dt
import json
import math
import re
from pathlib import Path

import pandas as pd
import pytest

from aiha.adam import NAMES, SPECS, derive_all
from aiha.adam.datasetjson import read_dataset_json
from aiha.adam.metadata import DatasetSpec, Variable
from aiha.adam.studyday import study_day, study_day_from_offset
from aiha.adam.write import write_all
from aiha.adam.xpt import sas_date, set_header_stamps, write_xpt

SCHEMA = Path(__file__).resolve().parents[2] / "shared" / "standards" / "cdisc-dataset-json" \
    / "dataset.schema.json"
if not SCHEMA.exists():
    SCHEMA = Path("/work/shared/standards/cdisc-dataset-json/dataset.schema.json")


# ------------------------------------------------------------------ study days


@pytest.mark.parametrize("offset, expected", [(0, 1), (1, 2), (27, 28), (-1, -1), (-56, -56)])
def test_study_day_has_no_day_zero(offset, expected):
    assert study_day_from_offset(offset) == expected


@pytest.mark.parametrize("date, expected", [
    ("2022-03-07", 1),   # the first dose is day 1
    ("2022-03-08", 2),
    ("2022-03-06", -1),  # the day before is day -1
    ("2022-02-05", -30),
    ("2023-03-07", 366),
])
def test_study_day_from_dates(date, expected):
    assert study_day(date, "2022-03-07") == expected


def test_study_day_missing_and_fractional():
    assert study_day("", "2022-03-07") is None
    assert study_day_from_offset(None) is None
    assert study_day_from_offset(float("nan")) is None
    with pytest.raises(ValueError):
        study_day_from_offset(1.5)
    # No offset ever maps to day 0.
    assert 0 not in {study_day_from_offset(d) for d in range(-400, 400)}


def test_sas_dates():
    assert sas_date("1960-01-01") == 0
    assert sas_date("1960-01-02") == 1
    assert sas_date("2022-03-07") == (dt.date(2022, 3, 7) - dt.date(1960, 1, 1)).days
    assert sas_date("") is None


# ------------------------------------------------------------------ a small study


def _tables() -> dict[str, pd.DataFrame]:
    responses = pd.DataFrame({
        "patient_id": ["PT-A", "PT-B", "PT-C"], "site": ["AMS", "LON", "AMS"],
        "diagnosis": ["wAIHA", "wAIHA", "cAIHA"],
        "analysis_group": ["wAIHA", "wAIHA", "cAIHA_nonanemic"],
        "efficacy_set": ["True", "True", "False"],
        "first_dose_date": ["2022-01-01", "2022-01-10", "2022-02-01"],
        "last_followup_date": ["2022-12-31", "2022-03-01", "2022-06-30"],
        "baseline_hb": [7.1, 6.5, 12.8], "max_hb": [12.0, 7.0, 13.2],
        "hb_change": [4.9, 0.5, 0.4], "best_response": ["CR", "NR", "NE"],
        "responder": ["True", "False", "False"], "response_date": ["2022-01-29", "", ""],
        "relapse_date": ["2022-05-29", "", ""], "relapse_reason": ["hb", "", ""],
        "ongoing": ["False", "False", "False"], "duration_days": [120, None, None],
        "duration_months": [4.0, None, None], "event": [1, None, None],
        "ongoing_duration_months": [None, None, None], "evans": ["False"] * 3,
        "acrocyanosis": ["False", "False", "True"], "acrocyanosis_response": ["", "", "True"],
        "n_doses": [4, 2, 1], "last_dose_date": ["2022-01-22", "2022-01-17", "2022-02-01"],
        "new_therapy_date": ["", "", ""]})
    patients = pd.DataFrame({
        "patient_id": ["PT-A", "PT-B", "PT-C"], "site": ["AMS", "LON", "AMS"],
        "country": ["NL", "UK", "NL"], "sex": ["female", "male", "female"],
        "age_at_first_dose": [50, 61, 72], "diagnosis": ["wAIHA", "wAIHA", "cAIHA"],
        "evans": ["False"] * 3, "acrocyanosis": ["False", "False", "True"],
        "prior_lines": [2, 3, 1]})
    labs = pd.DataFrame({
        "patient_id": ["PT-A"] * 4 + ["PT-B"], "date": ["2021-12-30", "2022-01-01",
                                                         "2022-01-03", "2022-01-08", "2022-01-09"],
        "day": [-2, 0, 2, 7, -1], "analyte": ["hb", "hb", "hb", "ldh", "ldh"],
        "value": [7.0, 7.1, 8.0, 1.5, 2.5], "unit": ["g/dL"] * 3 + ["x ULN"] * 2,
        "flag": ["", "", "suspicious", "", ""]})
    transfusions = pd.DataFrame({"patient_id": ["PT-A"], "date": ["2021-12-31"], "day": [-1],
                                 "units": [2]})
    treatments = pd.DataFrame({
        "patient_id": ["PT-A", "PT-A", "PT-B"], "date": ["2022-01-01", "2022-01-08", "2022-01-10"],
        "day": [0, 7, 0], "treatment": ["daratumumab", "daratumumab", "daratumumab"],
        "drug": ["DARATUMUMAB"] * 3, "dose_mg": [1800, 1800, 1800]})
    aes = pd.DataFrame({"patient_id": ["PT-A", "PT-B"], "ae_number": [1, 1],
                        "onset_date": ["2022-01-01", "2022-01-05"], "day": [0, -5],
                        "term": ["Infusion reaction", "Fatigue"], "grade": [2, 1],
                        "serious": ["False", "True"]})
    return dict(patients=patients, responses=responses, labs=labs, transfusions=transfusions,
                treatments=treatments, adverse_events=aes)


CFG = {"study_id": "TEST-01", "transfusion_washout_days": 7, "data_cutoff": "2023-06-30"}


def test_derived_variables_by_hand():
    d = derive_all(_tables(), CFG)
    adsl = d["ADSL"].set_index("USUBJID")
    assert list(adsl.index) == ["PT-A", "PT-B", "PT-C"]
    assert adsl.loc["PT-A", "SEX"] == "F" and adsl.loc["PT-B", "SEX"] == "M"
    assert adsl.loc["PT-C", "EFFFL"] == "N" and adsl.loc["PT-A", "EFFFL"] == "Y"
    assert adsl.loc["PT-B", "BLDH"] == 2.5  # day -1
    assert math.isnan(adsl.loc["PT-A", "BLDH"])  # PT-A's LDH is on day 7 only
    lb = d["ADLB"]
    a_hb = lb[(lb["USUBJID"] == "PT-A") & (lb["PARAMCD"] == "HB")]
    # Baseline: the last Hb on or before the first dose (day 0, study day 1).
    assert list(a_hb["ABLFL"]) == ["", "Y", ""]
    assert list(a_hb["ADY"]) == [-2, 1, 3]
    assert a_hb["CHG"].iloc[2] == pytest.approx(8.0 - 7.1)
    # Transfused on day -1 with a 7-day washout: the day-0 and day-2 Hb are within it.
    assert list(a_hb["TRWSHFL"]) == ["N", "Y", "Y"]
    assert list(a_hb["SUSPFL"]) == ["", "", "Y"]
    ae = d["ADAE"].set_index("USUBJID")
    assert ae.loc["PT-A", "TRTEMFL"] == "Y" and ae.loc["PT-B", "TRTEMFL"] == "N"
    assert ae.loc["PT-A", "ADY"] == 1 and ae.loc["PT-B", "ADY"] == -5
    tte = d["ADTTE"]
    dor = tte[tte["PARAMCD"] == "DOR"].iloc[0]
    assert (dor["USUBJID"], dor["STARTDT"], dor["ADT"], dor["AVAL"], dor["CNSR"]) == (
        "PT-A", "2022-01-29", "2022-05-29", 4.0, 0)
    ttr = tte[tte["PARAMCD"] == "TTR"].set_index("USUBJID")
    assert (ttr.loc["PT-A", "AVAL"], ttr.loc["PT-A", "CNSR"]) == (28.0, 0)
    assert (ttr.loc["PT-B", "AVAL"], ttr.loc["PT-B", "CNSR"]) == (50.0, 1)  # 10 Jan -> 1 Mar
    rs = d["ADRS"]
    assert set(rs["PARAMCD"]) == {"BOR", "RESP", "RELAPSE", "ONGOING", "ACRORSP", "HBCHG"}
    assert len(rs) == 6 * 3
    assert d["ADCYT"].empty  # no cytometry tables


def test_names_labels_and_lengths_fit_xpt_v5():
    assert len(set(NAMES)) == len(NAMES)
    for spec in SPECS:
        assert len(spec.name) <= 8 and len(spec.label) <= 40
        for v in spec.variables:
            assert len(v.name) <= 8 and v.name == v.name.upper(), v.name
            assert len(v.label) <= 40, v
            assert v.derivation, f"{spec.name}.{v.name}: its function has no docstring"
    with pytest.raises(ValueError):
        Variable("TOOLONGNAME", "x", "text", "s", lambda b: b)
    with pytest.raises(ValueError):
        Variable("X", "x" * 41, "text", "s", lambda b: b)


def _read_xpt(path: Path) -> pd.DataFrame:
    reader = pd.read_sas(path, format="xport", encoding="utf-8", iterator=True)
    with reader:
        if reader.nobs == 0:  # pandas' read() raises StopIteration on an empty member
            return pd.DataFrame(columns=[str(c) for c in reader.columns])
        return reader.read()


def test_files_validate_and_read_back(tmp_path: Path):
    jsonschema = pytest.importorskip("jsonschema")
    schema = json.loads(SCHEMA.read_text(encoding="utf-8"))
    frames = derive_all(_tables(), CFG)
    write_all(frames, tmp_path, CFG)
    for name in NAMES:
        doc = json.loads((tmp_path / f"{name.lower()}.json").read_text(encoding="utf-8"))
        jsonschema.validate(doc, schema)
        assert doc["records"] == len(doc["rows"]) == len(frames[name])
        assert_xpt_matches_json(tmp_path / f"{name.lower()}.xpt",
                                tmp_path / f"{name.lower()}.json")
    table = pd.read_csv(tmp_path / "variables.tsv", sep="\t", keep_default_na=False)
    assert list(table.columns[:7]) == ["dataset", "variable", "label", "type", "length",
                                       "derivation", "source"]
    assert len(table) == sum(len(s.variables) for s in SPECS)


def assert_xpt_matches_json(xpt: Path, json_path: Path) -> None:
    """Every value of the transport file equals the Dataset-JSON one (dates as SAS
    day numbers, text blank-padded, missing as missing); checked with pandas'
    reader and with pyreadstat."""
    doc = json.loads(json_path.read_text(encoding="utf-8"))
    expected = pd.DataFrame(doc["rows"], columns=[c["name"] for c in doc["columns"]],
                            dtype=object)
    import pyreadstat

    readers = [_read_xpt, lambda p: pyreadstat.read_xport(str(p))[0]]
    meta = pyreadstat.read_xport(str(xpt), metadataonly=True)[1]
    assert meta.table_name == json_path.stem.upper()
    assert all(len(c) <= 8 for c in meta.column_names)
    assert all(len(c or "") <= 40 for c in meta.column_labels)
    raw = xpt.read_bytes()
    assert raw.startswith(b"HEADER RECORD*******LIBRARY HEADER RECORD!!!!!!!")
    assert len(raw) % 80 == 0
    for read in readers:
        got = read(xpt)
        assert list(got.columns) == list(expected.columns)
        assert len(got) == len(expected), (xpt, len(got), len(expected))
        for col in doc["columns"]:
            name = col["name"]
            for i, (want, have) in enumerate(zip(expected[name], got[name])):
                where = f"{xpt.name} row {i + 1} {name}"
                if col["dataType"] == "string":
                    have = "" if have is None or (isinstance(have, float) and math.isnan(have)) \
                        else (have.decode("utf-8") if isinstance(have, bytes) else str(have))
                    assert have.rstrip() == (want or ""), where
                elif want is None:
                    assert have is None or pd.isna(have), where
                elif col["dataType"] == "date":
                    if isinstance(have, (dt.date, pd.Timestamp)):
                        have = (pd.Timestamp(have).date() - dt.date(1960, 1, 1)).days
                    assert float(have) == sas_date(want), where
                elif float(want) == 0 and read is _read_xpt:
                    # pandas' reader decodes the IBM zero (8 zero bytes, as SAS writes
                    # it) as 16**-64 * 2**-... = 5.4e-79; the bytes are checked below.
                    assert abs(float(have)) < 1e-75, where
                else:
                    assert float(have) == float(want), where


def test_xpt_version_5_labels_and_reproducible_bytes(tmp_path: Path):
    import pyreadstat

    spec = DatasetSpec("T", "Test", "one", (
        Variable("A", "Text", "text", "s", lambda b: b["a"]),
        Variable("N", "Number", "float", "s", lambda b: b["n"]),
        Variable("D", "Date", "date", "s", lambda b: b["d"])))
    frame = spec.build(pd.DataFrame({"a": ["xy", ""], "n": [1.5, None],
                                     "d": ["2022-03-07", ""]}))
    write_xpt(spec, frame, tmp_path / "t.xpt", dt.datetime(2023, 6, 30))
    raw = (tmp_path / "t.xpt").read_bytes()
    assert len(raw) % 80 == 0
    # Version 5: the library header says SASLIB (version 8 says LIBV8).
    assert raw.startswith(b"HEADER RECORD*******LIBRARY HEADER RECORD!!!!!!!")
    assert b"LIBV8" not in raw and b"SASLIB" in raw[:160]
    assert b"30JUN23:00:00:00" in raw[:160]
    got, meta = pyreadstat.read_xport(str(tmp_path / "t.xpt"))
    assert meta.table_name == "T" and meta.column_labels == ["Text", "Number", "Date"]
    assert meta.original_variable_types["D"].startswith("DATE")
    assert list(got["A"]) == ["xy", ""]
    assert got["N"].iloc[0] == 1.5 and pd.isna(got["N"].iloc[1])
    assert got["D"].iloc[0] == dt.date(2022, 3, 7) and pd.isna(got["D"].iloc[1])
    assert not list(tmp_path.glob(".*.tmp"))
    # A second write (another time of day) gives the same bytes.
    write_xpt(spec, frame, tmp_path / "u.xpt", dt.datetime(2023, 6, 30))
    assert (tmp_path / "u.xpt").read_bytes() == raw


def test_header_stamps_only_in_the_headers():
    header = b"HEADER RECORD*******LIBRARY HEADER RECORD!!!!!!!".ljust(80) + \
        b"07DEC26:02:52:22".ljust(80)
    obs = b"HEADER RECORD*******OBS     HEADER RECORD!!!!!!!".ljust(80)
    data = b"01JAN20:10:00:00".ljust(80)
    out = set_header_stamps(header + obs + data, dt.datetime(2023, 6, 30))
    assert out == header.replace(b"07DEC26:02:52:22", b"30JUN23:00:00:00") + obs + data


def test_xpt_refuses_what_version_5_cannot_hold(tmp_path: Path):
    spec = DatasetSpec("T", "Test", "one", (
        Variable("A", "Text", "text", "s", lambda b: b["a"]),))
    frame = spec.build(pd.DataFrame({"a": ["x" * 201]}))
    with pytest.raises(ValueError, match="longer than 200"):
        write_xpt(spec, frame, tmp_path / "t.xpt", dt.datetime(2023, 6, 30))
    assert not (tmp_path / "t.xpt").exists()


def test_dataset_json_reads_back_values():
    frames = derive_all(_tables(), CFG)
    from aiha.adam.datasetjson import to_document

    doc = to_document(SPECS[0], frames["ADSL"], {"study_id": "T", "created": "2023-06-30T00:00:00"})
    trtsdt = next(c for c in doc["columns"] if c["name"] == "TRTSDT")
    assert (trtsdt["dataType"], trtsdt["targetDataType"], trtsdt["displayFormat"]) == (
        "date", "integer", "DATE9.")
    assert doc["rows"][0][[c["name"] for c in doc["columns"]].index("TRTSDT")] == "2022-01-01"


def test_read_dataset_json(tmp_path: Path):
    frames = derive_all(_tables(), CFG)
    write_all(frames, tmp_path, CFG)
    back = read_dataset_json(tmp_path / "adsl.json")
    assert list(back["USUBJID"]) == ["PT-A", "PT-B", "PT-C"]
    assert back["BHB"].tolist() == [7.1, 6.5, 12.8]
    assert back["AGE"].tolist() == [50, 61, 72]


def test_the_document_holds_the_generated_variable_reference():
    from aiha.adam.docs import variables_markdown

    doc = (Path(__file__).resolve().parents[1] / "docs" / "analysis_datasets.md").read_text(
        encoding="utf-8")
    assert variables_markdown() in doc, "rerun: python -m aiha.adam.docs"


def test_every_clinical_statistic_names_its_source():
    from aiha.clinical_content import content_statistics
    from aiha.statistics import adam_statistics

    d = derive_all(_tables(), CFG)
    cfg = {"statistics": {"ci_level": 0.95, "km_tie_rule": "lower", "km_tie_tolerance": 1e-9,
                          "dor_median_method": "crude"},
           "response": {"acro_denominator": "all_treated"}}
    stats, _ = adam_statistics(d, cfg)
    stats += content_statistics(d, {"transfusion_windows_days": [[-84, -1], [0, 83]]})
    assert stats
    for s in stats:
        assert s.dataset and s.variables and s.selection, s
        assert {x.strip() for x in s.dataset.split(",")} <= set(NAMES), s
    by_key = {(s.stat_id, s.group, s.statistic): s for s in stats}
    orr = by_key["orr", "wAIHA", "numerator"]
    assert (orr.value, orr.dataset, orr.selection) == (1, "ADSL, ADRS",
                                                       "SAFFL = 'Y' and ANLGRP = 'wAIHA'")
    assert by_key["dor_median_km", "wAIHA", "value"].variables == "AVAL, CNSR"


def test_derivations_are_plain_text_for_the_reader():
    """The metadata table's derivations carry no reStructuredText roles or literal marks."""
    from aiha.adam.metadata import plain_text

    assert plain_text("CDISC day (:func:`aiha.adam.studyday.study_day_from_offset`); "
                      "``\"\"`` if unknown, see :class:`~aiha.x.Y`.") == (
        'CDISC day (aiha.adam.studyday.study_day_from_offset); "" if unknown, see aiha.x.Y.')
    texts = [v.derivation for spec in SPECS for v in spec.variables]
    assert any("study_day_from_offset" in t for t in texts)
    assert not [t for t in texts if "`" in t or re.search(r":[a-z]+:", t)]
