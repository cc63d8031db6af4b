"""Activation and proliferation after stimulation: one row per patient, the
activation marker (left) and the division dye (right) of the T cells at two
visits, with the gates the claims count and their percentages of T cells.

The populations are config ``cytometry.populations`` (``t_cells``, ``activation``,
``divided``); each is found in the gating tree by name or path, its channel, scale
and bounds are those of its gate, so any lab's panel and a FlowJo workspace work
alike. The printed percentages are count(population) / count(T cells) of the
FlowKit gate results, as the claims compute them from the population table.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from aiha.cytometry import labels as L
from aiha.cytometry.gating_figure import FIG_WIDTH_IN, LABEL_PT, TICK_PT, TITLE_PT, fmt_frequency
from aiha.cytometry.scales import apply_ticks, axis_ticks, fmt_bound

ROW_HEIGHT_IN = 2.3
VISIT_COLORS = ("#0072B2", "#D55E00", "#009E73", "#CC79A7")
ROLES = ("activation", "divided")


@dataclass(frozen=True)
class GateAxis:
    """The channel of a population's gate and the gate's bounds on it."""

    channel: str
    transform: str | None
    comp: str | None
    lo: float | None  # display units
    hi: float | None


def two_dimensional(gate: Any) -> bool:
    """Whether a gate is a 2-D shape: a polygon or ellipse, a quadrant, or a
    rectangle bounded on two channels. A 1-D histogram cannot show it."""
    import flowkit as fk

    if isinstance(gate, (fk.gates.PolygonGate, fk.gates.EllipsoidGate)):
        return True
    if isinstance(gate, fk.gates.QuadrantGate):
        return len(gate.dimensions) > 1
    if isinstance(gate, fk.gates.RectangleGate):
        bounded = [d for d in gate.dimensions if not isinstance(d, fk.RatioDimension)
                   and (d.min is not None or d.max is not None)]
        return len(bounded) > 1
    return False


def gate_axis(strategy: Any, key: str) -> GateAxis | None:
    """The one dimension of the gate of population ``key`` (its path); ``None``
    for a gate without one (a boolean gate) or with two (:func:`two_dimensional`:
    drawn in the gating figure, printed here as percentages only)."""
    import flowkit as fk

    from aiha.cytometry.gating_figure import population_gates

    region = population_gates(strategy)[key]
    gate = region.gate
    if two_dimensional(gate):  # a histogram of one axis would misdraw it
        return None
    if isinstance(gate, fk.gates.QuadrantGate):
        quadrant = gate.quadrants[region.quadrant]
        ref = quadrant.divider_refs[0]
        div = next(d for d in gate.dimensions if d.id == ref)
        lo, hi = quadrant.get_divider_range(ref)
        return GateAxis(div.dimension_ref, div.transformation_ref, div.compensation_ref, lo, hi)
    dim = next((d for d in getattr(gate, "dimensions", None) or []
                if not isinstance(d, fk.RatioDimension)), None)
    if dim is None:
        return None
    return GateAxis(dim.id, dim.transformation_ref, dim.compensation_ref,
                    getattr(dim, "min", None), getattr(dim, "max", None))


def _data_units(strategy: Any, value: float | None, xid: str | None) -> float | None:
    if value is None or xid is None:
        return value
    xform = strategy.transformations[xid]
    return float(xform.inverse(np.array([[float(value)]]))[0, 0]) if hasattr(xform, "inverse") else None


def bound_rule(strategy: Any, axis: GateAxis, name: str) -> str:
    """``CD69 (FITC) ≥ 1,000``, ``CTV (BV421) < 28,000`` (data units)."""
    lo = _data_units(strategy, axis.lo, axis.transform)
    hi = _data_units(strategy, axis.hi, axis.transform)
    if lo is not None and hi is not None:
        return f"{name} {fmt_bound(lo)}\u2013{fmt_bound(hi)}"
    if lo is not None:
        return f"{name} \u2265 {fmt_bound(lo)}"
    if hi is not None:
        return f"{name} < {fmt_bound(hi)}"
    return name


@dataclass
class Measured:
    """One sample: T-cell values of each role's channel and the role's percentage."""

    patient_id: str
    visit: str
    day: int
    t_count: int
    values: dict[str, np.ndarray]  # role -> display values of the T cells
    counts: dict[str, int]  # role -> events in the population
    sample_id: str = ""
    excluded: str = ""  # why QC excluded the sample from the statistics ("": used)

    def percent(self, role: str) -> float:
        return 100.0 * self.counts[role] / self.t_count if self.t_count else float("nan")


@dataclass
class FunctionData:
    """What the figure draws: the samples, and per role (``activation``,
    ``divided``) the gate's axis, the display limits, axis label, marker name, the
    gate rule in data units and the population's leaf name."""

    rows: list[Measured]
    axes_info: dict[str, GateAxis]
    limits: dict[str, tuple[float, float]]
    transforms: dict[str, Any]
    x_labels: dict[str, str]
    marker_names: dict[str, str]
    rules: dict[str, str]
    leaves: dict[str, str]

    def t_label(self, names: L.PopulationNames) -> str:
        return names.short(self.leaves.get("t_cells", "T cells"))

    def titles(self, names: L.PopulationNames) -> dict[str, str]:
        return {"activation": f"activation ({names.short(self.leaves['activation'])})",
                "divided": f"proliferation ({L.lower_first(names.short(self.leaves['divided']))})"}


