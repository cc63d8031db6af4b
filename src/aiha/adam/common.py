"""Helpers and the variables every analysis dataset shares (``STUDYID``, ``USUBJID``,
the analysis group and the population flags copied from ADSL)."""

from __future__ import annotations

import math
from typing import Any

import pandas as pd

from aiha.adam.metadata import Variable
from aiha.adam.studyday import study_days

TRUE = ("true", "1", "1.0", "yes", "y")


def column(frame: pd.DataFrame, name: str) -> pd.Series:
    """``frame[name]``, or an all-missing column where a table does not have it (a
    site that does not export it, or a hand-made test table)."""
    if name in frame.columns:
        return frame[name]
    return pd.Series([None] * len(frame), index=frame.index, dtype=object)


def missing(x: Any) -> bool:
    """None, NaN, pandas NA or an empty string."""
    return x is None or x is pd.NA or (isinstance(x, float) and math.isnan(x)) or (
        isinstance(x, str) and x.strip() == "")


def truthy(x: Any) -> bool:
    """A results-table boolean (``True``/``False`` as text or bool) as bool."""
    return (x is True) or (not missing(x) and str(x).strip().lower() in TRUE)


def yn(series: pd.Series) -> pd.Series:
    """``Y``/``N`` of a boolean column."""
    return series.map(lambda x: "Y" if truthy(x) else "N")


def yn_blank(series: pd.Series) -> pd.Series:
    """``Y``/``N`` of a boolean column, ``""`` where it is empty (not recorded)."""
    return series.map(lambda x: "" if missing(x) else ("Y" if truthy(x) else "N"))


def text(series: pd.Series) -> pd.Series:
    """Text values, ``""`` where missing."""
    return series.map(lambda x: "" if missing(x) else str(x))


def number(series: pd.Series) -> pd.Series:
    """Numbers as float, NaN where missing."""
    return series.map(lambda x: math.nan if missing(x) else float(x)).astype(float)


def selection(group: str, *more: str) -> str:
    """The selection of a group's records, as an ARD row names it: the safety set,
    the analysis group (none for ``all``), and ``more`` conditions."""
    parts = ["SAFFL = 'Y'"] + ([] if group == "all" else [f"ANLGRP = '{group}'"])
    return " and ".join(parts + list(more))


def date(series: pd.Series) -> pd.Series:
    """ISO dates (``YYYY-MM-DD``), ``""`` where missing."""
    return series.map(lambda x: "" if missing(x) else str(x)[:10])


# ----------------------------------------------------------- shared variables


def studyid(base: pd.DataFrame) -> pd.Series:
    """The study identifier of config ``adam.study_id``."""
    return base["_studyid"]


def usubjid(base: pd.DataFrame) -> pd.Series:
    """The patient's keyed pseudonym (``patient_id`` of the results tables): unique
    across sites, no identifier."""
    return text(base["patient_id"])


def anlgrp(base: pd.DataFrame) -> pd.Series:
    """Analysis group of the patient in ADSL (``wAIHA``, ``cAIHA`` = anemic cAIHA,
    ``cAIHA_nonanemic``); ``""`` for a patient not in ADSL (not treated)."""
    return text(base["_anlgrp"])


def saffl_of(base: pd.DataFrame) -> pd.Series:
    """Safety population flag of the patient in ADSL (``Y``: treated); ``N`` for a
    patient not in ADSL."""
    return base["_saffl"].map(lambda x: "Y" if x == "Y" else "N")


def reldy(base: pd.DataFrame) -> pd.Series:
    """Days from the first daratumumab dose, the first dose being day 0 (``day`` of
    the results tables): the scale of the configured windows."""
    return number(base["day"]) if "day" in base.columns else pd.Series(
        [math.nan] * len(base), index=base.index)


def ady(base: pd.DataFrame) -> pd.Series:
    """CDISC study day (no day 0): ``RELDY + 1`` on or after the first dose, ``RELDY``
    before it (:func:`aiha.adam.studyday.study_day_from_offset`)."""
    return study_days(reldy(base)).astype(object).map(lambda x: None if x is pd.NA else x)


STUDYID = Variable("STUDYID", "Study Identifier", "text", "config adam.study_id", studyid)
USUBJID = Variable("USUBJID", "Unique Subject Identifier", "text", "patient_id", usubjid,
                   key=True)
ANLGRP = Variable("ANLGRP", "Analysis Group", "text", "ADSL.ANLGRP", anlgrp)
SAFFL = Variable("SAFFL", "Safety Population Flag", "text", "ADSL.SAFFL", saffl_of)
RELDY = Variable("RELDY", "Days From First Dose (First Dose = 0)", "integer", "day", reldy)
ADY = Variable("ADY", "Analysis Relative Day", "integer", "day", ady)


def with_subject(frame: pd.DataFrame, adsl: pd.DataFrame, study_id: str) -> pd.DataFrame:
    """``frame`` with the study id and each patient's ADSL group and safety flag."""
    out = frame.copy()
    group = dict(zip(adsl["USUBJID"], adsl["ANLGRP"]))
    saf = dict(zip(adsl["USUBJID"], adsl["SAFFL"]))
    ids = out["patient_id"].astype(str) if len(out) else pd.Series([], dtype=object)
    out["_studyid"] = study_id
    out["_anlgrp"] = ids.map(lambda p: group.get(p, "")).to_numpy() if len(out) else []
    out["_saffl"] = ids.map(lambda p: saf.get(p, "")).to_numpy() if len(out) else []
    return out
