"""Statistics: the KM median tie rule, and agreement with a second implementation."""

import math
import warnings

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


# ------------------------------------------------- bands and the CI of the median

from aiha.ard import Stat  # noqa: E402
from aiha.statistics import greenwood_band  # noqa: E402

Z95 = 1.959963984540054  # normal quantile 0.975


def _bands_from_statsmodels(times, events, transform):
    """The pointwise band at each event time, from statsmodels' Greenwood standard
    error of S (se_S = S sqrt(sum d / (n (n - d)))), transformed by the textbook
    formulas: plain S +- z se_S; log S exp(+-z se_S / S); log-log
    S ** exp(-+z se_S / (S |log S|)). Undefined (NaN) where S = 0."""
    sm = SurvfuncRight(np.array(times, float), np.array(events))
    out = {}
    for t, s, se in zip(sm.surv_times, sm.surv_prob, sm.surv_prob_se):
        if s <= 0:
            out[t] = (math.nan, math.nan)
            continue
        if transform == "plain":
            lo, hi = s - Z95 * se, s + Z95 * se
        elif transform == "log":
            lo, hi = s * math.exp(-Z95 * se / s), s * math.exp(Z95 * se / s)
        else:
            k = Z95 * se / (s * abs(math.log(s)))
            lo, hi = s ** math.exp(k), s ** math.exp(-k)
        out[t] = (min(max(lo, 0.0), 1.0), min(max(hi, 0.0), 1.0))
    return out


def _first_below_half(bands, side):
    """First event time at which the band's side falls below 1/2 (NaN: never)."""
    for t in sorted(bands):
        v = bands[t][side]
        if not math.isnan(v) and v < 0.5:
            return t
    return math.nan


_BAND_DATA = {"six": (DUR, EVT), **{g: AML[g][:2] for g in AML}}


@pytest.mark.parametrize("transform", ["log-log", "log", "plain"])
@pytest.mark.parametrize("data", sorted(_BAND_DATA))
def test_band_and_median_ci_agree_with_statsmodels(transform, data):
    times, events = _BAND_DATA[data]
    bands = _bands_from_statsmodels(times, events, transform)
    km = kaplan_meier(times, events, 0.95, transform)
    tab = km.table.set_index("time")
    for t, (lo, hi) in bands.items():
        assert tab.loc[t, "ci_lower"] == pytest.approx(lo, abs=1e-9, nan_ok=True)
        assert tab.loc[t, "ci_upper"] == pytest.approx(hi, abs=1e-9, nan_ok=True)
    # No band value sits on 1/2 here, so the tie rule does not matter: the CI of
    # the median is where each side of the band first falls below 1/2.
    assert all(abs(v - 0.5) > 1e-6 for pair in bands.values() for v in pair if not math.isnan(v))
    expected = (_first_below_half(bands, 0), _first_below_half(bands, 1))
    for rule in ("lower", "midpoint", "upper"):
        got = km_median_ci(km, rule, 1e-9)
        assert got == pytest.approx(expected, nan_ok=True)


def test_median_ci_by_hand_for_the_six_durations():
    """DUR/EVT: S = 5/6, 2/3, 1/2 at 2, 3, 5 (risk sets 6, 5, 4); Greenwood
    var(log S) = 1/30, +1/20, +1/12 = 1/6 at 5. Plain band at 5: 0.5 +- z 0.5
    sqrt(1/6) = 0.5 +- 0.40: lower 0.10 (first below 1/2: at 3 it is
    2/3 - z (2/3) sqrt(1/12) = 0.29); upper 0.90, then at 9 (S = 1/4, var + 1/2)
    0.25 + z 0.25 sqrt(2/3) = 0.65, never below 1/2: CI (3, NaN)."""
    km = kaplan_meier(DUR, EVT, 0.95, "plain")
    tab = km.table.set_index("time")
    assert tab.loc[3.0, "ci_lower"] == pytest.approx(2 / 3 - Z95 * 2 / 3 * math.sqrt(1 / 12))
    assert tab.loc[2.0, "ci_lower"] == pytest.approx(5 / 6 - Z95 * 5 / 6 * math.sqrt(1 / 30))
    assert tab.loc[9.0, "ci_upper"] == pytest.approx(0.25 + Z95 * 0.25 * math.sqrt(2 / 3))
    lo, hi = km_median_ci(km, "lower", 1e-9)
    assert lo == 3.0 and math.isnan(hi)
    # A narrower level moves the lower end: at 90% (z = 1.645) the band at 3 is
    # 2/3 - 1.645 (2/3) sqrt(1/12) = 0.35 < 1/2 still; at 50% (z = 0.674) it is 0.54
    # and at 5 it is 0.5 - 0.674 * 0.5 * sqrt(1/6) = 0.36: CI starts at 5.
    assert km_median_ci(kaplan_meier(DUR, EVT, 0.5, "plain"), "lower", 1e-9)[0] == 5.0


