"""Unit tests pinning the settings each job reads (:mod:`aiha.settings`), the library
cross-check (:mod:`aiha.qc`), the comparison with the R double programming
(:mod:`aiha.qc_compare`), the audit of published claims (:mod:`aiha.audit`) and the
sample QC of the cytometry stage (:mod:`aiha.cytometry.sample_qc`).

Every input is small and built here (configs, tables, FCS files in tmp_path); every
expected value is worked out by hand from it. Nothing is built at import time:
mutmut switches a mutant on only once a test runs."""

from __future__ import annotations

import copy
import datetime
import io
import math
from array import array
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from aiha.errors import InputError

NAN = float("nan")


# ============================================================== settings

RESPONSE_KEYS = ["pr_rule", "pr_hb_g_dl", "pr_rise_g_dl", "cr_hb_g_dl", "bilirubin_uln_mg_dl",
                 "ldh_uln_multiple", "cold_rise_g_dl", "hb_normal_g_dl", "anemia_hb_g_dl",
                 "confirmation_min_days", "transfusion_washout_days",
                 "relapse_consecutive_values", "relapse_on_transfusion",
                 "relapse_on_new_therapy", "ongoing_duration_origin", "days_per_month",
                 "duration_rounding", "confirmation_reading"]
OWN_LABELS = {"t_cells": "T lymphs", "cd38": "CD38 hi", "activation": "Act", "divided": "Div",
              "naive": "Nv", "central_memory": "Cm", "effector_memory": "Em", "temra": "Tr",
              "division_dye": "Dye", "stimulus": "Stim"}


def _config() -> dict:
    """A config with a distinct, non-default value at every key the settings read."""
    return {
        "data": {"data_cutoff": datetime.date(2021, 3, 4), "raw_dir": "raw/x",
                 "demo_multiplier": 3, "demo_spec": "spec.yaml"},
        "response": {
            "pr_rule": "and", "pr_hb_g_dl": 10.5, "pr_rise_g_dl": 2.5, "cr_hb_g_dl": 12.5,
            "bilirubin_uln_mg_dl": 1.3, "ldh_uln_multiple": 1.1, "cold_rise_g_dl": 2.2,
            "hb_normal_g_dl": 13.1, "anemia_hb_g_dl": 11.9, "confirmation_min_days": 9,
            "transfusion_washout_days": "11", "relapse_consecutive_values": 3,
            "relapse_on_transfusion": False, "relapse_on_new_therapy": False,
            "ongoing_duration_origin": "first_dose", "days_per_month": "30.5",
            "duration_rounding": "exact", "confirmation_reading": "pair",
            "acro_denominator": "efficacy_set", "not_a_criterion": 99,
        },
        "statistics": {"ci_level": "0.9", "km_tie_rule": "lower", "km_tie_tolerance": "2e-7",
                       "km_ci_transform": "log-log", "dor_median_method": "km",
                       "qc_tolerance": "3e-6", "unused_statistic": 5,
                       "landmark_months": [3, "9"], "crude_median_max_censored_share": "0.6",
                       "response_subgroups": ["SEX"]},
        "safety": {"treatment_emergent_days_after_last_dose": "30"},
        "adam": {"study_id": 4711},
        "report": {"decimals": {"percent": 1}, "cleaning_log_routine": ["trim"],
                   "title": "T", "transfusion_windows_days": [(-10, -1), (0, 9)]},
        "cytometry": {
            "enabled": True,
            "gating_source": "flowjo", "transform": "asinh",
            "asinh": {"t": 1000, "m": 4.0, "a": 0.5},
            "panel": {"phenotype": {"CD38 PE": "CD38"}},
            "missing_spillover": "uncompensated", "fcs_ignore_offset_error": 1,
            "populations": {"t_cells": "Tc", "cd38": "C38", "activation": "A69",
                            "divided": "Dv",
                            "subsets": {"naive": "N", "central_memory": "CMx",
                                        "effector_memory": "EMx", "temra": "TE"},
                            "labels": dict(OWN_LABELS)},
            "claims": {"depletion_threshold_percent": 2.5, "depletion_window_days": [2, 40],
                       "memory_effector_subsets": ("temra",)},
            "qc": {"exclude_flagged": 0, "min_events_kept": 5, "kept_population": "Mg"},
            "figures": {"summary_max_patients": "4", "svg_hashsalt": "salt-x",
                        "gating_visits": ["baseline"]},
            "demo": {"seed": 1},
        },
    }


def test_scoring_config_takes_the_cutoff_as_text_and_only_the_criteria_given():
    """scoring_config: the data cut-off as text and exactly the response criteria present."""
    from aiha.settings import scoring_config

    cfg = _config()
    got = scoring_config(cfg)
    expected_response = {k: cfg["response"][k] for k in RESPONSE_KEYS}
    assert got == {"data_cutoff": "2021-03-04", "response": expected_response}
    assert list(got["response"]) == RESPONSE_KEYS  # in the criteria's order
    del cfg["response"]["confirmation_reading"]
    assert "confirmation_reading" not in scoring_config(cfg)["response"]
    assert len(scoring_config(cfg)["response"]) == len(RESPONSE_KEYS) - 1


def test_statistics_config_takes_the_five_statistics_keys_and_the_acro_denominator():
    """statistics_config: ci_level, the KM tie rule/tolerance, median method, CI transform."""
    from aiha.settings import STATISTICS_KEYS, statistics_config

    assert STATISTICS_KEYS == ("ci_level", "km_tie_rule", "km_tie_tolerance",
                               "dor_median_method", "km_ci_transform", "landmark_months",
                               "crude_median_max_censored_share", "response_subgroups")
    cfg = _config()
    assert statistics_config(cfg) == {
        "statistics": {"ci_level": "0.9", "km_tie_rule": "lower", "km_tie_tolerance": "2e-7",
                       "dor_median_method": "km", "km_ci_transform": "log-log",
                       "landmark_months": [3, "9"], "crude_median_max_censored_share": "0.6",
                       "response_subgroups": ["SEX"]},
        "response": {"acro_denominator": "efficacy_set", "days_per_month": "30.5"}}
    del cfg["statistics"]["km_tie_tolerance"]
    assert "km_tie_tolerance" not in statistics_config(cfg)["statistics"]
    assert len(statistics_config(cfg)["statistics"]) == 7


def test_qc_config_and_qc_compare_config():
    """qc_config: level and tolerance as given; qc_compare_config: the tolerance as a float."""
    from aiha.settings import qc_compare_config, qc_config

    cfg = _config()
    assert qc_config(cfg) == {"ci_level": "0.9", "qc_tolerance": "3e-6"}
    got = qc_compare_config(cfg)
    assert got == {"qc_tolerance": 3e-6} and type(got["qc_tolerance"]) is float


def test_qc_r_config_flattens_and_converts_each_key():
    """qc_r_config: each key under its own name and type, the windows, the cytometry claims settings."""
    from aiha.settings import qc_r_config

    cfg = _config()
    got = qc_r_config(cfg)
    expected = {
        "ci_level": 0.9, "km_tie_rule": "lower", "km_tie_tolerance": 2e-7,
        "km_ci_transform": "log-log", "dor_median_method": "km", "days_per_month": 30.5,
        "duration_rounding": "exact", "ongoing_duration_origin": "first_dose",
        "acro_denominator": "efficacy_set", "transfusion_windows_days": [[-10, -1], [0, 9]],
        "landmark_months": [3.0, 9.0], "crude_median_max_censored_share": 0.6,
        "response_subgroups": ["SEX"],
        "cytometry": {
            "populations": {"t_cells": "Tc", "cd38": "C38", "activation": "A69", "divided": "Dv",
                            "subsets": {"naive": "N", "central_memory": "CMx",
                                        "effector_memory": "EMx", "temra": "TE"}},
            "claims": {"depletion_threshold_percent": 2.5, "depletion_window_days": [2, 40],
                       "memory_effector_subsets": ("temra",)},
            "exclude_flagged": False},
    }
    assert got == expected
    for key in ("ci_level", "km_tie_tolerance", "days_per_month"):
        assert type(got[key]) is float, key
    assert got["cytometry"]["exclude_flagged"] is False
    assert "qc" not in got["cytometry"]
    # Numbers given for text keys are printed as text.
    cfg["statistics"]["km_tie_rule"] = 1
    cfg["statistics"]["km_ci_transform"] = 2
    cfg["statistics"]["dor_median_method"] = 3
    cfg["response"].update(duration_rounding=4, ongoing_duration_origin=5, acro_denominator=6)
    got = qc_r_config(cfg)
    assert [got[k] for k in ("km_tie_rule", "km_ci_transform", "dor_median_method",
                             "duration_rounding", "ongoing_duration_origin",
                             "acro_denominator")] == ["1", "2", "3", "4", "5", "6"]


def test_qc_r_config_without_cytometry_has_no_cytometry_part():
    """qc_r_config: cytometry off, absent, None or without 'enabled' gives no cytometry key."""
    from aiha.settings import qc_r_config

    for change in ("off", "absent", "none", "no_enabled"):
        cfg = _config()
        if change == "off":
            cfg["cytometry"]["enabled"] = False
        elif change == "absent":
            del cfg["cytometry"]
        elif change == "none":
            cfg["cytometry"] = None
        else:
            del cfg["cytometry"]["enabled"]
        got = qc_r_config(cfg)
        assert "cytometry" not in got, change
        assert got["ci_level"] == 0.9


def test_analysis_config_merges_scoring_and_statistics():
    """analysis_config: the cut-off, the statistics and criteria plus the acro denominator."""
    from aiha.settings import analysis_config

    cfg = _config()
    got = analysis_config(cfg)
    assert set(got) == {"data_cutoff", "statistics", "response"}
    assert got["data_cutoff"] == "2021-03-04"
    assert got["statistics"]["km_tie_rule"] == "lower" and len(got["statistics"]) == 8
    assert got["response"] == {**{k: cfg["response"][k] for k in RESPONSE_KEYS},
                               "acro_denominator": "efficacy_set"}


def test_report_config_drops_only_the_demo_settings_and_leaves_the_config_alone():
    """report_config: a deep copy without cytometry.demo, data.demo_multiplier/demo_spec."""
    from aiha.settings import report_config

    cfg = _config()
    before = copy.deepcopy(cfg)
    got = report_config(cfg)
    assert cfg == before  # the config itself is untouched
    assert "demo" not in got["cytometry"]
    assert got["data"] == {"data_cutoff": datetime.date(2021, 3, 4), "raw_dir": "raw/x"}
    expected = copy.deepcopy(before)
    del expected["cytometry"]["demo"]
    del expected["data"]["demo_multiplier"], expected["data"]["demo_spec"]
    assert got == expected
    got["cytometry"]["asinh"]["t"] = -1
    assert cfg["cytometry"]["asinh"]["t"] == 1000
    # Without the sections (or their keys) nothing fails.
    assert report_config({"audit": {"claims": None}}) == {"audit": {"claims": None}}
    assert report_config({"data": {"demo_spec": "s"}, "cytometry": {}}) == {"data": {},
                                                                           "cytometry": {}}
    only_multiplier = report_config({"data": {"demo_multiplier": 2, "raw_dir": "r"}})
    assert only_multiplier == {"data": {"raw_dir": "r"}}


