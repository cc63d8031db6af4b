"""Statistics of the study: exact binomial CIs, Kaplan-Meier with a stated tie
rule for the median, crude medians, and the clinical analysis-results rows."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from aiha.adam.common import number, selection
from aiha.ard import Stat, with_source

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


def _param(bds: pd.DataFrame, paramcd: str) -> pd.DataFrame:
    """The records of one parameter of a BDS dataset, indexed by USUBJID."""
    return bds[bds["PARAMCD"] == paramcd].set_index("USUBJID")


def subject_frame(adsl: pd.DataFrame, adrs: pd.DataFrame, adtte: pd.DataFrame) -> pd.DataFrame:
    """One row per ADSL patient with the ADRS parameters as columns (``BOR``,
    ``RESP``, ``ONGOING``, ``ACRORSP`` as AVALC; ``ONGOING_AVAL``, ``HBCHG`` as AVAL)
    and the duration of response (``DOR_AVAL``, ``DOR_CNSR`` of ADTTE)."""
    out = adsl.copy().reset_index(drop=True)
    for code in ("BOR", "RESP", "ONGOING", "ACRORSP"):
        out[code] = out["USUBJID"].map(_param(adrs, code)["AVALC"]).fillna("")
    out["ONGOING_AVAL"] = out["USUBJID"].map(number(_param(adrs, "ONGOING")["AVAL"]))
    out["HBCHG"] = out["USUBJID"].map(number(_param(adrs, "HBCHG")["AVAL"]))
    dor = _param(adtte, "DOR")
    out["DOR_AVAL"] = out["USUBJID"].map(number(dor["AVAL"]))
    out["DOR_CNSR"] = out["USUBJID"].map(number(dor["CNSR"]))
    for col in ("AGE", "PRIORLN", "BHB", "BLDH"):
        out[col] = number(out[col])
    return out


def clinical_statistics(
    patients: pd.DataFrame,
    responses: pd.DataFrame,
    labs: pd.DataFrame,
    adverse_events: pd.DataFrame,
    cfg: dict[str, Any],
) -> tuple[list[Stat], pd.DataFrame]:
    """:func:`adam_statistics` of the analysis datasets derived in memory from the
    results tables (:func:`aiha.adam.derive_all`): a sensitivity variant's scoring."""
    from aiha.adam import derive_all

    datasets = derive_all({"patients": patients, "responses": responses, "labs": labs,
                           "adverse_events": adverse_events}, {})
    return adam_statistics(datasets, cfg)


