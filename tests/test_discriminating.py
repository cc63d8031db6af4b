"""A small cohort (tests/cohorts/discriminating.yaml) where each sensitivity variant
of config.yaml changes at least one result, run through the real workflow.

The expected outcome of every patient under every variant is written down here by
hand from the criteria (the reasoning is in the cohort file, patient by patient);
nothing is read from the output to build it.
"""

from __future__ import annotations

import math
import shutil
from pathlib import Path

import pandas as pd
import pytest
import yaml

from aiha.ard import lookup, read_ard
from aiha.demo.cohort import load_spec
from conftest import ROOT, copy_project, run_snakemake

pytestmark = pytest.mark.workflow

SPEC = ROOT / "tests" / "cohorts" / "discriminating.yaml"

# Per patient: best response, duration in whole months (None: no response) and
# event (1 relapse, 0 censored). Primary analysis (config.yaml as committed).
PRIMARY = {
    "D1": ("PR", 2, 1), "D3": ("PR", 3, 1), "D4": ("NR", None, None),
    "D5": ("PR", 4, 0), "D6": ("PR", 8, 1), "C1": ("NR", None, None), "N1": ("NE", None, None),
}
# What each variant changes against the primary; every other patient as primary.
CHANGED = {
    "primary": {},
    "pr_and": {"D1": ("NR", None, None)},  # rise only, Hb below 10
    "confirm_28_days": {"D3": ("NR", None, None),  # runs span at most 14 days
                        "D5": ("NR", None, None)},  # run spans 7 days
    # 28 -> 31 confirmed; one low value after: ongoing, 270 - 28 = 242 days (8 months).
    "confirm_0_days": {"D4": ("PR", 8, 0)},
    "confirm_pair": {"D5": ("NR", None, None)},  # no two consecutive values 7 days apart
    "km_tie_lower": {}, "km_lower_log_log": {}, "km_tie_upper": {}, "median_kaplan_meier": {},
    "median_km_tie_lower": {}, "median_km_tie_upper": {},
    "acro_efficacy_set": {}, "ongoing_from_first_dose": {},
}
# Statistics of the wAIHA group that differ by variant (primary in the first entry).
PRIMARY_STATS = {
    ("orr", "numerator"): 4, ("orr", "denominator"): 5,
    ("dor_median_crude", "value"): 3.5,  # median of 2, 3, 4, 8
    # S = 1/2 on the flat segment from 3 to 8: R survival's rule (the primary) takes
    # the midpoint (km_tie_lower: the lower end, 3).
    ("dor_median_km", "value"): 5.5,
    ("dor_median_reported", "value"): 3.5,  # crude
    ("ongoing", "numerator"): 1, ("ongoing_duration", "value_1"): 4.0,  # D5: 122 days
}
STAT_CHANGES = {
    "pr_and": {("orr", "numerator"): 3,
               # 3 (event), 4 (censored), 8 (event): S = 2/3 at 3, 0 at 8.
               ("dor_median_crude", "value"): 4.0, ("dor_median_km", "value"): 8.0,
               ("dor_median_reported", "value"): 4.0},
    "confirm_28_days": {("orr", "numerator"): 2, ("ongoing", "numerator"): 0,
                        ("ongoing_duration", "value_1"): None,
                        # 2 (event) and 8 (event): S = 1/2 on [2, 8), 0 at 8: midpoint 5.
                        ("dor_median_crude", "value"): 5.0, ("dor_median_km", "value"): 5.0,
                        ("dor_median_reported", "value"): 5.0},
    "confirm_0_days": {("orr", "numerator"): 5, ("ongoing", "numerator"): 2,
                       ("ongoing_duration", "value_2"): 8.0,  # D4 (D5 stays value_1)
                       # 2 e, 3 e, 4 c, 8 e and D4: 8 c. S = 4/5 at 2, 3/5 at 3, then
                       # 3/5 x 1/2 = 3/10 at 8: jumps below 1/2 at 8.
                       ("dor_median_crude", "value"): 4.0, ("dor_median_km", "value"): 8.0,
                       ("dor_median_reported", "value"): 4.0},
    "confirm_pair": {("orr", "numerator"): 3, ("ongoing", "numerator"): 0,
                     ("ongoing_duration", "value_1"): None,
                     # 2 e, 3 e, 8 e: S = 2/3, 1/3: below 1/2 at 3.
                     ("dor_median_crude", "value"): 3.0, ("dor_median_km", "value"): 3.0,
                     ("dor_median_reported", "value"): 3.0},
    "km_tie_lower": {("dor_median_km", "value"): 3.0},
    "km_lower_log_log": {("dor_median_km", "value"): 3.0},
    "km_tie_upper": {("dor_median_km", "value"): 8.0},
    "median_kaplan_meier": {("dor_median_reported", "value"): 5.5},
    "median_km_tie_lower": {("dor_median_km", "value"): 3.0, ("dor_median_reported", "value"): 3.0},
    "median_km_tie_upper": {("dor_median_km", "value"): 8.0, ("dor_median_reported", "value"): 8.0},
    "ongoing_from_first_dose": {("ongoing_duration", "value_1"): 5.0},  # D5: 150 days
}
# Acrocyanosis (cAIHA): C1 not improved, N1 (non-anemic) improved.
ACRO = {"primary": (1, 2), "acro_efficacy_set": (0, 1)}


