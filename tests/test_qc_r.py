"""Independent double programming in R (issue 23).

- On the demo build: every ARD row has an R result and they agree (100% coverage,
  0 disagreements); the same on a cohort with ties at S(t) = 0.5 (the cohort shapes
  of test_cohort_shapes.py check it in their own builds, assert_reads_right).
- A wrong value planted into one ARD row of each kind makes the comparison fail,
  naming the statistic, the group and both values.
- The project's Kaplan-Meier medians and CIs against R's survfit/quantile on R's own
  ``aml`` data and on the demo's wAIHA durations, for each convention.
- Start-up: without Rscript the workflow stops with one line; with the switch off it
  runs without R and the report says the R QC did not run.

Expected numbers come from R (a separate process) or by hand, never from the output
under test. Skipped only where Rscript is not installed.
"""

from __future__ import annotations

import json
import math
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from aiha.qc_compare import RQCMismatch, check, compare, compare_files, read_keyed, summary
from aiha.statistics import kaplan_meier, km_median_ci, km_quantile_r, km_quantile_time
from cohorts import cohort_project, patient, read_config, write_config
from conftest import ROOT, SNAKEMAKE, run_snakemake

RSCRIPT = shutil.which("Rscript")
needs_r = pytest.mark.skipif(RSCRIPT is None, reason="Rscript is not installed")
R_SCRIPT = ROOT / "workflow" / "scripts" / "qc_r_double_programming.R"
TOL = 1e-9


def rscript(code: str) -> str:
    out = subprocess.run([RSCRIPT, "--vanilla", "-e", code], capture_output=True, text=True,
                         check=False, timeout=120)
    assert out.returncode == 0, out.stderr
    return out.stdout


def r_qc_summary(results: Path) -> dict[str, str]:
    frame = pd.read_csv(results / "qc" / "r_double_programming_summary.tsv", sep="\t",
                        dtype=str, keep_default_na=False)
    return dict(zip(frame["measure"], frame["value"]))


def assert_r_qc_complete(results: Path) -> None:
    """100% of the ARD rows compared with R, none disagreeing or unmatched (read from
    the comparison the build wrote, and once more from the two tables)."""
    s = r_qc_summary(results)
    assert float(s["coverage"]) == 1.0 and int(s["disagree"]) == 0
    assert int(s["only_in_ard"]) == 0 and int(s["only_in_r"]) == 0
    table, counts = compare_files(results / "ard" / "ard.tsv",
                                  results / "qc" / "r_statistics.tsv", TOL)
    ard_rows = len(pd.read_csv(results / "ard" / "ard.tsv", sep="\t"))
    assert counts["compared"] == counts["ard_rows"] == ard_rows
    assert set(table["status"]) == {"agree"}


# ---------------------------------------------------------------- demo


@needs_r
@pytest.mark.workflow
def test_demo_every_ard_row_agrees_with_r(demo_results: Path):
    assert_r_qc_complete(demo_results)
    s = r_qc_summary(demo_results)
    assert s["r_session"].startswith("R 4.") and "survival" in s["r_session"]
    # R's conventions are the default: the demo's wAIHA Kaplan-Meier median is 7.0 (by
    # hand: S = 1/2 from the relapse at 5 to the one at 9, midpoint 7); crude 5.5.
    ard = read_keyed(demo_results / "ard" / "ard.tsv").set_index(
        ["stat_id", "group", "statistic"])["value"]
    assert float(ard[("dor_median_km", "wAIHA", "value")]) == 7.0
    assert float(ard[("dor_median_crude", "wAIHA", "value")]) == 5.5
    html = (demo_results / "report" / "study_report.html").read_text(encoding="utf-8")
    flat = " ".join(html.split())
    assert "Table C1. Independent QC: every ARD row recomputed in R" in flat
    assert "Coverage (rows compared / ARD rows)" in flat
    assert "not the independent QC" in flat


# ---------------------------------------------------------------- reads the ADaM datasets

ADAM_NAMES = ("adsl", "adrs", "adtte", "adae", "adlb", "adex", "adcm", "adpr", "adcyt")
_PRIOR = ("PRCORTFL", "PRRTXFL", "PRIMSFL", "PRSPLFL", "PRIVIGFL", "PRBORFL", "PRCMPFL",
          "PREPOFL", "PROTHFL")
