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

Computed from the analysis datasets (:mod:`aiha.adam`, docs/analysis_datasets.md):
ADSL, ADTTE, ADEX, ADCM, ADPR and ADAE; :func:`clinical_content` derives them in
memory from the results tables of docs/tables.md; an empty group gives
counts of 0 and no summary rows (nothing to summarise), never an error.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import pandas as pd

from aiha import therapies
from aiha.adam.adsl import PRIOR_FLAGS
from aiha.adam.common import number, selection
from aiha.ard import Stat, with_source
from aiha.safety import safety_statistics

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


def prior_therapy_stats(adsl: pd.DataFrame) -> list[Stat]:
    """Prior AIHA therapies by type (:mod:`aiha.therapies`), per group, from ADSL:
    ``denominator`` (the group's patients with PRTHRFL = Y: their site exports the
    prior_therapies column; a patient with an empty list counts, with no therapy),
    then ``<type>: n`` and ``<type>: proportion`` of every type any treated patient
    had (its flag, e.g. PRRTXFL = Y), and ``none: n`` / ``none: proportion`` (no
    flag Y). No rows at all when no treated patient has PRTHRFL = Y."""
    everyone = adsl[adsl["PRTHRFL"] == "Y"]
    if everyone.empty:
        return []
    flags = PRIOR_FLAGS
    present = [t for t in therapies.PRIOR_THERAPY_TYPES if (everyone[flags[t]] == "Y").any()]
    stats: list[Stat] = []
    for g in GROUPS:
        rows = everyone if g == "all" else everyone[everyone["ANLGRP"] == g]
        n = len(rows)
        had = pd.DataFrame({t: rows[flags[t]] == "Y" for t in therapies.PRIOR_THERAPY_TYPES},
                           index=rows.index)
        part = [Stat("baseline_prior_therapy", g, "denominator", n, "patients")]
        for t in present:
            part += _n_prop("baseline_prior_therapy", g, int(had[t].sum()), n, prefix=f"{t}: ")
        part += _n_prop("baseline_prior_therapy", g, int((~had.any(axis=1)).sum()), n,
                        prefix="none: ")
        stats += with_source(part, "ADSL", ", ".join(["PRTHRFL", *flags.values()]),
                             selection(g, "PRTHRFL = 'Y'"))
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
    """:func:`content_statistics` of the analysis datasets derived in memory from the
    results tables (:func:`aiha.adam.derive_all`)."""
    from aiha.adam import derive_all

    datasets = derive_all({"patients": patients, "responses": responses, "labs": labs,
                           "transfusions": transfusions, "treatments": treatments,
                           "adverse_events": adverse_events}, {})
    return content_statistics(datasets, cfg)


