"""Number formatting for the report: one place for every printed number.

The report template and the tests use these same functions, so a number in the PDF
can be checked against the results tables by formatting the table value again.

Conventions:
- rounding is half-up on the decimal representation of the float (``2.25`` gives
  ``2.3``), not Python's binary half-even;
- negative numbers use the typographic minus sign U+2212 (``−1.5``); a value that
  rounds to zero is printed without a sign;
- ranges use an en dash (``2–12``), or `` to `` when an end is negative;
- a missing value (None/NaN) prints as :data:`MISSING`; a median that was not
  reached (NaN) prints as :data:`NOT_REACHED`.
"""

from __future__ import annotations

import math
from decimal import ROUND_HALF_UP, Decimal

MINUS = "\u2212"
EN_DASH = "\u2013"
MISSING = "\u2014"  # em dash: not applicable / none
NOT_REACHED = "not reached"

__all__ = [
    "EN_DASH",
    "MINUS",
    "MISSING",
    "NOT_REACHED",
    "is_missing",
    "fmt_number",
    "fmt_count",
    "fmt_counted",
    "fmt_percent",
    "fmt_n_of_N",
    "fmt_proportion_ci",
    "fmt_ci",
    "fmt_months",
    "fmt_median",
    "fmt_range",
    "fmt_median_range",
    "fmt_bool",
    "fmt_date",
    "fmt_text",
    "fmt_auto",
]


def is_missing(value: object) -> bool:
    """True for None, NaN, the empty string and pandas' NA-like values."""
    if value is None:
        return True
    if isinstance(value, str):
        return value.strip() == "" or value.strip().lower() == "nan"
    try:
        return bool(math.isnan(float(value)))  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return False


def _round(value: float, decimals: int) -> Decimal:
    if decimals < 0:
        raise ValueError(f"decimals must be >= 0, got {decimals}")
    quantum = Decimal(1).scaleb(-decimals)
    return Decimal(repr(float(value))).quantize(quantum, rounding=ROUND_HALF_UP)


def fmt_number(value: float | int | None, decimals: int = 1, thousands: bool = True) -> str:
    """A number with a fixed number of decimals, U+2212 minus, thousands commas."""
    if is_missing(value):
        return MISSING
    value = float(value)  # type: ignore[arg-type]
    if math.isinf(value):
        return ("" if value > 0 else MINUS) + "\u221e"
    rounded = _round(value, decimals)
    negative = rounded < 0
    text = f"{abs(rounded):,.{decimals}f}" if thousands else f"{abs(rounded):.{decimals}f}"
    return (MINUS + text) if negative else text


def fmt_count(value: float | int | None) -> str:
    """A count: an integer with thousands commas (``17,564``). Rejects fractions."""
    if is_missing(value):
        return MISSING
    number = float(value)  # type: ignore[arg-type]
    if number != round(number):
        raise ValueError(f"a count must be whole, got {value!r}")
    return fmt_number(number, 0)


def fmt_counted(value: float | int | None, singular: str, plural: str | None = None,
                zero: str = "no") -> str:
    """A count with its noun: ``1 patient``, ``2 patients``, ``no patients``."""
    if is_missing(value):
        return MISSING
    n = float(value)  # type: ignore[arg-type]
    noun = singular if n == 1 else (plural or f"{singular}s")
    return f"{zero} {noun}" if n == 0 else f"{fmt_count(n)} {noun}"


def fmt_percent(proportion: float | None, decimals: int = 1) -> str:
    """A proportion (0-1) as a percentage: ``0.5`` -> ``50.0%``."""
    if is_missing(proportion):
        return MISSING
    return fmt_number(float(proportion) * 100.0, decimals) + "%"  # type: ignore[arg-type]


def fmt_n_of_N(numerator: float | int, denominator: float | int, decimals: int = 1) -> str:
    """``6/12 (50.0%)``; with a zero denominator ``0/0 (—)``."""
    num, den = fmt_count(numerator), fmt_count(denominator)
    if is_missing(denominator) or float(denominator) == 0:
        return f"{num}/{den} ({MISSING})"
    return f"{num}/{den} ({fmt_percent(float(numerator) / float(denominator), decimals)})"


