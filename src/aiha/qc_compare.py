"""Comparison of the ARD with the R double programming, row by row (as diffdf does).

The ARD (results/ard/ard.tsv) and the R results
(results/qc/r_statistics.tsv, written by workflow/scripts/qc_r_double_programming.R)
are matched by their keys (stat_id, group, statistic). Every row gets one status:

- ``agree``: both values within the tolerance (``|a - b| <= tol * max(1, |a|, |b|)``),
  both undefined (empty, an empty group), or the same infinity;
- ``disagree``: the values differ by more, or one side is undefined;
- ``only in ARD`` / ``only in R``: the key is on one side only (unmatched).

Coverage = rows compared on both sides / ARD rows. A disagreement or an unmatched
row is an error (:class:`RQCMismatch`) naming the statistic, the group and both values.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import pandas as pd

KEYS = ["stat_id", "group", "statistic"]
COMPARISON_COLUMNS = [*KEYS, "ard", "r", "abs_diff", "status"]
SUMMARY_COLUMNS = ["measure", "value"]
AGREE = "agree"
DISAGREE = "disagree"
ONLY_ARD = "only in ARD"
ONLY_R = "only in R"


class RQCMismatch(AssertionError):
    """The ARD and the R double programming disagree (or a row is unmatched)."""


def _number(text: Any) -> float:
    s = str(text).strip()
    if s == "" or s.lower() in ("nan", "na"):
        return math.nan
    return float(s)


def _agree(a: float, b: float, tol: float) -> bool:
    if math.isnan(a) and math.isnan(b):
        return True
    if math.isnan(a) or math.isnan(b):
        return False
    if math.isinf(a) or math.isinf(b):
        return a == b
    return abs(a - b) <= tol * max(1.0, abs(a), abs(b))


def read_keyed(path: str | Path) -> pd.DataFrame:
    """A table with the key columns and ``value``, all read as text (no NA guessing)."""
    frame = pd.read_csv(path, sep="\t", dtype=str, keep_default_na=False)
    missing = [c for c in (*KEYS, "value") if c not in frame.columns]
    if missing:
        raise ValueError(f"{path}: no column(s) {missing}")
    return frame[[*KEYS, "value"]]


def compare(ard: pd.DataFrame, r: pd.DataFrame, tol: float) -> pd.DataFrame:
    """One row per key of either table (columns :data:`COMPARISON_COLUMNS`), ARD order
    first, then the keys only R has. Duplicate keys on either side are an error."""
    for name, frame in (("ARD", ard), ("R results", r)):
        dups = frame[frame.duplicated(KEYS, keep=False)]
        if len(dups):
            first = dups.iloc[0]
            times = int((dups[KEYS] == first[KEYS]).all(axis=1).sum())
            raise RQCMismatch(f"{name}: key {first['stat_id']} / {first['group']} / "
                              f"{first['statistic']} occurs {times} times")
    merged = ard[[*KEYS, "value"]].merge(r[[*KEYS, "value"]], on=KEYS, how="outer",
                                         suffixes=("_ard", "_r"), indicator="side", sort=False)
    order = {tuple(k): i for i, k in enumerate(ard[KEYS].itertuples(index=False))}
    merged["order_"] = [order.get(tuple(k), len(order))
                        for k in merged[KEYS].itertuples(index=False)]
    merged = merged.sort_values(["order_", *KEYS], kind="stable").reset_index(drop=True)
    rows = []
    for rec in merged.itertuples(index=False):
        side = rec.side
        a = _number(rec.value_ard) if side != "right_only" else math.nan
        b = _number(rec.value_r) if side != "left_only" else math.nan
        if side == "left_only":
            status = ONLY_ARD
        elif side == "right_only":
            status = ONLY_R
        else:
            status = AGREE if _agree(a, b, tol) else DISAGREE
        diff = abs(a - b) if not (math.isnan(a) or math.isnan(b) or math.isinf(a)
                                  or math.isinf(b)) else math.nan
        rows.append({"stat_id": rec.stat_id, "group": rec.group, "statistic": rec.statistic,
                     "ard": "" if side == "right_only" else rec.value_ard,
                     "r": "" if side == "left_only" else rec.value_r,
                     "abs_diff": diff, "status": status})
    return pd.DataFrame(rows, columns=COMPARISON_COLUMNS)


def summary(table: pd.DataFrame, ard_rows: int) -> dict[str, float]:
    """Counts of the comparison: ARD rows, rows compared, coverage (compared / ARD
    rows), agreements, disagreements and unmatched rows of each side."""
    status = table["status"]
    compared = int(status.isin([AGREE, DISAGREE]).sum())
    return {"ard_rows": ard_rows, "compared": compared,
            "coverage": compared / ard_rows if ard_rows else math.nan,
            "agree": int((status == AGREE).sum()),
            "disagree": int((status == DISAGREE).sum()),
            "only_in_ard": int((status == ONLY_ARD).sum()),
            "only_in_r": int((status == ONLY_R).sum())}


def summary_frame(counts: dict[str, float]) -> pd.DataFrame:
    return pd.DataFrame({"measure": list(counts), "value": list(counts.values())},
                        columns=SUMMARY_COLUMNS)


def failures(table: pd.DataFrame) -> pd.DataFrame:
    """The rows that fail the QC: disagreements and unmatched rows."""
    return table[table["status"] != AGREE]


def failure_message(table: pd.DataFrame, limit: int = 10) -> str:
    """One message naming each failing row (statistic, group, both values)."""
    bad = failures(table)
    if bad.empty:
        return ""

    def shown(v: Any) -> str:
        return "undefined" if str(v) == "" else str(v)

    items = [f"{r.stat_id} / {r.group} / {r.statistic}: ARD {shown(r.ard)}, R {shown(r.r)}"
             f" ({r.status})" for r in bad.head(limit).itertuples(index=False)]
    more = f"; and {len(bad) - limit} more" if len(bad) > limit else ""
    return (f"R double programming: {len(bad)} of {len(table)} rows fail "
            f"(results/qc/r_double_programming.tsv): " + "; ".join(items) + more)


def check(table: pd.DataFrame) -> None:
    """Raise :class:`RQCMismatch` naming the failing rows, if any."""
    message = failure_message(table)
    if message:
        raise RQCMismatch(message)


def compare_files(ard_path: str | Path, r_path: str | Path, tol: float
                  ) -> tuple[pd.DataFrame, dict[str, float]]:
    """:func:`compare` of the two files and its :func:`summary` (no check)."""
    ard = read_keyed(ard_path)
    table = compare(ard, read_keyed(r_path), tol)
    return table, summary(table, len(ard))
