"""The results in the CDISC ARS model: schema validity, one result per ARD row and the
reverse, raw values unchanged, formatted values as the report prints them, and the
audit reading its values from the ARS file."""

from __future__ import annotations

import json
import math
from pathlib import Path

import jsonschema
import pandas as pd
import pytest
import yaml

from aiha.ard import read_ard, read_text_tsv
from aiha.ars import ars_config, read_results, results_frame
from aiha.ars.build import report_tables, reporting_event, write_reporting_event
from aiha.ars.format import formatted_value
from aiha.audit import evaluate, evaluate_reporting_event, load_claims
from aiha.errors import InputError
from aiha.report.model import Fmt
from conftest import ROOT

SCHEMA = ROOT.parent / "shared" / "standards" / "cdisc-ars" / "ars_ldm.schema.json"
FIXTURE_ARD = ROOT / "tests" / "data" / "report" / "results" / "ard" / "ard.tsv"
CLAIMS = ROOT / "resources" / "published_claims.yaml"
KEY = ["stat_id", "group", "statistic"]


def _schema_path() -> Path:
    for candidate in (SCHEMA, Path("/work/shared/standards/cdisc-ars/ars_ldm.schema.json")):
        if candidate.is_file():
            return candidate
    pytest.skip("the shared ARS schema (../shared/standards/cdisc-ars) is not here")


def assert_valid(event: dict) -> None:
    schema = json.loads(_schema_path().read_text(encoding="utf-8"))
    validator = jsonschema.Draft7Validator(schema)
    errors = sorted(validator.iter_errors(event), key=lambda e: list(e.path))
    assert not errors, "; ".join(f"{list(e.path)}: {e.message[:200]}" for e in errors[:5])


@pytest.fixture(scope="module")
def cfg() -> dict:
    return ars_config(yaml.safe_load((ROOT / "config.yaml").read_text(encoding="utf-8")))


def assert_one_result_per_row(event: dict, ard_text: pd.DataFrame) -> pd.DataFrame:
    results = results_frame(event)
    assert len(event["analyses"]) == len(ard_text)
    assert all(len(a["results"]) == 1 for a in event["analyses"])
    ard_keys = list(map(tuple, ard_text[KEY].to_numpy()))
    ars_keys = list(map(tuple, results[KEY].to_numpy()))
    assert len(set(ars_keys)) == len(ars_keys)  # no ARD row twice
    assert set(ars_keys) == set(ard_keys)  # every row, and nothing else
    merged = ard_text.merge(results, on=KEY, how="outer", validate="one_to_one",
                            indicator=True)
    assert (merged["_merge"] == "both").all()
    assert (merged["raw_value"] == merged["value_x"]).all()  # as written, unrounded
    return merged


# --------------------------------------------------------------------------- unit tests
def test_fixture_ard_gives_a_valid_reporting_event_with_one_result_per_row(cfg):
    ard_text = read_text_tsv(FIXTURE_ARD)
    event = reporting_event(ard_text, cfg)
    assert_valid(event)
    merged = assert_one_result_per_row(event, ard_text)
    numbers = read_ard(FIXTURE_ARD).merge(results_frame(event), on=KEY)
    same = [(math.isnan(a) and math.isnan(b)) or a == b
            for a, b in zip(numbers["value_x"], numbers["value_y"])]
    assert all(same)
    assert len(merged) == len(ard_text)
    # Each table of the report is an output; every analysis is listed in the contents.
    names = [o["name"] for o in event["outputs"]]
    assert names[0].startswith("Table 1.") and any(n.startswith("Table 4.") for n in names)
    listed = {i["analysisId"] for item in event["mainListOfContents"]["contentsList"]["listItems"]
              for i in item["sublist"]["listItems"]}
    assert listed == {a["id"] for a in event["analyses"]}