def fmt_ci(lower: float | None, upper: float | None, decimals: int = 1, level: float = 0.95,
           percent: bool = True) -> str:
    """``95% CI 21.1–78.9`` (bounds as percentages when ``percent``)."""
    scale = 100.0 if percent else 1.0
    if is_missing(lower) and is_missing(upper):
        return f"{fmt_number(level * 100, 0)}% CI not estimable"
    lo = MISSING if is_missing(lower) else fmt_number(float(lower) * scale, decimals)  # type: ignore[arg-type]
    hi = NOT_REACHED if is_missing(upper) else fmt_number(float(upper) * scale, decimals)  # type: ignore[arg-type]
    sep = " to " if (lo.startswith(MINUS) or hi.startswith(MINUS)) else EN_DASH
    return f"{fmt_number(level * 100, 0)}% CI {lo}{sep}{hi}"


def fmt_proportion_ci(proportion: float, lower: float, upper: float, decimals: int = 1,
                      level: float = 0.95) -> str:
    """``50.0% (95% CI 21.1–78.9)``: a proportion with its confidence interval."""
    return f"{fmt_percent(proportion, decimals)} ({fmt_ci(lower, upper, decimals, level)})"


def fmt_months(value: float | None, decimals: int = 1, unit: bool = True) -> str:
    """A duration in months: ``5.5 months``; ``1.0 month``; NaN -> ``not reached``."""
    if is_missing(value):
        return NOT_REACHED
    text = fmt_number(value, decimals)
    if not unit:
        return text
    return f"{text} {'month' if text in ('1', '1.0', '1.00') else 'months'}"


def fmt_median(value: float | None, decimals: int = 1) -> str:
    """A median; NaN means the median was not reached."""
    if is_missing(value):
        return NOT_REACHED
    return fmt_number(value, decimals)


def fmt_range(low: float | None, high: float | None, decimals: int = 1) -> str:
    """``2–12``; ``−1.0 to 2.0`` when an end is negative."""
    lo, hi = fmt_number(low, decimals), fmt_number(high, decimals)
    sep = " to " if (lo.startswith(MINUS) or hi.startswith(MINUS)) else EN_DASH
    return f"{lo}{sep}{hi}"


def fmt_median_range(median: float | None, low: float | None, high: float | None,
                     decimals: int = 1) -> str:
    """``5.5 (2.0–12.0)``: median with range; ``—`` when there are no values."""
    if is_missing(median) and is_missing(low) and is_missing(high):
        return MISSING
    return f"{fmt_median(median, decimals)} ({fmt_range(low, high, decimals)})"


def fmt_bool(value: object) -> str:
    """``yes``/``no`` for booleans and ``True``/``False``/1/0 cells; ``—`` when empty."""
    if is_missing(value):
        return MISSING
    if isinstance(value, str):
        text = value.strip().lower()
        if text in ("true", "1", "1.0", "yes"):
            return "yes"
        if text in ("false", "0", "0.0", "no"):
            return "no"
        raise ValueError(f"not a boolean: {value!r}")
    return "yes" if bool(value) else "no"


def fmt_date(value: object) -> str:
    """An ISO date as written in the results tables; ``—`` when empty."""
    if is_missing(value):
        return MISSING
    return str(value).strip()[:10]


def fmt_text(value: object) -> str:
    """Free text as it is (escaping is the template's job); ``—`` when empty."""
    if is_missing(value):
        return MISSING
    return str(value)


def fmt_auto(value: object, decimals: int = 2) -> str:
    """A value of unknown kind (e.g. a generic ARD row): integers as counts,
    other numbers with ``decimals``, text as is."""
    if is_missing(value):
        return MISSING
    try:
        number = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return str(value)
    if number == round(number) and abs(number) < 1e15:
        return fmt_number(number, 0)
    return fmt_number(number, decimals)


def fmt_signed_int(value: float | int | None) -> str:
    """A whole day number with its sign: ``−84``, ``0``, ``+83`` (U+2212 minus)."""
    if is_missing(value):
        return MISSING
    text = fmt_count(value)
    return f"+{text}" if float(value) > 0 else text  # type: ignore[arg-type]
