"""What the report's tables are made of: ARD lookups that remember which rows a
printed cell came from (for its link to the ARD appendix), the Table, the decimals in
force, the analysis groups."""

from __future__ import annotations

import dataclasses
import hashlib
import math
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


def anchor(key: Sequence[str], prefix: str = "ard") -> str:
    """The HTML id of a row of a results table in an appendix of rows (stable, safe in
    an id): ``ard-<digest>`` for an ARD row (Appendix D), ``<prefix>-<digest>`` for a
    row of another results table."""
    return f"{prefix}-" + hashlib.sha256("\x1f".join(key).encode("utf-8")).hexdigest()[:16]


# ------------------------------------------------------------------ number links
# A printed number: optional sign (only where it is not a hyphen between two numbers),
# digits with thousands commas, decimals, an optional percent sign. Digits glued to a
# letter (CD38, w1, v5) are names, not numbers.
NUMBER = re.compile(r"(?:(?<![\w.,])(?P<sign>[+\u2212-]))?(?<![\w.,])"
                    r"(?P<digits>\d{1,3}(?:,\d{3})+|\d+)(?:\.(?P<decimals>\d+))?"
                    r"(?![\w])(?P<percent>%)?")
# Numbers that are labels, not values: "grade 3", "Table 7", the level of "95% CI".
_LABEL_BEFORE = re.compile(r"(?:\b(?:grade|Grade|Table|Tables|Listing|Figure|version|"
                           r"Appendix|CTCAE v)\s?)$")
_LABEL_AFTER = re.compile(r"^\s?CI\b")
# The bounds of a confidence interval of a percentage are printed without "%".
_CI_BOUND = re.compile(r"\bCI\s(?:\S+?(?:\u2013| to ))?$")


@dataclass(frozen=True)
class Number:
    """A number printed in a text: where it is, its value and printed decimals."""

    start: int
    end: int
    value: float
    decimals: int
    percent: bool  # a percentage (or a bound of its CI): may print a proportion

    def printed(self, value: float) -> bool:
        """Whether ``value`` prints as this number (same rounding); a percentage also
        reads a proportion (0.5 prints as 50.0%)."""
        candidates = [value, value * 100.0] if self.percent else [value]
        target = F.fmt_number(self.value, self.decimals)
        return any(math.isfinite(c) and F.fmt_number(c, self.decimals) == target
                   for c in candidates)


def numbers(text: str) -> list[Number]:
    """The numbers printed in ``text`` that are values (labels such as "grade 3",
    "Table 7" or the level of a "95% CI" excepted), in order."""
    out = []
    for m in NUMBER.finditer(text):
        if _LABEL_BEFORE.search(text[:m.start()]) or \
                (m.group("percent") and _LABEL_AFTER.match(text[m.end():])):
            continue
        sign = -1.0 if m.group("sign") in ("-", F.MINUS) else 1.0
        digits = m.group("digits").replace(",", "")
        decimals = m.group("decimals") or ""
        value = sign * float(f"{digits}.{decimals}" if decimals else digits)
        percent = bool(m.group("percent")) or bool(_CI_BOUND.search(text[:m.start()]))
        out.append(Number(m.start(), m.end(), value, len(decimals), percent))
    return out


def row_numbers(value: Any) -> list[float]:
    """The numbers a row holds: its value, or the numbers printed in a text value."""
    if isinstance(value, str):
        try:
            return [float(value)] if value.strip() else []
        except ValueError:
            return [n.value for n in numbers(value)]
    try:
        number = float(value)
    except (TypeError, ValueError):
        return []
    return [] if math.isnan(number) else [number]


def link_numbers(text: str, reads: Sequence[tuple[str, Sequence[float]]]
                 ) -> tuple[tuple[str, str], ...]:
    """``text`` cut into (segment, anchor) pieces: each printed number linked to the
    row it was read from, an unlinked piece (anchor "") between them.

    ``reads``: the rows read while ``text`` was formatted, in order, as (anchor, the
    numbers the row holds). Each number is matched to the first number of a row not
    yet matched that prints the same (search from the last match on, then from the
    start): the order in which a formatter reads rows is the order in which it prints
    them, and a row that prints twice in one cell (rare) links once."""
    slots = [(a, v) for a, values in reads for v in values]
    taken = [False] * len(slots)
    pieces: list[tuple[str, str]] = []
    pos, last = 0, 0
    for number in numbers(text):
        order = list(range(last, len(slots))) + list(range(0, last))
        hit = next((i for i in order if not taken[i] and number.printed(slots[i][1])), None)
        if hit is None:
            continue
        taken[hit], last = True, hit + 1
        if number.start > pos:
            pieces.append((text[pos:number.start], ""))
        pieces.append((text[number.start:number.end], slots[hit][0]))
        pos = number.end
    if pos < len(text):
        pieces.append((text[pos:], ""))
    return tuple(pieces) if any(a for _, a in pieces) else ()


