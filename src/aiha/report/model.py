"""What the report's tables are made of: ARD lookups that remember which rows a
printed cell came from (for its link to the ARD appendix), the Table, the decimals in
force, the analysis groups."""

from __future__ import annotations

import dataclasses
import hashlib
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from aiha import formatting as F

GROUPS = ["wAIHA", "cAIHA", "cAIHA_nonanemic", "all"]
GROUP_LABELS = {
    "wAIHA": "wAIHA",
    "cAIHA": "cAIHA (anemic)",
    "cAIHA_nonanemic": "cAIHA (non-anemic)",
    "all": "All treated",
}

Key = tuple[str, str, str]


def anchor(key: Key) -> str:
    """The HTML id of an ARD row in the ARD appendix (stable, safe in an id)."""
    return "ard-" + hashlib.sha256("\x1f".join(key).encode("utf-8")).hexdigest()[:16]


@dataclass(frozen=True)
class Cell:
    """A printed value with the ARD row it links to (``link``: an anchor), whether
    it is an identifier set in code type (``code``) and whether it is set in bold
    (``emphasis``: e.g. a value that differs from the primary analysis)."""

    text: str
    link: str = ""
    code: bool = False
    parts: tuple[tuple[str, bool], ...] = ()  # (text, in code type), when mixed
    emphasis: bool = False

    def __str__(self) -> str:
        return "".join(t for t, _ in self.parts) if self.parts else self.text


class ARD:
    """Lookups into the ARD with a clear error naming what is missing.

    Every row read is remembered (:attr:`used`, in order of first use): the report's
    ARD appendix lists exactly the rows printed. :meth:`cell` turns a formatting
    function into a :class:`Cell` linked to the first row that function read."""

    def __init__(self, frame: pd.DataFrame) -> None:
        self.frame = frame
        self._index: dict[Key, list[float]] = {}
        for sid, grp, stat, val in zip(frame["stat_id"], frame["group"], frame["statistic"],
                                       frame["value"]):
            self._index.setdefault((sid, grp, stat), []).append(float(val))
        self.used: dict[Key, None] = {}
        self._reading: list[Key] | None = None

    def cell(self, fn: Callable[[], str]) -> Cell:
        """``fn()`` as a Cell linked to the first ARD row it read (no link if none)."""
        outer = self._reading
        self._reading = []
        try:
            text = fn()
            read = self._reading
        finally:
            self._reading = outer
        if outer is not None:
            outer.extend(read)
        return Cell(str(text), anchor(read[0]) if read and text != F.MISSING else "")

    def link(self, stat_id: str, group: str, statistic: str) -> str:
        """The anchor of a row, marking it as printed."""
        self.get(stat_id, group, statistic)
        return anchor((stat_id, group, statistic))

    def has(self, stat_id: str, group: str, statistic: str | None = None) -> bool:
        if statistic is None:
            return any(k[0] == stat_id and k[1] == group for k in self._index)
        return (stat_id, group, statistic) in self._index

    def get(self, stat_id: str, group: str, statistic: str) -> float:
        hits = self._index.get((stat_id, group, statistic), [])
        if len(hits) != 1:
            raise KeyError(f"ARD has {len(hits)} rows for {stat_id}/{group}/{statistic}")
        key = (stat_id, group, statistic)
        self.used.setdefault(key, None)
        if self._reading is not None:
            self._reading.append(key)
        return hits[0]

    def peek(self, key: Key) -> float:
        """A row's value without marking it as printed (to choose what to print)."""
        hits = self._index.get(key, [])
        if len(hits) != 1:
            raise KeyError(f"ARD has {len(hits)} rows for {'/'.join(key)}")
        return hits[0]

    def keys(self, stat_id: str, group: str) -> list[Key]:
        """The (stat_id, group, statistic) keys of a statistic and group, in ARD order."""
        return [k for k in self._index if k[0] == stat_id and k[1] == group]

    def opt(self, stat_id: str, group: str, statistic: str) -> float:
        """Like :meth:`get`, NaN when absent (a group a statistic does not apply to)."""
        return self.get(stat_id, group, statistic) if self.has(stat_id, group, statistic) \
            else float("nan")

    def series_keys(self, stat_id: str, group: str, prefix: str) -> list[Key]:
        """The keys of ``prefix_1``, ``prefix_2`` ... in numeric order (nothing marked
        as printed)."""
        keys = [k for k in self._index if k[0] == stat_id and k[1] == group
                and re.fullmatch(rf"{re.escape(prefix)}_\d+", k[2])]
        keys.sort(key=lambda k: int(k[2].rsplit("_", 1)[1]))
        return keys

    def series(self, stat_id: str, group: str, prefix: str) -> list[float]:
        """``value_1``, ``value_2`` ... in numeric order of the suffix."""
        return [self.get(*k) for k in self.series_keys(stat_id, group, prefix)]


