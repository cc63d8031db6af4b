"""The flow_* claims at their config thresholds, on hand-made population tables."""

from __future__ import annotations

import math

import pandas as pd
import pytest
import yaml

from aiha.ard import stats_to_frame, lookup
from aiha.cytometry import claims
from conftest import ROOT

CYTO = yaml.safe_load((ROOT / "config.yaml").read_text())["cytometry"]
S = claims.ClaimSettings.from_config(CYTO)
T = 10000  # CD3+ count of every sample


def sample_rows(sample_id, patient, day, tube, **percent):
    """Population rows: CD3pos with T events, each other population at ``percent`` of it."""
    rows = [dict(sample_id=sample_id, patient_id=patient, visit=f"d{day}", day=day, tube=tube,
                 population=S.t_cells, gate_path=f"x/{S.t_cells}", parent="Live", count=T,
                 percent_of_parent=70.0)]
    for name, pct in percent.items():
        rows.append(dict(sample_id=sample_id, patient_id=patient, visit=f"d{day}", day=day, tube=tube,
                         population=name, gate_path=f"x/{S.t_cells}/{name}", parent=S.t_cells,
                         count=round(T * pct / 100), percent_of_parent=pct))
    return rows


def phenotype(sample_id, patient, day, cd38, naive=45.0, cm=20.0, em=25.0, temra=10.0):
    sub = S.subsets
    return sample_rows(sample_id, patient, day, "phenotype", **{
        S.cd38: cd38, sub["naive"]: naive, sub["central_memory"]: cm,
        sub["effector_memory"]: em, sub["temra"]: temra})


def function(sample_id, patient, day, activated, divided):
    return sample_rows(sample_id, patient, day, "function", **{S.activation: activated, S.divided: divided})


def frame(*groups):
    return pd.DataFrame([r for g in groups for r in g])


def stats(populations, responses=None, qc=None):
    qc = qc if qc is not None else pd.DataFrame({"sample_id": populations["sample_id"].unique(), "qc_flag": ""})
    responses = responses if responses is not None else pd.DataFrame(
        columns=["patient_id", "first_dose_date", "relapse_date"])
    out = claims.compute_claims(populations, qc, responses, S)
    return stats_to_frame(out, "r", "s", "h")


def v(ard, stat_id, group, statistic):
    return lookup(ard, stat_id, group, statistic)


def base_cohort(post_cd38=0.5, relapse_cd38=None, relapse_day=180, shift=None, fold=None):
    """Patient P1: baseline (day -3), week2, week4, month4 [+ relapse visit]."""
    lo = S.depletion_window_days[0]
    naive_post = 45.0 - (shift if shift is not None else 20.0)
    em_post = 25.0 + (shift if shift is not None else 20.0)
    act0, div0 = 60.0, 60.0
    f = fold if fold is not None else 6.0
    groups = [
        phenotype("a", "P1", -3, 40.0),
        phenotype("b", "P1", max(lo, 14), post_cd38, naive=naive_post, em=em_post),
        phenotype("c", "P1", 28, post_cd38 + 0.2, naive=naive_post, em=em_post),
        function("fa", "P1", -3, act0, div0),
        function("fb", "P1", 28, act0 / f, div0 / f),
    ]
    if relapse_cd38 is not None:
        groups.append(phenotype("r", "P1", relapse_day, relapse_cd38))
    return frame(*groups)


def test_depletion_strictly_below_threshold():
    thr = S.depletion_threshold_percent
    assert v(stats(base_cohort(post_cd38=thr - 0.01)), "flow_depletion", "P1", "depleted") == 1
    assert v(stats(base_cohort(post_cd38=thr)), "flow_depletion", "P1", "depleted") == 0
    ard = stats(base_cohort(post_cd38=thr - 0.01))
    assert (v(ard, "flow_depletion", "all", "numerator"), v(ard, "flow_depletion", "all", "denominator")) == (1, 1)
    assert v(ard, "flow_depletion", "P1", "baseline_percent") == 40.0


