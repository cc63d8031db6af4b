"""The cytometry claims (STUDY.md section 1: flow_n, flow_depletion, flow_subsets,
flow_function, flow_relapse) computed from gated population tables.

Every threshold and window comes from the ``cytometry`` config section (passed in
as :class:`ClaimSettings`); nothing here is a study number.

Inputs (:func:`adam_claims` reads them from the analysis datasets ADCYT, ADSL and
ADRS, as rule cytometry_claims does; :func:`compute_claims` takes them as frames):
- ``populations``: one row per sample and population (sample_id, patient_id, visit,
  day, tube, population, gate_path, parent, count, percent_of_parent);
- ``qc``: one row per sample (sample_id, qc_flag, ...);
- ``responses``: one row per patient (patient_id, first_dose_date, relapse_date,
  analysis_group).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

import pandas as pd

from aiha.ard import Stat, with_source
from aiha.cytometry.populations import PopulationLookupError, sample_row
from aiha.errors import InputError

SUBSETS = ("naive", "central_memory", "effector_memory", "temra")


@dataclass(frozen=True)
class ClaimSettings:
    t_cells: str
    cd38: str
    subsets: Mapping[str, str]
    divided: str
    activation: str
    depletion_threshold_percent: float
    depletion_window_days: tuple[int, int]
    post_window_days: tuple[int, int]
    subset_shift_pp: float
    memory_effector_subsets: tuple[str, ...]
    function_fold_factor: float
    reappearance_threshold_percent: float
    relapse_window_days: int
    exclude_flagged: bool

    @classmethod
    def from_config(cls, cyto: Mapping[str, Any]) -> ClaimSettings:
        pops, claims = cyto["populations"], cyto["claims"]
        return cls(
            t_cells=pops["t_cells"],
            cd38=pops["cd38"],
            subsets=dict(pops["subsets"]),
            divided=pops["divided"],
            activation=pops["activation"],
            depletion_threshold_percent=float(claims["depletion_threshold_percent"]),
            depletion_window_days=tuple(int(d) for d in claims["depletion_window_days"]),  # type: ignore[arg-type]
            post_window_days=tuple(int(d) for d in claims["post_window_days"]),  # type: ignore[arg-type]
            subset_shift_pp=float(claims["subset_shift_pp"]),
            memory_effector_subsets=tuple(claims["memory_effector_subsets"]),
            function_fold_factor=float(claims["function_fold_factor"]),
            reappearance_threshold_percent=float(claims["reappearance_threshold_percent"]),
            relapse_window_days=int(claims["relapse_window_days"]),
            exclude_flagged=bool(cyto["qc"]["exclude_flagged"]),
        )


def usable(populations: pd.DataFrame, qc: pd.DataFrame, exclude_flagged: bool) -> pd.DataFrame:
    """Population rows of samples passing QC (or all, if flagged ones are kept)."""
    if not exclude_flagged:
        return populations
    flagged = set(qc.loc[qc["qc_flag"].fillna("").astype(str) != "", "sample_id"])
    return populations[~populations["sample_id"].isin(flagged)]


def percent_of_t(populations: pd.DataFrame, population: str, t_cells: str, tube: str,
                 source: str = "populations.tsv") -> pd.DataFrame:
    """Per sample of ``tube``: ``population`` as a percentage of ``t_cells``.

    Columns: patient_id, sample_id, visit, day, percent. Both populations are
    named by a gate name or a gate path (:mod:`aiha.cytometry.populations`); a
    name found 0 times or several times in a sample is an :class:`InputError`
    naming ``source``, the sample and the population.
    """
    sub = populations[populations["tube"] == tube]
    out = []
    for sample_id, rows in sub.groupby("sample_id", sort=True):
        counts = {}
        for name in (population, t_cells):
            try:
                counts[name] = int(sample_row(rows, name)["count"])
            except PopulationLookupError as exc:
                raise InputError(source, f"sample {sample_id} ({tube} tube): {exc.message}",
                                 column="population", value=name) from None
        denom = counts[t_cells]
        first = rows.iloc[0]
        out.append(
            {
                "patient_id": first["patient_id"],
                "sample_id": sample_id,
                "visit": first["visit"],
                "day": int(first["day"]),
                "percent": 100.0 * counts[population] / denom if denom else math.nan,
            }
        )
    frame = pd.DataFrame(out, columns=["patient_id", "sample_id", "visit", "day", "percent"])
    return frame.sort_values(["patient_id", "day"], kind="stable").reset_index(drop=True)


def _baseline(series: pd.DataFrame) -> float:
    pre = series[series["day"] <= 0]
    return float(pre.iloc[-1]["percent"]) if len(pre) else math.nan


def _window(series: pd.DataFrame, window: Sequence[int]) -> pd.DataFrame:
    return series[(series["day"] >= window[0]) & (series["day"] <= window[1])]


def flow_n(populations: pd.DataFrame, all_samples: pd.DataFrame) -> list[Stat]:
    """Patients (and samples) with cytometry data passing QC."""
    kept = populations.drop_duplicates("sample_id")
    return [
        Stat("flow_n", "all", "n", float(kept["patient_id"].nunique()), "patients"),
        Stat("flow_n", "all", "samples", float(len(kept)), "samples"),
        Stat("flow_n", "all", "samples_excluded_qc",
             float(all_samples["sample_id"].nunique() - len(kept)), "samples"),
    ]


def flow_n_groups(populations: pd.DataFrame, responses: pd.DataFrame) -> list[Stat]:
    """Patients with cytometry samples passing QC, per analysis group (``flow_n`` /
    <group> / ``n``): the published claim counts the wAIHA patients, so a cAIHA
    patient with cytometry is counted in its own group, never in wAIHA's. The
    group of a patient is its ``analysis_group`` in responses.tsv; a patient
    without a response row (or a responses table without that column) is in no
    group. The wAIHA row is always written (0 without a wAIHA patient)."""
    patients = set(populations["patient_id"].astype(str))
    group_of: dict[str, str] = {}
    if "analysis_group" in responses.columns:
        group_of = dict(zip(responses["patient_id"].astype(str),
                            responses["analysis_group"].astype(str)))
    counts: dict[str, int] = {"wAIHA": 0}
    for pid in patients:
        if pid in group_of:
            counts[group_of[pid]] = counts.get(group_of[pid], 0) + 1
    return [Stat("flow_n", g, "n", float(n), "patients") for g, n in sorted(counts.items())]


def flow_depletion(cd38: pd.DataFrame, s: ClaimSettings) -> list[Stat]:
    """CD38+ % of CD3+ falls below the threshold at a visit within the window."""
    stats: list[Stat] = []
    numerator = denominator = 0
    for pid, series in cd38.groupby("patient_id", sort=True):
        base = _baseline(series)
        post = _window(series, s.depletion_window_days)
        if math.isnan(base) or post.empty:
            continue
        denominator += 1
        nadir = post.loc[post["percent"].idxmin()]
        depleted = float(nadir["percent"]) < s.depletion_threshold_percent
        numerator += int(depleted)
        stats += [
            Stat("flow_depletion", pid, "baseline_percent", base, "%"),
            Stat("flow_depletion", pid, "nadir_percent", float(nadir["percent"]), "%"),
            Stat("flow_depletion", pid, "nadir_day", float(nadir["day"]), "days"),
            Stat("flow_depletion", pid, "depleted", float(depleted), "boolean"),
        ]
    stats += [
        Stat("flow_depletion", "all", "numerator", float(numerator), "patients"),
        Stat("flow_depletion", "all", "denominator", float(denominator), "patients"),
    ]
    return stats


def flow_subsets(shares: Mapping[str, pd.DataFrame], s: ClaimSettings) -> list[Stat]:
    """Naive share falls and memory/effector share rises by at least the stated
    percentage points (mean of the post-dose window against baseline).

    ``shares`` maps subset key (naive, central_memory, ...) to its percent_of_t frame.
    """
    stats: list[Stat] = []
    numerator = denominator = 0
    patients = sorted(set().union(*(set(f["patient_id"]) for f in shares.values())))
    for pid in patients:
        base: dict[str, float] = {}
        post: dict[str, float] = {}
        for key in SUBSETS:
            series = shares[key][shares[key]["patient_id"] == pid]
            base[key] = _baseline(series)
            window = _window(series, s.post_window_days)
            post[key] = float(window["percent"].mean()) if len(window) else math.nan
        if any(math.isnan(v) for v in (*base.values(), *post.values())):
            continue
        denominator += 1
        naive_change = post["naive"] - base["naive"]
        me_change = sum(post[k] - base[k] for k in s.memory_effector_subsets)
        shifted = naive_change <= -s.subset_shift_pp and me_change >= s.subset_shift_pp
        numerator += int(shifted)
        for key in SUBSETS:
            stats += [
                Stat("flow_subsets", pid, f"{key}_baseline", base[key], "%"),
                Stat("flow_subsets", pid, f"{key}_post", post[key], "%"),
                Stat("flow_subsets", pid, f"{key}_change_pp", post[key] - base[key], "pp"),
            ]
        stats += [
            Stat("flow_subsets", pid, "memory_effector_change_pp", me_change, "pp"),
            Stat("flow_subsets", pid, "shifted", float(shifted), "boolean"),
        ]
    stats += [
        Stat("flow_subsets", "all", "numerator", float(numerator), "patients"),
        Stat("flow_subsets", "all", "denominator", float(denominator), "patients"),
    ]
    return stats


def _fold(base: float, post: float) -> float:
    if post > 0:
        return base / post
    return math.inf if base > 0 else math.nan


def flow_function(activated: pd.DataFrame, divided: pd.DataFrame, s: ClaimSettings) -> list[Stat]:
    """Activated and divided fractions after stimulation fall by at least the
    stated factor (baseline / mean of the post-dose window)."""
    stats: list[Stat] = []
    numerator = denominator = 0
    patients = sorted(set(activated["patient_id"]) | set(divided["patient_id"]))
    for pid in patients:
        values = {}
        for name, frame in (("activation", activated), ("divided", divided)):
            series = frame[frame["patient_id"] == pid]
            window = _window(series, s.post_window_days)
            values[name] = (_baseline(series), float(window["percent"].mean()) if len(window) else math.nan)
        if any(math.isnan(v) for pair in values.values() for v in pair):
            continue
        denominator += 1
        folds = {k: _fold(b, p) for k, (b, p) in values.items()}
        diminished = all(f >= s.function_fold_factor for f in folds.values())
        numerator += int(diminished)
        for name, (b, p) in values.items():
            stats += [
                Stat("flow_function", pid, f"{name}_baseline", b, "%"),
                Stat("flow_function", pid, f"{name}_post", p, "%"),
                Stat("flow_function", pid, f"{name}_fold", folds[name], "fold"),
            ]
        stats.append(Stat("flow_function", pid, "diminished", float(diminished), "boolean"))
    stats += [
        Stat("flow_function", "all", "numerator", float(numerator), "patients"),
        Stat("flow_function", "all", "denominator", float(denominator), "patients"),
    ]
    return stats


def relapse_days(responses: pd.DataFrame) -> dict[str, int]:
    """patient_id -> relapse day (relapse_date - first_dose_date) for relapsing patients."""
    out = {}
    for rec in responses.itertuples(index=False):
        relapse = str(getattr(rec, "relapse_date") or "").strip()
        if relapse and relapse.lower() != "nan":
            first = date.fromisoformat(str(rec.first_dose_date))
            out[str(rec.patient_id)] = (date.fromisoformat(relapse) - first).days
    return out


def flow_relapse(cd38: pd.DataFrame, relapses: Mapping[str, int], s: ClaimSettings) -> list[Stat]:
    """CD38+ T cells reappear (first post-dose visit after the nadir at or above
    the threshold) within the window around the clinical relapse. Only after
    depletion: a patient whose post-dose nadir never fell below the depletion
    threshold has no reappearance."""
    stats: list[Stat] = []
    coincided = with_relapse = without_relapse = 0
    for pid, series in cd38.groupby("patient_id", sort=True):
        post = series[series["day"] > 0].reset_index(drop=True)
        reappearance = None
        if len(post) and post["percent"].min() < s.depletion_threshold_percent:
            after_nadir = post.iloc[int(post["percent"].idxmin()):]
            hits = after_nadir[after_nadir["percent"] >= s.reappearance_threshold_percent]
            if len(hits):
                reappearance = hits.iloc[0]
        relapse = relapses.get(pid)
        if relapse is None:
            without_relapse += int(reappearance is not None)
            continue
        with_relapse += 1
        hit = reappearance is not None and abs(int(reappearance["day"]) - relapse) <= s.relapse_window_days
        coincided += int(hit)
        stats += [
            Stat("flow_relapse", pid, "relapse_day", float(relapse), "days"),
            Stat("flow_relapse", pid, "reappearance_day",
                 float(reappearance["day"]) if reappearance is not None else math.nan, "days"),
            Stat("flow_relapse", pid, "reappearance_percent",
                 float(reappearance["percent"]) if reappearance is not None else math.nan, "%"),
            Stat("flow_relapse", pid, "coincided", float(hit), "boolean"),
        ]
    stats += [
        Stat("flow_relapse", "all", "n", float(coincided), "patients"),
        Stat("flow_relapse", "all", "denominator", float(with_relapse), "patients"),
        Stat("flow_relapse", "all", "reappeared_without_relapse", float(without_relapse), "patients"),
    ]
    return stats


ADCYT_VARIABLES = "EVCOUNT, RELDY, PARAM, PARCAT1, QCFLAG"


def populations_from_adcyt(adcyt: pd.DataFrame) -> pd.DataFrame:
    """ADCYT's records (one per sample and population) under the names the claims
    use: sample (SMPLID), patient (USUBJID), visit (AVISIT), day from the first dose
    (RELDY), tube (PARCAT1), population (PARAM), gate path (GATEPATH), parent
    (PARENT), events (EVCOUNT), percentage of the parent (AVAL)."""
    out = pd.DataFrame({
        "sample_id": adcyt["SMPLID"].astype(str), "patient_id": adcyt["USUBJID"].astype(str),
        "visit": adcyt["AVISIT"], "day": adcyt["RELDY"], "tube": adcyt["PARCAT1"],
        "population": adcyt["PARAM"], "gate_path": adcyt["GATEPATH"], "parent": adcyt["PARENT"],
        "count": adcyt["EVCOUNT"], "percent_of_parent": adcyt["AVAL"],
    })
    return out.reset_index(drop=True)


def qc_from_adcyt(adcyt: pd.DataFrame) -> pd.DataFrame:
    """One row per sample of ADCYT with its QC flag (QCFLAG; ``""`` = passed)."""
    flags = adcyt[["SMPLID", "QCFLAG"]].drop_duplicates("SMPLID")
    return pd.DataFrame({"sample_id": flags["SMPLID"].astype(str),
                         "qc_flag": flags["QCFLAG"].fillna("").astype(str)}).reset_index(drop=True)


def responses_from_adam(adsl: pd.DataFrame, adrs: pd.DataFrame) -> pd.DataFrame:
    """One row per ADSL patient: the first dose (TRTSDT), the analysis group (ANLGRP)
    and the relapse date (ADT of ADRS PARAMCD RELAPSE where AVALC is Y; ``""``
    without a relapse)."""
    relapse = adrs[(adrs["PARAMCD"] == "RELAPSE") & (adrs["AVALC"] == "Y")]
    dates = dict(zip(relapse["USUBJID"].astype(str), relapse["ADT"]))
    ids = adsl["USUBJID"].astype(str)
    return pd.DataFrame({
        "patient_id": ids, "first_dose_date": adsl["TRTSDT"],
        "relapse_date": [str(dates.get(pid) or "") for pid in ids],
        "analysis_group": adsl["ANLGRP"].astype(str),
    }).reset_index(drop=True)


def adam_claims(datasets: Mapping[str, pd.DataFrame], s: ClaimSettings,
                source: str = "ADCYT") -> list[Stat]:
    """All flow_* statistics from the analysis datasets ADCYT, ADSL and ADRS, each
    naming the dataset and variables it is computed from."""
    stats = compute_claims(populations_from_adcyt(datasets["ADCYT"]),
                           qc_from_adcyt(datasets["ADCYT"]),
                           responses_from_adam(datasets["ADSL"], datasets["ADRS"]), s, source)
    passed = "QCFLAG = ''" if s.exclude_flagged else "all records"
    out = []
    for stat in stats:
        if stat.stat_id == "flow_relapse":
            source_of = ("ADCYT, ADSL, ADRS", "ADCYT.EVCOUNT, ADCYT.RELDY, ADSL.TRTSDT, "
                         "ADRS.ADT (PARAMCD = 'RELAPSE')", passed)
        elif stat.stat_id == "flow_n" and stat.group != "all":
            group = f"ANLGRP = '{stat.group}'"
            source_of = ("ADCYT, ADSL", "ADCYT.USUBJID, ADSL.ANLGRP",
                         f"{passed} and {group}" if s.exclude_flagged else group)
        elif stat.stat_id == "flow_n":
            source_of = ("ADCYT", "USUBJID, SMPLID, QCFLAG", passed)
        else:
            source_of = ("ADCYT", ADCYT_VARIABLES, passed)
        out += with_source([stat], *source_of)
    return out


def compute_claims(populations: pd.DataFrame, qc: pd.DataFrame, responses: pd.DataFrame,
                   s: ClaimSettings, source: str = "populations.tsv") -> list[Stat]:
    """All flow_* statistics (``source``: the populations table's path, for errors)."""
    pops = usable(populations, qc, s.exclude_flagged)
    cd38 = percent_of_t(pops, s.cd38, s.t_cells, "phenotype", source)
    shares = {k: percent_of_t(pops, s.subsets[k], s.t_cells, "phenotype", source) for k in SUBSETS}
    activated = percent_of_t(pops, s.activation, s.t_cells, "function", source)
    divided = percent_of_t(pops, s.divided, s.t_cells, "function", source)
    return (
        flow_n(pops, populations)
        + flow_n_groups(pops, responses)
        + flow_depletion(cd38, s)
        + flow_subsets(shares, s)
        + flow_function(activated, divided, s)
        + flow_relapse(cd38, relapse_days(responses), s)
    )
