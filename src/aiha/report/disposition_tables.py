"""Disposition, follow-up and response by subgroup: the report's views of the ARD
rows ``disposition``, ``followup_median`` and ``resp_by_<variable>`` (written by the
statistics stage, :mod:`aiha.subgroups` and :mod:`aiha.durability`)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from aiha import formatting as F
from aiha.report.model import ARD, GROUP_LABELS, Cell, Fmt, Table, _join_notes, present_groups

EXCLUDED = "excluded: "


@dataclass(frozen=True)
class Disposition:
    """The disposition diagram: treated patients, the reasons for leaving the
    efficacy set and the efficacy set, each box a linked Cell."""

    treated: Cell
    treated_groups: list[Cell]
    excluded: Cell
    reasons: list[Cell]
    efficacy: Cell
    efficacy_groups: list[Cell]
    caption: str


def disposition(ard: ARD) -> Disposition | None:
    """The diagram from the ARD's ``disposition``, ``n_treated`` and ``n_efficacy``
    rows (None without a ``disposition`` statistic)."""
    if not ard.has("disposition", "all", "treated"):
        return None
    groups = [g for g in present_groups(ard) if g != "all"]
    reasons = sorted(k[2] for k in ard.keys("disposition", "all") if k[2].startswith(EXCLUDED))
    return Disposition(
        treated=ard.cell(lambda: "Treated with daratumumab: n\u00a0=\u00a0"
                         + F.fmt_count(ard.get("disposition", "all", "treated"))),
        treated_groups=[ard.cell(lambda g=g: f"{GROUP_LABELS[g]}: "
                                 f"{F.fmt_count(ard.get('n_treated', g, 'n'))}") for g in groups],
        excluded=ard.cell(lambda: "Outside the efficacy set: n\u00a0=\u00a0"
                          + F.fmt_count(ard.get("disposition", "all", "excluded"))),
        reasons=[ard.cell(lambda r=r: f"{r[len(EXCLUDED):]}: "
                          f"{F.fmt_count(ard.get('disposition', 'all', r))}") for r in reasons],
        efficacy=ard.cell(lambda: "Efficacy set: n\u00a0=\u00a0"
                          + F.fmt_count(ard.get("disposition", "all", "efficacy"))),
        efficacy_groups=[ard.cell(lambda g=g: f"{GROUP_LABELS[g]}: "
                                  f"{F.fmt_count(ard.get('n_efficacy', g, 'n'))}")
                         for g in groups if ard.has("n_efficacy", g, "n")],
        caption=("Disposition: every treated patient (the safety set), the reasons for "
                 "leaving the efficacy set (ADSL.EFFRSN) and the efficacy set. The exports "
                 "carry no death or treatment-discontinuation field, so none is shown."),
    )


def followup_table(ard: ARD, fmt: Fmt, cfg: Mapping[str, Any]) -> Table | None:
    """Table 1a: median follow-up by the reverse Kaplan-Meier method per group."""
    groups = [g for g in present_groups(ard) if ard.has("followup_median", g, "value")]
    if not groups:
        return None
    level = float(cfg["statistics"]["ci_level"])

    def median(g: str) -> str:
        med = ard.get("followup_median", g, "value")
        ci = F.fmt_ci(ard.get("followup_median", g, "ci_lower"),
                      ard.get("followup_median", g, "ci_upper"), fmt.months, level,
                      percent=False)
        return f"{F.fmt_number(med, fmt.months)} ({ci})"

    def span(g: str) -> str:
        lo, hi = ard.get("followup_median", g, "min"), ard.get("followup_median", g, "max")
        if lo == hi:
            return F.fmt_number(lo, fmt.months)
        return F.fmt_range(lo, hi, fmt.months)

    header = ["Follow-up"] + [ard.cell(lambda g=g: f"{GROUP_LABELS[g]} (n\u00a0=\u00a0"
                                       f"{F.fmt_count(ard.get('followup_median', g, 'n'))})")
                              for g in groups]
    rows = [["Median follow-up, months (reverse Kaplan-Meier)",
             *[ard.cell(lambda g=g: median(g)) for g in groups]],
            ["Follow-up, months, range", *[ard.cell(lambda g=g: span(g)) for g in groups]]]
    return Table("followup", "Table 1a. Follow-up from the first dose by analysis group",
                 header, rows,
                 note=_join_notes(
                     "Follow-up: from the first daratumumab dose to the last follow-up (the "
                     "last laboratory date), in months of "
                     f"{F.fmt_number(float(cfg['response']['days_per_month']), 4)} days. "
                     "Reverse Kaplan-Meier (Schemper, Control Clin Trials 1996): the end of follow-up "
                     "of a patient still followed is the event and a death would censor; "
                     "with no deaths recorded it is the median of the follow-up times, "
                     "with the Kaplan-Meier confidence interval. 'not reached': the upper "
                     "limit is not estimable."),
                 stat_ids=["followup_median"])


LEVEL_WORDS = {"Y": "yes", "N": "no", "F": "female", "M": "male", "missing": "not recorded"}
VARIABLE_WORDS = {"EVANSFL": "Evans syndrome", "SEX": "Sex", "ACROFL": "Acrocyanosis"}


def subgroup_table(ard: ARD, fmt: Fmt, cfg: Mapping[str, Any]) -> Table | None:
    """Table 4a: response of each efficacy group by the levels of each configured
    baseline factor (ARD ``resp_by_<variable>``)."""
    variables = [str(v) for v in cfg["statistics"].get("response_subgroups", [])]
    groups = [g for g in ("wAIHA", "cAIHA")
              if any(ard.keys(f"resp_by_{v.lower()}", g) for v in variables)]
    if not groups:
        return None
    level = float(cfg["statistics"]["ci_level"])
    rows: list[list[Any]] = []
    for var in variables:
        sid = f"resp_by_{var.lower()}"
        levels: list[str] = []
        for g in groups:
            for k in ard.keys(sid, g):
                lv = k[2].split(": ", 1)[0]
                if lv not in levels:
                    levels.append(lv)
        rows.append([VARIABLE_WORDS.get(var, var)] + [""] * len(groups))
        for lv in levels:
            def value(g: str, lv: str = lv, sid: str = sid) -> str:
                if not ard.has(sid, g, f"{lv}: numerator"):
                    return F.MISSING
                k, n = ard.get(sid, g, f"{lv}: numerator"), ard.get(sid, g, f"{lv}: denominator")
                ard.get(sid, g, f"{lv}: proportion")
                ci = F.fmt_ci(ard.get(sid, g, f"{lv}: ci_lower"),
                              ard.get(sid, g, f"{lv}: ci_upper"), fmt.percent, level)
                return f"{F.fmt_n_of_N(k, n, fmt.percent)}; {ci}"
            rows.append([f"\u2003{LEVEL_WORDS.get(lv, lv)} ({var} = {lv})",
                         *[ard.cell(lambda g=g, f=value: f(g)) for g in groups]])
    header = ["Baseline factor"] + [
        ard.cell(lambda g=g: f"{GROUP_LABELS[g]} (n\u00a0=\u00a0"
                 f"{F.fmt_count(ard.get('n_efficacy', g, 'n'))})") for g in groups]
    return Table("subgroups", "Table 4a. Response by baseline subgroup", header, rows,
                 note=_join_notes(
                     "Responders: wAIHA overall response (CR + PR), anemic cAIHA Hb response. "
                     "n/N (%): responders / patients of the efficacy group with the factor "
                     "at that level, with the exact Clopper-Pearson confidence interval. The "
                     "factors are the ADSL variables the configuration lists (Table B6); "
                     "subgroups this small describe, they test nothing."),
                 stat_ids=[f"resp_by_{v.lower()}" for v in variables])
