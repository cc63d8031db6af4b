"""Figures of the cytometry arm (deterministic SVG: fixed hash salt, no date or
creator metadata; dot/density plots rasterized, axes and text vector)."""

from __future__ import annotations

import math
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from matplotlib.colors import LogNorm  # noqa: E402
from matplotlib.patches import Polygon  # noqa: E402

SUBSET_COLORS = {"naive": "#4477AA", "central_memory": "#66CCEE",
                 "effector_memory": "#EE6677", "temra": "#AA3377"}
SUBSET_LABELS = {"naive": "Naive (CCR7+CD45RA+)", "central_memory": "Central memory (CCR7+CD45RA−)",
                 "effector_memory": "Effector memory (CCR7−CD45RA−)", "temra": "TEMRA (CCR7−CD45RA+)"}
PATIENT_COLORS = ("#0072B2", "#D55E00", "#009E73", "#CC79A7")


def setup(hashsalt: str) -> None:
    """Deterministic SVG output."""
    plt.rcParams["svg.hashsalt"] = hashsalt
    plt.rcParams["svg.fonttype"] = "path"
    plt.rcParams["font.family"] = "DejaVu Sans"
    plt.rcParams["font.size"] = 9


def save_svg(fig: Any, path: str | os.PathLike[str]) -> None:
    """Write an SVG atomically, without date or creator metadata."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    fig.savefig(tmp, format="svg", metadata={"Date": None, "Creator": None}, dpi=150)
    plt.close(fig)
    os.replace(tmp, path)


# ---------------------------------------------------------------- gating strategy
@dataclass(frozen=True)
class GatePanel:
    """One dot plot: events of the gate's parent, the gate drawn on top."""

    gate_name: str
    gate_path: tuple[str, ...]
    x: str
    y: str
    x_transform: str | None
    y_transform: str | None
    gate: Any
    x_comp: str | None = "FCS"
    y_comp: str | None = "FCS"

    def channels(self) -> list[tuple[str, str | None, str | None]]:
        return [(self.x, self.x_transform, self.x_comp), (self.y, self.y_transform, self.y_comp)]


def scatter_channel(labels: Sequence[str]) -> str:
    """The side-scatter channel a one-dimensional gate is drawn against."""
    for name in ("SSC-A", "SSC-H", "SSC", "SSC-W"):
        if name in labels:
            return name
    return next((lab for lab in labels if "SSC" in lab.upper()), labels[0])


def gate_panels(strategy: Any, default_y: str = "SSC-A") -> list[GatePanel]:
    """One panel per gate object, in hierarchy order. A one-dimensional gate is
    drawn against ``default_y``; boolean gates have no panel."""
    import flowkit as fk
    from flowkit.exceptions import QuadrantReferenceError

    panels = []
    for name, path in strategy.get_gate_ids():
        try:
            gate = strategy.get_gate(name, path)
        except QuadrantReferenceError:
            continue
        dims = []
        for d in getattr(gate, "dimensions", []):
            if isinstance(d, fk.RatioDimension):
                continue
            channel = d.dimension_ref if isinstance(d, fk.QuadrantDivider) else d.id
            dims.append((channel, d.transformation_ref, d.compensation_ref))
        if not dims:
            continue
        if len(dims) == 1:
            other = "FSC-A" if dims[0][0] == default_y else default_y
            dims.append((other, None, None))
        (x, xt, xc), (y, yt, yc) = dims[:2]
        panels.append(GatePanel(name, tuple(path), x, y, xt, yt, gate, xc, yc))
    return panels


