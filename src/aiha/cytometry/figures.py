"""Figures of the cytometry arm (deterministic SVG: fixed hash salt, no date or
creator metadata; dot/density plots rasterized, axes and text vector).

The event-level figures are in :mod:`aiha.cytometry.gating_figure` (gating
strategy) and :mod:`aiha.cytometry.function_figure` (activation and proliferation);
this module holds the summary figures and the shared SVG set-up."""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
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