def test_ard_columns_dataset_variables_selection_are_used(cfg):
    ard_text = read_text_tsv(FIXTURE_ARD)
    ard_text["dataset"] = ""
    ard_text["variables"] = ""
    ard_text["selection"] = ""
    orr = ard_text["stat_id"] == "orr"
    ard_text.loc[orr, ["dataset", "variables", "selection"]] = [
        "ADRS", "AVALC, PARAMCD", "PARAMCD == 'BOR' and EFFFL == 'Y'"]
    ae = ard_text["stat_id"] == "ae_serious"
    ard_text.loc[ae, ["dataset", "variables", "selection"]] = ["ADAE", "AESER", "ADAE.AESER = 'Y'"]
    odd = ard_text["stat_id"] == "age"
    ard_text.loc[odd, ["dataset", "variables", "selection"]] = ["ADSL", "AGE", "age known"]
    event = reporting_event(ard_text, cfg)
    assert_valid(event)
    assert_one_result_per_row(event, ard_text)
    subsets = {s["name"]: s for s in event["dataSubsets"]}
    assert set(subsets) == {"PARAMCD == 'BOR' and EFFFL == 'Y'", "ADAE.AESER = 'Y'", "age known"}
    assert subsets["ADAE.AESER = 'Y'"]["condition"] == {
        "dataset": "ADAE", "variable": "AESER", "comparator": "EQ", "value": ["Y"]}
    both = subsets["PARAMCD == 'BOR' and EFFFL == 'Y'"]["compoundExpression"]
    assert both["logicalOperator"] == "AND"
    assert [w["condition"]["variable"] for w in both["whereClauses"]] == ["PARAMCD", "EFFFL"]
    assert all(w["condition"]["dataset"] == "ADRS" for w in both["whereClauses"])
    assert "condition" not in subsets["age known"]  # free text stays the name only
    by_name = {a["name"]: a for a in event["analyses"]}
    orr_analysis = by_name["orr/wAIHA/proportion"]
    assert orr_analysis["dataset"] == "ADRS" and orr_analysis["variable"] == "AVALC"
    assert orr_analysis["dataSubsetId"] == subsets["PARAMCD == 'BOR' and EFFFL == 'Y'"]["id"]
    assert "dataSubsetId" not in by_name["n_treated/all/n"]


def test_results_come_back_by_method_operation_and_group(cfg):
    ard_text = read_text_tsv(FIXTURE_ARD)
    event = reporting_event(ard_text, cfg)
    by_name = {a["name"]: a for a in event["analyses"]}
    methods = {m["id"]: m for m in event["methods"]}
    orr = by_name["orr/wAIHA/proportion"]
    method = methods[orr["methodId"]]
    assert method["name"] == "orr"
    result = orr["results"][0]
    op = next(o for o in method["operations"] if o["id"] == result["operationId"])
    assert op["name"] == "proportion"
    roles = {r["referencedOperationRole"]["controlledTerm"] for r in
             op["referencedOperationRelationships"]}
    assert roles == {"NUMERATOR", "DENOMINATOR"}
    assert {r["analysisId"] for r in orr["referencedAnalysisOperations"]} == {
        by_name["orr/wAIHA/numerator"]["id"], by_name["orr/wAIHA/denominator"]["id"]}
    assert result["resultGroups"][0]["groupingId"] == "AnlsGrouping_AGRP"
    assert orr["analysisSetId"] == "AnalysisSet_EFF"
    # "all" is an analysis without grouping.
    assert "resultGroups" not in by_name["n_treated/all/n"]["results"][0]
    assert by_name["n_treated/all/n"]["analysisSetId"] == "AnalysisSet_SAF"
    # Categories: the report chapter of each statistic, all defined.
    defined = {c["id"] for c in event["analysisOutputCategorizations"][0]["categories"]}
    assert all(set(a["categoryIds"]) <= defined for a in event["analyses"])
    assert orr["categoryIds"] == ["Catn_Chapter_Efficacy"]
    assert by_name["ae_events/all/n"]["categoryIds"] == ["Catn_Chapter_Safety"]
    assert by_name["n_treated/all/n"]["categoryIds"] == ["Catn_Chapter_Population"]
    table4 = next(o for o in event["outputs"] if o["name"].startswith("Table 4."))
    assert table4["categoryIds"] == ["Catn_Chapter_Efficacy"]


