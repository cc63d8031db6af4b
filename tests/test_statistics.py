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
    # A plain "first S <= 0.5" skips to the next event: the trap.
    assert next(t for t, s in zip(times, surv) if s <= 0.5) == 9


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