def test_greenwood_band_by_hand():
    """Five times; risk sets 5, 5, 4, 2, 1; events 0, 1, 2, 0, 1; S = 1, 4/5, 2/5,
    2/5, 0. Greenwood var(log S): 0, 1/20, 1/20 + 2/8, same, infinite (all at risk
    die). Plain clips at 0 and 1; S = 0 (and the infinite variance) is undefined."""
    s = np.array([1.0, 0.8, 0.4, 0.4, 0.0])
    n = np.array([5.0, 5, 4, 2, 1])
    d = np.array([0.0, 1, 2, 0, 1])
    se = [0.0, math.sqrt(0.05), math.sqrt(0.3), math.sqrt(0.3)]
    # The division by n - d = 0 and the products at S = 0 warn nothing, whatever the
    # global numpy setting (a lifelines fit turns divide/invalid warnings off for the
    # whole process; reset them here).
    with warnings.catch_warnings(), np.errstate(all="warn"):
        warnings.simplefilter("error")
        lo, hi = greenwood_band(s, n, d, 0.95, "plain")
        greenwood_band(s, n, d, 0.95, "log")
    exp_lo = [max(0.0, x - Z95 * x * e) for x, e in zip(s, se)]
    exp_hi = [min(1.0, x + Z95 * x * e) for x, e in zip(s, se)]
    assert list(lo[:4]) == pytest.approx(exp_lo) and list(hi[:4]) == pytest.approx(exp_hi)
    assert lo[2] == 0.0 and hi[1] == 1.0  # 0.4 - 0.43 clipped; 0.8 + 0.35 clipped
    assert 0 < hi[2] < 1 and 0 < lo[1] < 1
    assert math.isnan(lo[4]) and math.isnan(hi[4])
    lo, hi = greenwood_band(s, n, d, 0.95, "log")
    exp_lo = [x * math.exp(-Z95 * e) for x, e in zip(s, se)]
    exp_hi = [min(1.0, x * math.exp(Z95 * e)) for x, e in zip(s, se)]
    assert list(lo[:4]) == pytest.approx(exp_lo) and list(hi[:4]) == pytest.approx(exp_hi)
    assert math.isnan(lo[4]) and math.isnan(hi[4])
    # The level sets z: at 80%, z = 1.2816.
    lo80, _ = greenwood_band(s, n, d, 0.80, "log")
    assert lo80[1] == pytest.approx(0.8 * math.exp(-1.2815515655446004 * se[1]))
    with pytest.raises(ValueError, match="unknown CI transform"):
        greenwood_band(s, n, d, 0.95, "arcsine")
    with pytest.raises(ValueError, match="unknown CI transform"):
        kaplan_meier(DUR, EVT, 0.95, "arcsine")


def test_crude_median_of_nothing_is_nan():
    with warnings.catch_warnings():  # and says so without numpy's "empty slice" warning
        warnings.simplefilter("error")
        assert math.isnan(crude_median([]))
    assert crude_median([4.0]) == 4.0 and crude_median([1, 2]) == 1.5


