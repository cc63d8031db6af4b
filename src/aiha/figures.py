"""Report figures as deterministic SVG (same inputs -> same bytes).

Determinism: a fixed ``svg.hashsalt`` (element ids), ``metadata={"Date": None,
"Creator": None}`` (no date, no version stamp) and text drawn as paths with the
bundled DejaVu Sans (no font lookup on the reader's machine).

Inputs are the results tables of docs/tables.md; every threshold drawn comes from the
configuration passed in, every median from the ARD.
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402
from matplotlib.lines import Line2D  # noqa: E402
from matplotlib.ticker import MultipleLocator  # noqa: E402

from aiha.formatting import fmt_months  # noqa: E402

SVG_HASHSALT = "aiha-report"
# Figures keep one page at any cohort size: above this many patients the swimmer plot
# prints no pseudonyms (its height is capped), and per-patient marks of every figure
# are drawn as an embedded image instead of thousands of vector paths.
MANY_PATIENTS = 40
MAX_SWIMMER_HEIGHT_IN = 9.6
RASTER_DPI = 200


def _rasterize_marks(fig: Figure) -> None:
    """Per-patient lines, bars and markers as one embedded PNG per axes (text and
    axes stay vector)."""
    for ax in fig.axes:
        for artist in [*ax.lines, *ax.patches, *ax.collections]:
            artist.set_rasterized(True)
GROUP_ORDER = ["wAIHA", "cAIHA", "cAIHA_nonanemic"]
GROUP_LABELS = {
    "wAIHA": "wAIHA",
    "cAIHA": "cAIHA (anemic)",
    "cAIHA_nonanemic": "cAIHA (non-anemic)",
    "all": "All treated",
}
# Okabe-Ito colours (colour-blind safe).
COLORS = {
    "CR": "#009E73",
    "PR": "#56B4E9",
    "HR": "#CC79A7",
    "NR": "#BBBBBB",
    "NE": "#E69F00",
    "wAIHA": "#0072B2",
    "cAIHA": "#D55E00",
    "cAIHA_nonanemic": "#882255",
}
RESPONSE_WORDS = {
    "CR": "CR, complete response",
    "PR": "PR, partial response",
    "HR": "HR, hemoglobin response",
    "NR": "NR, no response",
    "NE": "NE, not evaluable (non-anemic)",
}


def setup_matplotlib() -> None:
    """rcParams that make SVG output deterministic and self-contained."""
    plt.rcParams.update(
        {
            "svg.hashsalt": SVG_HASHSALT,
            "svg.fonttype": "path",
            "font.family": "DejaVu Sans",
            "font.size": 8,
            "axes.titlesize": 9,
            "axes.labelsize": 8,
            "legend.fontsize": 7,
            "xtick.labelsize": 7,
            "ytick.labelsize": 7,
            "axes.spines.top": False,
            "axes.spines.right": False,
            "path.simplify": True,
        }
    )


def save_svg(fig: Figure, path: str | os.PathLike[str]) -> None:
    """Write ``fig`` as SVG without date or creator, atomically, and close it."""
    path = os.fspath(path)
    os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
    tmp = os.path.join(os.path.dirname(path) or ".", f".{os.path.basename(path)}.tmp")
    fig.savefig(tmp, format="svg", metadata={"Date": None, "Creator": None}, dpi=RASTER_DPI)
    plt.close(fig)
    os.replace(tmp, path)


def _bool(value: Any) -> bool:
    if isinstance(value, str):
        return value.strip().lower() in ("true", "1", "1.0", "yes")
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return False
    return bool(value)


def _ordered_groups(present: pd.Series) -> list[str]:
    seen = [g for g in GROUP_ORDER if g in set(present)]
    return seen + sorted(set(present) - set(seen))


def _month_step(xmax: float) -> int:
    """Tick spacing in whole months for an axis reaching ``xmax`` months."""
    for step in (1, 2, 3, 6, 12, 24):
        if xmax / step <= 10:
            return step
    return 48


def _months(days: float, days_per_month: float) -> float:
    return float(days) / days_per_month


def swimmer_plot(
    responses: pd.DataFrame,
    treatments: pd.DataFrame,
    days_per_month: float,
    flow_patients: frozenset[str] = frozenset(),
) -> Figure:
    """One bar per patient from first dose to last follow-up, grouped by analysis group.

    Markers: daratumumab doses, response date, relapse date, last follow-up; an arrow
    for responses ongoing at the data cut-off. Bar colour is the best response.
    """
    setup_matplotlib()
    resp = responses.copy()
    resp["first"] = pd.to_datetime(resp["first_dose_date"])
    groups = _ordered_groups(resp["analysis_group"])
    rows: list[tuple[str, pd.Series | None]] = []
    for g in groups:
        sub = resp[resp["analysis_group"] == g].copy()
        sub["span"] = (pd.to_datetime(sub["last_followup_date"]) - sub["first"]).dt.days
        sub = sub.sort_values(["span", "patient_id"], ascending=[True, True], kind="stable")
        rows.append((g, None))
        rows.extend((g, r) for _, r in sub.iterrows())
    many = len(resp) > MANY_PATIENTS
    height = min(1.9 + 0.2 * len(rows), MAX_SWIMMER_HEIGHT_IN)
    fig, ax = plt.subplots(figsize=(7.0, height))
    dara = treatments[treatments["treatment"] == "daratumumab"]
    yticks, ylabels = [], []
    y = len(rows)
    xmax = 0.0
    for g, r in rows:
        y -= 1
        if r is None:
            ax.text(0, y, GROUP_LABELS.get(g, g), fontweight="bold", va="center", ha="left",
                    fontsize=8)
            continue
        first = r["first"]

        def to_m(date: Any) -> float | None:
            if pd.isna(date) or str(date).strip() == "":
                return None
            return _months((pd.Timestamp(date) - first).days, days_per_month)

        end = to_m(r["last_followup_date"]) or 0.0
        xmax = max(xmax, end)
        ax.barh(y, end, left=0, height=0.6, color=COLORS.get(r["best_response"], "#999999"),
                edgecolor="none")
        doses = dara.loc[dara["patient_id"] == r["patient_id"], "day"].astype(float)
        if len(doses):
            ax.plot(doses / days_per_month, [y] * len(doses), linestyle="none", marker="|",
                    color="black", markersize=6, markeredgewidth=0.8)
        resp_m = to_m(r["response_date"])
        if resp_m is not None:
            ax.plot(resp_m, y, marker="o", color="white", markeredgecolor="black", markersize=4.5,
                    linestyle="none")
        rel_m = to_m(r["relapse_date"])
        if rel_m is not None:
            ax.plot(rel_m, y, marker="X", color="#CC0000", markersize=5.5, linestyle="none")
        if _bool(r["ongoing"]):
            ax.annotate("", xy=(end + 0.9, y), xytext=(end, y),
                        arrowprops={"arrowstyle": "-|>", "color": "black", "lw": 0.8})
        else:
            ax.plot(end, y, marker="s", color="black", markersize=2.5, linestyle="none")
        if r["analysis_group"] == "cAIHA_nonanemic" and _bool(r.get("acrocyanosis_response")):
            ax.plot(end + 0.5, y, marker="*", color="#882255", markersize=6, linestyle="none")
        yticks.append(y)
        ylabels.append(str(r["patient_id"]) + (" \u25c6" if r["patient_id"] in flow_patients
                                                else ""))
    if many:
        ax.set_yticks([])
        _rasterize_marks(fig)
    else:
        ax.set_yticks(yticks)
        ax.set_yticklabels(ylabels, fontsize=6)
    ax.set_ylim(-0.8, len(rows) - 0.2)
    ax.set_xlim(0, max(1.0, xmax) * 1.08 + 1)
    ax.xaxis.set_major_locator(MultipleLocator(_month_step(xmax)))
    ax.set_xlabel("Months from first daratumumab dose")
    ax.set_ylabel(f"Patients (n = {len(resp)}), one row each" if many else "Patient (pseudonym)")
    ax.set_title("Treatment and response course per patient")
    present = [k for k in ("CR", "PR", "HR", "NR", "NE") if k in set(resp["best_response"])]
    handles = [plt.Rectangle((0, 0), 1, 1, color=COLORS[k]) for k in present]
    labels = [RESPONSE_WORDS[k] for k in present]
    handles += [
        Line2D([], [], marker="|", color="black", linestyle="none", markersize=6),
        Line2D([], [], marker="o", color="white", markeredgecolor="black", linestyle="none"),
        Line2D([], [], marker="X", color="#CC0000", linestyle="none"),
        Line2D([], [], marker="s", color="black", markersize=2.5, linestyle="none"),
        Line2D([], [], marker=">", color="black", linestyle="none", markersize=4),
    ]
    labels += ["Daratumumab dose", "Response date", "Relapse", "Last follow-up",
               "Response ongoing at cut-off"]
    if (resp["analysis_group"] == "cAIHA_nonanemic").any():
        handles.append(Line2D([], [], marker="*", color="#882255", linestyle="none",
                              markersize=6))
        labels.append("Acrocyanosis response (non-anemic)")
    if flow_patients:
        handles.append(Line2D([], [], marker="D", color="black", linestyle="none",
                              markersize=3))
        labels.append("\u25c6 flow cytometry")
    fig.legend(handles, labels, loc="lower center", ncol=4, frameon=False)
    fig.tight_layout(rect=(0, 0.55 / height, 1, 1))
    return fig


def hb_trajectories(
    labs: pd.DataFrame,
    responses: pd.DataFrame,
    thresholds: Mapping[str, Mapping[str, float]],
) -> Figure:
    """Hb (g/dL) against day from first dose, one panel per analysis group.

    ``thresholds`` maps a group to ``{label: g/dL}`` reference lines (from config).
    Lines are coloured by responder status; suspicious values are ringed.
    """
    setup_matplotlib()
    hb = labs[labs["analyte"] == "hb"].copy()
    hb["day"] = hb["day"].astype(float)
    hb["value"] = hb["value"].astype(float)
    group_of = dict(zip(responses["patient_id"], responses["analysis_group"]))
    responder = {p: _bool(v) for p, v in zip(responses["patient_id"], responses["responder"])}
    hb["group"] = hb["patient_id"].map(group_of)
    groups = _ordered_groups(responses["analysis_group"])
    fig, axes = plt.subplots(1, len(groups), figsize=(7.0, 2.8), sharey=True, squeeze=False)
    ymin = min(hb["value"].min(), 6.0) - 0.5 if len(hb) else 5.0
    ymax = max(hb["value"].max(), 14.0) + 0.5 if len(hb) else 15.0
    line_styles = ["--", ":", "-."]
    for ax, g in zip(axes[0], groups):
        sub = hb[hb["group"] == g]
        for pid in sorted(sub["patient_id"].unique()):
            pts = sub[sub["patient_id"] == pid].sort_values("day", kind="stable")
            color = "#0072B2" if responder.get(pid) else "#999999"
            ax.plot(pts["day"], pts["value"], color=color, linewidth=0.9, marker="o", markersize=2)
            flagged = pts[pts["flag"].fillna("").astype(str) == "suspicious"]
            if len(flagged):
                ax.plot(flagged["day"], flagged["value"], linestyle="none", marker="o",
                        markersize=6, markerfacecolor="none", markeredgecolor="#CC0000")
        for k, (label, value) in enumerate(sorted(thresholds.get(g, {}).items(),
                                                  key=lambda kv: (kv[1], kv[0]))):
            ax.axhline(value, color="black", linewidth=0.6, linestyle=line_styles[k % 3])
            ax.text(1.0, value, f" {label}", transform=ax.get_yaxis_transform(), fontsize=6,
                    va="bottom", ha="right")
        ax.axvline(0, color="#666666", linewidth=0.5)
        ax.set_title(f"{GROUP_LABELS.get(g, g)} (n = {sub['patient_id'].nunique()})")
        ax.set_xlabel("Day from first dose")
        ax.set_ylim(ymin, ymax)
    axes[0][0].set_ylabel("Hemoglobin (g/dL)")
    handles = [Line2D([], [], color="#0072B2", marker="o", markersize=2),
               Line2D([], [], color="#999999", marker="o", markersize=2),
               Line2D([], [], linestyle="none", marker="o", markersize=6,
                      markerfacecolor="none", markeredgecolor="#CC0000")]
    fig.legend(handles, ["Responder", "Nonresponder / not evaluable", "Flagged suspicious value"],
               loc="lower center", ncol=3, frameon=False)
    fig.tight_layout(rect=(0, 0.08, 1, 1))
    if responses["patient_id"].nunique() > MANY_PATIENTS:
        _rasterize_marks(fig)
    return fig


KM_CI_WORDS = {"log-log": "log(\u2212log)", "log": "log", "plain": "plain"}


def km_plot(
    km_curve: pd.DataFrame,
    medians: Mapping[str, float],
    tie_rule: str,
    ci_level: float,
    ci_transform: str = "log-log",
) -> Figure:
    """Kaplan-Meier curves of duration of response with CI band and censor marks.

    ``medians`` maps a group to its KM median from the ARD (NaN: not reached); it is
    marked with dashed lines at S = 0.5 and labelled with the tie rule in force. Under
    the axis: the number at risk at each tick.
    """
    ci_words = KM_CI_WORDS.get(ci_transform, ci_transform)
    setup_matplotlib()
    groups = _ordered_groups(km_curve["group"])
    fig, (ax, risk) = plt.subplots(2, 1, figsize=(6.2, 4.3 + 0.18 * len(groups)), sharex=True,
                                   gridspec_kw={"height_ratios": [5, 0.5 + 0.35 * len(groups)]})
    xmax = float(km_curve["time_months"].max()) if len(km_curve) else 1.0
    for g in groups:
        c = km_curve[km_curve["group"] == g].sort_values("time_months", kind="stable")
        color = COLORS.get(g, "black")
        t = c["time_months"].astype(float).to_list()
        s = c["survival"].astype(float).to_list()
        ax.step(t, s, where="post", color=color, linewidth=1.3,
                label=f"{GROUP_LABELS.get(g, g)}")
        ax.fill_between(t, c["ci_lower"].astype(float), c["ci_upper"].astype(float), step="post",
                        color=color, alpha=0.15, linewidth=0)
        cens = c[c["censored"].astype(float) > 0]
        ax.plot(cens["time_months"].astype(float), cens["survival"].astype(float), linestyle="none",
                marker="|", markersize=8, markeredgewidth=1.2, color=color)
        med = medians.get(g, float("nan"))
        if med is not None and not math.isnan(med):
            ax.plot([0, med], [0.5, 0.5], color=color, linestyle="--", linewidth=0.7)
            ax.plot([med, med], [0, 0.5], color=color, linestyle="--", linewidth=0.7)
            ax.annotate(f"KM median {fmt_months(med)}", xy=(med, 0.0), xytext=(3, 4),
                        textcoords="offset points", fontsize=6.5, color=color)
    ax.set_xlim(0, xmax * 1.05 + 0.5)
    ax.set_ylim(0, 1.05)
    ax.set_xlabel("Months from response")
    ax.set_ylabel("Probability of continued response")
    ax.set_title("Duration of response (Kaplan-Meier)")
    handles, labels = ax.get_legend_handles_labels()
    handles += [plt.Rectangle((0, 0), 1, 1, color="#888888", alpha=0.3),
                Line2D([], [], marker="|", linestyle="none", color="black", markersize=8),
                Line2D([], [], linestyle="--", color="black", linewidth=0.7)]
    labels += [f"{ci_level * 100:.0f}% CI ({ci_words})", "Censored (ongoing at cut-off)",
               f"Median (at a tie: {tie_rule} end)" if tie_rule not in ("midpoint", "r_survival")
               else "Median (at a tie: r_survival, the midpoint)" if tie_rule == "r_survival"
               else "Median (at a tie: midpoint)"]
    fig.legend(handles, labels, loc="lower center", ncol=3, frameon=False)
    step = _month_step(xmax)
    ax.xaxis.set_major_locator(MultipleLocator(step))
    ax.tick_params(labelbottom=True)
    # Numbers at risk: responders still in response just before each tick.
    ticks = [k * step for k in range(int((xmax * 1.05 + 0.5) // step) + 1)]
    risk.set_ylim(-0.5, len(groups) - 0.5)
    risk.set_yticks(range(len(groups)))
    risk.set_yticklabels([GROUP_LABELS.get(g, g) for g in reversed(groups)])
    for i, g in enumerate(reversed(groups)):
        c = km_curve[km_curve["group"] == g]
        for x in ticks:
            risk.text(x, i, str(at_risk(c, x)), ha="center", va="center", fontsize=6.5,
                      color=COLORS.get(g, "black"))
    for side in ("left", "bottom", "top", "right"):
        risk.spines[side].set_visible(False)
    risk.tick_params(axis="both", length=0)
    risk.tick_params(axis="y", pad=10)
    risk.tick_params(axis="x", labelbottom=False)
    risk.set_title("Number at risk", fontsize=7, loc="left")
    fig.tight_layout(rect=(0, 0.12, 1, 1))
    return fig


def at_risk(curve: pd.DataFrame, t: float) -> int:
    """Responders still at risk at time ``t`` (months) of one group's KM step table:
    at risk at the first tabulated time >= t, or those at the last time minus its
    events and censorings when t is beyond the table."""
    c = curve.sort_values("time_months", kind="stable")
    times = c["time_months"].astype(float).to_numpy()
    n = c["at_risk"].astype(int).to_numpy()
    later = [i for i, x in enumerate(times) if x >= t]
    if later:
        return int(n[later[0]])
    last = c.iloc[-1]
    return int(last["at_risk"]) - int(last["events"]) - int(last["censored"])


def hemolysis_courses(
    labs: pd.DataFrame,
    responses: pd.DataFrame,
    limits: Mapping[str, float],
) -> Figure:
    """LDH (x ULN) and bilirubin (mg/dL) against day from first dose: a row per analysis,
    a column per analysis group; ``limits`` (``ldh``, ``bilirubin``): dashed normal limits
    from the config. Lines coloured by responder status."""
    setup_matplotlib()
    analytes = [("ldh", "LDH (\u00d7 ULN)"), ("bilirubin", "Bilirubin (mg/dL)")]
    group_of = dict(zip(responses["patient_id"], responses["analysis_group"]))
    responder = {p: _bool(v) for p, v in zip(responses["patient_id"], responses["responder"])}
    groups = _ordered_groups(responses["analysis_group"])
    data = labs.copy()
    data["day"] = data["day"].astype(float)
    data["value"] = data["value"].astype(float)
    data["group"] = data["patient_id"].map(group_of)
    fig, axes = plt.subplots(2, max(1, len(groups)), figsize=(7.0, 4.6), sharey="row",
                             sharex=True, squeeze=False)
    for row, (analyte, label) in enumerate(analytes):
        for col, g in enumerate(groups):
            ax = axes[row][col]
            sub = data[(data["analyte"] == analyte) & (data["group"] == g)]
            for pid in sorted(sub["patient_id"].unique()):
                pts = sub[sub["patient_id"] == pid].sort_values("day", kind="stable")
                ax.plot(pts["day"], pts["value"], linewidth=0.8, marker="o", markersize=1.8,
                        color="#0072B2" if responder.get(pid) else "#999999")
            if analyte in limits:
                ax.axhline(float(limits[analyte]), color="black", linewidth=0.6, linestyle="--")
            ax.axvline(0, color="#666666", linewidth=0.5)
            if row == 0:
                n = responses[responses["analysis_group"] == g]["patient_id"].nunique()
                ax.set_title(f"{GROUP_LABELS.get(g, g)} (n = {n})")
            else:
                ax.set_xlabel("Day from first dose")
        axes[row][0].set_ylabel(label)
    handles = [Line2D([], [], color="#0072B2", marker="o", markersize=2),
               Line2D([], [], color="#999999", marker="o", markersize=2),
               Line2D([], [], color="black", linestyle="--", linewidth=0.6)]
    fig.legend(handles, ["Responder", "Nonresponder / not evaluable", "Normal limit (CR criterion)"],
               loc="lower center", ncol=3, frameon=False)
    fig.tight_layout(rect=(0, 0.06, 1, 1))
    if responses["patient_id"].nunique() > MANY_PATIENTS:
        _rasterize_marks(fig)
    return fig


def hb_thresholds(response_cfg: Mapping[str, Any]) -> dict[str, dict[str, float]]:
    """Reference lines per group, read from the ``response`` section of the config."""
    return {
        "wAIHA": {
            f"CR \u2265 {response_cfg['cr_hb_g_dl']:g}": float(response_cfg["cr_hb_g_dl"]),
            f"PR \u2265 {response_cfg['pr_hb_g_dl']:g}": float(response_cfg["pr_hb_g_dl"]),
        },
        "cAIHA": {
            f"normal \u2265 {response_cfg['hb_normal_g_dl']:g}": float(response_cfg["hb_normal_g_dl"]),
        },
        "cAIHA_nonanemic": {
            f"anemia < {response_cfg['anemia_hb_g_dl']:g}": float(response_cfg["anemia_hb_g_dl"]),
        },
    }

