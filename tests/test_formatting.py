"""Unit tests of aiha.formatting at the edge cases."""

from __future__ import annotations

import math

import pytest

from aiha import formatting as F

M = "\u2212"


@pytest.mark.parametrize(
    ("value", "decimals", "expected"),
    [
        (0.5, 1, "0.5"),
        (2.25, 1, "2.3"),  # half-up on the decimal representation, not half-even
        (2.35, 1, "2.4"),
        (0.125, 2, "0.13"),
        (-1.5, 1, f"{M}1.5"),
        (-0.04, 1, "0.0"),  # rounds to zero: no sign
        (-0.0, 0, "0"),
        (17564, 0, "17,564"),
        (1234567.891, 2, "1,234,567.89"),
        (9.995, 2, "10.00"),
        (5, 0, "5"),
    ],
)
def test_fmt_number(value: float, decimals: int, expected: str) -> None:
    assert F.fmt_number(value, decimals) == expected


def test_fmt_number_missing_and_inf() -> None:
    assert F.fmt_number(None) == F.MISSING
    assert F.fmt_number(math.nan) == F.MISSING
    assert F.fmt_number("") == F.MISSING
    assert F.fmt_number(math.inf) == "\u221e"
    assert F.fmt_number(-math.inf) == f"{M}\u221e"
    with pytest.raises(ValueError):
        F.fmt_number(1.0, -1)


def test_fmt_number_from_table_strings() -> None:
    assert F.fmt_number("7.4", 1) == "7.4"
    assert F.fmt_number("-0.3", 1) == f"{M}0.3"


def test_fmt_count() -> None:
    assert F.fmt_count(0) == "0"
    assert F.fmt_count(12.0) == "12"
    assert F.fmt_count("17564") == "17,564"
    assert F.fmt_count(None) == F.MISSING
    with pytest.raises(ValueError):
        F.fmt_count(2.5)


@pytest.mark.parametrize(
    ("p", "decimals", "expected"),
    [(0.5, 1, "50.0%"), (4 / 7, 1, "57.1%"), (4 / 7, 0, "57%"), (0.0, 1, "0.0%"),
     (1.0, 0, "100%"), (2 / 3, 2, "66.67%"), (0.0005, 1, "0.1%")],
)
def test_fmt_percent(p: float, decimals: int, expected: str) -> None:
    assert F.fmt_percent(p, decimals) == expected


def test_fmt_n_of_N() -> None:
    assert F.fmt_n_of_N(6, 12) == "6/12 (50.0%)"
    assert F.fmt_n_of_N(4, 7, 0) == "4/7 (57%)"
    assert F.fmt_n_of_N(0, 0) == f"0/0 ({F.MISSING})"
    assert F.fmt_n_of_N(3, 3) == "3/3 (100.0%)"


def test_fmt_proportion_ci() -> None:
    # Clopper-Pearson 6/12 and 4/7 (STUDY facts).
    assert F.fmt_proportion_ci(0.5, 0.2109446, 0.7890554) == "50.0% (95% CI 21.1\u201378.9)"
    assert F.fmt_proportion_ci(4 / 7, 0.1840516, 0.9010117) == "57.1% (95% CI 18.4\u201390.1)"
    assert F.fmt_proportion_ci(0.0, 0.0, 0.2646, level=0.90) == "0.0% (90% CI 0.0\u201326.5)"


def test_fmt_ci_months_and_not_reached() -> None:
    assert F.fmt_ci(2.0, math.nan, 1, percent=False) == "95% CI 2.0\u2013not reached"
    assert F.fmt_ci(math.nan, math.nan, 1, percent=False) == "95% CI not estimable"
    assert F.fmt_ci(-0.5, 0.5, 1, percent=False) == f"95% CI {M}0.5 to 0.5"


def test_fmt_months_and_median() -> None:
    assert F.fmt_months(5.5) == "5.5 months"
    assert F.fmt_months(1.0) == "1.0 month"
    assert F.fmt_months(1, 0) == "1 month"
    assert F.fmt_months(12, 0) == "12 months"
    assert F.fmt_months(math.nan) == F.NOT_REACHED
    assert F.fmt_months(5.0, unit=False) == "5.0"
    assert F.fmt_median(math.nan) == "not reached"
    assert F.fmt_median(None) == "not reached"
    assert F.fmt_median(5.0, 0) == "5"


def test_fmt_range_and_median_range() -> None:
    assert F.fmt_range(2, 12, 0) == "2\u201312"
    assert F.fmt_range(-1.0, 2.0, 1) == f"{M}1.0 to 2.0"
    assert F.fmt_median_range(5.5, 2, 12, 1) == "5.5 (2.0\u201312.0)"
    assert F.fmt_median_range(math.nan, math.nan, math.nan) == F.MISSING
    assert F.fmt_median_range(math.nan, 2, 12, 0) == "not reached (2\u201312)"


def test_fmt_bool_date_text_auto() -> None:
    assert F.fmt_bool(True) == "yes"
    assert F.fmt_bool("False") == "no"
    assert F.fmt_bool("1.0") == "yes"
    assert F.fmt_bool("") == F.MISSING
    with pytest.raises(ValueError):
        F.fmt_bool("maybe")
    assert F.fmt_date("2023-06-30") == "2023-06-30"
    assert F.fmt_date("2023-06-30T00:00:00") == "2023-06-30"
    assert F.fmt_date(None) == F.MISSING
    assert F.fmt_text("<b>x</b>") == "<b>x</b>"  # escaping is the template's job
    assert F.fmt_text("") == F.MISSING
    assert F.fmt_auto(2.0) == "2"
    assert F.fmt_auto(0.456, 2) == "0.46"
    assert F.fmt_auto(-3) == f"{M}3"
    assert F.fmt_auto("abc") == "abc"


def test_is_missing() -> None:
    assert F.is_missing(None) and F.is_missing(math.nan) and F.is_missing(" ")
    assert F.is_missing("nan")
    assert not F.is_missing(0) and not F.is_missing("0") and not F.is_missing(False)


def test_signed_day_numbers() -> None:
    from aiha.formatting import MINUS, fmt_signed_int

    assert fmt_signed_int(-84) == f"{MINUS}84"
    assert fmt_signed_int(0) == "0"
    assert fmt_signed_int(83) == "+83"
    assert fmt_signed_int(float("nan")) == "\u2014"