def test_clopper_pearson_of_no_patients_is_nan():
    assert all(math.isnan(x) for x in clopper_pearson(0, 0))
    # The level is passed on: a 50% interval is inside the 95% one.
    lo, hi = clopper_pearson(2, 4, 0.5)
    slo, shi = proportion_confint(2, 4, alpha=0.5, method="beta")
    assert (lo, hi) == (pytest.approx(slo, abs=1e-9), pytest.approx(shi, abs=1e-9))


def test_log_log_band_is_undefined_where_the_curve_reaches_0():
    """Times 1, 2, 3, all events: S = 2/3, 1/3, 0. log(-log S) does not exist at
    S = 0; R's survfit gives NA there, so the upper band never falls below 1/2 and
    the CI of the median (2) has no upper limit. At 1/3 the upper band is
    (1/3) ** exp(-z sqrt(1/6 + 1/2) / log 3) = 0.77 (Greenwood var(log S) 1/6 + 1/2)."""
    km = kaplan_meier([1, 2, 3], [1, 1, 1], 0.95, "log-log")
    tab = km.table.set_index("time")
    assert math.isnan(tab.loc[3.0, "ci_lower"]) and math.isnan(tab.loc[3.0, "ci_upper"])
    k = Z95 * math.sqrt(1 / 6 + 1 / 2) / math.log(3)
    assert tab.loc[2.0, "ci_upper"] == pytest.approx((1 / 3) ** math.exp(-k))
    lo, hi = km_median_ci(km, "lower", 1e-9)
    assert lo == 1.0 and math.isnan(hi)


# ------------------------------------------- every ARD row of a small cohort, by hand

#   id  group            resp  best dur  event ongoing ong_m evans acro  acro_resp hb0  change
_SMALL = [
    ("W1", "wAIHA", True, "PR", 2.0, 1, False, None, False, False, "", 7.0, 3.0),
    ("W2", "wAIHA", True, "CR", 4.0, 0, True, 4.0, False, False, "", 8.0, 5.0),
    ("W3", "wAIHA", False, "NR", None, None, False, None, True, False, "", 6.0, 0.5),
    ("C1", "cAIHA", True, "HR", 5.0, 0, True, 5.0, False, True, "True", 9.0, 2.0),
    ("N1", "cAIHA_nonanemic", False, "NE", None, None, False, None, False, True, "False", 12.5, 0.0),
]
#                   id   age sex      prior_lines
_SMALL_PATIENTS = [("W1", 40, "female", 1), ("W2", 50, "male", 2), ("W3", 60, "female", 3),
                   ("C1", 70, "female", 2), ("N1", 80, "male", 5)]
# Baseline LDH (last on or before day 0): W1 2.0, W2 1.5, N1 1.0; W1's day-1 value is
# after the first dose. C1 has none.
_SMALL_LABS = [("W1", -2, "ldh", 2.0), ("W1", 1, "ldh", 9.0), ("W2", 0, "ldh", 1.5),
               ("N1", -1, "ldh", 1.0)]
_SMALL_AES = [("W1", 2), ("W1", 2), ("C1", 5), ("N1", 1)]


def _small_frames(keep=None):
    rows = []
    for (pid, group, resp, best, dur, event, ongoing, ong_m, evans, acro, acro_resp, hb0,
         change) in _SMALL:
        if keep is not None and pid not in keep:
            continue
        row = dict.fromkeys(RESPONSE_COLUMNS)
        row.update(patient_id=pid, diagnosis="wAIHA" if group == "wAIHA" else "cAIHA",
                   analysis_group=group, efficacy_set=group != "cAIHA_nonanemic",
                   responder=resp, best_response=best, duration_months=dur, event=event,
                   ongoing=ongoing, ongoing_duration_months=ong_m, evans=evans,
                   acrocyanosis=acro, acrocyanosis_response=acro_resp, baseline_hb=hb0,
                   hb_change=change)
        rows.append(row)
    ids = [r["patient_id"] for r in rows]
    patients = pd.DataFrame([p for p in _SMALL_PATIENTS if p[0] in ids],
                            columns=["patient_id", "age_at_first_dose", "sex", "prior_lines"])
    labs = pd.DataFrame([x for x in _SMALL_LABS if x[0] in ids],
                        columns=["patient_id", "day", "analyte", "value"])
    aes = pd.DataFrame([x for x in _SMALL_AES if x[0] in ids], columns=["patient_id", "grade"])
    return patients, pd.DataFrame(rows, columns=RESPONSE_COLUMNS), labs, aes


