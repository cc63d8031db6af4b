"""Sensitivity variants: config overrides and the summary of what reproduces the paper."""

import pandas as pd
import pytest

from aiha.config_checks import merge_overrides as apply_overrides
from aiha.errors import ConfigError
from aiha.sensitivity import describe, key_statistics, sensitivity_summary, sensitivity_table


def test_overrides_are_deep_and_do_not_touch_the_original():
    cfg = {"response": {"pr_rule": "or", "x": 1}, "statistics": {"km_tie_rule": "lower"}}
    out = apply_overrides(cfg, {"response": {"pr_rule": "and"}})
    assert out["response"] == {"pr_rule": "and", "x": 1} and cfg["response"]["pr_rule"] == "or"
    assert apply_overrides(cfg, None) == cfg


def test_unknown_override_key_is_refused():
    with pytest.raises(ConfigError, match=r"variants\.alt: response\.pr_rul is not"):
        apply_overrides({"response": {"pr_rule": "or"}}, {"response": {"pr_rul": "and"}}, "alt")


def test_table_and_summary_mark_the_variants_that_reproduce():
    audit = lambda status: pd.DataFrame(  # noqa: E731
        {"id": ["a", "b", "flow"], "published": ["1", "2", "3"], "reproduced": ["1", "9", "x"],
         "status": [status, "fail", "missing"]})
    variants = {"primary": {}, "alt": {"response": {"pr_rule": "and"}}}
    table = sensitivity_table({"primary": audit("pass"), "alt": audit("fail")}, variants)
    assert set(table["id"]) == {"a", "b"}  # claims the variant does not compute are left out
    summary = sensitivity_summary(table).set_index("variant")
    assert summary.loc["primary", "claims_reproduced"] == 1
    assert summary.loc["alt", "claims_reproduced"] == 0
    assert summary.loc["alt", "change"] == describe(variants["alt"]) == "response.pr_rule = and"
    assert summary.loc["alt", "differing"] == "a: 1; b: 9"


def ard(rows):
    """A tiny ARD: (stat_id, group, statistic, value) rows."""
    return pd.DataFrame(rows, columns=["stat_id", "group", "statistic", "value"]).assign(
        unit="", rule="r", script="s", inputs_sha256="0")


PRIMARY_ARD = ard([
    ("n_treated", "wAIHA", "n", 4),
    ("orr", "wAIHA", "ci_lower", 0.07), ("orr", "wAIHA", "ci_upper", 0.93),
    ("orr", "wAIHA", "denominator", 4), ("orr", "wAIHA", "numerator", 2),
    ("orr", "wAIHA", "proportion", 0.5),
    ("cr", "wAIHA", "denominator", 4), ("cr", "wAIHA", "numerator", 1),
    ("cr", "wAIHA", "proportion", 0.25),
    ("pr", "wAIHA", "numerator", 1),
    ("hb_response", "cAIHA", "denominator", 0), ("hb_response", "cAIHA", "numerator", 0),
    ("hb_response", "cAIHA", "proportion", float("nan")),
    ("dor_median_crude", "wAIHA", "value", 5.5),
    ("dor_median_km", "wAIHA", "ci_lower", 2), ("dor_median_km", "wAIHA", "value", float("nan")),
    ("dor_median_reported", "wAIHA", "value", 5.5),
    ("ongoing", "wAIHA", "denominator", 4), ("ongoing", "wAIHA", "numerator", 1),
])
# Under "pr_rule: and" one responder fewer (the CR): its 3 months are both medians,
# and it has relapsed (nothing ongoing).
VARIANT_ARD = ard([
    ("n_treated", "wAIHA", "n", 4),
    ("orr", "wAIHA", "denominator", 4), ("orr", "wAIHA", "numerator", 1),
    ("orr", "wAIHA", "proportion", 0.25),
    ("cr", "wAIHA", "denominator", 4), ("cr", "wAIHA", "numerator", 1),
    ("cr", "wAIHA", "proportion", 0.25),
    ("hb_response", "cAIHA", "denominator", 0), ("hb_response", "cAIHA", "numerator", 0),
    ("hb_response", "cAIHA", "proportion", float("nan")),
    ("dor_median_crude", "wAIHA", "value", 3), ("dor_median_km", "wAIHA", "value", 3),
    ("ongoing", "wAIHA", "denominator", 4), ("ongoing", "wAIHA", "numerator", 0),
])
VARIANTS = {"primary": {}, "pr_and": {"response": {"pr_rule": "and"}}}