def adam_statistics(
    datasets: dict[str, pd.DataFrame], cfg: dict[str, Any]
) -> tuple[list[Stat], pd.DataFrame]:
    """Every clinical number of the study as ARD statistics, and the KM curves, from
    the analysis datasets ADSL, ADRS, ADTTE and ADAE; each statistic names the
    dataset, variables and selection it is computed from."""
    st = cfg["statistics"]
    level = float(st["ci_level"])
    tie, tol = st["km_tie_rule"], float(st["km_tie_tolerance"])
    merged = subject_frame(datasets["ADSL"], datasets["ADRS"], datasets["ADTTE"])

    def members(group: str) -> pd.DataFrame:
        return merged if group == "all" else merged[merged["ANLGRP"] == group]

    stats: list[Stat] = []
    # Treated and efficacy sets.
    for g in GROUPS_BASELINE:
        stats += with_source([Stat("n_treated", g, "n", len(members(g)), "patients")],
                             "ADSL", "USUBJID", selection(g))
    eff = merged[merged["EFFFL"] == "Y"]
    stats += with_source([Stat("n_efficacy", "all", "n", len(eff), "patients")],
                         "ADSL", "USUBJID", selection("all", "EFFFL = 'Y'"))
    for g in ("wAIHA", "cAIHA"):
        stats += with_source(
            [Stat("n_efficacy", g, "n", int((eff["ANLGRP"] == g).sum()), "patients")],
            "ADSL", "USUBJID", selection(g, "EFFFL = 'Y'"))
    # Baseline characteristics.
    for g in GROUPS_BASELINE:
        m = members(g)
        stats += with_source(_summary(m["AGE"], "age", g, "years"), "ADSL", "AGE", selection(g))
        n_f = int((m["SEX"] == "F").sum())
        stats += with_source(
            [Stat("sex_female", g, "n", n_f, "patients"),
             Stat("sex_female", g, "proportion", n_f / len(m) if len(m) else math.nan, "proportion")],
            "ADSL", "SEX", selection(g))
        stats += with_source(_summary(m["PRIORLN"], "prior_lines", g, "lines"), "ADSL",
                             "PRIORLN", selection(g))
        stats += with_source([Stat("evans", g, "n", int((m["EVANSFL"] == "Y").sum()), "patients")],
                             "ADSL", "EVANSFL", selection(g))
        stats += with_source(
            [Stat("acrocyanosis", g, "n", int((m["ACROFL"] == "Y").sum()), "patients")],
            "ADSL", "ACROFL", selection(g))
        stats += with_source(_summary(m["BHB"], "baseline_hb", g, "g/dL"), "ADSL", "BHB", selection(g))
        stats += with_source(_summary(m["BLDH"], "baseline_ldh", g, "x ULN"), "ADSL", "BLDH",
                             selection(g))

    # wAIHA response.
    w = members("wAIHA")
    n_w = len(w)
    resp_w = w[w["RESP"] == "Y"]
    rs = "ADSL, ADRS"
    stats += with_source(_proportion("orr", "wAIHA", len(resp_w), n_w, level), rs,
                         "ADRS.AVALC (PARAMCD = 'RESP')", selection("wAIHA"))
    for code in ("CR", "PR"):
        stats += with_source(
            _proportion(code.lower(), "wAIHA", int((w["BOR"] == code).sum()), n_w, None), rs,
            "ADRS.AVALC (PARAMCD = 'BOR')", selection("wAIHA"))
    nonresp_w = w[w["RESP"] != "Y"]
    stats += with_source(
        [Stat("nr_evans", "wAIHA", "numerator", int((nonresp_w["EVANSFL"] == "Y").sum()), "patients"),
         Stat("nr_evans", "wAIHA", "denominator", len(nonresp_w), "patients")],
        rs, "ADSL.EVANSFL, ADRS.AVALC (PARAMCD = 'RESP')", selection("wAIHA", "RESP = 'N'"))
    ongoing_w = resp_w[resp_w["ONGOING"] == "Y"]
    stats += with_source(
        [Stat("ongoing", "wAIHA", "numerator", len(ongoing_w), "patients"),
         Stat("ongoing", "wAIHA", "denominator", n_w, "patients")],
        rs, "ADRS.AVALC (PARAMCD in ('RESP', 'ONGOING'))", selection("wAIHA"))
    stats += with_source(
        [Stat("ongoing_duration", "wAIHA", f"value_{i}", v, "months")
         for i, v in enumerate(sorted(ongoing_w["ONGOING_AVAL"].astype(float)), start=1)],
        rs, "ADRS.AVAL (PARAMCD = 'ONGOING')", selection("wAIHA", "RESP = 'Y' and ONGOING = 'Y'"))

    # cAIHA (anemic) response.
    cold = members("cAIHA")
    resp_c = cold[cold["RESP"] == "Y"]
    stats += with_source(_proportion("hb_response", "cAIHA", len(resp_c), len(cold), level), rs,
                         "ADRS.AVALC (PARAMCD = 'RESP')", selection("cAIHA"))
    stats += with_source(
        [Stat("ongoing", "cAIHA", "numerator", int((resp_c["ONGOING"] == "Y").sum()), "patients"),
         Stat("ongoing", "cAIHA", "denominator", len(cold), "patients")],
        rs, "ADRS.AVALC (PARAMCD in ('RESP', 'ONGOING'))", selection("cAIHA"))

    # Duration of response.
    curves = []
    for g, resp in (("wAIHA", resp_w), ("cAIHA", resp_c)):
        if resp.empty:
            continue
        d = resp["DOR_AVAL"].astype(float)
        e = (1 - resp["DOR_CNSR"]).astype(int)
        crude = crude_median(d.tolist())
        dor = ("ADTTE", "AVAL", selection(g, "PARAMCD = 'DOR'"))
        stats += with_source([Stat("dor_median_crude", g, "value", crude, "months"),
                              Stat("dor_min", g, "value", float(d.min()), "months"),
                              Stat("dor_max", g, "value", float(d.max()), "months")], *dor)
        km = kaplan_meier(d.tolist(), e.tolist(), level, st.get("km_ci_transform", "log-log"))
        med = km_quantile_time(km.table["time"], km.table["survival"], 0.5, tie, tol)
        lo, hi = km_median_ci(km, tie, tol)
        km_src = ("ADTTE", "AVAL, CNSR", selection(g, "PARAMCD = 'DOR'"))
        stats += with_source([Stat("dor_median_km", g, "value", med, "months"),
                              Stat("dor_median_km", g, "ci_lower", lo, "months"),
                              Stat("dor_median_km", g, "ci_upper", hi, "months")], *km_src)
        if g == "wAIHA":
            crude_way = st["dor_median_method"] == "crude"
            reported = crude if crude_way else med
            stats += with_source([Stat("dor_median_reported", g, "value", reported, "months")],
                                 *(dor if crude_way else km_src))
        stats += _durability_stats(g, d, resp["DOR_CNSR"], km, st, km_src, dor)
        curves.append(km.table.assign(group=g))

    stats += _subgroup_and_follow_up_stats(merged, datasets["ADSL"], datasets["ADTTE"], members,
                                           cfg, level)

    # Non-anemic cAIHA and acrocyanosis.
    na = members("cAIHA_nonanemic")
    if len(na):
        acro_resp = int((na["ACRORSP"] == "Y").sum())
        hb_up = int((na["HBCHG"].astype(float) > 0).sum())
        sel = selection("cAIHA_nonanemic")
        stats += with_source([
            Stat("nonanemic_acro_response", "cAIHA_nonanemic", "numerator", acro_resp, "patients"),
            Stat("nonanemic_acro_response", "cAIHA_nonanemic", "denominator", len(na), "patients"),
        ], rs, "ADRS.AVALC (PARAMCD = 'ACRORSP')", sel)
        stats += with_source([
            Stat("nonanemic_hb_increase", "cAIHA_nonanemic", "numerator", hb_up, "patients"),
            Stat("nonanemic_hb_increase", "cAIHA_nonanemic", "denominator", len(na), "patients"),
        ], rs, "ADRS.AVAL (PARAMCD = 'HBCHG')", sel)
        stats += with_source(_summary(na["HBCHG"], "nonanemic_hb_change", "cAIHA_nonanemic",
                                      "g/dL"), rs, "ADRS.AVAL (PARAMCD = 'HBCHG')", sel)
    pool = merged[merged["DIAGGRP"] == "cAIHA"]
    pool_sel = "SAFFL = 'Y' and DIAGGRP = 'cAIHA' and ACROFL = 'Y'"
    if cfg["response"]["acro_denominator"] == "efficacy_set":
        pool = pool[pool["EFFFL"] == "Y"]
        pool_sel += " and EFFFL = 'Y'"
    acro = pool[pool["ACROFL"] == "Y"]
    improved = int((acro["ACRORSP"] == "Y").sum())
    stats += with_source([Stat("acro_improved", "cAIHA", "numerator", improved, "patients"),
                          Stat("acro_improved", "cAIHA", "denominator", len(acro), "patients")],
                         rs, "ADSL.ACROFL, ADRS.AVALC (PARAMCD = 'ACRORSP')", pool_sel)

    # Adverse events by worst grade.
    ae = datasets["ADAE"]
    grade = number(ae["ATOXGRN"])
    for g in GROUPS_BASELINE:
        a = ae if g == "all" else ae[ae["ANLGRP"] == g]
        sel = "all records" if g == "all" else f"ANLGRP = '{g}'"
        stats += with_source([Stat("ae_events", g, "n", len(a), "events")], "ADAE", "AESEQ", sel)
        stats += with_source([Stat("ae_patients", g, "n", a["USUBJID"].nunique(), "patients")],
                             "ADAE", "USUBJID", sel)
        stats += with_source(
            [Stat("ae_grade", g, f"grade_{k}", int((grade[a.index] == k).sum()), "events")
             for k in range(1, 6)], "ADAE", "ATOXGRN", sel)

    curve_cols = ["group", "time_months", "survival", "ci_lower", "ci_upper", "at_risk", "events", "censored"]
    km_table = (pd.concat(curves, ignore_index=True).rename(columns={"time": "time_months"})[curve_cols]
                if curves else pd.DataFrame(columns=curve_cols))
    return stats, km_table


