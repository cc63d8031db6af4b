"""The analysis datasets as the workflow writes them (results/adam/), on the demo and
on a cohort shape with an empty arm, no cytometry, tied and censored durations:
every Dataset-JSON file valid against the CDISC schema, every XPT equal to it value
for value, and the key efficacy statistics recomputed from ADRS and ADTTE by an
independent path (statsmodels' exact interval, numpy's median, lifelines' Kaplan-
Meier) equal to the ARD's."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from aiha.adam import NAMES
from cohorts import cohort_project, patient
from conftest import run_snakemake
from test_adam import SCHEMA, assert_xpt_matches_json

pytestmark = pytest.mark.workflow


def _frame(results: Path, name: str) -> pd.DataFrame:
    doc = json.loads((results / "adam" / f"{name.lower()}.json").read_text(encoding="utf-8"))
    return pd.DataFrame(doc["rows"], columns=[c["name"] for c in doc["columns"]], dtype=object)


def _ard(results: Path) -> pd.DataFrame:
    return pd.read_csv(results / "ard" / "ard.tsv", sep="\t", keep_default_na=False,
                       dtype={"group": str})


def _value(ard: pd.DataFrame, stat_id: str, group: str, statistic: str) -> float:
    hit = ard[(ard["stat_id"] == stat_id) & (ard["group"] == group)
              & (ard["statistic"] == statistic)]
    assert len(hit) == 1, (stat_id, group, statistic, len(hit))
    v = hit["value"].iloc[0]
    return math.nan if v == "" else float(v)


def _km_median(durations: list[float], events: list[int], tie_rule: str) -> float:
    """Median of lifelines' Kaplan-Meier curve: the first time S(t) <= 0.5; where S
    is exactly 0.5 on a flat segment, the tie rule picks its start, end or midpoint."""
    from lifelines import KaplanMeierFitter

    kmf = KaplanMeierFitter().fit(durations, events)
    sf = kmf.survival_function_.iloc[:, 0]
    times, surv = sf.index.to_numpy(float), sf.to_numpy(float)
    for i, (t, s) in enumerate(zip(times, surv)):
        if abs(s - 0.5) <= 1e-9:
            later = [times[j] for j in range(i + 1, len(times)) if surv[j] < s - 1e-9]
            t2 = later[0] if later else (times[-1] if times[-1] > t else math.nan)
            return {"lower": t, "upper": t2, "midpoint": (t + t2) / 2,
                    "r_survival": (t + t2) / 2}[tie_rule]  # R: midpoint where S is 0.5
        if s < 0.5:
            return float(t)
    return math.nan


def check_adam_outputs(results: Path) -> None:
    jsonschema = pytest.importorskip("jsonschema")
    schema = json.loads(SCHEMA.read_text(encoding="utf-8"))
    for name in NAMES:
        path = results / "adam" / f"{name.lower()}.json"
        doc = json.loads(path.read_text(encoding="utf-8"))
        jsonschema.validate(doc, schema)
        assert doc["name"] == name and doc["records"] == len(doc["rows"])
        assert_xpt_matches_json(results / "adam" / f"{name.lower()}.xpt", path)
    variables = pd.read_csv(results / "adam" / "variables.tsv", sep="\t", keep_default_na=False)
    assert set(variables["dataset"]) == set(NAMES)
    assert (variables["variable"].str.len() <= 8).all()
    assert (variables["label"].str.len() <= 40).all()
    assert (variables["derivation"] != "").all()


def check_efficacy_from_datasets(results: Path, cfg: dict) -> None:
    """ORR/Hb response with exact CIs, crude and KM median duration of response,
    from ADRS and ADTTE alone, against the ARD."""
    from statsmodels.stats.proportion import proportion_confint

    ard = _ard(results)
    level = float(cfg["statistics"]["ci_level"])
    adrs, adtte = _frame(results, "ADRS"), _frame(results, "ADTTE")
    resp = adrs[adrs["PARAMCD"] == "RESP"]
    for stat_id, group in (("orr", "wAIHA"), ("hb_response", "cAIHA")):
        rows = resp[resp["ANLGRP"] == group]
        k, n = int((rows["AVALC"] == "Y").sum()), len(rows)
        assert _value(ard, stat_id, group, "numerator") == k
        assert _value(ard, stat_id, group, "denominator") == n
        if n:
            lo, hi = proportion_confint(k, n, alpha=1 - level, method="beta")
            assert _value(ard, stat_id, group, "ci_lower") == pytest.approx(lo, abs=1e-9)
            assert _value(ard, stat_id, group, "ci_upper") == pytest.approx(hi, abs=1e-9)
    dor = adtte[adtte["PARAMCD"] == "DOR"]
    for group in ("wAIHA", "cAIHA"):
        rows = dor[dor["ANLGRP"] == group]
        if rows.empty:
            assert not (ard["stat_id"].eq("dor_median_km") & ard["group"].eq(group)).any()
            continue
        durations = rows["AVAL"].astype(float).tolist()
        events = (1 - rows["CNSR"].astype(int)).tolist()
        assert _value(ard, "dor_median_crude", group, "value") == pytest.approx(
            float(np.median(durations)))
        expected = _km_median(durations, events, cfg["statistics"]["km_tie_rule"])
        got = _value(ard, "dor_median_km", group, "value")
        assert (math.isnan(got) and math.isnan(expected)) or got == pytest.approx(expected)


def check_sources(results: Path) -> None:
    ard = _ard(results)
    ours = ard[ard["rule"].isin(["clinical_statistics", "clinical_content"])]
    assert len(ours) > 0
    for col in ("dataset", "variables", "selection"):
        assert (ours[col] != "").all(), ours[ours[col] == ""][["stat_id", "group"]].head()
    named = {d.strip() for cell in ours["dataset"] for d in cell.split(",")}
    assert named <= set(NAMES), named


def test_demo_adam_outputs(demo_project: Path):
    results = demo_project / "results"
    cfg = yaml.safe_load((demo_project / "config.yaml").read_text(encoding="utf-8"))
    check_adam_outputs(results)
    check_efficacy_from_datasets(results, cfg)
    check_sources(results)
    # The demo has cytometry: ADCYT holds one record per sample and population.
    pops = pd.read_csv(results / "cytometry" / "populations.tsv", sep="\t")
    assert len(_frame(results, "ADCYT")) == len(pops)
    assert (results / "report" / "study_listings.pdf").stat().st_size > 10_000
    html = (results / "report" / "study_listings.html").read_text(encoding="utf-8")
    assert "Analysis datasets: variable metadata" in html and "Variables of the analysis datasets" in html


def test_cohort_with_ties_censoring_an_empty_arm_and_no_cytometry(tmp_path: Path):
    P = patient
    # wAIHA responders: durations (months) 2, 2 (tied relapses), 3 (ongoing), 5 (relapse)
    # tied with 5 (ongoing), 7 (ongoing); one nonresponder. No cAIHA: an empty arm.
    pts = [P("W1", "wAIHA", "responder", duration_months=2),
           P("W2", "wAIHA", "responder", duration_months=2, site="LON"),
           P("W3", "wAIHA", "responder", duration_months=3, ongoing=True),
           P("W4", "wAIHA", "responder", duration_months=5),
           P("W5", "wAIHA", "responder", duration_months=5, ongoing=True, site="LON"),
           P("W6", "wAIHA", "responder", duration_months=7, ongoing=True),
           P("W7", "wAIHA")]
    work = cohort_project(tmp_path / "p", pts)
    run_snakemake(work)
    results = work / "results"
    cfg = yaml.safe_load((work / "config.yaml").read_text(encoding="utf-8"))
    assert not (results / "cytometry" / "populations.tsv").exists()
    check_adam_outputs(results)
    check_efficacy_from_datasets(results, cfg)
    check_sources(results)
    assert _frame(results, "ADCYT").empty
    ard = _ard(results)
    # By hand: ORR 6/7; crude median of 2, 2, 3, 5, 5, 7 = 4; KM: S = 4/6 after month
    # 2, 4/6 * 2/3 = 0.444 after month 5 (3 at risk, 1 relapse, 1 censored there): 5.
    assert (_value(ard, "orr", "wAIHA", "numerator"), _value(ard, "orr", "wAIHA",
                                                             "denominator")) == (6, 7)
    assert _value(ard, "dor_median_crude", "wAIHA", "value") == 4
    assert _value(ard, "dor_median_km", "wAIHA", "value") == 5
    assert _value(ard, "n_treated", "cAIHA", "n") == 0
    adtte = _frame(results, "ADTTE")
    dor = adtte[adtte["PARAMCD"] == "DOR"]
    assert sorted(zip(dor["AVAL"].astype(float), dor["CNSR"])) == [
        (2.0, 0), (2.0, 0), (3.0, 1), (5.0, 0), (5.0, 1), (7.0, 1)]
    assert (results / "report" / "study_report.pdf").stat().st_size > 10_000
    assert (results / "report" / "study_listings.pdf").stat().st_size > 10_000