# Per dataset: (variable, Dataset-JSON dataType) and the records (None = null).
_TINY: dict[str, tuple[list[tuple[str, str]], list[list]]] = {
    "adsl": ([("USUBJID", "string"), ("ANLGRP", "string"), ("DIAGGRP", "string"),
              ("SAFFL", "string"), ("EFFFL", "string"), ("AGE", "integer"), ("SEX", "string"),
              ("PRIORLN", "integer"), ("EVANSFL", "string"), ("ACROFL", "string"),
              ("BHB", "double"), ("PRTHRFL", "string"), *[(f, "string") for f in _PRIOR],
              ("TRTSDT", "date"), ("LSTFUDT", "date")],
             [["W1", "wAIHA", "wAIHA", "Y", "Y", 40, "F", 2, "N", "N", 8.0, "Y", "Y", "Y",
               *[None] * 7, "2022-01-01", "2022-07-01"],
              ["W2", "wAIHA", "wAIHA", "Y", "Y", 50, "F", 1, "N", "N", 9.0, "Y", "Y", "N",
               *["N"] * 7, "2022-01-01", "2022-07-01"],
              ["W3", "wAIHA", "wAIHA", "Y", "Y", 60, "M", 3, "Y", "N", 7.0, "N",
               *[None] * 9, "2022-01-01", "2022-03-01"],
              ["C1", "cAIHA", "cAIHA", "Y", "Y", 70, "M", 0, "N", "N", 9.5, "N",
               *[None] * 9, "2022-01-01", "2022-07-01"]]),
    "adrs": ([("USUBJID", "string"), ("PARAMCD", "string"), ("AVALC", "string"),
              ("AVAL", "double"), ("ADT", "date")],
             [["W1", "BOR", "CR", None, "2022-01-29"], ["W1", "RESP", "Y", None, "2022-01-29"],
              ["W1", "RELAPSE", "Y", None, "2022-03-29"], ["W1", "ONGOING", "N", None, None],
              ["W2", "BOR", "PR", None, "2022-02-12"], ["W2", "RESP", "Y", None, "2022-02-12"],
              ["W2", "RELAPSE", "N", None, None], ["W2", "ONGOING", "Y", 4.0, None],
              ["W3", "BOR", "NR", None, None], ["W3", "RESP", "N", None, None],
              ["W3", "RELAPSE", "N", None, None], ["W3", "ONGOING", "N", None, None],
              ["C1", "BOR", "NR", None, None], ["C1", "RESP", "N", None, None],
              ["C1", "RELAPSE", "N", None, None], ["C1", "ONGOING", "N", None, None]]),
    "adtte": ([("USUBJID", "string"), ("PARAMCD", "string"), ("STARTDT", "date"),
               ("ADT", "date"), ("AVAL", "double"), ("CNSR", "integer")],
              [["W1", "DOR", "2022-01-29", "2022-03-29", 2.0, 0],
               ["W2", "DOR", "2022-02-12", "2022-06-12", 4.0, 1]]),
    "adae": ([("USUBJID", "string"), ("AETERM", "string"), ("ATOXGRN", "integer"),
              ("AESER", "string"), ("TRTEMFL", "string"), ("AEBODSYS", "string"),
              ("AINFFL", "string"), ("AEREL", "string"), ("AEOUT", "string")],
             [["W1", "ANEMIA", 2, "N", "Y", "Blood and lymphatic system disorders", "N", "Y",
               "recovered"],
              ["W1", "ANEMIA", 3, "Y", "Y", "Blood and lymphatic system disorders", "N", "",
               ""],
              ["W3", "FEVER", 1, "N", "Y", "", "N", "N", "recovering"]]),
    "adlb": ([("USUBJID", "string"), ("PARAMCD", "string"), ("AVAL", "double"),
              ("RELDY", "integer")],
             [["W1", "LDH", 2.0, -3], ["W1", "LDH", 3.0, 0], ["W1", "LDH", 1.0, 10],
              ["W2", "LDH", 1.5, -1], ["W2", "LDH", None, 0]]),
    "adex": ([("USUBJID", "string"), ("EXDOSE", "double"), ("RELDY", "integer")],
             [["W1", 1800.0, 0], ["W1", 1800.0, 7], ["W1", 1800.0, 14], ["W2", 1800.0, 0],
              ["W2", 1800.0, 7]]),
    "adcm": ([("USUBJID", "string"), ("CMTRT", "string"), ("CMCAT", "string"),
              ("RELDY", "integer")],
             [["W2", "rituximab", "AIHA THERAPY", 30], ["W1", "prednisone", "AIHA THERAPY", -10],
              ["W1", "folic acid", "SUPPORTIVE", 5]]),
    "adpr": ([("USUBJID", "string"), ("PRDOSE", "double"), ("RELDY", "integer")],
             [["W3", 2.0, 5], ["W3", 1.0, 40]]),
    "adcyt": ([("USUBJID", "string"), ("SMPLID", "string"), ("RELDY", "integer"),
               ("PARCAT1", "string"), ("PARAM", "string"), ("GATEPATH", "string"),
               ("EVCOUNT", "integer"), ("QCFLAG", "string")], []),
}
_TINY_CFG = {"ci_level": 0.95, "km_tie_rule": "r_survival", "km_tie_tolerance": 1e-9,
             "km_ci_transform": "log", "dor_median_method": "crude", "days_per_month": 30.0,
             "duration_rounding": "whole_months", "ongoing_duration_origin": "response",
             "acro_denominator": "efficacy_set", "transfusion_windows_days": [[0, 30]],
             "landmark_months": [1.0, 3.0], "crude_median_max_censored_share": 0.5,
             "response_subgroups": ["EVANSFL"]}


