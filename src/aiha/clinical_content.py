"""Clinical content of the report beyond the paper's claims, as ARD statistics.

Per analysis group (``all``, ``wAIHA``, ``cAIHA``, ``cAIHA_nonanemic``):

- baseline: bilirubin (median, range), Evans syndrome and acrocyanosis as n and
  proportion (``baseline_*``); prior AIHA therapies by type (``baseline_prior_therapy``,
  only when a site exports them, see :func:`prior_therapy_stats`);
- exposure: daratumumab doses per patient, dose (mg), days between doses, treatment
  span; later AIHA therapies after day 0, overall and by drug (``exposure_*``,
  ``later_therapy*``);
- transfusion burden in each window of days from the first dose (config
  ``report.transfusion_windows_days``): patients transfused n/N, units in total and per
  patient (``transfusion_w<k>``; N counts the patients followed up to the window's start);
- time from first dose to the first response (``time_to_response``, days);
- adverse events by term and worst grade: patients n and proportion, serious events
  (``ae_term``; the statistic names the term).

Pure functions of the results tables of docs/tables.md; an empty group gives
counts of 0 and no summary rows (nothing to summarise), never an error.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import pandas as pd

from aiha import therapies
from aiha.ard import Stat

GROUPS = ("all", "wAIHA", "cAIHA", "cAIHA_nonanemic")


def _truthy(series: pd.Series) -> pd.Series:
    return series.map(lambda x: str(x).strip().lower() in ("true", "1", "1.0", "yes")).astype(bool)


def _summary(values: Sequence[float] | pd.Series, stat_id: str, group: str,
             unit: str) -> list[Stat]:
    v = pd.Series(values, dtype=float).dropna()
    if v.empty:
        return []
    return [Stat(stat_id, group, "median", float(v.median()), unit),
            Stat(stat_id, group, "min", float(v.min()), unit),
            Stat(stat_id, group, "max", float(v.max()), unit)]


def _n_prop(stat_id: str, group: str, k: int, n: int, prefix: str = "") -> list[Stat]:
    return [Stat(stat_id, group, f"{prefix}n", k, "patients"),
            Stat(stat_id, group, f"{prefix}proportion", k / n if n else math.nan, "proportion")]


def prior_therapy_stats(patients: pd.DataFrame, members: Mapping[str, Sequence[str]]
                        ) -> list[Stat]:
    """Prior AIHA therapies by type (:mod:`aiha.therapies`), per group: ``denominator``
    (the group's patients whose site exports the prior_therapies column; a patient
    with an empty list counts, with no therapy), then ``<type>: n`` and
    ``<type>: proportion`` of every type any treated patient had, and ``none: n`` /
    ``none: proportion`` (an empty list). No rows at all when no treated patient's
    site exports the column.

    ``members``: group -> the group's patient ids (``all`` holds every treated one)."""
    if therapies.RECORDED_COLUMN not in patients.columns:
        return []
    pts = patients.set_index("patient_id")

    def recorded(ids: Sequence[str]) -> pd.DataFrame:
        rows = pts.reindex(sorted(ids))
        return rows[_truthy(rows[therapies.RECORDED_COLUMN])]

    everyone = recorded(members["all"])
    if everyone.empty:
        return []
    present = [t for t in therapies.PRIOR_THERAPY_TYPES
               if _truthy(everyone[therapies.column(t)]).any()]
    stats: list[Stat] = []
    for g in GROUPS:
        rows = recorded(members[g])
        n = len(rows)
        had = pd.DataFrame({t: _truthy(rows[therapies.column(t)])
                            for t in therapies.PRIOR_THERAPY_TYPES}, index=rows.index)
        stats.append(Stat("baseline_prior_therapy", g, "denominator", n, "patients"))
        for t in present:
            stats += _n_prop("baseline_prior_therapy", g, int(had[t].sum()), n, prefix=f"{t}: ")
        stats += _n_prop("baseline_prior_therapy", g, int((~had.any(axis=1)).sum()), n,
                         prefix="none: ")
    return stats


def parse_windows(windows: Sequence[Sequence[int]]) -> list[tuple[int, int]]:
    """``[[start, end], ...]`` days from the first dose (both included), checked."""
    out = []
    for w in windows:
        start, end = int(w[0]), int(w[1])
        if end < start:
            raise ValueError(f"transfusion window {list(w)}: end before start")
        out.append((start, end))
    return out