def _month_key(months: float) -> str:
    """``month_6`` for 6 (``month_1.5`` for 1.5): the statistic prefix of a landmark."""
    return f"month_{int(months) if float(months).is_integer() else months}"


def _durability_stats(g: str, durations: pd.Series, cnsr: pd.Series, km: KaplanMeier,
                      st: dict[str, Any], km_src: tuple[str, str, str],
                      dor: tuple[str, str, str]) -> list[Stat]:
    """Event and censored counts of the Kaplan-Meier median, whether the crude
    median is meaningful, whether the shortest and longest durations are censored
    (printed with "+"), and the landmark rates (:mod:`aiha.durability`)."""
    from aiha import durability

    c = cnsr.astype(float)
    events, censored = durability.event_counts(c)
    out = with_source([Stat("dor_median_km", g, "events", events, "patients"),
                       Stat("dor_median_km", g, "censored", censored, "patients")], *km_src)
    max_share = float(st.get("crude_median_max_censored_share", 0.5))
    out += with_source(
        [Stat("dor_median_crude", g, "censored_share", durability.censored_share(c), "proportion"),
         Stat("dor_median_crude", g, "estimable",
              int(durability.crude_median_estimable(c, max_share)), "flag")],
        "ADTTE", "AVAL, CNSR", km_src[2])
    d = durations.astype(float)
    for stat_id, extreme in (("dor_min", d.min()), ("dor_max", d.max())):
        at = c[d == extreme]
        out += with_source([Stat(stat_id, g, "censored", int(bool(len(at)) and bool((at > 0).all())),
                                 "flag")], "ADTTE", "AVAL, CNSR", km_src[2])
    for months in st.get("landmark_months", [6, 12]):
        rate, lo, hi = durability.landmark_rate(km, float(months))
        key = _month_key(months)
        out += with_source([Stat("dor_landmark", g, f"{key}_rate", rate, "proportion"),
                            Stat("dor_landmark", g, f"{key}_ci_lower", lo, "proportion"),
                            Stat("dor_landmark", g, f"{key}_ci_upper", hi, "proportion")], *km_src)
    return out