def _write_tiny_adam(tmp: Path, drop: tuple[str, str] | None = None) -> Path:
    """The tiny datasets as Dataset-JSON v1.1 files, and the inputs.json naming them."""
    paths = {}
    for name, (columns, records) in _TINY.items():
        keep = [i for i, (v, _) in enumerate(columns) if (name, v) != drop]
        doc = {"datasetJSONVersion": "1.1.0", "name": name.upper(), "records": len(records),
               "columns": [{"itemOID": f"IT.{name}.{columns[i][0]}", "name": columns[i][0],
                            "label": columns[i][0], "dataType": columns[i][1]} for i in keep],
               "rows": [[r[i] for i in keep] for r in records]}
        paths[name] = str(tmp / f"{name}.json")
        Path(paths[name]).write_text(json.dumps(doc))
    (tmp / "inputs.json").write_text(json.dumps(paths))
    (tmp / "cfg.json").write_text(json.dumps(_TINY_CFG))
    return tmp / "inputs.json"


def _run_r_by_hand(tmp: Path, inputs: Path) -> subprocess.CompletedProcess:
    return subprocess.run([RSCRIPT, "--vanilla", str(R_SCRIPT), str(inputs),
                           str(tmp / "cfg.json"), str(tmp / "r.tsv")],
                          capture_output=True, text=True, timeout=120, check=False)


