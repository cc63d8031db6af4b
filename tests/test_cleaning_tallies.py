"""The cleaning log counted by kind of action (aiha.cleaning.tallies, rule
cleaning_summary), on a log written here."""

from __future__ import annotations

import pandas as pd

from aiha.cleaning.tallies import LISTED, cleaning_tallies, routine_kind


def test_each_routine_kind_counted_in_config_order_and_the_rest_listed():
    """Reasons are counted by the first routine prefix they begin with (0 for a kind
    without rows); reasons that begin with none are counted as listed individually."""
    log = pd.DataFrame({"reason": ["unit normalized: g/L", "pseudonymized", "unit normalized",
                                   "duplicate removed", "Unit normalized", "pseudonymized x"]})
    out = cleaning_tallies(log, ["pseudonymized", "unit normalized", "date normalized"])
    assert out.to_dict("list") == {
        "action": ["pseudonymized", "unit normalized", "date normalized", LISTED],
        "rows": [2, 2, 0, 2]}  # "Unit normalized" (capital U) and the duplicate: listed


def test_the_first_matching_prefix_wins_and_a_repeated_prefix_counts_once():
    """Overlapping prefixes: a reason counts under the first; a prefix given twice is one row."""
    assert routine_kind("unit normalized: Hb", ["unit", "unit normalized"]) == "unit"
    assert routine_kind("corrected", ["unit"]) is None
    log = pd.DataFrame({"reason": ["unit normalized: Hb", "unit x"]})
    out = cleaning_tallies(log, ["unit normalized", "unit", "unit normalized"])
    assert out.to_dict("list") == {"action": ["unit normalized", "unit", LISTED], "rows": [1, 1, 0]}


def test_without_routine_actions_every_row_is_listed():
    """No routine kinds: one row, every log row listed individually; an empty log gives 0."""
    log = pd.DataFrame({"reason": ["a", "b", "c"]})
    assert cleaning_tallies(log, []).to_dict("list") == {"action": [LISTED], "rows": [3]}
    empty = pd.DataFrame({"reason": pd.Series([], dtype=str)})
    assert cleaning_tallies(empty, ["a"]).to_dict("list") == {"action": ["a", LISTED], "rows": [0, 0]}


def test_the_rule_reads_the_routine_reasons_of_the_report_config():
    """cleaning_summary_config: report.cleaning_log_routine as strings, in order; none
    without the key or the section."""
    from aiha.settings import cleaning_summary_config

    cfg = {"report": {"cleaning_log_routine": ["unit normalized", 12, "pseudonymized"],
                      "title": "x"}, "response": {}}
    assert cleaning_summary_config(cfg) == {"routine": ["unit normalized", "12", "pseudonymized"]}
    assert cleaning_summary_config({"report": {"title": "x"}}) == {"routine": []}
    assert cleaning_summary_config({"report": {"cleaning_log_routine": None}}) == {"routine": []}
    assert cleaning_summary_config({}) == {"routine": []}
