"""Statistics: the KM median tie rule, and agreement with a second implementation."""

import math

import numpy as np
import pytest
from statsmodels.duration.survfunc import SurvfuncRight
from statsmodels.stats.proportion import proportion_confint

from aiha.statistics import (
    clopper_pearson,
    crude_median,
    kaplan_meier,
    km_median_ci,
    km_quantile_time,
)

# Six responders: relapses at 2, 3, 5, 9; censored at 6 and 12 (STUDY.md section 4).
DUR = [2, 3, 5, 6, 9, 12]
EVT = [1, 1, 1, 0, 1, 0]


def test_km_curve_sits_on_one_half_between_5_and_9():
    km = kaplan_meier(DUR, EVT)
    s = dict(zip(km.table["time"], km.table["survival"]))
    assert s[5.0] == pytest.approx(0.5, abs=1e-12) and s[6.0] == pytest.approx(0.5, abs=1e-12)
    assert s[9.0] == pytest.approx(0.25)


@pytest.mark.parametrize("rule,expected", [("lower", 5.0), ("midpoint", 7.0), ("upper", 9.0)])
def test_tie_rule(rule, expected):
    km = kaplan_meier(DUR, EVT)
    assert km_quantile_time(km.table["time"], km.table["survival"], 0.5, rule, 1e-9) == expected


def test_tie_rule_survives_floating_point_noise():
    times = [0, 2, 3, 5, 6, 9, 12]
    surv = [1, 5 / 6, 2 / 3, 0.5000000000000001, 0.5000000000000001, 0.25, 0.25]
    assert km_quantile_time(times, surv, 0.5, "lower", 1e-9) == 5
    assert km_quantile_time(times, surv, 0.5, "midpoint", 1e-9) == 7
    assert km_quantile_time(times, surv, 0.5, "upper", 1e-9) == 9
    # Without the tolerance the same function falls into the trap: S never equals
    # 0.5 and the first value below it is at 9 (what "first S <= 0.5" gives).
    assert km_quantile_time(times, surv, 0.5, "lower", 0.0) == 9
    # The tolerance also covers noise below one half (0.4999999999999999).
    assert km_quantile_time(times, [1, 5 / 6, 2 / 3, 0.4999999999999999, 0.4999999999999999,
                                    0.25, 0.25], 0.5, "lower", 1e-9) == 5
    with pytest.raises(ValueError, match="tie rule"):
        km_quantile_time(times, surv, 0.5, "nearest", 1e-9)


def test_median_not_reached_and_jump_below():
    assert math.isnan(km_quantile_time([0, 4], [1, 0.75], 0.5, "lower", 1e-9))
    assert km_quantile_time([0, 4, 8], [1, 0.6, 0.3], 0.5, "lower", 1e-9) == 8
    # Curve ends on the flat segment (last time 6, censored): like R's survfit, the
    # segment runs to the last time, so the midpoint is (5 + 6) / 2 and the upper end 6.
    assert km_quantile_time([0, 5, 6], [1, 0.5, 0.5], 0.5, "midpoint", 1e-9) == 5.5
    assert km_quantile_time([0, 5, 6], [1, 0.5, 0.5], 0.5, "upper", 1e-9) == 6
    # ... and is undefined when S reaches 0.5 at the curve's last time.
    assert math.isnan(km_quantile_time([0, 5], [1, 0.5], 0.5, "midpoint", 1e-9))


def test_crude_median_of_the_six_durations():
    assert crude_median(DUR) == 5.5


def test_km_agrees_with_statsmodels():
    km = kaplan_meier(DUR, EVT)
    sm = SurvfuncRight(np.array(DUR, float), np.array(EVT))
    ours = dict(zip(km.table["time"], km.table["survival"]))
    for t, s in zip(sm.surv_times, sm.surv_prob):
        assert ours[t] == pytest.approx(s, abs=1e-12)


@pytest.mark.parametrize("k,n", [(6, 12), (4, 7), (0, 5), (5, 5)])
def test_clopper_pearson_agrees_with_statsmodels(k, n):
    lo, hi = clopper_pearson(k, n)
    slo, shi = proportion_confint(k, n, alpha=0.05, method="beta")
    assert lo == pytest.approx(slo, abs=1e-9) and hi == pytest.approx(shi, abs=1e-9)


# R 4.x, survival::survfit(Surv(time, status) ~ x, data = aml) (conf.type "log", the
# default) prints: Maintained n 11, events 7, median 31, 0.95LCL 18, 0.95UCL NA;
# Nonmaintained n 12, events 11, median 23, 0.95LCL 8, 0.95UCL NA.
AML = {
    "Maintained": ([9, 13, 13, 18, 23, 28, 31, 34, 45, 48, 161],
                   [1, 1, 0, 1, 1, 0, 1, 1, 0, 1, 0], (31, 18, math.nan)),
    "Nonmaintained": ([5, 5, 8, 8, 12, 16, 23, 27, 30, 33, 43, 45],
                      [1, 1, 1, 1, 1, 0, 1, 1, 1, 1, 1, 1], (23, 8, math.nan)),
}