def _draw_gate(ax: Any, panel: GatePanel) -> None:
    import flowkit as fk

    gate = panel.gate
    style = {"color": "black", "lw": 1.0}
    if isinstance(gate, fk.gates.PolygonGate):
        ax.add_patch(Polygon(np.asarray(gate.vertices), closed=True, fill=False, **style))
    elif isinstance(gate, fk.gates.RectangleGate):
        bounds = {d.id: (d.min, d.max) for d in gate.dimensions}
        xlo, xhi = bounds.get(panel.x, (None, None))
        ylo, yhi = bounds.get(panel.y, (None, None))
        x0, x1 = ax.get_xlim()
        y0, y1 = ax.get_ylim()
        xs = [x0 if xlo is None else xlo, x1 if xhi is None else xhi]
        ys = [y0 if ylo is None else ylo, y1 if yhi is None else yhi]
        ax.add_patch(plt.Rectangle((xs[0], ys[0]), xs[1] - xs[0], ys[1] - ys[0], fill=False, **style))
    elif isinstance(gate, fk.gates.EllipsoidGate) and len(gate.coordinates) == 2:
        from matplotlib.patches import Ellipse

        vals, vecs = np.linalg.eigh(np.asarray(gate.covariance_matrix, dtype=float))
        width, height = 2 * np.sqrt(np.maximum(vals, 0) * gate.distance_square)
        angle = float(np.degrees(np.arctan2(vecs[1, 1], vecs[0, 1])))
        ax.add_patch(Ellipse(tuple(gate.coordinates), width=height, height=width, angle=angle,
                             fill=False, **style))
    elif isinstance(gate, fk.gates.QuadrantGate):
        for d in gate.dimensions:
            for v in d.values:
                if d.dimension_ref == panel.x:
                    ax.axvline(v, **style)
                else:
                    ax.axhline(v, **style)


def _density(ax: Any, x: np.ndarray, y: np.ndarray, xlim: Sequence[float], ylim: Sequence[float]) -> None:
    if len(x) > 0:
        ax.hist2d(x, y, bins=128, range=[list(xlim), list(ylim)], cmin=1, cmap="viridis",
                  norm=LogNorm(), rasterized=True)
    ax.set_xlim(*xlim)
    ax.set_ylim(*ylim)


def _label(channel: str, transform: str | None) -> str:
    return f"{channel} ({transform})" if transform else channel