# --------------------------------------------------------------------------- tables
@dataclass
class Table:
    """A table as printed: header and rows of already formatted strings or Cells.

    ``source`` names where its numbers come from: ARD statistics (``stat_ids``, set in
    code type) and/or a results table (``source``, a path)."""

    key: str
    caption: str
    header: list[Any]
    rows: list[list[Any]]
    note: str = ""
    numeric: list[bool] = field(default_factory=list)
    css_class: str = ""
    nowrap: tuple[int, ...] = ()
    stat_ids: list[str] = field(default_factory=list)
    source: str = ""
    row_ids: list[str] = field(default_factory=list)
    linked: bool = True  # its numbers link to Appendix D (not in the listings document)

    def __post_init__(self) -> None:
        for row in self.rows:
            if len(row) != len(self.header):
                raise ValueError(f"table {self.key}: row {row} does not fit {self.header}")
        if not self.numeric:
            self.numeric = [False] + [True] * (len(self.header) - 1)

    def row_id(self, index: int) -> str:
        return self.row_ids[index] if index < len(self.row_ids) else ""

    def cells(self, row: Sequence[Any]) -> list[Cell]:
        return [c if isinstance(c, Cell) else Cell(str(c)) for c in row]

    def cell_class(self, column: int) -> str:
        """CSS class of a column: ``num`` (right-aligned), ``nowrap`` or none."""
        classes = (["num"] if self.numeric[column] else []) + \
            (["nowrap"] if column in self.nowrap else [])
        return " ".join(classes)


def compact(value: float, max_decimals: int = 1) -> str:
    """Whole numbers without decimals, others with ``max_decimals`` (ages, months)."""
    if F.is_missing(value):
        return F.MISSING
    return F.fmt_number(value, 0 if float(value) == round(float(value)) else max_decimals)


def n_pct(n: float, proportion: float, decimals: int) -> str:
    """``4 (66.7%)``."""
    if F.is_missing(n):
        return F.MISSING
    return f"{F.fmt_count(n)} ({F.fmt_percent(proportion, decimals)})"


@dataclass(frozen=True)
class Fmt:
    """Decimals in force (config ``report.decimals``)."""

    percent: int = 1
    hb: int = 1
    ldh: int = 1
    months: int = 1
    other: int = 2

    @classmethod
    def from_config(cls, cfg: Mapping[str, Any]) -> Fmt:
        return cls(**dict(cfg.get("report", {}).get("decimals", {})))


def unlinked(table: Table) -> Table:
    """``table`` without links to the ARD appendix (for the listings document, which has
    no such appendix); the values are unchanged."""
    rows = [[dataclasses.replace(c, link="") if isinstance(c, Cell) else c
             for c in row] for row in table.rows]
    return dataclasses.replace(table, rows=rows, linked=False)


def max_patient_rows(cfg: Mapping[str, Any]) -> int:
    """Per-patient rows the main report prints before it summarises over patients and
    leaves the rows to the listings (config ``report.max_patient_rows``)."""
    return int(cfg["report"]["max_patient_rows"])


def _compact_pair(lo: float, hi: float) -> tuple[float, float, int]:
    whole = all(F.is_missing(v) or float(v) == round(float(v)) for v in (lo, hi))
    return lo, hi, 0 if whole else 1


def present_groups(ard: ARD) -> list[str]:
    """The analysis groups with at least one treated patient (``all`` last)."""
    return [g for g in GROUPS if ard.has("n_treated", g, "n") and ard.get("n_treated", g, "n") > 0]


def empty_groups_note(ard: ARD, groups: Sequence[str]) -> str:
    """"cAIHA (anemic): no patients." for each of ``groups`` without a treated patient."""
    empty = [GROUP_LABELS[g] for g in groups if g not in present_groups(ard)]
    return " ".join(f"{label}: no patients." for label in empty)


def _join_notes(*parts: str) -> str:
    return " ".join(p for p in parts if p)