def measure_function(files: Sequence[tuple[str, str, str, str, int]] | Sequence[tuple[str, str, str, str, int, Any]],
                     strategy: Any, roles: Mapping[str, str],
                     options: Mapping[str, Any] | None = None,
                     excluded: Mapping[str, str] | None = None) -> FunctionData:
    """Gate each file: ``files`` holds (fcs path, sample id, patient id, visit,
    day[, strategy of this file]); ``roles``: config ``cytometry.populations`` of
    the functional tube (``t_cells``, ``activation``, ``divided``); ``excluded``:
    sample id -> why QC excluded it from the statistics (:func:`qc_exclusions`)."""
    from aiha.cytometry.gating import (display_values, find_population_row, gate_file, gate_results,
                                       memberships)
    from aiha.cytometry.gating_figure import channel_names, population_gates

    data = FunctionData([], {}, {}, {}, {}, {}, {}, {})
    for fcs, sample_id, patient_id, visit, day, *own in files:
        strat = own[0] if own else strategy
        table, sample = gate_file(fcs, sample_id, strat, options=options)
        keys = {role: str(find_population_row(table, roles[role], sample_id, fcs, str(fcs), role)["gate_path"])
                for role in ("t_cells", *ROLES)}
        members = memberships(gate_results(sample, strat), strat)
        t_members = members[keys["t_cells"]]
        values, counts = {}, {}
        for role in ROLES:
            info = gate_axis(strat, keys[role])
            data.axes_info.setdefault(role, info)
            counts[role] = int(np.count_nonzero(members[keys[role]]))
            if info is None:  # nothing to draw: the percentages only
                values[role] = np.zeros(0)
                leaf = keys[role].rsplit("/", 1)[-1]
                data.leaves.setdefault(role, leaf)
                data.x_labels.setdefault(role, L.derived_label(leaf))
                data.marker_names.setdefault(role, L.derived_label(leaf))
                gate = population_gates(strat)[keys[role]].gate
                data.rules.setdefault(role, "a two-dimensional gate, not drawn as a histogram"
                                      if two_dimensional(gate) else "a combination of gates (not drawn)")
                continue
            channel = (info.channel, info.transform, info.comp)
            shown, lims = display_values(sample, strat, [channel])
            values[role] = shown[(info.channel, info.transform)][t_members]
            lo, hi = lims[(info.channel, info.transform)]
            old = data.limits.get(role, (lo, hi))
            data.limits[role] = (min(lo, old[0]), max(hi, old[1]))
            if role not in data.x_labels:
                labels_, markers_ = channel_names(sample, strat, [channel])
                data.x_labels[role] = labels_[info.channel]
                data.marker_names[role] = markers_[info.channel]
                data.rules[role] = bound_rule(strat, info, data.x_labels[role])
                data.leaves[role] = keys[role].rsplit("/", 1)[-1]
                if info.transform:
                    data.transforms[info.transform] = strat.transformations[info.transform]
        data.leaves.setdefault("t_cells", keys["t_cells"].rsplit("/", 1)[-1])
        data.rows.append(Measured(patient_id, visit, int(day), int(np.count_nonzero(t_members)), values, counts,
                                  sample_id, (excluded or {}).get(sample_id, "")))
    return data