def gating_figure(samples: Sequence[Mapping[str, Any]], strategy: Any, path: str | os.PathLike[str]) -> None:
    """Dot plots of every gate for each sample.

    ``samples``: dicts with ``title``, ``values`` (channel -> display values of all
    events; transformed where the gate is) and ``members`` (gate path string ->
    boolean membership; ``""`` for all events).
    """
    per_sample = [sample.get("panels") or gate_panels(strategy) for sample in samples]
    ncol = 5
    rows_per = max(1, max((math.ceil(len(p) / ncol) for p in per_sample), default=1))
    fig, axes = plt.subplots(rows_per * len(samples), ncol,
                             figsize=(3.0 * ncol, 2.7 * rows_per * len(samples)), squeeze=False)
    for s_index, sample in enumerate(samples):
        panels = per_sample[s_index]
        for p_index, panel in enumerate(panels):
            ax = axes[s_index * rows_per + p_index // ncol][p_index % ncol]
            parent_key = "/".join(p for p in panel.gate_path if p != "root")
            members = sample["members"].get(parent_key, None)
            x = sample["values"][(panel.x, panel.x_transform)]
            y = sample["values"][(panel.y, panel.y_transform)]
            if members is not None:
                x, y = x[members], y[members]
            xlim = sample["limits"][(panel.x, panel.x_transform)]
            ylim = sample["limits"][(panel.y, panel.y_transform)]
            _density(ax, x, y, xlim, ylim)
            _draw_gate(ax, panel)
            parent = panel.gate_path[-1] if panel.gate_path[-1] != "root" else "all events"
            ax.set_title(f"{panel.gate_name} (of {parent})", fontsize=8)
            ax.set_xlabel(_label(panel.x, panel.x_transform), fontsize=8)
            ax.set_ylabel(_label(panel.y, panel.y_transform), fontsize=8)
            ax.tick_params(labelsize=7)
        for p_index in range(len(panels), rows_per * ncol):
            axes[s_index * rows_per + p_index // ncol][p_index % ncol].axis("off")
        axes[s_index * rows_per][0].annotate(
            sample["title"], xy=(0, 1.25), xycoords="axes fraction", fontsize=10, fontweight="bold")
    fig.tight_layout()
    save_svg(fig, path)


# ---------------------------------------------------------------- time course
def _patient_colors(patients: Sequence[str]) -> dict[str, str]:
    return {p: PATIENT_COLORS[i % len(PATIENT_COLORS)] for i, p in enumerate(patients)}


def cd38_timecourse(cd38: pd.DataFrame, hb: pd.DataFrame, relapses: Mapping[str, int],
                    depletion_threshold: float, reappearance_threshold: float,
                    path: str | os.PathLike[str]) -> None:
    """CD38+ % of CD3+ over days (left axis, symlog) and Hb (right axis), one
    panel per patient, relapse marked."""
    patients = sorted(cd38["patient_id"].unique())
    colors = _patient_colors(patients)
    fig, axes = plt.subplots(1, max(len(patients), 1), figsize=(5.5 * max(len(patients), 1), 3.8),
                             squeeze=False, sharey=True)
    for ax, pid in zip(axes[0], patients):
        series = cd38[cd38["patient_id"] == pid]
        ax.plot(series["day"], series["percent"], "o-", color=colors[pid], label="CD38+ of CD3+")
        ax.set_yscale("symlog", linthresh=1.0)
        ax.set_ylim(0, 100)
        ax.axhline(depletion_threshold, color="grey", ls=":", lw=1, label=f"depletion {depletion_threshold:g}%")
        ax.axhline(reappearance_threshold, color="grey", ls="--", lw=1,
                   label=f"reappearance {reappearance_threshold:g}%")
        ax.axvline(0, color="black", lw=0.8)
        if pid in relapses:
            ax.axvline(relapses[pid], color="red", lw=1.2, label="clinical relapse")
        ax.set_xlabel("Days from first daratumumab dose")
        ax.set_title(pid)
        twin = ax.twinx()
        p_hb = hb[hb["patient_id"] == pid].sort_values("day")
        twin.plot(p_hb["day"], p_hb["value"], "s-", ms=2.5, lw=0.8, color="dimgray", label="Hb")
        twin.set_ylabel("Hb (g/dL)")
        twin.set_ylim(0, 18)
        lines = ax.get_legend_handles_labels()
        tl = twin.get_legend_handles_labels()
        ax.legend(lines[0] + tl[0], lines[1] + tl[1], fontsize=7, loc="upper right")
    axes[0][0].set_ylabel("CD38+ T cells (% of CD3+)")
    fig.tight_layout()
    save_svg(fig, path)


def subsets_figure(shares: Mapping[str, pd.DataFrame], path: str | os.PathLike[str]) -> None:
    """Stacked bars of naive / CM / EM / TEMRA shares of CD3+ per visit."""
    keys = list(SUBSET_COLORS)
    patients = sorted(set().union(*(set(f["patient_id"]) for f in shares.values())))
    fig, axes = plt.subplots(1, max(len(patients), 1), figsize=(5.5 * max(len(patients), 1), 3.8),
                             squeeze=False, sharey=True)
    for ax, pid in zip(axes[0], patients):
        frames = {k: shares[k][shares[k]["patient_id"] == pid].set_index("sample_id") for k in keys}
        order = frames[keys[0]].sort_values("day")
        labels = [f"{v}\n(d{d})" for v, d in zip(order["visit"], order["day"])]
        bottom = np.zeros(len(order))
        for k in keys:
            values = frames[k].loc[order.index, "percent"].to_numpy(dtype=float)
            ax.bar(range(len(order)), values, bottom=bottom, color=SUBSET_COLORS[k], label=SUBSET_LABELS[k])
            bottom += values
        ax.set_xticks(range(len(order)), labels, fontsize=7)
        ax.set_title(pid)
        ax.set_xlabel("Visit (day from first dose)")
    axes[0][0].set_ylabel("% of CD3+ T cells")
    axes[0][-1].legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.0, 1.0))
    fig.tight_layout()
    save_svg(fig, path)