def test_subset_shift_at_the_stated_points():
    at = stats(base_cohort(shift=S.subset_shift_pp))
    assert v(at, "flow_subsets", "P1", "shifted") == 1
    assert v(at, "flow_subsets", "P1", "naive_change_pp") == pytest.approx(-S.subset_shift_pp)
    below = stats(base_cohort(shift=S.subset_shift_pp - 0.5))
    assert v(below, "flow_subsets", "P1", "shifted") == 0


def test_function_fold_at_the_stated_factor():
    at = stats(base_cohort(fold=S.function_fold_factor))
    assert v(at, "flow_function", "P1", "diminished") == 1
    assert v(at, "flow_function", "P1", "divided_fold") == pytest.approx(S.function_fold_factor)
    below = stats(base_cohort(fold=S.function_fold_factor * 0.95))
    assert v(below, "flow_function", "P1", "diminished") == 0


@pytest.mark.parametrize("offset, expected", [(0, 1), (S.relapse_window_days, 1),
                                              (-S.relapse_window_days, 1), (S.relapse_window_days + 1, 0)])
def test_reappearance_within_window_of_relapse(offset, expected):
    responses = pd.DataFrame({"patient_id": ["P1"], "first_dose_date": ["2022-01-01"],
                              "relapse_date": ["2022-06-30"]})  # day 180
    cohort = base_cohort(relapse_cd38=S.reappearance_threshold_percent, relapse_day=180 + offset)
    ard = stats(cohort, responses)
    assert v(ard, "flow_relapse", "P1", "relapse_day") == 180
    assert v(ard, "flow_relapse", "P1", "coincided") == expected
    assert v(ard, "flow_relapse", "all", "n") == expected


def test_below_reappearance_threshold_does_not_count():
    responses = pd.DataFrame({"patient_id": ["P1"], "first_dose_date": ["2022-01-01"],
                              "relapse_date": ["2022-06-30"]})
    cohort = base_cohort(relapse_cd38=S.reappearance_threshold_percent - 0.1)
    ard = stats(cohort, responses)
    assert v(ard, "flow_relapse", "P1", "coincided") == 0
    assert math.isnan(v(ard, "flow_relapse", "P1", "reappearance_day"))


def test_no_reappearance_without_depletion_first():
    """A patient never depleted (nadir at the depletion threshold) does not
    'reappear' at a later visit above the reappearance threshold."""
    responses = pd.DataFrame({"patient_id": ["P1"], "first_dose_date": ["2022-01-01"],
                              "relapse_date": ["2022-06-30"]})  # day 180
    cohort = base_cohort(post_cd38=S.depletion_threshold_percent,
                         relapse_cd38=S.reappearance_threshold_percent + 5.0)
    ard = stats(cohort, responses)
    assert v(ard, "flow_relapse", "P1", "coincided") == 0
    assert math.isnan(v(ard, "flow_relapse", "P1", "reappearance_day"))
    assert v(ard, "flow_relapse", "all", "reappeared_without_relapse") == 0


def test_reappearance_without_relapse_is_counted_apart():
    cohort = base_cohort(relapse_cd38=25.0)
    ard = stats(cohort)
    assert v(ard, "flow_relapse", "all", "reappeared_without_relapse") == 1
    assert v(ard, "flow_relapse", "all", "denominator") == 0


def test_flagged_samples_are_left_out():
    cohort = base_cohort()
    qc = pd.DataFrame({"sample_id": cohort["sample_id"].unique(), "qc_flag": ""})
    qc.loc[qc["sample_id"] == "a", "qc_flag"] = "low_events_kept"
    ard = stats(cohort, qc=qc)
    assert v(ard, "flow_n", "all", "samples_excluded_qc") == 1
    # without its baseline the patient is not evaluable for depletion
    assert v(ard, "flow_depletion", "all", "denominator") == 0
    assert v(ard, "flow_n", "all", "n") == 1
