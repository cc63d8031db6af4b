"""The flow_* claims at their config thresholds, on hand-made population tables."""

from __future__ import annotations

import math

import pandas as pd
import pytest
import yaml

from aiha.ard import stats_to_frame, lookup
from aiha.errors import InputError
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


# ------------------------------------------------- added for the mutation run


def test_settings_from_the_config_section():
    """from_config, called inside the test (the module-level S is built before a
    mutant is switched on): every field, converted to its stated type."""
    pops, cl = CYTO["populations"], CYTO["claims"]
    got = claims.ClaimSettings.from_config(CYTO)
    expected = claims.ClaimSettings(
        t_cells=pops["t_cells"], cd38=pops["cd38"], subsets=dict(pops["subsets"]),
        divided=pops["divided"], activation=pops["activation"],
        depletion_threshold_percent=float(cl["depletion_threshold_percent"]),
        depletion_window_days=tuple(cl["depletion_window_days"]),
        post_window_days=tuple(cl["post_window_days"]),
        subset_shift_pp=float(cl["subset_shift_pp"]),
        memory_effector_subsets=tuple(cl["memory_effector_subsets"]),
        function_fold_factor=float(cl["function_fold_factor"]),
        reappearance_threshold_percent=float(cl["reappearance_threshold_percent"]),
        relapse_window_days=int(cl["relapse_window_days"]),
        exclude_flagged=bool(CYTO["qc"]["exclude_flagged"]))
    assert got == expected
    assert set(got.subsets) == set(claims.SUBSETS)
    # Numbers written as text or integers in YAML arrive as the stated types.
    text = {**CYTO, "claims": {**cl, "depletion_threshold_percent": "2", "depletion_window_days": ["1", "42"],
                               "relapse_window_days": "30", "function_fold_factor": 3},
            "qc": {**CYTO["qc"], "exclude_flagged": 0}}
    t = claims.ClaimSettings.from_config(text)
    assert (t.depletion_threshold_percent, t.depletion_window_days, t.relapse_window_days) == (2.0, (1, 42), 30)
    assert type(t.depletion_threshold_percent) is float and type(t.function_fold_factor) is float
    assert t.exclude_flagged is False and type(t.depletion_window_days) is tuple


def test_percent_of_t_by_hand():
    """Two phenotype samples of P2 on the same day, listed out of order, one of P1,
    and a function-tube row that is ignored. CD38+ counts 50, 200 and 0 of 10000."""
    rows = (sample_rows("s2", "P2", 14, "phenotype", **{S.cd38: 2.0})
            + sample_rows("s1", "P2", 14, "phenotype", **{S.cd38: 0.5})
            + sample_rows("s0", "P1", 28, "phenotype", **{S.cd38: 0.0})
            + sample_rows("f1", "P1", 28, "function", **{S.cd38: 9.0}))
    got = claims.percent_of_t(frame(rows), S.cd38, S.t_cells, "phenotype")
    expected = pd.DataFrame({"patient_id": ["P1", "P2", "P2"], "sample_id": ["s0", "s1", "s2"],
                             "visit": ["d28", "d14", "d14"], "day": [28, 14, 14],
                             "percent": [0.0, 0.5, 2.0]})
    pd.testing.assert_frame_equal(got, expected)


def test_percent_of_t_refuses_an_ambiguous_or_missing_population():
    rows = sample_rows("s1", "P1", 14, "phenotype", **{S.cd38: 2.0})
    twice = frame(rows + rows[1:])
    with pytest.raises(InputError, match=f"sample s1 .*population '{S.cd38}' is ambiguous: "
                                         "found 2 times"):
        claims.percent_of_t(twice, S.cd38, S.t_cells, "phenotype")
    with pytest.raises(InputError, match="sample s1 .*population 'CD99pos' found 0 times"):
        claims.percent_of_t(frame(rows), "CD99pos", S.t_cells, "phenotype")


def test_percent_of_no_t_cells_is_nan():
    rows = sample_rows("s1", "P1", 14, "phenotype", **{S.cd38: 2.0})
    rows[0] = {**rows[0], "count": 0}
    got = claims.percent_of_t(frame(rows), S.cd38, S.t_cells, "phenotype")
    assert math.isnan(got["percent"].iloc[0])


def test_flow_n_rows_by_hand():
    """Kept: samples a, b (P1) and c (P2); a fourth sample d was excluded by QC."""
    pops = frame(phenotype("a", "P1", -3, 40.0), phenotype("b", "P1", 14, 0.5),
                 phenotype("c", "P2", -3, 30.0))
    every = pd.DataFrame({"sample_id": ["a", "b", "c", "d", "d"]})
    from aiha.ard import Stat
    assert claims.flow_n(pops, every) == [Stat("flow_n", "all", "n", 2.0, "patients"),
                                          Stat("flow_n", "all", "samples", 3.0, "samples"),
                                          Stat("flow_n", "all", "samples_excluded_qc", 1.0, "samples")]