def test_key_statistics_of_the_primary_analysis_and_a_variant():
    table = key_statistics(PRIMARY_ARD, {"primary": PRIMARY_ARD.copy(), "pr_and": VARIANT_ARD},
                           VARIANTS)
    assert list(table.columns) == ["variant", "change", "stat_id", "group", "statistic", "value"]
    got = [(r.variant, r.change, r.stat_id, r.group, r.statistic, r.value)
           for r in table.itertuples()]
    nan = float("nan")
    expected = [
        ("primary", "as configured", "orr", "wAIHA", "numerator", 2.0),
        ("primary", "as configured", "orr", "wAIHA", "denominator", 4.0),
        ("primary", "as configured", "orr", "wAIHA", "proportion", 0.5),
        ("primary", "as configured", "cr", "wAIHA", "numerator", 1.0),
        ("primary", "as configured", "cr", "wAIHA", "denominator", 4.0),
        ("primary", "as configured", "cr", "wAIHA", "proportion", 0.25),
        ("primary", "as configured", "hb_response", "cAIHA", "numerator", 0.0),
        ("primary", "as configured", "hb_response", "cAIHA", "denominator", 0.0),
        ("primary", "as configured", "hb_response", "cAIHA", "proportion", nan),
        ("primary", "as configured", "dor_median_crude", "wAIHA", "value", 5.5),
        ("primary", "as configured", "dor_median_km", "wAIHA", "value", nan),
        ("primary", "as configured", "ongoing", "wAIHA", "numerator", 1.0),
        ("primary", "as configured", "ongoing", "wAIHA", "denominator", 4.0),
        ("pr_and", "response.pr_rule = and", "orr", "wAIHA", "numerator", 1.0),
        ("pr_and", "response.pr_rule = and", "orr", "wAIHA", "denominator", 4.0),
        ("pr_and", "response.pr_rule = and", "orr", "wAIHA", "proportion", 0.25),
        ("pr_and", "response.pr_rule = and", "cr", "wAIHA", "numerator", 1.0),
        ("pr_and", "response.pr_rule = and", "cr", "wAIHA", "denominator", 4.0),
        ("pr_and", "response.pr_rule = and", "cr", "wAIHA", "proportion", 0.25),
        ("pr_and", "response.pr_rule = and", "hb_response", "cAIHA", "numerator", 0.0),
        ("pr_and", "response.pr_rule = and", "hb_response", "cAIHA", "denominator", 0.0),
        ("pr_and", "response.pr_rule = and", "hb_response", "cAIHA", "proportion", nan),
        ("pr_and", "response.pr_rule = and", "dor_median_crude", "wAIHA", "value", 3.0),
        ("pr_and", "response.pr_rule = and", "dor_median_km", "wAIHA", "value", 3.0),
        ("pr_and", "response.pr_rule = and", "ongoing", "wAIHA", "numerator", 0.0),
        ("pr_and", "response.pr_rule = and", "ongoing", "wAIHA", "denominator", 4.0),
    ]
    assert len(got) == len(expected)
    for g, e in zip(got, expected):
        assert g[:5] == e[:5] and (g[5] == e[5] or (pd.isna(g[5]) and pd.isna(e[5]))), (g, e)


def test_primary_values_come_from_the_primary_ard_without_a_primary_variant():
    table = key_statistics(PRIMARY_ARD, {"pr_and": VARIANT_ARD}, VARIANTS)
    primary = table[table["variant"] == "primary"].set_index(["stat_id", "statistic"])
    assert primary.loc[("orr", "numerator"), "value"] == 2
    assert set(table["variant"]) == {"primary", "pr_and"}


def test_a_variant_without_change_must_give_the_primary_values():
    with pytest.raises(ValueError, match=r"variant same changes nothing but differs .* "
                                         r"orr/wAIHA/numerator"):
        key_statistics(PRIMARY_ARD, {"same": VARIANT_ARD}, {"same": {}})
    with pytest.raises(ValueError, match=r"variant primary changes the config"):
        key_statistics(PRIMARY_ARD, {"primary": VARIANT_ARD},
                       {"primary": {"response": {"pr_rule": "and"}}})