def test_figures_config_reads_the_thresholds_months_and_km_settings():
    """figures_config: the seven response keys and three statistics keys, by name."""
    from aiha.settings import FIGURE_RESPONSE_KEYS, FIGURE_STATISTICS_KEYS, figures_config

    assert FIGURE_RESPONSE_KEYS == ("days_per_month", "cr_hb_g_dl", "pr_hb_g_dl",
                                    "hb_normal_g_dl", "anemia_hb_g_dl", "ldh_uln_multiple",
                                    "bilirubin_uln_mg_dl")
    assert FIGURE_STATISTICS_KEYS == ("km_tie_rule", "ci_level", "km_ci_transform")
    assert figures_config(_config()) == {
        "response": {"days_per_month": "30.5", "cr_hb_g_dl": 12.5, "pr_hb_g_dl": 10.5,
                     "hb_normal_g_dl": 13.1, "anemia_hb_g_dl": 11.9, "ldh_uln_multiple": 1.1,
                     "bilirubin_uln_mg_dl": 1.3},
        "statistics": {"km_tie_rule": "lower", "ci_level": "0.9", "km_ci_transform": "log-log"}}


def test_listings_config_reads_cutoff_decimals_routine_subsets_and_populations():
    """listings_config: cut-off text, decimals, routine actions, subsets list, copied populations."""
    from aiha.settings import listings_config

    cfg = _config()
    got = listings_config(cfg)
    assert got == {
        "data": {"data_cutoff": "2021-03-04"},
        "report": {"decimals": {"percent": 1}, "cleaning_log_routine": ["trim"]},
        "cytometry": {"claims": {"memory_effector_subsets": ["temra"]},
                      "populations": cfg["cytometry"]["populations"]}}
    assert type(got["cytometry"]["claims"]["memory_effector_subsets"]) is list
    got["cytometry"]["populations"]["subsets"]["naive"] = "changed"
    assert cfg["cytometry"]["populations"]["subsets"]["naive"] == "N"


def test_listings_config_without_the_optional_parts():
    """listings_config: no report, claims, subsets or populations: only what is there."""
    from aiha.settings import listings_config

    base = {"data": {"data_cutoff": "2020-01-02"}}
    assert listings_config(base) == {"data": {"data_cutoff": "2020-01-02"}, "report": {}}
    assert listings_config({**base, "report": None, "cytometry": None}) == {
        "data": {"data_cutoff": "2020-01-02"}, "report": {}}
    assert listings_config({**base, "report": {"decimals": 2}}) == {
        "data": {"data_cutoff": "2020-01-02"}, "report": {"decimals": 2}}
    assert listings_config({**base, "report": {"cleaning_log_routine": ["a"]}})["report"] == {
        "cleaning_log_routine": ["a"]}
    # Claims without the subsets, and no populations: no cytometry part.
    assert "cytometry" not in listings_config({**base, "cytometry": {"claims": {"x": 1}}})
    assert "cytometry" not in listings_config({**base, "cytometry": {"claims": None,
                                                                      "populations": {}}})
    # Populations only.
    pops = {"t_cells": "T"}
    assert listings_config({**base, "cytometry": {"populations": pops}})["cytometry"] == {
        "populations": {"t_cells": "T"}}
    # Subsets only.
    assert listings_config({**base, "cytometry": {"claims": {
        "memory_effector_subsets": ("naive", "temra")}}})["cytometry"] == {
        "claims": {"memory_effector_subsets": ["naive", "temra"]}}


def test_adam_config_study_id_washout_and_cutoff_converted():
    """adam_config: study id as text, the washout as an int, the cut-off as text."""
    from aiha.settings import adam_config

    got = adam_config(_config())
    assert got == {"study_id": "4711", "transfusion_washout_days": 11,
                   "data_cutoff": "2021-03-04", "treatment_emergent_days_after_last_dose": 30}
    assert type(got["transfusion_washout_days"]) is int
    assert type(got["treatment_emergent_days_after_last_dose"]) is int
    # No safety section, or no window: every event from the first dose counts.
    cfg = _config()
    del cfg["safety"]
    assert adam_config(cfg)["treatment_emergent_days_after_last_dose"] is None


def test_content_config_windows_as_lists_and_the_documented_default():
    """content_config: the configured windows as lists; default [[-84,-1],[0,83],[84,167]]."""
    from aiha.settings import DEFAULT_TRANSFUSION_WINDOWS, content_config

    assert content_config(_config()) == {"transfusion_windows_days": [[-10, -1], [0, 9]]}
    assert DEFAULT_TRANSFUSION_WINDOWS == [[-84, -1], [0, 83], [84, 167]]
    expected_default = {"transfusion_windows_days": [[-84, -1], [0, 83], [84, 167]]}
    assert content_config({}) == expected_default
    assert content_config({"report": None}) == expected_default
    assert content_config({"report": {"decimals": 1}}) == expected_default
    got = content_config({})
    got["transfusion_windows_days"][0][0] = 0
    assert DEFAULT_TRANSFUSION_WINDOWS[0] == [-84, -1]  # the default is not shared


def test_cytometry_event_figures_config_reads_gating_settings_with_defaults():
    """cytometry_event_figures_config: each gating/figure key, copied; documented defaults when absent."""
    from aiha.settings import cytometry_event_figures_config

    cyto = _config()["cytometry"]
    before = copy.deepcopy(cyto)
    got = cytometry_event_figures_config(cyto)
    assert got == {
        "gating_source": "flowjo", "transform": "asinh", "asinh": {"t": 1000, "m": 4.0, "a": 0.5},
        "panel": {"phenotype": {"CD38 PE": "CD38"}}, "missing_spillover": "uncompensated",
        "fcs_ignore_offset_error": True,
        "tube_populations": {
            "phenotype": {"t_cells": "Tc", "cd38": "C38", "subset naive": "N",
                          "subset central_memory": "CMx", "subset effector_memory": "EMx",
                          "subset temra": "TE"},
            "function": {"t_cells": "Tc", "activation": "A69", "divided": "Dv"}},
        "svg_hashsalt": "salt-x"}
    assert got["fcs_ignore_offset_error"] is True
    got["asinh"]["t"] = 0
    got["panel"]["phenotype"]["x"] = "y"
    assert cyto == before  # copies, not the config's own dicts
    for key in ("panel", "missing_spillover", "fcs_ignore_offset_error"):
        del cyto[key]
    got = cytometry_event_figures_config(cyto)
    assert got["panel"] == {} and got["missing_spillover"] == "refuse"
    assert got["fcs_ignore_offset_error"] is False
    cyto["panel"] = None
    cyto["fcs_ignore_offset_error"] = 0
    got = cytometry_event_figures_config(cyto)
    assert got["panel"] == {} and got["fcs_ignore_offset_error"] is False


def test_cytometry_claims_config_drops_the_labels_and_copies():
    """cytometry_claims_config: populations without labels, claims, exclude_flagged as bool."""
    from aiha.settings import cytometry_claims_config

    cyto = _config()["cytometry"]
    before = copy.deepcopy(cyto)
    got = cytometry_claims_config(cyto)
    assert got == {
        "populations": {"t_cells": "Tc", "cd38": "C38", "activation": "A69", "divided": "Dv",
                        "subsets": {"naive": "N", "central_memory": "CMx",
                                    "effector_memory": "EMx", "temra": "TE"}},
        "claims": {"depletion_threshold_percent": 2.5, "depletion_window_days": [2, 40],
                   "memory_effector_subsets": ("temra",)},
        "qc": {"exclude_flagged": False}}
    assert got["qc"]["exclude_flagged"] is False
    assert cyto == before  # the labels stay in the config
    got["claims"]["depletion_window_days"].append(99)
    assert cyto["claims"]["depletion_window_days"] == [2, 40]
    cyto["qc"]["exclude_flagged"] = "yes"
    del cyto["populations"]["labels"]
    got = cytometry_claims_config(cyto)
    assert got["qc"]["exclude_flagged"] is True and "labels" not in got["populations"]


def test_cytometry_summary_figures_config_adds_labels_and_figure_settings():
    """cytometry_summary_figures_config: the claims settings, display labels, patients, salt."""
    from aiha.settings import cytometry_summary_figures_config

    cyto = _config()["cytometry"]
    got = cytometry_summary_figures_config(cyto)
    assert set(got) == {"populations", "claims", "qc", "labels", "figures"}
    assert got["labels"] == OWN_LABELS  # the lab's own labels for every role
    assert got["figures"] == {"summary_max_patients": 4, "svg_hashsalt": "salt-x"}
    assert type(got["figures"]["summary_max_patients"]) is int
    assert "labels" not in got["populations"] and got["qc"] == {"exclude_flagged": False}
    assert got["claims"]["depletion_threshold_percent"] == 2.5


# ============================================================== qc (library cross-check)

def _cohort():
    patients = pd.DataFrame({"patient_id": ["P1", "P2", "P3", "P4", "P5", "P6", "P7", "P8", "P9",
                                            "P10"],
                             "evans": ["True", "true", "False", "TRUE", "False", "True", "True",
                                       "True", "True", "False"]})
    responses = pd.DataFrame({
        "patient_id": ["P1", "P2", "P3", "P4", "P5", "P6", "P7", "P8", "P9", "P10"],
        "analysis_group": ["wAIHA", "wAIHA", "wAIHA", "wAIHA", "wAIHA", "cAIHA", "cAIHA",
                           "cAIHA", "wAIHA", "mixed"],
        "best_response": ["CR", "PR", "HR", "NR", "NR", "PR", "NR", "CR", "CR", "NR"],
        "efficacy_set": ["True", "true", "True", "TRUE", "True", "True", "True", "False",
                         "no", "True"],
        "ongoing": ["TRUE", "False", "False", "False", "yes", "True", "False", "True", "True",
                    "False"],
    })
    aes = pd.DataFrame({"grade": ["1", "2", "2", "4", "5", "6"]})
    return patients, responses, aes


def test_independent_counts_every_count_by_hand():
    """independent_counts: every count of a ten-patient cohort, worked out by hand."""
    from aiha.qc import independent_counts

    got = independent_counts(*_cohort())
    # Efficacy set: P1-P7 and P10 (P8 'False', P9 'no').
    expected = {
        "n_efficacy/all/n": 8, "n_efficacy/cAIHA/n": 2, "n_efficacy/mixed/n": 1,
        "n_efficacy/wAIHA/n": 5,
        "orr/wAIHA/numerator": 3, "orr/wAIHA/denominator": 5,  # P1 CR, P2 PR, P3 HR
        "cr/wAIHA/numerator": 1, "pr/wAIHA/numerator": 1,
        "nr_evans/wAIHA/numerator": 1, "nr_evans/wAIHA/denominator": 2,  # P4 'TRUE', P5
        "ongoing/wAIHA/numerator": 1,  # P1 'TRUE' ('yes' is not true)
        "hb_response/cAIHA/numerator": 1, "hb_response/cAIHA/denominator": 2,
        "ongoing/cAIHA/numerator": 1,
        "ae_events/all/n": 6,
        "ae_grade/all/grade_1": 1, "ae_grade/all/grade_2": 2, "ae_grade/all/grade_3": 0,
        "ae_grade/all/grade_4": 1, "ae_grade/all/grade_5": 1,
    }
    assert got == expected
    assert all(type(v) is int for v in got.values()), {k: type(v) for k, v in got.items()}