@needs_r
def test_the_r_programme_reads_the_adam_dataset_json(tmp_path: Path):
    """Hand-built ADSL/ADRS/ADTTE/ADAE/ADLB/ADEX/ADCM/ADPR (ADCYT empty, no cytometry)
    as Dataset-JSON; every expected number worked out by hand from these records."""
    from scipy.stats import beta

    proc = _run_r_by_hand(tmp_path, _write_tiny_adam(tmp_path))
    assert proc.returncode == 0, proc.stderr
    r = read_keyed(tmp_path / "r.tsv").set_index(["stat_id", "group", "statistic"])["value"]
    got = {k: float(v) if v != "" else math.nan for k, v in r.items()}
    expect = {
        ("n_treated", "all", "n"): 4, ("n_treated", "wAIHA", "n"): 3,
        ("n_treated", "cAIHA", "n"): 1, ("n_efficacy", "all", "n"): 4,
        ("age", "wAIHA", "median"): 50, ("sex_female", "wAIHA", "n"): 2,
        ("evans", "wAIHA", "n"): 1, ("baseline_hb", "wAIHA", "max"): 9.0,
        # LDH baseline: the last value on or before day 0 (W1 3.0; W2's day-0 record is
        # null, so its day -1 value 1.5).
        ("baseline_ldh", "wAIHA", "median"): 2.25, ("baseline_ldh", "wAIHA", "min"): 1.5,
        ("orr", "wAIHA", "numerator"): 2, ("orr", "wAIHA", "denominator"): 3,
        ("orr", "wAIHA", "ci_lower"): beta.ppf(0.025, 2, 2),
        ("orr", "wAIHA", "ci_upper"): beta.ppf(0.975, 3, 1),
        ("cr", "wAIHA", "numerator"): 1, ("pr", "wAIHA", "numerator"): 1,
        ("nr_evans", "wAIHA", "numerator"): 1, ("ongoing", "wAIHA", "numerator"): 1,
        # W2: 2022-02-12 to the censoring date 2022-06-12 = 120 days = 4 months.
        ("ongoing_duration", "wAIHA", "value_1"): 4,
        ("dor_median_crude", "wAIHA", "value"): 3, ("dor_min", "wAIHA", "value"): 2,
        ("dor_max", "wAIHA", "value"): 4,
        # S = 1/2 from the relapse at 2 to the end of the curve at 4: R's midpoint 3.
        ("dor_median_km", "wAIHA", "value"): 3,
        ("hb_response", "cAIHA", "numerator"): 0, ("hb_response", "cAIHA", "denominator"): 1,
        ("ae_events", "all", "n"): 3, ("ae_patients", "wAIHA", "n"): 2,
        ("ae_grade", "wAIHA", "grade_3"): 1, ("ae_grade", "wAIHA", "grade_1"): 1,
        ("ae_term", "wAIHA", "ANEMIA: any grade n"): 1,
        ("ae_term", "wAIHA", "ANEMIA: grade 3 n"): 1,
        ("ae_term", "wAIHA", "ANEMIA: serious n"): 1, ("ae_serious", "wAIHA", "n"): 1,
        ("exposure_doses", "wAIHA", "median"): 2.5,
        ("exposure_interval_days", "wAIHA", "max"): 7,
        ("exposure_span_days", "wAIHA", "median"): 10.5,
        ("later_therapy", "wAIHA", "n"): 1,
        ("later_therapy_drug", "wAIHA", "rituximab: n"): 1,
        ("transfusion_w1", "wAIHA", "numerator"): 1, ("transfusion_w1", "wAIHA", "units"): 2,
        ("transfusion_w1", "wAIHA", "denominator"): 3,
        # TRTSDT 2022-01-01 to the response dates 01-29 and 02-12: 28 and 42 days.
        ("time_to_response", "wAIHA", "median"): 35, ("time_to_response", "wAIHA", "n"): 2,
        ("baseline_prior_therapy", "wAIHA", "denominator"): 2,
        ("baseline_prior_therapy", "wAIHA", "corticosteroids: n"): 2,
        ("baseline_prior_therapy", "wAIHA", "rituximab: n"): 1,
        ("baseline_prior_therapy", "wAIHA", "none: n"): 0,
    }
    # Durability: W1 relapsed at 2, W2 censored at 4 (S = 1 before 2, 1/2 from 2).
    expect |= {("dor_median_km", "wAIHA", "events"): 1, ("dor_median_km", "wAIHA", "censored"): 1,
               ("dor_median_crude", "wAIHA", "censored_share"): 0.5,
               ("dor_median_crude", "wAIHA", "estimable"): 1,
               ("dor_min", "wAIHA", "censored"): 0, ("dor_max", "wAIHA", "censored"): 1,
               ("dor_landmark", "wAIHA", "month_1_rate"): 1.0,
               ("dor_landmark", "wAIHA", "month_3_rate"): 0.5,
               # No EFFRSN and every EFFFL Y: nobody leaves the efficacy set.
               ("disposition", "all", "treated"): 4, ("disposition", "all", "efficacy"): 4,
               ("disposition", "all", "excluded"): 0,
               # Evans: W3 (nonresponder) only; W1, W2 respond; C1 does not.
               ("resp_by_evansfl", "wAIHA", "N: numerator"): 2,
               ("resp_by_evansfl", "wAIHA", "N: denominator"): 2,
               ("resp_by_evansfl", "wAIHA", "Y: numerator"): 0,
               ("resp_by_evansfl", "wAIHA", "Y: denominator"): 1,
               ("resp_by_evansfl", "cAIHA", "N: denominator"): 1}
    # Safety (treatment-emergent): W1 (grade 3, serious, one related report) and W3
    # (grade 1, not related); FEVER has no class ("not mapped"); no infection.
    for g, n in (("all", 4), ("wAIHA", 3)):
        expect |= {("ae_summary", g, "any: n"): 2, ("ae_summary", g, "any: proportion"): 2 / n,
                   ("ae_summary", g, "grade 3-5: n"): 1, ("ae_summary", g, "serious: n"): 1,
                   ("ae_summary", g, "related: n"): 1, ("ae_summary", g, "related recorded: n"): 2,
                   ("ae_summary", g, "fatal: n"): 0, ("ae_summary", g, "outcome recorded: n"): 2,
                   ("ae_soc", g, "Blood and lymphatic system disorders: any grade n"): 1,
                   ("ae_soc", g, "Blood and lymphatic system disorders: grade 3-5 n"): 1,
                   ("ae_soc", g, "Blood and lymphatic system disorders | ANEMIA: any grade n"): 1,
                   ("ae_soc", g, "not mapped: any grade n"): 1,
                   ("ae_soc", g, "not mapped: grade 3-5 n"): 0,
                   ("ae_soc", g, "not mapped | FEVER: any grade n"): 1,
                   ("ae_infection", g, "any: n"): 0}
    expect[("ae_summary", "cAIHA", "any: n")] = 0
    for key, value in expect.items():
        assert got[key] == pytest.approx(value, abs=1e-12), key
    assert ("resp_by_evansfl", "cAIHA", "Y: numerator") not in got  # no such level
    assert ("ae_term", "wAIHA", "ANEMIA: grade 2 n") not in got  # worst grade only
    assert ("later_therapy_drug", "wAIHA", "prednisone: n") not in got  # before day 1
    assert not any(k[0].startswith("flow_") for k in got)  # no cytometry


