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
from aiha.report.model import Cell, Table, joined


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


# ----------------------------------------------------------------- config values
def cfg_anchor(key: str) -> str:
    """The id of the row of Table B6 that prints configuration key ``key``."""
    return "cfg-" + key.replace(".", "-")


FORMATS = {"num": num, "count": F.fmt_count, "percent": lambda v: F.fmt_percent(v, 0)}


class ConfigValues:
    """The numbers of the config in force as the methods print them, each a
    :class:`Cell` linked to the row of Table B6 that holds it (``linked``: the anchors
    of the rows Table B6 prints; a value whose key has no row prints unlinked).

    ``values("cleaning.hard_limits.hb_g_dl", 0)`` is the lower Hb hard limit, printed
    as written (``fmt``: "num", "count" with thousands separators, "percent" for a
    proportion); ``index`` picks an item of a list (an int, or a tuple of ints)."""

    def __init__(self, cfg: Mapping[str, Any], linked: frozenset[str] | set[str] = frozenset()):
        self.cfg = cfg
        self.linked = frozenset(linked)

    def value(self, key: str, index: int | Sequence[int] | None = None) -> Any:
        found, value = _get(self.cfg, key)
        if not found:
            raise KeyError(key)
        for i in ((index,) if isinstance(index, int) else tuple(index or ())):
            value = value[i]
        return value

    def __call__(self, key: str, index: int | Sequence[int] | None = None,
                 fmt: str = "num") -> Cell:
        text = FORMATS[fmt](self.value(key, index))
        link = cfg_anchor(key) if cfg_anchor(key) in self.linked else ""
        return Cell(text, link=link, links=((text, link),) if link else ())


def _values(cyto: Mapping[str, Any], values: ConfigValues | None) -> ConfigValues:
    return values if values is not None else ConfigValues({"cytometry": cyto})


def _days(v: ConfigValues, key: str) -> list[Cell | str]:
    return ["days ", v(key, 0), "\u2013", v(key, 1)]


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


def gating_sentence(cyto: Mapping[str, Any], method: Mapping[str, Any],
                    values: ConfigValues | None = None) -> Cell:
    """Gating source and file, compensation and transform, as they ran."""
    v = _values(cyto, values)
    files = gating_files(cyto)
    flowjo = cyto.get("gating_source") == "flowjo"
    same = len(set(files.values())) == 1
    pieces: list[Cell | str]
    if flowjo:
        where = (f"{next(iter(files.values()))} (both tubes)" if same else
                 _and([f"{p} ({t} tube)" for t, p in sorted(files.items())]))
        pieces = [f"The gates are those of the laboratory's FlowJo 10 workspace {where}: each "
                  "FCS file was gated with the gates, compensation and transforms that the "
                  "workspace stores for its sample, applied with FlowKit."]
    else:
        where = _and([f"{p} ({t} tube)" for t, p in sorted(files.items())])
        scale: list[Cell | str] = (
            ["the arcsinh scale (T ", v("cytometry.asinh.t"), ", M ", v("cytometry.asinh.m"),
             ", A ", v("cytometry.asinh.a"), "; bounds mapped from the authored logicle scale)"]
            if cyto.get("transform") == "asinh" else ["the logicle scale of the GatingML file"])
        pieces = [f"The gating strategy is the GatingML 2.0 file {where}, applied with FlowKit on ",
                  *scale, "."]
    text = ""
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
    return joined(pieces + [text])


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


def qc_sentence(cyto: Mapping[str, Any], values: ConfigValues | None = None) -> Cell:
    v, qc = _values(cyto, values), cyto["qc"]
    kept = qc["kept_population"]
    return joined([
        f"Quality control: the events kept are those of the population {kept}; a sample is "
        "flagged when fewer than ", v("cytometry.qc.min_events_kept", fmt="count"),
        " events are kept or when they are less than ", v("cytometry.qc.min_percent_kept"),
        "% of the events acquired. "
        + ("Flagged samples are left out of the cytometry statistics and of the time-course "
           "and subset figures, and are drawn greyed, with the reason, in the activation and "
           "proliferation figure." if qc["exclude_flagged"] else
           "Flagged samples are kept in the cytometry statistics.")])


