"""Cytometry claim windows at their edges (thresholds and windows from config.yaml).

Helpers build population tables by hand (tests/test_cytometry_claims.py); each
expected value follows from the days and percentages written here.
"""

from __future__ import annotations

import pytest

from test_cytometry_claims import S, frame, function, phenotype, stats, v

LO, HI = S.depletion_window_days
PLO, PHI = S.post_window_days
THR = S.depletion_threshold_percent


def depletion_at(day: int):
    """Baseline 40% at day -3; a single depleted visit (below THR) on ``day``;
    every other post-dose visit clearly not depleted and outside the window."""
    return frame(phenotype("a", "P1", -3, 40.0), phenotype("b", "P1", day, THR / 2))


@pytest.mark.parametrize("day,depleted", [(LO - 1, None), (LO, 1), (HI, 1), (HI + 1, None)])
def test_depletion_window_edges(day, depleted):
    ard = stats(depletion_at(day))
    if depleted is None:
        # The only post-dose visit is outside the window: the patient has no
        # evaluable depletion and is not in the denominator.
        assert v(ard, "flow_depletion", "all", "denominator") == 0
    else:
        assert v(ard, "flow_depletion", "P1", "depleted") == depleted
        assert v(ard, "flow_depletion", "P1", "nadir_day") == day
        assert v(ard, "flow_depletion", "all", "numerator") == 1


def test_baseline_on_day_0_counts_and_is_the_last_pre_dose_value():
    cohort = frame(phenotype("a", "P1", -10, 20.0), phenotype("z", "P1", 0, 40.0),
                   phenotype("b", "P1", LO, THR / 2))
    assert v(stats(cohort), "flow_depletion", "P1", "baseline_percent") == 40.0


def subsets_with_post_visit_on(day: int):
    """Baseline naive 45 / EM 25; one post-dose visit on ``day`` with the naive share
    down and the EM share up by 2 x the stated shift."""
    shift = 2 * S.subset_shift_pp
    return frame(phenotype("a", "P1", -3, 40.0),
                 phenotype("b", "P1", day, 0.5, naive=45.0 - shift, em=25.0 + shift))


@pytest.mark.parametrize("day,counted", [(PLO - 1, False), (PLO, True), (PHI, True), (PHI + 1, False)])
def test_post_window_edges_for_subsets(day, counted):
    ard = stats(subsets_with_post_visit_on(day))
    assert v(ard, "flow_subsets", "all", "denominator") == (1 if counted else 0)
    if counted:
        assert v(ard, "flow_subsets", "P1", "naive_change_pp") == pytest.approx(-2 * S.subset_shift_pp)


@pytest.mark.parametrize("day,counted", [(PLO - 1, False), (PLO, True), (PHI, True), (PHI + 1, False)])
def test_post_window_edges_for_function(day, counted):
    f = 2 * S.function_fold_factor
    cohort = frame(phenotype("a", "P1", -3, 40.0), function("fa", "P1", -3, 60.0, 60.0),
                   function("fb", "P1", day, 60.0 / f, 60.0 / f))
    ard = stats(cohort)
    assert v(ard, "flow_function", "all", "denominator") == (1 if counted else 0)