def test_per_patient_rows_use_the_data_driven_patient_grouping(cfg):
    ard_text = read_text_tsv(FIXTURE_ARD)
    extra = pd.DataFrame([{**ard_text.iloc[0].to_dict(), "stat_id": "flow_depletion",
                           "group": "PT-0123456789ABCDEF", "statistic": "nadir_percent",
                           "value": "0.181665735048", "unit": "%"}])
    event = reporting_event(pd.concat([ard_text, extra], ignore_index=True), cfg)
    assert_valid(event)
    analysis = next(a for a in event["analyses"]
                    if a["name"] == "flow_depletion/PT-0123456789ABCDEF/nadir_percent")
    assert analysis["results"][0]["resultGroups"] == [
        {"groupingId": "AnlsGrouping_USUBJID", "groupValue": "PT-0123456789ABCDEF"}]
    assert analysis["results"][0]["rawValue"] == "0.181665735048"
    assert analysis["results"][0]["formattedValue"] == "0.2%"
    back = results_frame(event).set_index(KEY)
    assert back.loc[("flow_depletion", "PT-0123456789ABCDEF", "nadir_percent"), "value"] == \
        0.181665735048


def test_repeated_ard_key_is_refused(cfg):
    ard_text = read_text_tsv(FIXTURE_ARD)
    with pytest.raises(ValueError, match="more than one row for n_treated/all/n"):
        reporting_event(pd.concat([ard_text, ard_text[ard_text["stat_id"] == "n_treated"]]), cfg)


FMT = Fmt(percent=1, hb=1, ldh=2, months=1, other=2)