@needs_r
def test_a_missing_adam_variable_stops_the_r_programme_naming_it(tmp_path: Path):
    proc = _run_r_by_hand(tmp_path, _write_tiny_adam(tmp_path, drop=("adtte", "CNSR")))
    assert proc.returncode != 0
    assert "adtte.json: variable CNSR missing" in proc.stderr
    assert not (tmp_path / "r.tsv").exists()


@pytest.mark.workflow
def test_the_r_qc_rule_reads_the_adam_files_only(demo_project: Path):
    """The rule's inputs are the nine Dataset-JSON files (a change of one reruns the R
    QC), no cleaned table and no cytometry table."""
    proc = run_snakemake(demo_project, "-n", "--forcerun", "qc_r_double_programming",
                         "results/qc/r_statistics.tsv")
    lines = proc.stdout.splitlines()
    start = next(i for i, ln in enumerate(lines) if ln.strip() == "rule qc_r_double_programming:")
    inputs = next(ln for ln in lines[start:] if ln.strip().startswith("input:"))
    files = {f.strip() for f in inputs.split("input:", 1)[1].split(",")}
    assert files == {f"results/adam/{n}.json" for n in ADAM_NAMES}


# ---------------------------------------------------------------- planted errors


@pytest.fixture
def demo_tables(demo_results: Path) -> tuple[pd.DataFrame, pd.DataFrame]:
    return (read_keyed(demo_results / "ard" / "ard.tsv"),
            read_keyed(demo_results / "qc" / "r_statistics.tsv"))


def _plant(ard: pd.DataFrame, key: tuple[str, str, str], value: str) -> pd.DataFrame:
    out = ard.copy()
    hit = ((out["stat_id"] == key[0]) & (out["group"] == key[1])
           & (out["statistic"] == key[2]))
    assert hit.sum() == 1, key
    out.loc[hit, "value"] = value
    return out


def _first_key(ard: pd.DataFrame, stat_id: str, statistic: str) -> tuple[str, str, str]:
    rows = ard[(ard["stat_id"] == stat_id) & ard["statistic"].str.contains(statistic,
                                                                           regex=False)]
    rows = rows[rows["value"] != ""]
    r = rows.iloc[0]
    return (r["stat_id"], r["group"], r["statistic"])


PLANTS = {
    "count": ("orr", "numerator"),
    "proportion": ("sex_female", "proportion"),
    "CI bound": ("orr", "ci_upper"),
    "KM median": ("dor_median_km", "value"),
    "AE cell": ("ae_term", "any grade n"),
    "cytometry percentage": ("flow_depletion", "baseline_percent"),
}


@needs_r
@pytest.mark.workflow
@pytest.mark.parametrize("sign", [1.0, -1.0], ids=["above", "below"])
@pytest.mark.parametrize("kind", list(PLANTS))
def test_a_planted_wrong_value_fails_naming_it(kind: str, sign: float, demo_tables,
                                               tmp_path: Path):
    ard, r = demo_tables
    key = _first_key(ard, *PLANTS[kind])
    true = float(ard.set_index(["stat_id", "group", "statistic"]).loc[key, "value"])
    wrong = true + sign * (1.0 if kind in ("count", "KM median", "AE cell") else 1e-6)
    bad = _plant(ard, key, repr(wrong))
    table = compare(bad, r, TOL)
    assert (table["status"] == "disagree").sum() == 1
    with pytest.raises(RQCMismatch) as err:
        check(table)
    message = str(err.value)
    assert f"{key[0]} / {key[1]} / {key[2]}: ARD {wrong!r}, R " in message
    r_value = r.set_index(["stat_id", "group", "statistic"]).loc[key, "value"]
    assert float(message.split(", R ")[1].split(" ")[0]) == float(r_value)
    # The same through the rule's script on copies: non-zero exit, one ERROR line.
    bad_path = tmp_path / "ard.tsv"
    bad.to_csv(bad_path, sep="\t", index=False)
    proc = _run_compare_script(tmp_path, bad_path, demo_tables)
    assert proc.returncode != 0
    errors = [ln for ln in proc.stderr.splitlines() if ln.startswith("ERROR:")]
    assert len(errors) == 1 and f"{key[0]} / {key[1]} / {key[2]}" in errors[0]


