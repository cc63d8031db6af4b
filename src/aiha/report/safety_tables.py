"""Safety tables of the report: treatment-emergent adverse events in summary, by
system organ class and term, and infections (ARD ``ae_summary``, ``ae_soc``,
``ae_infection``, written by :mod:`aiha.safety` in the statistics stage)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from aiha import formatting as F
from aiha.report.model import ARD, GROUP_LABELS, Fmt, Table, _join_notes, n_pct, present_groups

TERM_SEP = " | "
INFECTIONS = "Infections and infestations"


def _header(ard: ARD, groups: list[str], first: str) -> list[Any]:
    return [first] + [ard.cell(lambda g=g: f"{GROUP_LABELS[g]} (n\u00a0=\u00a0"
                               f"{F.fmt_count(ard.get('n_treated', g, 'n'))})") for g in groups]


def _pct(ard: ARD, stat: str, g: str, prefix: str, fmt: Fmt) -> str:
    n = ard.get(stat, g, f"{prefix}n")
    if n == 0:
        return "0"
    return n_pct(n, ard.get(stat, g, f"{prefix}proportion"), fmt.percent)


def teae_words(cfg: Mapping[str, Any]) -> str:
    """The treatment-emergent rule in force (config ``safety``), in words."""
    days = (cfg.get("safety") or {}).get("treatment_emergent_days_after_last_dose")
    if days is None:
        return "onset on or after the first daratumumab dose"
    return (f"onset from the first daratumumab dose to {F.fmt_count(days)} days after the "
            "last dose")


def ae_summary_table(ard: ARD, fmt: Fmt, cfg: Mapping[str, Any]) -> Table | None:
    """Table 5a: patients with any treatment-emergent event, grade 3-5, serious, and
    (where recorded) related and fatal events; the note says what the exports do not
    record."""
    if not ard.has("ae_summary", "all", "any: n"):
        return None
    groups = present_groups(ard)
    rows: list[list[Any]] = []
    labels = [("any: ", "Any adverse event"), ("grade 3-5: ", "Grade 3\u20135 event"),
              ("serious: ", "Serious event"), ("related: ", "Related to daratumumab"),
              ("fatal: ", "Fatal outcome")]
    for prefix, label in labels:
        if ard.has("ae_summary", "all", f"{prefix}n"):
            rows.append([f"{label}, n (%)", *[ard.cell(lambda g=g, p=prefix: _pct(
                ard, "ae_summary", g, p, fmt)) for g in groups]])
    missing = [what for prefix, what in (("related: ", "relatedness to daratumumab"),
                                         ("fatal: ", "outcomes"))
               if not ard.has("ae_summary", "all", f"{prefix}n")]
    not_recorded = (f"Not shown: {' and '.join(missing)}, which no site's adverse-event "
                    "export records (its optional columns related and outcome; see the data "
                    "dictionary)." if missing else "")
    return Table("ae_summary", "Table 5a. Patients with treatment-emergent adverse events",
                 _header(ard, groups, "Patients with at least one"), rows,
                 note=_join_notes(
                     f"Treatment-emergent: {teae_words(cfg)} (config safety). Each patient "
                     "counts once per row; percentages are of the patients treated in the "
                     "group. Grade: CTCAE v5.", not_recorded),
                 stat_ids=["ae_summary"])


def _classes(ard: ARD) -> list[str]:
    seen: list[str] = []
    for k in ard.keys("ae_soc", "all"):
        if TERM_SEP in k[2] or not k[2].endswith(": any grade n"):
            continue
        soc = k[2][:-len(": any grade n")]
        if soc not in seen:
            seen.append(soc)
    return seen


def _terms(ard: ARD, soc: str) -> list[str]:
    stem = f"{soc}{TERM_SEP}"
    return [k[2][len(stem):-len(": any grade n")] for k in ard.keys("ae_soc", "all")
            if k[2].startswith(stem) and k[2].endswith(": any grade n")]


def ae_soc_table(ard: ARD, fmt: Fmt, cfg: Mapping[str, Any]) -> Table | None:
    """Table 6a: patients by system organ class (any grade and grade 3-5) and, under
    each class, by term."""
    classes = _classes(ard)
    if not classes:
        return None
    groups = present_groups(ard)
    rows: list[list[Any]] = []
    for soc in classes:
        rows.append([f"{soc}, any grade", *[ard.cell(lambda g=g, s=soc: _pct(
            ard, "ae_soc", g, f"{s}: any grade ", fmt)) for g in groups]])
        rows.append(["\u2003grade 3\u20135", *[ard.cell(lambda g=g, s=soc: _pct(
            ard, "ae_soc", g, f"{s}: grade 3-5 ", fmt)) for g in groups]])
        for term in _terms(ard, soc):
            rows.append([f"\u2003{term}", *[ard.cell(lambda g=g, s=soc, t=term: _pct(
                ard, "ae_soc", g, f"{s}{TERM_SEP}{t}: any grade ", fmt)) for g in groups]])
    return Table("ae_soc", "Table 6a. Patients with treatment-emergent adverse events by "
                 "system organ class and term", _header(ard, groups, "System organ class / term"),
                 rows, note=_join_notes(
                     "System organ class (MedDRA): the class a site's export gives (column "
                     "soc), else the class of the CTCAE v5.0 term in the configured term map "
                     "(Table B6 names its file; each term's source is in the file and in "
                     "ADAE.AESOCSRC); not mapped: a term in neither. Each patient counts once per class and "
                     "once per term; percentages are of the patients treated in the group."),
                 stat_ids=["ae_soc"])


def infection_table(ard: ARD, fmt: Fmt) -> Table | None:
    """Table 6b: infections (class Infections and infestations): patients with any,
    grade 3-5 and serious infections, and by term; what the exports do not hold."""
    if not ard.has("ae_infection", "all", "any: n"):
        return None
    groups = present_groups(ard)
    rows: list[list[Any]] = []
    for prefix, label in (("any: ", "Any infection"), ("grade 3-5: ", "Grade 3\u20135 infection"),
                          ("serious: ", "Serious infection")):
        rows.append([f"{label}, n (%)", *[ard.cell(lambda g=g, p=prefix: _pct(
            ard, "ae_infection", g, p, fmt)) for g in groups]])
    for term in _terms(ard, INFECTIONS):
        rows.append([f"\u2003{term}", *[ard.cell(lambda g=g, t=term: _pct(
            ard, "ae_soc", g, f"{INFECTIONS}{TERM_SEP}{t}: any grade ", fmt)) for g in groups]])
    return Table("ae_infection", "Table 6b. Infections (treatment-emergent)",
                 _header(ard, groups, "Patients with"), rows,
                 note=_join_notes(
                     "Infections: events of the system organ class Infections and "
                     "infestations (Table 6a). Percentages are of the patients treated in the "
                     "group. Not shown, because no export holds them: anti-infective "
                     "prophylaxis (the treatment export has no such category) and IgG, "
                     "neutrophil and platelet counts with their shift tables (the laboratory "
                     "export's analytes are Hb, LDH and bilirubin)."),
                 stat_ids=["ae_infection", "ae_soc"])