def test_independent_counts_without_responders_or_complete_responses():
    """independent_counts: no CR/PR and no responder give zeros, not a default of one."""
    from aiha.qc import independent_counts

    patients = pd.DataFrame({"patient_id": ["A", "B", "C"], "evans": ["False", "True", "False"]})
    responses = pd.DataFrame({"patient_id": ["A", "B", "C"],
                              "analysis_group": ["wAIHA", "wAIHA", "cAIHA"],
                              "best_response": ["NR", "HR", "NR"],
                              "efficacy_set": ["True", "True", "True"],
                              "ongoing": ["False", "False", "False"]})
    got = independent_counts(patients, responses, pd.DataFrame({"grade": [3]}))
    assert (got["cr/wAIHA/numerator"], got["pr/wAIHA/numerator"]) == (0, 0)
    assert (got["orr/wAIHA/numerator"], got["orr/wAIHA/denominator"]) == (1, 2)
    assert (got["nr_evans/wAIHA/numerator"], got["nr_evans/wAIHA/denominator"]) == (0, 1)
    assert (got["hb_response/cAIHA/numerator"], got["hb_response/cAIHA/denominator"]) == (0, 1)
    assert [got[f"ae_grade/all/grade_{g}"] for g in range(1, 6)] == [0, 0, 1, 0, 0]
    assert "ae_grade/all/grade_6" not in got and "ae_grade/all/grade_0" not in got


def test_independent_intervals_clopper_pearson_by_hand():
    """independent_intervals: exact bounds at the configured level; NaN for an empty group."""
    from scipy.stats import beta

    from aiha.qc import independent_intervals

    counts = {"orr/wAIHA/numerator": 0, "orr/wAIHA/denominator": 4,
              "hb_response/cAIHA/numerator": 3, "hb_response/cAIHA/denominator": 3}
    got = independent_intervals(counts, 0.9)
    assert set(got) == {"orr/wAIHA/ci_lower", "orr/wAIHA/ci_upper",
                        "hb_response/cAIHA/ci_lower", "hb_response/cAIHA/ci_upper"}
    # k = 0: [0, 1 - (alpha/2)^(1/n)]; k = n: [(alpha/2)^(1/n), 1]; alpha = 0.1.
    assert got["orr/wAIHA/ci_lower"] == pytest.approx(0.0, abs=1e-12)
    assert got["orr/wAIHA/ci_upper"] == pytest.approx(1 - 0.05 ** 0.25, rel=1e-9)
    assert got["hb_response/cAIHA/ci_lower"] == pytest.approx(0.05 ** (1 / 3), rel=1e-9)
    assert got["hb_response/cAIHA/ci_upper"] == pytest.approx(1.0, abs=1e-12)
    assert all(type(v) is float for v in got.values())
    counts = {"orr/wAIHA/numerator": "2", "orr/wAIHA/denominator": "5",
              "hb_response/cAIHA/numerator": 0, "hb_response/cAIHA/denominator": 0}
    got = independent_intervals(counts, 0.9)
    assert got["orr/wAIHA/ci_lower"] == pytest.approx(beta.ppf(0.05, 2, 4), rel=1e-9)
    assert got["orr/wAIHA/ci_upper"] == pytest.approx(beta.ppf(0.95, 3, 3), rel=1e-9)
    assert math.isnan(got["hb_response/cAIHA/ci_lower"])
    assert math.isnan(got["hb_response/cAIHA/ci_upper"])
    assert len(got) == 4


def test_independent_km_steps_by_hand():
    """independent_km: S(t) of efficacy-set responders at each distinct time, by hand."""
    from aiha.qc import independent_km

    rows = [  # group, best response, efficacy set, duration, event
        ("wAIHA", "CR", "True", 2.0, 1), ("wAIHA", "PR", "True", 4.0, 0),
        ("wAIHA", "HR", "True", 4.0, 1), ("wAIHA", "CR", "true", 6.0, 1),
        ("wAIHA", "NR", "True", 1.0, 1), ("wAIHA", "CR", "False", 1.0, 1),
        ("cAIHA", "PR", "True", 1.5, 0), ("cAIHA", "HR", "True", 3.0, 1),
        ("cAIHA", "CR", "TRUE", 5.0, 0), ("cAIHA", "MR", "True", 0.5, 1),
    ]
    responses = pd.DataFrame(rows, columns=["analysis_group", "best_response", "efficacy_set",
                                            "duration_months", "event"])
    responses["duration_months"] = responses["duration_months"].astype(str)
    responses["event"] = responses["event"].astype(str)
    got = independent_km(responses)
    # wAIHA: 4 at risk, 1 event at 2 -> 3/4; 3 at risk at 4, 1 event -> 3/4 * 2/3; then 0.
    # cAIHA: censored at 1.5 -> 1; 2 at risk at 3, one event -> 1/2; held at 5.
    expected = {"km/wAIHA/S(2)": 0.75, "km/wAIHA/S(4)": 0.5, "km/wAIHA/S(6)": 0.0,
                "km/cAIHA/S(1.5)": 1.0, "km/cAIHA/S(3)": 0.5, "km/cAIHA/S(5)": 0.5}
    assert set(got) == set(expected)
    for key, value in expected.items():
        assert got[key] == pytest.approx(value, abs=1e-12), key


def test_compare_table_at_the_tolerance_edge_and_both_undefined():
    """qc.compare: a difference equal to tol agrees, just above fails; NaN on both sides agrees."""
    from aiha.qc import QC_COLUMNS, compare

    primary = {"b/g/n": 1.0, "a/g/n": 2.0, "c/g/ci_lower": NAN, "z/only/primary": 5.0}
    independent = {"b/g/n": 1.5, "a/g/n": 2, "c/g/ci_lower": NAN, "d/g/ci_upper": NAN}
    table = compare(primary, independent, 0.5)
    assert list(table.columns) == QC_COLUMNS == ["statistic", "primary", "independent",
                                                 "abs_diff", "status"]
    assert list(table["statistic"]) == ["a/g/n", "b/g/n", "c/g/ci_lower", "d/g/ci_upper"]
    assert list(table["status"]) == ["agree", "agree", "agree: both undefined",
                                     "agree: both undefined"]
    assert list(table["primary"])[:2] == [2.0, 1.0]
    assert list(table["independent"])[:2] == [2.0, 1.5]
    assert list(table["abs_diff"])[:2] == [0.0, 0.5]
    assert all(math.isnan(v) for v in table["abs_diff"][2:])
    assert all(math.isnan(v) for v in table["primary"][2:])
    # Just inside the edge fails, naming the statistic and both values.
    with pytest.raises(AssertionError) as err:
        compare(primary, independent, 0.4999)
    assert str(err.value) == ("double programming disagrees (tolerance 0.4999): "
                              "b/g/n: primary 1.0 vs independent 1.5")


def test_compare_one_side_undefined_is_an_infinite_difference():
    """qc.compare: NaN on one side only has difference inf (agrees only at tol inf)."""
    from aiha.qc import QCMismatch, compare

    table = compare({"a/g/x": NAN, "b/g/x": 1.0}, {"a/g/x": 3.0, "b/g/x": NAN}, math.inf)
    assert list(table["status"]) == ["agree", "agree"]
    assert list(table["abs_diff"]) == [math.inf, math.inf]
    with pytest.raises(QCMismatch) as err:
        compare({"a/g/x": NAN, "b/g/x": 1.0, "c/g/x": 0.0},
                {"a/g/x": 3.0, "b/g/x": NAN, "c/g/x": 0.0}, 1e9)
    assert str(err.value) == ("double programming disagrees (tolerance 1e+09): "
                              "a/g/x: primary nan vs independent 3.0; "
                              "b/g/x: primary 1.0 vs independent nan")
    assert issubclass(QCMismatch, AssertionError)
    empty = compare({}, {}, 0.0)
    assert list(empty.columns) == ["statistic", "primary", "independent", "abs_diff", "status"]
    assert len(empty) == 0


def test_primary_values_keys_the_ard_and_the_km_curve():
    """primary_values: 'stat/group/statistic' -> float, and km/<group>/S(<t>) from the curve."""
    from aiha.qc import primary_values

    ard = pd.DataFrame({"stat_id": ["orr", "orr"], "group": ["wAIHA", "cAIHA"],
                        "statistic": ["numerator", "proportion"], "value": ["3", "0.25"]})
    km = pd.DataFrame({"group": ["wAIHA", "wAIHA", "cAIHA"], "time_months": ["2.0", "1.5", 10],
                       "survival": ["0.75", 1, "0.5"]})
    got = primary_values(ard, km)
    assert got == {"orr/wAIHA/numerator": 3.0, "orr/cAIHA/proportion": 0.25,
                   "km/wAIHA/S(2)": 0.75, "km/wAIHA/S(1.5)": 1.0, "km/cAIHA/S(10)": 0.5}
    assert all(type(v) is float for v in got.values())


# ============================================================== qc_compare (R)

def _keyed(rows) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=["stat_id", "group", "statistic", "value"])


def _one(a: str, b: str, tol: float) -> str:
    from aiha.qc_compare import compare

    ard = _keyed([("s", "g", "x", a)])
    return compare(ard, _keyed([("s", "g", "x", b)]), tol)["status"].iloc[0]


def test_r_tolerance_is_relative_to_the_larger_value_exactly_at_its_edge():
    """qc_compare: |a-b| <= tol*max(1,|a|,|b|): equal agrees, one step beyond disagrees."""
    # Relative: tol 0.25 of max(|3|, |4|) = 1.0 = the difference.
    assert _one("3", "4", 0.25) == "agree"
    assert _one("4", "3", 0.25) == "agree"
    assert _one("-3", "-4", 0.25) == "agree"
    assert _one("3", "4", 0.2499) == "disagree"
    assert _one("4", "3", 0.2499) == "disagree"
    assert _one("-4", "-3", 0.2499) == "disagree"
    # Absolute below 1: tol 0.25 of 1.
    assert _one("0.25", "0.5", 0.25) == "agree"
    assert _one("0", "0.5", 0.25) == "disagree"
    assert _one("0.5", "0", 0.25) == "disagree"
    assert _one("0.5", "0.25", 0.2499) == "disagree"
    assert _one("2", "2", 0.0) == "agree"


def test_r_undefined_text_and_infinities():
    """qc_compare: '', 'nan', 'NA' are undefined; an infinity agrees only with the same one."""
    cases = [(" ", "NA", "agree"), ("Na", "nAn", "agree"), ("", "nan", "agree"),
             (" 7 ", "7.0", "agree"), ("", "0", "disagree"), ("0", "NA", "disagree"),
             ("inf", "inf", "agree"), ("-inf", "-inf", "agree"), ("inf", "-inf", "disagree"),
             ("-inf", "5", "disagree"), ("5", "-inf", "disagree"), ("inf", "", "disagree")]
    for a, b, status in cases:
        assert _one(a, b, 1e-9) == status, (a, b)
    # Not a number: an error, not a silent disagreement.
    with pytest.raises(ValueError):
        _one("seven", "7", 1e-9)


