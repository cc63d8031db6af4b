"""Every rule of STUDY.md section 2 at its edge.

Each threshold, window and count is read from config.yaml (``C``); the lab courses
are built from those values, and each expected outcome is worked out by hand in
the comment beside it. A mutant that moves an edge by one (``<=`` to ``<``, a
window one day longer, a loop that stops one value early) changes at least one
assertion here.
"""

from __future__ import annotations

import math
from dataclasses import replace

import pytest
import yaml

from aiha.response import (
    LabPoint,
    PatientCourse,
    ResponseCriteria,
    baseline_hb,
    evaluable,
    first_confirmed,
    first_failing_run,
    meets_cold_response,
    meets_warm_cr,
    meets_warm_pr,
    months,
    score_response,
)
from conftest import ROOT

C = ResponseCriteria.from_config(yaml.safe_load((ROOT / "config.yaml").read_text())["response"])
W = C.transfusion_washout_days
M = C.confirmation_min_days
N = C.relapse_consecutive_values
# Hb values clearly on either side of every wAIHA criterion.
BASE = C.pr_hb_g_dl - C.pr_rise_g_dl - 1.0  # anemic; a PR needs pr_hb or base + rise
GOOD = C.pr_hb_g_dl + 0.5  # PR by level and by rise (>= base + rise + 1.5); not CR level
BAD = BASE + 0.5  # no PR by level nor by rise


def course(points, diagnosis="wAIHA", baseline=BASE, **kw) -> PatientCourse:
    """Baseline at day -3, then (day, hb) points with raised hemolysis markers."""
    pts = [LabPoint(-3, baseline, 2.5, 3.0)] + [LabPoint(d, h, 1.6, 2.0) for d, h in points]
    return PatientCourse(diagnosis, tuple(pts), **kw)


def days(points) -> list[int]:
    return [p.day for p in points]


def test_config_values_leave_room_for_these_courses():
    # The courses below assume a washout and a confirmation of at least one day,
    # a relapse rule of at least one value, and a PR level above the rise.
    assert W >= 1 and M >= 1 and N >= 1 and BASE > 0
    assert C.pr_rule == "or" and C.confirmation_reading == "span"


# ------------------------------------------------------------ criteria at equality


def test_pr_level_and_rise_at_equality():
    # Exactly at the level (rise short of the threshold) and exactly at the rise
    # (level short): both count under "or", neither alone under "and".
    lvl, rise = C.pr_hb_g_dl, C.pr_rise_g_dl
    base = lvl - rise + 0.5  # level reached with a rise of rise - 0.5
    assert meets_warm_pr(lvl, base, C)
    assert not meets_warm_pr(lvl - 0.01, base, C)
    low = 6.5  # 6.5 + rise is exact in binary floating point for rise = 2.0
    assert meets_warm_pr(low + rise, low, C) and low + rise < lvl
    assert not meets_warm_pr(low + rise - 0.01, low, C)
    and_rule = replace(C, pr_rule="and")
    assert not meets_warm_pr(lvl, base, and_rule)
    assert not meets_warm_pr(low + rise, low, and_rule)
    assert meets_warm_pr(lvl, lvl - rise, and_rule)  # both exactly at their threshold
    assert not meets_warm_pr(lvl - 0.01, lvl - rise - 0.01, and_rule)


def test_cr_at_equality_of_each_marker():
    cr, ldh, bili = C.cr_hb_g_dl, C.ldh_uln_multiple, C.bilirubin_uln_mg_dl
    assert meets_warm_cr(LabPoint(1, cr, ldh, bili), C)
    assert not meets_warm_cr(LabPoint(1, cr - 0.01, ldh, bili), C)
    assert not meets_warm_cr(LabPoint(1, cr, ldh + 0.01, bili), C)
    assert not meets_warm_cr(LabPoint(1, cr, ldh, bili + 0.01), C)
    assert not meets_warm_cr(LabPoint(1, cr, None, bili), C)
    assert not meets_warm_cr(LabPoint(1, cr, ldh, None), C)


def test_cold_response_at_equality():
    rise, normal = C.cold_rise_g_dl, C.hb_normal_g_dl
    assert meets_cold_response(6.5 + rise, 6.5, C)  # rise exactly, far below normal
    assert not meets_cold_response(6.5 + rise - 0.01, 6.5, C)
    assert meets_cold_response(normal, normal - 0.5, C)  # normal exactly, small rise
    assert not meets_cold_response(normal - 0.01, normal - 0.5, C)


def test_nonanemic_cut_off_at_equality():
    # STUDY.md: baseline Hb >= anemia_hb is non-anemic, outside the efficacy set.
    at = score_response(course([(7, C.anemia_hb_g_dl + 1), (14, C.anemia_hb_g_dl + 1)],
                               diagnosis="cAIHA", baseline=C.anemia_hb_g_dl), C)
    assert (at.analysis_group, at.efficacy_set, at.best_response) == ("cAIHA_nonanemic", False, "NE")
    below = score_response(course([(7, C.anemia_hb_g_dl + 1), (7 + M, C.anemia_hb_g_dl + 1)],
                                  diagnosis="cAIHA", baseline=C.anemia_hb_g_dl - 0.01), C)
    # Below the cut-off: anemic, and Hb at the normal range on two values M days
    # apart is a confirmed Hb response from day 7.
    assert (below.analysis_group, below.efficacy_set, below.best_response) == ("cAIHA", True, "HR")
    assert below.response_day == 7
    # The max Hb of a non-anemic patient is still reported (Hb change claim).
    assert at.max_hb == C.anemia_hb_g_dl + 1