@pytest.mark.parametrize("group", sorted(AML))
def test_km_median_and_log_ci_match_r_survfit_on_aml(group):
    times, events, (median, lcl, ucl) = AML[group]
    km = kaplan_meier(times, events, 0.95, "log")
    table = km.table
    assert km_quantile_time(table["time"], table["survival"], 0.5, "midpoint", 1e-9) == median
    lo, hi = km_median_ci(km, "midpoint", 1e-9)
    assert lo == lcl and math.isnan(hi) and math.isnan(ucl)


def test_log_band_is_greenwood_on_the_log_scale():
    """By hand for times 1, 2, 3 (all events): S = 2/3, 1/3, 0; Greenwood var(log S) at
    t = 1 is 1 / (3 * 2); the log band is S exp(+-1.96 sqrt(var)), clipped to 1."""
    km = kaplan_meier([1, 2, 3], [1, 1, 1], 0.95, "log")
    row = km.table[km.table["time"] == 1].iloc[0]
    se = math.sqrt(1 / 6)
    z = 1.959963984540054
    assert row["ci_lower"] == pytest.approx(2 / 3 * math.exp(-z * se), rel=1e-12)
    assert row["ci_upper"] == pytest.approx(min(1.0, 2 / 3 * math.exp(z * se)), rel=1e-12)


# ------------------------------------------------------------ clinical_statistics


import pandas as pd  # noqa: E402

from aiha.response import RESPONSE_COLUMNS  # noqa: E402
from aiha.statistics import clinical_statistics  # noqa: E402

# A hand-made cohort of seven treated patients. Columns not listed stay empty.
#  id  group            resp  best dur(m) event ongoing ong_m evans acro acro_resp hb0  hb_change
_RESP = [
    ("A", "wAIHA", True, "PR", 2.0, 1, False, None, False, False, "", 7.0, 3.5),
    ("B", "wAIHA", True, "CR", 4.0, 0, True, 4.0, False, False, "", 8.0, 5.0),
    ("C", "wAIHA", False, "NR", None, None, False, None, True, False, "", 6.0, 0.4),
    ("D", "wAIHA", False, "NR", None, None, False, None, False, False, "", 9.0, 0.2),
    ("E", "cAIHA", True, "HR", 3.0, 1, False, None, False, True, "True", 8.5, 2.5),
    ("F", "cAIHA", False, "NR", None, None, False, None, False, True, "False", 9.5, 0.1),
    ("G", "cAIHA_nonanemic", False, "NE", None, None, False, None, False, True, "True", 12.5, 0.5),
]
#              id   age  sex       prior_lines
_PATIENTS = [("A", 50, "female", 2), ("B", 60, "male", 3), ("C", 70, "female", 4),
             ("D", 80, "male", 5), ("E", 55, "female", 1), ("F", 65, "male", 2),
             ("G", 45, "male", 6)]
# LDH: A has three values (day -10, day 0, day 5): baseline is the day-0 one.
_LABS = [("A", -10, "ldh", 3.0), ("A", 0, "ldh", 2.0), ("A", 5, "ldh", 1.0),
         ("A", 0, "hb", 99.0), ("B", -3, "ldh", 1.5)]
_AES = [("A", 3), ("A", 1), ("E", 2), ("G", 2)]


def _frames():
    rows = []
    for (pid, group, resp, best, dur, event, ongoing, ong_m, evans, acro, acro_resp, hb0,
         change) in _RESP:
        row = dict.fromkeys(RESPONSE_COLUMNS)
        row.update(patient_id=pid, diagnosis="wAIHA" if group == "wAIHA" else "cAIHA",
                   analysis_group=group, efficacy_set=group != "cAIHA_nonanemic",
                   responder=resp, best_response=best, duration_months=dur, event=event,
                   ongoing=ongoing, ongoing_duration_months=ong_m, evans=evans,
                   acrocyanosis=acro, acrocyanosis_response=acro_resp, baseline_hb=hb0,
                   hb_change=change)
        rows.append(row)
    responses = pd.DataFrame(rows, columns=RESPONSE_COLUMNS)
    patients = pd.DataFrame(_PATIENTS, columns=["patient_id", "age_at_first_dose", "sex",
                                                "prior_lines"])
    labs = pd.DataFrame(_LABS, columns=["patient_id", "day", "analyte", "value"])
    aes = pd.DataFrame(_AES, columns=["patient_id", "grade"])
    return patients, responses, labs, aes