def content_statistics(datasets: Mapping[str, pd.DataFrame], cfg: Mapping[str, Any]
                       ) -> list[Stat]:
    """The statistics listed in the module docstring, from ADSL, ADTTE, ADEX, ADCM,
    ADPR and ADAE. ``cfg``: ``transfusion_windows_days`` (list of [start, end] days
    from the first dose)."""
    windows = parse_windows(cfg["transfusion_windows_days"])
    adsl = datasets["ADSL"]
    adtte = datasets["ADTTE"]
    group_of = dict(zip(adsl["USUBJID"], adsl["ANLGRP"]))
    fu = adtte[adtte["PARAMCD"] == "FU"].set_index("USUBJID")
    ttr = adtte[(adtte["PARAMCD"] == "TTR") & (number(adtte["CNSR"]) == 0)]
    r = adsl.copy()
    r["followup_day"] = r["USUBJID"].map(number(fu["AVAL"])).astype(float)
    r["BBILI"] = number(r["BBILI"])

    def members(group: str) -> pd.DataFrame:
        return r if group == "all" else r[r["ANLGRP"] == group]

    ex = datasets["ADEX"].copy()
    ex["RELDY"] = number(ex["RELDY"])
    dara = ex.sort_values(["USUBJID", "RELDY"], kind="stable")
    cm = datasets["ADCM"].copy()
    cm["RELDY"] = number(cm["RELDY"])
    later = cm[(cm["CMCAT"] == "AIHA THERAPY") & (cm["RELDY"] > 0)]
    trans = datasets["ADPR"].copy()
    trans["RELDY"] = number(trans["RELDY"])
    trans["PRDOSE"] = number(trans["PRDOSE"])
    ae = datasets["ADAE"].copy()
    ae["ATOXGRN"] = number(ae["ATOXGRN"])
    ae["serious"] = ae["AESER"] == "Y"

    # Every group gets a row for every drug, term and grade seen in any group, so an
    # absent one reads "0 (0.0%)" from the ARD, not from the template.
    treated = set(group_of)
    drugs = sorted(set(later.loc[later["USUBJID"].isin(treated), "CMTRT"].astype(str)))
    ae_all = ae[ae["USUBJID"].isin(treated)]
    term_grades = {term: sorted({int(x) for x in rows.groupby("USUBJID")["ATOXGRN"].max()})
                   for term, rows in ae_all.groupby("AETERM")}
    stats: list[Stat] = prior_therapy_stats(adsl)
    for g in GROUPS:
        m = members(g)
        ids = set(m["USUBJID"])
        n = len(m)
        sel = selection(g)
        # Baseline.
        stats += with_source(_summary(m["BBILI"], "baseline_bilirubin", g, "mg/dL"), "ADSL",
                             "BBILI", sel)
        for col, flag in (("evans", "EVANSFL"), ("acrocyanosis", "ACROFL")):
            stats += with_source(_n_prop(f"baseline_{col}", g, int((m[flag] == "Y").sum()), n),
                                 "ADSL", flag, sel)
        # Exposure.
        d = dara[dara["USUBJID"].isin(ids)]
        stats += with_source(_summary(d.groupby("USUBJID").size(), "exposure_doses", g, "doses"),
                             "ADEX", "USUBJID", sel)
        stats += with_source(_summary(number(d["EXDOSE"]), "exposure_dose_mg", g, "mg"), "ADEX",
                             "EXDOSE", sel)
        gaps = d.groupby("USUBJID")["RELDY"].diff().dropna()
        stats += with_source(_summary(gaps, "exposure_interval_days", g, "days"), "ADEX",
                             "USUBJID, RELDY", sel)
        span = d.groupby("USUBJID")["RELDY"].agg(lambda s: s.max() - s.min())
        stats += with_source(_summary(span, "exposure_span_days", g, "days"), "ADEX",
                             "USUBJID, RELDY", sel)
        lt = later[later["USUBJID"].isin(ids)]
        later_sel = selection(g, "CMCAT = 'AIHA THERAPY' and RELDY > 0")
        stats += with_source(_n_prop("later_therapy", g, int(lt["USUBJID"].nunique()), n),
                             "ADSL, ADCM", "USUBJID, CMCAT, RELDY", later_sel)
        for drug in drugs:
            k = int(lt.loc[lt["CMTRT"].astype(str) == drug, "USUBJID"].nunique())
            stats += with_source(_n_prop("later_therapy_drug", g, k, n, prefix=f"{drug}: "),
                                 "ADSL, ADCM", "USUBJID, CMTRT, CMCAT, RELDY", later_sel)
        # Transfusion burden per window.
        t = trans[trans["USUBJID"].isin(ids)]
        for k, (start, end) in enumerate(windows, start=1):
            sid = f"transfusion_w{k}"
            followed = m[m["followup_day"] >= start]["USUBJID"] if start > 0 else m["USUBJID"]
            denom = len(followed)
            inside = t[(t["RELDY"] >= start) & (t["RELDY"] <= end)
                       & t["USUBJID"].isin(set(followed))]
            per_patient = inside.groupby("USUBJID")["PRDOSE"].sum().reindex(
                sorted(set(followed)), fill_value=0.0)
            transfused = int((per_patient > 0).sum())
            part = [Stat(sid, g, "start_day", start, "days"),
                    Stat(sid, g, "end_day", end, "days"),
                    Stat(sid, g, "denominator", denom, "patients"),
                    Stat(sid, g, "numerator", transfused, "patients"),
                    Stat(sid, g, "proportion", transfused / denom if denom else math.nan,
                         "proportion"),
                    Stat(sid, g, "units", float(inside["PRDOSE"].sum()), "units")]
            part += [Stat(sid, g, f"units_{s.statistic}", s.value, "units")
                     for s in _summary(per_patient, sid, g, "units")]
            follow_sel = f" and ADTTE.AVAL >= {start} (PARAMCD = 'FU')" if start > 0 else ""
            stats += with_source(part, "ADSL, ADTTE, ADPR", "ADPR.PRDOSE, ADPR.RELDY, ADTTE.AVAL",
                                 selection(g) + follow_sel + f" and {start} <= ADPR.RELDY <= {end}")
        # Time to first response.
        resp = ttr[ttr["USUBJID"].isin(ids)]
        ttr_sel = selection(g, "PARAMCD = 'TTR' and CNSR = 0")
        stats += with_source(_summary(number(resp["AVAL"]), "time_to_response", g, "days"),
                             "ADTTE", "AVAL", ttr_sel)
        stats += with_source([Stat("time_to_response", g, "n", len(resp), "patients")],
                             "ADTTE", "USUBJID", ttr_sel)
        # Adverse events by term and worst grade (patients).
        a = ae[ae["USUBJID"].isin(ids)]
        for term, grades in sorted(term_grades.items()):
            rows = a[a["AETERM"] == term]
            worst = rows.groupby("USUBJID")["ATOXGRN"].max()
            part = _n_prop("ae_term", g, int(len(worst)), n, prefix=f"{term}: any grade ")
            for grade in grades:
                part += _n_prop("ae_term", g, int((worst == grade).sum()), n,
                                prefix=f"{term}: grade {grade} ")
            serious = int(rows[rows["serious"]]["USUBJID"].nunique())
            part += _n_prop("ae_term", g, serious, n, prefix=f"{term}: serious ")
            stats += with_source(part, "ADSL, ADAE", "ADAE.AETERM, ADAE.ATOXGRN, ADAE.AESER",
                                 selection(g))
        stats += with_source(
            _n_prop("ae_serious", g, int(a[a["serious"]]["USUBJID"].nunique()), n),
            "ADSL, ADAE", "ADAE.AESER", selection(g))
    # Treatment-emergent events: any, grade 3-5, serious, related, fatal; by system
    # organ class; infections (aiha.safety).
    stats += safety_statistics(adsl, datasets["ADAE"], GROUPS)
    return stats