def test_a_missing_qc_flag_is_not_a_flag():
    cohort = base_cohort()
    qc = pd.DataFrame({"sample_id": cohort["sample_id"].unique(), "qc_flag": None})
    ard = stats(cohort, qc=qc)
    assert v(ard, "flow_n", "all", "samples_excluded_qc") == 0


@pytest.mark.parametrize("base,post,expected", [(6.0, 0.5, 12.0), (6.0, 2.0, 3.0), (0.5, 0.0, math.inf),
                                                (6.0, 0.0, math.inf), (0.0, 0.0, math.nan)])
def test_fold_by_hand(base, post, expected):
    """Baseline / post; a fall to 0 from above 0 is an infinite fold; 0 to 0 none."""
    got = claims._fold(base, post)
    assert got == expected or (math.isnan(expected) and math.isnan(got))


def test_every_claim_row_of_three_patients():
    """Every Stat of compute_claims (id, group, statistic, value, unit), in order,
    worked out by hand from these samples (thresholds from config: depletion below
    1% in days 1..42, post window 14..130, shift 10 pp, fold 3, reappearance 10%
    within 30 days of relapse).

    P1: CD38 40 -> 0.5 (day 14), 0.7 (28), 12 (180, relapse day 180): depleted,
        reappears at 180, coincides. Naive 45 -> 25, EM 25 -> 40, TEMRA 10 -> 15
        (days 14, 28): shifted. Activation/divided 60 -> 10: fold 6, diminished.
    P2: CD38 30 -> 5 (day 14): not depleted, no reappearance; relapse day 100.
        Subsets unchanged. Function 60 -> 30: fold 2, not diminished.
    P3: CD38 20 -> 0.2 (day 1) -> 15 (60), no relapse ("NaN" as read from text):
        depleted, reappears without relapse. EM 25 -> 40 at day 60 but naive
        unchanged: not shifted (both are needed). No function tube. A QC-flagged
        sample (day 90) is left out.
    P0: post-dose samples only (no baseline): in no claim but flow_n; listed first,
        so a patient skipped does not stop the others."""
    from aiha.ard import Stat

    assert (S.depletion_threshold_percent, tuple(S.depletion_window_days), tuple(S.post_window_days)) == (
        1.0, (1, 42), (14, 130))
    assert (S.subset_shift_pp, S.function_fold_factor, S.reappearance_threshold_percent,
            S.relapse_window_days) == (10.0, 3.0, 10.0, 30)
    assert S.memory_effector_subsets == ("effector_memory", "temra")
    shifted = dict(naive=25.0, em=40.0, temra=15.0)
    pops = frame(phenotype("a", "P1", -3, 40.0), phenotype("b", "P1", 14, 0.5, **shifted),
                 phenotype("c", "P1", 28, 0.7, **shifted), phenotype("r", "P1", 180, 12.0),
                 function("fa", "P1", -3, 60.0, 60.0), function("fb", "P1", 28, 10.0, 10.0),
                 phenotype("p2a", "P2", -3, 30.0), phenotype("p2b", "P2", 14, 5.0),
                 function("p2fa", "P2", -3, 60.0, 60.0), function("p2fb", "P2", 28, 30.0, 30.0),
                 phenotype("p3a", "P3", -3, 20.0), phenotype("p3b", "P3", 1, 0.2),
                 phenotype("p3c", "P3", 60, 15.0, em=40.0), phenotype("p3x", "P3", 90, 50.0),
                 phenotype("p0", "P0", 14, 5.0), function("p0f", "P0", 28, 20.0, 20.0))
    qc = pd.DataFrame({"sample_id": pops["sample_id"].unique(), "qc_flag": ""})
    qc.loc[qc["sample_id"] == "p3x", "qc_flag"] = "low_events"
    responses = pd.DataFrame({"patient_id": ["P1", "P2", "P3"],
                              "first_dose_date": ["2022-01-01"] * 3,
                              "relapse_date": ["2022-06-30", "2022-04-11", "NaN"]})  # days 180, 100
    got = claims.compute_claims(pops, qc, responses, S)

    def subsets(pid, base, post):
        rows = []
        for key, b, p in zip(claims.SUBSETS, base, post):
            rows += [Stat("flow_subsets", pid, f"{key}_baseline", b, "%"),
                     Stat("flow_subsets", pid, f"{key}_post", p, "%"),
                     Stat("flow_subsets", pid, f"{key}_change_pp", p - b, "pp")]
        me = (post[2] - base[2]) + (post[3] - base[3])
        return rows + [Stat("flow_subsets", pid, "memory_effector_change_pp", me, "pp"),
                       Stat("flow_subsets", pid, "shifted", float(me >= 10 and post[0] - base[0] <= -10),
                            "boolean")]

    def function_rows(pid, b, p, diminished):
        rows = []
        for name in ("activation", "divided"):
            rows += [Stat("flow_function", pid, f"{name}_baseline", b, "%"),
                     Stat("flow_function", pid, f"{name}_post", p, "%"),
                     Stat("flow_function", pid, f"{name}_fold", b / p, "fold")]
        return rows + [Stat("flow_function", pid, "diminished", diminished, "boolean")]

    nan = math.nan
    default = (45.0, 20.0, 25.0, 10.0)
    expected = [Stat("flow_n", "all", "n", 4.0, "patients"), Stat("flow_n", "all", "samples", 15.0, "samples"),
                Stat("flow_n", "all", "samples_excluded_qc", 1.0, "samples"),
                Stat("flow_n", "wAIHA", "n", 0.0, "patients")]  # no analysis_group column
    for pid, base, nadir, day, depleted in (("P1", 40.0, 0.5, 14.0, 1.0), ("P2", 30.0, 5.0, 14.0, 0.0),
                                            ("P3", 20.0, 0.2, 1.0, 1.0)):
        expected += [Stat("flow_depletion", pid, "baseline_percent", base, "%"),
                     Stat("flow_depletion", pid, "nadir_percent", nadir, "%"),
                     Stat("flow_depletion", pid, "nadir_day", day, "days"),
                     Stat("flow_depletion", pid, "depleted", depleted, "boolean")]
    expected += [Stat("flow_depletion", "all", "numerator", 2.0, "patients"),
                 Stat("flow_depletion", "all", "denominator", 3.0, "patients")]
    expected += subsets("P1", default, (25.0, 20.0, 40.0, 15.0))
    assert expected[-1].value == 1.0  # P1 shifted: naive -20, EM + TEMRA +20
    expected += subsets("P2", default, default) + subsets("P3", default, (45.0, 20.0, 40.0, 10.0))
    assert expected[-1].value == 0.0  # P3: EM + TEMRA +15 but naive 0: not shifted
    expected += [Stat("flow_subsets", "all", "numerator", 1.0, "patients"),
                 Stat("flow_subsets", "all", "denominator", 3.0, "patients")]
    expected += function_rows("P1", 60.0, 10.0, 1.0) + function_rows("P2", 60.0, 30.0, 0.0)
    expected += [Stat("flow_function", "all", "numerator", 1.0, "patients"),
                 Stat("flow_function", "all", "denominator", 2.0, "patients")]
    expected += [Stat("flow_relapse", "P1", "relapse_day", 180.0, "days"),
                 Stat("flow_relapse", "P1", "reappearance_day", 180.0, "days"),
                 Stat("flow_relapse", "P1", "reappearance_percent", 12.0, "%"),
                 Stat("flow_relapse", "P1", "coincided", 1.0, "boolean"),
                 Stat("flow_relapse", "P2", "relapse_day", 100.0, "days"),
                 Stat("flow_relapse", "P2", "reappearance_day", nan, "days"),
                 Stat("flow_relapse", "P2", "reappearance_percent", nan, "%"),
                 Stat("flow_relapse", "P2", "coincided", 0.0, "boolean"),
                 Stat("flow_relapse", "all", "n", 1.0, "patients"),
                 Stat("flow_relapse", "all", "denominator", 2.0, "patients"),
                 Stat("flow_relapse", "all", "reappeared_without_relapse", 1.0, "patients")]
    assert [(s.stat_id, s.group, s.statistic, s.unit) for s in got] == [
        (s.stat_id, s.group, s.statistic, s.unit) for s in expected]
    for g, e in zip(got, expected):
        assert g.value == pytest.approx(e.value, abs=1e-9, nan_ok=True), (g, e)