def _subgroup_and_follow_up_stats(merged: pd.DataFrame, adsl: pd.DataFrame,
                                  adtte: pd.DataFrame, members: Any, cfg: dict[str, Any],
                                  level: float) -> list[Stat]:
    """Disposition, response by each configured baseline factor
    (``statistics.response_subgroups``) and the median follow-up by the reverse
    Kaplan-Meier method per group (:mod:`aiha.subgroups`, :mod:`aiha.durability`)."""
    from aiha import durability, subgroups

    st = cfg["statistics"]
    out: list[Stat] = []
    treated_sel = selection("all")
    out += with_source([Stat("disposition", "all", k, v, "patients")
                        for k, v in subgroups.disposition_counts(adsl).items()],
                       "ADSL", "SAFFL, EFFFL, EFFRSN", treated_sel)
    variables = list(st.get("response_subgroups", ["EVANSFL"]))
    subgroups.check_subgroup_variables(adsl, variables)
    for var in variables:
        frame = merged.assign(**{var: merged["USUBJID"].map(dict(zip(adsl["USUBJID"], adsl[var])))})
        for g in ("wAIHA", "cAIHA"):
            m = frame[frame["ANLGRP"] == g]
            rows: list[Stat] = []
            for lvl, (k, n) in subgroups.response_by_factor(m, var).items():
                rows += [Stat(f"resp_by_{var.lower()}", g, f"{lvl}: {s.statistic}", s.value, s.unit)
                         for s in _proportion("x", g, k, n, level)]
            out += with_source(rows, "ADSL, ADRS", f"ADSL.{var}, ADRS.AVALC (PARAMCD = 'RESP')",
                               selection(g))
    fu = adtte[adtte["PARAMCD"] == "FU"]
    per_month = float(cfg["response"].get("days_per_month", 30.4375))
    for g in GROUPS_BASELINE:
        ids = set(members(g)["USUBJID"])
        f = fu[fu["USUBJID"].isin(ids)]
        months = number(f["AVAL"]).astype(float) / per_month
        months = months[months.notna()]
        cn = number(f["CNSR"]).astype(float)[months.index]
        if months.empty:
            continue
        med, lo, hi = durability.reverse_km_followup(
            months.tolist(), cn.tolist(), level, st.get("km_ci_transform", "log-log"),
            st["km_tie_rule"], float(st["km_tie_tolerance"]))
        out += with_source(
            [Stat("followup_median", g, "value", med, "months"),
             Stat("followup_median", g, "ci_lower", lo, "months"),
             Stat("followup_median", g, "ci_upper", hi, "months"),
             Stat("followup_median", g, "n", len(months), "patients"),
             Stat("followup_median", g, "min", float(months.min()), "months"),
             Stat("followup_median", g, "max", float(months.max()), "months")],
            "ADTTE", "AVAL, CNSR", selection(g, "PARAMCD = 'FU'"))
    return out