def _same_rows(got, expected):
    """Stat lists equal row by row, in order; values to 1e-12, NaN equal to NaN."""
    assert [(s.stat_id, s.group, s.statistic, s.unit) for s in got] == [
        (s.stat_id, s.group, s.statistic, s.unit) for s in expected]
    for g, e in zip(got, expected):
        assert g.value == pytest.approx(e.value, abs=1e-12, nan_ok=True), (g, e)
        assert type(g.value) is not bool


def _rows(stat_id, group, unit, **values):
    return [Stat(stat_id, group, k, v, unit) for k, v in values.items()]


def _baseline(g, age, female, n, prior, evans, acro, hb, ldh):
    """The baseline block of one group: age, sex, prior lines, Evans, acrocyanosis,
    baseline Hb and LDH; ``age``/``prior``/``hb``/``ldh`` are (median, min, max)."""
    out = _rows("age", g, "years", median=age[0], min=age[1], max=age[2])
    out += [Stat("sex_female", g, "n", female, "patients"),
            Stat("sex_female", g, "proportion", female / n if n else math.nan, "proportion")]
    out += _rows("prior_lines", g, "lines", median=prior[0], min=prior[1], max=prior[2])
    out += [Stat("evans", g, "n", evans, "patients"), Stat("acrocyanosis", g, "n", acro, "patients")]
    out += _rows("baseline_hb", g, "g/dL", median=hb[0], min=hb[1], max=hb[2])
    if ldh is not None:
        out += _rows("baseline_ldh", g, "x ULN", median=ldh[0], min=ldh[1], max=ldh[2])
    return out


def _cp(k, n):
    return proportion_confint(k, n, alpha=0.05, method="beta")


def _durability_rows(g, events, censored, estimable, min_c, max_c):
    nan = math.nan
    out = _rows("dor_median_km", g, "patients", events=events, censored=censored)
    out += [Stat("dor_median_crude", g, "censored_share", censored / (events + censored),
                 "proportion"), Stat("dor_median_crude", g, "estimable", estimable, "flag"),
            Stat("dor_min", g, "censored", min_c, "flag"), Stat("dor_max", g, "censored", max_c, "flag")]
    for m in (6, 12):
        out += _rows("dor_landmark", g, "proportion", **{f"month_{m}_rate": nan,
                     f"month_{m}_ci_lower": nan, f"month_{m}_ci_upper": nan})
    return out


def _subgroup_rows(g, level, k, n):
    """Clopper-Pearson by hand where it is closed-form: k = n: lower (alpha/2)^(1/n),
    upper 1; k = 0: lower 0, upper 1 - (alpha/2)^(1/n)."""
    lo = (0.025 ** (1 / n)) if k == n else 0.0
    hi = 1.0 if k == n else 1 - 0.025 ** (1 / n)
    assert k in (0, n)
    return ([Stat(f"resp_by_evansfl", g, f"{level}: {s}", v, "patients")
             for s, v in (("numerator", k), ("denominator", n))]
            + [Stat("resp_by_evansfl", g, f"{level}: {s}", v, "proportion")
               for s, v in (("proportion", k / n), ("ci_lower", lo), ("ci_upper", hi))])


