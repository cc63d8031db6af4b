"""Durability of the responses and follow-up: event and censored counts, landmark
rates of the Kaplan-Meier estimate, whether a crude median is meaningful, and the
median follow-up by the reverse Kaplan-Meier method.

Each function takes plain values (durations, censoring indicators in the ADTTE
convention ``CNSR``: 0 = event, positive = censored) and returns numbers; the ARD
rows are built from them in :func:`aiha.statistics.adam_statistics`.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from aiha.statistics import KaplanMeier, kaplan_meier, km_median_ci, km_quantile_time


def event_counts(cnsr: Sequence[float]) -> tuple[int, int]:
    """(events, censored) of ADTTE censoring values: ``CNSR = 0`` is an event, a
    positive value a censored observation."""
    c = np.asarray(cnsr, dtype=float)
    return int((c == 0).sum()), int((c > 0).sum())


def censored_share(cnsr: Sequence[float]) -> float:
    """Share of the observations that are censored (NaN without observations)."""
    events, censored = event_counts(cnsr)
    total = events + censored
    return censored / total if total else math.nan


def crude_median_estimable(cnsr: Sequence[float], max_censored_share: float) -> bool:
    """A crude median (of event and censored times alike) is meaningful only where
    at most ``max_censored_share`` of the times are censored (config
    ``statistics.crude_median_max_censored_share``): beyond that the median of the
    observed times says little of the durations. False without observations."""
    share = censored_share(cnsr)
    return not math.isnan(share) and share <= max_censored_share


def landmark_rate(km: KaplanMeier, t: float) -> tuple[float, float, float]:
    """S(t) of a Kaplan-Meier step table and its pointwise CI at time ``t``: the
    values of the last step at or before ``t`` (S = 1 with CI (1, 1) before the
    first step). Beyond the last observed time the rate is not estimable: NaN for
    all three (as R's ``summary.survfit(times = t, extend = FALSE)``)."""
    table = km.table
    times = table["time"].to_numpy(float)
    if len(times) == 0 or t > times.max():
        return (math.nan, math.nan, math.nan)
    at = table[table["time"] <= t]
    if at.empty:
        return (1.0, 1.0, 1.0)
    row = at.iloc[-1]
    return (float(row["survival"]), float(row["ci_lower"]), float(row["ci_upper"]))


def reverse_km_followup(times: Sequence[float], cnsr: Sequence[float], level: float,
                        transform: str, tie_rule: str, tol: float
                        ) -> tuple[float, float, float]:
    """Median follow-up by the reverse Kaplan-Meier method (Schemper,
    Control Clin Trials 1996) and its CI: the Kaplan-Meier median of the follow-up
    times with the indicator reversed, so that the end of follow-up of a patient
    still being followed (``CNSR`` positive) is the event and a death (``CNSR = 0``)
    censors. The tie rule and CI transform are the study's
    (:func:`aiha.statistics.km_quantile_time`, :func:`aiha.statistics.km_median_ci`).
    NaN for all three without follow-up times."""
    t = np.asarray(times, dtype=float)
    if len(t) == 0:
        return (math.nan, math.nan, math.nan)
    reversed_events = (np.asarray(cnsr, dtype=float) > 0).astype(int)
    km = kaplan_meier(t.tolist(), reversed_events.tolist(), level, transform)
    median = km_quantile_time(km.table["time"], km.table["survival"], 0.5, tie_rule, tol)
    lo, hi = km_median_ci(km, tie_rule, tol)
    return (float(median), float(lo), float(hi))
