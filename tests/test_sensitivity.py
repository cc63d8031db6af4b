"""Sensitivity variants: config overrides and the summary of what reproduces the paper."""

import pandas as pd
import pytest

from aiha.config_checks import merge_overrides as apply_overrides
from aiha.errors import ConfigError
from aiha.sensitivity import describe, sensitivity_summary, sensitivity_table


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