def test_r_compare_rows_order_values_and_statuses():
    """qc_compare.compare: ARD order, then R-only keys sorted; raw texts, abs_diff, status."""
    from aiha.qc_compare import COMPARISON_COLUMNS, compare

    ard = _keyed([("k3", "g", "s", "1.0"), ("k1", "g", "s", "2"), ("k2", "g", "s", "inf"),
                  ("k6", "g", "s", "")])
    r = _keyed([("k2", "g", "s", "inf"), ("z5", "g", "s", "9"), ("m4", "b", "s", "8"),
                ("k1", "g", "s", "2.5"), ("k6", "g", "s", "1"), ("m4", "a", "s", "7")])
    table = compare(ard, r, 0.1)
    assert list(table.columns) == COMPARISON_COLUMNS == ["stat_id", "group", "statistic", "ard",
                                                         "r", "abs_diff", "status"]
    assert list(zip(table["stat_id"], table["group"])) == [
        ("k3", "g"), ("k1", "g"), ("k2", "g"), ("k6", "g"), ("m4", "a"), ("m4", "b"), ("z5", "g")]
    assert list(table["status"]) == ["only in ARD", "disagree", "agree", "disagree",
                                     "only in R", "only in R", "only in R"]
    assert list(table["ard"]) == ["1.0", "2", "inf", "", "", "", ""]
    assert list(table["r"]) == ["", "2.5", "inf", "1", "7", "8", "9"]
    diffs = list(table["abs_diff"])
    assert diffs[1] == 0.5
    assert all(math.isnan(d) for i, d in enumerate(diffs) if i != 1)
    assert list(table["statistic"]) == ["s"] * 7
    # Finite values on both sides give their difference.
    two = compare(_keyed([("a", "g", "s", "-1")]), _keyed([("a", "g", "s", "2")]), 10.0)
    assert list(two["abs_diff"]) == [3.0] and list(two["status"]) == ["agree"]


def test_r_compare_refuses_duplicate_keys_naming_the_first():
    """qc_compare.compare: a key twice in the ARD or the R results is an error naming it."""
    from aiha.qc_compare import RQCMismatch, compare

    ok = _keyed([("a", "g", "s", "1")])
    ard = _keyed([("a", "g", "s", "1"), ("b", "h", "t", "1"), ("b", "h", "t", "2")])
    with pytest.raises(RQCMismatch) as err:
        compare(ard, ok, 1e-9)
    assert str(err.value) == "ARD: key b / h / t occurs 2 times"
    r = _keyed([("a", "g", "s", "1"), ("c", "i", "u", "1"), ("c", "i", "u", "1"),
                ("c", "i", "u", "1")])
    with pytest.raises(RQCMismatch) as err:
        compare(ok, r, 1e-9)
    assert str(err.value) == "R results: key c / i / u occurs 3 times"
    # The same statistic in two groups is not a duplicate.
    two = _keyed([("a", "g", "s", "1"), ("a", "h", "s", "1")])
    assert list(compare(two, two, 0.0)["status"]) == ["agree", "agree"]
    assert issubclass(RQCMismatch, AssertionError)


def test_r_summary_counts_and_coverage():
    """qc_compare.summary: ARD rows, compared, coverage, agree, disagree, unmatched."""
    from aiha.qc_compare import SUMMARY_COLUMNS, compare, summary, summary_frame

    ard = _keyed([("a", "g", "s", "1"), ("b", "g", "s", "2"), ("c", "g", "s", "3"),
                  ("d", "g", "s", "4")])
    r = _keyed([("a", "g", "s", "1"), ("b", "g", "s", "5"), ("c", "g", "s", "3"),
                ("e", "g", "s", "4"), ("f", "g", "s", "4")])
    table = compare(ard, r, 1e-9)
    got = summary(table, 4)
    assert got == {"ard_rows": 4, "compared": 3, "coverage": 0.75, "agree": 2, "disagree": 1,
                   "only_in_ard": 1, "only_in_r": 2}
    assert all(type(got[k]) is int for k in ("compared", "agree", "disagree", "only_in_ard",
                                             "only_in_r"))
    assert math.isnan(summary(table.iloc[0:0], 0)["coverage"])
    assert summary(table, 8)["coverage"] == 3 / 8
    frame = summary_frame(got)
    assert list(frame.columns) == SUMMARY_COLUMNS == ["measure", "value"]
    assert list(frame["measure"]) == ["ard_rows", "compared", "coverage", "agree", "disagree",
                                      "only_in_ard", "only_in_r"]
    assert list(frame["value"]) == [4, 3, 0.75, 2, 1, 1, 2]


def test_r_failure_message_names_each_failing_row_and_the_rest():
    """qc_compare.failure_message/check: each failing row, both values, the limit and 'and N more'."""
    from aiha.qc_compare import RQCMismatch, check, compare, failure_message, failures

    ard = _keyed([("a", "g", "n", "1"), ("b", "g", "n", "2"), ("c", "g", "n", "")])
    r = _keyed([("a", "g", "n", "1"), ("b", "g", "n", "3"), ("c", "g", "n", "4"),
                ("d", "h", "m", "5")])
    table = compare(ard, r, 1e-9)
    assert list(failures(table)["stat_id"]) == ["b", "c", "d"]
    head = "R double programming: 3 of 4 rows fail (results/qc/r_double_programming.tsv): "
    items = ["b / g / n: ARD 2, R 3 (disagree)", "c / g / n: ARD undefined, R 4 (disagree)",
             "d / h / m: ARD undefined, R 5 (only in R)"]
    assert failure_message(table) == head + "; ".join(items)
    assert failure_message(table, limit=3) == head + "; ".join(items)
    assert failure_message(table, limit=2) == head + "; ".join(items[:2]) + "; and 1 more"
    assert failure_message(table, limit=1) == head + items[0] + "; and 2 more"
    with pytest.raises(RQCMismatch) as err:
        check(table)
    assert str(err.value) == head + "; ".join(items)
    only_ard = compare(_keyed([("x", "y", "z", "1")]), _keyed([]), 1e-9)
    assert failure_message(only_ard).endswith("x / y / z: ARD 1, R undefined (only in ARD)")
    good = compare(ard.iloc[:1], r.iloc[:1], 1e-9)
    assert failure_message(good) == "" and check(good) is None
    assert failures(good).empty


def test_r_failure_message_default_limit_is_ten():
    """qc_compare.failure_message: ten rows named by default, then 'and N more'."""
    from aiha.qc_compare import compare, failure_message

    ard = _keyed([(f"s{i:02d}", "g", "n", str(i)) for i in range(11)])
    r = _keyed([(f"s{i:02d}", "g", "n", str(i + 1)) for i in range(11)])
    message = failure_message(compare(ard, r, 1e-9))
    assert message.count("(disagree)") == 10 and message.endswith("; and 1 more")
    assert "s09 / g / n" in message and "s10 / g / n" not in message
    ten = failure_message(compare(ard.iloc[:10], r.iloc[:10], 1e-9))
    assert ten.count("(disagree)") == 10 and "more" not in ten


def test_r_read_keyed_and_compare_files(tmp_path: Path):
    """read_keyed: keys and value as text, a missing column named; compare_files: table and summary."""
    from aiha.qc_compare import compare_files, read_keyed

    ard = tmp_path / "ard.tsv"
    ard.write_text("extra\tstat_id\tgroup\tstatistic\tvalue\nq\torr\twAIHA\tn\t007\n"
                   "q\torr\tNA\tx\tNA\nq\tkm\twAIHA\tS\t\n")
    got = read_keyed(ard)
    assert list(got.columns) == ["stat_id", "group", "statistic", "value"]
    assert got.values.tolist() == [["orr", "wAIHA", "n", "007"], ["orr", "NA", "x", "NA"],
                                   ["km", "wAIHA", "S", ""]]
    bad = tmp_path / "bad.tsv"
    bad.write_text("stat_id\tgroup\tvalue\na\tb\t1\n")
    with pytest.raises(ValueError) as err:
        read_keyed(bad)
    assert str(err.value) == f"{bad}: no column(s) ['statistic']"
    bad.write_text("stat_id\tgroup\tstatistic\na\tb\tc\n")
    with pytest.raises(ValueError, match=r"no column\(s\) \['value'\]"):
        read_keyed(bad)
    r = tmp_path / "r.tsv"
    r.write_text("stat_id\tgroup\tstatistic\tvalue\norr\twAIHA\tn\t8\norr\tNA\tx\tnan\n")
    table, counts = compare_files(ard, r, 0.2)
    assert list(table["status"]) == ["agree", "agree", "only in ARD"]  # 7 vs 8 within 0.2*8
    assert counts == {"ard_rows": 3, "compared": 2, "coverage": 2 / 3, "agree": 2,
                      "disagree": 0, "only_in_ard": 1, "only_in_r": 0}
    table, counts = compare_files(ard, r, 0.1)
    assert list(table["status"]) == ["disagree", "agree", "only in ARD"]


# ============================================================== audit

@pytest.mark.parametrize("value,rule,printed", [
    (0.125, "percent", "13"), (0.005, "percent", "1"), (0.994, "percent", "99"),
    (1.0, "percent", "100"), (0.0, "percent", "0"),
    (0.15, "decimal", "0.2"), (12.25, "decimal", "12.3"), (10.0, "decimal", "10"),
    (7.04, "decimal", "7"), (7.96, "decimal", "8"), (3.14, "decimal", "3.1"),
    (2.5, "integer", "3"), (0.5, "integer", "1"), (-2.5, "integer", "-3"), (2.4999, "integer", "2"),
    (6, "integer", "6"),
    (1, "yes_no", "yes"), (1.0, "yes_no", "yes"), (2.0, "yes_no", "no"), (0.5, "yes_no", "no"),
    (0.0, "positive", "no"), (1e-9, "positive", "yes"), (-3.0, "positive", "no"),
    (1.0, "patients", "1 patient"), (1.4, "patients", "1 patient"),
    (0.5, "patients", "1 patient"), (0.0, "patients", "0 patients"),
    (2.0, "patients", "2 patients"), (1.0, "events", "1 event"), (3.0, "events", "3 events"),
    (None, "integer", "NA"), (NAN, "percent", "NA"), (np.float64("nan"), "decimal", "NA"),
])
def test_render_rounding_rules_half_up_on_the_printed_value(value, rule, printed):
    """render: half up on the shortest printed form (0.15 -> 0.2), each rule's wording."""
    from aiha.audit import render

    assert render(value, rule) == printed


def test_render_refuses_an_unknown_rule():
    """render: an unknown rule is a ValueError naming it."""
    from aiha.audit import RULES, render

    assert RULES == ("integer", "percent", "decimal", "yes_no", "positive", "patients", "events")
    with pytest.raises(ValueError) as err:
        render(1.0, "median")
    assert str(err.value) == "unknown rounding rule 'median'"


def test_check_key_and_list_marker():
    """Check.key is 'stat/group/statistic'; a statistic ending in '*' is a list."""
    from aiha.audit import Check

    c = Check("orr", "wAIHA", "proportion", "percent")
    assert c.key == "orr/wAIHA/proportion" and c.is_list is False
    assert Check("d", "g", "value_*", "integer").is_list is True
    assert Check("d", "g", "*value", "integer").is_list is False


CLAIM_YAML = """claims:
  - id: c1
    sentence: S one
    source: Abstract
    published: 55
    template: "{}%"
    checks:
      - {stat: orr/wAIHA/proportion, rule: percent}
    definition: D one
  - id: 7
    sentence: S two
    source: Table 2
    published: 6 of 11
    template: "{} of {}"
    checks:
      - {stat: orr/wAIHA/numerator, rule: integer}
      - {stat: orr/wAIHA/denominator, rule: integer}
    definition: D two
"""