def expected(variant: str) -> dict[str, tuple]:
    return {**PRIMARY, **CHANGED[variant]}


def test_the_expectations_cover_every_variant_of_the_config():
    variants = yaml.safe_load((ROOT / "config.yaml").read_text())["sensitivity"]["variants"]
    assert set(variants) == set(CHANGED)
    # Each variant changes a patient or a statistic against the primary analysis.
    for name in variants:
        if name != "primary":
            assert CHANGED[name] or STAT_CHANGES.get(name) or name in ACRO, name
    # The cohort spec holds exactly the patients written down here.
    assert {p.key for p in load_spec(SPEC).patients} == set(PRIMARY)


@pytest.fixture(scope="module")
def discriminating(tmp_path_factory: pytest.TempPathFactory) -> Path:
    work = copy_project(tmp_path_factory.mktemp("discriminating") / "project")
    shutil.copy2(SPEC, work / "discriminating.yaml")
    cfg = yaml.safe_load((work / "config.yaml").read_text())
    cfg["data"]["demo_spec"] = "discriminating.yaml"
    cfg["data"]["generate_demo"] = True
    cfg["cytometry"]["enabled"] = False
    cfg["audit"]["claims"] = None
    (work / "config.yaml").write_text(yaml.safe_dump(cfg, sort_keys=False))
    run_snakemake(work, "results/stats/clinical_ard.tsv", "results/response/responses.tsv",
                  *[f"results/sensitivity/{v}/clinical_ard.tsv" for v in CHANGED])
    return work / "results"


def _patients(results: Path, variant: str) -> dict[str, tuple]:
    """Pseudonym -> spec key, through the record numbers the cohort spec holds."""
    path = (results / "response/responses.tsv" if variant == "primary"
            else results / f"sensitivity/{variant}/responses.tsv")
    r = pd.read_csv(path, sep="\t", dtype=str, keep_default_na=False)
    return r


def _key_of(results: Path) -> dict[str, str]:
    """patient_id (pseudonym) -> cohort key, matched on first-dose date (unique in the spec)."""
    spec = load_spec(SPEC)
    by_date = {str(p.first_dose): p.key for p in spec.patients}
    assert len(by_date) == len(spec.patients)
    r = pd.read_csv(results / "response/responses.tsv", sep="\t", dtype=str, keep_default_na=False)
    return {row.patient_id: by_date[row.first_dose_date] for row in r.itertuples()}


@pytest.mark.parametrize("variant", list(CHANGED))
def test_each_patient_under_each_variant(discriminating: Path, variant: str):
    keys = _key_of(discriminating)
    r = _patients(discriminating, variant)
    got = {}
    for row in r.itertuples():
        dur = None if row.duration_months == "" else round(float(row.duration_months))
        event = None if row.event == "" else int(row.event)
        got[keys[row.patient_id]] = (row.best_response, dur, event)
    assert got == expected(variant)


@pytest.mark.parametrize("variant", list(CHANGED))
def test_wAIHA_statistics_under_each_variant(discriminating: Path, variant: str):
    path = (discriminating / "stats/clinical_ard.tsv" if variant == "primary"
            else discriminating / f"sensitivity/{variant}/clinical_ard.tsv")
    ard = read_ard(path)
    want = {**PRIMARY_STATS, **STAT_CHANGES.get(variant, {})}
    for (stat, statistic), value in want.items():
        if value is None:  # no such statistic (e.g. no ongoing response)
            hit = ard[(ard.stat_id == stat) & (ard.group == "wAIHA") & (ard.statistic == statistic)]
            assert hit.empty, (variant, stat, statistic)
            continue
        got = lookup(ard, stat, "wAIHA", statistic)
        assert got == pytest.approx(value), (variant, stat, statistic, got)
    acro = ACRO.get(variant, ACRO["primary"])
    assert (lookup(ard, "acro_improved", "cAIHA", "numerator"),
            lookup(ard, "acro_improved", "cAIHA", "denominator")) == acro
    assert not math.isnan(lookup(ard, "dor_median_km", "wAIHA", "value"))