# ------------------------------------------------------------ baseline and day 0


def test_baseline_is_the_last_value_on_or_before_day_0():
    pts = [LabPoint(-10, 6.0), LabPoint(0, 7.5), LabPoint(-3, 6.8), LabPoint(1, 9.9)]
    assert baseline_hb(pts) == 7.5  # day 0 counts; day 1 does not
    assert baseline_hb([LabPoint(-10, 6.0), LabPoint(-3, 6.8), LabPoint(1, 9.9)]) == 6.8
    with pytest.raises(ValueError, match="day 0"):
        baseline_hb([LabPoint(1, 9.9)])


def test_day_0_is_baseline_not_a_response_value():
    # Hb at day 0 is the baseline and is not evaluable; the first evaluable value
    # is day 1.
    c = course([(0, GOOD), (1, GOOD), (1 + M, GOOD)], cutoff_day=400)
    assert days(evaluable(c, W)) == [1, 1 + M]
    r = score_response(c, C)
    assert (r.baseline_hb, r.response_day) == (GOOD, 1)
    # With baseline GOOD the rise is 0, but GOOD >= pr_hb: still a PR by level.
    assert r.best_response == "PR"


def test_a_day_0_value_does_not_confirm_a_response():
    # Responding on day 0 and day M only: day 0 is not evaluable, so one
    # responding value remains: no response.
    r = score_response(course([(0, GOOD), (M, GOOD)], cutoff_day=400), C)
    assert r.best_response == "NR" and r.response_day is None


# ------------------------------------------------------------ transfusion washout


@pytest.mark.parametrize("t", [10, 31])
def test_washout_edges(t):
    pts = [(t - 1, GOOD), (t, GOOD), (t + 1, GOOD), (t + W - 1, GOOD), (t + W, GOOD),
           (t + W + 1, GOOD), (t + W + 2, GOOD)]
    c = course(sorted(set(pts)), transfusion_days=(t,), cutoff_day=400)
    # Excluded: t < day <= t + W. The transfusion day itself and t + W + 1 count.
    assert days(evaluable(c, W)) == [t - 1, t, t + W + 1, t + W + 2]


def test_response_starting_right_after_the_washout():
    t = 10
    pts = [(t + W, GOOD), (t + W + 1, GOOD), (t + W + 1 + M, GOOD)]
    r = score_response(course(pts, transfusion_days=(t,), cutoff_day=400), C)
    # t + W is inside the washout; the run starts at t + W + 1, confirmed M days later.
    assert r.response_day == t + W + 1 and r.best_response == "PR"
    # The transfusion came before the response: not a relapse.
    assert r.relapse_day is None and r.ongoing


def test_hb_on_the_transfusion_day_counts():
    # Hb drawn on the day of the transfusion (before it) is evaluable: it starts the
    # run; the next evaluable value is t + W + 1 (>= M days later).
    t = 20
    assert W + 1 >= M
    pts = [(t, GOOD), (t + W + 1, GOOD)]
    r = score_response(course(pts, transfusion_days=(t,), cutoff_day=400), C)
    assert r.response_day == t and r.best_response == "PR"


def test_hb_in_the_washout_is_not_max_hb():
    t = 10
    pts = [(t + 1, 15.0), (t + W + 1, BAD)]
    r = score_response(course(pts, transfusion_days=(t,), cutoff_day=400), C)
    assert r.max_hb == BAD and r.best_response == "NR"


def test_two_transfusions_each_have_their_washout():
    t1, t2 = 4, 4 + 3 * W
    pts = [(t1 + 1, GOOD), (t1 + W, GOOD), (t1 + W + 1, GOOD), (t2, GOOD), (t2 + 1, GOOD),
           (t2 + W, GOOD), (t2 + W + 1, GOOD)]
    c = course(pts, transfusion_days=(t1, t2), cutoff_day=400)
    assert days(evaluable(c, W)) == [t1 + W + 1, t2, t2 + W + 1]


# ------------------------------------------------------------ cut-off


def test_values_after_the_data_cutoff_are_ignored():
    cut = 50
    c = course([(cut - M, GOOD), (cut, GOOD), (cut + 1, BAD), (cut + 2, BAD)], cutoff_day=cut)
    assert days(evaluable(c, W)) == [cut - M, cut]
    r = score_response(c, C)
    # Response confirmed on [cut - M, cut]; the later non-responding values fall
    # after the cut-off: ongoing, censored at the cut-off.
    assert (r.response_day, r.relapse_day, r.ongoing) == (cut - M, None, True)
    assert (r.duration_days, r.event) == (M, 0)


def test_transfusion_on_the_cutoff_day_is_a_relapse_after_it_is_not():
    pts = [(7, GOOD), (7 + M, GOOD), (7 + 2 * M, GOOD)]
    cut = 100
    on = score_response(course(pts, transfusion_days=(cut,), cutoff_day=cut), C)
    assert (on.relapse_day, on.relapse_reason, on.duration_days, on.event) == (cut, "transfusion", cut - 7, 1)
    after = score_response(course(pts, transfusion_days=(cut + 1,), cutoff_day=cut), C)
    assert after.relapse_day is None and after.ongoing and after.duration_days == cut - 7


