"""Safety summaries of the treatment-emergent adverse events (ADAE ``TRTEMFL = Y``):
patients with any event, a grade 3-5 event, a serious event, an event related to
daratumumab (where the export records relatedness) and a fatal outcome (where it
records outcomes); patients by system organ class (``AEBODSYS``); infections
(``AINFFL``). Each count is of patients, out of the patients treated in the group.

Statistic names (ARD, :func:`safety_statistics`):

- ``ae_summary``: ``any: n``, ``grade 3-5: n``, ``serious: n``, ``related: n``,
  ``fatal: n`` (each with its ``proportion``); ``related`` and ``fatal`` only when some
  event records relatedness / outcome (``related recorded: n`` and ``outcome
  recorded: n`` count those events);
- ``ae_soc``: ``<class>: any grade n`` and ``<class>: grade 3-5 n`` (and proportions)
  for each class seen in any group (``not mapped`` for events without a class), and
  ``<class> | <term>: any grade n`` for each term of the class;
- ``ae_infection``: ``any: n``, ``grade 3-5: n``, ``serious: n`` (and proportions).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import pandas as pd

from aiha.adam.common import number, selection
from aiha.ard import Stat, with_source

NOT_MAPPED = "not mapped"
SEVERE = 3  # grade 3-5: severe or worse (CTCAE)


def treatment_emergent(adae: pd.DataFrame) -> pd.DataFrame:
    """The treatment-emergent events (``TRTEMFL = Y``), with ``ATOXGRN`` as numbers,
    ``AEBODSYS`` empty read as :data:`NOT_MAPPED`, and the seriousness, infection,
    relatedness and fatal outcome as booleans."""
    ae = adae[adae["TRTEMFL"] == "Y"].copy() if "TRTEMFL" in adae.columns else adae.copy()
    ae["ATOXGRN"] = number(ae["ATOXGRN"])
    ae["soc"] = ae.get("AEBODSYS", pd.Series("", index=ae.index)).fillna("").map(
        lambda s: str(s).strip() or NOT_MAPPED)
    for flag, var, yes in (("serious", "AESER", "Y"), ("infection", "AINFFL", "Y"),
                           ("related", "AEREL", "Y"), ("fatal", "AEOUT", "fatal")):
        ae[flag] = ae.get(var, pd.Series("", index=ae.index)).fillna("") == yes
    ae["related_recorded"] = ae.get("AEREL", pd.Series("", index=ae.index)).fillna("") != ""
    ae["outcome_recorded"] = ae.get("AEOUT", pd.Series("", index=ae.index)).fillna("") != ""
    return ae


def patients_with(events: pd.DataFrame, where: Callable[[pd.DataFrame], pd.Series]) -> int:
    """Patients (distinct USUBJID) with at least one event where ``where`` holds."""
    if events.empty:
        return 0
    return int(events[where(events)]["USUBJID"].nunique())


def _n_prop(stat_id: str, group: str, k: int, n: int, prefix: str) -> list[Stat]:
    return [Stat(stat_id, group, f"{prefix}n", k, "patients"),
            Stat(stat_id, group, f"{prefix}proportion", k / n if n else math.nan, "proportion")]


def safety_statistics(adsl: pd.DataFrame, adae: pd.DataFrame, groups: Sequence[str]
                      ) -> list[Stat]:
    """The ARD rows of the module docstring, per group (``all`` = every treated
    patient), from ADSL (the denominators) and ADAE."""
    ae = treatment_emergent(adae)
    ae = ae[ae["USUBJID"].isin(set(adsl["USUBJID"]))]
    socs = sorted(set(ae["soc"]) - {NOT_MAPPED}) + ([NOT_MAPPED] if (ae["soc"] == NOT_MAPPED).any()
                                                     else [])
    terms = {soc: sorted(set(ae.loc[ae["soc"] == soc, "AETERM"])) for soc in socs}
    has_related = bool(ae["related_recorded"].any())
    has_outcome = bool(ae["outcome_recorded"].any())
    severe = lambda e: e["ATOXGRN"] >= SEVERE  # noqa: E731
    out: list[Stat] = []
    for g in groups:
        m = adsl if g == "all" else adsl[adsl["ANLGRP"] == g]
        n = len(m)
        a = ae[ae["USUBJID"].isin(set(m["USUBJID"]))]
        sel = selection(g, "ADAE.TRTEMFL = 'Y'")
        rows = _n_prop("ae_summary", g, patients_with(a, lambda e: e["ATOXGRN"] > 0), n, "any: ")
        rows += _n_prop("ae_summary", g, patients_with(a, severe), n, "grade 3-5: ")
        rows += _n_prop("ae_summary", g, patients_with(a, lambda e: e["serious"]), n, "serious: ")
        if has_related:
            rows += _n_prop("ae_summary", g, patients_with(a, lambda e: e["related"]), n,
                            "related: ")
            rows.append(Stat("ae_summary", g, "related recorded: n",
                             int(a["related_recorded"].sum()), "events"))
        if has_outcome:
            rows += _n_prop("ae_summary", g, patients_with(a, lambda e: e["fatal"]), n, "fatal: ")
            rows.append(Stat("ae_summary", g, "outcome recorded: n",
                             int(a["outcome_recorded"].sum()), "events"))
        out += with_source(rows, "ADSL, ADAE", "ADAE.ATOXGRN, ADAE.AESER, ADAE.AEREL, ADAE.AEOUT",
                           sel)
        rows = []
        for soc in socs:
            in_soc = a[a["soc"] == soc]
            rows += _n_prop("ae_soc", g, patients_with(in_soc, lambda e: e["ATOXGRN"] > 0), n,
                            f"{soc}: any grade ")
            rows += _n_prop("ae_soc", g, patients_with(in_soc, severe), n, f"{soc}: grade 3-5 ")
            for term in terms[soc]:
                rows += _n_prop("ae_soc", g, patients_with(
                    in_soc, lambda e, t=term: e["AETERM"] == t), n, f"{soc} | {term}: any grade ")
        out += with_source(rows, "ADSL, ADAE", "ADAE.AEBODSYS, ADAE.ATOXGRN", sel)
        inf = a[a["infection"]]
        rows = _n_prop("ae_infection", g, patients_with(inf, lambda e: e["ATOXGRN"] > 0), n,
                       "any: ")
        rows += _n_prop("ae_infection", g, patients_with(inf, severe), n, "grade 3-5: ")
        rows += _n_prop("ae_infection", g, patients_with(inf, lambda e: e["serious"]), n,
                        "serious: ")
        out += with_source(rows, "ADSL, ADAE", "ADAE.AINFFL, ADAE.ATOXGRN, ADAE.AESER",
                           sel + " and ADAE.AINFFL = 'Y'")
    return out