def claims_sentence(cyto: Mapping[str, Any], values: ConfigValues | None = None) -> Cell:
    v, lab = _values(cyto, values), display_labels(dict(cyto.get("populations") or {}))
    c = "cytometry.claims."
    subsets = _and([lab[s] for s in cyto["claims"]["memory_effector_subsets"]])
    return joined([
        f"Complete depletion: {lab['cd38']} below ", v(c + "depletion_threshold_percent"),
        f"% of the {lab['t_cells']} at a sample on ", *_days(v, c + "depletion_window_days"),
        " after the first dose. Daratumumab binds CD38 and can mask the epitope that the "
        "detecting anti-CD38 antibody recognises, so a fall of the "
        f"{lab['cd38']} on treatment may in part be masking rather than loss of the cells; "
        "which clone detected CD38 the report cannot say, as the panel mapping "
        "(cytometry.panel) records channel labels only. Subsets and function compare the last sample on or before "
        "day 0 with the mean of the samples on ", *_days(v, c + "post_window_days"),
        f": a subset shift needs a share of {lab['naive']} ", v(c + "subset_shift_pp"),
        f" percentage points lower and a memory/effector share ({subsets}) as much higher; "
        f"diminished function needs the {lab['activation']} and the {lab['divided']} (after "
        f"{lab['stimulus']}) both ", v(c + "function_fold_factor"),
        f"-fold lower. {lab['cd38'][:1].upper() + lab['cd38'][1:]} reappear at ",
        v(c + "reappearance_threshold_percent"),
        f"% of the {lab['t_cells']}, counted as coinciding with a relapse within ",
        v(c + "relapse_window_days"), " days of it."])


def figures_sentence(cyto: Mapping[str, Any], facts: Mapping[str, Any] | None,
                     values: ConfigValues | None = None) -> Cell:
    v, fig = _values(cyto, values), cyto["figures"]
    visits = _and([visit_label(x).lower() for x in fig["gating_visits"]], "or")
    prolif_visits = _and([visit_label(x).lower() for x in fig["proliferation_visits"]])
    lab = display_labels(dict(cyto.get("populations") or {}))
    most = v("cytometry.figures.proliferation_max_patients", fmt="count")
    summary: list[Cell | str] = [
        f"The time-course of the {lab['cd38']} and the subset figure draw at most ",
        v("cytometry.figures.summary_max_patients", fmt="count"),
        " patients, the first by pseudonym."]
    if not facts:  # results of a build that did not record what its figures show
        return joined([
            f"The gating figure shows one phenotype sample, of the first patient of the sample "
            f"sheet with a sample at the {visits} visit; the activation and proliferation "
            f"figure the functional tubes at the {prolif_visits} visits of at most ", most,
            " patient" + ("" if fig["proliferation_max_patients"] == 1 else "s")
            + ", the first of the sample sheet. ", *summary])
    g = facts.get("gating")
    if g:
        gating = (f"The gating figure shows one sample: the phenotype tube of patient "
                  f"{g['patient_id']} at the {visit_label(g['visit']).lower()} visit (day "
                  f"{F.fmt_number(int(g['day']), 0)}), the first patient of the sample sheet "
                  f"with a sample at the {visits} visit. ")
    else:
        gating = f"No phenotype sample at the {visits} visit: the gating figure is empty. "
    f = facts.get("function") or {}
    function: list[Cell | str]
    if int(f.get("patients", 0)):
        function = [f"The activation and proliferation figure shows the functional tubes at "
                    f"the {prolif_visits} visits of {F.fmt_counted(int(f['patients']), 'patient')}"
                    ": the first of the sample sheet, at most ", most, ". "]
    else:
        function = [f"No functional tube at the {prolif_visits} visits: the activation and "
                    "proliferation figure is empty. "]
    return joined([gating, *function, *summary])