def test_transfusion_on_the_response_day_is_not_a_relapse():
    pts = [(7, GOOD), (7 + W + 1, GOOD), (7 + 2 * W + 2, GOOD)]
    r = score_response(course(pts, transfusion_days=(7,), cutoff_day=400), C)
    assert r.response_day == 7 and r.relapse_day is None and r.ongoing


# ------------------------------------------------------------ confirmation


def test_confirmation_at_exactly_the_minimum_interval():
    ok = lambda p: p.hb >= C.pr_hb_g_dl  # noqa: E731
    at = [LabPoint(7, GOOD), LabPoint(7 + M, GOOD)]
    short = [LabPoint(7, GOOD), LabPoint(7 + M - 1, GOOD)]
    for reading in ("span", "pair"):
        assert first_confirmed(at, ok, M, reading) == 0
        assert first_confirmed(short, ok, M, reading) is None


def test_span_and_pair_readings_differ():
    ok = lambda p: p.hb >= C.pr_hb_g_dl  # noqa: E731
    # Three responding values 0, M - 1, M days from the first: the run spans M days
    # (span: confirmed at 0) but no two consecutive values are M apart (pair: none).
    pts = [LabPoint(7, GOOD), LabPoint(7 + M - 1, GOOD), LabPoint(7 + M, GOOD)]
    assert first_confirmed(pts, ok, M, "span") == 0
    assert first_confirmed(pts, ok, M, "pair") is None
    # A non-responding value inside the span breaks it; a pair further on counts.
    broken = [LabPoint(7, GOOD), LabPoint(8, BAD), LabPoint(7 + M, GOOD), LabPoint(7 + 2 * M, GOOD)]
    assert first_confirmed(broken, ok, M, "span") == 2
    assert first_confirmed(broken, ok, M, "pair") == 2
    # Pair: the second value must respond too.
    assert first_confirmed([LabPoint(7, GOOD), LabPoint(7 + M, BAD)], ok, M, "pair") is None
    # The last value alone never confirms.
    assert first_confirmed([LabPoint(7, BAD), LabPoint(7 + M, GOOD)], ok, 0, "pair") is None
    with pytest.raises(ValueError, match="reading"):
        first_confirmed(pts, ok, M, "triple")


def test_confirmation_of_zero_days_needs_a_second_value():
    ok = lambda p: p.hb >= C.pr_hb_g_dl  # noqa: E731
    assert first_confirmed([LabPoint(7, GOOD)], ok, 0) is None
    assert first_confirmed([LabPoint(7, GOOD), LabPoint(8, GOOD)], ok, 0) == 0


def test_pair_reading_through_scoring():
    pts = [(7, GOOD), (7 + M - 1, GOOD), (7 + M, GOOD), (7 + M + 1, BAD), (7 + M + 2, BAD)]
    span = score_response(course(pts, cutoff_day=400), C)
    pair = score_response(course(pts, cutoff_day=400), replace(C, confirmation_reading="pair"))
    assert (span.best_response, span.response_day) == ("PR", 7)
    # After the response at 7, the first N non-responding consecutive values start at 7 + M + 1.
    assert span.relapse_day == (7 + M + 1 if N <= 2 else None)
    assert pair.best_response == "NR"


def test_cr_needs_its_own_confirmation():
    cr = C.cr_hb_g_dl
    # PR confirmed on 7 .. 7 + M; CR level only on day 7 + M (one value): best PR.
    pts = [LabPoint(-3, BASE, 2.5, 3.0), LabPoint(7, GOOD, 1.6, 2.0),
           LabPoint(7 + M, cr, C.ldh_uln_multiple, C.bilirubin_uln_mg_dl)]
    assert score_response(PatientCourse("wAIHA", tuple(pts), cutoff_day=400), C).best_response == "PR"
    pts.append(LabPoint(7 + 2 * M, cr, C.ldh_uln_multiple, C.bilirubin_uln_mg_dl))
    r = score_response(PatientCourse("wAIHA", tuple(pts), cutoff_day=400), C)
    # CR confirmed from 7 + M; the response date is still the first PR value.
    assert (r.best_response, r.response_day) == ("CR", 7)


# ------------------------------------------------------------ relapse


def responding_then(tail: list[float], start: int = 7) -> list[tuple[int, float]]:
    """Responding values at start, start + M, then ``tail`` every M days."""
    return [(start + k * M, h) for k, h in enumerate([GOOD, GOOD] + tail)]


def test_relapse_on_the_last_values():
    # The N non-responding values are the last N of the series: relapse at the
    # first of them (day 7 + 2M).
    pts = responding_then([BAD] * N)
    r = score_response(course(pts, cutoff_day=400), C)
    assert (r.relapse_day, r.relapse_reason, r.event) == (7 + 2 * M, "hb", 1)
    assert r.duration_days == 2 * M and not r.ongoing


def test_fewer_failing_values_than_the_rule_at_the_end_is_not_a_relapse():
    pts = responding_then([BAD] * (N - 1))
    r = score_response(course(pts, cutoff_day=400), C)
    assert r.relapse_day is None and r.ongoing and r.duration_days == 400 - 7