def test_every_row_of_a_small_cohort():
    """Five patients; every Stat (id, group, statistic, value, unit) in order, by hand.

    wAIHA durations 2 (relapse) and 4 (censored): S = 1/2 from 2 on; KM median
    (lower tie rule) 2, the reported one under ``km``. The log-log band at 2:
    Greenwood var(log S) = 1/(2*1); sd of log(-log S) = sqrt(1/2) / log 2 = 1.020;
    lower 0.5 ** exp(+1.96 * 1.020) = 0.006 (below 1/2 at 2), upper
    0.5 ** exp(-1.96 * 1.020) = 0.91 (never below): CI (2, NaN).
    cAIHA: one censored duration, S stays 1: no median, no CI."""
    patients, responses, labs, aes = _small_frames()
    cfg = _cfg(statistics={"dor_median_method": "km"})
    stats, km = clinical_statistics(patients, responses, labs, aes, cfg)
    # The curves of both groups in one table, rows numbered afresh.
    assert list(km["group"]) == ["wAIHA"] * 3 + ["cAIHA"] * 2
    assert list(km.index) == list(range(5))
    nan = math.nan
    exp = [Stat("n_treated", g, "n", n, "patients")
           for g, n in (("all", 5), ("wAIHA", 3), ("cAIHA", 1), ("cAIHA_nonanemic", 1))]
    exp += [Stat("n_efficacy", g, "n", n, "patients") for g, n in (("all", 4), ("wAIHA", 3), ("cAIHA", 1))]
    exp += _baseline("all", (60, 40, 80), 3, 5, (2, 1, 5), 1, 2, (8.0, 6.0, 12.5), (1.5, 1.0, 2.0))
    exp += _baseline("wAIHA", (50, 40, 60), 2, 3, (2, 1, 3), 1, 0, (7.0, 6.0, 8.0), (1.75, 1.5, 2.0))
    exp += _baseline("cAIHA", (70, 70, 70), 1, 1, (2, 2, 2), 0, 1, (9.0, 9.0, 9.0), None)
    exp += _baseline("cAIHA_nonanemic", (80, 80, 80), 0, 1, (5, 5, 5), 0, 1, (12.5, 12.5, 12.5),
                     (1.0, 1.0, 1.0))
    lo, hi = _cp(2, 3)
    exp += _rows("orr", "wAIHA", "patients", numerator=2, denominator=3)
    exp += _rows("orr", "wAIHA", "proportion", proportion=2 / 3, ci_lower=lo, ci_upper=hi)
    exp += _rows("cr", "wAIHA", "patients", numerator=1, denominator=3)
    exp += _rows("cr", "wAIHA", "proportion", proportion=1 / 3)
    exp += _rows("pr", "wAIHA", "patients", numerator=1, denominator=3)
    exp += _rows("pr", "wAIHA", "proportion", proportion=1 / 3)
    exp += _rows("nr_evans", "wAIHA", "patients", numerator=1, denominator=1)
    exp += _rows("ongoing", "wAIHA", "patients", numerator=1, denominator=3)
    exp += [Stat("ongoing_duration", "wAIHA", "value_1", 4.0, "months")]
    lo, hi = _cp(1, 1)
    exp += _rows("hb_response", "cAIHA", "patients", numerator=1, denominator=1)
    exp += _rows("hb_response", "cAIHA", "proportion", proportion=1.0, ci_lower=lo, ci_upper=hi)
    exp += _rows("ongoing", "cAIHA", "patients", numerator=1, denominator=1)
    exp += [Stat("dor_median_crude", "wAIHA", "value", 3.0, "months"),
            Stat("dor_min", "wAIHA", "value", 2.0, "months"),
            Stat("dor_max", "wAIHA", "value", 4.0, "months")]
    exp += _rows("dor_median_km", "wAIHA", "months", value=2.0, ci_lower=2.0, ci_upper=nan)
    exp += [Stat("dor_median_reported", "wAIHA", "value", 2.0, "months")]
    # W1 relapsed at 2, W2 censored at 4: 1 event, 1 censored; half censored is not
    # more than the default 0.5 (the crude median stands); the shortest (2) is an
    # event, the longest (4) censored; landmarks at 6 and 12 lie beyond 4.
    exp += _durability_rows("wAIHA", events=1, censored=1, estimable=1, min_c=0, max_c=1)
    exp += [Stat("dor_median_crude", "cAIHA", "value", 5.0, "months"),
            Stat("dor_min", "cAIHA", "value", 5.0, "months"),
            Stat("dor_max", "cAIHA", "value", 5.0, "months")]
    exp += _rows("dor_median_km", "cAIHA", "months", value=nan, ci_lower=nan, ci_upper=nan)
    # C1 alone, censored at 5: all censored, no crude median printed.
    exp += _durability_rows("cAIHA", events=0, censored=1, estimable=0, min_c=1, max_c=1)
    # N1 is outside the efficacy set (not anemic); no follow-up dates: no follow-up rows.
    exp += _rows("disposition", "all", "patients", treated=5, efficacy=4, excluded=1,
                 **{"excluded: not anemic at baseline": 1})
    # Evans: W3 (nonresponder) only. wAIHA without Evans 2/2, with 0/1; cAIHA C1 1/1.
    exp += _subgroup_rows("wAIHA", "N", 2, 2) + _subgroup_rows("wAIHA", "Y", 0, 1)
    exp += _subgroup_rows("cAIHA", "N", 1, 1)
    # N1: acrocyanosis not improved ("False"); Hb change exactly 0 is not an increase.
    exp += _rows("nonanemic_acro_response", "cAIHA_nonanemic", "patients", numerator=0, denominator=1)
    exp += _rows("nonanemic_hb_increase", "cAIHA_nonanemic", "patients", numerator=0, denominator=1)
    exp += _rows("nonanemic_hb_change", "cAIHA_nonanemic", "g/dL", median=0.0, min=0.0, max=0.0)
    # cAIHA with acrocyanosis, all treated: C1 (improved) and N1 (not).
    exp += _rows("acro_improved", "cAIHA", "patients", numerator=1, denominator=2)
    # AEs: W1 grade 2 twice, C1 grade 5, N1 grade 1.
    for g, events, pts, grades in (("all", 4, 3, [1, 2, 0, 0, 1]), ("wAIHA", 2, 1, [0, 2, 0, 0, 0]),
                                   ("cAIHA", 1, 1, [0, 0, 0, 0, 1]),
                                   ("cAIHA_nonanemic", 1, 1, [1, 0, 0, 0, 0])):
        exp += [Stat("ae_events", g, "n", events, "events"), Stat("ae_patients", g, "n", pts, "patients")]
        exp += [Stat("ae_grade", g, f"grade_{i}", k, "events") for i, k in enumerate(grades, start=1)]
    _same_rows(stats, exp)