def test_load_claims_reads_every_field_as_text(tmp_path: Path):
    """load_claims: each claim's fields as text, its checks in order."""
    from aiha.audit import Check, Claim, load_claims

    path = tmp_path / "claims.yaml"
    path.write_text(CLAIM_YAML)
    got = load_claims(path)
    assert got == [
        Claim("c1", "S one", "Abstract", "55", "{}%",
              (Check("orr", "wAIHA", "proportion", "percent"),), "D one"),
        Claim("7", "S two", "Table 2", "6 of 11", "{} of {}",
              (Check("orr", "wAIHA", "numerator", "integer"),
               Check("orr", "wAIHA", "denominator", "integer")), "D two")]
    assert type(got[0].checks) is tuple and type(got[1].id) is str
    assert load_claims(str(path)) == got


def _input_error(path: Path, text: str) -> InputError:
    from aiha.audit import load_claims

    path.write_text(text)
    with pytest.raises(InputError) as err:
        load_claims(path)
    return err.value


def test_load_claims_refuses_bad_files_naming_file_row_column(tmp_path: Path):
    """load_claims: bad YAML, no claims list, non-mapping claim, repeated id: file/row/column/value."""
    path = tmp_path / "c.yaml"
    err = _input_error(path, "claims: [\n")
    assert err.file == str(path) and err.message.startswith("not valid YAML: ")
    for text in ("- 1\n", "claims: {a: 1}\n", "other: []\n", ""):
        err = _input_error(path, text)
        assert (err.file, err.message, err.row) == (str(path),
                                                    "expected a mapping with a 'claims' list", None)
    err = _input_error(path, "claims: [1]\n")
    assert (err.message, err.row, err.column) == ("claim is not a mapping", 1, None)
    twice = CLAIM_YAML.replace("id: 7", "id: c1")
    err = _input_error(path, twice)
    assert (err.file, err.message, err.row, err.column, err.value) == (
        str(path), "claim id repeated", 2, "id", "c1")


@pytest.mark.parametrize("field", ["id", "sentence", "source", "published", "template", "checks",
                                   "definition"])
def test_load_claims_names_the_missing_field(tmp_path: Path, field: str):
    """load_claims: a claim lacking a field is refused naming the claim, row and field."""
    import yaml

    raw = yaml.safe_load(CLAIM_YAML)
    del raw["claims"][1][field]
    err = _input_error(tmp_path / "c.yaml", yaml.safe_dump(raw))
    name = "'?'" if field == "id" else "7"
    assert (err.file, err.message, err.row, err.column) == (
        str(tmp_path / "c.yaml"), f"claim {name} lacks {field!r}", 2, field)


@pytest.mark.parametrize("check", [{"stat": "orr/wAIHA", "rule": "percent"},
                                   {"stat": "orr/wAIHA/n/x", "rule": "percent"},
                                   {"rule": "percent"},
                                   {"stat": "orr/wAIHA/n", "rule": "round"},
                                   {"stat": "orr/wAIHA/n"}])
def test_load_claims_refuses_a_bad_check(tmp_path: Path, check: dict):
    """load_claims: a check whose stat is not id/group/statistic or whose rule is unknown."""
    import yaml

    raw = yaml.safe_load(CLAIM_YAML)
    raw["claims"][1]["checks"].append(check)
    err = _input_error(tmp_path / "c.yaml", yaml.safe_dump(raw))
    assert err.message == ("claim 7: check needs stat 'id/group/statistic' and a rule in "
                           "('integer', 'percent', 'decimal', 'yes_no', 'positive', 'patients', "
                           "'events')")
    assert (err.row, err.column, err.value) == (2, "checks", check)


def test_parse_statistics_and_join_list():
    """parse_statistics splits '; ' keys (bad ones skipped); join_list writes English lists."""
    from aiha.audit import join_list, parse_statistics

    assert parse_statistics("orr/wAIHA/numerator; orr/wAIHA/denominator;bad; a/b/c/d;x/y/z") == [
        ("orr", "wAIHA", "numerator"), ("orr", "wAIHA", "denominator"), ("x", "y", "z")]
    assert parse_statistics(None) == [] and parse_statistics("") == []
    assert parse_statistics(" a/b/c ") == [("a", "b", "c")]
    assert join_list([]) == "none"
    assert join_list(["6"]) == "6"
    assert join_list(["6", "12"]) == "6 and 12"
    assert join_list(["2", "6", "12"]) == "2, 6 and 12"
    assert join_list(["1", "2", "3", "4"]) == "1, 2, 3 and 4"


def _stats(rows) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=["stat_id", "group", "statistic", "value"])


def test_evaluate_pass_fail_and_every_column():
    """evaluate: the claim printed through its template; pass only when equal as text."""
    from aiha.audit import AUDIT_COLUMNS, Check, Claim, evaluate

    claims = [Claim("c1", "S", "Abstract", "6 of 11 (55%)", "{} of {} ({}%)",
                    (Check("orr", "wAIHA", "numerator", "integer"),
                     Check("orr", "wAIHA", "denominator", "integer"),
                     Check("orr", "wAIHA", "proportion", "percent")), "Def"),
              Claim("c2", "S2", "Results", "5.4", "{}",
                    (Check("dor", "wAIHA", "median", "decimal"),), "Def2")]
    ard = _stats([("orr", "wAIHA", "numerator", 6.0), ("orr", "wAIHA", "denominator", 11.0),
                  ("orr", "wAIHA", "proportion", 6 / 11), ("dor", "wAIHA", "median", 5.45)])
    table = evaluate(claims, ard)
    assert list(table.columns) == AUDIT_COLUMNS == ["id", "published", "reproduced", "status",
                                                    "source", "definition", "statistics"]
    assert table.values.tolist() == [
        ["c1", "6 of 11 (55%)", "6 of 11 (55%)", "pass", "Abstract", "Def",
         "orr/wAIHA/numerator; orr/wAIHA/denominator; orr/wAIHA/proportion"],
        ["c2", "5.4", "5.5", "fail", "Results", "Def2", "dor/wAIHA/median"]]
    assert list(evaluate([], ard).columns) == AUDIT_COLUMNS


def test_evaluate_missing_and_undefined_statistics():
    """evaluate: a missing or NaN statistic is 'missing', naming keys, configured reasons, empty groups."""
    from aiha.audit import Check, Claim, evaluate

    def claim(*checks):
        return Claim("c", "S", "src", "x", " ".join("{}" for _ in checks), tuple(checks), "d")

    ard = _stats([("orr", "wAIHA", "proportion", NAN), ("n_treated", "cAIHA", "n", 0.0),
                  ("n_treated", "wAIHA", "n", 5.0), ("orr", "wAIHA", "numerator", 3.0)])
    a = Check("flow_depletion", "all", "n", "integer")
    b = Check("flow_relapse", "all", "n", "integer")
    u = Check("orr", "wAIHA", "proportion", "percent")
    m = Check("orr", "wAIHA", "denominator", "integer")
    c_empty = Check("orr", "cAIHA", "proportion", "percent")
    ok = Check("orr", "wAIHA", "numerator", "integer")

    def row(c, not_computed=None):
        t = evaluate([c], ard, not_computed)
        assert list(t["status"]) == ["missing"]
        return t["reproduced"].iloc[0]

    assert row(claim(ok, m, u)) == ("not computed: orr/wAIHA/denominator, "
                                    "orr/wAIHA/proportion")
    assert row(claim(u)) == "not computed: orr/wAIHA/proportion"
    reasons = {"flow_": "no cytometry data", "zz": "other", "flow_rel": "late"}
    assert row(claim(a, b), reasons) == "not computed: late; no cytometry data"
    assert row(claim(a, m), {"flow_": "no cytometry data"}) == "not computed: no cytometry data"
    assert row(claim(m), {"flow_": "no cytometry data"}) == "not computed: orr/wAIHA/denominator"
    assert row(claim(c_empty)) == "not computed: no patients in cAIHA"
    assert row(claim(c_empty, a), {"flow_": "no flow"}) == ("not computed: no flow; "
                                                            "no patients in cAIHA")
    # A NaN value in an empty group names the group too.
    ard2 = pd.concat([ard, _stats([("orr", "cAIHA", "numerator", NAN)])], ignore_index=True)
    t = evaluate([claim(Check("orr", "cAIHA", "numerator", "integer"))], ard2)
    assert list(t["reproduced"]) == ["not computed: no patients in cAIHA"]
    # The pass-through fields of a missing claim.
    t = evaluate([claim(ok, m)], ard)
    assert t.iloc[0][["id", "published", "source", "definition", "statistics"]].tolist() == [
        "c", "x", "src", "d", "orr/wAIHA/numerator; orr/wAIHA/denominator"]


def test_evaluate_list_statistics_in_numeric_order():
    """evaluate: a '*' check prints value_N of its stat and group in numeric order, 'none' if none."""
    from aiha.audit import Check, Claim, evaluate

    ard = _stats([("ongoing_duration", "wAIHA", "value_10", 12.0),
                  ("ongoing_duration", "wAIHA", "value_x", 99.0),
                  ("ongoing_duration", "wAIHA", "value_2", 6.0),
                  ("ongoing_duration", "wAIHA", "value_1", 2.0),
                  ("ongoing_duration", "wAIHA", "value_", 98.0),
                  ("ongoing_duration", "cAIHA", "value_3", 50.0),
                  ("other", "wAIHA", "value_4", 51.0),
                  ("ongoing_duration", "wAIHA", "count", 4.0)])
    lst = Check("ongoing_duration", "wAIHA", "value_*", "integer")
    claim = Claim("c", "S", "src", "2, 6, 12, 99 and 98 months", "{} months", (lst,), "d")
    table = evaluate([claim], ard)
    assert list(table["reproduced"]) == ["2, 6, 12, 99 and 98 months"]
    assert list(table["status"]) == ["pass"]
    assert list(table["statistics"]) == ["ongoing_duration/wAIHA/value_*"]
    none = Claim("n", "S", "src", "none months", "{} months",
                 (Check("ongoing_duration", "other", "value_*", "integer"),), "d")
    assert evaluate([none], ard)[["reproduced", "status"]].values.tolist() == [
        ["none months", "pass"]]
    one = Claim("o", "S", "src", "50", "{}",
                (Check("ongoing_duration", "cAIHA", "value_*", "integer"),), "d")
    assert list(evaluate([one], ard)["reproduced"]) == ["50"]


def test_evaluate_reporting_event_reads_the_event_and_passes_the_reasons(tmp_path: Path,
                                                                        monkeypatch):
    """evaluate_reporting_event: values read from the event at the path, reasons passed on."""
    import aiha.audit as audit

    seen = []

    def fake_read_results(path):
        seen.append(path)
        return _stats([("orr", "wAIHA", "numerator", 6.0)])

    monkeypatch.setattr(audit, "read_results", fake_read_results)
    claims = [audit.Claim("c", "S", "src", "6", "{}",
                          (audit.Check("orr", "wAIHA", "numerator", "integer"),), "d"),
              audit.Claim("f", "S", "src", "1", "{}",
                          (audit.Check("flow_x", "all", "n", "integer"),), "d")]
    event = tmp_path / "reporting_event.json"
    table = audit.evaluate_reporting_event(claims, event, {"flow_": "no cytometry"})
    assert seen == [event]
    assert table[["id", "reproduced", "status"]].values.tolist() == [
        ["c", "6", "pass"], ["f", "not computed: no cytometry", "missing"]]
    table = audit.evaluate_reporting_event(claims, event)
    assert list(table["reproduced"]) == ["6", "not computed: flow_x/all/n"]