def _run_compare_script(tmp: Path, ard_path: Path, demo_tables) -> subprocess.CompletedProcess:
    """workflow/scripts/qc_r_compare.py run with a plain stand-in for ``snakemake``."""
    _, r = demo_tables
    r_path = tmp / "r.tsv"
    r.to_csv(r_path, sep="\t", index=False)
    (tmp / "session.txt").write_text("R test\n")
    code = f"""
import sys, runpy
from types import SimpleNamespace
from aiha.jobs import Files
sm = SimpleNamespace(
    input=Files([], {{"ard": {str(ard_path)!r}, "r": {str(r_path)!r},
                     "session": {str(tmp / 'session.txt')!r}}}),
    output=Files([], {{"table": {str(tmp / 'cmp.tsv')!r}, "summary": {str(tmp / 'sum.tsv')!r}}}),
    log=Files([{str(tmp / 'log.txt')!r}], {{}}), params=SimpleNamespace(cfg={{"qc_tolerance": 1e-9}}),
    rule="qc_r_compare", wildcards=Files([], {{}}))
runpy.run_path({str(ROOT / 'workflow/scripts/qc_r_compare.py')!r}, init_globals={{"snakemake": sm}})
"""
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          env=env, timeout=120, check=False)


def test_unmatched_rows_fail_on_either_side():
    ard = pd.DataFrame({"stat_id": ["a", "b"], "group": ["all", "all"],
                        "statistic": ["n", "n"], "value": ["1", ""]})
    r = pd.DataFrame({"stat_id": ["a", "c"], "group": ["all", "all"],
                      "statistic": ["n", "n"], "value": ["1.0", "2"]})
    table = compare(ard, r, TOL)
    assert list(table["status"]) == ["agree", "only in ARD", "only in R"]
    s = summary(table, len(ard))
    assert (s["compared"], s["coverage"], s["only_in_ard"], s["only_in_r"]) == (1, 0.5, 1, 1)
    with pytest.raises(RQCMismatch, match=r"b / all / n: ARD undefined, R undefined \(only in ARD\)"):
        check(table)
    # Both undefined agree; one side undefined does not; the tolerance is relative above 1.
    both = compare(ard.iloc[[1]], ard.iloc[[1]], TOL)
    assert list(both["status"]) == ["agree"]
    one = compare(ard.iloc[[1]], ard.iloc[[1]].assign(value="0"), TOL)
    assert list(one["status"]) == ["disagree"]
    big = compare(ard.iloc[[0]].assign(value="1800"), ard.iloc[[0]].assign(value="1800.000001"),
                  TOL)
    assert list(big["status"]) == ["agree"]


# ---------------------------------------------------------------- Kaplan-Meier vs R

AML_TIMES = None


def _r_quantiles(times, events, transform: str) -> dict[str, float]:
    """R survfit/quantile (as R computes it) of a sample, via Rscript."""
    code = (f"library(survival); f <- survfit(Surv(c({','.join(map(repr, map(float, times)))}),"
            f" c({','.join(map(str, map(int, events)))})) ~ 1, conf.type = '{transform}');"
            "q <- quantile(f, 0.5); cat(format(c(q$quantile, q$lower, q$upper), digits = 17))")
    vals = [float("nan") if v == "NA" else float(v) for v in rscript(code).split()]
    return dict(zip(("value", "ci_lower", "ci_upper"), vals))


@pytest.fixture(scope="module")
def aml() -> pd.DataFrame:
    if RSCRIPT is None:
        pytest.skip("Rscript is not installed")
    text = rscript("library(survival); write.table(aml, sep = '\\t', quote = FALSE, "
                   "row.names = FALSE)")
    rows = [line.split("\t") for line in text.strip().splitlines()]
    frame = pd.DataFrame(rows[1:], columns=rows[0])
    return frame.assign(time=frame["time"].astype(float), status=frame["status"].astype(int))


def _project(times, events, transform: str, rule: str, tol: float = 1e-9) -> dict[str, float]:
    km = kaplan_meier(times, events, 0.95, transform)
    med = km_quantile_time(km.table["time"], km.table["survival"], 0.5, rule, tol)
    lo, hi = km_median_ci(km, rule, tol)
    return {"value": med, "ci_lower": lo, "ci_upper": hi}


def _same(a: dict[str, float], b: dict[str, float]) -> None:
    for k in ("value", "ci_lower", "ci_upper"):
        assert (math.isnan(a[k]) and math.isnan(b[k])) or a[k] == pytest.approx(b[k], abs=1e-9), \
            (k, a, b)


DEMO_W = ([2, 3, 5, 6, 9, 12], [1, 1, 1, 0, 1, 0])  # STUDY.md section 4, wAIHA