def clinical_content(
    patients: pd.DataFrame,
    responses: pd.DataFrame,
    labs: pd.DataFrame,
    transfusions: pd.DataFrame,
    treatments: pd.DataFrame,
    adverse_events: pd.DataFrame,
    cfg: Mapping[str, Any],
) -> list[Stat]:
    """The statistics listed in the module docstring. ``cfg``: ``transfusion_windows_days``
    (list of [start, end] days from the first dose)."""
    windows = parse_windows(cfg["transfusion_windows_days"])
    r = responses.copy()
    group_of = dict(zip(r["patient_id"], r["analysis_group"]))
    first = pd.to_datetime(r["first_dose_date"])
    follow_day = (pd.to_datetime(r["last_followup_date"]) - first).dt.days
    r["followup_day"] = follow_day.to_numpy()
    r["response_day"] = (pd.to_datetime(r["response_date"]) - first).dt.days.to_numpy()
    pts = patients.set_index("patient_id")

    def members(group: str) -> pd.DataFrame:
        return r if group == "all" else r[r["analysis_group"] == group]

    def of_group(frame: pd.DataFrame, group: str) -> pd.DataFrame:
        if group == "all":
            return frame[frame["patient_id"].isin(group_of)]
        return frame[frame["patient_id"].map(group_of) == group]

    labs = labs.copy()
    labs["day"] = labs["day"].astype(float)
    base = labs[(labs["day"] <= 0)].sort_values("day", kind="stable")
    bili0 = base[base["analyte"] == "bilirubin"].groupby("patient_id")["value"].last()
    treat = treatments.copy()
    treat["day"] = treat["day"].astype(float)
    dara = treat[treat["treatment"] == "daratumumab"].sort_values(["patient_id", "day"],
                                                                  kind="stable")
    later = treat[(treat["treatment"] == "aiha_therapy") & (treat["day"] > 0)]
    trans = transfusions.copy()
    trans["day"] = trans["day"].astype(float)
    trans["units"] = trans["units"].astype(float)
    ae = adverse_events.copy()
    ae["grade"] = ae["grade"].astype(float)
    ae["serious"] = _truthy(ae["serious"])

    # Every group gets a row for every drug, term and grade seen in any group, so an
    # absent one reads "0 (0.0%)" from the ARD, not from the template.
    treated = set(group_of)
    drugs = sorted(set(later.loc[later["patient_id"].isin(treated), "drug"].astype(str)))
    ae_all = ae[ae["patient_id"].isin(treated)]
    term_grades = {term: sorted({int(x) for x in rows.groupby("patient_id")["grade"].max()})
                   for term, rows in ae_all.groupby("term")}
    stats: list[Stat] = prior_therapy_stats(
        patients, {g: list(members(g)["patient_id"]) for g in GROUPS})
    for g in GROUPS:
        m = members(g)
        ids = set(m["patient_id"])
        n = len(m)
        # Baseline.
        stats += _summary(m["patient_id"].map(bili0), "baseline_bilirubin", g, "mg/dL")
        for col in ("evans", "acrocyanosis"):
            flags = _truthy(pts.reindex(sorted(ids))[col]) if n else pd.Series(dtype=bool)
            stats += _n_prop(f"baseline_{col}", g, int(flags.sum()), n)
        # Exposure.
        d = dara[dara["patient_id"].isin(ids)]
        stats += _summary(d.groupby("patient_id").size(), "exposure_doses", g, "doses")
        stats += _summary(d["dose_mg"].astype(float), "exposure_dose_mg", g, "mg")
        gaps = d.groupby("patient_id")["day"].diff().dropna()
        stats += _summary(gaps, "exposure_interval_days", g, "days")
        span = d.groupby("patient_id")["day"].agg(lambda s: s.max() - s.min())
        stats += _summary(span, "exposure_span_days", g, "days")
        lt = later[later["patient_id"].isin(ids)]
        stats += _n_prop("later_therapy", g, int(lt["patient_id"].nunique()), n)
        for drug in drugs:
            k = int(lt.loc[lt["drug"].astype(str) == drug, "patient_id"].nunique())
            stats += _n_prop("later_therapy_drug", g, k, n, prefix=f"{drug}: ")
        # Transfusion burden per window.
        t = trans[trans["patient_id"].isin(ids)]
        for k, (start, end) in enumerate(windows, start=1):
            sid = f"transfusion_w{k}"
            followed = m[m["followup_day"] >= start]["patient_id"] if start > 0 else m["patient_id"]
            denom = len(followed)
            inside = t[(t["day"] >= start) & (t["day"] <= end)
                       & t["patient_id"].isin(set(followed))]
            per_patient = inside.groupby("patient_id")["units"].sum().reindex(
                sorted(set(followed)), fill_value=0.0)
            transfused = int((per_patient > 0).sum())
            stats += [Stat(sid, g, "start_day", start, "days"),
                      Stat(sid, g, "end_day", end, "days"),
                      Stat(sid, g, "denominator", denom, "patients"),
                      Stat(sid, g, "numerator", transfused, "patients"),
                      Stat(sid, g, "proportion", transfused / denom if denom else math.nan,
                           "proportion"),
                      Stat(sid, g, "units", float(inside["units"].sum()), "units")]
            stats += [Stat(sid, g, f"units_{s.statistic}", s.value, "units")
                      for s in _summary(per_patient, sid, g, "units")]
        # Time to first response.
        resp = m[_truthy(m["responder"])]
        stats += _summary(resp["response_day"], "time_to_response", g, "days")
        stats.append(Stat("time_to_response", g, "n", len(resp), "patients"))
        # Adverse events by term and worst grade (patients).
        a = ae[ae["patient_id"].isin(ids)]
        for term, grades in sorted(term_grades.items()):
            rows = a[a["term"] == term]
            worst = rows.groupby("patient_id")["grade"].max()
            stats += _n_prop("ae_term", g, int(len(worst)), n, prefix=f"{term}: any grade ")
            for grade in grades:
                stats += _n_prop("ae_term", g, int((worst == grade).sum()), n,
                                 prefix=f"{term}: grade {grade} ")
            serious = int(rows[rows["serious"]]["patient_id"].nunique())
            stats += _n_prop("ae_term", g, serious, n, prefix=f"{term}: serious ")
        stats += _n_prop("ae_serious", g, int(a[a["serious"]]["patient_id"].nunique()), n)
    return stats