def test_all_pass_only_when_every_claim_passed():
    """all_pass: True only for a non-empty table of passes."""
    from aiha.audit import all_pass

    assert all_pass(pd.DataFrame({"status": ["pass", "pass"]})) is True
    assert all_pass(pd.DataFrame({"status": ["pass", "missing"]})) is False
    assert all_pass(pd.DataFrame({"status": ["fail"]})) is False
    assert all_pass(pd.DataFrame({"status": pd.Series([], dtype=str)})) is False


def _audit_table() -> pd.DataFrame:
    return pd.DataFrame({"id": ["a", "long_id"], "published": ["55%", "1"],
                         "reproduced": ["55%", "2"], "status": ["pass", "fail"],
                         "source": ["s", "s"], "definition": ["d", "d"],
                         "statistics": ["x/y/z", "x/y/z"]})


def test_format_table_pads_each_column_to_its_widest_cell():
    """format_table: header, dashes, padded rows, 'N of M claims reproduced'."""
    from aiha.audit import format_table

    assert format_table(_audit_table()) == "\n".join([
        "id       published  reproduced  status",
        "-------  ---------  ----------  ------",
        "a        55%        55%         pass  ",
        "long_id  1          2           fail  ",
        "1 of 2 claims reproduced"])
    wide = pd.DataFrame({"id": ["x"], "published": ["a published value"], "reproduced": ["r"],
                         "status": ["missing"]})
    assert format_table(wide).splitlines()[:3] == [
        "id  published          reproduced  status ",
        "--  -----------------  ----------  -------",
        "x   a published value  r           missing"]
    assert format_table(wide).splitlines()[-1] == "0 of 1 claims reproduced"


def test_claims_file_named_by_the_config(tmp_path: Path):
    """claims_file: audit.claims as text; None without it, with null, or an empty config."""
    from aiha.audit import claims_file

    cfg = tmp_path / "config.yaml"
    for text, expected in (("audit: {claims: resources/c.yaml}\n", "resources/c.yaml"),
                           ("audit: {claims: 12}\n", "12"),
                           ("audit: {claims: null}\n", None), ("audit: {claims: ''}\n", None),
                           ("audit: null\n", None), ("data: {}\n", None), ("", None)):
        cfg.write_text(text)
        assert claims_file(cfg) == expected, text
    cfg.write_text("audit: {claims: a.yaml}\n")
    assert claims_file(str(cfg)) == "a.yaml"


def test_main_prints_the_audit_and_exits_by_its_result(tmp_path: Path, capsys, monkeypatch):
    """main: prints the table; 0 if all pass, 1 otherwise; --has-claims 0 or 3 with a note."""
    from aiha.audit import format_table, main

    table = _audit_table()
    failing = tmp_path / "claims.tsv"
    table.to_csv(failing, sep="\t", index=False)
    passing = tmp_path / "ok.tsv"
    table.iloc[:1].to_csv(passing, sep="\t", index=False)
    monkeypatch.setattr("sys.argv", ["aiha.audit", "--has-claims", "nowhere.yaml"])
    assert main([str(failing)]) == 1
    assert capsys.readouterr().out == format_table(table) + "\n"
    assert main([str(passing)]) == 0
    assert capsys.readouterr().out.endswith("1 of 1 claims reproduced\n")
    cfg = tmp_path / "config.yaml"
    cfg.write_text("audit: {claims: c.yaml}\n")
    assert main(["--has-claims", str(cfg)]) == 0
    assert capsys.readouterr().out == ""
    cfg.write_text("audit: {claims: null}\n")
    assert main(["--has-claims", str(cfg)]) == 3
    assert capsys.readouterr().out == (f"No claims file in {cfg} (audit.claims): this study has "
                                       "no audit.\n")
    # Without arguments it reads the command line.
    monkeypatch.setattr("sys.argv", ["aiha.audit", str(passing)])
    assert main() == 0
    monkeypatch.setattr("sys.argv", ["aiha.audit", "--has-claims", str(cfg)])
    assert main() == 3


# ============================================================== cytometry sample QC

def test_fcs_spillover_prefers_spillover_then_spill():
    """fcs_spillover: $SPILLOVER, else $SPILL, else None."""
    from aiha.cytometry.sample_qc import fcs_spillover

    assert fcs_spillover({"spillover": "1,A,1", "spill": "1,B,1"}) == "1,A,1"
    assert fcs_spillover({"spill": "1,B,1", "tot": "3"}) == "1,B,1"
    assert fcs_spillover({"tot": "3"}) is None
    assert fcs_spillover({"SPILLOVER": "x"}) is None  # lower-case keys, as flowio gives them


def _spill_error(spill: str, pnn=("FL1-A", "FL2-A")) -> InputError:
    from aiha.cytometry.sample_qc import check_spillover

    with pytest.raises(InputError) as err:
        check_spillover("s1.fcs", list(pnn), spill)
    assert err.value.file == "s1.fcs" and err.value.column == "$SPILLOVER"
    assert err.value.row is None
    return err.value


def test_check_spillover_accepts_a_valid_matrix():
    """check_spillover: an invertible n x n matrix of known detectors passes (spaces, '2.0')."""
    from aiha.cytometry.sample_qc import check_spillover

    pnn = ["FSC-A", "FL1-A", "FL2-A"]
    assert check_spillover("a.fcs", pnn, "2,FL1-A,FL2-A,1,0.1,0.2,1") is None
    assert check_spillover("a.fcs", pnn, " 2.0 , FL2-A , FL1-A , 1 , 0 , 0 , 1 ") is None
    assert check_spillover("a.fcs", pnn, "1,FSC-A,2") is None
    # det = 1e-12 exactly: not below the limit.
    assert check_spillover("a.fcs", pnn, "1,FL1-A,1e-12") is None


def test_check_spillover_refusals_name_file_keyword_and_value():
    """check_spillover: each refusal (count, size, detector, coefficient, singular) names file and value."""
    err = _spill_error("two,FL1-A,FL2-A,1,0,0,1")
    assert (err.message, err.value) == ("spillover count is not a number", "two")
    err = _spill_error("")
    assert (err.message, err.value) == ("spillover count is not a number", "")
    err = _spill_error("2,FL1-A,FL2-A,1,0,0")
    assert (err.message, err.value) == (
        "spillover holds 5 values, expected 2 names and 4 coefficients", 2)
    err = _spill_error("2,FL1-A,FL2-A,1,0,0,1,0")
    assert (err.message, err.value) == (
        "spillover holds 7 values, expected 2 names and 4 coefficients", 2)
    err = _spill_error("0")
    assert (err.message, err.value) == (
        "spillover holds 0 values, expected 0 names and 0 coefficients", 0)
    err = _spill_error("-1,FL1-A,1,2")
    assert err.message.startswith("spillover holds 3 values") and err.value == -1
    err = _spill_error("2,FL1-A,FL9-A,1,0,0,1")
    assert (err.message, err.value) == (
        "spillover names a detector that is not a channel ($PnN)", "FL9-A")
    err = _spill_error("2,FL9-A,FL1-A,1,0,0,1")
    assert err.value == "FL9-A"
    err = _spill_error("2,FL1-A,FL2-A,1,x,0,1")
    assert (err.message, err.value) == ("spillover coefficient is not a number", None)
    for singular in ("2,FL1-A,FL2-A,1,1,1,1", "2,FL1-A,FL2-A,0,0,0,0", "1,FL1-A,0.99e-12",
                     "2,FL1-A,FL2-A,1,nan,0,1", "2,FL1-A,FL2-A,inf,0,0,1"):
        err = _spill_error(singular)
        assert (err.message, err.value) == ("spillover matrix is not invertible", None), singular


def _flowio_fcs(path: Path, values: np.ndarray, names, meta) -> Path:
    """An FCS 3.1 file written by flowio with float32 ``values`` (events x channels)."""
    import flowio

    data = array("f")
    data.frombytes(np.ascontiguousarray(values, dtype="<f4").tobytes())
    handle = io.BytesIO()
    flowio.create_fcs(handle, data, list(names), metadata_dict=dict(meta))
    path.write_bytes(handle.getvalue())
    return path


def _read(path: Path):
    import flowio

    return flowio.FlowData(str(path))


def test_check_datatype_real_fcs_files(tmp_path: Path):
    """check_datatype on flowio files: integer bit patterns refused as F, and as I above $PnR."""
    from aiha.cytometry.sample_qc import check_datatype

    floats = _flowio_fcs(tmp_path / "f.fcs", np.array([[1.0, 0.0], [250.5, 3.0]]), ["A", "B"],
                         {"P1R": "1024", "P2R": "256"})
    assert check_datatype(str(floats), _read(floats)) is None
    # Integers 5, 300 / 7, 100 stored as bit patterns (subnormal floats), declared F.
    bits = np.array([[5, 7], [300, 100]], dtype="<u4").view("<f4")
    ints = _flowio_fcs(tmp_path / "i.fcs", bits, ["A", "B"], {"P1R": "300", "P2R": "99"})
    with pytest.raises(InputError) as err:
        check_datatype(str(ints), _read(ints))
    assert (err.value.file, err.value.column, err.value.value) == (str(ints), "$DATATYPE", "F")
    assert err.value.message == ("$DATATYPE F but 4 values are subnormal numbers: the DATA "
                                 "segment looks like integers; re-export the file")
    # Declared I: channel 1 max 300 = $P1R passes; channel 2 max 100 > $P2R 99 refused.
    raw = ints.read_bytes()
    assert raw.count(b"$DATATYPE/F/") == 1
    declared = tmp_path / "declared.fcs"
    declared.write_bytes(raw.replace(b"$DATATYPE/F/", b"$DATATYPE/I/"))
    with pytest.raises(InputError) as err:
        check_datatype(str(declared), _read(declared))
    assert (err.value.file, err.value.column, err.value.value) == (str(declared), "$DATATYPE",
                                                                   "I")
    assert err.value.message == ("$DATATYPE I but channel 2 holds values up to 100, above its "
                                 "$P2R 99: the DATA segment does not hold 32-bit integers (float "
                                 "data?); re-export the file")
    within = _flowio_fcs(tmp_path / "within.fcs", bits, ["A", "B"], {"P1R": "300", "P2R": "100"})
    within.write_bytes(within.read_bytes().replace(b"$DATATYPE/F/", b"$DATATYPE/I/"))
    assert check_datatype(str(within), _read(within)) is None
    # Float data declared I: the float bit patterns are far above $PnR (channel 1's
    # largest, 250.5 = 1.95703125 * 2**7, is 0x437A8000).
    lying = tmp_path / "lying.fcs"
    lying.write_bytes(floats.read_bytes().replace(b"$DATATYPE/F/", b"$DATATYPE/I/"))
    with pytest.raises(InputError) as err:
        check_datatype(str(lying), _read(lying))
    assert err.value.message.startswith("$DATATYPE I but channel 1 holds values up to "
                                        f"{0x437A8000}, above its $P1R 1024")