@needs_r
@pytest.mark.parametrize("transform", ["log", "log-log", "plain"])
def test_r_survival_rule_matches_survfit_on_aml_and_the_demo(aml: pd.DataFrame, transform: str):
    samples = {"aml": (aml["time"].tolist(), aml["status"].tolist()), "demo wAIHA": DEMO_W}
    for g, grp in aml.groupby("x"):
        samples[f"aml {g}"] = (grp["time"].tolist(), grp["status"].tolist())
    for name, (times, events) in samples.items():
        _same(_project(times, events, transform, "r_survival"), _r_quantiles(times, events, transform))
    # By hand on the demo: S = 1/2 on [5, 9), so R's median is the midpoint 7.
    assert _project(*DEMO_W, transform, "r_survival")["value"] == 7.0


@needs_r
@pytest.mark.parametrize("transform", ["log", "log-log", "plain"])
def test_project_band_is_survfit_band(aml: pd.DataFrame, transform: str):
    times, events = aml["time"].tolist(), aml["status"].tolist()
    code = (f"library(survival); f <- survfit(Surv(c({','.join(map(repr, times))}), "
            f"c({','.join(map(str, events))})) ~ 1, conf.type = '{transform}');"
            "write.table(data.frame(time = f$time, surv = f$surv, lower = f$lower, "
            "upper = f$upper), sep = '\\t', quote = FALSE, row.names = FALSE)")
    rows = [ln.split("\t") for ln in rscript(code).strip().splitlines()]
    r = pd.DataFrame(rows[1:], columns=rows[0]).replace("NA", "nan").astype(float)
    tab = kaplan_meier(times, events, 0.95, transform).table.set_index("time")
    for rec in r.itertuples(index=False):
        row = tab.loc[rec.time]
        assert row["survival"] == pytest.approx(rec.surv, abs=1e-12)
        for ours, theirs in ((row["ci_lower"], rec.lower), (row["ci_upper"], rec.upper)):
            if math.isnan(theirs):
                assert math.isnan(ours) or rec.surv in (0.0, 1.0)
            else:
                assert ours == pytest.approx(theirs, abs=1e-9)


@needs_r
@pytest.mark.parametrize("rule", ["lower", "midpoint", "upper"])
@pytest.mark.parametrize("transform", ["log", "log-log"])
def test_other_tie_rules_match_the_r_programme(aml: pd.DataFrame, rule: str, transform: str):
    """The sensitivity conventions against the R double programming's own code
    (qc_r_double_programming.R, on survfit's curve and band), and by hand on the demo."""
    samples = {"aml": (aml["time"].tolist(), aml["status"].tolist()), "demo": DEMO_W}
    for name, (times, events) in samples.items():
        cfg = json.dumps({"ci_level": 0.95, "km_ci_transform": transform, "km_tie_rule": rule,
                          "km_tie_tolerance": 1e-9})
        code = (f"source('{R_SCRIPT}'); cfg <- jsonlite::fromJSON('{cfg}');"
                f"cat(format(km_median(c({','.join(map(repr, map(float, times)))}),"
                f" c({','.join(map(str, events))}), cfg), digits = 17))")
        vals = [float(v) for v in rscript(code).split()]
        _same(_project(times, events, transform, rule),
              dict(zip(("value", "ci_lower", "ci_upper"), vals)))
    assert _project(*DEMO_W, transform, rule)["value"] == {"lower": 5.0, "midpoint": 7.0,
                                                            "upper": 9.0}[rule]


def test_km_quantile_r_by_hand():
    """survival's findq on hand-made curves: a flat segment at exactly 0.5 (midpoint),
    a jump past 0.5 (the first time below), a curve ending at 0.5 (the last time is the
    upper end), a curve that stays above (not reached), a missing bound (skipped)."""
    assert km_quantile_r([0, 2, 5, 9], [1, 0.75, 0.5, 0.25], 0.5) == 7.0
    assert km_quantile_r([0, 2, 5, 9], [1, 0.75, 0.5 + 1e-12, 0.25], 0.5) == 7.0
    assert km_quantile_r([0, 2, 5, 9], [1, 0.75, 0.4, 0.25], 0.5) == 5.0
    assert km_quantile_r([0, 2, 5, 8], [1, 0.75, 0.5, 0.5], 0.5) == 6.5
    assert math.isnan(km_quantile_r([0, 2, 5], [1, 0.75, 0.6], 0.5))
    assert km_quantile_r([0, 2, 5, 9], [1, np.nan, 0.5, 0.25], 0.5) == 7.0


# ---------------------------------------------------------------- a cohort with ties


