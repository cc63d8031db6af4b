"""Every config key reaches its use.

For each key of the config schemas (workflow/schemas/), a test sets a value other
than the shipped one and shows that what the key governs changes as worked out in
the test (by hand or by an independent library), through the same plumbing as the
workflow: the params a rule builds (:mod:`aiha.settings`, :mod:`aiha.clinical_plan`)
and the workflow's own scripts (:mod:`pipeline`). ``REACH`` names the test of each
key of ``config.schema.yaml``; ``tests/config_reach_cytometry_report.yaml`` those of
the ``cytometry`` and ``report`` sections. A key of the schema without an entry, or
an entry naming a test that does not exist, fails
:func:`test_every_schema_key_has_a_reach_test`: a new key needs its test.
"""

from __future__ import annotations

import ast
import math
from datetime import date, datetime, timedelta
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from scipy.stats import beta, norm

import pipeline as P
from aiha.cleaning.profiles import CleaningLimits
from aiha.response import LabPoint, PatientCourse, ResponseCriteria, months, score_response
from aiha.settings import qc_config, scoring_config, statistics_config
from conftest import ROOT

SCHEMAS = ROOT / "workflow" / "schemas"
THIS = "tests/test_config_reach.py"


def schema_leaves(schema: dict, prefix: str = "") -> list[str]:
    """Dotted paths of every property without sub-properties."""
    out = []
    for key, sub in (schema.get("properties") or {}).items():
        path = f"{prefix}.{key}" if prefix else key
        if isinstance(sub, dict) and sub.get("properties"):
            out += schema_leaves(sub, path)
        else:
            out.append(path)
    return out


def all_schema_keys() -> list[str]:
    top = yaml.safe_load((SCHEMAS / "config.schema.yaml").read_text(encoding="utf-8"))
    keys = [k for k in schema_leaves(top) if k not in ("cytometry", "report")]
    for section in ("cytometry", "report"):
        sub = yaml.safe_load((SCHEMAS / f"{section}.schema.yaml").read_text(encoding="utf-8"))
        keys += [f"{section}.{k}" for k in schema_leaves(sub)]
    return keys


# key -> tests (node ids) that set a non-default value and assert its effect.
REACH: dict[str, list[str]] = {
    "data.raw_dir": ["tests/test_cohort_shapes.py::test_warm_only_two_sites_as_a_site_export"],
    "data.generate_demo": ["tests/test_cohort_shapes.py::test_warm_only_two_sites_as_a_site_export"],
    "data.pseudonym_key_file": [
        "tests/test_cohort_shapes.py::test_warm_only_two_sites_as_a_site_export",
        f"{THIS}::test_the_pseudonym_key_reaches_the_cleaning"],
    "data.demo_spec": ["tests/test_discriminating.py::test_the_expectations_cover_every_variant_of_the_config"],
    "data.demo_multiplier": [f"{THIS}::test_the_demo_multiplier_replicates_the_cohort"],
    "data.site_profiles": [f"{THIS}::test_the_site_profiles_file_reaches_the_cleaning"],
    "data.data_cutoff": [
        "tests/test_invariance.py::test_a_record_on_the_cutoff_day_is_kept_and_one_a_day_later_is_dropped",
        "tests/test_invariance.py::test_moving_the_cutoff_past_every_record_changes_only_censored_durations"],
    "data.export_date": [f"{THIS}::test_the_export_date_reaches_the_cleaning"],
    **{f"cleaning.hard_limits.{k}": [f"{THIS}::test_a_hard_limit_reaches_the_cleaning"]
       for k in ("hb_g_dl", "bilirubin_mg_dl", "ldh_x_uln", "dose_mg", "transfusion_units")},
    **{f"cleaning.suspicious_limits.{k}": [f"{THIS}::test_a_suspicious_limit_reaches_the_cleaning"]
       for k in ("hb_g_dl", "bilirubin_mg_dl", "ldh_x_uln")},
    "cleaning.age_years": [f"{THIS}::test_the_age_range_reaches_the_cleaning"],
    "cleaning.sample_days_from_first_dose": [
        "tests/test_guardrails_cleaning.py::test_a_sample_collection_date_is_checked_like_a_clinical_date",
        f"{THIS}::test_the_sample_window_reaches_the_sample_sheet_rule"],
    **{f"response.{k}": [f"{THIS}::test_a_response_criterion_reaches_scoring"]
       for k in ResponseCriteria.keys()},
    "response.cold_rise_g_dl": [f"{THIS}::test_a_response_criterion_reaches_scoring",
                                f"{THIS}::test_scoring_params_reach_the_scoring_script"],
    "response.duration_rounding": [f"{THIS}::test_a_response_criterion_reaches_scoring",
                                   f"{THIS}::test_duration_settings_reach_the_analysis"],
    "response.days_per_month": [f"{THIS}::test_a_response_criterion_reaches_scoring",
                                f"{THIS}::test_duration_settings_reach_the_analysis"],
    "response.acro_denominator": [f"{THIS}::test_the_acrocyanosis_denominator_reaches_the_statistics"],
    "statistics.ci_level": [f"{THIS}::test_the_ci_level_reaches_every_interval"],
    "statistics.km_ci_transform": [f"{THIS}::test_the_band_transform_reaches_the_km_curve"],
    "statistics.km_tie_rule": [f"{THIS}::test_the_tie_rule_and_the_reported_median_reach_the_statistics"],
    "statistics.dor_median_method": [
        f"{THIS}::test_the_tie_rule_and_the_reported_median_reach_the_statistics"],
    "statistics.km_tie_tolerance": [f"{THIS}::test_the_tie_tolerance_reaches_the_km_median"],
    "statistics.landmark_months": [f"{THIS}::test_the_landmarks_reach_the_statistics"],
    "statistics.crude_median_max_censored_share": [
        f"{THIS}::test_the_censored_share_rule_reaches_the_crude_median"],
    "statistics.response_subgroups": [f"{THIS}::test_the_subgroup_variables_reach_the_statistics"],
    "safety.soc_map": [f"{THIS}::test_the_soc_map_reaches_adae_and_the_soc_rows"],
    "safety.treatment_emergent_days_after_last_dose": [
        f"{THIS}::test_the_treatment_emergent_window_reaches_adae_and_the_safety_rows"],
    "statistics.qc_tolerance": [f"{THIS}::test_the_qc_tolerance_reaches_the_library_cross_check",
                                "tests/test_qc_fails.py::test_r_comparison_tolerance_is_exact_on_both_sides"],
    "sensitivity.jobs": ["tests/test_config_reruns.py::test_new_primary_numbers_equal_the_matching_variant"],
    "sensitivity.variants": [
        "tests/test_config_reruns.py::test_new_primary_numbers_equal_the_matching_variant",
        "tests/test_sensitivity.py::test_key_statistics_of_the_primary_analysis_and_a_variant"],
    "audit.claims": ["tests/test_settings.py::test_make_audit_without_claims_says_so_and_exits_0",
                     "tests/test_audit_qc.py::test_audit_of_the_demo_passes_and_fails_on_a_changed_claim"],
    "adam.study_id": [f"{THIS}::test_the_study_id_reaches_every_dataset"],
    "report.transfusion_windows_days": [
        f"{THIS}::test_the_transfusion_windows_reach_the_content_statistics_script"],
    "qc.r_double_programming": [
        "tests/test_qc_r.py::test_switched_off_the_report_says_the_r_qc_did_not_run"],
}


