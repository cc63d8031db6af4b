"""Captions of the event-level cytometry figures (Figures 5 and 8).

They print what the figure job recorded (results/cytometry/figures/event_figures.json):
the sample shown, the gate thresholds in data units, the display scale and the
abbreviations the figure uses. Without that file (a report rendered from older
results) the captions say only what the figures are.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from aiha import formatting as F
from aiha.cytometry import labels as L
from aiha.cytometry.labels import lower_first

DECADES = "0, 10\u00b2, 10\u00b3, 10\u2074, 10\u2075"


def _day(day: Any) -> str:
    return F.fmt_number(int(day), 0)


def _abbreviations(pairs: Sequence[Sequence[str]], extra: Sequence[tuple[str, str]] = ()) -> str:
    seen: dict[str, str] = {}
    for abbr, meaning in [*extra, *pairs]:
        seen.setdefault(abbr, meaning)
    if not seen:
        return ""
    return " Abbreviations: " + "; ".join(f"{a}: {m}" for a, m in seen.items()) + "."


def _scales(scales: Sequence[str]) -> str:
    names = [s for s in scales if s != "linear"]
    return " and ".join(names) if names else "transformed"


def gating_caption(facts: Mapping[str, Any] | None) -> str:
    """Figure 5."""
    source = (facts or {}).get("gating_source", "")
    g = (facts or {}).get("gating")
    head = "Figure 5. Gating strategy" + (f" ({source})" if source else "") + "."
    if not g:
        return head
    rules = "; ".join(f"{r['population']}: {r['rule']}" for r in g["thresholds"])
    return (
        f"Figure 5. Gating strategy of the phenotype tube ({source}), shown for one sample: "
        f"patient {g['patient_id']}, {lower_first(g['visit'])} visit (day {_day(g['day'])}), {F.fmt_count(g['events'])} events acquired. "
        "Each panel plots the events of the parent population (named after \u201cof\u201d in "
        "the panel title; colour: number of events, logarithmic scale) with the gate drawn in "
        "black; the percentage on a gate is the share of the parent's events inside it (for a "
        "quadrant gate, inside each quadrant). Fluorescence axes: compensated fluorescence on the "
        f"{_scales(g['scales'])} scale, ticks at {DECADES}; scatter and time axes linear "
        f"(k: thousand). Gate thresholds (fluorescence and scatter in the file's units): {rules}."
        + _abbreviations(g["abbreviations"])
    )


def function_caption(facts: Mapping[str, Any] | None, labels: Mapping[str, str] | None = None) -> str:
    """Figure 8. ``labels``: the display names of the roles
    (:func:`aiha.cytometry.labels.display_labels`): the stimulus and the division
    dye are the lab's words, never the demo panel's for another panel."""
    words = {**L.GENERIC_DISPLAY, **dict(labels or {})}
    stimulus, dye = words["stimulus"], words["division_dye"]
    after = f"after {stimulus} stimulation" if "stimulation" not in stimulus else f"after {stimulus}"
    f = (facts or {}).get("function") or {}
    if not f.get("samples"):
        return f"Figure 8. Activation and proliferation {after}."
    act, div = f["activation"], f["divided"]
    visits = " and ".join(lower_first(v) for v in f["visits"])
    patients = F.fmt_counted(f["patients"], "patient")
    excluded = [s for s in f["samples"] if s.get("excluded_qc")]
    used = ("The percentages in the legends are the gates' events as a percentage of "
            f"{f['t_cells_short']}: the values the cytometry statistics use (Appendix E).")
    if excluded:
        used = (f"{F.fmt_counted(len(excluded), 'sample')} of the {F.fmt_count(len(f['samples']))} drawn "
                f"{'was' if len(excluded) == 1 else 'were'} excluded by QC and "
                f"{'is' if len(excluded) == 1 else 'are'} "
                + ("drawn as grey dashed lines, with the reason in the legend"
                   if act.get("drawn", True) or div.get("drawn", True) else "listed with the reason")
                + " and no percentage: the statistics do not use "
                f"{'it' if len(excluded) == 1 else 'them'}. For the other samples the "
                "percentages in the legends are the gates' events as a percentage of "
                f"{f['t_cells_short']}: the values the cytometry statistics use (Appendix E).")
    return (
        f"Figure 8. Activation ({act['name']}) and proliferation ({div['name']} dilution) {after}. "
        f"One row per patient ({patients}, the first of the sample "
        f"sheet); {f['t_cells']} at the {visits} visits (colours), as a percentage of "
        f"{f['t_cells_short']} per histogram bin. Left: "
        + (f"{act['marker']}, with the activation gate shaded ({act['label']}: {act['rule']}). "
           if act.get("drawn", True) else
           f"the activation gate ({act['label']}) is {act['rule']}: its percentages only. ")
        + ("Right: " + (f"{div['marker']} ({dye}, a division dye that halves with every division), "
                        f"with the divided gate shaded ({div['label']}: {div['rule']}). "
                        if div.get("drawn", True) else
                        f"the divided gate ({div['label']}) is {div['rule']}: its percentages only. "))
        + f"{used} "
        f"Compensated fluorescence on the {_scales(f['scales'])} scale, ticks at {DECADES}."
        + _abbreviations(f["abbreviations"])
    )


def cytometry_captions(facts: Mapping[str, Any] | None,
                       labels: Mapping[str, str] | None = None) -> dict[str, str]:
    """Captions by figure key (``gating_strategy``, ``proliferation``)."""
    return {"gating_strategy": gating_caption(facts), "proliferation": function_caption(facts, labels)}