def _data(kind, events=None, n=1, header=None, **text):
    t = {"datatype": kind, **{k.lower(): str(v) for k, v in text.items()}}
    return SimpleNamespace(text=t, channel_count=n, events=events, header=header or {})


def test_check_datatype_float_kinds_and_the_subnormal_limit():
    """check_datatype F/D: nonzero values below 1e-30 refused; 1e-30, 0, inf pass; other kinds skipped."""
    from aiha.cytometry.sample_qc import check_datatype

    ok = [0.0, 1e-30, -1e-30, 1.0, math.inf, -math.inf, 5e29]
    for kind in ("F", "D", "f", "d"):
        assert check_datatype("x.fcs", _data(kind, ok, n=1)) is None
    with pytest.raises(InputError) as err:
        check_datatype("x.fcs", _data("d", [1e-31, 0.0, -9e-31, 2.0], n=2))
    assert (err.value.file, err.value.column, err.value.value) == ("x.fcs", "$DATATYPE", "D")
    assert err.value.message.startswith("$DATATYPE D but 2 values are subnormal numbers")
    with pytest.raises(InputError) as err:
        check_datatype("x.fcs", _data("F", [1e-40], n=1))
    assert err.value.message.startswith("$DATATYPE F but 1 values are subnormal")
    # No channels, or a kind that is not F, D or I: nothing is read.
    assert check_datatype("x.fcs", _data("F", [1e-40], n=0)) is None
    assert check_datatype("x.fcs", _data("F", [1e-40], n=None)) is None
    assert check_datatype("x.fcs", _data("A", [1e-40], n=1)) is None
    no_kind = SimpleNamespace(text={}, channel_count=1, events=[1e-40], header={})
    assert check_datatype("x.fcs", no_kind) is None


def _raw_file(tmp_path: Path, payload: bytes, tail: bytes = b"\xff\xff") -> tuple[str, dict]:
    path = tmp_path / "raw.fcs"
    path.write_bytes(b"HEAD" + payload + tail)
    return str(path), {"data_start": 4, "data_stop": 4 + len(payload) - 1}


def test_check_datatype_integer_widths_and_byte_order(tmp_path: Path):
    """check_datatype I: read at $PnB bits in $BYTEORD; equal to $PnR passes, above is refused."""
    from aiha.cytometry.sample_qc import check_datatype

    # 16 bits, two channels, little-endian: (1, 50), (100, 7).
    payload = np.array([[1, 50], [100, 7]], dtype="<u2").tobytes()
    path, header = _raw_file(tmp_path, payload)
    text = dict(P1B=16, P2B=16, P1R=100, P2R=50, BYTEORD="1,2")
    assert check_datatype(path, _data("I", n=2, header=header, **text)) is None
    no_order = {k: v for k, v in text.items() if k != "BYTEORD"}
    assert check_datatype(path, _data("I", n=2, header=header, **no_order)) is None
    with pytest.raises(InputError) as err:
        check_datatype(path, _data("I", n=2, header=header, **{**text, "P2R": 49}))
    assert err.value.message == ("$DATATYPE I but channel 2 holds values up to 50, above its "
                                 "$P2R 49: the DATA segment does not hold 16-bit integers "
                                 "(float data?); re-export the file")
    with pytest.raises(InputError) as err:
        check_datatype(path, _data("I", n=2, header=header, **{**text, "P1R": 99.5}))
    assert "channel 1 holds values up to 100, above its $P1R 99.5:" in err.value.message
    # Read big-endian, 1 -> 256 and 50 -> 12800: above both ranges.
    with pytest.raises(InputError) as err:
        check_datatype(path, _data("I", n=2, header=header, **{**text, "BYTEORD": "2,1"}))
    assert "channel 1 holds values up to 25600" in err.value.message
    big = np.array([[1, 50], [100, 7]], dtype=">u2").tobytes()
    path, header = _raw_file(tmp_path, big)
    assert check_datatype(path, _data("I", n=2, header=header, **{**text,
                                                                  "BYTEORD": "4,3,2,1"})) is None


def test_check_datatype_integer_reads_exactly_the_data_segment(tmp_path: Path):
    """check_datatype I: exactly data_start..data_stop is read; a trailing partial event is dropped."""
    from aiha.cytometry.sample_qc import check_datatype

    # 8 bits, one channel: 10, 20, 50; the byte after the segment (255) is not data.
    path, header = _raw_file(tmp_path, bytes([10, 20, 50]), tail=b"\xff")
    assert check_datatype(path, _data("I", n=1, header=header, P1B=8, P1R=50)) is None
    with pytest.raises(InputError) as err:
        check_datatype(path, _data("I", n=1, header=header, P1B=8, P1R=49))
    assert "channel 1 holds values up to 50, above its $P1R 49" in err.value.message
    assert "does not hold 8-bit integers" in err.value.message
    # The last value (the maximum) is the last byte of the segment: it is read.
    path, header = _raw_file(tmp_path, bytes([1, 2, 60]), tail=b"\x00")
    with pytest.raises(InputError):
        check_datatype(path, _data("I", n=1, header=header, P1B=8, P1R=59))
    # 32 bits, 2 channels, and one stray byte in the segment: one event (3, 4) read.
    payload = np.array([3, 4], dtype="<u4").tobytes() + b"\xff"
    path, header = _raw_file(tmp_path, payload)
    assert check_datatype(path, _data("I", n=2, header=header, P1B=32, P2B=32, P1R=3,
                                      P2R=4)) is None
    # An empty segment reads no event: nothing to compare.
    path, header = _raw_file(tmp_path, b"", tail=b"")
    header["data_stop"] = header["data_start"] - 1
    assert check_datatype(path, _data("I", n=1, header=header, P1B=16, P1R=1)) is None


def test_check_datatype_integer_skips_what_it_cannot_check(tmp_path: Path):
    """check_datatype I: mixed/odd $PnB widths and missing, zero or bad $PnR are not checked."""
    from aiha.cytometry.sample_qc import check_datatype

    payload = np.array([[500, 500]], dtype="<u2").tobytes()
    path, header = _raw_file(tmp_path, payload)
    # Mixed widths (also when the last channel differs), 12 or 64 bits, a missing $PnB.
    for text in (dict(P1B=16, P2B=8), dict(P1B=8, P2B=16), dict(P1B=12, P2B=12),
                 dict(P1B=64, P2B=64), dict(P1B=16)):
        assert check_datatype(path, _data("I", n=2, header=header, P1R=1, P2R=1, **text)) is None
    # $PnR absent, 0 or not a number: that channel is not compared.
    assert check_datatype(path, _data("I", n=2, header=header, P1B=16, P2B=16)) is None
    assert check_datatype(path, _data("I", n=2, header=header, P1B=16, P2B=16, P1R=0,
                                      P2R="x")) is None
    with pytest.raises(InputError) as err:  # the next channel is still compared
        check_datatype(path, _data("I", n=2, header=header, P1B=16, P2B=16, P1R="x", P2R=499))
    assert "channel 2 holds values up to 500" in err.value.message
    with pytest.raises(InputError) as err:
        check_datatype(path, _data("I", n=2, header=header, P1B=16, P2B=16, P2R=499))
    assert "channel 2" in err.value.message
    # Lower-case 'i' is integer data too.
    with pytest.raises(InputError):
        check_datatype(path, _data("i", n=2, header=header, P1B=16, P2B=16, P1R=499))


def _populations() -> pd.DataFrame:
    return pd.DataFrame({"population": ["Time", "Margin", "CD3pos", "CD38pos"],
                         "gate_path": ["Time", "Time/Margin", "Time/Margin/CD3pos",
                                       "Time/Margin/CD3pos/CD38pos"],
                         "count": [95, 90, 40, 12]})


def test_find_population_row_by_name_or_path_and_its_refusal():
    """find_population_row: row by name or path; else InputError naming gating file, sample, FCS file."""
    from aiha.cytometry.sample_qc import find_population_row

    pops = _populations()
    assert find_population_row(pops, "CD3pos", "S1", "s1.fcs", "g.xml", "t cells")["count"] == 40
    row = find_population_row(pops, "CD3pos/CD38pos", "S1", "s1.fcs", "g.xml", "cd38")
    assert row["gate_path"] == "Time/Margin/CD3pos/CD38pos"
    with pytest.raises(InputError) as err:
        find_population_row(pops, "Gone", "S1", "s1.fcs", Path("g.xml"), "t cells")
    e = err.value
    assert (e.file, e.column, e.value, e.row) == ("g.xml", "population", "Gone", None)
    assert e.message == ("sample S1 (FCS file s1.fcs), t cells: population 'Gone' found 0 times "
                         "in the gating tree (name it by a gate name or a gate path such as "
                         "/Parent/Gone)")
    assert err.value.__cause__ is None


def test_qc_row_counts_percent_and_flags_at_their_edges():
    """qc_row: events kept, percent of acquired; each flag only strictly below its threshold."""
    from aiha.cytometry.sample_qc import QC_COLUMNS, qc_row

    assert QC_COLUMNS == ["sample_id", "events_acquired", "events_kept", "percent_kept",
                          "qc_flag"]
    pops = _populations()
    row = qc_row(pops, "S1", 100.0, "Margin", 90, 90.0)
    assert row == {"sample_id": "S1", "events_acquired": 100, "events_kept": 90,
                   "percent_kept": 90.0, "qc_flag": ""}
    assert list(row) == QC_COLUMNS
    assert type(row["events_acquired"]) is int and type(row["events_kept"]) is int
    assert qc_row(pops, "S1", 100, "Margin", 91, 90.0)["qc_flag"] == "low_events_kept"
    assert qc_row(pops, "S1", 100, "Margin", 90, 90.5)["qc_flag"] == "low_percent_kept"
    assert qc_row(pops, "S1", 100, "Margin", 91, 90.5)["qc_flag"] == (
        "low_events_kept;low_percent_kept")
    assert qc_row(pops, "S1", 200, "Time", 1, 1.0)["percent_kept"] == 47.5
    zero = qc_row(pops, "S2", 0, "Time", 95, 0.0)
    assert (zero["percent_kept"], zero["qc_flag"], zero["events_acquired"]) == (0.0, "", 0)
    assert qc_row(pops, "S2", 0, "Time", 95, 0.1)["qc_flag"] == "low_percent_kept"
    strings = pops.assign(count=pops["count"].astype(str))
    assert qc_row(strings, "S3", 120, "CD3pos", 1, 1.0)["events_kept"] == 40


def test_qc_row_names_the_files_when_the_kept_population_is_missing():
    """qc_row: a missing kept population is refused naming gating file, FCS file and config key."""
    from aiha.cytometry.sample_qc import qc_row

    with pytest.raises(InputError) as err:
        qc_row(_populations(), "S9", 100, "Kept", 1, 1.0, fcs_path="s9.fcs",
               gating_path="gating.xml")
    assert (err.value.file, err.value.column, err.value.value) == ("gating.xml", "population",
                                                                   "Kept")
    assert err.value.message.startswith("sample S9 (FCS file s9.fcs), QC population "
                                        "(cytometry.qc.kept_population): population 'Kept' "
                                        "found 0 times")
    with pytest.raises(InputError) as err:
        qc_row(_populations(), "S9", 100, "Kept", 1, 1.0)
    assert err.value.file == "" and "(FCS file )" in err.value.message