def cytometry_methods(cfg: Mapping[str, Any], facts: Mapping[str, Any] | None,
                      values: ConfigValues | None = None) -> list[Cell]:
    """The cytometry paragraphs of the methods, from the config in force and what the
    figure job recorded of the gating (``facts``: event_figures.json, optional); each
    number of the config links to its row of Table B6 (``values``; unlinked without)."""
    cyto = cfg["cytometry"]
    values = values if values is not None else ConfigValues(cfg)
    method = dict((facts or {}).get("method") or {})
    paragraphs = [gating_sentence(cyto, method, values)]
    pops = populations_sentence(cyto, method)
    if pops:
        paragraphs.append(Cell(pops))
    paragraphs += [qc_sentence(cyto, values), claims_sentence(cyto, values),
                   figures_sentence(cyto, facts, values)]
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
    ("statistics.landmark_months", "Table 4 (rule clinical_statistics)"),
    ("statistics.crude_median_max_censored_share", "Table 4 (rule clinical_statistics)"),
    ("statistics.response_subgroups", "Table 4a (rule clinical_statistics)"),
    ("safety.soc_map", "Tables 6a and 6b (rules adam_datasets, clinical_content)"),
    ("safety.treatment_emergent_days_after_last_dose",
     "Tables 5a, 6a and 6b (rules adam_datasets, clinical_content)"),
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


# Keys whose value is a mapping of thresholds the methods quote one by one: Table B6
# prints one row per entry (``cleaning.hard_limits.hb_g_dl``), so that a number of the
# methods links to the row that holds it.
SPLIT_KEYS = frozenset({"cleaning.hard_limits", "cleaning.suspicious_limits", "cytometry.asinh",
                        "cytometry.qc", "cytometry.claims", "cytometry.figures"})


def unused_reason(cfg: Mapping[str, Any], key: str) -> str | None:
    """Why a key of the configuration in force governs nothing in this run (a
    setting of the other gating source, the arcsinh constants under another
    transform), or ``None`` when the jobs that ran use it."""
    cyto = cfg.get("cytometry") or {}
    source = cyto.get("gating_source", "gatingml")
    if source == "flowjo" and key in ("cytometry.gatingml", "cytometry.transform",
                                      "cytometry.asinh"):
        return ("not used in this run: gating_source is flowjo (the workspace's gates and "
                "transforms apply)")
    if source != "flowjo" and key in ("cytometry.flowjo_workspace",
                                      "cytometry.reconciliation.tolerance_percent"):
        return f"not used in this run: gating_source is {source}, not flowjo"
    if key == "cytometry.asinh" and cyto.get("transform") != "asinh":
        return f"not used in this run: transform is {cyto.get('transform')}, not asinh"
    return None


def config_rows(cfg: Mapping[str, Any], has_cytometry: bool) -> list[tuple[str, Any, str]]:
    """(key, value, where used) of every row of Table B6, in order: the keys the
    methods and tables quote, those of :data:`SPLIT_KEYS` one row per entry. A key
    that governs nothing in this run says so (:func:`unused_reason`) in place of
    where it is used."""
    out = []
    for key, where in KEYS + (CYTO_KEYS if has_cytometry else []):
        found, value = _get(cfg, key)
        if not found or value is None or value == "":
            continue
        where = unused_reason(cfg, key) or where
        if key in SPLIT_KEYS and isinstance(value, Mapping):
            out += [(f"{key}.{k}", v, where) for k, v in value.items()
                    if v is not None and v != "" and not (isinstance(v, Mapping) and not v)]
        else:
            out.append((key, value, where))
    return out


def config_keys_table(cfg: Mapping[str, Any], has_cytometry: bool) -> Table:
    """Every configuration key the methods and tables quote: key, value in force, where
    it is used. The one place of the report where keys are printed; each row has the
    id :func:`cfg_anchor` gives its key, the target of the links on the numbers of the
    methods (:class:`ConfigValues`)."""
    rows, ids = [], []
    for key, value, where in config_rows(cfg, has_cytometry):
        rows.append([Cell(key, code=True), value_text(value), where])
        ids.append(cfg_anchor(key))
    return Table("config_keys", "Table B6. The configuration in force: each key the methods "
                 "quote, its value and where it is used", ["Key", "Value", "Where used"], rows,
                 numeric=[False, False, False], css_class="listing config-keys",
                 source="results/config_in_force.yaml", row_ids=ids,
                 note="Values of the merged configuration in force (Table B1 gives the files "
                      "and overrides it was merged from and its SHA-256). Each number of the "
                      "methods links to the row of its key.")
