"""Sample QC of the cytometry stage: the integrity checks of an FCS file's
``$SPILLOVER`` and ``$DATATYPE`` before it is gated, the lookup of a named
population in a sample's population table, and the QC row of one sample (events
acquired, kept after the time and margin gates, its flag).

Every failure caused by the input raises :class:`aiha.errors.InputError` naming
the file and the keyword or population.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from aiha.errors import InputError

QC_COLUMNS = ["sample_id", "events_acquired", "events_kept", "percent_kept", "qc_flag"]


def fcs_spillover(text: Mapping[str, str]) -> str | None:
    """The spillover matrix keyword of an FCS file's TEXT (``$SPILLOVER``, or
    the older ``$SPILL``; lower-case keys as flowio gives them), or ``None``."""
    for key in ("spillover", "spill"):
        if key in text:
            return text[key]
    return None


def check_spillover(path: str, pnn: list[str], spill: str) -> None:
    """A ``$SPILLOVER`` value must name known detectors and hold an n x n matrix."""
    parts = [p.strip() for p in spill.split(",")]
    try:
        n = int(float(parts[0]))
    except ValueError as exc:
        raise InputError(path, "spillover count is not a number", column="$SPILLOVER", value=parts[0]) from exc
    if n <= 0 or len(parts) != 1 + n + n * n:
        raise InputError(
            path, f"spillover holds {len(parts) - 1} values, expected {n} names and {n * n} coefficients",
            column="$SPILLOVER", value=n,
        )
    for name in parts[1 : 1 + n]:
        if name not in pnn:
            raise InputError(path, "spillover names a detector that is not a channel ($PnN)",
                             column="$SPILLOVER", value=name)
    try:
        matrix = np.array([float(v) for v in parts[1 + n :]]).reshape(n, n)
    except ValueError as exc:
        raise InputError(path, "spillover coefficient is not a number", column="$SPILLOVER") from exc
    if not np.all(np.isfinite(matrix)) or abs(np.linalg.det(matrix)) < 1e-12:
        raise InputError(path, "spillover matrix is not invertible", column="$SPILLOVER")


MISSING_SPILLOVER = ("refuse", "uncompensated")


def check_datatype(path: str, data: Any) -> None:
    """``$DATATYPE`` against the DATA segment. For integer data (``I``) the reader
    masks each value to its channel's ``$PnR`` range, so data that are not integers
    of ``$PnB`` bits (float data declared as ``I``) would be gated silently as noise:
    every raw value must lie within ``$PnR``. Float data (``F``/``D``) declared as
    such but holding integer bit patterns read as subnormal numbers: refused too."""
    kind = str(data.text.get("datatype", "")).upper()
    n = int(data.channel_count or 0)
    if not n:
        return
    if kind in ("F", "D"):
        events = np.asarray(data.events, dtype=float)
        tiny = (events != 0) & (np.abs(events) < 1e-30) & np.isfinite(events)
        if tiny.any():
            raise InputError(path, f"$DATATYPE {kind} but {int(tiny.sum())} values are "
                             "subnormal numbers: the DATA segment looks like integers; "
                             "re-export the file", column="$DATATYPE", value=kind)
        return
    if kind != "I":
        return
    bits = {int(data.text.get(f"p{i}b", 0)) for i in range(1, n + 1)}
    if len(bits) != 1 or bits.pop() not in (8, 16, 32):
        return  # mixed widths: the reader's own check applies
    width = int(data.text["p1b"]) // 8
    order = "<" if str(data.text.get("byteord", "1,2,3,4")).startswith("1") else ">"
    start, stop = int(data.header["data_start"]), int(data.header["data_stop"])
    with open(path, "rb") as handle:
        handle.seek(start)
        raw = handle.read(stop - start + 1)
    values = np.frombuffer(raw[: len(raw) - len(raw) % (width * n)],
                           dtype=f"{order}u{width}").reshape(-1, n)
    for i in range(n):
        try:
            limit = float(data.text.get(f"p{i + 1}r", 0))
        except ValueError:
            continue
        if limit > 0 and values.shape[0] and values[:, i].max() > limit:
            raise InputError(path, f"$DATATYPE I but channel {i + 1} holds values up to "
                             f"{int(values[:, i].max())}, above its $P{i + 1}R {limit:g}: the "
                             f"DATA segment does not hold {8 * width}-bit integers (float "
                             "data?); re-export the file", column="$DATATYPE", value="I")


def find_population_row(populations: pd.DataFrame, spec: str, sample_id: str, fcs_path: str,
                        gating_path: str, role: str) -> pd.Series:
    """The row of one sample's population table named by ``spec`` (a gate name
    or path, see :mod:`aiha.cytometry.populations`); an :class:`InputError`
    naming the gating file, FCS file, sample and population otherwise."""
    from aiha.cytometry.populations import PopulationLookupError, sample_row

    try:
        return sample_row(populations, spec)
    except PopulationLookupError as exc:
        raise InputError(str(gating_path), f"sample {sample_id} (FCS file {fcs_path}), {role}: "
                         f"{exc.message}", column="population", value=spec) from None


def qc_row(populations: pd.DataFrame, sample_id: str, events_acquired: int,
           kept_population: str, min_events_kept: int, min_percent_kept: float,
           fcs_path: str = "", gating_path: str = "") -> dict[str, Any]:
    """QC of one sample: events acquired, kept after the time and margin gates, flag."""
    hit = find_population_row(populations, kept_population, sample_id, fcs_path, gating_path,
                              "QC population (cytometry.qc.kept_population)")
    kept = int(hit["count"])
    percent = 100.0 * kept / events_acquired if events_acquired else 0.0
    flags = []
    if kept < min_events_kept:
        flags.append("low_events_kept")
    if percent < min_percent_kept:
        flags.append("low_percent_kept")
    return {
        "sample_id": sample_id,
        "events_acquired": int(events_acquired),
        "events_kept": kept,
        "percent_kept": percent,
        "qc_flag": ";".join(flags),
    }
