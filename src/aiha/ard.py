"""The analysis-results dataset (ARD): one long table holding every reported number.

Columns (tab-separated, written by :func:`write_ard`):

stat_id     what is measured, e.g. ``orr`` or ``dor_median_crude``
group       analysis group: ``all``, ``wAIHA``, ``cAIHA``, ``cAIHA_nonanemic``,
            or a patient pseudonym for per-patient statistics
statistic   which number of the measure: ``n``, ``numerator``, ``denominator``,
            ``proportion``, ``ci_lower``, ``ci_upper``, ``median``, ``min``, ``max``,
            ``value``, ``value_1`` ...
value       the number (float; booleans as 0/1)
unit        ``patients``, ``events``, ``proportion``, ``months``, ``g/dL``, ``%`` ...
rule        Snakemake rule that wrote the row
script      script that computed it
inputs_sha256  SHA-256 over the rule's input files (see :func:`inputs_digest`)
dataset     analysis dataset(s) the row is computed from (``ADSL``, ``ADRS`` ...,
            docs/analysis_datasets.md); empty for rows not computed from one
variables   the dataset variables the statistic reads, comma-separated
selection   the records it is computed over, as a condition on the variables
            (e.g. ``SAFFL = 'Y' and ANLGRP = 'wAIHA'``)
"""

from __future__ import annotations

import hashlib
import math
import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import pandas as pd

ARD_COLUMNS: list[str] = [
    "stat_id",
    "group",
    "statistic",
    "value",
    "unit",
    "rule",
    "script",
    "inputs_sha256",
    "dataset",
    "variables",
    "selection",
]
# The source columns: an ARD part written before they existed reads with them empty.
SOURCE_COLUMNS: tuple[str, ...] = ("dataset", "variables", "selection")


@dataclass(frozen=True)
class Stat:
    """One number before provenance is attached."""

    stat_id: str
    group: str
    statistic: str
    value: float
    unit: str
    dataset: str = ""
    variables: str = ""
    selection: str = ""


def with_source(stats: Sequence[Stat], dataset: str, variables: str, selection: str
                ) -> list[Stat]:
    """``stats`` naming the dataset, variables and selection they come from."""
    return [replace(s, dataset=dataset, variables=variables, selection=selection)
            for s in stats]


def count_proportions(ard: pd.DataFrame, rule: str, script: str, digest: str) -> pd.DataFrame:
    """The ``proportion`` row of every count pair the ARD holds without one: a
    statistic with ``numerator`` (or ``n``) and ``denominator`` rows gets
    ``proportion`` = numerator / denominator (NaN for a zero denominator), so that the
    percentage of an "n/N (%)" cell is a row of the ARD like every printed number.
    The new rows name the numerator's dataset, variables and selection."""
    key = ["stat_id", "group"]
    have = {(r.stat_id, r.group, r.statistic): r for r in ard.itertuples(index=False)}
    rows = []
    for (stat_id, group), _ in ard.groupby(key, sort=False):
        if (stat_id, group, "proportion") in have or (stat_id, group, "denominator") not in have:
            continue
        num = have.get((stat_id, group, "numerator")) or have.get((stat_id, group, "n"))
        if num is None:
            continue
        den = float(have[(stat_id, group, "denominator")].value)
        value = float(num.value) / den if den else math.nan
        row = {"stat_id": stat_id, "group": group, "statistic": "proportion",
               "value": value, "unit": "proportion", "rule": rule, "script": script,
               "inputs_sha256": digest}
        for col in ("dataset", "variables", "selection"):
            if col in ard.columns:
                row[col] = getattr(num, col)
        rows.append(row)
    return pd.DataFrame(rows, columns=ard.columns)


def file_sha256(path: str | os.PathLike[str]) -> str:
    """SHA-256 of one file's bytes."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def inputs_digest(paths: Iterable[str | os.PathLike[str]]) -> str:
    """One SHA-256 over the names (relative as given) and bytes of input files.

    Directories are walked in sorted order, so the digest is stable.
    """
    digest = hashlib.sha256()
    files: list[Path] = []
    for path in paths:
        p = Path(path)
        if p.is_dir():
            files.extend(sorted(q for q in p.rglob("*") if q.is_file()))
        else:
            files.append(p)
    for f in sorted(set(files), key=lambda q: q.as_posix()):
        digest.update(f.as_posix().encode())
        digest.update(b"\0")
        digest.update(file_sha256(f).encode())
    return digest.hexdigest()


def stats_to_frame(
    stats: Sequence[Stat], rule: str, script: str, inputs_sha256: str
) -> pd.DataFrame:
    """Attach provenance to statistics and return an ARD frame."""
    rows = [
        {
            "stat_id": s.stat_id,
            "group": s.group,
            "statistic": s.statistic,
            "value": float(s.value),
            "unit": s.unit,
            "rule": rule,
            "script": script,
            "inputs_sha256": inputs_sha256,
            "dataset": s.dataset,
            "variables": s.variables,
            "selection": s.selection,
        }
        for s in stats
    ]
    return pd.DataFrame(rows, columns=ARD_COLUMNS)


def read_ard(path: str | os.PathLike[str]) -> pd.DataFrame:
    """Read an ARD file written by :func:`write_ard`."""
    frame = pd.read_csv(path, sep="\t", dtype={"group": str, **dict.fromkeys(SOURCE_COLUMNS, str)},
                        keep_default_na=False)
    for column in SOURCE_COLUMNS:
        if column not in frame.columns:
            frame[column] = ""
    missing = [c for c in ARD_COLUMNS if c not in frame.columns]
    if missing:
        raise ValueError(f"{path}: not an ARD table, missing columns {missing}")
    frame["value"] = [float(x) if x != "" else float("nan") for x in frame["value"].astype(str)]
    return frame[ARD_COLUMNS]


def write_ard(frame: pd.DataFrame, path: str | os.PathLike[str]) -> None:
    """Write an ARD table deterministically (sorted, fixed float format)."""
    out = frame[ARD_COLUMNS].sort_values(["stat_id", "group", "statistic"], kind="stable")
    write_tsv(out, path)


def lookup(ard: pd.DataFrame, stat_id: str, group: str, statistic: str) -> float:
    """The single value of (stat_id, group, statistic); KeyError if absent or repeated."""
    hit = ard[
        (ard["stat_id"] == stat_id)
        & (ard["group"] == group)
        & (ard["statistic"] == statistic)
    ]
    if len(hit) != 1:
        raise KeyError(f"ARD has {len(hit)} rows for {stat_id}/{group}/{statistic}")
    return float(hit["value"].iloc[0])


def read_tsv(path: str | os.PathLike[str]) -> pd.DataFrame:
    """A results table with typed columns; empty cells are missing values.

    Each column's type is inferred from the whole column (``low_memory=False``): in
    chunks, a long table's mostly empty text column came back with mixed types."""
    return pd.read_csv(path, sep="\t", keep_default_na=False, na_values=[""], low_memory=False)


def read_text_tsv(path: str | os.PathLike[str]) -> pd.DataFrame:
    """A results table exactly as written: every cell a string, empty cells ""."""
    return pd.read_csv(path, sep="\t", dtype=str, keep_default_na=False)


def write_tsv(frame: pd.DataFrame, path: str | os.PathLike[str]) -> None:
    """Write a TSV atomically: a temporary file renamed into place.

    Floats are written with 12 significant digits (stable across platforms).
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    frame.to_csv(tmp, sep="\t", index=False, lineterminator="\n", float_format="%.12g")
    os.replace(tmp, path)