@pytest.mark.parametrize("key,unit,rows,printed", [
    (("orr", "wAIHA", "proportion"), "proportion", {}, "50.0%"),
    (("orr", "wAIHA", "ci_lower"), "proportion", {}, "21.1"),
    (("dor_median_km", "wAIHA", "value"), "months", {}, "not reached"),
    (("dor_median_km", "wAIHA", "ci_upper"), "months", {}, "not reached"),
    (("dor_median_crude", "wAIHA", "value"), "months", {}, "5.5 months"),
    # Flags choose the words: "+" on a censored duration, a crude median not printed.
    (("dor_max", "wAIHA", "censored"), "flag", {}, "+"),
    (("dor_median_crude", "cAIHA", "estimable"), "flag", {}, "not estimable"),
    (("dor_median_crude", "cAIHA", "censored_share"), "proportion", {}, "75.0%"),
    (("dor_median_km", "cAIHA", "censored"), "patients", {}, "3"),
    (("dor_landmark", "cAIHA", "month_12_rate"), "proportion", {}, "not estimable"),
    (("dor_landmark", "wAIHA", "month_6_ci_lower"), "proportion", {}, "22.5"),
    (("followup_median", "cAIHA_nonanemic", "ci_upper"), "months",
     {("followup_median", "cAIHA_nonanemic", "ci_lower"): math.nan}, "not estimable"),
    (("followup_median", "wAIHA", "value"), "months", {}, "12.9"),
    (("age", "all", "median"), "years", {}, "51"),
    (("age", "all", "min"), "years", {("age", "all", "max"): 80.5}, "23.0"),
    (("age", "all", "max"), "years", {("age", "all", "min"): 23.0}, "80.5"),
    (("baseline_hb", "all", "median"), "g/dL", {}, "8.3"),
    (("baseline_ldh", "all", "max"), "x ULN", {}, "1.24"),
    (("transfusion_w1", "all", "start_day"), "days", {}, "\u221284"),
    (("transfusion_w1", "all", "units_max"), "units", {("transfusion_w1", "all", "units_min"): 0.0},
     "6"),
    (("ae_term", "all", "Fatigue: grade 2 n"), "patients", {}, "1"),
    (("flow_subsets", "PT-0123456789ABCDEF", "memory_effector_change_pp"), "pp", {}, "+18.8 pp"),
    (("flow_depletion", "PT-0123456789ABCDEF", "depleted"), "boolean", {}, "yes"),
    (("ongoing_duration", "wAIHA", "value_1"), "months", {}, "6"),
])
def test_formatted_value_by_hand(key, unit, rows, printed):
    values = {("orr", "wAIHA", "proportion"): 0.5, ("orr", "wAIHA", "ci_lower"): 0.2109,
              ("dor_median_km", "wAIHA", "value"): float("nan"),
              ("dor_median_km", "wAIHA", "ci_upper"): float("nan"),
              ("dor_median_crude", "wAIHA", "value"): 5.5, ("age", "all", "median"): 51.0,
              ("age", "all", "min"): 23.0, ("age", "all", "max"): 80.5,
              ("baseline_hb", "all", "median"): 8.25, ("baseline_ldh", "all", "max"): 1.235,
              ("transfusion_w1", "all", "start_day"): -84.0,
              ("transfusion_w1", "all", "units_max"): 6.0,
              ("ae_term", "all", "Fatigue: grade 2 n"): 1.0,
              ("flow_subsets", "PT-0123456789ABCDEF", "memory_effector_change_pp"): 18.8209795084,
              ("flow_depletion", "PT-0123456789ABCDEF", "depleted"): 1.0,
              ("ongoing_duration", "wAIHA", "value_1"): 6.0,
              ("dor_max", "wAIHA", "censored"): 1.0,
              ("dor_median_crude", "cAIHA", "estimable"): 0.0,
              ("dor_median_crude", "cAIHA", "censored_share"): 0.75,
              ("dor_median_km", "cAIHA", "censored"): 3.0,
              ("dor_landmark", "cAIHA", "month_12_rate"): math.nan,
              ("dor_landmark", "wAIHA", "month_6_ci_lower"): 0.2246,
              ("followup_median", "cAIHA_nonanemic", "ci_upper"): math.nan,
              ("followup_median", "wAIHA", "value"): 12.8789}
    values.update(rows)
    assert formatted_value(key, unit, values, FMT) == printed


def test_read_results_refuses_what_is_not_a_reporting_event(tmp_path: Path, cfg):
    bad = tmp_path / "reporting_event.json"
    bad.write_text("{\"analyses\": [", encoding="utf-8")
    with pytest.raises(InputError, match="reporting_event.json.*not valid JSON"):
        read_results(bad)
    bad.write_text("{\"id\": \"x\"}", encoding="utf-8")
    with pytest.raises(InputError, match="not an ARS reporting event"):
        read_results(bad)
    event = reporting_event(read_text_tsv(FIXTURE_ARD), cfg)
    event["analyses"].append(json.loads(json.dumps(event["analyses"][0])) | {"id": "An_copy"})
    bad.write_text(json.dumps(event), encoding="utf-8")
    with pytest.raises(InputError, match="more than one result for one statistic"):
        read_results(bad)
    event["analyses"][-1]["methodId"] = "Mth_nowhere"
    bad.write_text(json.dumps(event), encoding="utf-8")
    with pytest.raises(InputError, match="An_copy.*no method"):
        read_results(bad)


def test_audit_reads_the_same_values_from_ars_as_from_the_ard(tmp_path: Path, cfg):
    ard_text = read_text_tsv(FIXTURE_ARD)
    path = tmp_path / "ars" / "reporting_event.json"
    write_reporting_event(ard_text, cfg, path)
    claims = load_claims(CLAIMS)
    from_ars = evaluate_reporting_event(claims, path)
    from_ard = evaluate(claims, read_ard(FIXTURE_ARD))
    pd.testing.assert_frame_equal(from_ars, from_ard)
    # A changed raw value in the ARS file changes what the audit reproduces.
    event = json.loads(path.read_text(encoding="utf-8"))
    for a in event["analyses"]:
        if a["name"] == "n_efficacy/all/n":
            a["results"][0]["rawValue"] = "21"
    path.write_text(json.dumps(event), encoding="utf-8")
    changed = evaluate_reporting_event(claims, path).set_index("id")
    assert changed.loc["n_total", "reproduced"] == "21"


