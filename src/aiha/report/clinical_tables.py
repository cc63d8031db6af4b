"""Clinical tables and listings of the report, built from the ARD and results tables."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import pandas as pd

from aiha import formatting as F
from aiha import therapies
from aiha.report.model import (ARD, GROUP_LABELS, GROUPS, Fmt, Table, _compact_pair,
                               _join_notes, compact, empty_groups_note, max_patient_rows,
                               n_pct, present_groups)

def _median_range(ard: ARD, stat: str, group: str, decimals: int | None,
                  prefix: str = "") -> str:
    med, lo, hi = (ard.opt(stat, group, f"{prefix}{s}") for s in ("median", "min", "max"))
    if decimals is None:
        if all(F.is_missing(v) for v in (med, lo, hi)):
            return F.MISSING
        return f"{compact(med)} ({F.fmt_range(*_compact_pair(lo, hi))})"
    return F.fmt_median_range(med, lo, hi, decimals)


def _group_header(ard: ARD, groups: Sequence[str], first: str) -> list[Any]:
    return [first] + [ard.cell(lambda g=g: f"{GROUP_LABELS[g]} (n\u00a0=\u00a0"
                               f"{F.fmt_count(ard.get('n_treated', g, 'n'))})") for g in groups]


class _Rows:
    """Rows of a by-group table: each cell a Cell linked to the ARD row it printed."""

    def __init__(self, ard: ARD, groups: Sequence[str]) -> None:
        self.ard, self.groups, self.rows = ard, list(groups), []  # type: list[list[Any]]

    def add(self, label: Any, fn: Callable[[str], str]) -> None:
        self.rows.append([label] + [self.ard.cell(lambda g=g: fn(g)) for g in self.groups])


def _pct_cell(ard: ARD, stat: str, group: str, fmt: Fmt, prefix: str = "") -> str:
    if not ard.has(stat, group, f"{prefix}n"):
        return F.MISSING
    n = ard.get(stat, group, f"{prefix}n")
    if n == 0:
        return "0"
    return n_pct(n, ard.get(stat, group, f"{prefix}proportion"), fmt.percent)


PRIOR = "baseline_prior_therapy"


def _prior_therapy_rows(t: _Rows, ard: ARD, fmt: Fmt) -> str:
    """Rows "Prior <type>" of the types in the ARD (none when no site exports the
    list), and their note. Where every treated patient's list is recorded the cells
    read n (%) of the group; otherwise n/N (%), N the patients with a recorded list."""
    if not ard.has(PRIOR, "all", "denominator"):
        return ""
    types = [x for x in therapies.PRIOR_THERAPY_TYPES if ard.has(PRIOR, "all", f"{x}: n")]
    whole = all(ard.get(PRIOR, g, "denominator") == ard.get("n_treated", g, "n")
                for g in t.groups)

    def cell(g: str, prefix: str) -> str:
        if whole:
            return _pct_cell(ard, PRIOR, g, fmt, prefix)
        k = ard.get(PRIOR, g, f"{prefix}n")
        n = ard.get(PRIOR, g, "denominator")
        if n == 0:
            return "not recorded"
        ard.ratio(PRIOR, g, f"{prefix}n", "denominator")  # the percentage's row
        return F.fmt_n_of_N(k, n, fmt.percent)

    unit = "n (%)" if whole else "n/N (%)"
    for x in types:
        t.add(f"Prior {therapies.label(x)}, {unit}", lambda g, p=f"{x}: ": cell(g, p))
    if ard.opt(PRIOR, "all", "none: n") > 0:
        t.add(f"No prior AIHA therapy, {unit}", lambda g: cell(g, "none: "))
    covers = "; ".join(f"{therapies.label(x)}: {therapies.covers(x)}" for x in types
                       if therapies.covers(x) != therapies.label(x))
    return _join_notes(
        "Prior therapies: the prior AIHA therapies a site lists for the patient, grouped "
        "into types by the site's export profile; a patient counts once per type and may "
        "have had several types. Therapies and treatment lines are recorded independently.",
        f"{covers[0].upper()}{covers[1:]}." if covers else "",
        "" if whole else "N: patients whose site lists prior therapies (an empty list "
        "counts, as no prior therapy); not recorded: no site of the group lists them.")


def _per_patient(ard: ARD, stat: str, group: str, decimals: int | None) -> str:
    """Median (range) of a per-patient value; a group of one patient prints the value
    alone (not ``63 (63–63)``)."""
    n_key = ("n_treated", group, "n")  # peeked: the group size chooses the form only
    if ard.has(*n_key) and ard.peek(n_key) == 1 and ard.has(stat, group, "median"):
        med = ard.get(stat, group, "median")
        return compact(med) if decimals is None else F.fmt_number(med, decimals)
    return _median_range(ard, stat, group, decimals)


def baseline_table(ard: ARD, fmt: Fmt) -> Table:
    """Table 1: baseline characteristics by analysis group (groups with patients)."""
    groups = present_groups(ard)
    t = _Rows(ard, groups)
    t.add("Patients treated, n", lambda g: F.fmt_count(ard.get("n_treated", g, "n")))
    t.add("In the efficacy set, n", lambda g: F.fmt_count(ard.opt("n_efficacy", g, "n")))
    t.add("Age at first dose, years, median (range)",
          lambda g: _per_patient(ard, "age", g, None))
    t.add("Female sex, n (%)", lambda g: n_pct(ard.get("sex_female", g, "n"),
                                               ard.get("sex_female", g, "proportion"), fmt.percent))
    t.add("Prior AIHA treatment lines, median (range)",
          lambda g: _per_patient(ard, "prior_lines", g, None))
    prior_note = _prior_therapy_rows(t, ard, fmt)
    if "wAIHA" in groups:
        t.add("Evans syndrome, n (%)", lambda g: _pct_cell(ard, "baseline_evans", g, fmt))
    if "cAIHA" in groups or "cAIHA_nonanemic" in groups:
        t.add("Acrocyanosis, n (%)", lambda g: _pct_cell(ard, "baseline_acrocyanosis", g, fmt))
    t.add("Baseline Hb, g/dL, median (range)",
          lambda g: _per_patient(ard, "baseline_hb", g, fmt.hb))
    t.add("Baseline LDH, \u00d7 ULN, median (range)",
          lambda g: _per_patient(ard, "baseline_ldh", g, fmt.ldh))
    t.add("Baseline bilirubin, mg/dL, median (range)",
          lambda g: _per_patient(ard, "baseline_bilirubin", g, fmt.ldh))
    n_na = ard.opt("n_treated", "cAIHA_nonanemic", "n")
    outside = ("" if F.is_missing(n_na) or n_na == 0 else
               f"The non-anemic cAIHA {'patient was' if n_na == 1 else 'patients were'} "
               "treated but outside the efficacy set.")
    single = [GROUP_LABELS[g] for g in groups
              if ard.has("n_treated", g, "n") and ard.peek(("n_treated", g, "n")) == 1]
    one = (f"A group of one patient ({', '.join(single)}) shows that patient's values, "
           "not a median (range)." if single else "")
    return Table("baseline", "Table 1. Baseline characteristics by analysis group",
                 _group_header(ard, groups, "Characteristic"), t.rows,
                 note=_join_notes("Efficacy set: wAIHA and anemic cAIHA. Percentages are of "
                                  "the patients treated in the group (n in the header).",
                                  outside, one, empty_groups_note(ard, GROUPS[:3]), prior_note,
                                  "Baseline: the last value on or before the first dose. "
                                  "AIHA: autoimmune hemolytic anemia; wAIHA: warm AIHA; cAIHA: "
                                  "cold AIHA (cold agglutinin disease); Hb: hemoglobin; LDH: "
                                  "lactate dehydrogenase; ULN: upper limit of normal.",
                                  "\u2014: not applicable or not measured."),
                 stat_ids=["n_treated", "n_efficacy", "age", "sex_female", "prior_lines",
                           PRIOR, "baseline_evans", "baseline_acrocyanosis", "baseline_hb",
                           "baseline_ldh", "baseline_bilirubin"])


def _days_range(ard: ARD, stat: str, group: str) -> str:
    return _median_range(ard, stat, group, None)


def exposure_table(ard: ARD, fmt: Fmt) -> Table:
    """Table 2: daratumumab exposure and later AIHA therapies by group."""
    groups = present_groups(ard)
    t = _Rows(ard, groups)
    t.add("Daratumumab doses per patient, median (range)",
          lambda g: _median_range(ard, "exposure_doses", g, None))
    t.add("Dose per administration, mg, median (range)",
          lambda g: _median_range(ard, "exposure_dose_mg", g, None))
    t.add("Days between consecutive doses, median (range)",
          lambda g: _days_range(ard, "exposure_interval_days", g))
    t.add("Days from first to last dose, median (range)",
          lambda g: _days_range(ard, "exposure_span_days", g))
    t.add("New AIHA therapy after the first dose, n (%)",
          lambda g: _pct_cell(ard, "later_therapy", g, fmt))
    drugs = sorted({k[2].rsplit(": ", 1)[0] for k in ard.keys("later_therapy_drug", "all")})
    for drug in drugs:
        t.add(f"\u2003{drug}, n (%)",
              lambda g, d=drug: _pct_cell(ard, "later_therapy_drug", g, fmt, prefix=f"{d}: "))
    return Table("exposure", "Table 2. Treatment exposure and later therapies",
                 _group_header(ard, groups, "Exposure"), t.rows,
                 note=_join_notes(
                     "Doses: every daratumumab administration recorded in the treatment "
                     "export. New AIHA therapy: an administration of a drug the site's profile "
                     "maps to AIHA therapy after day 0 (the first daratumumab dose); patients "
                     "may have had several. Percentages are of the patients treated in the group.",
                     empty_groups_note(ard, GROUPS[:3])),
                 stat_ids=["exposure_doses", "exposure_dose_mg", "exposure_interval_days",
                           "exposure_span_days", "later_therapy", "later_therapy_drug"])


def _window_label(ard: ARD, k: int) -> str:
    start = ard.get(f"transfusion_w{k}", "all", "start_day")
    end = ard.get(f"transfusion_w{k}", "all", "end_day")
    return f"Days {F.fmt_signed_int(start)} to {F.fmt_signed_int(end)}"


def transfusion_table(ard: ARD, fmt: Fmt) -> Table:
    """Table 3: red-cell transfusions in each window of days from the first dose."""
    groups = present_groups(ard)
    t = _Rows(ard, groups)
    k = 1
    while ard.has(f"transfusion_w{k}", "all", "start_day"):
        sid = f"transfusion_w{k}"
        # The window's days are ARD rows too: the label's numbers link to them.
        t.add(ard.cell(lambda k=k: f"{_window_label(ard, k)}: patients transfused, n/N (%)"),
              lambda g, s=sid: _n_of_N(ard, s, g, fmt))
        t.add(ard.cell(lambda k=k: f"{_window_label(ard, k)}: units, total"),
              lambda g, s=sid: F.fmt_count(ard.opt(s, g, "units")))
        t.add(ard.cell(lambda k=k: f"{_window_label(ard, k)}: units per patient, median (range)"),
              lambda g, s=sid: _median_range(ard, s, g, None, prefix="units_"))
        k += 1
    return Table("transfusions", "Table 3. Transfusion burden before and after the first dose",
                 _group_header(ard, groups, "Window (days from first dose)"), t.rows,
                 note=_join_notes(
                     "Day 0: the first daratumumab dose; both ends of a window are included "
                     "(the windows are set in the configuration, see Methods). N: patients followed "
                     "up to the start of the window. Units: red-cell units.",
                     empty_groups_note(ard, GROUPS[:3])),
                 stat_ids=[f"transfusion_w{i}" for i in range(1, k)])


def time_to_response_row(ard: ARD, groups: Sequence[str]) -> list[Any]:
    return ["Days from first dose to response, median (range)"] + [
        ard.cell(lambda g=g: _median_range(ard, "time_to_response", g, None)) for g in groups]


def ae_term_table(ard: ARD, fmt: Fmt) -> Table:
    """Table 6: patients by adverse-event term and worst grade, and serious events."""
    groups = present_groups(ard)
    t = _Rows(ard, groups)
    terms = sorted({k[2].split(": ", 1)[0] for k in ard.keys("ae_term", "all")})
    for term in terms:
        t.add(f"{term}, any grade", lambda g, x=term: _pct_cell(ard, "ae_term", g, fmt,
                                                                f"{x}: any grade "))
        grades = sorted({int(k[2].split("grade ")[1].split(" ")[0])
                         for k in ard.keys("ae_term", "all")
                         if k[2].startswith(f"{term}: grade ")})
        for grade in grades:
            t.add(f"\u2003worst grade {grade}",
                  lambda g, x=term, gr=grade: _pct_cell(ard, "ae_term", g, fmt,
                                                        f"{x}: grade {gr} "))
        t.add("\u2003serious", lambda g, x=term: _pct_cell(ard, "ae_term", g, fmt,
                                                           f"{x}: serious "))
    t.add("Any serious adverse event", lambda g: _pct_cell(ard, "ae_serious", g, fmt))
    return Table("ae_term", "Table 6. Patients with adverse events by term and worst grade",
                 _group_header(ard, groups, "Term"), t.rows,
                 note=_join_notes(
                     "Patients n (%): each patient counts once per term, at the worst grade "
                     "reported for that term (CTCAE v5: Common Terminology Criteria for "
                     "Adverse Events, version 5). Serious: at least one serious event of the "
                     "term. Percentages are of the patients treated in the group.",
                     "No adverse event was reported." if not terms else ""),
                 stat_ids=["ae_term", "ae_serious"])


def _n_of_N(ard: ARD, stat: str, group: str, fmt: Fmt) -> str:
    if not ard.has(stat, group, "numerator"):
        return F.MISSING
    num, den = ard.get(stat, group, "numerator"), ard.get(stat, group, "denominator")
    if den == 0:
        return "no patients"
    ard.ratio(stat, group)  # the row of the percentage (proportion, or n/N in Appendix D)
    return F.fmt_n_of_N(num, den, fmt.percent)


def _prop_ci(ard: ARD, stat: str, group: str, fmt: Fmt, level: float) -> str:
    if ard.opt(stat, group, "denominator") == 0:
        return "no patients"
    return (f"{_n_of_N(ard, stat, group, fmt)}; "
            f"{F.fmt_ci(ard.get(stat, group, 'ci_lower'), ard.get(stat, group, 'ci_upper'), fmt.percent, level)}")


def _km_median(ard: ARD, group: str, fmt: Fmt, level: float) -> str:
    if not ard.has("dor_median_km", group, "value"):
        return F.MISSING
    med = ard.get("dor_median_km", group, "value")
    lo, hi = ard.opt("dor_median_km", group, "ci_lower"), ard.opt("dor_median_km", group, "ci_upper")
    ci = F.fmt_ci(lo, hi, fmt.months, level, percent=False)
    return f"{F.fmt_months(med, fmt.months)} ({ci})"


def _months_opt(ard: ARD, stat: str, group: str, fmt: Fmt) -> str:
    if not ard.has(stat, group, "value"):
        return F.MISSING
    return F.fmt_months(ard.get(stat, group, "value"), fmt.months)


def _plus(ard: ARD, stat: str, group: str) -> str:
    """``+`` after a censored duration (its ``censored`` row is 1), else nothing."""
    return "+" if ard.opt(stat, group, "censored") == 1 else ""


def _dor_range(ard: ARD, group: str) -> str:
    """``2–12+ months``: the shortest and longest durations, ``+`` on a censored one
    (a response ongoing at the cut-off)."""
    if not ard.has("dor_min", group, "value"):
        return F.MISSING
    lo, hi, dec = _compact_pair(ard.get("dor_min", group, "value"),
                                ard.get("dor_max", group, "value"))
    low = f"{F.fmt_number(lo, dec)}{_plus(ard, 'dor_min', group)}"
    high = f"{F.fmt_number(hi, dec)}{_plus(ard, 'dor_max', group)}"
    return f"{low}{F.EN_DASH}{high} months"


def _crude_median(ard: ARD, group: str, fmt: Fmt, max_share: float) -> str:
    """The crude median, or "not estimable" where more than ``max_share`` of the
    durations are censored (config ``statistics.crude_median_max_censored_share``)."""
    if not ard.has("dor_median_crude", group, "value"):
        return F.MISSING
    key = ("dor_median_crude", group, "estimable")
    if ard.has(*key) and ard.peek(key) == 0:  # the words, not a number: see the note
        return "not estimable"
    return F.fmt_months(ard.get("dor_median_crude", group, "value"), fmt.months)


def _events_censored(ard: ARD, group: str, fmt: Fmt) -> str:
    """``4 / 2 (33.3% censored)``: relapses, ongoing responses and the censored share."""
    if not ard.has("dor_median_km", group, "events"):
        return F.MISSING
    # Read in the order printed: each printed number links to the row read for it.
    events = F.fmt_count(ard.get("dor_median_km", group, "events"))
    censored = F.fmt_count(ard.get("dor_median_km", group, "censored"))
    share = ard.get("dor_median_crude", group, "censored_share")
    return f"{events} / {censored} ({F.fmt_percent(share, fmt.percent)} censored)"


def _landmark(ard: ARD, group: str, key: str, fmt: Fmt, level: float) -> str:
    """``50.0% (95% CI 22.5–100.0)``; "not estimable" beyond the last observed time."""
    if not ard.has("dor_landmark", group, f"{key}_rate"):
        return F.MISSING
    rate = ard.get("dor_landmark", group, f"{key}_rate")
    if F.is_missing(rate):
        return "not estimable (no response followed this long)"
    lo = ard.get("dor_landmark", group, f"{key}_ci_lower")
    hi = ard.get("dor_landmark", group, f"{key}_ci_upper")
    bounds = ["not estimable" if F.is_missing(b) else F.fmt_number(b * 100, fmt.percent)
              for b in (lo, hi)]
    ci = (f"{F.fmt_number(level * 100, 0)}% CI "
          + ("not estimable" if F.is_missing(lo) and F.is_missing(hi) else
             f"{bounds[0]}{F.EN_DASH}{bounds[1]}"))
    return f"{F.fmt_percent(rate, fmt.percent)} ({ci})"


def landmark_keys(ard: ARD) -> list[tuple[str, str]]:
    """(statistic prefix, months as printed) of the landmarks in the ARD, in order of
    their months."""
    keys = {k[2].rsplit("_rate", 1)[0] for g in ("wAIHA", "cAIHA")
            for k in ard.keys("dor_landmark", g) if k[2].endswith("_rate")}
    return sorted(((k, k.split("_", 1)[1]) for k in keys), key=lambda kv: float(kv[1]))


def _ongoing_durations(ard: ARD, group: str, max_rows: int) -> str:
    """Each ongoing response's duration, or, beyond ``max_rows`` of them (config
    ``report.max_patient_rows``), their range: each patient's is in the listings."""
    keys = ard.series_keys("ongoing_duration", group, "value")
    if not keys:
        return F.MISSING
    if len(keys) > max_rows:  # only the two rows printed reach Appendix D
        by_value = sorted(keys, key=ard.peek)
        low, high = ard.get(*by_value[0]), ard.get(*by_value[-1])
        return (f"{compact(low)}{F.EN_DASH}{compact(high)} months "
                "(each patient's in the listings)")
    return ", ".join(compact(ard.get(*k)) for k in keys) + " months"