@pytest.mark.parametrize("n", [1, 3])
def test_relapse_consecutive_values_other_than_the_default(n):
    c = replace(C, relapse_consecutive_values=n)
    # GOOD, GOOD, BAD, GOOD, BAD, BAD, BAD: with n = 1 the first BAD (day 7 + 2M)
    # is a relapse; with n = 3 only the last three (from day 7 + 4M).
    pts = responding_then([BAD, GOOD, BAD, BAD, BAD])
    r = score_response(course(pts, cutoff_day=400), c)
    assert r.relapse_day == {1: 7 + 2 * M, 3: 7 + 4 * M}[n]
    # With n = 3, two failing values at the end are not enough.
    r2 = score_response(course(responding_then([BAD, GOOD, BAD, BAD]), cutoff_day=400), c)
    assert (r2.relapse_day is None) == (n == 3)


def test_first_failing_run_window_edges():
    fail = lambda p: p.hb >= C.pr_hb_g_dl  # noqa: E731  (predicate: "still responding")
    pts = [LabPoint(d, h) for d, h in [(1, GOOD), (2, GOOD), (3, BAD), (4, BAD)]]
    assert first_failing_run(pts, fail, 2, 1) == 2  # the run is the last two values
    assert first_failing_run(pts, fail, 3, 1) is None
    assert first_failing_run(pts, fail, 1, 3) == 3  # start is honoured
    assert first_failing_run(pts[:3], fail, 1, 2) == 2


def test_relapse_by_hb_counts_values_not_days():
    # The failing values after a washout: a transfusion after the response is a
    # relapse at the transfusion day, earlier than the Hb relapse.
    pts = responding_then([BAD] * N)
    t = 7 + M + 1
    r = score_response(course(pts, transfusion_days=(t,), cutoff_day=400), C)
    assert (r.relapse_day, r.relapse_reason) == (t, "transfusion")
    r2 = score_response(course(pts, transfusion_days=(t,), cutoff_day=400),
                        replace(C, relapse_on_transfusion=False))
    # Without transfusion relapses: values in (t, t + W] are not evaluable; the Hb
    # relapse is at the first of the N failing values outside the washout.
    failing = [d for d, h in pts if h == BAD and not (t < d <= t + W)]
    expected = failing[0] if len(failing) >= N else None
    assert r2.relapse_day == expected


# ------------------------------------------------------------ new AIHA therapy


def test_new_therapy_day_is_not_evaluable():
    s = 30
    c = course([(s - M, GOOD), (s - 1, BAD), (s, GOOD), (s + M, GOOD)], new_therapy_days=(s,),
               cutoff_day=400)
    # Values on or after the new therapy are not evaluable.
    assert days(evaluable(c, W)) == [s - M, s - 1]
    # The only responding value before it is not confirmed: nonresponse.
    assert score_response(c, C).best_response == "NR"


def test_new_therapy_after_response_is_a_relapse_on_its_day():
    s = 7 + 2 * M
    pts = responding_then([GOOD, GOOD])  # still responding on and after day s
    r = score_response(course(pts, new_therapy_days=(s,), cutoff_day=400), C)
    assert (r.relapse_day, r.relapse_reason, r.duration_days, r.event) == (s, "new_therapy", 2 * M, 1)
    assert r.new_therapy_day == s


def test_relapse_on_new_therapy_false_censors_at_the_new_therapy():
    s = 7 + 2 * M
    c = replace(C, relapse_on_new_therapy=False)
    r = score_response(course(responding_then([GOOD, GOOD]), new_therapy_days=(s,), cutoff_day=400), c)
    # No relapse: censored (event 0) when the new therapy starts, not ongoing.
    assert (r.relapse_day, r.ongoing, r.duration_days, r.event) == (None, False, 2 * M, 0)
    assert r.ongoing_duration_days is None and r.responder
    # An Hb relapse before the new therapy is still a relapse.
    pts = responding_then([BAD] * N + [GOOD])
    s2 = 7 + (2 + N) * M
    r2 = score_response(course(pts, new_therapy_days=(s2,), cutoff_day=400), c)
    assert (r2.relapse_day, r2.relapse_reason, r2.event) == (7 + 2 * M, "hb", 1)


def test_new_therapy_on_the_response_day_or_after_cutoff():
    pts = responding_then([GOOD])
    after = score_response(course(pts, new_therapy_days=(401,), cutoff_day=400), C)
    assert after.ongoing and after.relapse_day is None and after.duration_days == 400 - 7
    # Before the first dose: not a new therapy of the trial (the cleaned table
    # keeps only day > 0); on the cut-off day it is a relapse.
    on_cut = score_response(course(pts, new_therapy_days=(400,), cutoff_day=400), C)
    assert (on_cut.relapse_day, on_cut.relapse_reason) == (400, "new_therapy")
    with_c = replace(C, relapse_on_new_therapy=False)
    cens = score_response(course(pts, new_therapy_days=(400,), cutoff_day=400), with_c)
    assert (cens.duration_days, cens.event, cens.ongoing) == (400 - 7, 0, False)


