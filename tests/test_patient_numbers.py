"""Short patient numbers: by analysis group in report order, then pseudonym."""

from __future__ import annotations

import pandas as pd

from aiha.patient_numbers import patient_numbers
from aiha.report.clinical_tables import response_listing
from aiha.report.model import Fmt


def frame(rows: list[tuple[str, str]]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=["patient_id", "analysis_group"])


def test_numbers_follow_group_order_then_pseudonym() -> None:
    responses = frame([("PT-C", "cAIHA_nonanemic"), ("PT-B", "cAIHA"), ("PT-Z", "wAIHA"),
                       ("PT-A", "cAIHA"), ("PT-Y", "wAIHA")])
    # wAIHA (Y, Z), then cAIHA (A, B), then non-anemic cAIHA (C)
    assert patient_numbers(responses) == {"PT-Y": "P01", "PT-Z": "P02", "PT-A": "P03",
                                          "PT-B": "P04", "PT-C": "P05"}


def test_numbers_do_not_depend_on_row_order() -> None:
    rows = [("PT-2", "wAIHA"), ("PT-1", "cAIHA"), ("PT-3", "wAIHA"), ("PT-0", "other")]
    forward = patient_numbers(frame(rows))
    backward = patient_numbers(frame(rows[::-1]))
    assert forward == backward
    # a group outside the report's three comes last
    assert forward == {"PT-2": "P01", "PT-3": "P02", "PT-1": "P03", "PT-0": "P04"}


def test_unknown_groups_sort_alphabetically_after_the_known_ones() -> None:
    rows = [("PT-1", "zeta"), ("PT-2", "alpha"), ("PT-3", "cAIHA")]
    assert patient_numbers(frame(rows)) == {"PT-3": "P01", "PT-2": "P02", "PT-1": "P03"}


def test_a_hundred_patients_get_three_digits() -> None:
    rows = [(f"PT-{i:03d}", "wAIHA") for i in range(100)]
    numbers = patient_numbers(frame(rows))
    assert numbers["PT-000"] == "P001" and numbers["PT-099"] == "P100"
    assert len(set(numbers.values())) == 100


def test_listing_1_shows_the_number_next_to_the_pseudonym() -> None:
    responses = pd.DataFrame({
        "patient_id": ["PT-B", "PT-A", "PT-C"],
        "analysis_group": ["cAIHA", "cAIHA", "wAIHA"],
        "baseline_hb": ["8.0", "7.5", "7.0"], "max_hb": ["11.0", "9.0", "12.5"],
        "hb_change": ["3.0", "1.5", "5.5"], "best_response": ["HR", "NR", "CR"],
        "response_date": ["2022-03-01", "", "2022-02-01"], "relapse_date": ["", "", ""],
        "relapse_reason": ["", "", ""], "duration_months": ["4.0", "", "6.0"],
        "ongoing": ["True", "False", "True"]})
    table = response_listing(responses, Fmt())
    assert table.header[:2] == ["Patient", "No."]
    assert [row[:2] for row in table.rows] == [["PT-C", "P01"], ["PT-A", "P02"], ["PT-B", "P03"]]
    assert len(table.numeric) == len(table.header)