def _acro_row(ard: ARD, cols: Sequence[str], cfg: Mapping[str, Any], label: str,
              fmt: Fmt) -> list[Any]:
    """The acrocyanosis row in the column(s) of its denominator: the anemic cAIHA
    column (``response.acro_denominator: efficacy_set``), or one cell spanning the
    anemic and non-anemic cAIHA columns (``all_treated``) when both are shown."""
    value = ard.cell(lambda: _n_of_N(ard, "acro_improved", "cAIHA", fmt))
    both = cfg["response"]["acro_denominator"] == "all_treated" and \
        "cAIHA" in cols and "cAIHA_nonanemic" in cols
    row: list[Any] = [label]
    for g in cols:
        if g == "cAIHA":
            row.append(dataclasses.replace(value, span=2) if both else value)
        elif not (both and g == "cAIHA_nonanemic"):
            row.append(F.MISSING)
    return row


def response_table(ard: ARD, fmt: Fmt, cfg: Mapping[str, Any]) -> Table:
    """Response and duration of response by group (from the ARD): a column per group
    with patients, a row per outcome that applies to one of them."""
    level = float(cfg["statistics"]["ci_level"])
    max_share = float(cfg["statistics"].get("crude_median_max_censored_share", 0.5))
    cols = [g for g in ("wAIHA", "cAIHA", "cAIHA_nonanemic") if g in present_groups(ard)]
    na = F.MISSING

    def only(group: str, text: Callable[[], str]) -> list[Any]:
        return [ard.cell(text) if g == group else na for g in cols]

    def each(fn: Callable[[str], str]) -> list[Any]:
        return [ard.cell(lambda g=g: fn(g)) for g in cols]

    def ongoing(g: str) -> str:
        if not ard.has("ongoing", g, "numerator"):
            return na
        return (f"{F.fmt_count(ard.get('ongoing', g, 'numerator'))}/"
                f"{F.fmt_count(ard.get('ongoing', g, 'denominator'))}")

    acro_label = ("Acrocyanosis improved, n/N (%), of all treated cAIHA patients with "
                  "acrocyanosis, non-anemic ones included"
                  if cfg["response"]["acro_denominator"] == "all_treated" else
                  "Acrocyanosis improved, n/N (%), of the anemic cAIHA patients with "
                  "acrocyanosis")
    candidates = [
        ["Overall response (CR + PR), n/N (%)", *only("wAIHA", lambda: _prop_ci(ard, "orr", "wAIHA", fmt, level))],
        ["Complete response, n/N (%)", *only("wAIHA", lambda: _n_of_N(ard, "cr", "wAIHA", fmt))],
        ["Partial response, n/N (%)", *only("wAIHA", lambda: _n_of_N(ard, "pr", "wAIHA", fmt))],
        ["Hb response, n/N (%)", *only("cAIHA", lambda: _prop_ci(ard, "hb_response", "cAIHA", fmt, level))],
        ["Median duration of response, crude",
         *each(lambda g: _crude_median(ard, g, fmt, max_share))],
        ["Median duration of response, Kaplan-Meier", *each(lambda g: _km_median(ard, g, fmt, level))],
        ["Responders: relapses (events) / ongoing (censored), n", *each(lambda g: _events_censored(ard, g, fmt))],
        *[[f"In response at {months} months (Kaplan-Meier), %", *each(
            lambda g, k=key: _landmark(ard, g, k, fmt, level))] for key, months in landmark_keys(ard)],
        ["Range of response duration", *each(lambda g: _dor_range(ard, g))],
        ["Responses ongoing at data cut-off, n/N", *each(ongoing)],
        ["Durations of ongoing responses",
         *each(lambda g: _ongoing_durations(ard, g, max_patient_rows(cfg)))],
        ["Nonresponders with Evans syndrome, n/N (%)", *only("wAIHA", lambda: _n_of_N(ard, "nr_evans", "wAIHA", fmt))],
        _acro_row(ard, cols, cfg, acro_label, fmt),
        ["Acrocyanosis response, n/N (%)", *only("cAIHA_nonanemic", lambda: _n_of_N(ard, "nonanemic_acro_response", "cAIHA_nonanemic", fmt))],
        ["Hb increase from baseline, n/N (%)", *only("cAIHA_nonanemic", lambda: _n_of_N(ard, "nonanemic_hb_increase", "cAIHA_nonanemic", fmt))],
        ["Best Hb change from baseline, g/dL, median", *only("cAIHA_nonanemic", lambda: F.fmt_number(ard.opt("nonanemic_hb_change", "cAIHA_nonanemic", "median"), fmt.hb))],
    ]
    candidates.append(["Days from first dose to response, median (range)",
                       *each(lambda g: _median_range(ard, "time_to_response", g, None))])
    rows = [r for r in candidates if any(str(cell) != na for cell in r[1:])]
    has_responders = any(ard.has("dor_min", g, "value") for g in cols)
    notes = [empty_groups_note(ard, ("wAIHA", "cAIHA", "cAIHA_nonanemic"))]
    if cols and not has_responders:
        notes.append("No patient responded: no duration of response.")
    notes.append("Confidence intervals: exact Clopper-Pearson for proportions"
                 + (f", {KM_CI_WORDS[_ci_transform(cfg)]} for the Kaplan-Meier median"
                    if has_responders else "") + ".")
    if has_responders and "wAIHA" in cols:
        notes.append(f"The median duration reported as the paper's figure is the "
                     f"{MEDIAN_WORDS[cfg['statistics']['dor_median_method']]} (see Methods).")
    if has_responders:
        notes.append(
            "Crude median: the median of the durations, ongoing ones at their censored "
            "value; printed only where at most "
            f"{F.fmt_percent(max_share, 0)} of the durations are censored, else not "
            "estimable. +: a censored duration (response ongoing at the data cut-off). "
            "In response at t months: the Kaplan-Meier estimate of staying in response "
            "t months after the response, with its pointwise confidence interval; not "
            "estimable beyond the longest observed duration.")
    notes.append("CR: complete response; PR: partial response; Hb: hemoglobin; CI: "
                 "confidence interval; n/N: patients with the outcome / patients in the "
                 "denominator. Response criteria: international consensus (Jäger et al., "
                 "Blood Rev 2020) for wAIHA; Berentsen et al. for cAIHA (see Methods).")
    header = ["Outcome"] + [ard.cell(lambda g=g: f"{GROUP_LABELS[g]} (n\u00a0=\u00a0"
                                     f"{F.fmt_count(ard.get('n_treated', g, 'n'))})")
                            for g in cols]
    return Table("response", "Table 4. Response, duration of response and time to response",
                 header, rows, note=_join_notes(*notes),
                 stat_ids=["orr", "cr", "pr", "hb_response", "dor_median_crude", "dor_median_km",
                           "dor_landmark", "dor_min", "dor_max", "ongoing", "ongoing_duration", "nr_evans",
                           "acro_improved", "nonanemic_acro_response", "nonanemic_hb_increase",
                           "nonanemic_hb_change", "time_to_response"])


