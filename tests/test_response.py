"""Response criteria at their thresholds (STUDY.md section 2)."""

from dataclasses import replace

import pytest
import yaml

from aiha.response import (
    LabPoint,
    PatientCourse,
    ResponseCriteria,
    first_confirmed,
    meets_cold_response,
    meets_warm_cr,
    meets_warm_pr,
    months,
    score_response,
)
from conftest import ROOT

C = ResponseCriteria.from_config(yaml.safe_load((ROOT / "config.yaml").read_text())["response"])


def course(hbs, diagnosis="wAIHA", baseline=7.0, days=None, **kw):
    days = days or [7 * (i + 1) for i in range(len(hbs))]
    markers = kw.pop("markers", (1.6, 2.0))
    pts = [LabPoint(-3, baseline, 2.5, 3.0)] + [LabPoint(d, h, *markers) for d, h in zip(days, hbs)]
    return PatientCourse(diagnosis, tuple(pts), **kw)


def test_pr_or_versus_and():
    and_rule = replace(C, pr_rule="and")
    # Hb >= 10 without a 2 g/dL rise.
    assert meets_warm_pr(10.0, 9.0, C) and not meets_warm_pr(10.0, 9.0, and_rule)
    # A 2 g/dL rise below 10.
    assert meets_warm_pr(9.5, 7.5, C) and not meets_warm_pr(9.5, 7.5, and_rule)
    assert meets_warm_pr(10.0, 8.0, and_rule)
    assert not meets_warm_pr(9.99, 8.0, and_rule)
    assert not meets_warm_pr(9.99, 8.0 + 1e-9, C)


def test_cr_needs_normal_hemolysis_markers():
    assert meets_warm_cr(LabPoint(1, 12.0, 1.0, 1.2), C)
    assert not meets_warm_cr(LabPoint(1, 11.99, 1.0, 1.2), C)
    assert not meets_warm_cr(LabPoint(1, 13.0, 1.01, 1.0), C)
    assert not meets_warm_cr(LabPoint(1, 13.0, 0.9, 1.21), C)
    assert not meets_warm_cr(LabPoint(1, 13.0, None, 1.0), C)


def test_cold_response_rise_or_normal_hb():
    assert meets_cold_response(10.5, 8.5, C)
    assert not meets_cold_response(10.49, 8.5, C)
    assert meets_cold_response(12.0, 11.0, C)


def test_confirmation_needs_a_second_value_far_enough_apart():
    pts = [LabPoint(7, 11), LabPoint(10, 11), LabPoint(14, 11)]
    ok = lambda p: p.hb >= 10  # noqa: E731
    assert first_confirmed(pts, ok, 7) == 0
    assert first_confirmed(pts, ok, 8) is None
    assert first_confirmed([LabPoint(7, 11)], ok, 0) is None
    assert first_confirmed([LabPoint(7, 11), LabPoint(10, 9), LabPoint(20, 11)], ok, 7) is None


def test_single_value_response_is_not_confirmed():
    r = score_response(course([8.0, 10.5, 8.2, 8.1]), C)
    assert r.best_response == "NR" and not r.responder


def test_response_date_relapse_and_duration():
    hbs = [8.0, 11.0, 11.2, 11.1, 8.5, 8.4, 8.3]
    r = score_response(course(hbs), C)
    assert (r.best_response, r.response_day, r.relapse_day, r.relapse_reason) == ("PR", 14, 35, "hb")
    assert (r.duration_days, r.event, r.ongoing) == (21, 1, False)


def test_one_low_value_is_not_a_relapse():
    r = score_response(course([11.0, 11.2, 8.5, 11.1], cutoff_day=60), C)
    assert r.relapse_day is None and r.ongoing and r.duration_days == 60 - 7


def test_hb_after_transfusion_is_not_evaluable():
    hbs = [8.0, 11.0, 11.0, 8.0]
    assert score_response(course(hbs, transfusion_days=(10,)), C).best_response == "NR"
    assert score_response(course(hbs, transfusion_days=(3,)), C).best_response == "PR"


def test_transfusion_after_response_is_a_relapse_when_configured():
    hbs = [11.0, 11.2, 11.1, 11.0]
    r = score_response(course(hbs, transfusion_days=(22,), cutoff_day=100), C)
    assert (r.relapse_day, r.relapse_reason) == (22, "transfusion")
    r2 = score_response(course(hbs, transfusion_days=(22,), cutoff_day=100),
                        replace(C, relapse_on_transfusion=False))
    assert r2.relapse_day is None and r2.ongoing


def test_new_therapy_before_response_means_nonresponse():
    r = score_response(course([8.0, 8.5, 11.0, 11.2], new_therapy_days=(20,)), C)
    assert r.best_response == "NR"


def test_cr_and_nonanemic_cold():
    hbs = [12.5, 12.6, 12.4]
    assert score_response(course(hbs, markers=(0.8, 0.7)), C).best_response == "CR"
    cold = score_response(course([13.5, 13.6], diagnosis="cAIHA", baseline=12.9), C)
    assert cold.analysis_group == "cAIHA_nonanemic" and not cold.efficacy_set
    anemic = score_response(course([10.0, 10.1], diagnosis="cAIHA", baseline=8.0), C)
    assert anemic.best_response == "HR" and anemic.efficacy_set


def test_ongoing_duration_origin():
    hbs = [11.0, 11.2, 11.1]
    r = score_response(course(hbs, cutoff_day=200), C)
    assert r.ongoing_duration_days == 200 - 7
    r2 = score_response(course(hbs, cutoff_day=200), replace(C, ongoing_duration_origin="first_dose"))
    assert r2.ongoing_duration_days == 200


@pytest.mark.parametrize("days,expected", [(61, 2.0), (45, 1.0), (46, 2.0), (365, 12.0)])
def test_whole_month_rounding(days, expected):
    assert months(days, C) == expected
    assert months(days, replace(C, duration_rounding="exact")) == pytest.approx(days / 30.4375)