# ============================================================== edges found by the mutants

def test_check_datatype_integer_range_of_one(tmp_path: Path):
    """check_datatype I: a $PnR of 1 is a range too: a value of 2 is above it."""
    from aiha.cytometry.sample_qc import check_datatype

    path, header = _raw_file(tmp_path, bytes([1, 2]), tail=b"")
    with pytest.raises(InputError) as err:
        check_datatype(path, _data("I", n=1, header=header, P1B=8, P1R=1))
    assert "channel 1 holds values up to 2, above its $P1R 1:" in err.value.message
    assert check_datatype(path, _data("I", n=1, header=header, P1B=8, P1R=2)) is None


def test_independent_intervals_of_one_patient():
    """independent_intervals: one patient is an interval, not undefined: 1/1 at 90%."""
    from aiha.qc import independent_intervals

    got = independent_intervals({"orr/wAIHA/numerator": 1, "orr/wAIHA/denominator": 1,
                                 "hb_response/cAIHA/numerator": 0,
                                 "hb_response/cAIHA/denominator": 1}, 0.9)
    assert got["orr/wAIHA/ci_lower"] == pytest.approx(0.05, rel=1e-9)
    assert got["orr/wAIHA/ci_upper"] == pytest.approx(1.0, abs=1e-12)
    assert got["hb_response/cAIHA/ci_lower"] == pytest.approx(0.0, abs=1e-12)
    assert got["hb_response/cAIHA/ci_upper"] == pytest.approx(0.95, rel=1e-9)


def test_r_compare_keys_only_in_r_come_after_the_last_ard_row():
    """qc_compare.compare: R-only keys follow every ARD row, even one sorting after them."""
    from aiha.qc_compare import compare

    ard = _keyed([("zz", "g", "s", "1"), ("yy", "g", "s", "2")])
    r = _keyed([("aa", "g", "s", "3"), ("yy", "g", "s", "2"), ("zz", "g", "s", "1")])
    table = compare(ard, r, 1e-9)
    assert list(table["stat_id"]) == ["zz", "yy", "aa"]
    assert list(table["status"]) == ["agree", "agree", "only in R"]
    assert list(table.index) == [0, 1, 2]


def test_evaluate_list_order_around_the_non_numeric_rank():
    """evaluate: non-numeric suffixes rank at 10**9 (after value_999999999, before value_1000000001)."""
    from aiha.audit import Check, Claim, evaluate

    ard = _stats([("d", "g", "value_1000000001", 4.0), ("d", "g", "value_b", 3.0),
                  ("d", "g", "value_999999999", 2.0), ("d", "g", "value_100", 1.0)])
    claim = Claim("c", "S", "src", "1, 2, 3 and 4", "{}", (Check("d", "g", "value_*", "integer"),),
                  "d")
    assert evaluate([claim], ard)[["reproduced", "status"]].values.tolist() == [
        ["1, 2, 3 and 4", "pass"]]


def test_r_read_keyed_keeps_numbers_as_written(tmp_path: Path):
    """read_keyed: numbers stay as written ('007', '1.50'); a comma elsewhere does not split columns."""
    from aiha.qc_compare import compare, read_keyed

    path = tmp_path / "ard.tsv"
    path.write_text("stat_id\tgroup\tstatistic\tvalue\tnote, with commas\n"
                    "orr\twAIHA\tn\t007\ta, b\norr\twAIHA\tp\t1.50\tc, d\n")
    got = read_keyed(path)
    assert list(got.columns) == ["stat_id", "group", "statistic", "value"]
    assert got.values.tolist() == [["orr", "wAIHA", "n", "007"], ["orr", "wAIHA", "p", "1.50"]]
    table = compare(got, got, 0.0)
    assert list(table["ard"]) == ["007", "1.50"] and list(table["r"]) == ["007", "1.50"]


def test_r_compare_difference_is_undefined_next_to_an_infinity():
    """qc_compare.compare: abs_diff is NaN when either side is infinite (and finite otherwise)."""
    from aiha.qc_compare import compare

    ard = _keyed([("a", "g", "s", "inf"), ("b", "g", "s", "5"), ("c", "g", "s", "-inf")])
    r = _keyed([("a", "g", "s", "5"), ("b", "g", "s", "-inf"), ("c", "g", "s", "1")])
    table = compare(ard, r, 1e-9)
    assert list(table["status"]) == ["disagree"] * 3
    assert all(math.isnan(v) for v in table["abs_diff"])


def test_r_compare_and_summary_of_empty_tables_keep_their_columns():
    """qc_compare: comparing two empty tables, and an empty summary, keep the columns."""
    from aiha.qc_compare import COMPARISON_COLUMNS, compare, summary_frame

    empty = compare(_keyed([]), _keyed([]), 1e-9)
    assert list(empty.columns) == COMPARISON_COLUMNS and len(empty) == 0
    frame = summary_frame({})
    assert list(frame.columns) == ["measure", "value"] and len(frame) == 0


def test_r_compare_duplicates_name_the_first_duplicated_key():
    """qc_compare.compare: with two duplicated keys, the first one of the table is named."""
    from aiha.qc_compare import RQCMismatch, compare

    ard = _keyed([("b", "h", "t", "1"), ("c", "i", "u", "1"), ("b", "h", "t", "2"),
                  ("c", "i", "u", "2")])
    with pytest.raises(RQCMismatch, match=r"^ARD: key b / h / t occurs "):
        compare(ard, _keyed([]), 1e-9)


def test_r_compare_duplicate_count_is_of_the_named_key():
    """qc_compare.compare: 'occurs N times' counts the named key only (2, not 4)."""
    from aiha.qc_compare import RQCMismatch, compare

    ard = _keyed([("b", "h", "t", "1"), ("c", "i", "u", "1"), ("b", "h", "t", "2"),
                  ("c", "i", "u", "2")])
    with pytest.raises(RQCMismatch) as err:
        compare(ard, _keyed([]), 1e-9)
    assert str(err.value) == "ARD: key b / h / t occurs 2 times"


def test_load_claims_refusals_name_the_claims_file(tmp_path: Path):
    """load_claims: a claim that is not a mapping and a bad check name the file."""
    import yaml

    path = tmp_path / "named.yaml"
    assert _input_error(path, "claims: [1]\n").file == str(path)
    raw = yaml.safe_load(CLAIM_YAML)
    raw["claims"][0]["checks"] = [{"stat": "a/b", "rule": "integer"}]
    err = _input_error(path, yaml.safe_dump(raw))
    assert (err.file, err.row, err.column) == (str(path), 1, "checks")
    assert err.message.startswith("claim 'c1': check needs stat")


def test_claims_and_config_are_read_as_utf8_whatever_the_locale(tmp_path: Path, monkeypatch):
    """load_claims and claims_file read UTF-8 even where the default encoding is Latin-1."""
    from aiha.audit import claims_file, load_claims

    original = Path.read_text

    def latin1_default(self, encoding=None, errors=None):
        return original(self, encoding="latin-1" if encoding is None else encoding,
                        errors=errors)

    monkeypatch.setattr(Path, "read_text", latin1_default)
    claims = tmp_path / "claims.yaml"
    claims.write_text(CLAIM_YAML.replace("published: 55", "published: \u226555"),
                      encoding="utf-8")
    assert load_claims(claims)[0].published == "\u226555"
    cfg = tmp_path / "config.yaml"
    cfg.write_text("audit: {claims: r\u00e9sum\u00e9.yaml}\n", encoding="utf-8")
    assert claims_file(cfg) == "r\u00e9sum\u00e9.yaml"


def test_evaluate_a_scalar_check_reads_only_its_own_statistic():
    """evaluate: a check of statistic 'n' prints n alone, not every statistic starting 'n'."""
    from aiha.audit import Check, Claim, evaluate

    ard = _stats([("ae", "all", "n", 5.0), ("ae", "all", "n_events", 3.0),
                  ("ae", "all", "value_1", 4.0)])
    claim = Claim("c", "S", "src", "5 patients", "{}", (Check("ae", "all", "n", "patients"),), "d")
    assert evaluate([claim], ard)[["reproduced", "status"]].values.tolist() == [
        ["5 patients", "pass"]]


def test_independent_intervals_empty_first_group_still_computes_the_second():
    """independent_intervals: an empty wAIHA group leaves the cAIHA interval computed."""
    from aiha.qc import independent_intervals

    got = independent_intervals({"orr/wAIHA/numerator": 0, "orr/wAIHA/denominator": 0,
                                 "hb_response/cAIHA/numerator": 1,
                                 "hb_response/cAIHA/denominator": 1}, 0.9)
    assert math.isnan(got["orr/wAIHA/ci_lower"]) and math.isnan(got["orr/wAIHA/ci_upper"])
    assert got["hb_response/cAIHA/ci_lower"] == pytest.approx(0.05, rel=1e-9)
    assert got["hb_response/cAIHA/ci_upper"] == pytest.approx(1.0, abs=1e-12)


def test_independent_counts_refuse_a_grade_that_is_not_an_integer():
    """independent_counts: an AE grade '2.5' is an error, not silently left uncounted."""
    from aiha.qc import independent_counts

    patients, responses, _ = _cohort()
    with pytest.raises(ValueError):
        independent_counts(patients, responses, pd.DataFrame({"grade": ["1", "2.5"]}))


def test_independent_km_refuses_an_event_that_is_not_an_integer():
    """independent_km: an event indicator '0.5' is an error, not read as a fraction."""
    from aiha.qc import independent_km

    responses = pd.DataFrame({"analysis_group": ["wAIHA", "wAIHA"], "best_response": ["CR", "PR"],
                              "efficacy_set": ["True", "True"], "duration_months": ["2", "3"],
                              "event": ["1", "0.5"]})
    with pytest.raises(ValueError):
        independent_km(responses)


def test_event_figures_and_claims_settings_are_deep_copies():
    """cytometry_event_figures_config/cytometry_claims_config: nested values are copies."""
    from aiha.settings import cytometry_claims_config, cytometry_event_figures_config

    cyto = _config()["cytometry"]
    cyto["asinh"]["extra"] = {"x": [1]}
    before = copy.deepcopy(cyto)
    figures = cytometry_event_figures_config(cyto)
    figures["asinh"]["extra"]["x"].append(2)
    claims = cytometry_claims_config(cyto)
    claims["populations"]["subsets"]["naive"] = "changed"
    assert cyto == before


def test_r_compare_accepts_string_dtype_tables_with_unmatched_rows():
    """qc_compare.compare: string-dtype tables (pd.NA on the missing side) compare like text."""
    from aiha.qc_compare import compare, summary

    ard = _keyed([("a", "g", "s", "1"), ("b", "g", "s", "2")]).astype("string")
    r = _keyed([("a", "g", "s", "1.5"), ("c", "g", "s", "3")]).astype("string")
    table = compare(ard, r, 0.5)
    assert list(table["stat_id"]) == ["a", "b", "c"]
    assert list(table["status"]) == ["agree", "only in ARD", "only in R"]
    assert list(table["ard"]) == ["1", "2", ""] and list(table["r"]) == ["1.5", "", "3"]
    assert table["abs_diff"].iloc[0] == 0.5
    assert summary(table, 2) == {"ard_rows": 2, "compared": 1, "coverage": 0.5, "agree": 1,
                                 "disagree": 0, "only_in_ard": 1, "only_in_r": 1}