def proliferation_figure(histograms: Sequence[Mapping[str, Any]], divided_bound: float,
                         x_label: str, path: str | os.PathLike[str]) -> None:
    """CTV histograms of CD3+ T cells after stimulation, one panel per patient.

    ``histograms``: dicts with ``patient_id``, ``label`` and ``values`` (transformed
    CTV of the gated T cells).
    """
    patients = sorted({h["patient_id"] for h in histograms})
    fig, axes = plt.subplots(1, max(len(patients), 1), figsize=(5.0 * max(len(patients), 1), 3.5),
                             squeeze=False, sharey=True)
    bins = np.linspace(0.0, 1.0, 121)
    styles = ({"color": "#0072B2", "alpha": 0.55}, {"color": "#D55E00", "alpha": 0.55})
    for ax, pid in zip(axes[0], patients):
        for i, h in enumerate(x for x in histograms if x["patient_id"] == pid):
            weights = np.full(len(h["values"]), 100.0 / max(len(h["values"]), 1))
            ax.hist(h["values"], bins=bins, weights=weights, histtype="stepfilled",
                    label=h["label"], rasterized=True, **styles[i % 2])
        ax.axvline(divided_bound, color="black", ls="--", lw=1, label="divided gate")
        ax.set_xlabel(x_label)
        ax.set_title(pid)
        ax.legend(fontsize=7, loc="upper left")
    axes[0][0].set_ylabel("% of CD3+ T cells per bin")
    fig.tight_layout()
    save_svg(fig, path)


# ---------------------------------------------------------------- from FCS files
def gating_figure_from_files(files: Sequence[tuple[str, str, str]] | Sequence[tuple[str, str, str, Any]],
                             strategy: Any, path: str | os.PathLike[str],
                             options: Mapping[str, Any] | None = None) -> None:
    """``files``: (fcs path, sample id, title[, strategy of this file]). Gates each
    file with FlowKit, with its own strategy (a FlowJo workspace's sample) when
    given, else ``strategy``. ``options``: FCS reading options (panel, ...)."""
    from aiha.cytometry.gating import display_values, gate_file, gate_results, memberships

    samples = []
    for fcs, sample_id, title, *own in files:
        strat = own[0] if own else strategy
        _, sample = gate_file(fcs, sample_id, strat, options=options)
        panels = gate_panels(strat, scatter_channel(list(sample.pnn_labels)))
        channels = [c for p in panels for c in p.channels()]
        results = gate_results(sample, strat)
        values, limits = display_values(sample, strat, channels)
        samples.append({"title": title, "values": values, "limits": limits, "panels": panels,
                        "members": memberships(results, strat)})
    gating_figure(samples, strategy, path)


def proliferation_from_files(files: Sequence[tuple[str, str, str, str]] | Sequence[tuple[str, str, str, str, Any]],
                             strategy: Any, t_cells: str, divided: str, path: str | os.PathLike[str],
                             options: Mapping[str, Any] | None = None) -> None:
    """``files``: (fcs path, sample id, patient id, label[, strategy of this file]).
    The dye of the gated T cells, the channel and bound taken from the
    ``divided`` gate; both populations by gate name or path."""
    from flowkit.exceptions import QuadrantReferenceError

    from aiha.cytometry.gating import display_values, find_population_row, gate_file, gate_results, memberships

    histograms = []
    dim = bound = None
    for fcs, sample_id, patient_id, label, *own in files:
        strat = own[0] if own else strategy
        table, sample = gate_file(fcs, sample_id, strat, options=options)
        where = str(fcs)
        t_key = find_population_row(table, t_cells, sample_id, fcs, where, "T cells")["gate_path"]
        d_key = find_population_row(table, divided, sample_id, fcs, where, "divided")["gate_path"]
        gates = {}
        for name, gpath in strat.get_gate_ids():
            try:
                gates["/".join([*(p for p in gpath if p != "root"), name])] = strat.get_gate(name, gpath)
            except QuadrantReferenceError:
                continue
        gate = gates[d_key]
        dim = gate.dimensions[0]
        bound = dim.max if getattr(dim, "max", None) is not None else getattr(dim, "min", 0.0)
        members = memberships(gate_results(sample, strat), strat)
        values, _ = display_values(sample, strat, [(dim.id, dim.transformation_ref, dim.compensation_ref)])
        histograms.append({"patient_id": patient_id, "label": label,
                           "values": values[(dim.id, dim.transformation_ref)][members[t_key]]})
    if dim is None:
        x_label, bound = "", 0.0
    else:
        x_label = f"{dim.id} ({dim.transformation_ref})" if dim.transformation_ref else dim.id
    proliferation_figure(histograms, float(bound or 0.0), x_label, path)