def test_rows_of_groups_without_patients():
    """Only W1 and W3 (wAIHA): the cold groups are empty. Counts are 0, proportions
    NaN, no summaries (median/min/max) and no duration or non-anemic rows."""
    patients, responses, labs, aes = _small_frames(keep={"W1", "W3"})
    stats, km = clinical_statistics(patients, responses, labs, aes, _cfg())
    nan = math.nan
    for g in ("cAIHA", "cAIHA_nonanemic"):
        got = [s for s in stats if s.group == g and not s.stat_id.startswith(("ae_", "n_"))]
        exp = [Stat("sex_female", g, "n", 0, "patients"), Stat("sex_female", g, "proportion", nan, "proportion"),
               Stat("evans", g, "n", 0, "patients"), Stat("acrocyanosis", g, "n", 0, "patients")]
        if g == "cAIHA":
            exp += _rows("hb_response", "cAIHA", "patients", numerator=0, denominator=0)
            exp += _rows("hb_response", "cAIHA", "proportion", proportion=nan, ci_lower=nan, ci_upper=nan)
            exp += _rows("ongoing", "cAIHA", "patients", numerator=0, denominator=0)
            exp += _rows("acro_improved", "cAIHA", "patients", numerator=0, denominator=0)
        _same_rows(got, exp)
    assert set(km["group"]) == {"wAIHA"}
    assert not any(s.stat_id.startswith("nonanemic_") for s in stats)