def test_earliest_relapse_reason_wins():
    pts = responding_then([BAD] * N)
    hb_day = 7 + 2 * M
    # The new therapy starts the day after the last failing value: the Hb relapse
    # (first failing value) comes first.
    last_bad = hb_day + (N - 1) * M
    r = score_response(course(pts, new_therapy_days=(last_bad + 1,), cutoff_day=400), C)
    assert (r.relapse_day, r.relapse_reason) == (hb_day, "hb")
    # On the day of the last failing value, that value is no longer evaluable: the
    # Hb run is incomplete and the new therapy is the relapse.
    r1 = score_response(course(pts, new_therapy_days=(last_bad,), cutoff_day=400), C)
    assert (r1.relapse_day, r1.relapse_reason) == (last_bad, "new_therapy")
    r2 = score_response(course(pts, new_therapy_days=(hb_day - 1,), cutoff_day=400), C)
    assert (r2.relapse_day, r2.relapse_reason) == (hb_day - 1, "new_therapy")


# ------------------------------------------------------------ ongoing and months


def test_ongoing_duration_and_its_origin():
    pts = responding_then([GOOD])
    r = score_response(course(pts, cutoff_day=300), C)
    assert (r.ongoing, r.duration_days, r.event, r.ongoing_duration_days) == (True, 293, 0, 293)
    r2 = score_response(course(pts, cutoff_day=300), replace(C, ongoing_duration_origin="first_dose"))
    assert (r2.duration_days, r2.ongoing_duration_days) == (293, 300)


def test_nonresponder_fields():
    r = score_response(course([(7, BAD), (7 + M, BAD)], cutoff_day=300, new_therapy_days=(50,)), C)
    assert (r.best_response, r.responder, r.response_day, r.duration_days, r.event) == (
        "NR", False, None, None, None)
    assert (r.new_therapy_day, r.efficacy_set, r.analysis_group, r.max_hb) == (50, True, "wAIHA", BAD)
    with pytest.raises(ValueError, match="diagnosis"):
        score_response(course([(7, BAD)], diagnosis="PNH"), C)


def test_whole_months_round_half_up_at_the_edge():
    dpm = C.days_per_month
    below, above = math.floor(1.5 * dpm), math.ceil(1.5 * dpm)
    assert below / dpm < 1.5 < above / dpm
    assert months(below, C) == 1.0 and months(above, C) == 2.0
    assert months(0, C) == 0.0
    assert months(round(12 * dpm), C) == 12.0
    exact = replace(C, duration_rounding="exact")
    assert months(below, exact) == below / dpm


# ------------------------------------------------------------ the cohort tables


def test_score_cohort_from_cleaned_tables():
    """Two patients in the cleaned-table layout; every column worked out by hand."""
    import datetime as dt

    import pandas as pd

    from aiha.response import RESPONSE_COLUMNS, score_cohort

    patients = pd.DataFrame([
        # P2 listed first: rows come out sorted by patient_id.
        {"patient_id": "P2", "site": "VIE", "diagnosis": "cAIHA", "first_dose_date": "2023-01-01",
         "evans": False, "acrocyanosis": True, "acrocyanosis_response": "True"},
        {"patient_id": "P1", "site": "AMS", "diagnosis": "wAIHA", "first_dose_date": "2023-01-01",
         "evans": True, "acrocyanosis": False, "acrocyanosis_response": ""},
    ])
    hb1 = [(-3, BASE), (7, GOOD), (7 + M, GOOD), (7 + 2 * M, BAD), (7 + 3 * M, BAD)]
    labs = pd.DataFrame(
        [{"patient_id": "P1", "day": d, "analyte": "hb", "value": h} for d, h in hb1]
        + [{"patient_id": "P1", "day": -3, "analyte": "ldh", "value": 2.5},
           {"patient_id": "P1", "day": 7, "analyte": "bilirubin", "value": 2.0},
           # LDH measured on a day without Hb: no lab point.
           {"patient_id": "P1", "day": 8, "analyte": "ldh", "value": 1.0}]
        + [{"patient_id": "P2", "day": d, "analyte": "hb", "value": h}
           for d, h in [(-3, 8.0), (10, 8.5)]])
    transfusions = pd.DataFrame([{"patient_id": "P2", "day": 5, "date": "2023-01-06"}])
    treatments = pd.DataFrame([
        {"patient_id": "P1", "day": 0, "date": "2023-01-01", "treatment": "daratumumab"},
        {"patient_id": "P1", "day": 7, "date": "2023-01-08", "treatment": "daratumumab"},
        # Before the first dose: not a new therapy of the trial.
        {"patient_id": "P1", "day": -30, "date": "2022-12-02", "treatment": "aiha_therapy"},
        {"patient_id": "P2", "day": 0, "date": "2023-01-01", "treatment": "daratumumab"},
        {"patient_id": "P2", "day": 60, "date": "2023-03-02", "treatment": "aiha_therapy"},
    ])
    cutoff = dt.date(2023, 12, 31)
    out = score_cohort(patients, labs, transfusions, treatments, cutoff, C)
    assert list(out.columns) == RESPONSE_COLUMNS and list(out["patient_id"]) == ["P1", "P2"]
    p1, p2 = out.iloc[0].to_dict(), out.iloc[1].to_dict()
    # P1: PR from day 7, relapse at the first of the two low values (7 + 2M).
    assert (p1["best_response"], p1["responder"], p1["response_date"]) == ("PR", True, "2023-01-08")
    relapse = dt.date(2023, 1, 1) + dt.timedelta(days=7 + 2 * M)
    assert (p1["relapse_date"], p1["relapse_reason"], p1["event"]) == (relapse.isoformat(), "hb", 1)
    assert (p1["duration_days"], p1["duration_months"]) == (2 * M, months(2 * M, C))
    assert (p1["baseline_hb"], p1["max_hb"], p1["hb_change"]) == (BASE, GOOD, round(GOOD - BASE, 6))
    assert (p1["n_doses"], p1["last_dose_date"], p1["new_therapy_date"]) == (2, "2023-01-08", "")
    last = dt.date(2023, 1, 1) + dt.timedelta(days=7 + 3 * M)
    assert p1["last_followup_date"] == last.isoformat()
    assert (p1["evans"], p1["acrocyanosis"], p1["site"], p1["diagnosis"]) == (True, False, "AMS", "wAIHA")
    assert (p1["ongoing"], p1["ongoing_duration_months"]) == (False, None)
    # P2: cAIHA, one post-dose Hb (day 10, outside the washout of day 5 only if
    # 10 > 5 + W): no confirmed response either way; new therapy on day 60.
    assert (p2["analysis_group"], p2["efficacy_set"], p2["best_response"]) == ("cAIHA", True, "NR")
    assert p2["new_therapy_date"] == "2023-03-02" and p2["n_doses"] == 1
    assert (p2["max_hb"] == 8.5) if 10 > 5 + W else pd.isna(p2["max_hb"])
    assert p2["acrocyanosis_response"] == "True" and p2["relapse_date"] == "" and p2["response_date"] == ""
    assert str(out["duration_days"].dtype) == "Int64" and str(out["event"].dtype) == "Int64"