def function_facts(data: FunctionData, names: L.PopulationNames) -> dict[str, Any]:
    """What the caption prints: populations, markers, gate rules in data units,
    visits, and per sample the percentages of T cells."""
    rows = data.rows
    if not rows:
        return {"samples": [], "visits": [], "patients": 0}
    t_label = data.t_label(names)
    texts = [*data.x_labels.values(), *data.titles(names).values(), t_label, *data.rules.values()]
    return {
        "t_cells": names.full(data.leaves["t_cells"]),
        "t_cells_short": t_label,
        **{role: {"label": names.full(data.leaves[role]), "marker": data.x_labels[role],
                  "name": data.marker_names[role], "rule": data.rules[role],
                  "drawn": data.axes_info.get(role) is not None} for role in ROLES},
        "visits": [L.visit_label(v) for v in dict.fromkeys(r.visit for r in rows)],
        "patients": len(dict.fromkeys(r.patient_id for r in rows)),
        "samples": [{"patient_id": r.patient_id, "visit": L.visit_label(r.visit), "day": r.day,
                     "t_cells": r.t_count, "excluded_qc": r.excluded,
                     **{f"{role}_percent": r.percent(role) for role in ROLES}}
                    for r in rows],
        "excluded_qc": sum(1 for r in rows if r.excluded),
        "scales": sorted({L.scale_name(x) for x in data.transforms.values()}),
        "abbreviations": [list(a) for a in L.abbreviations_used(texts)],
    }


EXCLUDED_GREY = "0.55"


def legend_value(row: Measured, role: str) -> str:
    """A sample's legend entry: its percentage, or why QC excluded it (a sample the
    statistics do not use shows no percentage)."""
    if row.excluded:
        return "excluded by QC:\n" + row.excluded.replace("; ", ";\n")
    return fmt_frequency(row.percent(role))


def qc_exclusions(qc: Any, exclude_flagged: bool, min_events_kept: int,
                  min_percent_kept: float) -> dict[str, str]:
    """Sample id -> why QC excluded it from the cytometry statistics, from
    results/cytometry/qc.tsv (sample_id, events_kept, percent_kept, qc_flag): the
    flagged samples when flagged samples are left out (config
    ``cytometry.qc.exclude_flagged``), none otherwise. The same rule as
    :func:`aiha.cytometry.claims.usable`."""
    if not exclude_flagged:
        return {}
    out = {}
    for r in qc.itertuples(index=False):
        flag = "" if r.qc_flag is None or str(r.qc_flag) == "nan" else str(r.qc_flag)
        if flag:
            out[str(r.sample_id)] = L.qc_reason(flag, int(r.events_kept), float(r.percent_kept),
                                                min_events_kept, min_percent_kept)
    return out


