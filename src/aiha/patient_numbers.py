"""Short patient numbers ("P01", "P02", ...) for figures and listings.

A 16-character pseudonym is hard to find again between a figure and a listing; the
report labels patients by a short number instead and Listing 1 prints both. The
numbers are a pure function of the response table, so every figure and listing of
one run gives a patient the same number.
"""

from __future__ import annotations

import pandas as pd

# The analysis groups in report order; other groups follow alphabetically.
GROUP_ORDER: tuple[str, ...] = ("wAIHA", "cAIHA", "cAIHA_nonanemic")


def patient_numbers(responses: pd.DataFrame) -> dict[str, str]:
    """Pseudonym -> short patient number, from ``responses`` (columns ``patient_id``
    and ``analysis_group``, one row per patient as in responses.tsv).

    Order: by analysis group (:data:`GROUP_ORDER`, then any other group
    alphabetically), then by pseudonym; numbered from 1 as ``P`` and the number
    zero-padded to two digits (three or more when the cohort has 100 or more
    patients: ``P001``). A pseudonym listed twice gets one number, at its first
    place in that order. Deterministic: it depends only on the pseudonyms and their
    groups, not on the row order of ``responses``.
    """
    frame = pd.DataFrame({"patient_id": responses["patient_id"].astype(str),
                          "group": responses["analysis_group"].astype(str)})
    known = {g: i for i, g in enumerate(GROUP_ORDER)}
    frame["_known"] = frame["group"].map(lambda g: known.get(g, len(GROUP_ORDER)))
    frame["_other"] = frame["group"].where(~frame["group"].isin(GROUP_ORDER), "")
    frame = frame.sort_values(["_known", "_other", "patient_id"], kind="stable")
    ordered = list(dict.fromkeys(frame["patient_id"]))
    width = max(2, len(str(len(ordered))))
    return {pid: f"P{i:0{width}d}" for i, pid in enumerate(ordered, start=1)}