def test_score_cohort_names_the_patient_without_a_baseline():
    import datetime as dt

    import pandas as pd

    from aiha.response import score_cohort

    patients = pd.DataFrame([{"patient_id": "PX", "site": "VIE", "diagnosis": "wAIHA",
                              "first_dose_date": "2023-01-01", "evans": False,
                              "acrocyanosis": False, "acrocyanosis_response": ""}])
    labs = pd.DataFrame([{"patient_id": "PX", "day": 5, "analyte": "hb", "value": 9.0}])
    empty_tx = pd.DataFrame(columns=["patient_id", "day", "date"])
    trt = pd.DataFrame([{"patient_id": "PX", "day": 0, "date": "2023-01-01", "treatment": "daratumumab"}])
    with pytest.raises(ValueError, match="patient PX: no Hb on or before"):
        score_cohort(patients, labs, empty_tx, trt, dt.date(2023, 6, 30), C)


# ------------------------------------------------------------ whole results


def test_every_field_of_each_kind_of_result():
    """Each return path of score_response, compared field by field with a result
    written out by hand (not only the fields the other tests look at)."""
    from aiha.response import ResponseResult

    nonanemic = score_response(course([(7, 13.0)], diagnosis="cAIHA", baseline=C.anemia_hb_g_dl,
                                      new_therapy_days=(50,)), C)
    assert nonanemic == ResponseResult("cAIHA_nonanemic", False, C.anemia_hb_g_dl, 13.0, "NE", False,
                                       None, None, "", False, None, None, None, 50)
    nr = score_response(course([(7, BAD), (7 + M, BAD)], new_therapy_days=(60,), cutoff_day=300), C)
    assert nr == ResponseResult("wAIHA", True, BASE, BAD, "NR", False, None, None, "", False,
                                None, None, None, 60)
    pts = responding_then([BAD] * N)
    relapse = score_response(course(pts, new_therapy_days=(350,), cutoff_day=400), C)
    assert relapse == ResponseResult("wAIHA", True, BASE, GOOD, "PR", True, 7, 7 + 2 * M, "hb", False,
                                     2 * M, 1, None, 350)
    s = 7 + 2 * M
    censored = score_response(course(responding_then([GOOD]), new_therapy_days=(s,), cutoff_day=400),
                              replace(C, relapse_on_new_therapy=False))
    assert censored == ResponseResult("wAIHA", True, BASE, GOOD, "PR", True, 7, None, "", False,
                                      2 * M, 0, None, s)
    ongoing = score_response(course(responding_then([GOOD]), new_therapy_days=(401,), cutoff_day=400), C)
    assert ongoing == ResponseResult("wAIHA", True, BASE, GOOD, "PR", True, 7, None, "", True,
                                     400 - 7, 0, 400 - 7, 401)
    cold = score_response(course([(7, 11.0), (7 + M, 11.0)], diagnosis="cAIHA", baseline=8.0,
                                 cutoff_day=100), C)
    assert cold == ResponseResult("cAIHA", True, 8.0, 11.0, "HR", True, 7, None, "", True,
                                  93, 0, 93, None)