def _test_functions(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    return {n.name for n in tree.body if isinstance(n, ast.FunctionDef)
            and n.name.startswith("test_")}


def test_every_schema_key_has_a_reach_test():
    other = ROOT / "tests" / "config_reach_cytometry_report.yaml"
    registry = {k: list(v) for k, v in REACH.items()}
    if other.exists():
        for key, tests in (yaml.safe_load(other.read_text(encoding="utf-8")) or {}).items():
            registry.setdefault(key, []).extend(tests or [])
    keys = all_schema_keys()
    assert len(keys) > 100
    missing = [k for k in keys if k not in registry]
    assert not missing, f"schema keys without a reach test: {missing}"
    stale = [k for k in registry if k not in keys]
    assert not stale, f"reach entries for keys the schema no longer has: {stale}"
    cache: dict[str, set[str]] = {}
    for key, node_ids in registry.items():
        assert node_ids, f"{key}: no test"
        for node in node_ids:
            file, _, name = node.partition("::")
            name = name.split("[")[0]
            if file not in cache:
                assert (ROOT / file).exists(), f"{key}: {file} does not exist"
                cache[file] = _test_functions(ROOT / file)
            assert name in cache[file], f"{key}: no test {name} in {file}"


# ------------------------------------------------------------------ the demo chain

@pytest.fixture(scope="module")
def exports() -> P.Exports:
    return P.demo_exports()


@pytest.fixture(scope="module")
def base(exports, tmp_path_factory) -> P.Outputs:
    return P.run(exports, tmp_path_factory.mktemp("reach-base"))


def _value(o: P.Outputs, stat: str, group: str, statistic: str) -> float:
    a = o.ard
    hit = a[(a["stat_id"] == stat) & (a["group"] == group) & (a["statistic"] == statistic)]
    assert len(hit) == 1, (stat, group, statistic)
    return float(hit["value"].iloc[0])


def _changed_stats(a: P.Outputs, b: P.Outputs) -> set[str]:
    m = a.ard.merge(b.ard, on=["stat_id", "group", "statistic"], how="outer")
    same = (m["value_x"] == m["value_y"]) | (m["value_x"].isna() & m["value_y"].isna())
    return set(m.loc[~same, "stat_id"])


def _same_clean(a: P.Outputs, b: P.Outputs) -> None:
    for name in P.CLEAN_TABLES:
        pd.testing.assert_frame_equal(a.clean[name], b.clean[name], obj=name)


def test_the_ci_level_reaches_every_interval(exports, base, tmp_path: Path):
    """At 80%: Clopper-Pearson bounds from the beta quantiles, by hand; the KM band's
    width from statsmodels' Greenwood standard error at z(0.90); nothing else moves
    but the KM median's CI."""
    from statsmodels.duration.survfunc import SurvfuncRight

    level = 0.8
    out = P.run(exports, tmp_path, P.config(statistics__ci_level=level))
    _same_clean(base, out)
    for stat, group in (("orr", "wAIHA"), ("hb_response", "cAIHA")):
        k = int(_value(out, stat, group, "numerator"))
        n = int(_value(out, stat, group, "denominator"))
        lo = beta.ppf((1 - level) / 2, k, n - k + 1) if k else 0.0
        hi = beta.ppf(1 - (1 - level) / 2, k + 1, n - k) if k < n else 1.0
        assert _value(out, stat, group, "ci_lower") == pytest.approx(lo, abs=1e-9)
        assert _value(out, stat, group, "ci_upper") == pytest.approx(hi, abs=1e-9)
        assert _value(base, stat, group, "ci_lower") < lo  # 95% is wider
    # ... and the other intervals: the landmark rates' and median follow-up's band, the
    # subgroups' Clopper-Pearson intervals.
    assert _changed_stats(base, out) <= {"orr", "hb_response", "dor_median_km", "dor_landmark",
                                         "followup_median", "resp_by_evansfl"}
    # The KM band (shipped transform: log): S * exp(-+ z se / S).
    tte = out.adam["ADTTE"]
    z = norm.ppf(1 - (1 - level) / 2)
    for group, curve in out.km.groupby("group"):
        d = tte[(tte["PARAMCD"] == "DOR") & (tte["ANLGRP"] == group)] if "ANLGRP" in tte else None
        if d is None or d.empty:
            continue
        sf = SurvfuncRight(d["AVAL"].astype(float).to_numpy(), 1 - d["CNSR"].astype(int).to_numpy())
        for t, s, se in zip(sf.surv_times, sf.surv_prob, sf.surv_prob_se):
            row = curve[curve["time_months"].astype(float) == t]
            if 0 < s < 1 and len(row):
                assert float(row["ci_lower"].iloc[0]) == pytest.approx(s * math.exp(-z * se / s),
                                                                       abs=1e-9)


def test_the_band_transform_reaches_the_km_curve(exports, base, tmp_path: Path):
    """``plain``: S -+ z se, clipped to [0, 1], with statsmodels' Greenwood se."""
    from statsmodels.duration.survfunc import SurvfuncRight

    out = P.run(exports, tmp_path, P.config(statistics__km_ci_transform="plain"))
    assert not out.km.equals(base.km)
    pd.testing.assert_frame_equal(out.km[["group", "time_months", "survival"]],
                                  base.km[["group", "time_months", "survival"]])
    z = norm.ppf(0.975)
    checked = 0
    tte = out.adam["ADTTE"]
    for group, curve in out.km.groupby("group"):
        d = tte[(tte["PARAMCD"] == "DOR") & (tte["ANLGRP"] == group)]
        sf = SurvfuncRight(d["AVAL"].astype(float).to_numpy(), 1 - d["CNSR"].astype(int).to_numpy())
        for t, s, se in zip(sf.surv_times, sf.surv_prob, sf.surv_prob_se):
            row = curve[curve["time_months"].astype(float) == t]
            if 0 < s < 1 and len(row):
                assert float(row["ci_lower"].iloc[0]) == pytest.approx(max(0.0, s - z * se), abs=1e-9)
                assert float(row["ci_upper"].iloc[0]) == pytest.approx(min(1.0, s + z * se), abs=1e-9)
                checked += 1
    assert checked >= 3


def _km_median_by_rule(curve: pd.DataFrame, rule: str) -> float:
    """The KM median from the printed curve: ``lower`` the first time with S <= 0.5."""
    assert rule == "lower"
    hit = curve[curve["survival"].astype(float) <= 0.5]
    return float(hit["time_months"].iloc[0]) if len(hit) else math.nan


def test_the_tie_rule_and_the_reported_median_reach_the_statistics(exports, base, tmp_path: Path):
    lower = P.run(exports, tmp_path / "lower", P.config(statistics__km_tie_rule="lower"))
    w = base.km[base.km["group"] == "wAIHA"]
    assert _value(lower, "dor_median_km", "wAIHA", "value") == _km_median_by_rule(w, "lower")
    # The shipped rule (R's) takes the midpoint of the flat segment at exactly 0.5.
    flat = w[w["survival"].astype(float) == 0.5]["time_months"].astype(float)
    after = w[w["survival"].astype(float) < 0.5]["time_months"].astype(float)
    assert _value(base, "dor_median_km", "wAIHA", "value") == (flat.min() + after.min()) / 2
    assert _changed_stats(base, lower) == {"dor_median_km"}
    km = P.run(exports, tmp_path / "km", P.config(statistics__dor_median_method="km"))
    assert (_value(km, "dor_median_reported", "wAIHA", "value")
            == _value(km, "dor_median_km", "wAIHA", "value"))
    assert (_value(base, "dor_median_reported", "wAIHA", "value")
            == _value(base, "dor_median_crude", "wAIHA", "value"))
    assert _changed_stats(base, km) == {"dor_median_reported"}


def test_the_tie_tolerance_reaches_the_km_median():
    """1001 responders with durations 1, 2, ..., 1001 months, every one an event:
    S(500) = 501/1001, 0.0005 above 0.5. Under the ``lower`` rule (R's rule has its
    own fixed tolerance) a tolerance of 0.001 counts that as exactly 0.5, so the
    median is 500; at 1e-9 it is 501, the first time S falls below 0.5."""
    from aiha.statistics import clinical_statistics

    n = 1001
    ids = [f"P{i:04d}" for i in range(n)]
    patients = pd.DataFrame({"patient_id": ids, "site": "AMS", "diagnosis": "wAIHA",
                             "sex": "female", "age_at_first_dose": 60, "prior_lines": 2,
                             "evans": False, "acrocyanosis": False,
                             "acrocyanosis_response": "", "first_dose_date": "2022-01-01"})
    durations = np.arange(1, n + 1) * 10  # days
    responses = pd.DataFrame({
        "patient_id": ids, "site": "AMS", "diagnosis": "wAIHA", "analysis_group": "wAIHA",
        "efficacy_set": True, "first_dose_date": "2022-01-01", "last_followup_date": "2030-01-01",
        "baseline_hb": 7.0, "max_hb": 11.0, "hb_change": 4.0, "best_response": "PR",
        "responder": True, "response_date": "2022-02-01",
        "relapse_date": [(date(2022, 2, 1) + timedelta(days=int(d))).isoformat() for d in durations],
        "relapse_reason": "hb", "ongoing": False, "duration_days": durations,
        "duration_months": durations / 10.0, "event": 1, "ongoing_duration_months": None,
        "evans": False, "acrocyanosis": False, "acrocyanosis_response": "", "n_doses": 4,
        "last_dose_date": "2022-02-01", "new_therapy_date": ""})
    labs = pd.DataFrame(columns=["patient_id", "day", "analyte", "value"])
    aes = pd.DataFrame(columns=["patient_id", "grade"])
    medians = {}
    for tol in (1e-9, 1e-3):
        cfg = statistics_config(P.config(statistics__km_tie_tolerance=tol,
                                         statistics__km_tie_rule="lower"))
        stats, _ = clinical_statistics(patients, responses, labs, aes, cfg)
        medians[tol] = next(s.value for s in stats if (s.stat_id, s.group, s.statistic)
                            == ("dor_median_km", "wAIHA", "value"))
    assert medians[1e-9] == 501.0
    assert medians[1e-3] == 500.0


def test_the_acrocyanosis_denominator_reaches_the_statistics(exports, base, tmp_path: Path):
    out = P.run(exports, tmp_path, P.config(response__acro_denominator="efficacy_set"))
    r = base.responses
    cold = r[r["diagnosis"] == "cAIHA"]
    acro = cold[cold["acrocyanosis"].astype(str) == "True"]
    improved = acro["acrocyanosis_response"].astype(str) == "True"
    eff = acro["efficacy_set"].astype(str) == "True"
    assert _value(base, "acro_improved", "cAIHA", "denominator") == len(acro)
    assert _value(base, "acro_improved", "cAIHA", "numerator") == improved.sum()
    assert _value(out, "acro_improved", "cAIHA", "denominator") == eff.sum() < len(acro)
    assert _value(out, "acro_improved", "cAIHA", "numerator") == (improved & eff).sum()
    assert _changed_stats(base, out) == {"acro_improved"}


def test_duration_settings_reach_the_analysis(exports, base, tmp_path: Path):
    """``exact``: months = days / days_per_month, unrounded; 30 days a month: whole
    months of days / 30, half up. Checked on every responder's duration."""
    exact = P.run(exports, tmp_path / "exact", P.config(response__duration_rounding="exact"))
    days = exact.responses["duration_days"]
    has = days.notna()
    got = exact.responses.loc[has, "duration_months"].astype(float)
    want = days[has].astype(float) / P.CONFIG["response"]["days_per_month"]
    np.testing.assert_allclose(got, want, rtol=0, atol=1e-6)
    assert "dor_median_crude" in _changed_stats(base, exact)
    thirty = P.run(exports, tmp_path / "thirty", P.config(response__days_per_month=30.0))
    got = thirty.responses.loc[has, "duration_months"].astype(float)
    want = np.floor(days[has].astype(float) / 30.0 + 0.5)
    np.testing.assert_array_equal(got.to_numpy(), want.to_numpy())
    assert _same_clean(base, thirty) is None


def test_scoring_params_reach_the_scoring_script(exports, base, tmp_path: Path):
    """Through score_responses.py: a cold-response rise of 3 g/dL instead of 2 leaves
    only the cAIHA patients who rise by 3 or reach the normal Hb as responders."""
    out = P.run(exports, tmp_path, P.config(response__cold_rise_g_dl=3.0))
    c = P.CONFIG["response"]
    before = base.responses[base.responses["analysis_group"] == "cAIHA"]
    after = out.responses[out.responses["analysis_group"] == "cAIHA"]
    assert after["responder"].astype(str).eq("True").sum() < before["responder"].astype(
        str).eq("True").sum()
    kept = after[after["responder"].astype(str) == "True"]
    assert ((kept["hb_change"].astype(float) >= 3.0)
            | (kept["max_hb"].astype(float) >= c["hb_normal_g_dl"])).all()
    w = lambda o: o.responses[o.responses["analysis_group"] == "wAIHA"]  # noqa: E731
    pd.testing.assert_frame_equal(w(base), w(out))


def test_the_transfusion_windows_reach_the_content_statistics_script(exports, base,
                                                                     tmp_path: Path):
    """Windows of days -30 to -1 and 0 to 27 instead of the shipped three: through
    rule clinical_content's params, the patients transfused and the units of each
    window, counted here from the cleaned transfusions (days from the first dose)."""
    windows = [[-30, -1], [0, 27]]
    cfg = P.config()
    cfg["report"]["transfusion_windows_days"] = windows
    out = P.run(exports, tmp_path, cfg)
    tr = out.clean["transfusions"]
    for k, (start, end) in enumerate(windows, start=1):
        inside = tr[tr["day"].astype(int).between(start, end)]
        assert _value(out, f"transfusion_w{k}", "all", "start_day") == start
        assert _value(out, f"transfusion_w{k}", "all", "end_day") == end
        assert _value(out, f"transfusion_w{k}", "all", "numerator") == inside["patient_id"].nunique()
        assert _value(out, f"transfusion_w{k}", "all", "units") == inside["units"].astype(float).sum()
        assert _value(out, f"transfusion_w{k}", "all", "denominator") == len(out.clean["patients"])
    assert not (out.ard["stat_id"] == "transfusion_w3").any()
    assert (base.ard["stat_id"] == "transfusion_w3").any()
    assert _value(out, "transfusion_w1", "all", "units") != _value(base, "transfusion_w1", "all",
                                                                   "units")


def test_the_study_id_reaches_every_dataset(exports, tmp_path: Path):
    out = P.run(exports, tmp_path, P.config(adam__study_id="REACH-01"))
    for name, frame in out.adam.items():
        if len(frame):
            assert set(frame["STUDYID"]) == {"REACH-01"}, name


def _dor(o: P.Outputs, group: str) -> tuple[list[float], list[int]]:
    tte = o.adam["ADTTE"]
    d = tte[(tte["PARAMCD"] == "DOR") & (tte["ANLGRP"] == group)]
    return [float(x) for x in d["AVAL"]], [int(float(c) == 0) for c in d["CNSR"]]


def _product_limit(times: list[float], events: list[int], t: float) -> float:
    """S(t) by the product-limit formula, written out (events before censorings at
    a tie, as Kaplan and Meier)."""
    s = 1.0
    for u in sorted({x for x, e in zip(times, events) if e and x <= t}):
        at_risk = sum(1 for x in times if x >= u)
        died = sum(1 for x, e in zip(times, events) if e and x == u)
        s *= 1 - died / at_risk
    return s


def test_the_landmarks_reach_the_statistics(exports, base, tmp_path: Path):
    out = P.run(exports, tmp_path, P.config(statistics__landmark_months=[3, 9]))
    times, events = _dor(out, "wAIHA")
    for m in (3, 9):
        assert _value(out, "dor_landmark", "wAIHA", f"month_{m}_rate") == pytest.approx(
            _product_limit(times, events, m), abs=1e-12)
    assert not (out.ard["statistic"] == "month_6_rate").any()
    assert (base.ard["statistic"] == "month_6_rate").any()
    assert _changed_stats(base, out) == {"dor_landmark"}


def test_the_censored_share_rule_reaches_the_crude_median(exports, base, tmp_path: Path):
    """cAIHA: 3 of 4 durations censored (the demo), over the default 0.5, under 0.8."""
    _, events = _dor(base, "cAIHA")
    share = 1 - sum(events) / len(events)
    assert 0.5 < share <= 0.8
    assert _value(base, "dor_median_crude", "cAIHA", "estimable") == 0
    out = P.run(exports, tmp_path, P.config(statistics__crude_median_max_censored_share=0.8))
    assert _value(out, "dor_median_crude", "cAIHA", "estimable") == 1
    assert _changed_stats(base, out) == {"dor_median_crude"}


def test_the_subgroup_variables_reach_the_statistics(exports, base, tmp_path: Path):
    out = P.run(exports, tmp_path, P.config(statistics__response_subgroups=["SEX"]))
    adsl, adrs = out.adam["ADSL"], out.adam["ADRS"]
    resp = dict(zip(adrs.loc[adrs["PARAMCD"] == "RESP", "USUBJID"],
                    adrs.loc[adrs["PARAMCD"] == "RESP", "AVALC"]))
    warm = adsl[adsl["ANLGRP"] == "wAIHA"]
    for sex in ("F", "M"):
        ids = warm.loc[warm["SEX"] == sex, "USUBJID"]
        assert _value(out, "resp_by_sex", "wAIHA", f"{sex}: denominator") == len(ids)
        assert _value(out, "resp_by_sex", "wAIHA", f"{sex}: numerator") == sum(
            resp[i] == "Y" for i in ids)
    assert not out.ard["stat_id"].eq("resp_by_evansfl").any()
    assert _changed_stats(base, out) == {"resp_by_sex", "resp_by_evansfl"}


def test_the_soc_map_reaches_adae_and_the_soc_rows(exports, base, tmp_path: Path):
    mapping = tmp_path / "soc.tsv"
    mapping.write_text("term\tsoc\tsource\nFatigue\tTest class\ttest\n", encoding="utf-8")
    out = P.run(exports, tmp_path / "run", P.config(safety__soc_map=str(mapping)))
    ae = out.adam["ADAE"]
    assert set(ae.loc[ae["AETERM"] == "Fatigue", "AEBODSYS"]) == {"Test class"}
    assert set(ae.loc[ae["AETERM"] != "Fatigue", "AEBODSYS"].fillna("")) == {""}  # not mapped
    assert _value(out, "ae_soc", "all", "Test class: any grade n") == ae.loc[
        ae["AETERM"] == "Fatigue", "USUBJID"].nunique()
    assert _changed_stats(base, out) == {"ae_soc", "ae_infection"}


def test_the_treatment_emergent_window_reaches_adae_and_the_safety_rows(exports, base,
                                                                        tmp_path: Path):
    """A window of 0 days after the last dose: an event after the last dose day is not
    treatment-emergent (the demo has some), one up to it is."""
    out = P.run(exports, tmp_path, P.config(safety__treatment_emergent_days_after_last_dose=0))
    ae, adsl = out.adam["ADAE"], out.adam["ADSL"]
    span = {p: (pd.Timestamp(e) - pd.Timestamp(s)).days
            for p, s, e in zip(adsl["USUBJID"], adsl["TRTSDT"], adsl["TRTEDT"])}
    want = ["Y" if float(d) <= span[p] else "N" for p, d in zip(ae["USUBJID"], ae["RELDY"])]
    assert list(ae["TRTEMFL"]) == want and "N" in want
    assert set(base.adam["ADAE"]["TRTEMFL"]) == {"Y"}
    kept = ae[ae["TRTEMFL"] == "Y"]
    assert _value(out, "ae_summary", "all", "any: n") == kept["USUBJID"].nunique()
    assert _changed_stats(base, out) <= {"ae_summary", "ae_soc", "ae_infection"}


def test_the_qc_tolerance_reaches_the_library_cross_check():
    from aiha.qc import QCMismatch, compare

    primary, independent = {"orr/wAIHA/ci_lower": 0.2}, {"orr/wAIHA/ci_lower": 0.2 + 1e-6}
    with pytest.raises(QCMismatch):
        compare(primary, independent, qc_config(P.config())["qc_tolerance"])
    loose = qc_config(P.config(statistics__qc_tolerance=1e-5))["qc_tolerance"]
    assert list(compare(primary, independent, loose)["status"]) == ["agree"]


# ------------------------------------------------------------------ cleaning

def _site_only(exports, site: str) -> P.Exports:
    return {site: exports[site]}


def _lab_values(exports, profiles, site: str, analyte: str) -> list[float]:
    """The site's exported numbers of one analyte (its codes mapped as the profile says)."""
    d, dec = profiles[site]["delimiter"], profiles[site]["decimal"]
    codes = {k.strip().upper(): v for k, v in profiles[site]["codes"]["analyte"].items()}
    h, rows = P.rows_of(exports[site]["labs"], d)
    return [float(r[h.index("value")].replace(dec, ".")) for r in rows
            if codes.get(r[h.index("analyte")].strip().upper()) == analyte]


@pytest.fixture(scope="module")
def profiles() -> dict:
    return P.site_profiles_raw()


def test_a_hard_limit_reaches_the_cleaning(exports, profiles, tmp_path: Path):
    """Each hard limit, set just below the site's largest value of its kind, stops
    the cleaning naming the file, row and column; at the largest value it passes."""
    site = "VIE"  # g/dL and mg/dL: the export's numbers are the cleaned units
    one = _site_only(exports, site)
    d, dec = profiles[site]["delimiter"], profiles[site]["decimal"]
    base_cfg = P.config()
    cases = {"hb_g_dl": ("labs", "value", max(_lab_values(one, profiles, site, "hb"))),
             "bilirubin_mg_dl": ("labs", "value", max(_lab_values(one, profiles, site, "bilirubin")))}
    th, trows = P.rows_of(one[site]["treatments"], d)
    cases["dose_mg"] = ("treatments", "dose_mg",
                        max(float(r[th.index("dose_mg")].replace(dec, ".")) for r in trows))
    xsite = "AMS"  # VIE has no transfusions
    xh, xrows = P.rows_of(exports[xsite]["transfusions"], profiles[xsite]["delimiter"])
    cases["transfusion_units"] = ("transfusions", "units",
                                  max(float(r[xh.index("units")]) for r in xrows))
    uln = float(profiles[site]["ldh_uln_u_l"])
    cases["ldh_x_uln"] = ("labs", "value",
                          max(_lab_values(one, profiles, site, "ldh")) / uln)
    for key, (table, column, top) in cases.items():
        at = xsite if key == "transfusion_units" else site
        data = _site_only(exports, at)
        lo = base_cfg["cleaning"]["hard_limits"][key][0]
        cfg = P.config()
        cfg["cleaning"]["hard_limits"][key] = [lo, top]
        P.run(data, tmp_path / f"{key}-ok", cfg)  # the largest value is inside
        cfg["cleaning"]["hard_limits"][key] = [lo, top * 0.999]
        with pytest.raises(P.JobFailed) as err:
            P.run(data, tmp_path / f"{key}-bad", cfg)
        message = err.value.log
        assert f"{at}/{table}.csv, row " in message and f"column '{column}'" in message, key


def test_a_suspicious_limit_reaches_the_cleaning(exports, profiles, base, tmp_path: Path):
    """Narrowed suspicious limits flag, and log, exactly the values outside them."""
    cfg = P.config()
    cfg["cleaning"]["suspicious_limits"] = {"hb_g_dl": [8.0, 12.0], "bilirubin_mg_dl": [0.0, 1.0],
                                            "ldh_x_uln": [0.0, 1.5]}
    out = P.run(exports, tmp_path, cfg)
    labs = out.clean["labs"]
    for analyte, key in (("hb", "hb_g_dl"), ("bilirubin", "bilirubin_mg_dl"), ("ldh", "ldh_x_uln")):
        lo, hi = cfg["cleaning"]["suspicious_limits"][key]
        rows = labs[labs["analyte"] == analyte]
        outside = ~rows["value"].astype(float).between(lo, hi)
        assert outside.sum() > 0, analyte
        assert (rows["flag"].fillna("") == np.where(outside, "suspicious", "")).all(), analyte
        logged = out.log["reason"].str.startswith(f"suspicious {analyte} ")
        assert logged.sum() == outside.sum(), analyte
    # Values are kept, not changed.
    pd.testing.assert_series_equal(labs["value"], base.clean["labs"]["value"])


def test_the_age_range_reaches_the_cleaning(exports, base, tmp_path: Path):
    ages = base.clean["patients"]["age_at_first_dose"].astype(float)
    cfg = P.config()
    cfg["cleaning"]["age_years"] = [18, float(ages.max())]
    P.run(exports, tmp_path / "ok", cfg)
    cfg["cleaning"]["age_years"] = [18, float(ages.max()) - 1]
    with pytest.raises(P.JobFailed) as err:
        P.run(exports, tmp_path / "bad", cfg)
    assert "patients.csv, row " in err.value.log and "birth_date" in err.value.log


def test_the_export_date_reaches_the_cleaning(exports, profiles, tmp_path: Path):
    """An export dated before a record is refused, naming the record's file, row and
    column; dated on the last record's day it passes."""
    site = "CRE"
    one = _site_only(exports, site)
    d, fmt = profiles[site]["delimiter"], profiles[site]["date_format"]
    every = []
    for table, text in one[site].items():
        hh, rr = P.rows_of(text, d)
        for r in rr:
            for i, col in enumerate(hh):
                if col.endswith("_date") and col != "birth_date" and r[i]:
                    every.append(datetime.strptime(r[i], fmt).date())
    last = max(every)
    cut = P.config(data__data_cutoff=last.isoformat(), data__export_date=last.isoformat())
    P.run(one, tmp_path / "ok", cut)
    early = P.config(data__data_cutoff=(last - timedelta(days=30)).isoformat(),
                     data__export_date=(last - timedelta(days=1)).isoformat())
    with pytest.raises(P.JobFailed) as err:
        P.run(one, tmp_path / "bad", early)
    assert f"{site}/" in err.value.log and ", row " in err.value.log
    assert str(last - timedelta(days=1)) in err.value.log


def test_the_pseudonym_key_reaches_the_cleaning(exports, base, tmp_path: Path, monkeypatch):
    """Another key gives other pseudonyms (the same HMAC by hand) and the same study."""
    import hashlib
    import hmac

    from aiha.pseudonym import pseudonymize

    monkeypatch.setattr(P, "KEY", b"another-key-of-enough-bytes-0001")
    out = P.run(exports, tmp_path)
    assert set(out.clean["patients"]["patient_id"]).isdisjoint(base.clean["patients"]["patient_id"])
    pd.testing.assert_frame_equal(out.ard, base.ard)
    first = pseudonymize("AMS", "AMC-4471823", P.KEY)
    assert first in set(out.clean["patients"]["patient_id"])
    assert first != pseudonymize("AMS", "AMC-4471823", b"pipeline-test-key-0123456789")
    assert hmac.new(P.KEY, b"x", hashlib.sha256).hexdigest()  # the key is bytes HMAC accepts


def test_the_site_profiles_file_reaches_the_cleaning(exports, profiles, base, tmp_path: Path):
    """A profiles file with another LDH upper limit for one site: that site's LDH
    values, as multiples of it, change by the ratio; no other site's."""
    site = "AMS"
    changed = {**profiles, site: {**profiles[site], "ldh_uln_u_l": 2 * profiles[site]["ldh_uln_u_l"]}}
    path = P.write_profiles(changed, tmp_path / "sites.yaml")
    out = P.run(exports, tmp_path / "run", profiles_path=path)
    sites = out.clean["patients"].set_index("patient_id")["site"]
    a, b = base.clean["labs"], out.clean["labs"]
    ldh = a["analyte"] == "ldh"
    at_site = a["patient_id"].map(sites) == site
    np.testing.assert_allclose(b.loc[ldh & at_site, "value"].astype(float),
                               a.loc[ldh & at_site, "value"].astype(float) / 2, atol=1e-6)
    pd.testing.assert_series_equal(b.loc[ldh & ~at_site, "value"], a.loc[ldh & ~at_site, "value"])


def test_the_demo_multiplier_replicates_the_cohort():
    from aiha.demo.cohort import load_spec

    spec = ROOT / P.CONFIG["data"]["demo_spec"]
    one, three = load_spec(spec, 1), load_spec(spec, 3)
    assert len(three.patients) == 3 * len(one.patients)
    assert len(three.adverse_events) == 3 * len(one.adverse_events)


def test_the_sample_window_reaches_the_sample_sheet_rule():
    """The rule cytometry_sample_sheet passes ``cleaning.sample_days_from_first_dose``
    as its ``days_window`` param, and the script hands it to the sample table."""
    rules = (ROOT / "workflow" / "rules" / "cytometry.smk").read_text(encoding="utf-8")
    assert 'days_window=config["cleaning"]["sample_days_from_first_dose"]' in rules
    script = (ROOT / "workflow" / "scripts" / "cytometry_sample_sheet.py").read_text()
    assert "days_window=tuple(sm.params.days_window)" in script


# ------------------------------------------------------------------ response criteria

C = ResponseCriteria.from_config(scoring_config(P.config())["response"])


def _wc(points, diagnosis="wAIHA", **kw) -> PatientCourse:
    return PatientCourse(diagnosis, tuple(LabPoint(*p) for p in points), **kw)


MARK_HIGH = (2.0, 3.0)  # LDH x ULN, bilirubin mg/dL: hemolysis
MARK_OK = (0.9, 1.0)  # normal markers
# key -> (new value, course, result field, outcome at the shipped value, outcome at the new)
RESPONSE_CASES = {
    "pr_hb_g_dl": (9.0, _wc([(-3, 8.0, *MARK_HIGH), (7, 9.5, *MARK_HIGH), (14, 9.5, *MARK_HIGH)]),
                   "best_response", "NR", "PR"),
    "pr_rise_g_dl": (1.0, _wc([(-3, 8.0, *MARK_HIGH), (7, 9.5, *MARK_HIGH), (14, 9.5, *MARK_HIGH)]),
                     "best_response", "NR", "PR"),
    "pr_rule": ("and", _wc([(-3, 6.5, *MARK_HIGH), (7, 9.0, *MARK_HIGH), (14, 9.0, *MARK_HIGH)]),
                "best_response", "PR", "NR"),
    "cr_hb_g_dl": (11.0, _wc([(-3, 8.0, *MARK_HIGH), (7, 11.5, *MARK_OK), (14, 11.5, *MARK_OK)]),
                   "best_response", "PR", "CR"),
    "bilirubin_uln_mg_dl": (1.5, _wc([(-3, 8.0, *MARK_HIGH), (7, 12.5, 0.9, 1.4),
                                      (14, 12.5, 0.9, 1.4)]), "best_response", "PR", "CR"),
    "ldh_uln_multiple": (1.5, _wc([(-3, 8.0, *MARK_HIGH), (7, 12.5, 1.3, 1.0),
                                   (14, 12.5, 1.3, 1.0)]), "best_response", "PR", "CR"),
    "cold_rise_g_dl": (1.0, _wc([(-3, 8.0), (7, 9.5), (14, 9.5)], "cAIHA"),
                       "responder", False, True),
    "hb_normal_g_dl": (9.0, _wc([(-3, 8.0), (7, 9.5), (14, 9.5)], "cAIHA"),
                       "responder", False, True),
    "anemia_hb_g_dl": (8.0, _wc([(-3, 8.5), (7, 11.0), (14, 11.0)], "cAIHA"),
                       "analysis_group", "cAIHA", "cAIHA_nonanemic"),
    "confirmation_min_days": (14, _wc([(-3, 7.0, *MARK_HIGH), (7, 11.0, *MARK_HIGH),
                                       (14, 11.0, *MARK_HIGH)]), "best_response", "PR", "NR"),
    "transfusion_washout_days": (10, _wc([(-3, 7.0, *MARK_HIGH), (14, 11.0, *MARK_HIGH),
                                          (21, 11.0, *MARK_HIGH), (28, 11.0, *MARK_HIGH)],
                                         transfusion_days=(5,)), "response_day", 14, 21),
    "relapse_consecutive_values": (1, _wc([(-3, 7.0, *MARK_HIGH), (7, 11.0, *MARK_HIGH),
                                           (14, 11.0, *MARK_HIGH), (28, 7.5, *MARK_HIGH),
                                           (35, 11.0, *MARK_HIGH)]), "relapse_day", None, 28),
    "relapse_on_transfusion": (False, _wc([(-3, 7.0, *MARK_HIGH), (7, 11.0, *MARK_HIGH),
                                           (14, 11.0, *MARK_HIGH), (60, 11.0, *MARK_HIGH),
                                           (67, 11.0, *MARK_HIGH)], transfusion_days=(30,)),
                               "relapse_day", 30, None),
    "relapse_on_new_therapy": (False, _wc([(-3, 7.0, *MARK_HIGH), (7, 11.0, *MARK_HIGH),
                                           (14, 11.0, *MARK_HIGH)], new_therapy_days=(30,)),
                               "event", 1, 0),
    "ongoing_duration_origin": ("first_dose", _wc([(-3, 7.0, *MARK_HIGH), (7, 11.0, *MARK_HIGH),
                                                   (14, 11.0, *MARK_HIGH)], cutoff_day=100),
                                "ongoing_duration_days", 93, 100),
    "confirmation_reading": ("pair", _wc([(-3, 7.0, *MARK_HIGH), (7, 11.0, *MARK_HIGH),
                                          (10, 11.0, *MARK_HIGH), (14, 11.0, *MARK_HIGH)]),
                             "best_response", "PR", "NR"),
}
# Keys whose effect is on months, not on the result of one course.
MONTH_CASES = {"days_per_month": (30.0, 45, 1, 2),       # 45 / 30.4375 = 1.48 -> 1; 45 / 30 = 1.5 -> 2
               "duration_rounding": ("exact", 45, 1, 45 / 30.4375)}


@pytest.mark.parametrize("key", ResponseCriteria.keys())
def test_a_response_criterion_reaches_scoring(key: str):
    assert key in RESPONSE_CASES or key in MONTH_CASES, f"no reach case for response.{key}"
    if key in MONTH_CASES:
        value, days, shipped, new = MONTH_CASES[key]
        assert months(days, C) == shipped
        c = ResponseCriteria.from_config(scoring_config(P.config(**{f"response__{key}": value}))
                                         ["response"])
        assert getattr(c, key) == value and getattr(C, key) != value
        assert months(days, c) == pytest.approx(new)
        return
    value, course, field, shipped, new = RESPONSE_CASES[key]
    assert getattr(C, key) != value, "the case must use a value other than the shipped one"
    assert getattr(score_response(course, C), field) == shipped
    c = ResponseCriteria.from_config(scoring_config(P.config(**{f"response__{key}": value}))
                                     ["response"])
    assert getattr(score_response(course, c), field) == new
