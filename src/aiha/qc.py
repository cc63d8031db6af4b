"""Library cross-check (rule ``qc_double_programming``): the key statistics
recomputed with a second Python library in the same process and compared with the
primary results table. Not the independent QC: that is the R double programming
(workflow/scripts/qc_r_double_programming.R, compared by :mod:`aiha.qc_compare`),
which recomputes every ARD row from the analysis datasets.

- Kaplan-Meier curve: statsmodels ``SurvfuncRight`` (primary: lifelines).
- Clopper-Pearson intervals: statsmodels ``proportion_confint(method="beta")``
  (primary: scipy ``binomtest``).
- Counts: a plain pandas pass over the cleaned tables and the per-patient responses.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd

QC_COLUMNS = ["statistic", "primary", "independent", "abs_diff", "status"]


class QCMismatch(AssertionError):
    """The two implementations disagree."""


def _truthy(series: pd.Series) -> pd.Series:
    return series.astype(str).str.lower() == "true"


def independent_counts(
    patients: pd.DataFrame, responses: pd.DataFrame, adverse_events: pd.DataFrame
) -> dict[str, float]:
    """Response, ongoing, Evans, acrocyanosis and AE counts by value_counts/groupby."""
    r = responses.copy()
    r["responder"] = r["best_response"].isin(["CR", "PR", "HR"])
    eff = r[_truthy(r["efficacy_set"])]
    counts: dict[str, float] = {}
    by_group = eff.groupby("analysis_group")
    counts["n_efficacy/all/n"] = len(eff)
    for g, frame in by_group:
        counts[f"n_efficacy/{g}/n"] = len(frame)
    w = eff[eff["analysis_group"] == "wAIHA"]
    counts["orr/wAIHA/numerator"] = int(w["responder"].sum())
    counts["orr/wAIHA/denominator"] = len(w)
    best = w["best_response"].value_counts()
    counts["cr/wAIHA/numerator"] = int(best.get("CR", 0))
    counts["pr/wAIHA/numerator"] = int(best.get("PR", 0))
    evans = patients.set_index("patient_id")["evans"].astype(str).str.lower() == "true"
    nonresp = w[~w["responder"]]
    counts["nr_evans/wAIHA/numerator"] = int(nonresp["patient_id"].map(evans).sum())
    counts["nr_evans/wAIHA/denominator"] = len(nonresp)
    counts["ongoing/wAIHA/numerator"] = int(_truthy(w["ongoing"]).sum())
    c = eff[eff["analysis_group"] == "cAIHA"]
    counts["hb_response/cAIHA/numerator"] = int(c["responder"].sum())
    counts["hb_response/cAIHA/denominator"] = len(c)
    counts["ongoing/cAIHA/numerator"] = int(_truthy(c["ongoing"]).sum())
    grades = adverse_events["grade"].astype(int).value_counts()
    counts["ae_events/all/n"] = len(adverse_events)
    for grade in range(1, 6):
        counts[f"ae_grade/all/grade_{grade}"] = int(grades.get(grade, 0))
    return counts


def independent_intervals(counts: dict[str, float], level: float) -> dict[str, float]:
    """Clopper-Pearson bounds with statsmodels for the ORR and cAIHA Hb response."""
    from statsmodels.stats.proportion import proportion_confint

    out: dict[str, float] = {}
    for stat, group in (("orr", "wAIHA"), ("hb_response", "cAIHA")):
        k = int(counts[f"{stat}/{group}/numerator"])
        n = int(counts[f"{stat}/{group}/denominator"])
        if n == 0:  # no patients: the interval is undefined
            out[f"{stat}/{group}/ci_lower"] = out[f"{stat}/{group}/ci_upper"] = math.nan
            continue
        lo, hi = proportion_confint(k, n, alpha=1 - level, method="beta")
        out[f"{stat}/{group}/ci_lower"] = float(lo)
        out[f"{stat}/{group}/ci_upper"] = float(hi)
    return out


def independent_km(responses: pd.DataFrame) -> dict[str, float]:
    """S(t) at every event/censoring time, per group, with statsmodels SurvfuncRight."""
    from statsmodels.duration.survfunc import SurvfuncRight

    out: dict[str, float] = {}
    resp = responses[responses["best_response"].isin(["CR", "PR", "HR"])
                     & _truthy(responses["efficacy_set"])]
    for group, frame in resp.groupby("analysis_group"):
        t = frame["duration_months"].astype(float).to_numpy()
        e = frame["event"].astype(int).to_numpy()
        sf = SurvfuncRight(t, e)
        for time in np.unique(t):
            # Right-continuous step: S at `time` = last step at or before it.
            idx = np.searchsorted(sf.surv_times, time, side="right") - 1
            out[f"km/{group}/S({time:g})"] = 1.0 if idx < 0 else float(sf.surv_prob[idx])
    return out


def compare(primary: dict[str, float], independent: dict[str, float], tol: float) -> pd.DataFrame:
    """Side-by-side table; raises QCMismatch naming every statistic that disagrees.

    Undefined on both sides (NaN, e.g. the interval of an empty group; a statistic
    the primary does not write counts as undefined) is agreement ("agree: both
    undefined"); undefined on one side only is a disagreement."""
    rows: list[dict[str, Any]] = []
    bad = []
    for key in sorted(independent):
        ind = float(independent[key])
        prim = float(primary.get(key, math.nan))
        both_undefined = math.isnan(prim) and math.isnan(ind)
        if both_undefined:
            diff, ok, status = math.nan, True, "agree: both undefined"
        else:
            diff = abs(prim - ind) if not (math.isnan(prim) or math.isnan(ind)) else math.inf
            ok = diff <= tol
            status = "agree" if ok else "DISAGREE"
        rows.append({"statistic": key, "primary": prim, "independent": ind,
                     "abs_diff": diff, "status": status})
        if not ok:
            bad.append(f"{key}: primary {prim!r} vs independent {ind!r}")
    table = pd.DataFrame(rows, columns=QC_COLUMNS)
    if bad:
        raise QCMismatch(f"double programming disagrees (tolerance {tol:g}): " + "; ".join(bad))
    return table


def primary_values(ard: pd.DataFrame, km_curve: pd.DataFrame) -> dict[str, float]:
    """The primary results as 'stat/group/statistic' -> value, with S(t) from the KM table."""
    out = {f"{r.stat_id}/{r.group}/{r.statistic}": float(r.value) for r in ard.itertuples()}
    for r in km_curve.itertuples():
        out[f"km/{r.group}/S({float(r.time_months):g})"] = float(r.survival)
    return out
