"""CDISC study days: day 1 is the day of the first dose, the day before it is day -1;
there is no day 0 (SDTMIG 4.4.4)."""

from __future__ import annotations

import datetime as dt
import math

import pandas as pd


def study_day_from_offset(offset: float | None) -> float | None:
    """Study day of a date ``offset`` days after the first dose (the project's ``day``,
    where the first dose is day 0): ``offset + 1`` on or after the first dose,
    ``offset`` before it. Missing stays missing."""
    if offset is None or (isinstance(offset, float) and math.isnan(offset)):
        return None
    off = int(offset)
    if off != offset:
        raise ValueError(f"day offset {offset!r} is not a whole number of days")
    return off + 1 if off >= 0 else off


def study_day(date: str | dt.date | None, reference: str | dt.date | None) -> int | None:
    """Study day of ``date`` against the reference start date ``reference`` (TRTSDT):
    ``date - reference + 1`` on or after it, ``date - reference`` before it."""
    if date in (None, "") or reference in (None, ""):
        return None
    if isinstance(date, float) or isinstance(reference, float):
        return None
    d = dt.date.fromisoformat(str(date)[:10])
    r = dt.date.fromisoformat(str(reference)[:10])
    delta = (d - r).days
    return delta + 1 if delta >= 0 else delta


def study_days(offsets: pd.Series) -> pd.Series:
    """:func:`study_day_from_offset` of each value (a nullable integer series)."""
    return pd.Series([study_day_from_offset(None if pd.isna(x) else float(x)) for x in offsets],
                     index=offsets.index, dtype="Int64")
