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
from matplotlib.transforms import offset_copy  # noqa: E402

from aiha.figure_bins import MIN_PATIENTS_PER_BIN  # noqa: E402
from aiha.formatting import fmt_months  # noqa: E402
from aiha.patient_numbers import GROUP_ORDER as _GROUP_ORDER  # noqa: E402
from aiha.patient_numbers import patient_numbers  # noqa: E402

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
GROUP_ORDER = list(_GROUP_ORDER)
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
    "HR": "Hb response (cAIHA)",
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


def _new_therapy_days(treatments: pd.DataFrame) -> pd.DataFrame:
    """Administrations of a new AIHA therapy after the first dose: category
    ``aiha_therapy`` of treatments.tsv (column ``treatment``) on a day > 0, as the
    response scoring counts them (:mod:`aiha.response`)."""
    if "treatment" not in treatments.columns:
        return treatments.iloc[0:0]
    days = pd.to_numeric(treatments["day"], errors="coerce")
    return treatments[(treatments["treatment"] == "aiha_therapy") & (days > 0)]


# Vertical layout of a swimmer row (row pitch 1): the bar, and a lane above it
# (red-cell transfusions) and below it (daratumumab doses, new AIHA therapy), so no
# mark of one kind hides a mark of another on the same day.
BAR_HEIGHT = 0.5
LANE_OFFSET = 0.34
SWIMMER_ROW_IN = 0.26
TRANSFUSION_COLOR = "#B2182B"
NEW_THERAPY_COLOR = "#7B3294"
ACRO_COLOR = "#882255"