def test_cr_under_the_pair_reading():
    # CR level on 7 + M - 1 and 7 + M (1 day apart), PR from 7: the span reading
    # confirms the CR from 7 + M - 1 only with a later CR value M days on.
    cr = (C.cr_hb_g_dl, C.ldh_uln_multiple, C.bilirubin_uln_mg_dl)
    pts = [LabPoint(-3, BASE, 2.5, 3.0), LabPoint(7, GOOD, 1.6, 2.0), LabPoint(7 + M - 1, *cr),
           LabPoint(7 + M, *cr), LabPoint(7 + 2 * M, *cr)]
    c = PatientCourse("wAIHA", tuple(pts), cutoff_day=400)
    assert score_response(c, C).best_response == "CR"  # span 7+M-1 .. 7+2M
    pair = replace(C, confirmation_reading="pair")
    # Pair: 7+M-1 -> 7+M is 1 day; 7+M -> 7+2M is M days, both CR: CR.
    assert score_response(c, pair).best_response == "CR"
    short = PatientCourse("wAIHA", tuple(pts[:4]), cutoff_day=400)
    # Without the last value: span reading has no CR value M days after 7+M-1; PR.
    assert score_response(short, C).best_response == "PR"
    # Pair: consecutive values M - 1 and 1 day apart: not even a confirmed PR.
    assert score_response(short, pair).best_response == "NR"


# ------------------------------------------- the cohort tables: CR, ongoing, day 1


def _frame_row(out, pid):
    return out[out["patient_id"] == pid].iloc[0].to_dict()


def _assert_row(got, expected):
    assert set(got) == set(expected)
    for key, value in expected.items():
        if value is None:
            assert got[key] is None or (not isinstance(got[key], str) and math.isnan(got[key])), key
        else:
            assert got[key] == value, (key, got[key], value)


def test_score_cohort_cr_ongoing_and_a_new_therapy_on_day_1():
    """P3: CR levels (Hb, LDH and bilirubin at their limits) on days 7, 7 + M,
    7 + 2M, no relapse: a CR, ongoing at the cut-off (an AIHA therapy on day 0 is
    not a new therapy). P4: responding Hb from day 7,
    but a new AIHA therapy on day 1: nothing is evaluable after it, so NR."""
    import datetime as dt

    import pandas as pd

    from aiha.response import score_cohort

    first = dt.date(2023, 1, 1)
    patients = pd.DataFrame([
        {"patient_id": "P3", "site": "LYO", "diagnosis": "wAIHA", "first_dose_date": "2023-01-01",
         "evans": False, "acrocyanosis": True, "acrocyanosis_response": ""},
        {"patient_id": "P4", "site": "VIE", "diagnosis": "wAIHA", "first_dose_date": "2023-01-01",
         "evans": True, "acrocyanosis": False, "acrocyanosis_response": ""},
    ])
    cr_days = [7, 7 + M, 7 + 2 * M]
    labs = pd.DataFrame(
        [{"patient_id": "P3", "day": -3, "analyte": a, "value": v}
         for a, v in (("hb", BASE), ("ldh", 2.5), ("bilirubin", 3.0))]
        + [{"patient_id": "P3", "day": d, "analyte": a, "value": v} for d in cr_days
           for a, v in (("hb", C.cr_hb_g_dl), ("ldh", C.ldh_uln_multiple),
                        ("bilirubin", C.bilirubin_uln_mg_dl))]
        + [{"patient_id": "P4", "day": d, "analyte": "hb", "value": h}
           for d, h in ((-3, BASE), (7, GOOD), (7 + M, GOOD))])
    transfusions = pd.DataFrame(columns=["patient_id", "day", "date"])
    treatments = pd.DataFrame([
        {"patient_id": "P3", "day": 0, "date": "2023-01-01", "treatment": "daratumumab"},
        {"patient_id": "P3", "day": 14, "date": "2023-01-15", "treatment": "daratumumab"},
        # An AIHA therapy given on the day of the first dose is background, not a new
        # therapy (new ones start after day 0): P3's course is unaffected.
        {"patient_id": "P3", "day": 0, "date": "2023-01-01", "treatment": "aiha_therapy"},
        {"patient_id": "P4", "day": 0, "date": "2023-01-01", "treatment": "daratumumab"},
        {"patient_id": "P4", "day": 1, "date": "2023-01-02", "treatment": "aiha_therapy"},
    ])
    cutoff = dt.date(2023, 12, 31)  # day 364
    out = score_cohort(patients, labs, transfusions, treatments, cutoff, C)
    day = lambda d: (first + dt.timedelta(days=d)).isoformat()  # noqa: E731
    # P3: response on day 7, ongoing to day 364: 357 days, from the response date
    # (ongoing_duration_origin "response" in config.yaml; asserted above).
    assert C.ongoing_duration_origin == "response"
    _assert_row(_frame_row(out, "P3"), {
        "patient_id": "P3", "site": "LYO", "diagnosis": "wAIHA", "analysis_group": "wAIHA",
        "efficacy_set": True, "first_dose_date": "2023-01-01", "last_followup_date": day(7 + 2 * M),
        "baseline_hb": BASE, "max_hb": C.cr_hb_g_dl, "hb_change": round(C.cr_hb_g_dl - BASE, 6),
        "best_response": "CR", "responder": True, "response_date": day(7), "relapse_date": "",
        "relapse_reason": "", "ongoing": True, "duration_days": 364 - 7,
        "duration_months": months(364 - 7, C), "event": 0,
        "ongoing_duration_months": months(364 - 7, C), "evans": False, "acrocyanosis": True,
        "acrocyanosis_response": "", "n_doses": 2, "last_dose_date": "2023-01-15",
        "new_therapy_date": "",
    })
    _assert_row(_frame_row(out, "P4"), {
        "patient_id": "P4", "site": "VIE", "diagnosis": "wAIHA", "analysis_group": "wAIHA",
        "efficacy_set": True, "first_dose_date": "2023-01-01", "last_followup_date": day(7 + M),
        "baseline_hb": BASE, "max_hb": None, "hb_change": None, "best_response": "NR",
        "responder": False, "response_date": "", "relapse_date": "", "relapse_reason": "",
        "ongoing": False, "duration_days": None, "duration_months": None, "event": None,
        "ongoing_duration_months": None, "evans": True, "acrocyanosis": False,
        "acrocyanosis_response": "", "n_doses": 1, "last_dose_date": "2023-01-01",
        "new_therapy_date": day(1),
    })


