"""Figures of the cytometry arm (deterministic SVG: fixed hash salt, no date or
creator metadata; dot/density plots rasterized, axes and text vector).

The event-level figures are in :mod:`aiha.cytometry.gating_figure` (gating
strategy) and :mod:`aiha.cytometry.function_figure` (activation and proliferation);
this module holds the summary figures and the shared SVG set-up."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

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


def empty_figure(message: str, path: str | os.PathLike[str]) -> None:
    """A figure saying why there is nothing to draw."""
    fig, ax = plt.subplots(figsize=(7.0, 1.0))
    ax.axis("off")
    ax.text(0.5, 0.5, message, ha="center", va="center", fontsize=9)
    save_svg(fig, path)


def write_facts(facts: Mapping[str, Any], path: str | os.PathLike[str]) -> None:
    """The facts a figure's caption prints, as deterministic JSON (atomic write)."""
    import json

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(json.dumps(facts, indent=1, sort_keys=True, ensure_ascii=False) + "\n", encoding="utf-8")
    os.replace(tmp, path)


# ---------------------------------------------------------------- time course
# Per-patient panels: two per row at the report's text width (7 in), so the figure
# prints 1:1 and its text keeps the size set in :func:`setup`.
PANEL_COLUMNS = 2
FIGURE_WIDTH_IN = 7.0
PANEL_HEIGHT_IN = 2.5