def test_flow_n_counts_the_wAIHA_patients_of_its_definition():
    """flow_n's claim: "wAIHA patients with cytometry samples passing QC". P1 and P2
    are wAIHA, P3 cAIHA (cytometry too), P4 wAIHA with its only sample flagged by
    QC, P5 wAIHA without cytometry: 2 wAIHA, 1 cAIHA; all-patients n stays 3."""
    from aiha.ard import Stat

    pops = frame(phenotype("a", "P1", -3, 40.0), phenotype("c", "P2", -3, 30.0),
                 phenotype("e", "P3", -3, 20.0), phenotype("f", "P4", -3, 20.0))
    qc = pd.DataFrame({"sample_id": ["a", "c", "e", "f"], "qc_flag": ["", "", "", "low_events"]})
    responses = pd.DataFrame({"patient_id": ["P1", "P2", "P3", "P4", "P5"],
                              "analysis_group": ["wAIHA", "wAIHA", "cAIHA", "wAIHA", "wAIHA"],
                              "first_dose_date": ["2022-01-01"] * 5, "relapse_date": [""] * 5})
    kept = claims.usable(pops, qc, True)
    assert claims.flow_n_groups(kept, responses) == [Stat("flow_n", "cAIHA", "n", 1.0, "patients"),
                                                     Stat("flow_n", "wAIHA", "n", 2.0, "patients")]
    ard = stats(pops, responses, qc)
    assert v(ard, "flow_n", "wAIHA", "n") == 2
    assert v(ard, "flow_n", "all", "n") == 3