def test_score_cohort_cr_needs_the_markers_on_the_hb_days():
    """As P3 above, but bilirubin above its limit on day 7 + M and LDH missing on
    day 7 + 2M: the CR level holds on day 7 alone; PR (Hb stays at the CR level)."""
    import datetime as dt

    import pandas as pd

    from aiha.response import score_cohort

    patients = pd.DataFrame([{"patient_id": "P5", "site": "LYO", "diagnosis": "wAIHA",
                              "first_dose_date": "2023-01-01", "evans": False,
                              "acrocyanosis": False, "acrocyanosis_response": ""}])
    rows = [("hb", -3, BASE)]
    for d in (7, 7 + M, 7 + 2 * M):
        rows.append(("hb", d, C.cr_hb_g_dl))
    rows += [("ldh", 7, C.ldh_uln_multiple), ("bilirubin", 7, C.bilirubin_uln_mg_dl),
             ("ldh", 7 + M, C.ldh_uln_multiple), ("bilirubin", 7 + M, C.bilirubin_uln_mg_dl + 0.1),
             ("bilirubin", 7 + 2 * M, C.bilirubin_uln_mg_dl)]
    labs = pd.DataFrame([{"patient_id": "P5", "day": d, "analyte": a, "value": v} for a, d, v in rows])
    treatments = pd.DataFrame([{"patient_id": "P5", "day": 0, "date": "2023-01-01",
                                "treatment": "daratumumab"}])
    transfusions = pd.DataFrame(columns=["patient_id", "day", "date"])
    out = score_cohort(patients, labs, transfusions, treatments, dt.date(2023, 12, 31), C)
    assert out.iloc[0]["best_response"] == "PR"
    # The same course with the markers normal on all three days is a CR.
    fixed = labs.copy()
    fixed.loc[(fixed["analyte"] == "bilirubin") & (fixed["day"] == 7 + M), "value"] = C.bilirubin_uln_mg_dl
    fixed = pd.concat([fixed, pd.DataFrame([{"patient_id": "P5", "day": 7 + 2 * M, "analyte": "ldh",
                                             "value": C.ldh_uln_multiple}])], ignore_index=True)
    out = score_cohort(patients, fixed, transfusions, treatments, dt.date(2023, 12, 31), C)
    assert out.iloc[0]["best_response"] == "CR"


def test_cr_confirmed_by_span_but_not_by_pair():
    """CR level on 10, 10 + M - 1, 10 + M (consecutive gaps M - 1 and 1 day), then
    PR level on 10 + 2M. Span: the CR run from 10 reaches 10 + M: CR. Pair: no two
    consecutive CR values are M apart; 10 + M -> 10 + 2M (M days) confirms a PR."""
    cr = (C.cr_hb_g_dl, C.ldh_uln_multiple, C.bilirubin_uln_mg_dl)
    pts = [LabPoint(-3, BASE, 2.5, 3.0), LabPoint(7, GOOD, 1.6, 2.0), LabPoint(10, *cr),
           LabPoint(10 + M - 1, *cr), LabPoint(10 + M, *cr), LabPoint(10 + 2 * M, GOOD, 1.6, 2.0)]
    c = PatientCourse("wAIHA", tuple(pts), cutoff_day=400)
    assert score_response(c, C).best_response == "CR"
    assert score_response(c, replace(C, confirmation_reading="pair")).best_response == "PR"


def test_criteria_from_the_config_section():
    """from_config reads the scoring keys, ignores the others, and keeps the default
    reading when the key is absent; keys() lists the fields by name."""
    section = yaml.safe_load((ROOT / "config.yaml").read_text())["response"]
    assert ResponseCriteria.keys() == [
        "pr_rule", "pr_hb_g_dl", "pr_rise_g_dl", "cr_hb_g_dl", "bilirubin_uln_mg_dl",
        "ldh_uln_multiple", "cold_rise_g_dl", "hb_normal_g_dl", "anemia_hb_g_dl",
        "confirmation_min_days", "transfusion_washout_days", "relapse_consecutive_values",
        "relapse_on_transfusion", "relapse_on_new_therapy", "ongoing_duration_origin",
        "days_per_month", "duration_rounding", "confirmation_reading"]
    c = ResponseCriteria.from_config({**section, "acro_denominator": "x", "unrelated": 1})
    assert c == C and c.pr_hb_g_dl == section["pr_hb_g_dl"]
    without = {k: v for k, v in section.items() if k != "confirmation_reading"}
    assert ResponseCriteria.from_config({**without, "confirmation_reading": "pair"}).confirmation_reading == "pair"
    assert ResponseCriteria.from_config(without).confirmation_reading == "span"
    with pytest.raises(TypeError):
        ResponseCriteria.from_config({k: v for k, v in section.items() if k != "pr_rule"})
