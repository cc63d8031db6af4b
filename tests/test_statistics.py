"""Statistics: the KM median tie rule, and agreement with a second implementation."""

import math

import numpy as np
import pytest
from statsmodels.duration.survfunc import SurvfuncRight
from statsmodels.stats.proportion import proportion_confint

from aiha.statistics import clopper_pearson, crude_median, kaplan_meier, km_quantile_time

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
    # Curve ends on the flat segment: upper and midpoint are not defined.
    assert math.isnan(km_quantile_time([0, 5, 6], [1, 0.5, 0.5], 0.5, "upper", 1e-9))


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