def _cfg(**overrides):
    st = {"ci_level": 0.95, "km_tie_rule": "lower", "km_tie_tolerance": 1e-9,
          "dor_median_method": "crude", "km_ci_transform": "log-log"}
    st.update(overrides.get("statistics", {}))
    return {"statistics": st,
            "response": {"acro_denominator": overrides.get("acro_denominator", "all_treated")}}


def _run(as_text=False, **overrides):
    patients, responses, labs, aes = _frames()
    if as_text:  # the workflow reads responses.tsv back as text
        event = responses["event"].map(lambda x: "" if pd.isna(x) else str(int(x)))
        responses = responses.astype(str).replace({"None": "", "nan": ""})
        responses["event"] = event
    stats, km = clinical_statistics(patients, responses, labs, aes, _cfg(**overrides))
    table = {(s.stat_id, s.group, s.statistic): s.value for s in stats}
    assert len(table) == len(stats), "a statistic is reported twice"
    return table, km


@pytest.mark.parametrize("as_text", [False, True])
def test_clinical_statistics_counts_by_hand(as_text):
    s, _ = _run(as_text=as_text)
    # Treated: 7 in all, 4 wAIHA, 2 anemic cAIHA, 1 non-anemic; efficacy set 6.
    assert [s["n_treated", g, "n"] for g in ("all", "wAIHA", "cAIHA", "cAIHA_nonanemic")] == [7, 4, 2, 1]
    assert [s["n_efficacy", g, "n"] for g in ("all", "wAIHA", "cAIHA")] == [6, 4, 2]
    # wAIHA: responders A (PR) and B (CR) of 4; C and D nonresponders, C with Evans.
    assert (s["orr", "wAIHA", "numerator"], s["orr", "wAIHA", "denominator"]) == (2, 4)
    assert s["orr", "wAIHA", "proportion"] == 0.5
    lo, hi = proportion_confint(2, 4, alpha=0.05, method="beta")
    assert s["orr", "wAIHA", "ci_lower"] == pytest.approx(lo, abs=1e-9)
    assert s["orr", "wAIHA", "ci_upper"] == pytest.approx(hi, abs=1e-9)
    assert (s["cr", "wAIHA", "numerator"], s["pr", "wAIHA", "numerator"]) == (1, 1)
    assert s["cr", "wAIHA", "denominator"] == 4 and ("cr", "wAIHA", "ci_lower") not in s
    assert (s["nr_evans", "wAIHA", "numerator"], s["nr_evans", "wAIHA", "denominator"]) == (1, 2)
    assert (s["ongoing", "wAIHA", "numerator"], s["ongoing", "wAIHA", "denominator"]) == (1, 4)
    assert s["ongoing_duration", "wAIHA", "value_1"] == 4.0
    assert ("ongoing_duration", "wAIHA", "value_2") not in s
    # cAIHA (anemic): E responds of E, F; E relapsed (not ongoing).
    assert (s["hb_response", "cAIHA", "numerator"], s["hb_response", "cAIHA", "denominator"]) == (1, 2)
    lo, hi = proportion_confint(1, 2, alpha=0.05, method="beta")
    assert (s["hb_response", "cAIHA", "ci_lower"], s["hb_response", "cAIHA", "ci_upper"]) == (
        pytest.approx(lo, abs=1e-9), pytest.approx(hi, abs=1e-9))
    assert (s["ongoing", "cAIHA", "numerator"], s["ongoing", "cAIHA", "denominator"]) == (0, 2)
    # Duration: wAIHA 2 (relapse) and 4 (censored): crude median 3, range 2-4.
    assert (s["dor_median_crude", "wAIHA", "value"], s["dor_min", "wAIHA", "value"],
            s["dor_max", "wAIHA", "value"]) == (3.0, 2.0, 4.0)
    # KM: S = 1/2 from month 2 on (one event of two at risk), flat to the end:
    # lower tie rule -> 2. The reported median is the crude one (config).
    assert s["dor_median_km", "wAIHA", "value"] == 2.0
    assert s["dor_median_reported", "wAIHA", "value"] == 3.0
    assert ("dor_median_reported", "cAIHA", "value") not in s
    # cAIHA: one duration of 3, an event: S drops to 0 at 3.
    assert (s["dor_median_crude", "cAIHA", "value"], s["dor_median_km", "cAIHA", "value"]) == (3.0, 3.0)