@dataclass(frozen=True)
class Cell:
    """A printed value with the rows its numbers link to (``links``: the text cut into
    (segment, anchor) pieces; ``link``: the first anchor), whether it is an identifier
    set in code type (``code``) and whether it is set in bold (``emphasis``: e.g. a
    value that differs from the primary analysis)."""

    text: str
    link: str = ""
    code: bool = False
    parts: tuple[tuple[str, bool], ...] = ()  # (text, in code type), when mixed
    emphasis: bool = False
    links: tuple[tuple[str, str], ...] = ()  # (text, anchor or ""), when linked
    span: int = 1  # columns the cell spans (a value whose denominator covers them)

    def __str__(self) -> str:
        return "".join(t for t, _ in self.parts) if self.parts else self.text

    @property
    def anchors(self) -> list[str]:
        """Every anchor the cell links to, in order."""
        return [a for _, a in self.links if a] or ([self.link] if self.link else [])

    def segments(self) -> tuple[tuple[str, str], ...]:
        """The text as (segment, anchor) pieces (one unlinked piece when not linked)."""
        if self.links:
            return self.links
        return ((self.text, self.link),)


def linked_cell(text: str, reads: Sequence[tuple[str, Sequence[float]]], **kw: Any) -> Cell:
    """A Cell of ``text`` whose numbers link to the rows read (see :func:`link_numbers`)."""
    pieces = link_numbers(text, reads) if text != F.MISSING else ()
    first = next((a for _, a in pieces if a), "")
    return Cell(text, link=first, links=pieces, **kw)


def joined(pieces: Sequence[Cell | str]) -> Cell:
    """One Cell of texts and Cells side by side, each Cell keeping its links (a label
    printed between linked values never takes a link of its own)."""
    segments: list[tuple[str, str]] = []
    for piece in pieces:
        segments += list(piece.segments()) if isinstance(piece, Cell) else [(str(piece), "")]
    text = "".join(t for t, _ in segments)
    first = next((a for _, a in segments if a), "")
    return Cell(text, link=first, links=tuple(segments) if first else ())


class Rows:
    """Lookups into a results table (one value per key) that remember what was read.

    Every row read is remembered (:attr:`used`, in order of first use): an appendix of
    rows lists exactly the rows printed, each with the id :meth:`anchor` gives it.
    :meth:`cell` turns a formatting function into a :class:`Cell` whose every printed
    number links to the row it came from."""

    def __init__(self, frame: pd.DataFrame, key_columns: Sequence[str],
                 value_column: str = "value", prefix: str = "ard", source: str = "",
                 text: bool = False) -> None:
        self.frame = frame
        self.text = text  # values are text as printed (a claim's value): kept as they are
        self.prefix = prefix
        self.source = source  # the results table's path, as the appendix names it
        self.value_column = value_column
        self.key_columns = list(key_columns)
        self._index: dict[tuple[str, ...], list[Any]] = {}
        for *key, val in zip(*(frame[c] for c in key_columns), frame[value_column]):
            self._index.setdefault(tuple(str(k) for k in key), []).append(
                str(val) if text else self._value(val))
        self.used: dict[tuple[str, ...], None] = {}
        self._reading: list[tuple[str, ...]] | None = None

    @staticmethod
    def _value(value: Any) -> Any:
        if isinstance(value, str):
            try:
                return float(value) if value.strip() else float("nan")
            except ValueError:
                return value
        return float(value)

    def anchor(self, key: Sequence[str]) -> str:
        return anchor(tuple(key), self.prefix)

    def _read(self, key: tuple[str, ...]) -> None:
        self.used.setdefault(key, None)
        if self._reading is not None:
            self._reading.append(key)

    def value(self, *key: str) -> Any:
        """The row's value (a number, or text), marking it as printed."""
        hits = self._index.get(tuple(key), [])
        if len(hits) != 1:
            raise KeyError(f"{self.prefix}: {len(hits)} rows for {'/'.join(key)}")
        self._read(tuple(key))
        return hits[0]

    def stored(self, key: Sequence[str]) -> Any:
        """A row's value without marking it as printed."""
        return self._index[tuple(key)][0]

    def numbers_of(self, key: tuple[str, ...]) -> list[float]:
        hits = self._index.get(key, [])
        return row_numbers(hits[0]) if hits else []

    def cell(self, fn: Callable[[], str], **kw: Any) -> Cell:
        """``fn()`` as a Cell whose numbers link to the rows it read (no link if none)."""
        outer = self._reading
        self._reading = []
        try:
            text = str(fn())
            read = self._reading
        finally:
            self._reading = outer
        if outer is not None:
            outer.extend(read)
        return linked_cell(text, [(self.anchor(k), self.numbers_of(k)) for k in read], **kw)

    def contains(self, *key: str) -> bool:
        return tuple(key) in self._index


