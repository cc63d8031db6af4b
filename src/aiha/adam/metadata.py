"""Variable-level metadata of the analysis datasets.

Each variable of a dataset is a :class:`Variable`: its CDISC name (at most 8
characters) and label (at most 40), its type, where it comes from and the one
function that derives it. The derivation text of the metadata table is that
function's docstring (its first paragraph), so the table and the code cannot drift.
"""

from __future__ import annotations

import inspect
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import pandas as pd

TYPES = ("text", "integer", "float", "date")
MAX_NAME, MAX_LABEL, MAX_TEXT = 8, 40, 200  # SAS transport version 5


ROLE = re.compile(r":(?:func|class|mod|data|meth|attr):`~?([^`]+)`")


def plain_text(doc: str) -> str:
    """A docstring's reStructuredText as plain text for readers outside the code: a
    cross-reference (``:func:`aiha.adam.x```) becomes its target's name, the inline
    literal marks are dropped."""
    return ROLE.sub(r"\1", doc).replace("``", "")


@dataclass(frozen=True)
class Variable:
    """One variable: ``derive(base)`` returns its values, one per row of ``base``."""

    name: str
    label: str
    type: str
    source: str
    derive: Callable[[pd.DataFrame], pd.Series]
    key: bool = False

    def __post_init__(self) -> None:
        if not re.fullmatch(r"[A-Z][A-Z0-9]{0,%d}" % (MAX_NAME - 1), self.name):
            raise ValueError(f"variable name {self.name!r}: at most {MAX_NAME} characters")
        if len(self.label) > MAX_LABEL:
            raise ValueError(f"{self.name}: label longer than {MAX_LABEL} characters")
        if self.type not in TYPES:
            raise ValueError(f"{self.name}: type {self.type!r} not one of {TYPES}")

    @property
    def derivation(self) -> str:
        """The deriving function's docstring, first paragraph, on one line, as plain
        text (:func:`plain_text`)."""
        doc = inspect.getdoc(self.derive) or ""
        return plain_text(" ".join(doc.split("\n\n")[0].split()))

    @property
    def function(self) -> str:
        """Module-qualified name of the deriving function."""
        return f"{self.derive.__module__}.{self.derive.__qualname__}"


@dataclass(frozen=True)
class DatasetSpec:
    """A dataset: name (at most 8 characters), label, structure and its variables."""

    name: str
    label: str
    structure: str
    variables: tuple[Variable, ...]

    def __post_init__(self) -> None:
        if len(self.name) > MAX_NAME or len(self.label) > MAX_LABEL:
            raise ValueError(f"dataset {self.name!r}: name or label too long for XPT v5")
        names = [v.name for v in self.variables]
        if len(set(names)) != len(names):
            raise ValueError(f"dataset {self.name}: a variable is defined twice")

    def build(self, base: pd.DataFrame) -> pd.DataFrame:
        """Derive every variable from ``base`` (one row per record), in order."""
        base = base.reset_index(drop=True)
        return pd.DataFrame({v.name: _values(v.derive(base), len(base), v.name)
                             for v in self.variables}, index=base.index)


def _values(series: pd.Series | Sequence[object], n: int, name: str) -> list[object]:
    values = list(series)
    if len(values) != n:
        raise ValueError(f"{name}: derived {len(values)} values for {n} records")
    return values


def text_length(values: pd.Series) -> int:
    """Longest value in bytes (UTF-8, as the transport file holds it), at least 1."""
    lengths = [len(str(v).encode("utf-8")) for v in values if v is not None and not
               (isinstance(v, float) and pd.isna(v)) and v != ""]
    return max(lengths, default=1)


def variables_table(specs: Sequence[DatasetSpec], frames: dict[str, pd.DataFrame]
                    ) -> pd.DataFrame:
    """The metadata table: dataset, variable, label, type, length, derivation,
    source, function (one row per variable, in dataset order)."""
    rows = []
    for spec in specs:
        frame = frames[spec.name]
        for v in spec.variables:
            length = text_length(frame[v.name]) if v.type == "text" else 8
            rows.append({"dataset": spec.name, "variable": v.name, "label": v.label,
                         "type": v.type, "length": length, "derivation": v.derivation,
                         "source": v.source, "function": v.function})
    return pd.DataFrame(rows, columns=["dataset", "variable", "label", "type", "length",
                                       "derivation", "source", "function"])