def test_clinical_statistics_baseline_by_hand():
    s, _ = _run()
    # Age: wAIHA 50, 60, 70, 80; all seven 45 .. 80 with median 60.
    assert (s["age", "wAIHA", "median"], s["age", "wAIHA", "min"], s["age", "wAIHA", "max"]) == (65, 50, 80)
    assert (s["age", "all", "median"], s["age", "all", "min"], s["age", "all", "max"]) == (60, 45, 80)
    # Female: A, C (wAIHA) and E (cAIHA).
    assert (s["sex_female", "all", "n"], s["sex_female", "all", "proportion"]) == (3, pytest.approx(3 / 7))
    assert (s["sex_female", "wAIHA", "n"], s["sex_female", "cAIHA", "n"]) == (2, 1)
    assert s["sex_female", "cAIHA_nonanemic", "n"] == 0
    assert s["prior_lines", "cAIHA", "median"] == 1.5
    assert (s["evans", "all", "n"], s["evans", "wAIHA", "n"], s["evans", "cAIHA", "n"]) == (1, 1, 0)
    assert (s["acrocyanosis", "all", "n"], s["acrocyanosis", "cAIHA", "n"],
            s["acrocyanosis", "cAIHA_nonanemic", "n"]) == (3, 2, 1)
    assert (s["baseline_hb", "wAIHA", "median"], s["baseline_hb", "wAIHA", "min"],
            s["baseline_hb", "wAIHA", "max"]) == (7.5, 6.0, 9.0)
    # Baseline LDH: A's last value on or before day 0 is 2.0 (day 0), B's 1.5.
    assert (s["baseline_ldh", "wAIHA", "median"], s["baseline_ldh", "wAIHA", "min"],
            s["baseline_ldh", "wAIHA", "max"]) == (1.75, 1.5, 2.0)
    assert ("baseline_ldh", "cAIHA", "median") not in s  # no LDH: no row
    # Non-anemic G: acrocyanosis response, Hb change 0.5 > 0.
    assert s["nonanemic_acro_response", "cAIHA_nonanemic", "numerator"] == 1
    assert s["nonanemic_acro_response", "cAIHA_nonanemic", "denominator"] == 1
    assert s["nonanemic_hb_increase", "cAIHA_nonanemic", "numerator"] == 1
    assert s["nonanemic_hb_change", "cAIHA_nonanemic", "median"] == 0.5


def test_clinical_statistics_adverse_events_by_hand():
    s, _ = _run()
    # A: grades 3 and 1; E: grade 2; G: grade 2.
    assert (s["ae_events", "all", "n"], s["ae_patients", "all", "n"]) == (4, 3)
    assert [s["ae_grade", "all", f"grade_{g}"] for g in range(1, 6)] == [1, 2, 1, 0, 0]
    assert (s["ae_events", "wAIHA", "n"], s["ae_patients", "wAIHA", "n"]) == (2, 1)
    assert [s["ae_grade", "wAIHA", f"grade_{g}"] for g in range(1, 4)] == [1, 0, 1]
    assert [s["ae_grade", "cAIHA", f"grade_{g}"] for g in range(1, 4)] == [0, 1, 0]
    assert s["ae_events", "cAIHA_nonanemic", "n"] == 1


@pytest.mark.parametrize("reading,expected", [("all_treated", (2, 3)), ("efficacy_set", (1, 2))])
def test_acro_denominator_both_ways(reading, expected):
    s, _ = _run(acro_denominator=reading)
    # cAIHA with acrocyanosis: E (improved), F (not), G (non-anemic, improved).
    # All treated: 2 of 3; efficacy set (E, F): 1 of 2.
    assert (s["acro_improved", "cAIHA", "numerator"], s["acro_improved", "cAIHA", "denominator"]) == expected


@pytest.mark.parametrize("rule,expected", [("lower", 2.0), ("midpoint", 3.0), ("upper", 4.0)])
def test_clinical_statistics_km_median_method(rule, expected):
    s, km = _run(statistics={"dor_median_method": "km", "km_tie_rule": rule})
    got = s["dor_median_km", "wAIHA", "value"]
    # The curve ends flat on 1/2 from 2 to its last time, 4 (censored): as R's
    # survfit, the flat segment runs to the last time: midpoint 3, upper end 4.
    assert got == expected if expected is not None else math.isnan(got)
    reported = s["dor_median_reported", "wAIHA", "value"]
    assert reported == expected if expected is not None else math.isnan(reported)
    w = km[km["group"] == "wAIHA"]
    assert list(w["time_months"]) == [0.0, 2.0, 4.0]
    assert list(w["survival"]) == pytest.approx([1.0, 0.5, 0.5])
    assert (list(w["at_risk"]), list(w["events"]), list(w["censored"])) == ([2, 2, 1], [0, 1, 0], [0, 0, 1])
    assert set(km["group"]) == {"wAIHA", "cAIHA"}


def test_clinical_statistics_without_responders():
    patients, responses, labs, aes = _frames()
    responses["responder"] = False
    responses["ongoing"] = False
    stats, km = clinical_statistics(patients, responses, labs, aes, _cfg())
    ids = {s.stat_id for s in stats}
    assert "dor_median_crude" not in ids and km.empty
    assert list(km.columns)[:3] == ["group", "time_months", "survival"]