KM_CI_WORDS = {"log-log": "log(\u2212log) transform", "log": "log transform",
               "plain": "untransformed (plain) interval"}
MEDIAN_WORDS = {"crude": "crude median", "km": "Kaplan-Meier median"}


def _ci_transform(cfg: Mapping[str, Any]) -> str:
    return str(cfg["statistics"].get("km_ci_transform", "log-log"))


RELAPSE_WORDS = {"hb": "Hb", "transfusion": "transfusion", "new_therapy": "new AIHA therapy"}


def response_listing(responses: pd.DataFrame, fmt: Fmt) -> Table:
    """Per-patient response listing from responses.tsv; "No." is the short patient
    number of the figures (:func:`aiha.patient_numbers.patient_numbers`), and the rows
    follow it: by analysis group, then pseudonym."""
    from aiha.patient_numbers import patient_numbers

    header = ["Patient", "No.", "Group", "Baseline Hb (g/dL)", "Max Hb (g/dL)",
              "Hb change (g/dL)", "Best response", "Response date", "Relapse date (reason)",
              "Duration (months)", "Ongoing"]
    rows = []
    numbers = patient_numbers(responses)
    frame = responses.assign(_n=responses["patient_id"].astype(str).map(numbers))
    frame = frame.sort_values(["_n", "patient_id"], kind="stable")
    for _, r in frame.iterrows():
        relapse = F.fmt_date(r["relapse_date"])
        if not F.is_missing(r["relapse_reason"]):
            relapse = f"{relapse} ({RELAPSE_WORDS.get(r['relapse_reason'], r['relapse_reason'])})"
        rows.append([
            r["patient_id"], numbers[str(r["patient_id"])],
            GROUP_LABELS.get(r["analysis_group"], r["analysis_group"]),
            F.fmt_number(r["baseline_hb"], fmt.hb), F.fmt_number(r["max_hb"], fmt.hb),
            F.fmt_number(r["hb_change"], fmt.hb), r["best_response"],
            F.fmt_date(r["response_date"]), relapse,
            F.fmt_number(r["duration_months"], fmt.months), F.fmt_bool(r["ongoing"]),
        ])
    return Table("response_listing", "Listing 1. Response per patient", header, rows,
                 numeric=[False, False, False, True, True, True, False, False, False, True, False],
                 css_class="listing", nowrap=(0, 1, 7), source="results/response/responses.tsv")