def test_durations_of_the_cold_group_when_no_warm_patient_responds():
    # W3 (wAIHA, no response) and C1 (cAIHA, censored at 5): only the cAIHA rows.
    patients, responses, labs, aes = _small_frames(keep={"W3", "C1"})
    stats, km = clinical_statistics(patients, responses, labs, aes, _cfg())
    dor = [(s.stat_id, s.group, s.statistic) for s in stats if s.stat_id.startswith("dor_")]
    assert dor == [("dor_median_crude", "cAIHA", "value"), ("dor_min", "cAIHA", "value"),
                   ("dor_max", "cAIHA", "value"), ("dor_median_km", "cAIHA", "value"),
                   ("dor_median_km", "cAIHA", "ci_lower"), ("dor_median_km", "cAIHA", "ci_upper"),
                   *[(s.stat_id, "cAIHA", s.statistic) for s in _durability_rows(
                       "cAIHA", events=0, censored=1, estimable=0, min_c=1, max_c=1)]]
    assert list(km["group"].unique()) == ["cAIHA"] and list(km["time_months"]) == [0.0, 5.0]


def test_the_ci_level_reaches_every_interval():
    # At 90%: the Clopper-Pearson intervals of 2/4 (orr) and 1/2 (hb_response).
    s, _ = _run(statistics={"ci_level": 0.90})
    for key, (k, n) in ((("orr", "wAIHA"), (2, 4)), (("hb_response", "cAIHA"), (1, 2))):
        lo, hi = proportion_confint(k, n, alpha=0.10, method="beta")
        assert s[(*key, "ci_lower")] == pytest.approx(lo, abs=1e-9)
        assert s[(*key, "ci_upper")] == pytest.approx(hi, abs=1e-9)


def test_patients_are_matched_one_to_one():
    patients, responses, labs, aes = _small_frames()
    # A patient listed twice in the patient table is refused, not counted twice.
    twice = pd.concat([patients, patients[patients["patient_id"] == "W1"]], ignore_index=True)
    with pytest.raises(pd.errors.MergeError):
        clinical_statistics(twice, responses, labs, aes, _cfg())
    # A scored patient missing from the patient table still counts as treated; the
    # age summary is over the others (W2, W3: 50, 60).
    stats, _ = clinical_statistics(patients[patients["patient_id"] != "W1"], responses, labs, aes, _cfg())
    s = {(x.stat_id, x.group, x.statistic): x.value for x in stats}
    assert s["n_treated", "wAIHA", "n"] == 3
    assert (s["age", "wAIHA", "min"], s["age", "wAIHA", "max"]) == (50, 60)


# ------------------------------------------------------- the KM median at its edges

from aiha.statistics import KaplanMeier  # noqa: E402


def test_quantile_time_at_its_edges():
    # Exactly 1/2 with no tolerance is still a tie: lower 5; the next drop (9)
    # comes right after it, so upper 9, midpoint 7.
    for rule, expected in (("lower", 5.0), ("midpoint", 7.0), ("upper", 9.0)):
        assert km_quantile_time([0, 5, 9, 12], [1, 0.5, 0.25, 0.1], 0.5, rule, 0.0) == expected
    # Without tolerance a flat stretch at 1/2 is not a drop: upper is the drop at 9.
    assert km_quantile_time([0, 5, 6, 9], [1, 0.5, 0.5, 0.25], 0.5, "upper", 0.0) == 9.0
    # The curve starts on 1/2: the next drop is the next time (9), not the last (12).
    assert km_quantile_time([5, 9, 12], [0.5, 0.25, 0.1], 0.5, "upper", 1e-9) == 9.0
    # An undefined value (a band where S = 0 or before it is defined) is skipped.
    assert km_quantile_time([0, 1, 2], [1.0, math.nan, 0.3], 0.5, "lower", 1e-9) == 2.0


def test_median_ci_applies_the_tie_rule_to_each_band():
    """A hand-made step table whose lower band sits on 1/2 from 2 to 4 (drops at 6)
    and whose upper band sits on 1/2 from 6 (drops at 8)."""
    table = pd.DataFrame({"time": [0.0, 2, 4, 6, 8], "survival": [1, 0.8, 0.7, 0.6, 0.5],
                          "ci_lower": [1, 0.5, 0.5, 0.2, 0.1], "ci_upper": [1, 0.9, 0.8, 0.5, 0.4],
                          "at_risk": [5] * 5, "events": [0] * 5, "censored": [0] * 5})
    km = KaplanMeier(table)
    assert km_median_ci(km, "lower", 1e-9) == (2.0, 6.0)
    assert km_median_ci(km, "midpoint", 1e-9) == (4.0, 7.0)
    assert km_median_ci(km, "upper", 1e-9) == (6.0, 8.0)


