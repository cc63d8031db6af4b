"""SAS transport files, version 5 (the SAS XPORT format regulators take), written
directly: the format is public (SAS technical note TS-140) and short.

A file holds one dataset. Numbers are 8-byte IBM System/360 hexadecimal floats
(:func:`ibm_float`; an IEEE double converts exactly); a missing number is the
SAS missing value ``.``. Text is Latin-1, padded with blanks, at most 200 bytes.
Names have at most 8 characters and labels at most 40. Dates are SAS date numbers
(days since 1960-01-01) with format ``DATE9.``.
"""

from __future__ import annotations

import datetime as dt
import math
import os
import struct
from pathlib import Path

import pandas as pd

from aiha.adam.metadata import MAX_LABEL, MAX_NAME, MAX_TEXT, DatasetSpec, text_length

SAS_EPOCH = dt.date(1960, 1, 1)
MISSING = b"\x2e" + b"\x00" * 7


def ibm_float(x: float | None) -> bytes:
    """``x`` as an 8-byte IBM hexadecimal float (big-endian); ``None``/NaN -> ``.``."""
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return MISSING
    x = float(x)
    if math.isinf(x):
        raise ValueError("an infinite number has no SAS transport form")
    if x == 0:
        return b"\x00" * 8
    sign = 0x80 if x < 0 else 0
    mantissa, exp2 = math.frexp(abs(x))  # abs(x) = mantissa * 2**exp2, 0.5 <= mantissa < 1
    exp16 = -(-exp2 // 4)  # ceil(exp2 / 4): fraction in [1/16, 1)
    fraction = int(mantissa * 2 ** (56 - (4 * exp16 - exp2)))
    if not 0 <= exp16 + 64 <= 127:
        raise ValueError(f"{x!r} is out of the IBM float range")
    return bytes([sign | (exp16 + 64)]) + fraction.to_bytes(7, "big")


def sas_date(value: object) -> float | None:
    """An ISO date as days since 1960-01-01 (``None`` if missing)."""
    if value is None or value == "" or (isinstance(value, float) and math.isnan(value)):
        return None
    return float((dt.date.fromisoformat(str(value)[:10]) - SAS_EPOCH).days)


def _header(kind: str, tail: str = "0" * 30) -> bytes:
    text = f"HEADER RECORD*******{kind:<8}HEADER RECORD!!!!!!!{tail}"
    return text.ljust(80).encode("ascii")


def _pad(data: bytes) -> bytes:
    return data + b" " * (-len(data) % 80)


def _text(value: str, width: int) -> bytes:
    raw = value.encode("latin-1")
    if len(raw) > width:
        raise ValueError(f"{value!r} is longer than {width} bytes")
    return raw.ljust(width)


def _stamp(when: dt.datetime) -> str:
    return when.strftime("%d%b%y:%H:%M:%S").upper()


def _encode(value: object, kind: str, width: int) -> bytes:
    """One value as its bytes in an observation."""
    if kind == "text":
        missing = value is None or (isinstance(value, float) and math.isnan(value))
        return _text("" if missing else str(value), width)
    if kind == "date":
        return ibm_float(sas_date(value))
    missing = value is None or value is pd.NA or (
        isinstance(value, float) and math.isnan(value)) or value == ""
    return ibm_float(None if missing else float(value))


def to_xpt(spec: DatasetSpec, frame: pd.DataFrame, created: dt.datetime) -> bytes:
    """The transport file of ``frame`` (built by ``spec``) as bytes."""
    stamp = _stamp(created)
    out = [_header("LIBRARY"),
           _text("SAS     SAS     SASLIB  9.4     aiha    ", 40) + b" " * 24
           + stamp.encode("ascii"),
           stamp.encode("ascii").ljust(80),
           _header("MEMBER", "000000000000000001600000000140"),
           _header("DSCRPTR"),
           _text(f"SAS     {spec.name:<8}SASDATA 9.4     aiha    ", 48) + b" " * 16
           + stamp.encode("ascii"),
           stamp.encode("ascii") + b" " * 16 + _text(spec.label, MAX_LABEL) + b" " * 8]
    widths, namestrs, pos = [], [], 0
    for i, v in enumerate(spec.variables, start=1):
        if len(v.name) > MAX_NAME or len(v.label) > MAX_LABEL:
            raise ValueError(f"{spec.name}.{v.name}: name or label too long for XPT v5")
        width = 8 if v.type != "text" else text_length(frame[v.name])
        if width > MAX_TEXT:
            raise ValueError(f"{spec.name}.{v.name}: text longer than {MAX_TEXT} bytes")
        fmt = "DATE" if v.type == "date" else ""
        namestrs.append(struct.pack(">hhhh8s40s8shhh2s8shhl52s", 2 if v.type == "text" else 1,
                                    0, width, i, _text(v.name, 8), _text(v.label, 40),
                                    _text(fmt, 8), 9 if fmt else 0, 0, 0, b"\x00\x00",
                                    b" " * 8, 0, 0, pos, b"\x00" * 52))
        widths.append(width)
        pos += width
    out.append(_header("NAMESTR", f"000000{len(spec.variables):04d}" + "0" * 20))
    out.append(_pad(b"".join(namestrs)))
    out.append(_header("OBS"))
    columns = [[_encode(value, v.type, width) for value in frame[v.name]]
               for v, width in zip(spec.variables, widths)]
    out.append(_pad(b"".join(b"".join(row) for row in zip(*columns))))
    return b"".join(out)


def write_xpt(spec: DatasetSpec, frame: pd.DataFrame, path: str | os.PathLike[str],
              created: dt.datetime) -> None:
    """Write the transport file atomically."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_bytes(to_xpt(spec, frame, created))
    os.replace(tmp, path)