def swimmer_plot(
    responses: pd.DataFrame,
    treatments: pd.DataFrame,
    days_per_month: float,
    flow_patients: frozenset[str] = frozenset(),
    transfusions: pd.DataFrame | None = None,
) -> Figure:
    """One bar per patient from first dose to last follow-up, grouped by analysis group.

    Each row: the bar (colour: best response) with the response date (hollow
    circle), the relapse (red X), the last follow-up (square) or, for a response
    ongoing at the data cut-off, an arrow; below the bar the daratumumab doses
    (ticks) and the administrations of a new AIHA therapy after day 0 (``aiha_therapy``
    of ``treatments``; triangles pointing up); above the bar each red-cell
    transfusion of ``transfusions`` (columns ``patient_id``, ``day``; triangles
    pointing down), before the first dose too (the time axis then starts before 0).
    The acrocyanosis response of the non-anemic cAIHA patients (a case-report-form
    item without a date) is marked at the response date if there is one, otherwise
    at the last follow-up, inside the bar. Rows are labelled with the short patient
    numbers of :func:`aiha.patient_numbers.patient_numbers` (Listing 1 gives the
    pseudonyms) and drawn in their order: by group, then pseudonym (P01 at the top).
    """
    setup_matplotlib()
    resp = responses.copy()
    resp["first"] = pd.to_datetime(resp["first_dose_date"])
    numbers = patient_numbers(resp)
    groups = _ordered_groups(resp["analysis_group"])
    rows: list[tuple[str, pd.Series | None]] = []
    for g in groups:
        sub = resp[resp["analysis_group"] == g].copy()
        sub["_number"] = sub["patient_id"].astype(str).map(numbers)
        sub = sub.sort_values(["_number", "patient_id"], kind="stable")
        rows.append((g, None))
        rows.extend((g, r) for _, r in sub.iterrows())
    many = len(resp) > MANY_PATIENTS
    n_entries = (len({"CR", "PR", "HR", "NR", "NE"} & set(resp["best_response"])) + 7
                 + int((resp["analysis_group"] == "cAIHA_nonanemic").any())
                 + int(bool(flow_patients)))
    legend_rows = -(-n_entries // 3)
    legend_in = 0.16 * legend_rows + 0.15
    height = min(1.3 + legend_in + SWIMMER_ROW_IN * len(rows), MAX_SWIMMER_HEIGHT_IN)
    fig, ax = plt.subplots(figsize=(7.0, height))
    dara = treatments[treatments["treatment"] == "daratumumab"]
    new_therapy = _new_therapy_days(treatments)
    tx = transfusions if transfusions is not None else pd.DataFrame(columns=["patient_id", "day"])
    yticks, ylabels = [], []
    y = len(rows)
    xmax, xmin = 0.0, 0.0
    lane = {"linestyle": "none", "clip_on": False, "zorder": 4}
    for g, r in rows:
        y -= 1
        if r is None:
            ax.text(0.0, y, GROUP_LABELS.get(g, g), fontweight="bold", va="center", ha="left",
                    fontsize=8, transform=ax.get_yaxis_transform())
            continue
        first = r["first"]
        pid = r["patient_id"]

        def to_m(date: Any) -> float | None:
            if pd.isna(date) or str(date).strip() == "":
                return None
            return _months((pd.Timestamp(date) - first).days, days_per_month)

        end = to_m(r["last_followup_date"]) or 0.0
        xmax = max(xmax, end)
        ax.barh(y, end, left=0, height=BAR_HEIGHT,
                color=COLORS.get(r["best_response"], "#999999"), edgecolor="none", zorder=2)
        doses = dara.loc[dara["patient_id"] == pid, "day"].astype(float)
        if len(doses):
            ax.plot(doses / days_per_month, [y - LANE_OFFSET] * len(doses), marker="|",
                    color="black", markersize=5, markeredgewidth=1.0, **lane)
        new = new_therapy.loc[new_therapy["patient_id"] == pid, "day"].astype(float)
        if len(new):
            ax.plot(new / days_per_month, [y - LANE_OFFSET] * len(new), marker="^",
                    color=NEW_THERAPY_COLOR, markersize=5.5, markeredgewidth=0.4,
                    markeredgecolor="white", **lane)
        tdays = tx.loc[tx["patient_id"] == pid, "day"].astype(float)
        if len(tdays):
            ax.plot(tdays / days_per_month, [y + LANE_OFFSET] * len(tdays), marker="v",
                    color=TRANSFUSION_COLOR, markersize=5.5, markeredgewidth=0.4,
                    markeredgecolor="white", **lane)
            xmin = min(xmin, float(tdays.min()) / days_per_month)
        resp_m = to_m(r["response_date"])
        if resp_m is not None:
            ax.plot(resp_m, y, marker="o", color="white", markeredgecolor="black",
                    markersize=4.5, linestyle="none", zorder=5)
        rel_m = to_m(r["relapse_date"])
        if rel_m is not None:
            ax.plot(rel_m, y, marker="X", color="#CC0000", markersize=5.5, linestyle="none",
                    zorder=5)
        if _bool(r["ongoing"]):
            ax.annotate("", xy=(end + 0.9, y), xytext=(end, y),
                        arrowprops={"arrowstyle": "-|>", "color": "black", "lw": 0.8})
        else:
            ax.plot(end, y, marker="s", color="black", markersize=2.5, linestyle="none",
                    zorder=5)
        if r["analysis_group"] == "cAIHA_nonanemic" and _bool(r.get("acrocyanosis_response")):
            # A CRF item without a date: at the response date, else at the last
            # follow-up, drawn just inside the bar's end (left of the follow-up mark).
            at = min(resp_m if resp_m is not None else end, end)
            inset = offset_copy(ax.transData, fig=fig, x=-4.0 if at >= end else 0.0,
                                units="points")
            ax.plot(at, y, marker="*", color=ACRO_COLOR, markeredgecolor="white",
                    markeredgewidth=0.4, markersize=7, linestyle="none", zorder=6,
                    transform=inset)
        yticks.append(y)
        ylabels.append(numbers.get(str(pid), str(pid))
                       + (" \u25c6" if pid in flow_patients else ""))
    if many:
        ax.set_yticks([])
        _rasterize_marks(fig)
    else:
        ax.set_yticks(yticks)
        ax.set_yticklabels(ylabels, fontsize=6.5)
    ax.tick_params(axis="y", length=0)
    ax.set_ylim(-0.8, len(rows) - 0.2)
    span = max(1.0, xmax - xmin)
    ax.set_xlim(xmin - 0.03 * span - 0.3, max(1.0, xmax) + 0.05 * span + 1.0)
    ax.xaxis.set_major_locator(MultipleLocator(_month_step(span)))
    ax.set_xlabel("Months from first daratumumab dose")
    ax.set_ylabel(f"Patients (n = {len(resp)}), one row each" if many
                  else "Patient (number; pseudonyms in Listing 1)")
    ax.set_title("Treatment and response course per patient")
    present = [k for k in ("CR", "PR", "HR", "NR", "NE") if k in set(resp["best_response"])]
    handles: list[Any] = [plt.Rectangle((0, 0), 1, 1, color=COLORS[k]) for k in present]
    labels = [RESPONSE_WORDS[k] for k in present]
    handles += [
        Line2D([], [], marker="|", color="black", linestyle="none", markersize=7,
               markeredgewidth=1.0),
        Line2D([], [], marker="o", color="white", markeredgecolor="black", linestyle="none"),
        Line2D([], [], marker="X", color="#CC0000", linestyle="none"),
        Line2D([], [], marker="s", color="black", markersize=2.5, linestyle="none"),
        Line2D([], [], marker=">", color="black", linestyle="none", markersize=4),
        Line2D([], [], marker="v", color=TRANSFUSION_COLOR, linestyle="none", markersize=6),
        Line2D([], [], marker="^", color=NEW_THERAPY_COLOR, linestyle="none", markersize=6),
    ]
    labels += ["Daratumumab dose", "Response date", "Relapse", "Last follow-up",
               "Response ongoing at cut-off", "Red-cell transfusion",
               "New AIHA therapy (after day 0)"]
    if (resp["analysis_group"] == "cAIHA_nonanemic").any():
        handles.append(Line2D([], [], marker="*", color=ACRO_COLOR, linestyle="none",
                              markersize=7))
        labels.append("Acrocyanosis response (non-anemic)")
    if flow_patients:
        handles.append(Line2D([], [], marker="D", color="black", linestyle="none",
                              markersize=3))
        labels.append("\u25c6 flow cytometry")
    fig.legend(handles, labels, loc="lower center", ncol=3, frameon=False)
    fig.tight_layout(rect=(0, legend_in / height, 1, 1))
    return fig


# ---------------------------------------------------------------- lab courses
# Median and IQR of a time bin are drawn where at least MIN_PATIENTS_PER_BIN patients
# (aiha.figure_bins) have a value in it (fewer: the individual lines only).
# The mean Gregorian month; the workflow passes the config's response.days_per_month.
DEFAULT_DAYS_PER_MONTH = 365.25 / 12
COURSE_ANALYTES = ("hb", "ldh", "bilirubin")
RESPONDER_COLOR = "#0072B2"
OTHER_COLOR = "#999999"
FLAG_COLOR = "#CC0000"
FAINT_ALPHA = 0.35


def month_bin(day: float, days_per_month: float) -> int:
    """The time bin of a lab value on ``day`` (day 0: the first dose): the nearest
    whole month, ``floor(day / days_per_month + 0.5)``, except that a value after
    the first dose is never pooled with the pre-dose ones: days 1 to half a month
    fall in month 1, not month 0. Month 0 thus holds the last pre-dose weeks (the
    baseline values) and day 0, month -1 the month before them, and so on."""
    k = math.floor(float(day) / days_per_month + 0.5)
    return max(k, 1) if day > 0 else k


def binned_summary(values: pd.DataFrame, days_per_month: float,
                   min_patients: int = MIN_PATIENTS_PER_BIN) -> pd.DataFrame:
    """Median and interquartile range per group and month bin (:func:`month_bin`).

    ``values``: columns ``group``, ``patient_id``, ``day``, ``value``. A patient with
    several values in a bin counts once, with the median of them; the bin's median,
    first and third quartile (linear interpolation) are taken over those patient
    values. Bins with fewer than ``min_patients`` patients are left out. Returns the
    columns ``group``, ``month``, ``n``, ``median``, ``q1``, ``q3``, sorted by group
    and month.
    """
    columns = ["group", "month", "n", "median", "q1", "q3"]
    if values.empty:
        return pd.DataFrame(columns=columns)
    v = values[["group", "patient_id", "day", "value"]].copy()
    v["value"] = v["value"].astype(float)
    v["month"] = [month_bin(d, days_per_month) for d in v["day"].astype(float)]
    per_patient = v.groupby(["group", "month", "patient_id"], sort=True)["value"].median()
    by_bin = per_patient.groupby(level=["group", "month"], sort=True)
    out = pd.DataFrame({"n": by_bin.size(), "median": by_bin.median(),
                        "q1": by_bin.quantile(0.25), "q3": by_bin.quantile(0.75)}).reset_index()
    out = out[out["n"] >= min_patients].reset_index(drop=True)
    out["n"] = out["n"].astype(int)
    return out[columns]


def lab_month_range(labs: pd.DataFrame, days_per_month: float) -> tuple[float, float]:
    """The x-limits (months) shared by every panel of the Hb and hemolysis figures:
    from the earliest to the latest Hb, LDH or bilirubin value, padded by half a
    month, so the two figures also share one time axis."""
    days = labs.loc[labs["analyte"].isin(COURSE_ANALYTES), "day"].astype(float)
    if days.empty:
        return -1.0, 1.0
    return float(days.min()) / days_per_month - 0.5, float(days.max()) / days_per_month + 0.5


def _course_step(span: float, panels: int) -> int:
    """Whole-month tick spacing giving a panel of a ``panels``-column row at most
    about 6 labelled ticks."""
    target = 6 if panels > 1 else 10
    for step in (1, 2, 3, 6, 12, 24):
        if span / step <= target:
            return step
    return 48


def _flagged(frame: pd.DataFrame) -> pd.Series:
    if "flag" not in frame.columns:
        return pd.Series(False, index=frame.index)
    return frame["flag"].fillna("").astype(str) == "suspicious"


def _draw_course(ax: Any, sub: pd.DataFrame, summary: pd.DataFrame,
                 responder: Mapping[str, bool], days_per_month: float) -> None:
    """Faint individual lines (by responder status), the median line and IQR band
    of the bins summarised, and a ring around each flagged value."""
    has_summary = len(summary) > 0
    alpha = FAINT_ALPHA if has_summary else 0.9
    for pid in sorted(sub["patient_id"].unique()):
        pts = sub[sub["patient_id"] == pid].sort_values("day", kind="stable")
        ax.plot(pts["day"] / days_per_month, pts["value"], linewidth=0.6, marker="o",
                markersize=1.2, alpha=alpha, zorder=2,
                color=RESPONDER_COLOR if responder.get(pid) else OTHER_COLOR)
    if has_summary:
        months = range(int(summary["month"].min()), int(summary["month"].max()) + 1)
        s = summary.set_index("month").reindex(months)  # gaps where a bin is left out
        x = [float(m) for m in months]
        band = ax.fill_between(x, s["q1"].astype(float), s["q3"].astype(float), color="black",
                               alpha=0.16, linewidth=0, zorder=3)
        band.set_label("_iqr")  # labels for tests; "_": never in a legend
        ax.plot(x, s["median"].astype(float), color="black", linewidth=1.5, marker="o",
                markersize=2.6, zorder=4, label="_median")
    flagged = sub[_flagged(sub)]
    if len(flagged):
        ax.plot(flagged["day"] / days_per_month, flagged["value"], linestyle="none",
                marker="o", markersize=7, markerfacecolor="none", markeredgecolor=FLAG_COLOR,
                markeredgewidth=1.1, zorder=6, clip_on=False)


def _course_legend(fig: Figure, extra: list[tuple[Any, str]], flagged: bool) -> int:
    handles: list[Any] = [
        Line2D([], [], color="black", linewidth=1.5, marker="o", markersize=2.6),
        plt.Rectangle((0, 0), 1, 1, color="black", alpha=0.16, linewidth=0),
        Line2D([], [], color=RESPONDER_COLOR, linewidth=0.6, marker="o", markersize=1.2,
               alpha=FAINT_ALPHA + 0.2),
        Line2D([], [], color=OTHER_COLOR, linewidth=0.6, marker="o", markersize=1.2,
               alpha=FAINT_ALPHA + 0.2),
    ]
    labels = [f"Median per month (bins of \u2265 {MIN_PATIENTS_PER_BIN} patients)",
              "Interquartile range", "Responder (each patient)",
              "Nonresponder / not evaluable (each patient)"]
    if flagged:
        handles.append(Line2D([], [], linestyle="none", marker="o", markersize=7,
                              markerfacecolor="none", markeredgecolor=FLAG_COLOR,
                              markeredgewidth=1.1))
        labels.append("Flagged suspicious value (kept)")
    for h, lab in extra:
        handles.append(h)
        labels.append(lab)
    fig.legend(handles, labels, loc="lower center", ncol=3, frameon=False)
    return -(-len(labels) // 3)


def _course_frame(labs: pd.DataFrame, responses: pd.DataFrame) -> pd.DataFrame:
    data = labs[labs["analyte"].isin(COURSE_ANALYTES)].copy()
    data["day"] = data["day"].astype(float)
    data["value"] = data["value"].astype(float)
    group_of = dict(zip(responses["patient_id"], responses["analysis_group"]))
    data["group"] = data["patient_id"].map(group_of)
    return data


def _month_axis(ax: Any, xlim: tuple[float, float], step: int, label: bool) -> None:
    ax.set_xlim(*xlim)
    ax.xaxis.set_major_locator(MultipleLocator(step))
    if step > 1:
        ax.xaxis.set_minor_locator(MultipleLocator(1))
    ax.axvline(0, color="#666666", linewidth=0.5, zorder=1)
    if label:
        ax.set_xlabel("Months from first dose")


def hb_trajectories(
    labs: pd.DataFrame,
    responses: pd.DataFrame,
    thresholds: Mapping[str, Mapping[str, float]],
    days_per_month: float = DEFAULT_DAYS_PER_MONTH,
) -> Figure:
    """Hb (g/dL) against months from the first dose, one panel per analysis group.

    Per group: the median and interquartile range of each monthly time bin
    (:func:`month_bin`, :func:`binned_summary`: the nearest whole month, a value
    after the first dose never pooled with the pre-dose ones; each patient once per
    bin, with the median of the patient's values; bins of at least
    :data:`MIN_PATIENTS_PER_BIN` patients), over the individual courses drawn faint
    (blue: responders, grey: the others; full strength in a group with no bin to
    summarise). Values flagged suspicious in the cleaned labs (``flag``) are kept,
    as in the analysis, and ringed in red. All panels share one time axis
    (:func:`lab_month_range`, the same as the hemolysis figure's). ``thresholds``
    maps a group to ``{label: g/dL}`` reference lines (from config).
    """
    setup_matplotlib()
    data = _course_frame(labs, responses)
    hb = data[data["analyte"] == "hb"]
    responder = {p: _bool(v) for p, v in zip(responses["patient_id"], responses["responder"])}
    groups = _ordered_groups(responses["analysis_group"])
    summary = binned_summary(hb.dropna(subset=["group"]), days_per_month)
    xlim = lab_month_range(labs, days_per_month)
    step = _course_step(xlim[1] - xlim[0], len(groups))
    fig, axes = plt.subplots(1, len(groups), figsize=(7.0, 3.1), sharey=True, sharex=True,
                             squeeze=False)
    ymin = min(hb["value"].min(), 6.0) - 0.5 if len(hb) else 5.0
    ymax = max(hb["value"].max(), 14.0) + 0.5 if len(hb) else 15.0
    line_styles = ["--", ":", "-."]
    for ax, g in zip(axes[0], groups):
        sub = hb[hb["group"] == g]
        _draw_course(ax, sub, summary[summary["group"] == g], responder, days_per_month)
        for k, (label, value) in enumerate(sorted(thresholds.get(g, {}).items(),
                                                  key=lambda kv: (kv[1], kv[0]))):
            ax.axhline(value, color="black", linewidth=0.6, linestyle=line_styles[k % 3],
                       zorder=1)
            ax.text(1.0, value, f" {label}", transform=ax.get_yaxis_transform(), fontsize=6,
                    va="bottom", ha="right")
        n = responses[responses["analysis_group"] == g]["patient_id"].nunique()
        ax.set_title(f"{GROUP_LABELS.get(g, g)} (n = {n})")
        _month_axis(ax, xlim, step, True)
        ax.set_ylim(ymin, ymax)
    axes[0][0].set_ylabel("Hemoglobin (g/dL)")
    rows = _course_legend(fig, [], bool(_flagged(hb).any()))
    fig.tight_layout(rect=(0, (0.16 * rows + 0.08) / 3.1, 1, 1))
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
    days_per_month: float = DEFAULT_DAYS_PER_MONTH,
) -> Figure:
    """LDH (x ULN) and bilirubin (mg/dL) against months from the first dose: a row
    per analyte, a column per analysis group; ``limits`` (``ldh``, ``bilirubin``):
    dashed normal limits from the config. As :func:`hb_trajectories`: the median
    and IQR per monthly time bin over the faint individual courses, flagged values
    ringed, one time axis for every panel (and the same as the Hb figure's)."""
    setup_matplotlib()
    analytes = [("ldh", "LDH (\u00d7 ULN)"), ("bilirubin", "Bilirubin (mg/dL)")]
    responder = {p: _bool(v) for p, v in zip(responses["patient_id"], responses["responder"])}
    groups = _ordered_groups(responses["analysis_group"])
    data = _course_frame(labs, responses)
    xlim = lab_month_range(labs, days_per_month)
    step = _course_step(xlim[1] - xlim[0], len(groups))
    fig, axes = plt.subplots(2, max(1, len(groups)), figsize=(7.0, 4.9), sharey="row",
                             sharex=True, squeeze=False)
    for row, (analyte, label) in enumerate(analytes):
        values = data[data["analyte"] == analyte]
        summary = binned_summary(values.dropna(subset=["group"]), days_per_month)
        for col, g in enumerate(groups):
            ax = axes[row][col]
            _draw_course(ax, values[values["group"] == g], summary[summary["group"] == g],
                         responder, days_per_month)
            if analyte in limits:
                ax.axhline(float(limits[analyte]), color="black", linewidth=0.6, linestyle="--",
                           zorder=1)
            _month_axis(ax, xlim, step, row == len(analytes) - 1)
            if row == 0:
                n = responses[responses["analysis_group"] == g]["patient_id"].nunique()
                ax.set_title(f"{GROUP_LABELS.get(g, g)} (n = {n})")
        axes[row][0].set_ylabel(label)
    limit = (Line2D([], [], color="black", linestyle="--", linewidth=0.6),
             "Normal limit (CR criterion)")
    flagged = bool(_flagged(data[data["analyte"].isin(["ldh", "bilirubin"])]).any())
    rows = _course_legend(fig, [limit], flagged)
    fig.tight_layout(rect=(0, (0.16 * rows + 0.08) / 4.9, 1, 1))
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



def write_clinical_figures(inputs: Mapping[str, str | os.PathLike[str]], cfg: Mapping[str, Any],
                           outputs: Mapping[str, str | os.PathLike[str]]) -> None:
    """Draw the clinical figures of rule report_figures.

    ``inputs`` keys: responses, labs, treatments, km, ard and (optional) transfusions
    (results/clinical/transfusions.tsv; without it the swimmer plot has no transfusion
    marks); ``cfg``: :func:`aiha.settings.figures_config`; ``outputs`` keys: swimmer,
    hb_trajectories, km_dor, hemolysis. The months of every time axis use the
    config's ``response.days_per_month``.
    """
    from aiha.ard import read_ard, read_text_tsv
    from aiha.pseudonym import is_pseudonym
    from aiha.report.model import ARD

    responses = read_text_tsv(inputs["responses"])
    treatments = read_text_tsv(inputs["treatments"])
    labs = read_text_tsv(inputs["labs"])
    transfusions = read_text_tsv(inputs["transfusions"]) if inputs.get("transfusions") else None
    km = pd.read_csv(inputs["km"], sep="\t")
    ard = ARD(read_ard(inputs["ard"]))
    resp_cfg, st = cfg["response"], cfg["statistics"]
    dpm = float(resp_cfg["days_per_month"])
    flow = ard.frame[ard.frame["stat_id"].str.startswith("flow_")
                     & ard.frame["group"].map(is_pseudonym)]
    save_svg(swimmer_plot(responses, treatments, dpm, frozenset(flow["group"]), transfusions),
             outputs["swimmer"])
    save_svg(hb_trajectories(labs, responses, hb_thresholds(resp_cfg), dpm),
             outputs["hb_trajectories"])
    medians = {g: ard.opt("dor_median_km", g, "value") for g in sorted(set(km["group"]))}
    save_svg(km_plot(km, medians, st["km_tie_rule"], float(st["ci_level"]),
                     str(st.get("km_ci_transform", "log-log"))), outputs["km_dor"])
    limits = {"ldh": float(resp_cfg["ldh_uln_multiple"]),
              "bilirubin": float(resp_cfg["bilirubin_uln_mg_dl"])}
    save_svg(hemolysis_courses(labs, responses, limits, dpm), outputs["hemolysis"])