def _six_responders():
    """Six wAIHA responders with the durations DUR / events EVT (months)."""
    rows = []
    for i, (dur, event) in enumerate(zip(DUR, EVT), start=1):
        row = dict.fromkeys(RESPONSE_COLUMNS)
        row.update(patient_id=f"R{i}", diagnosis="wAIHA", analysis_group="wAIHA", efficacy_set=True,
                   responder=True, best_response="PR", duration_months=float(dur), event=event,
                   ongoing=event == 0, ongoing_duration_months=float(dur) if event == 0 else None,
                   evans=False, acrocyanosis=False, acrocyanosis_response="", baseline_hb=7.0,
                   hb_change=3.0)
        rows.append(row)
    patients = pd.DataFrame([(f"R{i}", 50, "female", 1) for i in range(1, 7)],
                            columns=["patient_id", "age_at_first_dose", "sex", "prior_lines"])
    labs = pd.DataFrame(columns=["patient_id", "day", "analyte", "value"])
    aes = pd.DataFrame(columns=["patient_id", "grade"])
    return patients, pd.DataFrame(rows, columns=RESPONSE_COLUMNS), labs, aes


@pytest.mark.parametrize("transform", [None, "log-log", "log", "plain"])
def test_clinical_statistics_uses_the_configured_band(transform):
    """The CI of the KM median under each transform (None: key absent, log-log by
    default) equals the statsmodels-derived band's crossing of 1/2: log-log (2, NaN),
    log and plain (3, NaN) for these durations (see the by-hand test above)."""
    patients, responses, labs, aes = _six_responders()
    cfg = _cfg(statistics={"km_ci_transform": transform})
    if transform is None:
        del cfg["statistics"]["km_ci_transform"]
    stats, km = clinical_statistics(patients, responses, labs, aes, cfg)
    s = {(x.stat_id, x.group, x.statistic): x.value for x in stats}
    bands = _bands_from_statsmodels(DUR, EVT, transform or "log-log")
    lo, hi = _first_below_half(bands, 0), _first_below_half(bands, 1)
    assert lo == {None: 2.0, "log-log": 2.0, "log": 3.0, "plain": 3.0}[transform]
    assert s["dor_median_km", "wAIHA", "ci_lower"] == lo
    assert math.isnan(s["dor_median_km", "wAIHA", "ci_upper"]) and math.isnan(hi)
    assert list(km.index) == list(range(len(km)))  # one row per step, numbered afresh


@pytest.mark.parametrize("rule,expected", [("lower", 3.0), ("midpoint", 4.0), ("upper", 5.0)])
def test_clinical_statistics_tie_rule_reaches_the_median_ci(rule, expected):
    """Plain band at 50% (z = 0.6745): lower band at 3 is 2/3 - z (2/3) sqrt(1/12)
    = 0.537, within a tolerance of 0.05 of 1/2; it next falls below at 5
    (0.5 - z 0.5 sqrt(1/6) = 0.362). So the CI's lower end is 3, 4 or 5 by rule."""
    patients, responses, labs, aes = _six_responders()
    cfg = _cfg(statistics={"km_ci_transform": "plain", "ci_level": 0.5, "km_tie_tolerance": 0.05,
                           "km_tie_rule": rule})
    stats, _ = clinical_statistics(patients, responses, labs, aes, cfg)
    s = {(x.stat_id, x.group, x.statistic): x.value for x in stats}
    assert 2 / 3 - 0.6745 * (2 / 3) * math.sqrt(1 / 12) == pytest.approx(0.537, abs=1e-3)
    assert s["dor_median_km", "wAIHA", "ci_lower"] == expected
