"""``formattedValue``: each ARD row as the report prints it.

The report prints most numbers inside a cell made of several rows (``6/12 (50.0%);
95% CI 21.1–78.9``, ``5 (2–12)``). An ARS result holds one row, so its formatted
value is that row's part of the cell, made by the same functions the report's tables
call (:mod:`aiha.formatting`, and :func:`aiha.report.model.compact` /
:func:`aiha.report.model._compact_pair` where the report decides the decimals of a
range from both its ends), with the decimals in force (:class:`aiha.report.model.Fmt`).
tests/test_ars.py checks, on the demo, that every formatted value is found in the
text of each report cell that printed its row.

A row the report does not print is formatted by the same rule as the printed rows of
its kind.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from aiha import formatting as F
from aiha.report.model import Fmt, _compact_pair, compact

Key = tuple[str, str, str]

# Medians and ranges printed with fixed decimals (the report's baseline and response
# tables); the others are printed compact (whole numbers without decimals).
FIXED_DECIMALS = {"baseline_hb": "hb", "baseline_ldh": "ldh", "baseline_bilirubin": "ldh",
                  "nonanemic_hb_change": "hb"}
MEDIAN_MONTHS = ("dor_median_crude", "dor_median_km", "dor_median_reported")
COUNT_STATISTICS = {"n", "numerator", "denominator", "units", "samples",
                    "samples_excluded_qc", "reappeared_without_relapse"}
_SUMMARY = re.compile(r"^(?P<prefix>.*?)(?P<which>median|min|max)$")


def _count(value: float, fmt: Fmt) -> str:
    if F.is_missing(value):
        return F.MISSING
    if float(value) != round(float(value)):
        return F.fmt_auto(value, fmt.other)
    return F.fmt_count(value)


def formatted_value(key: Key, unit: str, values: Mapping[Key, float], fmt: Fmt) -> str:
    """The printed form of ARD row ``key`` (unit ``unit``); ``values`` holds every ARD
    row (for the other end of a range)."""
    stat_id, group, statistic = key
    value = values[key]
    decimals = {"hb": fmt.hb, "ldh": fmt.ldh}
    if unit == "flag":  # read to choose the words: "+" on a censored duration
        if statistic == "censored":
            return "+" if value == 1 else ""
        return "" if value == 1 else "not estimable"
    if statistic.endswith("proportion") or statistic == "censored_share":
        return F.fmt_percent(value, fmt.percent)
    if stat_id == "dor_landmark" and statistic.endswith("_rate"):
        return "not estimable" if F.is_missing(value) else F.fmt_percent(value, fmt.percent)
    if statistic.endswith(("ci_lower", "ci_upper")):
        stem = statistic[:-len("ci_lower")]
        pair = [values.get((stat_id, group, f"{stem}ci_{b}")) for b in ("lower", "upper")]
        if all(v is not None and F.is_missing(v) for v in pair) or (stat_id == "dor_landmark" and
                                                   F.is_missing(value)):
            return "not estimable"
        if F.is_missing(value):
            return F.MISSING if statistic.endswith("ci_lower") else F.NOT_REACHED
        scale, places = (100.0, fmt.percent) if unit == "proportion" else (1.0, fmt.months)
        return F.fmt_number(float(value) * scale, places)
    if statistic in ("events", "censored") or stat_id == "disposition" or \
            (stat_id == "followup_median" and statistic == "n"):
        return _count(value, fmt)
    if stat_id == "followup_median":
        return F.fmt_number(value, fmt.months)
    if stat_id in MEDIAN_MONTHS:
        return F.fmt_months(value, fmt.months)
    if stat_id in ("dor_min", "dor_max"):
        lo = values.get(("dor_min", group, "value"), value)
        hi = values.get(("dor_max", group, "value"), value)
        return F.fmt_number(value, _compact_pair(lo, hi)[2])
    if stat_id == "ongoing_duration":
        return compact(value)
    if statistic in ("start_day", "end_day"):
        return F.fmt_signed_int(value)
    summary = _SUMMARY.match(statistic)
    if summary and unit not in ("%", "pp", "fold"):
        prefix, which = summary["prefix"], summary["which"]
        places = decimals.get(FIXED_DECIMALS.get(stat_id, ""))
        if places is not None:
            return F.fmt_median(value, places) if which == "median" else F.fmt_number(value, places)
        if which == "median":
            return compact(value)
        lo = values.get((stat_id, group, f"{prefix}min"), value)
        hi = values.get((stat_id, group, f"{prefix}max"), value)
        return F.fmt_number(value, _compact_pair(lo, hi)[2])
    if statistic in COUNT_STATISTICS or statistic.endswith(" n") or \
            re.fullmatch(r"grade_\d+", statistic):
        return _count(value, fmt)
    if unit == "%":
        return F.MISSING if F.is_missing(value) else f"{F.fmt_number(value, fmt.percent)}%"
    if unit == "pp":
        if F.is_missing(value):
            return F.MISSING
        return f"{'+' if float(value) > 0 else ''}{F.fmt_number(value, fmt.percent)} pp"
    if unit == "fold":
        return F.fmt_number(value, 1)
    if unit == "boolean":
        return F.fmt_bool(value)
    if unit in ("days", "patients", "events", "samples", "doses", "units"):
        return _count(value, fmt)
    return F.fmt_auto(value, fmt.other)