@needs_r
@pytest.mark.workflow
def test_cohort_with_ties_at_one_half(tmp_path: Path):
    """wAIHA: 4 responders, relapses at 2 and 4 months, ongoing at 5, relapse at 8:
    S = 3/4, then exactly 1/2 on [4, 8), so R's median is 6 (by hand). cAIHA: two
    relapses tied at 3 of 4 responders (S = 1/2), ongoing at 5, relapse at 7: median 5."""
    P = patient
    pts = [P("W1", "wAIHA", "responder", duration_months=2),
           P("W2", "wAIHA", "responder", duration_months=4, site="LON"),
           P("W3", "wAIHA", "responder", duration_months=5, ongoing=True),
           P("W4", "wAIHA", "responder", duration_months=8),
           P("W5"),
           P("C1", "cAIHA", "responder", duration_months=3),
           P("C2", "cAIHA", "responder", duration_months=3, site="LON"),
           P("C3", "cAIHA", "responder", duration_months=5, ongoing=True),
           P("C4", "cAIHA", "responder", duration_months=7)]
    work = cohort_project(tmp_path / "p", pts)
    run_snakemake(work, "results/qc/r_double_programming.tsv")
    results = work / "results"
    assert_r_qc_complete(results)
    ard = read_keyed(results / "ard" / "ard.tsv").set_index(
        ["stat_id", "group", "statistic"])["value"]
    assert float(ard[("dor_median_km", "wAIHA", "value")]) == 6.0
    assert float(ard[("dor_median_km", "cAIHA", "value")]) == 5.0
    assert float(ard[("dor_median_crude", "wAIHA", "value")]) == 4.5  # 2, 4, 5, 8
    # The sensitivity convention lower: the start of the flat segment, R agrees too.
    cfg = read_config(work)
    cfg["statistics"].update(km_tie_rule="lower", km_ci_transform="log-log")
    write_config(work, cfg)
    run_snakemake(work, "results/qc/r_double_programming.tsv")
    assert_r_qc_complete(results)
    ard = read_keyed(results / "ard" / "ard.tsv").set_index(
        ["stat_id", "group", "statistic"])["value"]
    assert float(ard[("dor_median_km", "wAIHA", "value")]) == 4.0
    assert float(ard[("dor_median_km", "cAIHA", "value")]) == 3.0


# ---------------------------------------------------------------- start-up


def _path_without_rscript(tmp: Path) -> str:
    """PATH with the directories holding Rscript replaced by a copy without it."""
    parts = []
    for d in os.environ.get("PATH", "").split(os.pathsep):
        if d and (Path(d) / "Rscript").exists():
            shadow = tmp / f"bin{len(parts)}"
            shadow.mkdir()
            for f in Path(d).iterdir():
                if f.name not in ("Rscript", "R"):
                    try:
                        (shadow / f.name).symlink_to(f)
                    except OSError:
                        pass
            parts.append(str(shadow))
        else:
            parts.append(d)
    return os.pathsep.join(parts)


@pytest.mark.workflow
def test_without_rscript_the_workflow_stops_at_start_up(tmp_path: Path):
    work = cohort_project(tmp_path / "p", [patient("W1")])
    env = {**os.environ, "PATH": _path_without_rscript(tmp_path)}
    cmd = [SNAKEMAKE, "-n", "--cores", "1", "--directory", str(work), "--snakefile",
           str(work / "Snakefile")]
    proc = subprocess.run(cmd, cwd=work, env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode != 0
    lines = [ln for ln in (proc.stdout + proc.stderr).splitlines() if "Rscript" in ln]
    assert len(lines) == 1, proc.stderr[-3000:]
    for word in ("r-base-core", "r-cran-survival", "r-cran-jsonlite",
                 "qc.r_double_programming: false"):
        assert word in lines[0]
    # Switched off: the dry run plans no R job.
    cfg = read_config(work)
    cfg["qc"] = {"r_double_programming": False}
    write_config(work, cfg)
    proc = subprocess.run(cmd, cwd=work, env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "qc_r_double_programming" not in proc.stdout


@pytest.mark.workflow
def test_switched_off_the_report_says_the_r_qc_did_not_run(demo_results: Path, tmp_path: Path):
    from aiha.report.render import build_report, results_inputs

    inputs = results_inputs(demo_results, demo_results / "report" / "figures")
    inputs.pop("r_qc", None)
    import yaml

    cfg = yaml.safe_load((demo_results.parent / "config.yaml").read_text())
    cfg["qc"] = {"r_double_programming": False}
    out = build_report(inputs, cfg, tmp_path / "r.pdf", tmp_path / "r.html",
                       resources_dir=demo_results.parent / "resources" / "report",
                       fonts_dir=demo_results.parent / "resources" / "fonts")
    flat = " ".join(out["html"].split())
    assert "The independent double programming in R did not run" in flat
    assert "Table C1. Independent QC" not in flat
