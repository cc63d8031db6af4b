"""The part of the config each job reads.

Every config value a job uses reaches it as a declared Snakemake ``params`` built
here, so changing a value reruns exactly the jobs that read it (and what depends
on their outputs). Workflow scripts never read ``snakemake.config``.
"""

from __future__ import annotations

import copy
from typing import Any, Mapping

from aiha.response import ResponseCriteria

# Keys of the ``statistics`` section that the clinical statistics read.
STATISTICS_KEYS = ("ci_level", "km_tie_rule", "km_tie_tolerance", "dor_median_method",
                   "km_ci_transform", "landmark_months", "crude_median_max_censored_share",
                   "response_subgroups")


def scoring_config(config: Mapping[str, Any]) -> dict[str, Any]:
    """What response scoring reads: the data cut-off and the response criteria."""
    response = config["response"]
    return {
        "data_cutoff": str(config["data"]["data_cutoff"]),
        "response": {k: response[k] for k in ResponseCriteria.keys() if k in response},
    }


def statistics_config(config: Mapping[str, Any]) -> dict[str, Any]:
    """What the clinical statistics read (config-shaped: ``statistics`` and ``response``)."""
    st = config["statistics"]
    return {
        "statistics": {k: st[k] for k in STATISTICS_KEYS if k in st},
        "response": {"acro_denominator": config["response"]["acro_denominator"],
                     "days_per_month": config["response"]["days_per_month"]},
    }


def qc_config(config: Mapping[str, Any]) -> dict[str, Any]:
    """What the library cross-check (rule qc_double_programming, statsmodels) reads."""
    st = config["statistics"]
    return {"ci_level": st["ci_level"], "qc_tolerance": st["qc_tolerance"]}


def qc_r_config(config: Mapping[str, Any]) -> dict[str, Any]:
    """What the R double programming reads (rule qc_r_double_programming), flat: the
    statistics conventions (CI level, Kaplan-Meier tie rule, tolerance and CI
    transform, the reported median), how durations are expressed (days per month,
    rounding, origin of ongoing durations), the acrocyanosis denominator, the
    transfusion windows and, with cytometry, the claims' populations and thresholds.
    Passed to R as one JSON string (jsonlite reads it)."""
    st, response = config["statistics"], config["response"]
    out: dict[str, Any] = {
        "ci_level": float(st["ci_level"]),
        "km_tie_rule": str(st["km_tie_rule"]),
        "km_tie_tolerance": float(st["km_tie_tolerance"]),
        "km_ci_transform": str(st["km_ci_transform"]),
        "dor_median_method": str(st["dor_median_method"]),
        "days_per_month": float(response["days_per_month"]),
        "duration_rounding": str(response["duration_rounding"]),
        "ongoing_duration_origin": str(response["ongoing_duration_origin"]),
        "acro_denominator": str(response["acro_denominator"]),
        "landmark_months": [float(m) for m in st["landmark_months"]],
        "crude_median_max_censored_share": float(st["crude_median_max_censored_share"]),
        "response_subgroups": [str(v) for v in st["response_subgroups"]],
        **content_config(config),
    }
    cyto = config.get("cytometry") or {}
    if cyto.get("enabled", False):
        out["cytometry"] = cytometry_claims_config(cyto)
        out["cytometry"]["exclude_flagged"] = out["cytometry"].pop("qc")["exclude_flagged"]
    return out


def qc_compare_config(config: Mapping[str, Any]) -> dict[str, Any]:
    """What the comparison of the ARD with the R results reads: the tolerance."""
    return {"qc_tolerance": float(config["statistics"]["qc_tolerance"])}


def analysis_config(config: Mapping[str, Any]) -> dict[str, Any]:
    """Scoring and statistics settings together (a sensitivity variant runs both)."""
    return {**scoring_config(config), **statistics_config(config),
            "response": {**scoring_config(config)["response"],
                         **statistics_config(config)["response"]}}


def report_config(config: Mapping[str, Any]) -> dict[str, Any]:
    """The config the report quotes: everything but the demo generator's settings."""
    out = copy.deepcopy(dict(config))
    out.get("cytometry", {}).pop("demo", None)
    for key in ("demo_multiplier", "demo_spec"):
        out.get("data", {}).pop(key, None)
    return out


# What the clinical figures read: thresholds drawn, months, the KM tie rule and level.
FIGURE_RESPONSE_KEYS = ("days_per_month", "cr_hb_g_dl", "pr_hb_g_dl", "hb_normal_g_dl",
                        "anemia_hb_g_dl", "ldh_uln_multiple", "bilirubin_uln_mg_dl")
FIGURE_STATISTICS_KEYS = ("km_tie_rule", "ci_level", "km_ci_transform")


def figures_config(config: Mapping[str, Any]) -> dict[str, Any]:
    """What the clinical figures read (config-shaped)."""
    return {
        "response": {k: config["response"][k] for k in FIGURE_RESPONSE_KEYS},
        "statistics": {k: config["statistics"][k] for k in FIGURE_STATISTICS_KEYS},
    }


