"""SAS transport files, version 5 (the SAS XPORT format regulators take), written
with pyreadstat (``write_xport(..., file_format_version=5)``; its default, version
8, is not accepted by regulators).

A file holds one dataset. Names have at most 8 characters and labels at most 40;
text is UTF-8 (ReadStat writes it so) of at most 200 bytes. Dates are SAS dates (format ``DATE``). ReadStat stamps
the file's library and member headers with the time of writing: those stamps are
set to the data cut-off (:func:`set_header_stamps`), so a rebuild writes the same
bytes.
"""

from __future__ import annotations

import datetime as dt
import math
import os
import re
from pathlib import Path

import pandas as pd
import pyreadstat

from aiha.adam.metadata import MAX_LABEL, MAX_NAME, MAX_TEXT, DatasetSpec, text_length

SAS_EPOCH = dt.date(1960, 1, 1)
# A header time stamp of a transport file: ddMMMyy:hh:mm:ss.
_STAMP = re.compile(rb"\d\d[A-Z]{3}\d\d:\d\d:\d\d:\d\d")
_OBS = b"HEADER RECORD*******OBS     HEADER RECORD!!!!!!!"


def sas_date(value: object) -> float | None:
    """An ISO date as days since 1960-01-01 (``None`` if missing)."""
    if value is None or value == "" or (isinstance(value, float) and math.isnan(value)):
        return None
    return float((dt.date.fromisoformat(str(value)[:10]) - SAS_EPOCH).days)


def _date(value: object) -> dt.date | None:
    if value is None or value == "" or (isinstance(value, float) and math.isnan(value)):
        return None
    return dt.date.fromisoformat(str(value)[:10])


def _number(value: object) -> float:
    missing = value is None or value is pd.NA or value == "" or (
        isinstance(value, float) and math.isnan(value))
    return math.nan if missing else float(value)


def transport_frame(spec: DatasetSpec, frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` in the types pyreadstat writes: text as str (missing as blank),
    numbers as float (missing as NaN), dates as ``datetime.date``."""
    out = {}
    for v in spec.variables:
        if len(v.name) > MAX_NAME or len(v.label) > MAX_LABEL:
            raise ValueError(f"{spec.name}.{v.name}: name or label too long for XPT v5")
        col = frame[v.name]
        if v.type == "text":
            if text_length(col) > MAX_TEXT:
                raise ValueError(f"{spec.name}.{v.name}: text longer than {MAX_TEXT} bytes")
            out[v.name] = pd.Series(["" if x is None or (isinstance(x, float) and math.isnan(x))
                                     else str(x) for x in col], dtype=object)
        elif v.type == "date":
            out[v.name] = pd.Series([_date(x) for x in col], dtype=object)
        else:
            out[v.name] = pd.Series([_number(x) for x in col], dtype=float)
    return pd.DataFrame(out, columns=[v.name for v in spec.variables])


def set_header_stamps(raw: bytes, when: dt.datetime) -> bytes:
    """``raw`` with every time stamp of its header records (before the first
    observation header) replaced by ``when``."""
    end = raw.find(_OBS)
    end = len(raw) if end < 0 else end
    stamp = when.strftime("%d%b%y:%H:%M:%S").upper().encode("ascii")
    return _STAMP.sub(stamp, raw[:end]) + raw[end:]


def write_xpt(spec: DatasetSpec, frame: pd.DataFrame, path: str | os.PathLike[str],
              created: dt.datetime) -> None:
    """Write the transport file of ``frame`` (built by ``spec``) atomically."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    try:
        pyreadstat.write_xport(
            transport_frame(spec, frame), str(tmp), file_label=spec.label,
            column_labels=[v.label for v in spec.variables], table_name=spec.name,
            file_format_version=5)
        tmp.write_bytes(set_header_stamps(tmp.read_bytes(), created))
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
