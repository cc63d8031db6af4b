"""The cytometry section's tables, read from the cytometry rules' ARD rows only
(``flow_*``, see docs/tables.md): the study-level findings with their thresholds in
force, and one summary row per patient. The full rows are in Appendix E."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from aiha import formatting as F
from aiha.cytometry.labels import display_labels
from aiha.pseudonym import is_pseudonym
from aiha.report.methods import ConfigValues
from aiha.report.model import ARD, Cell, Fmt, Rows, Table, joined


def role_labels(cfg: Mapping[str, Any]) -> dict[str, str]:
    """Display names of the cytometry roles in force (config ``cytometry.populations``)."""
    return display_labels(dict((cfg.get("cytometry") or {}).get("populations") or {}))


def _cap(text: str) -> str:
    return text[:1].upper() + text[1:]


def _pct(ard: ARD, stat: str, group: str, statistic: str, fmt: Fmt) -> str:
    value = ard.opt(stat, group, statistic)
    return F.MISSING if F.is_missing(value) else f"{F.fmt_number(value, fmt.percent)}%"


def _fold(ard: ARD, group: str, prefix: str, fmt: Fmt) -> str:
    base = _pct(ard, "flow_function", group, f"{prefix}_baseline", fmt)
    post = _pct(ard, "flow_function", group, f"{prefix}_post", fmt)
    fold = ard.opt("flow_function", group, f"{prefix}_fold")
    if base == F.MISSING and post == F.MISSING:
        return F.MISSING
    return f"{base} \u2192 {post} ({F.fmt_number(fold, 1)}-fold)"


def flow_patients(ard: ARD) -> list[str]:
    """Pseudonyms with per-patient cytometry rows, sorted."""
    return sorted({g for s, g in zip(ard.frame["stat_id"], ard.frame["group"])
                   if str(s).startswith("flow_") and is_pseudonym(g)})


def flow_patient_table(ard: ARD, fmt: Fmt, cfg: Mapping[str, Any],
                       listing: bool = False) -> Table:
    """One row per cytometry patient: CD38+ baseline to nadir (day), naive and
    memory/effector change, activation and division before and after, relapse day
    against the day CD38+ T cells reappeared. ``listing``: as printed in the listings
    document (no table number; the windows are those of the report's Table 7)."""
    subsets = [s.replace("_", " ").replace("temra", "TEMRA")
               for s in cfg.get("cytometry", {}).get("claims", {}).get(
                   "memory_effector_subsets", [])]
    lab = role_labels(cfg)
    rows = []
    for pid in flow_patients(ard):
        def cd38(p: str = pid) -> str:
            base = _pct(ard, "flow_depletion", p, "baseline_percent", fmt)
            nadir = _pct(ard, "flow_depletion", p, "nadir_percent", fmt)
            day = ard.opt("flow_depletion", p, "nadir_day")
            if base == F.MISSING and nadir == F.MISSING:
                return F.MISSING
            return f"{base} \u2192 {nadir} (day {F.fmt_count(day)})"

        def naive(p: str = pid) -> str:
            base = _pct(ard, "flow_subsets", p, "naive_baseline", fmt)
            post = _pct(ard, "flow_subsets", p, "naive_post", fmt)
            return F.MISSING if base == F.MISSING else f"{base} \u2192 {post}"

        def memory(p: str = pid) -> str:
            change = ard.opt("flow_subsets", p, "memory_effector_change_pp")
            return F.MISSING if F.is_missing(change) else \
                f"{'+' if change > 0 else ''}{F.fmt_number(change, fmt.percent)} pp"

        def relapse(p: str = pid) -> str:
            if not ard.has("flow_relapse", p, "relapse_day"):
                return "no relapse"
            rel = F.fmt_count(ard.get("flow_relapse", p, "relapse_day"))
            again = ard.opt("flow_relapse", p, "reappearance_day")
            return f"day {rel} / " + ("not seen" if F.is_missing(again)
                                      else f"day {F.fmt_count(again)}")

        rows.append([pid, ard.cell(cd38), ard.cell(naive), ard.cell(memory),
                     ard.cell(lambda p=pid: _fold(ard, p, "activation", fmt)),
                     ard.cell(lambda p=pid: _fold(ard, p, "divided", fmt)),
                     ard.cell(relapse)])
    where = "the study report's Table 7" if listing else "Table 7"
    return Table(
        "flow_patients", "Cytometry per patient" if listing else "Table 8. Cytometry per patient",
        ["Patient", f"{lab['cd38']}, % of {lab['t_cells']}: baseline \u2192 nadir (day)",
         f"{_cap(lab['naive'])}: baseline \u2192 after dosing",
         "Memory/effector change", f"{_cap(lab['activation'])}: baseline \u2192 after (fold fall)",
         f"{_cap(lab['divided'])}: baseline \u2192 after (fold fall)",
         f"Clinical relapse / {lab['cd38']} reappearance"], rows,
        numeric=[False] * 7, css_class="listing", nowrap=(0,),
        note=(f"Percentages are of the {lab['t_cells']} of the same sample. Baseline: the last "
              "sample on or before the first dose; after dosing: the mean of the samples in "
              f"the post-dose window (see {where}). Memory/effector: "
              + (" and ".join(subsets) if subsets else "the memory/effector subsets")
              + f", change in percentage points (pp). Activated and divided ({lab['division_dye']} "
              f"dilution): after {lab['stimulus']}"
              + ("" if "stimulation" in lab["stimulus"] else " stimulation")
              + "; fold fall = baseline / "
              "after. Reappearance: the first sample after the nadir at or above the "
              f"reappearance threshold ({where})."),
        stat_ids=["flow_depletion", "flow_subsets", "flow_function", "flow_relapse"])


def flow_findings_table(ard: ARD, fmt: Fmt, cfg: Mapping[str, Any],
                        values: ConfigValues | None = None) -> Table:
    """The study-level cytometry findings, each with the thresholds that decide it
    (``values``: the config numbers, each linked to its row of Table B6)."""
    c = dict(cfg.get("cytometry", {}).get("claims", {}))
    v = values if values is not None else ConfigValues(cfg)
    key = "cytometry.claims."

    def n_of(stat: str, num: str = "numerator") -> str:
        if not ard.has(stat, "all", num):
            return F.MISSING
        k, n = ard.get(stat, "all", num), ard.get(stat, "all", "denominator")
        ard.ratio(stat, "all", num, "denominator")  # the percentage's row
        return F.fmt_n_of_N(k, n, fmt.percent)

    def days(name: str) -> list[Cell | str]:
        if isinstance(c[name], (list, tuple)):
            return ["days ", v(key + name, 0), "\u2013", v(key + name, 1)]
        return [v(key + name), " days"]

    lab = role_labels(cfg)
    rows: list[list[Any]] = []
    if "depletion_threshold_percent" in c:
        rows.append([joined([f"{lab['cd38']} below ", v(key + "depletion_threshold_percent"),
                             f"% of {lab['t_cells']} within ", *days("depletion_window_days"),
                             " after the first dose"]),
                     ard.cell(lambda: n_of("flow_depletion"))])
    if "subset_shift_pp" in c:
        rows.append([joined([f"Share of {lab['naive']} down and memory/effector share up by "
                             "at least ", v(key + "subset_shift_pp"), " percentage points (",
                             *days("post_window_days"), " against baseline)"]),
                     ard.cell(lambda: n_of("flow_subsets"))])
    if "function_fold_factor" in c:
        rows.append([joined(["Activation and division both at least ",
                             v(key + "function_fold_factor"), "-fold lower after dosing"]),
                     ard.cell(lambda: n_of("flow_function"))])
    if "reappearance_threshold_percent" in c:
        rows.append([joined([f"{lab['cd38']} back to at least ",
                             v(key + "reappearance_threshold_percent"), "% within ",
                             *days("relapse_window_days"), " of the clinical relapse "
                             "(of the patients with a relapse)"]),
                     ard.cell(lambda: n_of("flow_relapse", "n"))])
    rows.append(["Samples analysed (excluded by quality control)",
                 ard.cell(lambda: f"{F.fmt_count(ard.opt('flow_n', 'all', 'samples'))} "
                                  f"({F.fmt_count(ard.opt('flow_n', 'all', 'samples_excluded_qc'))})")])
    return Table("flow_findings", "Table 7. Cytometry findings, with the thresholds in force",
                 ["Finding (threshold in force)", "Patients, n/N (%)"], rows,
                 note="Thresholds and windows are set in the configuration (see Methods); "
                      "days are counted from the first daratumumab dose. The last row counts "
                      "samples, not patients.",
                 stat_ids=["flow_depletion", "flow_subsets", "flow_function", "flow_relapse",
                           "flow_n"])


GATE_TYPE_WORDS = {"RectangleGate": "rectangle", "QuadrantGate": "quadrant",
                   "PolygonGate": "polygon", "EllipsoidGate": "ellipse",
                   "BooleanGate": "Boolean"}


RECONCILIATION_COLUMNS = ("populations", "within_tolerance", "max_abs_percent_difference",
                          "max_abs_percent_difference_1000plus")


def reconciliation_rows(summary: Any) -> Rows:
    """The rows of results/cytometry/flowjo_reconciliation_summary.tsv as the report links
    to them: one per gate type and column."""
    long = summary.melt(id_vars=["gate_type"], value_vars=list(RECONCILIATION_COLUMNS),
                        var_name="statistic", value_name="value")
    return Rows(long, ["gate_type", "statistic"], prefix="recon",
                source="results/cytometry/flowjo_reconciliation_summary.tsv")


def reconciliation_table(summary: Any, fmt: Fmt, cfg: Mapping[str, Any],
                         book: Rows | None = None) -> Table:
    """FlowJo's own counts against the pipeline's, by gate type
    (results/cytometry/flowjo_reconciliation_summary.tsv); each number links to its row
    (``book``: :func:`reconciliation_rows`, Table D2)."""
    book = book if book is not None else reconciliation_rows(summary)
    tolerance = (cfg.get("cytometry", {}).get("reconciliation", {}) or {}).get(
        "tolerance_percent")

    def pct(value: Any) -> str:
        if F.is_missing(value):
            return F.MISSING
        if abs(float(value)) == float("inf"):
            return "FlowJo count 0"  # a relative difference to zero is not defined
        return f"{F.fmt_number(value, 2)}%"

    def value(gate: str, column: str) -> str:
        v = book.value(gate, column)
        return F.fmt_count(float(v)) if column in RECONCILIATION_COLUMNS[:2] else pct(v)

    rows = [[GATE_TYPE_WORDS.get(str(r["gate_type"]), str(r["gate_type"]))] +
            [book.cell(lambda g=str(r["gate_type"]), c=c: value(g, c))
             for c in RECONCILIATION_COLUMNS]
            for _, r in summary.iterrows()]
    limit = "" if tolerance is None else (
        f" Within tolerance: at most {F.fmt_number(float(tolerance), 1)}% from FlowJo's count.")
    return Table("flowjo_reconciliation",
                 "Table R. Population counts: FlowJo's stored counts against this analysis",
                 ["Gate type", "Populations compared", "Within tolerance",
                  "Largest difference", "Largest difference, populations of 1,000 events or more"],
                 rows, numeric=[False, True, True, True, True],
                 source="results/cytometry/flowjo_reconciliation.tsv",
                 note=reconciliation_note(summary) + limit)


def reconciliation_note(summary: Any) -> str:
    """The reconciliation footnote, computed from the table's rows: which gate types
    agree with FlowJo within tolerance and how many populations of each do not."""
    agree, differ = [], []
    for _, r in summary.iterrows():
        kind = GATE_TYPE_WORDS.get(str(r["gate_type"]), str(r["gate_type"]))
        n, ok = int(float(r["populations"])), int(float(r["within_tolerance"]))
        if ok == n:
            agree.append(f"{kind} ({F.fmt_count(n)} of {F.fmt_count(n)})")
        else:
            differ.append(f"{kind}: {F.fmt_count(n - ok)} of {F.fmt_count(n)}")
    parts = []
    if agree:
        parts.append("Within tolerance for every population: " + ", ".join(agree) + ".")
    if differ:
        parts.append("Populations beyond the tolerance: " + "; ".join(differ) + ".")
    return (" ".join(parts) + " Known cause of differences: FlowJo evaluates polygon and "
            "ellipse gates on binned (display-resolution) data, while this analysis (FlowKit) "
            "uses the exact gate geometry, so events on a gate's edge can fall either way; a "
            "gate inside such a gate inherits its parent's difference, whatever its own shape.")