def draw_function(data: FunctionData, names: L.PopulationNames) -> Any:
    """One row per patient (sheet order), activation left, division dye right."""
    import matplotlib.pyplot as plt

    rows, axes_info, limits, transforms = data.rows, data.axes_info, data.limits, data.transforms
    x_labels = data.x_labels
    t_label = data.t_label(names)
    titles = data.titles(names)
    legend_titles = {role: names.short(data.leaves[role]) for role in ROLES}

    patients = list(dict.fromkeys(r.patient_id for r in rows))
    fig, axes = plt.subplots(max(len(patients), 1), len(ROLES),
                             figsize=(FIG_WIDTH_IN, ROW_HEIGHT_IN * max(len(patients), 1) + 0.1),
                             squeeze=False)
    for i, pid in enumerate(patients):
        mine = [r for r in rows if r.patient_id == pid]
        for j, role in enumerate(ROLES):
            ax = axes[i][j]
            info = axes_info[role]
            ax.set_title(f"{pid}\n{titles[role]}" if len(f"{pid}: {titles[role]}") > 44
                         else f"{pid}: {titles[role]}", fontsize=TITLE_PT, pad=4)
            if info is None:  # a boolean gate: no axis to draw it on
                ax.axis("off")
                lines = [f"{legend_titles[role]} of {t_label}"] + [
                    f"{L.visit_label(r.visit)}: {legend_value(r, role)}" for r in mine]
                ax.text(0.02, 0.95, "\n".join(lines), va="top", fontsize=7.5, transform=ax.transAxes)
                continue
            lo, hi = limits[role]
            bins = np.linspace(lo, hi, 121)
            top = 0.0
            for k, r in enumerate(mine):
                v = r.values[role]
                weights = np.full(len(v), 100.0 / max(len(v), 1))
                label = (f"{L.visit_label(r.visit)}, day {L.MINUS if r.day < 0 else ''}{abs(r.day)}: "
                         f"{legend_value(r, role)}")
                if r.excluded:  # not in the statistics: grey, dashed, no fill, no percentage
                    heights, _, _ = ax.hist(v, bins=bins, weights=weights, histtype="step", color=EXCLUDED_GREY,
                                            lw=0.9, ls="--", label=label)
                else:
                    color = VISIT_COLORS[k % len(VISIT_COLORS)]
                    heights, _, _ = ax.hist(v, bins=bins, weights=weights, histtype="stepfilled", color=color,
                                            alpha=0.35, rasterized=True)
                    ax.hist(v, bins=bins, weights=weights, histtype="step", color=color, lw=0.9, label=label)
                top = max(top, float(np.max(heights)) if len(heights) else 0.0)
            g_lo = lo if info.lo is None else max(lo, info.lo)
            g_hi = hi if info.hi is None else min(hi, info.hi)
            ax.axvspan(g_lo, g_hi, color="0.9", zorder=0, lw=0)
            for bound in (info.lo, info.hi):
                if bound is not None and lo < bound < hi:
                    ax.axvline(bound, color="black", ls="--", lw=0.9)
            ax.set_xlim(lo, hi)
            ax.set_ylim(0, max(top, 1e-9) * 1.6)
            apply_ticks(ax, "x", axis_ticks(transforms.get(info.transform) if info.transform else None,
                                            (lo, hi)), TICK_PT)
            ax.tick_params(axis="y", labelsize=TICK_PT, length=3, pad=2)
            ax.set_xlabel(x_labels[role], fontsize=LABEL_PT, labelpad=2)
            legend = ax.legend(fontsize=7, loc="upper left", frameon=True, handlelength=1.4,
                               borderaxespad=0.3, title=f"{legend_titles[role]} of {t_label}",
                               title_fontsize=7, alignment="left", fancybox=False, framealpha=0.85,
                               edgecolor="none", facecolor="white")
            legend.get_title().set_fontweight("bold")
            if j == 0 or axes_info[ROLES[j - 1]] is None:
                ax.set_ylabel(f"% of {t_label} per bin", fontsize=LABEL_PT, labelpad=2)
    fig.tight_layout(pad=0.4, w_pad=1.5, h_pad=1.0)
    return fig


def function_figure_from_files(files: Sequence[tuple[str, str, str, str, int]] | Sequence[tuple[str, str, str, str, int, Any]],
                               strategy: Any, roles: Mapping[str, str], path: str | os.PathLike[str],
                               options: Mapping[str, Any] | None = None,
                               excluded: Mapping[str, str] | None = None) -> dict[str, Any]:
    """The activation and proliferation figure of ``files`` (see
    :func:`measure_function`), saved as SVG; returns its caption facts."""
    from aiha.cytometry.figures import empty_figure, save_svg

    data = measure_function(files, strategy, roles, options, excluded)
    names = L.PopulationNames(roles)
    if data.rows:
        save_svg(draw_function(data, names), path)
    else:
        empty_figure("No functional-tube sample at the chosen visits", path)
    return function_facts(data, names)