class ARD(Rows):
    """Lookups into the ARD with a clear error naming what is missing (rows keyed by
    ``stat_id``, ``group``, ``statistic``; anchors ``ard-...`` into Appendix D)."""

    def __init__(self, frame: pd.DataFrame) -> None:
        super().__init__(frame, ["stat_id", "group", "statistic"], source="results/ard/ard.tsv")

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
        self._read((stat_id, group, statistic))
        return float(hits[0])

    def ratio(self, stat_id: str, group: str, numerator: str = "numerator",
              denominator: str = "denominator") -> float:
        """The proportion of an "n/N (%)" cell: its ``proportion`` row (the statistics
        stage writes one for every count pair, :func:`aiha.ard.count_proportions`), so
        that the percentage links to a row that holds it."""
        stem = (numerator[:-len("numerator")] if numerator.endswith("numerator") else
                numerator[:-1] if numerator.endswith("n") else "")
        return self.get(stat_id, group, f"{stem}proportion")

    def peek(self, key: Key) -> float:
        """A row's value without marking it as printed (to choose what to print)."""
        hits = self._index.get(key, [])
        if len(hits) != 1:
            raise KeyError(f"ARD has {len(hits)} rows for {'/'.join(key)}")
        return float(hits[0])

    def keys(self, stat_id: str, group: str) -> list[Key]:
        """The (stat_id, group, statistic) keys of a statistic and group, in ARD order."""
        return [k for k in self._index if k[0] == stat_id and k[1] == group]  # type: ignore[misc]

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
        return keys  # type: ignore[return-value]

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
    links_to: str = "its row in Appendix D"  # where its links go, as the source line says
    # Columns whose values are not rows of a results table (published values from the
    # claims file, definitions quoting the configuration): they carry no links.
    input_columns: tuple[int, ...] = ()

    def __post_init__(self) -> None:
        for row in self.rows:
            if sum(getattr(c, "span", 1) for c in row) != len(self.header):
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
    rows = [[dataclasses.replace(c, link="", links=()) if isinstance(c, Cell) else c
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



# ------------------------------------------------------------------ back links, coverage
def table_label(table: Table) -> str:
    """How a row of an appendix names the table that prints it: "4" for "Table 4. ...",
    "A" for "Table A. ...", "L1" for "Listing 1. ..."."""
    head = table.caption.split(".", 1)[0]
    if head.startswith("Table "):
        return head.removeprefix("Table ")
    if head.startswith("Listing "):
        return "L" + head.removeprefix("Listing ")
    return table.key.replace("_", " ")


def printed_in(tables: Mapping[str, Table],
               extra: Sequence[tuple[str, str, Sequence[Cell]]] = ()
               ) -> dict[str, list[tuple[str, str]]]:
    """anchor -> the (label, element id) of each table (or other place: ``extra``,
    (label, element id, cells)) whose numbers link to it, in order: the back links of
    an appendix of rows."""
    out: dict[str, list[tuple[str, str]]] = {}

    def add(anchor_id: str, place: tuple[str, str]) -> None:
        places = out.setdefault(anchor_id, [])
        if place not in places:
            places.append(place)

    for t in tables.values():
        place = (table_label(t), f"tbl-{t.key}")
        for row in [t.header, *t.rows]:
            for c in row:
                if isinstance(c, Cell):
                    for a in c.anchors:
                        add(a, place)
    for label, target, cells in extra:
        for c in cells:
            for a in c.anchors:
                add(a, (label, target))
    return out


def back_links(places: Sequence[tuple[str, str]]) -> Cell:
    """The "Printed in" cell of an appendix row: each place a link to it."""
    pieces: list[tuple[str, str]] = []
    for k, (label, target) in enumerate(places):
        if k:
            pieces.append((", ", ""))
        pieces.append((label, target))
    text = "".join(p for p, _ in pieces)
    return Cell(text or F.MISSING, links=tuple(pieces))


@dataclass(frozen=True)
class Coverage:
    """Numbers printed in table cells from results tables, and how many of them link."""

    linked: int
    total: int

    @property
    def complete(self) -> bool:
        return self.linked == self.total


def link_coverage(tables: Sequence[Table]) -> Coverage:
    """Count the numbers printed in the cells of ``tables`` (the first column, row
    labels, and the columns a table declares as not from a results table excepted:
    ``Table.input_columns``) and those of them under a link."""
    linked = total = 0
    for t in tables:
        for row in [t.header, *t.rows]:
            for j, c in enumerate(row):
                if j == 0 or j in t.input_columns:
                    continue
                segments = c.segments() if isinstance(c, Cell) else ((str(c), ""),)
                for text, a in segments:
                    n = len(numbers(text))
                    total += n
                    linked += n if a else 0
    return Coverage(linked, total)
