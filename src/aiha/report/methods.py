"""The methods text of what ran, and the one table of the configuration keys behind it.

The methods print values and words, never a configuration key, a Python expression
or a template fragment: each sentence is built here from the config in force (the
params of the jobs, the same merged config the render job receives) and from what
the cytometry figure job recorded of the gating it ran
(results/cytometry/figures/event_figures.json: the gate path each role resolved to,
the compensation and the scales of the gates). The keys go to one appendix table
(:func:`config_keys_table`: key, value, where it is used).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from aiha import formatting as F
from aiha.cytometry.labels import display_labels, visit_label
from aiha.report.model import Cell, Table


def num(value: Any) -> str:
    """A config number as a reader reads it (10.0 -> 10; 1e-09 stays)."""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, (int, float)):
        text = format(value, "g")
        return text.replace("-", F.MINUS) if value < 0 else text
    return str(value)


def _and(items: Sequence[str], word: str = "and") -> str:
    items = [str(i) for i in items]
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + f" {word} " + items[-1]


def _days(window: Sequence[Any]) -> str:
    return f"days {num(window[0])}\u2013{num(window[1])}"


KM_CI_WORDS = {
    "log": "log transform (as R survival's default conf.type)",
    "plain": "untransformed (plain) Greenwood interval",
    "log-log": "log(\u2212log) transform (exponential Greenwood, as lifelines)",
}


def km_ci_words(statistics: Mapping[str, Any]) -> str:
    """The Kaplan-Meier confidence-interval transform in force, in words."""
    return KM_CI_WORDS[str(statistics.get("km_ci_transform", "log-log"))]


# ----------------------------------------------------------------- cytometry
def gating_files(cyto: Mapping[str, Any]) -> dict[str, str]:
    """Tube -> the gating file in force (GatingML file or FlowJo workspace)."""
    key = "flowjo_workspace" if cyto.get("gating_source") == "flowjo" else "gatingml"
    return {tube: str(path) for tube, path in dict(cyto.get(key) or {}).items()}


def gating_sentence(cyto: Mapping[str, Any], method: Mapping[str, Any]) -> str:
    """Gating source and file, compensation and transform, as they ran."""
    files = gating_files(cyto)
    flowjo = cyto.get("gating_source") == "flowjo"
    same = len(set(files.values())) == 1
    if flowjo:
        where = (f"{next(iter(files.values()))} (both tubes)" if same else
                 _and([f"{p} ({t} tube)" for t, p in sorted(files.items())]))
        text = (f"The gates are those of the laboratory's FlowJo 10 workspace {where}: each FCS "
                "file was gated with the gates, compensation and transforms that the workspace "
                "stores for its sample, applied with FlowKit.")
    else:
        where = _and([f"{p} ({t} tube)" for t, p in sorted(files.items())])
        scale = ("the arcsinh scale (T " + num(cyto["asinh"]["t"]) + ", M " + num(cyto["asinh"]["m"])
                 + ", A " + num(cyto["asinh"]["a"]) + "; bounds mapped from the authored logicle scale)"
                 if cyto.get("transform") == "asinh" else "the logicle scale of the GatingML file")
        text = (f"The gating strategy is the GatingML 2.0 file {where}, applied with FlowKit on "
                f"{scale}.")
    comp = sorted({c for tube in method.values() for c in tube.get("compensation", [])})
    if comp:
        text += f" Compensation of the fluorescence gates: {_and(comp, 'or')}."
        if any("spillover" in c for c in comp):
            text += (" A file without a spillover matrix is refused"
                     if cyto.get("missing_spillover", "refuse") == "refuse"
                     else " A file without a spillover matrix is gated uncompensated (logged)")
            text += "."
    scales = sorted({s for tube in method.values() for s in tube.get("scales", []) if s != "linear"})
    if scales:
        text += f" Fluorescence gates evaluated on the {_and(scales)} scale."
    return text


ROLE_ORDER = [("phenotype", "t_cells"), ("phenotype", "cd38"), ("phenotype", "subset naive"),
              ("phenotype", "subset central_memory"), ("phenotype", "subset effector_memory"),
              ("phenotype", "subset temra"), ("function", "t_cells"), ("function", "activation"),
              ("function", "divided")]


def populations_sentence(cyto: Mapping[str, Any], method: Mapping[str, Any]) -> str:
    """The population each role resolved to (full gate path), by its display name."""
    labels = display_labels(dict(cyto.get("populations") or {}))
    parts = []
    for tube, role in ROLE_ORDER:
        path = (method.get(tube) or {}).get("populations", {}).get(role)
        if path:
            parts.append(f"{labels[role.replace('subset ', '')]} ({tube} tube): {path}")
    if not parts:
        return ""
    return "Populations read, with the gate each resolved to in the gating file: " + "; ".join(parts) + "."


def qc_sentence(cyto: Mapping[str, Any]) -> str:
    qc = cyto["qc"]
    kept = qc["kept_population"]
    return (f"Quality control: the events kept are those of the population {kept}; a sample is "
            f"flagged when fewer than {F.fmt_count(qc['min_events_kept'])} events are kept or "
            f"when they are less than {num(qc['min_percent_kept'])}% of the events acquired. "
            + ("Flagged samples are left out of the cytometry statistics and of the time-course "
               "and subset figures, and are drawn greyed, with the reason, in the activation and "
               "proliferation figure." if qc["exclude_flagged"] else
               "Flagged samples are kept in the cytometry statistics."))


def claims_sentence(cyto: Mapping[str, Any]) -> str:
    c, lab = cyto["claims"], display_labels(dict(cyto.get("populations") or {}))
    subsets = _and([lab[s] for s in c["memory_effector_subsets"]])
    return (f"Complete depletion: {lab['cd38']} below {num(c['depletion_threshold_percent'])}% of "
            f"the {lab['t_cells']} at a sample on {_days(c['depletion_window_days'])} after the "
            "first dose. Subsets and function compare the last sample on or before day 0 with "
            f"the mean of the samples on {_days(c['post_window_days'])}: a subset shift needs a "
            f"share of {lab['naive']} {num(c['subset_shift_pp'])} percentage points lower and a "
            f"memory/effector share ({subsets}) as much higher; diminished function needs the "
            f"{lab['activation']} and the {lab['divided']} (after {lab['stimulus']}) both "
            f"{num(c['function_fold_factor'])}-fold lower. {lab['cd38'][:1].upper() + lab['cd38'][1:]} "
            f"reappear at {num(c['reappearance_threshold_percent'])}% of the {lab['t_cells']}, "
            f"counted as coinciding with a relapse within {num(c['relapse_window_days'])} days of it.")


def figures_sentence(cyto: Mapping[str, Any], facts: Mapping[str, Any] | None) -> str:
    fig = cyto["figures"]
    visits = _and([visit_label(v).lower() for v in fig["gating_visits"]], "or")
    prolif_visits = _and([visit_label(v).lower() for v in fig["proliferation_visits"]])
    lab = display_labels(dict(cyto.get("populations") or {}))
    summary = (f"The time-course of the {lab['cd38']} and the subset figure draw at most "
               f"{F.fmt_count(fig['summary_max_patients'])} patients, the first by pseudonym.")
    if not facts:  # results of a build that did not record what its figures show
        return (f"The gating figure shows one phenotype sample, of the first patient of the "
                f"sample sheet with a sample at the {visits} visit; the activation and "
                f"proliferation figure the functional tubes at the {prolif_visits} visits of at "
                f"most {F.fmt_counted(fig['proliferation_max_patients'], 'patient')}, the first "
                f"of the sample sheet. " + summary)
    g = facts.get("gating")
    if g:
        gating = (f"The gating figure shows one sample: the phenotype tube of patient "
                  f"{g['patient_id']} at the {visit_label(g['visit']).lower()} visit (day "
                  f"{F.fmt_number(int(g['day']), 0)}), the first patient of the sample sheet "
                  f"with a sample at the {visits} visit.")
    else:
        gating = f"No phenotype sample at the {visits} visit: the gating figure is empty."
    f = facts.get("function") or {}
    if int(f.get("patients", 0)):
        function = (f"The activation and proliferation figure shows the functional tubes at the "
                    f"{prolif_visits} visits of {F.fmt_counted(int(f['patients']), 'patient')}: "
                    f"the first of the sample sheet, at most "
                    f"{F.fmt_count(fig['proliferation_max_patients'])}.")
    else:
        function = (f"No functional tube at the {prolif_visits} visits: the activation and "
                    "proliferation figure is empty.")
    return " ".join([gating, function, summary])


def cytometry_methods(cfg: Mapping[str, Any], facts: Mapping[str, Any] | None) -> list[str]:
    """The cytometry paragraphs of the methods, from the config in force and what the
    figure job recorded of the gating (``facts``: event_figures.json, optional)."""
    cyto = cfg["cytometry"]
    method = dict((facts or {}).get("method") or {})
    paragraphs = [gating_sentence(cyto, method)]
    pops = populations_sentence(cyto, method)
    if pops:
        paragraphs.append(pops)
    paragraphs += [qc_sentence(cyto), claims_sentence(cyto), figures_sentence(cyto, facts)]
    return paragraphs


# ------------------------------------------------------------- the key table
CLEANING = "Methods: data and cleaning (rules validate_clinical, clean_clinical)"
BASELINE = "Methods: baseline and evaluable Hb (rule score_responses)"
CRITERIA = "Methods: response criteria (rule score_responses)"
DURATION = "Methods: duration of response (rules score_responses, clinical_statistics)"
STATS = "Methods: statistics (rule clinical_statistics)"
CYTO = "Methods: cytometry"

KEYS: list[tuple[str, str]] = [
    ("data.raw_dir", CLEANING), ("data.site_profiles", CLEANING), ("data.data_cutoff", CLEANING),
    ("cleaning.hard_limits", CLEANING), ("cleaning.suspicious_limits", CLEANING),
    ("cleaning.age_years", CLEANING),
    ("response.transfusion_washout_days", BASELINE), ("response.anemia_hb_g_dl", BASELINE),
    ("response.cr_hb_g_dl", CRITERIA), ("response.bilirubin_uln_mg_dl", CRITERIA),
    ("response.ldh_uln_multiple", CRITERIA), ("response.pr_hb_g_dl", CRITERIA),
    ("response.pr_rule", CRITERIA), ("response.pr_rise_g_dl", CRITERIA),
    ("response.cold_rise_g_dl", CRITERIA), ("response.hb_normal_g_dl", CRITERIA),
    ("response.acro_denominator", CRITERIA + "; claim acro_improved"),
    ("response.confirmation_min_days", CRITERIA), ("response.confirmation_reading", CRITERIA),
    ("response.relapse_consecutive_values", CRITERIA), ("response.relapse_on_transfusion", CRITERIA),
    ("response.relapse_on_new_therapy", CRITERIA),
    ("report.transfusion_windows_days", "Methods: transfusion burden (rule clinical_content)"),
    ("response.days_per_month", DURATION), ("response.duration_rounding", DURATION),
    ("response.ongoing_duration_origin", DURATION),
    ("statistics.ci_level", STATS), ("statistics.km_ci_transform", STATS),
    ("statistics.km_tie_rule", STATS), ("statistics.km_tie_tolerance", STATS),
    ("statistics.dor_median_method", STATS + "; the claims audit"),
    ("statistics.qc_tolerance", "Appendix C (rules qc_r_compare and qc_double_programming)"),
    ("qc.r_double_programming", "Appendix C (rules qc_r_double_programming, qc_r_compare)"),
    ("audit.claims", "Published versus reproduced (rule audit_claims)"),
    ("report.max_patient_rows", "Per-patient tables of the report or the listings"),
    ("sensitivity.variants", "Sensitivity analyses (rules sensitivity_*)"),
]
CYTO_KEYS: list[tuple[str, str]] = [
    ("cytometry.enabled", "Flow cytometry chapter (every cytometry rule)"),
    ("cytometry.gating_source", CYTO + " (rule cytometry_gate)"),
    ("cytometry.gatingml", CYTO + " (rule cytometry_gate, GatingML source)"),
    ("cytometry.flowjo_workspace", CYTO + " (rule cytometry_gate, FlowJo source)"),
    ("cytometry.transform", CYTO + " (rule cytometry_gate, GatingML source)"),
    ("cytometry.asinh", CYTO + " (rule cytometry_gate, arcsinh transform)"),
    ("cytometry.missing_spillover", CYTO + " (rule cytometry_gate)"),
    ("cytometry.qc", CYTO + " (rules cytometry_gate, cytometry_claims, figures)"),
    ("cytometry.populations", CYTO + " (rules cytometry_gate, cytometry_claims, figures)"),
    ("cytometry.claims", CYTO + "; Table 7 (rule cytometry_claims)"),
    ("cytometry.figures", CYTO + "; Figures 5-8"),
    ("cytometry.reconciliation.tolerance_percent",
     "FlowJo reconciliation table (rule cytometry_flowjo_reconciliation)"),
]


def _get(cfg: Mapping[str, Any], key: str) -> tuple[bool, Any]:
    node: Any = cfg
    for part in key.split("."):
        if not isinstance(node, Mapping) or part not in node:
            return False, None
        node = node[part]
    return True, node


def value_text(value: Any, nested: bool = False) -> str:
    """A config value printed in one line: numbers as written, lists in brackets,
    mappings as key: value pairs (in braces when nested)."""
    if isinstance(value, Mapping):
        # an empty mapping (a schema default such as labels: {}) says nothing: left out
        text = "; ".join(f"{k}: {value_text(v, True)}" for k, v in value.items()
                         if not (isinstance(v, Mapping) and not v))
        return "{" + text + "}" if nested else text
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(value_text(v, True) for v in value) + "]"
    if isinstance(value, bool):
        return "true" if value else "false"
    return num(value)


def config_keys_table(cfg: Mapping[str, Any], has_cytometry: bool) -> Table:
    """Every configuration key the methods and tables quote: key, value in force, where
    it is used. The one place of the report where keys are printed."""
    rows = []
    for key, where in KEYS + (CYTO_KEYS if has_cytometry else []):
        found, value = _get(cfg, key)
        if found and value is not None and value != "":
            rows.append([Cell(key, code=True), value_text(value), where])
    return Table("config_keys", "Table B6. The configuration in force: each key the methods "
                 "quote, its value and where it is used", ["Key", "Value", "Where used"], rows,
                 numeric=[False, False, False], css_class="listing config-keys",
                 source="results/config_in_force.yaml",
                 note="Values of the merged configuration in force (Table B1 gives the files "
                      "and overrides it was merged from and its SHA-256).")
