"""Unit normalization of laboratory values.

Hemoglobin goes to g/dL, bilirubin to mg/dL, LDH to a multiple of the site's
upper limit of normal (x ULN). Unit strings are matched case-insensitively after
trimming; ``u`` and ``µ``/``μ`` are interchangeable.
"""

from __future__ import annotations

# 1 mmol/L of hemoglobin (monomer, 16.11 g/mol x 1000 / 10) = 1.611 g/dL.
HB_MMOL_L_TO_G_DL = 1.611
# Bilirubin: 17.1 umol/L = 1 mg/dL.
BILIRUBIN_UMOL_L_PER_MG_DL = 17.1

CANONICAL_UNIT = {"hb": "g/dL", "bilirubin": "mg/dL", "ldh": "x ULN"}


def _norm(unit: str) -> str:
    return unit.strip().lower().replace("µ", "u").replace("μ", "u").replace(" ", "")


_HB_FACTORS = {
    "g/dl": 1.0,
    "g/l": 0.1,
    "mmol/l": HB_MMOL_L_TO_G_DL,
}
_BILI_FACTORS = {
    "mg/dl": 1.0,
    "umol/l": 1.0 / BILIRUBIN_UMOL_L_PER_MG_DL,
}
_LDH_UNITS = {"u/l", "iu/l", "ui/l"}


class UnknownUnitError(ValueError):
    """A unit string this module cannot convert."""


def hb_to_g_dl(value: float, unit: str) -> float:
    """Hemoglobin in g/dL from mmol/L, g/L or g/dL."""
    try:
        return value * _HB_FACTORS[_norm(unit)]
    except KeyError:
        raise UnknownUnitError(
            f"unknown hemoglobin unit {unit!r}; expected one of g/dL, g/L, mmol/L"
        ) from None


def bilirubin_to_mg_dl(value: float, unit: str) -> float:
    """Total bilirubin in mg/dL from umol/L or mg/dL."""
    try:
        return value * _BILI_FACTORS[_norm(unit)]
    except KeyError:
        raise UnknownUnitError(
            f"unknown bilirubin unit {unit!r}; expected one of mg/dL, umol/L"
        ) from None


def ldh_to_x_uln(value: float, unit: str, uln_u_l: float) -> float:
    """LDH as a multiple of the site's upper limit of normal."""
    if _norm(unit) not in _LDH_UNITS:
        raise UnknownUnitError(f"unknown LDH unit {unit!r}; expected U/L")
    if uln_u_l <= 0:
        raise ValueError(f"LDH upper limit of normal must be positive, got {uln_u_l}")
    return value / uln_u_l


def to_canonical(analyte: str, value: float, unit: str, ldh_uln_u_l: float) -> float:
    """Normalize one lab value of ``analyte`` (hb, bilirubin, ldh)."""
    if analyte == "hb":
        return hb_to_g_dl(value, unit)
    if analyte == "bilirubin":
        return bilirubin_to_mg_dl(value, unit)
    if analyte == "ldh":
        return ldh_to_x_uln(value, unit, ldh_uln_u_l)
    raise ValueError(f"unknown analyte {analyte!r}")


def hb_from_g_dl(value_g_dl: float, unit: str) -> float:
    """Inverse of :func:`hb_to_g_dl` (used to write site exports)."""
    return value_g_dl / _HB_FACTORS[_norm(unit)]


def bilirubin_from_mg_dl(value_mg_dl: float, unit: str) -> float:
    """Inverse of :func:`bilirubin_to_mg_dl` (used to write site exports)."""
    return value_mg_dl / _BILI_FACTORS[_norm(unit)]
