"""Durability, follow-up, subgroups and disposition (issue 26, efficacy): each number
on a cohort built here, against a value computed by hand."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from aiha import durability, subgroups
from aiha.statistics import kaplan_meier


def test_event_counts_and_the_censored_share():
    assert durability.event_counts([0, 1, 1, 0, 2]) == (2, 3)
    assert durability.censored_share([0, 1, 1, 1]) == 0.75
    assert math.isnan(durability.censored_share([]))


@pytest.mark.parametrize("cnsr,share,expected", [
    ([0, 1], 0.5, True),        # exactly the share: still printed
    ([0, 1, 1], 0.5, False),    # 2 of 3 censored
    ([1, 1, 1, 0], 0.8, True),  # 3 of 4 under a looser rule
    ([], 0.5, False),           # no durations: nothing to print
])
def test_a_crude_median_is_printed_only_below_the_censored_share(cnsr, share, expected):
    assert durability.crude_median_estimable(cnsr, share) is expected


def test_landmark_rates_read_the_step_at_or_before_the_landmark():
    """Durations 2 (event), 4 (censored), 6 (event), 8 (censored): S = 3/4 from 2,
    3/4 * 1/2 = 3/8 from 6 (2 at risk at 6, one event)."""
    km = kaplan_meier([2, 4, 6, 8], [1, 0, 1, 0], 0.95, "log")
    assert durability.landmark_rate(km, 1.0)[0] == 1.0       # before the first event
    assert durability.landmark_rate(km, 2.0)[0] == pytest.approx(0.75)
    assert durability.landmark_rate(km, 5.9)[0] == pytest.approx(0.75)
    assert durability.landmark_rate(km, 6.0)[0] == pytest.approx(0.375)
    assert durability.landmark_rate(km, 8.0)[0] == pytest.approx(0.375)
    assert all(math.isnan(v) for v in durability.landmark_rate(km, 8.5))  # beyond the data
    # The CI is the band's at that step: log transform, Greenwood var(log S) at 2 is
    # 1 / (4 * 3): S exp(+-1.96 sqrt(1/12)).
    _, lo, hi = durability.landmark_rate(km, 3.0)
    se = math.sqrt(1 / 12)
    assert lo == pytest.approx(0.75 * math.exp(-1.959964 * se), rel=1e-5)
    assert hi == pytest.approx(min(1.0, 0.75 * math.exp(1.959964 * se)), rel=1e-5)


def test_median_follow_up_by_the_reverse_kaplan_meier_method():
    """Follow-up 3, 5, 7, 9 months, the patient at 5 died (CNSR = 0: censored in the
    reverse estimate). Reverse events at 3, 7, 9: S = 3/4 after 3; at 7 two at risk,
    S = 3/4 * 1/2 = 3/8 < 0.5: median 7 (the crude median of the four would be 6)."""
    med, _, _ = durability.reverse_km_followup([3, 5, 7, 9], [1, 0, 1, 1], 0.95, "log",
                                               "r_survival", 1e-9)
    assert med == 7.0
    # Nobody died: the median of the times (S = 0.5 on the flat segment 5-7: the midpoint).
    med, _, _ = durability.reverse_km_followup([3, 5, 7, 9], [1, 1, 1, 1], 0.95, "log",
                                               "r_survival", 1e-9)
    assert med == 6.0
    assert all(math.isnan(v) for v in durability.reverse_km_followup([], [], 0.95, "log",
                                                                     "r_survival", 1e-9))


def _members():
    return pd.DataFrame({"USUBJID": list("ABCDE"), "RESP": ["Y", "N", "Y", "Y", "N"],
                         "EVANSFL": ["Y", "Y", "N", "N", ""], "SEX": ["F", "M", "F", "F", "M"]})


def test_response_by_a_baseline_factor_counts_each_level():
    # Evans Y: A (responder), B; N: C, D (both responders); missing: E.
    assert subgroups.response_by_factor(_members(), "EVANSFL") == {
        "N": (2, 2), "Y": (1, 2), "missing": (0, 1)}
    assert subgroups.response_by_factor(_members(), "SEX") == {"F": (3, 3), "M": (0, 2)}


def test_an_unknown_subgroup_variable_names_the_key_and_the_variable():
    with pytest.raises(subgroups.UnknownSubgroupVariable,
                       match=r"statistics.response_subgroups: 'EVANS' is not a variable of ADSL"):
        subgroups.check_subgroup_variables(_members(), ["EVANSFL", "EVANS"])


def test_disposition_counts_each_reason_for_leaving_the_efficacy_set():
    adsl = pd.DataFrame({"SAFFL": ["Y"] * 5, "EFFFL": ["Y", "N", "N", "Y", "N"],
                         "EFFRSN": ["anemic", "not anemic", "no baseline", "anemic",
                                    "not anemic"]})
    assert subgroups.disposition_counts(adsl) == {
        "treated": 5, "efficacy": 2, "excluded": 3, "excluded: no baseline": 1,
        "excluded: not anemic": 2}


# ------------------------------------------------------------ how the report prints
def _ard(rows):
    from aiha.report.model import ARD

    return ARD(pd.DataFrame([{"stat_id": s, "group": g, "statistic": st, "value": v}
                             for s, g, st, v in rows]))


def test_a_censored_end_of_the_range_carries_a_plus():
    from aiha.report.clinical_tables import _dor_range

    ard = _ard([("dor_min", "wAIHA", "value", 2.0), ("dor_max", "wAIHA", "value", 12.0),
                ("dor_min", "wAIHA", "censored", 0), ("dor_max", "wAIHA", "censored", 1),
                ("dor_min", "cAIHA", "value", 4.0), ("dor_max", "cAIHA", "value", 10.0),
                ("dor_min", "cAIHA", "censored", 1), ("dor_max", "cAIHA", "censored", 0)])
    assert _dor_range(ard, "wAIHA") == "2\u201312+ months"
    assert _dor_range(ard, "cAIHA") == "4+\u201310 months"


def test_a_landmark_beyond_the_data_is_not_estimable():
    from aiha.report.clinical_tables import _landmark
    from aiha.report.model import Fmt

    nan = math.nan
    ard = _ard([("dor_landmark", "wAIHA", "month_6_rate", 0.5),
                ("dor_landmark", "wAIHA", "month_6_ci_lower", 0.2246),
                ("dor_landmark", "wAIHA", "month_6_ci_upper", 1.0),
                ("dor_landmark", "cAIHA", "month_12_rate", nan),
                ("dor_landmark", "cAIHA", "month_12_ci_lower", nan),
                ("dor_landmark", "cAIHA", "month_12_ci_upper", nan)])
    fmt = Fmt.from_config({"report": {"decimals": {"percent": 1, "months": 1, "hb": 1,
                                                   "ldh": 1, "other": 2}}})
    assert _landmark(ard, "wAIHA", "month_6", fmt, 0.95) == "50.0% (95% CI 22.5\u2013100.0)"
    assert _landmark(ard, "cAIHA", "month_12", fmt, 0.95).startswith("not estimable")


@pytest.mark.parametrize("denominator,spans", [("all_treated", 2), ("efficacy_set", 1)])
def test_the_acrocyanosis_result_sits_in_the_columns_of_its_denominator(denominator, spans):
    from aiha.report.clinical_tables import _acro_row
    from aiha.report.model import Fmt

    ard = _ard([("acro_improved", "cAIHA", "numerator", 4),
                ("acro_improved", "cAIHA", "denominator", 6),
                ("acro_improved", "cAIHA", "proportion", 4 / 6)])
    fmt = Fmt.from_config({"report": {"decimals": {"percent": 1, "months": 1, "hb": 1,
                                                   "ldh": 1, "other": 2}}})
    row = _acro_row(ard, ["wAIHA", "cAIHA", "cAIHA_nonanemic"],
                    {"response": {"acro_denominator": denominator}}, "label", fmt)
    cells = row[2:]
    assert cells[0].span == spans and str(cells[0]) == "4/6 (66.7%)"
    assert sum(getattr(c, "span", 1) for c in row) == 4  # label + three group columns


def test_each_number_of_the_events_cell_links_to_its_own_row():
    """"1 / 3 (75.0% censored)": the share 0.75 would also print as "1"; the cell reads
    its rows in the order it prints them, so each number links to its own row."""
    from aiha.report.clinical_tables import _events_censored
    from aiha.report.model import Fmt, anchor

    ard = _ard([("dor_median_km", "cAIHA", "events", 1), ("dor_median_km", "cAIHA", "censored", 3),
                ("dor_median_crude", "cAIHA", "censored_share", 0.75)])
    cell = ard.cell(lambda: _events_censored(ard, "cAIHA", Fmt()))
    assert str(cell) == "1 / 3 (75.0% censored)"
    links = {text: a for text, a in cell.links if a}
    assert links == {"1": anchor(("dor_median_km", "cAIHA", "events")),
                     "3": anchor(("dor_median_km", "cAIHA", "censored")),
                     "75.0%": anchor(("dor_median_crude", "cAIHA", "censored_share"))}
