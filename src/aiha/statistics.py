"""Statistics of the study: exact binomial CIs, Kaplan-Meier with a stated tie
rule for the median, crude medians, and the clinical analysis-results rows."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from aiha.ard import Stat

GROUPS_BASELINE = ("all", "wAIHA", "cAIHA", "cAIHA_nonanemic")


def clopper_pearson(k: int, n: int, level: float = 0.95) -> tuple[float, float]:
    """Exact (Clopper-Pearson) confidence interval of k/n."""
    from scipy.stats import binomtest

    if n <= 0:
        return (math.nan, math.nan)
    ci = binomtest(k, n).proportion_ci(confidence_level=level, method="exact")
    return (float(ci.low), float(ci.high))


def crude_median(values: Sequence[float]) -> float:
    """Plain median of the values (ongoing ones at their censored value)."""
    return float(np.median(np.asarray(values, dtype=float))) if len(values) else math.nan


@dataclass(frozen=True)
class KaplanMeier:
    """A Kaplan-Meier estimate as a step table (one row per distinct time incl. 0)."""

    table: pd.DataFrame  # time, survival, ci_lower, ci_upper, at_risk, events, censored


CI_TRANSFORMS = ("log-log", "log", "plain")


def greenwood_band(survival: np.ndarray, at_risk: np.ndarray, events: np.ndarray,
                   level: float, transform: str) -> tuple[np.ndarray, np.ndarray]:
    """Pointwise band of S(t) from Greenwood's variance of log S, as R's survfit
    ``conf.type``: ``log`` (R's default) S exp(+-z se), ``plain`` S +- z S se, clipped
    to [0, 1]. (``log-log`` comes from lifelines.)"""
    from scipy.stats import norm

    z = float(norm.ppf(1 - (1 - level) / 2))
    with np.errstate(divide="ignore", invalid="ignore"):
        terms = np.where(at_risk > events, events / (at_risk * (at_risk - events)), np.inf)
    terms = np.where(events > 0, terms, 0.0)
    se = np.sqrt(np.cumsum(terms))  # standard error of log S
    with np.errstate(invalid="ignore", over="ignore"):
        if transform == "log":
            lower, upper = survival * np.exp(-z * se), survival * np.exp(z * se)
        elif transform == "plain":
            lower, upper = survival - z * survival * se, survival + z * survival * se
        else:
            raise ValueError(f"unknown CI transform {transform!r} (one of {CI_TRANSFORMS})")
    undefined = (survival <= 0) | ~np.isfinite(se)
    lower = np.where(undefined, np.nan, np.clip(lower, 0.0, 1.0))
    upper = np.where(undefined, np.nan, np.clip(upper, 0.0, 1.0))
    return lower, upper


def kaplan_meier(durations: Sequence[float], events: Sequence[int], level: float = 0.95,
                 transform: str = "log-log") -> KaplanMeier:
    """lifelines Kaplan-Meier with a pointwise confidence band: ``log-log`` ("exponential
    Greenwood", lifelines; undefined where S = 0, as R's survfit), or ``log`` / ``plain`` (Greenwood, :func:`greenwood_band`)."""
    from lifelines import KaplanMeierFitter

    kmf = KaplanMeierFitter(alpha=1 - level)
    kmf.fit(np.asarray(durations, float), np.asarray(events, int))
    sf = kmf.survival_function_.iloc[:, 0]
    ci = kmf.confidence_interval_survival_function_
    ev = kmf.event_table
    lower, upper = ci.iloc[:, 0].to_numpy(float), ci.iloc[:, 1].to_numpy(float)
    if transform == "log-log":
        # lifelines gives (0, 0) where S = 0; log(-log S) is undefined there, and
        # R's survfit reports NA (else the median's upper limit is the last time).
        lower = np.where(sf.to_numpy(float) <= 0, np.nan, lower)
        upper = np.where(sf.to_numpy(float) <= 0, np.nan, upper)
    else:
        lower, upper = greenwood_band(sf.to_numpy(float), ev["at_risk"].to_numpy(float),
                                      ev["observed"].to_numpy(float), level, transform)
    table = pd.DataFrame(
        {
            "time": sf.index.to_numpy(float),
            "survival": sf.to_numpy(float),
            "ci_lower": lower,
            "ci_upper": upper,
            "at_risk": ev["at_risk"].to_numpy(int),
            "events": ev["observed"].to_numpy(int),
            "censored": ev["censored"].to_numpy(int),
        }
    )
    return KaplanMeier(table)


# R's tolerance in survival::quantile.survfit: sqrt(.Machine$double.eps).
R_SURVIVAL_TOLERANCE = math.sqrt(float(np.finfo(float).eps))
KM_TIE_RULES = ("r_survival", "lower", "midpoint", "upper")


def km_quantile_r(times: Sequence[float], survival: Sequence[float], p: float,
                  tol: float = R_SURVIVAL_TOLERANCE) -> float:
    """Time at which the step curve S reaches ``p``, as R survival 3.x computes it
    (``quantile.survfit`` -> ``doquant`` -> ``findq``), ported line by line.

    On the cumulative curve F = 1 - S, with (0, 0) put first (survfit's start time)
    and repeated F values dropped (the first time of each flat segment stays): i1 is
    the point of smallest F with F + tol >= 1 - p, i2 that of smallest F with
    F - tol >= 1 - p (R's ``approx(..., method = "constant", f = 1)``); the
    quantile is (t[i1] + t[i2]) / 2. So where S equals ``p`` within ``tol`` on a flat
    segment the midpoint of the segment is taken, else the first time S < p. Where
    the last (non-missing) point of the curve equals ``p`` within ``tol``, the
    upper end is the curve's last time. NaN (missing points, e.g. an undefined
    confidence bound) is skipped as R's ``approx`` does; NaN when not reached.
    The same function gives the median's CI from the pointwise bands (as survfit).
    """
    x = np.concatenate([[0.0], np.asarray(times, float)])
    y = np.concatenate([[0.0], 1.0 - np.asarray(survival, float)])
    target = 1.0 - p
    if np.all(np.isnan(y)) or np.nanmax(y) < target:
        return math.nan
    xmax = float(x[-1])
    keep, seen = [], set()
    for i, v in enumerate(y):
        key = "NA" if np.isnan(v) else float(v)
        if key not in seen:  # R's duplicated(): NA repeats too
            seen.add(key)
            keep.append(i)
    x, y = x[keep], y[keep]
    valid = np.flatnonzero(~np.isnan(y))

    def point(shift: float) -> int | None:
        hits = [i for i in valid if y[i] + shift >= target]
        return min(hits, key=lambda i: y[i]) if hits else None

    i1, i2 = point(tol), point(-tol)
    if i1 is None:
        return math.nan
    quant = (x[i1] + x[i2]) / 2 if i2 is not None else math.nan
    if not np.isnan(y[-1]) and abs(target - y[-1]) < tol:
        quant = (x[i1] + xmax) / 2
    return float(quant)


def km_quantile_time(
    times: Sequence[float], survival: Sequence[float], p: float, tie_rule: str, tol: float
) -> float:
    """Time at which the step curve S reaches ``p`` (0.5 = median).

    ``r_survival`` (the default): as R's survfit, :func:`km_quantile_r` (its own
    tolerance, sqrt of the machine epsilon; ``tol`` is not used). The other rules
    compare with ``tol``: where S equals ``p`` on a flat segment from t1 to the next
    drop at t2, ``lower`` -> t1 (lifelines' first t with S(t) <= p, made exact),
    ``upper`` -> t2, ``midpoint`` -> (t1 + t2) / 2. Where the curve ends on the
    flat segment (no later drop), t2 is the last time of the curve, as survfit
    does; NaN if that is t1 itself. Where the curve jumps below ``p`` the first
    such time is returned. NaN when not reached.
    """
    if tie_rule == "r_survival":
        return km_quantile_r(times, survival, p)
    t = np.asarray(times, float)
    s = np.asarray(survival, float)
    for i in range(len(t)):
        if np.isnan(s[i]):
            continue
        if abs(s[i] - p) <= tol:
            later = [j for j in range(i + 1, len(t)) if s[j] < s[i] - tol]
            if later:
                t2 = t[later[0]]
            else:
                t2 = t[-1] if t[-1] > t[i] else math.nan
            if tie_rule == "lower":
                return float(t[i])
            if tie_rule == "upper":
                return float(t2)
            if tie_rule == "midpoint":
                return float((t[i] + t2) / 2)
            raise ValueError(f"unknown tie rule {tie_rule!r}")
        if s[i] < p - tol:
            return float(t[i])
    return math.nan


def km_median_ci(km: KaplanMeier, tie_rule: str, tol: float) -> tuple[float, float]:
    """CI of the median from the pointwise band (time where each bound crosses 0.5)."""
    tab = km.table
    lo = km_quantile_time(tab["time"], tab["ci_lower"], 0.5, tie_rule, tol)
    hi = km_quantile_time(tab["time"], tab["ci_upper"], 0.5, tie_rule, tol)
    return lo, hi


# ------------------------------------------------------------------ clinical ARD


def _summary(values: pd.Series, stat_id: str, group: str, unit: str) -> list[Stat]:
    v = values.dropna().astype(float)
    if v.empty:
        return []
    return [
        Stat(stat_id, group, "median", float(v.median()), unit),
        Stat(stat_id, group, "min", float(v.min()), unit),
        Stat(stat_id, group, "max", float(v.max()), unit),
    ]


def _proportion(stat_id: str, group: str, k: int, n: int, level: float | None) -> list[Stat]:
    out = [
        Stat(stat_id, group, "numerator", k, "patients"),
        Stat(stat_id, group, "denominator", n, "patients"),
        Stat(stat_id, group, "proportion", k / n if n else math.nan, "proportion"),
    ]
    if level is not None:
        lo, hi = clopper_pearson(k, n, level)
        out += [Stat(stat_id, group, "ci_lower", lo, "proportion"),
                Stat(stat_id, group, "ci_upper", hi, "proportion")]
    return out


def _bool(series: pd.Series) -> pd.Series:
    return series.map(lambda x: str(x) == "True" or x is True)


def clinical_statistics(
    patients: pd.DataFrame,
    responses: pd.DataFrame,
    labs: pd.DataFrame,
    adverse_events: pd.DataFrame,
    cfg: dict[str, Any],
) -> tuple[list[Stat], pd.DataFrame]:
    """Every clinical number of the study as ARD statistics, and the KM curves."""
    st = cfg["statistics"]
    level = float(st["ci_level"])
    tie, tol = st["km_tie_rule"], float(st["km_tie_tolerance"])
    r = responses.copy()
    for col in ("efficacy_set", "responder", "ongoing", "evans", "acrocyanosis"):
        r[col] = _bool(r[col])
    base_labs = labs[labs["day"] <= 0].sort_values("day")
    ldh0 = base_labs[base_labs["analyte"] == "ldh"].groupby("patient_id")["value"].last()
    merged = r.merge(patients[["patient_id", "age_at_first_dose", "sex", "prior_lines"]],
                     on="patient_id", how="left", validate="one_to_one")
    merged["baseline_ldh"] = merged["patient_id"].map(ldh0)

    def members(group: str) -> pd.DataFrame:
        return merged if group == "all" else merged[merged["analysis_group"] == group]

    stats: list[Stat] = []
    # Treated and efficacy sets.
    for g in GROUPS_BASELINE:
        stats.append(Stat("n_treated", g, "n", len(members(g)), "patients"))
    eff = merged[merged["efficacy_set"]]
    stats.append(Stat("n_efficacy", "all", "n", len(eff), "patients"))
    for g in ("wAIHA", "cAIHA"):
        stats.append(Stat("n_efficacy", g, "n", int((eff["analysis_group"] == g).sum()), "patients"))
    # Baseline characteristics.
    for g in GROUPS_BASELINE:
        m = members(g)
        stats += _summary(m["age_at_first_dose"], "age", g, "years")
        n_f = int((m["sex"] == "female").sum())
        stats += [Stat("sex_female", g, "n", n_f, "patients"),
                  Stat("sex_female", g, "proportion", n_f / len(m) if len(m) else math.nan, "proportion")]
        stats += _summary(m["prior_lines"], "prior_lines", g, "lines")
        stats.append(Stat("evans", g, "n", int(m["evans"].sum()), "patients"))
        stats.append(Stat("acrocyanosis", g, "n", int(m["acrocyanosis"].sum()), "patients"))
        stats += _summary(m["baseline_hb"], "baseline_hb", g, "g/dL")
        stats += _summary(m["baseline_ldh"], "baseline_ldh", g, "x ULN")

    # wAIHA response.
    w = members("wAIHA")
    n_w = len(w)
    resp_w = w[w["responder"]]
    stats += _proportion("orr", "wAIHA", len(resp_w), n_w, level)
    stats += _proportion("cr", "wAIHA", int((w["best_response"] == "CR").sum()), n_w, None)
    stats += _proportion("pr", "wAIHA", int((w["best_response"] == "PR").sum()), n_w, None)
    nonresp_w = w[~w["responder"]]
    stats += [Stat("nr_evans", "wAIHA", "numerator", int(nonresp_w["evans"].sum()), "patients"),
              Stat("nr_evans", "wAIHA", "denominator", len(nonresp_w), "patients")]
    ongoing_w = resp_w[resp_w["ongoing"]]
    stats.append(Stat("ongoing", "wAIHA", "numerator", len(ongoing_w), "patients"))
    stats.append(Stat("ongoing", "wAIHA", "denominator", n_w, "patients"))
    for i, v in enumerate(sorted(ongoing_w["ongoing_duration_months"].astype(float)), start=1):
        stats.append(Stat("ongoing_duration", "wAIHA", f"value_{i}", v, "months"))

    # cAIHA (anemic) response.
    cold = members("cAIHA")
    resp_c = cold[cold["responder"]]
    stats += _proportion("hb_response", "cAIHA", len(resp_c), len(cold), level)
    stats += [Stat("ongoing", "cAIHA", "numerator", int(resp_c["ongoing"].sum()), "patients"),
              Stat("ongoing", "cAIHA", "denominator", len(cold), "patients")]

    # Duration of response.
    curves = []
    for g, resp in (("wAIHA", resp_w), ("cAIHA", resp_c)):
        if resp.empty:
            continue
        d = resp["duration_months"].astype(float)
        e = resp["event"].astype(int)
        crude = crude_median(d.tolist())
        stats += [Stat("dor_median_crude", g, "value", crude, "months"),
                  Stat("dor_min", g, "value", float(d.min()), "months"),
                  Stat("dor_max", g, "value", float(d.max()), "months")]
        km = kaplan_meier(d.tolist(), e.tolist(), level, st.get("km_ci_transform", "log-log"))
        med = km_quantile_time(km.table["time"], km.table["survival"], 0.5, tie, tol)
        lo, hi = km_median_ci(km, tie, tol)
        stats += [Stat("dor_median_km", g, "value", med, "months"),
                  Stat("dor_median_km", g, "ci_lower", lo, "months"),
                  Stat("dor_median_km", g, "ci_upper", hi, "months")]
        if g == "wAIHA":
            reported = crude if st["dor_median_method"] == "crude" else med
            stats.append(Stat("dor_median_reported", g, "value", reported, "months"))
        curves.append(km.table.assign(group=g))

    # Non-anemic cAIHA and acrocyanosis.
    na = members("cAIHA_nonanemic")
    if len(na):
        acro_resp = int((na["acrocyanosis_response"].astype(str) == "True").sum())
        hb_up = int((na["hb_change"].astype(float) > 0).sum())
        stats += [
            Stat("nonanemic_acro_response", "cAIHA_nonanemic", "numerator", acro_resp, "patients"),
            Stat("nonanemic_acro_response", "cAIHA_nonanemic", "denominator", len(na), "patients"),
            Stat("nonanemic_hb_increase", "cAIHA_nonanemic", "numerator", hb_up, "patients"),
            Stat("nonanemic_hb_increase", "cAIHA_nonanemic", "denominator", len(na), "patients"),
        ]
        stats += _summary(na["hb_change"], "nonanemic_hb_change", "cAIHA_nonanemic", "g/dL")
    pool = merged[merged["diagnosis"] == "cAIHA"]
    if cfg["response"]["acro_denominator"] == "efficacy_set":
        pool = pool[pool["efficacy_set"]]
    acro = pool[pool["acrocyanosis"]]
    improved = int((acro["acrocyanosis_response"].astype(str) == "True").sum())
    stats += [Stat("acro_improved", "cAIHA", "numerator", improved, "patients"),
              Stat("acro_improved", "cAIHA", "denominator", len(acro), "patients")]

    # Adverse events by worst grade.
    ae = adverse_events.merge(merged[["patient_id", "analysis_group"]], on="patient_id", how="left")
    for g in GROUPS_BASELINE:
        a = ae if g == "all" else ae[ae["analysis_group"] == g]
        stats.append(Stat("ae_events", g, "n", len(a), "events"))
        stats.append(Stat("ae_patients", g, "n", a["patient_id"].nunique(), "patients"))
        for grade in range(1, 6):
            stats.append(Stat("ae_grade", g, f"grade_{grade}", int((a["grade"] == grade).sum()), "events"))

    curve_cols = ["group", "time_months", "survival", "ci_lower", "ci_upper", "at_risk", "events", "censored"]
    km_table = (pd.concat(curves, ignore_index=True).rename(columns={"time": "time_months"})[curve_cols]
                if curves else pd.DataFrame(columns=curve_cols))
    return stats, km_table