def ae_grade_table(ard: ARD) -> Table:
    """Adverse events by worst CTCAE grade and group (events; groups with patients)."""
    groups = present_groups(ard)
    t = _Rows(ard, groups)
    for k in range(1, 6):
        if ard.has("ae_grade", "all", f"grade_{k}"):
            t.add(f"Grade {k}", lambda g, k=k: F.fmt_count(ard.get("ae_grade", g, f"grade_{k}")))
    t.add("All events", lambda g: F.fmt_count(ard.get("ae_events", g, "n")))
    t.add("Patients with \u2265 1 event", lambda g: F.fmt_count(ard.get("ae_patients", g, "n")))
    none = ard.opt("ae_events", "all", "n") == 0
    return Table("ae_grade", "Table 5. Adverse events by worst CTCAE v5 grade (events)",
                 _group_header(ard, groups, "Worst CTCAE grade"), t.rows,
                 note=("No adverse event was reported." if none else
                       "Each event counts once, at the worst grade reported for it. CTCAE v5: "
                       "Common Terminology Criteria for Adverse Events, version 5."),
                 stat_ids=["ae_grade", "ae_events", "ae_patients"])


def ae_listing(aes: pd.DataFrame, responses: pd.DataFrame) -> Table:
    """Adverse-event listing; the description is free text (escaped)."""
    group_of = dict(zip(responses["patient_id"], responses["analysis_group"]))
    header = ["Patient", "Group", "AE no.", "Onset date", "Day", "Term", "Worst grade", "Serious",
              "Reports", "Description"]
    frame = aes.sort_values(["onset_date", "patient_id", "ae_number"], kind="stable")
    rows = [[r["patient_id"], GROUP_LABELS.get(group_of.get(r["patient_id"], ""), F.MISSING),
             F.fmt_count(r["ae_number"]), F.fmt_date(r["onset_date"]), F.fmt_count(r["day"]),
             F.fmt_text(r["term"]), F.fmt_count(r["grade"]), F.fmt_bool(r["serious"]),
             F.fmt_count(r["reports"]), F.fmt_text(r["description"])]
            for _, r in frame.iterrows()]
    return Table("ae_listing", "Listing 2. Adverse events", header, rows,
                 numeric=[False, False, True, False, True, False, True, False, True, False],
                 css_class="listing", nowrap=(0, 3), source="results/clinical/adverse_events.tsv")