def _patient_grid(n: int) -> tuple[Any, np.ndarray]:
    cols = min(max(n, 1), PANEL_COLUMNS)
    rows = -(-max(n, 1) // cols)
    fig, axes = plt.subplots(rows, cols, figsize=(FIGURE_WIDTH_IN, PANEL_HEIGHT_IN * rows + 0.6),
                             squeeze=False, sharey=True)
    for ax in axes.flat[n:]:
        ax.set_visible(False)
    return fig, axes


def _legend_below(fig: Any, handles: list, labels: list) -> None:
    """One legend for every panel, under the panels."""
    fig.legend(handles, labels, loc="lower center", ncol=min(len(labels), 3), frameon=False,
               fontsize=8)
    fig.tight_layout(rect=(0, 0.1 if len(labels) <= 3 else 0.16, 1, 1))


# The CD38 axis is logarithmic (0.1, 1, 10, 100%) so a nadir of 0.2% stands apart
# from 1%; a value of 0% has no place on it and is drawn at this floor, hollow.
CD38_ZERO_FLOOR_PERCENT = 0.05
CD38_YLIM = (0.03, 150.0)
CD38_TICKS = (0.1, 1.0, 10.0, 100.0)
CD38_COLOR = PATIENT_COLORS[0]


def cd38_plot_values(percent: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """The y values drawn on the log axis: each percentage, with 0 (and anything
    below the floor) at :data:`CD38_ZERO_FLOOR_PERCENT`; and a mask of the values so
    moved (drawn hollow)."""
    values = percent.to_numpy(dtype=float)
    low = values < CD38_ZERO_FLOOR_PERCENT
    return np.where(low, CD38_ZERO_FLOOR_PERCENT, values), low


def _percent_label(value: float, _pos: Any = None) -> str:
    return f"{value:g}"


def cd38_timecourse(cd38: pd.DataFrame, hb: pd.DataFrame, relapses: Mapping[str, int],
                    depletion_threshold: float, reappearance_threshold: float,
                    path: str | os.PathLike[str], labels: Mapping[str, str] | None = None) -> None:
    """CD38+ % of CD3+ over days (left axis, logarithmic: ticks 0.1, 1, 10 and 100%;
    a value of 0% drawn hollow at :data:`CD38_ZERO_FLOOR_PERCENT`) and Hb (right axis),
    one panel per patient (titled with the pseudonym), relapse marked. Every panel
    draws CD38 in the same colour, so each line's colour is in the one legend under
    the panels. ``labels``: the roles' display names
    (:func:`aiha.cytometry.labels.display_labels`; default: the demo panel's)."""
    from matplotlib.ticker import FixedLocator, FuncFormatter, NullLocator

    from aiha.cytometry.labels import DEMO_DISPLAY

    words = {**DEMO_DISPLAY, **dict(labels or {})}
    import textwrap

    series_label = textwrap.fill(f"{words['cd38']}, % of {words['t_cells']}", 34)
    patients = sorted(cd38["patient_id"].unique())
    fig, axes = _patient_grid(len(patients))
    legend: dict[str, Any] = {}
    for ax, pid in zip(axes.flat, patients):
        series = cd38[cd38["patient_id"] == pid].sort_values("day", kind="stable")
        y, low = cd38_plot_values(series["percent"])
        days = series["day"].to_numpy(dtype=float)
        ax.plot(days, y, "o-", ms=3, color=CD38_COLOR, label=series_label)
        if low.any():
            ax.plot(days[low], y[low], "o", ms=4.5, mfc="white", mec=CD38_COLOR, mew=1.0,
                    label=f"0% (drawn at {CD38_ZERO_FLOOR_PERCENT:g}%)")
        ax.set_yscale("log")
        ax.set_ylim(*CD38_YLIM)
        ax.yaxis.set_major_locator(FixedLocator(list(CD38_TICKS)))
        ax.yaxis.set_major_formatter(FuncFormatter(_percent_label))
        ax.yaxis.set_minor_locator(NullLocator())
        ax.axhline(depletion_threshold, color="grey", ls=":", lw=1,
                   label=f"depletion threshold {depletion_threshold:g}%")
        ax.axhline(reappearance_threshold, color="grey", ls="--", lw=1,
                   label=f"reappearance threshold {reappearance_threshold:g}%")
        ax.axvline(0, color="black", lw=0.8, label="first daratumumab dose")
        if pid in relapses:
            ax.axvline(relapses[pid], color="red", lw=1.2, label="clinical relapse")
        ax.set_xlabel("Days from first daratumumab dose")
        ax.set_title(pid, fontsize=9)
        twin = ax.twinx()
        p_hb = hb[hb["patient_id"] == pid].sort_values("day")
        twin.plot(p_hb["day"], p_hb["value"], "s-", ms=2.5, lw=0.8, color="dimgray",
                  label="Hb (right axis)")
        twin.set_ylabel("Hb (g/dL)")
        twin.set_ylim(0, 18)
        ax.set_zorder(twin.get_zorder() + 1)  # CD38 drawn over the Hb line
        ax.patch.set_visible(False)
        for h, lab in zip(*[a + b for a, b in zip(ax.get_legend_handles_labels(),
                                                   twin.get_legend_handles_labels())]):
            legend.setdefault(lab, h)
    for row in axes:
        row[0].set_ylabel(textwrap.fill(f"{words['cd38']} (% of {words['t_cells']}, log scale)", 30)
                          if len(words["cd38"]) + len(words["t_cells"]) <= 40
                          else "% of T cells (log scale)", fontsize=8)
    _legend_below(fig, list(legend.values()), list(legend))
    save_svg(fig, path)


def subsets_figure(shares: Mapping[str, pd.DataFrame], path: str | os.PathLike[str]) -> None:
    """Stacked bars of naive / CM / EM / TEMRA shares of CD3+ per visit."""
    keys = list(SUBSET_COLORS)
    patients = sorted(set().union(*(set(f["patient_id"]) for f in shares.values())))
    fig, axes = _patient_grid(len(patients))
    for ax, pid in zip(axes.flat, patients):
        frames = {k: shares[k][shares[k]["patient_id"] == pid].set_index("sample_id") for k in keys}
        order = frames[keys[0]].sort_values("day")
        labels = [f"{v}\n(d{d})" for v, d in zip(order["visit"], order["day"])]
        bottom = np.zeros(len(order))
        for k in keys:
            values = frames[k].loc[order.index, "percent"].to_numpy(dtype=float)
            ax.bar(range(len(order)), values, bottom=bottom, color=SUBSET_COLORS[k],
                   label=SUBSET_LABELS[k])
            bottom += values
        ax.set_xticks(range(len(order)), labels, fontsize=7)
        ax.set_title(pid, fontsize=9)
        ax.set_xlabel("Visit (day from first dose)")
    for row in axes:
        row[0].set_ylabel("% of CD3+ T cells")
    handles, labels = axes.flat[0].get_legend_handles_labels()
    _legend_below(fig, handles, labels)
    save_svg(fig, path)


