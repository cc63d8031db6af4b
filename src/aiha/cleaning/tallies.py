"""The cleaning log counted by kind of action (rule cleaning_summary): the routine
actions (config ``report.cleaning_log_routine``, reasons that begin with one of its
prefixes) are counted, not listed one by one; every other row is listed
individually (Listing A1 of the listings document)."""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd

LISTED = "listed individually (Listing A1 of the listings document)"
SUMMARY_COLUMNS = ["action", "rows"]


def routine_kind(reason: str, routine: Sequence[str]) -> str | None:
    """The first routine prefix that ``reason`` begins with, or ``None`` (a row that is
    listed individually)."""
    for prefix in routine:
        if str(reason).startswith(prefix):
            return prefix
    return None


def cleaning_tallies(log: pd.DataFrame, routine: Sequence[str]) -> pd.DataFrame:
    """One row per routine kind, in config order, with the number of cleaning-log rows
    of that kind (0 when none), then the row of the rows listed individually."""
    kinds = [routine_kind(r, routine) for r in log["reason"]]
    rows = [(kind, sum(1 for k in kinds if k == kind)) for kind in dict.fromkeys(routine)]
    rows.append((LISTED, sum(1 for k in kinds if k is None)))
    return pd.DataFrame(rows, columns=SUMMARY_COLUMNS)