# --------------------------------------------------------------------------- the demo
@pytest.mark.workflow
def test_demo_reporting_event_is_valid_and_matches_the_ard(demo_results: Path):
    event = json.loads((demo_results / "ars" / "reporting_event.json").read_text(encoding="utf-8"))
    assert_valid(event)
    ard_text = read_text_tsv(demo_results / "ard" / "ard.tsv")
    assert_one_result_per_row(event, ard_text)
    results = read_results(demo_results / "ars" / "reporting_event.json")
    numbers = read_ard(demo_results / "ard" / "ard.tsv").merge(results, on=KEY)
    assert len(numbers) == len(ard_text)
    assert all((math.isnan(a) and math.isnan(b)) or a == b
               for a, b in zip(numbers["value_x"], numbers["value_y"]))


@pytest.mark.workflow
def test_demo_formatted_values_are_what_the_report_prints(demo_results: Path):
    """Each formattedValue is found in the text of every report cell that printed its
    row (the cells of the report's own table builders on the demo ARD)."""
    cfg = ars_config(yaml.safe_load((demo_results.parent / "config.yaml").read_text()))
    formatted = read_results(demo_results / "ars" / "reporting_event.json").set_index(KEY)[
        "formatted"]
    checked, wrong = 0, []
    for table, rec in report_tables(read_ard(demo_results / "ard" / "ard.tsv"), cfg):
        for text, keys in rec.cells:
            for key in keys:
                checked += 1
                if formatted[key] not in text:
                    wrong.append((table.key, key, formatted[key], text))
    assert checked > 500 and not wrong, wrong[:5]


@pytest.mark.workflow
def test_demo_audit_reads_the_ars_file(demo_results: Path):
    table = pd.read_csv(demo_results / "audit" / "claims.tsv", sep="\t", dtype=str,
                        keep_default_na=False)
    assert len(table) == 18 and (table["status"] == "pass").all()
    again = evaluate_reporting_event(load_claims(CLAIMS),
                                     demo_results / "ars" / "reporting_event.json")
    assert list(again["reproduced"]) == list(table["reproduced"])


@pytest.mark.workflow
def test_an_empty_arm_without_responders_or_cytometry_gives_a_valid_event(tmp_path: Path):
    """Two wAIHA nonresponders, no cAIHA, no cytometry, no claims: the event is valid,
    has one result per ARD row, and the empty arm's counts are 0."""
    from cohorts import cohort_project, patient
    from conftest import run_snakemake

    work = cohort_project(tmp_path / "p", [patient("W1"), patient("W2", site="LON")])
    run_snakemake(work, "results/ars/reporting_event.json")
    results = work / "results"
    event = json.loads((results / "ars" / "reporting_event.json").read_text(encoding="utf-8"))
    assert_valid(event)
    ard_text = read_text_tsv(results / "ard" / "ard.tsv")
    assert_one_result_per_row(event, ard_text)
    back = read_results(results / "ars" / "reporting_event.json").set_index(KEY)
    assert back.loc[("n_treated", "wAIHA", "n"), "raw_value"] == "2"
    assert back.loc[("n_treated", "cAIHA", "n"), "formatted"] == "0"
    assert back.loc[("orr", "wAIHA", "numerator"), "formatted"] == "0"
    assert back.loc[("orr", "wAIHA", "proportion"), "formatted"] == "0.0%"
    assert not any(k[0].startswith("flow_") for k in back.index)
    assert not any(k[0] == "dor_median_crude" for k in back.index)
    assert "AnlsGrouping_USUBJID" not in {g["id"] for g in event["analysisGroupings"]}