# Default of ``report.transfusion_windows_days`` (as in workflow/schemas/report.schema.yaml).
DEFAULT_TRANSFUSION_WINDOWS = [[-84, -1], [0, 83], [84, 167]]


def cleaning_summary_config(config: Mapping[str, Any]) -> dict[str, Any]:
    """What rule cleaning_summary reads: ``routine``, the reasons of the routine
    cleaning actions, counted rather than listed (config ``report.cleaning_log_routine``)."""
    return {"routine": [str(r) for r in
                        (config.get("report") or {}).get("cleaning_log_routine") or []]}


def listings_config(config: Mapping[str, Any]) -> dict[str, Any]:
    """What the patient-level listings read (rule render_listings): the data cut-off,
    the decimals, the routine cleaning actions, the memory/effector subsets named
    in the cytometry per-patient table and the populations, whose display names
    head its columns (config-shaped)."""
    report = config.get("report") or {}
    claims = (config.get("cytometry") or {}).get("claims") or {}
    out: dict[str, Any] = {
        "data": {"data_cutoff": str(config["data"]["data_cutoff"])},
        "report": {k: report[k] for k in ("decimals", "cleaning_log_routine") if k in report}}
    if "memory_effector_subsets" in claims:
        out["cytometry"] = {"claims": {
            "memory_effector_subsets": list(claims["memory_effector_subsets"])}}
    populations = (config.get("cytometry") or {}).get("populations")
    if populations:  # the display names of the per-patient table's columns
        out.setdefault("cytometry", {})["populations"] = copy.deepcopy(populations)
    return out


def adam_config(config: Mapping[str, Any]) -> dict[str, Any]:
    """What the analysis datasets read (rule adam_datasets): the study id, the
    transfusion washout (ADLB.TRWSHFL), the data cut-off (the files' date) and the
    treatment-emergent window (ADAE.TRTEMFL). The SOC mapping file is an input."""
    safety = config.get("safety") or {}
    teae = safety.get("treatment_emergent_days_after_last_dose")
    return {"study_id": str(config["adam"]["study_id"]),
            "transfusion_washout_days": int(config["response"]["transfusion_washout_days"]),
            "data_cutoff": str(config["data"]["data_cutoff"]),
            "treatment_emergent_days_after_last_dose": None if teae is None else int(teae)}


def content_config(config: Mapping[str, Any]) -> dict[str, Any]:
    """What the report's clinical-content statistics read (rule clinical_content)."""
    report = config.get("report") or {}
    return {"transfusion_windows_days": [list(w) for w in report.get(
        "transfusion_windows_days", DEFAULT_TRANSFUSION_WINDOWS)]}


def cytometry_event_figures_config(cyto: Mapping[str, Any]) -> dict[str, Any]:
    """What the gating and activation/proliferation figures read (rule
    cytometry_event_figures) of config ``cytometry``: how to gate (source, scale,
    panel, FCS reading options), the populations each tube's figure follows and
    the SVG salt. Not the claims, the QC thresholds or the demo generator."""
    from aiha.cytometry.populations import tube_populations

    return {
        **{k: copy.deepcopy(cyto[k]) for k in ("gating_source", "transform", "asinh")},
        "panel": copy.deepcopy(cyto.get("panel") or {}),
        "missing_spillover": cyto.get("missing_spillover", "refuse"),
        "fcs_ignore_offset_error": bool(cyto.get("fcs_ignore_offset_error", False)),
        "tube_populations": tube_populations(cyto["populations"]),
        "svg_hashsalt": cyto["figures"]["svg_hashsalt"],
    }


def cytometry_claims_config(cyto: Mapping[str, Any]) -> dict[str, Any]:
    """What the flow claims read (rule cytometry_claims) of config ``cytometry``: the
    populations, the claim thresholds and windows, and whether QC-flagged samples
    count (the shape :meth:`aiha.cytometry.claims.ClaimSettings.from_config` reads).
    Not how to gate, the figures or the demo generator: changing those does not
    recompute the claims, nor do the populations' display labels."""
    populations = copy.deepcopy(cyto["populations"])
    populations.pop("labels", None)
    return {"populations": populations,
            "claims": copy.deepcopy(cyto["claims"]),
            "qc": {"exclude_flagged": bool(cyto["qc"]["exclude_flagged"])}}


def cytometry_summary_figures_config(cyto: Mapping[str, Any]) -> dict[str, Any]:
    """What the CD38 time-course and subset figures read (rule
    cytometry_summary_figures): the claims' settings, how many patients to draw and
    the SVG salt."""
    figures = cyto["figures"]
    from aiha.cytometry.labels import display_labels

    return {**cytometry_claims_config(cyto),
            "labels": display_labels(cyto["populations"]),
            "figures": {"summary_max_patients": int(figures["summary_max_patients"]),
                        "svg_hashsalt": figures["svg_hashsalt"]}}
