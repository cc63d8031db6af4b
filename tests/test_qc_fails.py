"""The QC can fail: a difference planted above and below, in each kind of statistic,
fails the library cross-check (:mod:`aiha.qc`), the R comparison
(:mod:`aiha.qc_compare`) and the audit of published claims (:mod:`aiha.audit`),
each naming what differs. Small tables built here; no workflow run."""

from __future__ import annotations

import math
import re

import pandas as pd
import pytest

from aiha import qc, qc_compare
from aiha.audit import Check, Claim, all_pass, evaluate

TOL = 1e-9

# One value of each kind of statistic the QC compares (key -> true value).
KINDS = {
    "count": ("orr", "wAIHA", "numerator", 6.0),
    "denominator": ("orr", "wAIHA", "denominator", 11.0),
    "proportion": ("orr", "wAIHA", "proportion", 6 / 11),
    "CI bound": ("orr", "wAIHA", "ci_lower", 0.2337936),
    "KM median": ("dor_median_km", "wAIHA", "value", 7.0),
    "KM survival": ("km", "wAIHA", "S(5)", 0.5),
    "AE cell": ("ae_term", "Infection", "any grade n", 3.0),
    "cytometry percentage": ("flow_depletion", "P01", "baseline_percent", 12.5),
    "zero": ("ae_grade", "all", "grade_5", 0.0),
}
# A step clearly above the tolerance for each kind (relative above 1, absolute below).
DIRECTIONS = {"above": 1.0, "below": -1.0}


def _step(value: float) -> float:
    return 1e3 * TOL * max(1.0, abs(value))


def _frame(rows: dict[tuple[str, str, str], float]) -> pd.DataFrame:
    return pd.DataFrame([{"stat_id": k[0], "group": k[1], "statistic": k[2], "value": repr(v)}
                         for k, v in rows.items()])


def _table(kind: str, shift: float | None) -> dict[tuple[str, str, str], float]:
    """Every kind at its true value; ``kind`` shifted by ``shift`` steps (None: none)."""
    out = {}
    for name, (s, g, st, v) in KINDS.items():
        out[(s, g, st)] = v + (shift * _step(v) if name == kind and shift is not None else 0.0)
    return out


# ------------------------------------------------------------------ R comparison

@pytest.mark.parametrize("direction", list(DIRECTIONS))
@pytest.mark.parametrize("kind", list(KINDS))
def test_r_comparison_fails_on_a_value_above_or_below(kind: str, direction: str):
    truth = _frame(_table(kind, None))
    planted = _frame(_table(kind, DIRECTIONS[direction]))
    s, g, st, v = KINDS[kind]
    # The ARD off (R is right) and R off (the ARD is right): both fail, naming the row.
    for ard, r in ((planted, truth), (truth, planted)):
        table = qc_compare.compare(ard, r, TOL)
        bad = table[table["status"] == qc_compare.DISAGREE]
        assert list(zip(bad["stat_id"], bad["group"], bad["statistic"])) == [(s, g, st)]
        assert (table["status"] == qc_compare.AGREE).sum() == len(KINDS) - 1
        with pytest.raises(qc_compare.RQCMismatch, match=rf"^R double programming: 1 of "
                           rf"{len(KINDS)} rows fail .*{re.escape(f'{s} / {g} / {st}')}: ARD "):
            qc_compare.check(table)
        assert qc_compare.summary(table, len(ard))["disagree"] == 1
    # Unshifted, the same tables agree throughout and the check passes.
    same = qc_compare.compare(truth, truth, TOL)
    assert (same["status"] == qc_compare.AGREE).all()
    qc_compare.check(same)


@pytest.mark.parametrize("direction", list(DIRECTIONS))
@pytest.mark.parametrize("kind", list(KINDS))
def test_r_comparison_tolerance_is_exact_on_both_sides(kind: str, direction: str):
    """Within the tolerance agrees; just beyond it (either way) disagrees."""
    s, g, st, v = KINDS[kind]
    scale = max(1.0, abs(v))
    sign = DIRECTIONS[direction]
    for offset, status in ((0.5 * TOL * scale, qc_compare.AGREE),
                           (3 * TOL * scale, qc_compare.DISAGREE)):
        a = _frame({(s, g, st): v})
        b = _frame({(s, g, st): v + sign * offset})
        assert list(qc_compare.compare(a, b, TOL)["status"]) == [status], (offset, status)


def test_r_comparison_undefined_and_infinite_values():
    key = ("dor_median_km", "cAIHA", "ci_upper")
    cases = [("", "", qc_compare.AGREE), ("nan", "NA", qc_compare.AGREE),
             ("", "7", qc_compare.DISAGREE), ("7", "", qc_compare.DISAGREE),
             ("inf", "inf", qc_compare.AGREE), ("inf", "-inf", qc_compare.DISAGREE),
             ("inf", "1e300", qc_compare.DISAGREE), ("1e300", "inf", qc_compare.DISAGREE)]
    for a, b, status in cases:
        fa = pd.DataFrame([{"stat_id": key[0], "group": key[1], "statistic": key[2], "value": a}])
        fb = fa.assign(value=b)
        assert list(qc_compare.compare(fa, fb, TOL)["status"]) == [status], (a, b)


def test_r_comparison_names_every_failing_row_up_to_its_limit():
    truth = {(f"s{i}", "all", "n"): float(i) for i in range(12)}
    off = {k: v + 1 for k, v in truth.items()}
    table = qc_compare.compare(_frame(truth), _frame(off), TOL)
    message = qc_compare.failure_message(table, limit=10)
    assert message.startswith("R double programming: 12 of 12 rows fail")
    assert message.count(": ARD ") == 10 and message.endswith("; and 2 more")
    assert "s0 / all / n: ARD 0.0, R 1.0 (disagree)" in message


# ------------------------------------------------------------------ library cross-check

LIBRARY_KINDS = {"count": "orr/wAIHA/numerator", "CI bound": "orr/wAIHA/ci_upper",
                 "KM survival": "km/wAIHA/S(5)", "zero": "ae_grade/all/grade_5"}
LIBRARY_TRUTH = {"orr/wAIHA/numerator": 6.0, "orr/wAIHA/ci_upper": 0.8325119,
                 "km/wAIHA/S(5)": 0.5, "ae_grade/all/grade_5": 0.0}


@pytest.mark.parametrize("direction", list(DIRECTIONS))
@pytest.mark.parametrize("kind", list(LIBRARY_KINDS))
def test_library_cross_check_fails_on_a_value_above_or_below(kind: str, direction: str):
    key = LIBRARY_KINDS[kind]
    planted = dict(LIBRARY_TRUTH)
    planted[key] += DIRECTIONS[direction] * 10 * TOL
    for primary, independent in ((planted, LIBRARY_TRUTH), (LIBRARY_TRUTH, planted)):
        with pytest.raises(qc.QCMismatch, match=rf"tolerance 1e-09\): {re.escape(key)}: primary "):
            qc.compare(primary, independent, TOL)
    table = qc.compare(LIBRARY_TRUTH, dict(LIBRARY_TRUTH), TOL)
    assert list(table["status"]) == ["agree"] * len(LIBRARY_TRUTH)
    # Within the tolerance, either way, agrees.
    near = {k: v + DIRECTIONS[direction] * 0.5 * TOL for k, v in LIBRARY_TRUTH.items()}
    assert (qc.compare(near, LIBRARY_TRUTH, TOL)["status"] == "agree").all()


def test_library_cross_check_undefined_and_missing():
    # A statistic the primary does not write, while the independent value exists, fails.
    with pytest.raises(qc.QCMismatch, match=r"orr/wAIHA/numerator: primary nan vs independent 6"):
        qc.compare({}, {"orr/wAIHA/numerator": 6}, TOL)
    # Undefined on one side only fails; on both sides agrees.
    with pytest.raises(qc.QCMismatch):
        qc.compare({"x/all/ci_lower": math.nan}, {"x/all/ci_lower": 0.1}, TOL)
    with pytest.raises(qc.QCMismatch):
        qc.compare({"x/all/ci_lower": 0.1}, {"x/all/ci_lower": math.nan}, TOL)
    table = qc.compare({"x/all/ci_lower": math.nan}, {"x/all/ci_lower": math.nan}, TOL)
    assert list(table["status"]) == ["agree: both undefined"]
    # Every disagreement is named, not only the first.
    with pytest.raises(qc.QCMismatch) as err:
        qc.compare({"a/all/n": 1, "b/all/n": 5}, {"a/all/n": 2, "b/all/n": 4}, TOL)
    assert "a/all/n: primary 1.0 vs independent 2.0" in str(err.value)
    assert "b/all/n: primary 5.0 vs independent 4.0" in str(err.value)


def test_library_independent_counts_by_hand():
    """The cross-check's own counts on a cohort written here (computed by hand)."""
    patients = pd.DataFrame({"patient_id": ["A", "B", "C", "D", "E"],
                             "evans": ["True", "False", "true", "False", "False"]})
    responses = pd.DataFrame({
        "patient_id": ["A", "B", "C", "D", "E"],
        "analysis_group": ["wAIHA", "wAIHA", "wAIHA", "cAIHA", "wAIHA"],
        "best_response": ["CR", "PR", "NR", "HR", "NR"],
        "efficacy_set": ["True", "True", "True", "True", "False"],
        "ongoing": ["False", "True", "False", "True", "False"],
    })
    aes = pd.DataFrame({"grade": [1, 3, 3, 5]})
    c = qc.independent_counts(patients, responses, aes)
    assert c["n_efficacy/all/n"] == 4 and c["n_efficacy/wAIHA/n"] == 3
    assert (c["orr/wAIHA/numerator"], c["orr/wAIHA/denominator"]) == (2, 3)
    assert (c["cr/wAIHA/numerator"], c["pr/wAIHA/numerator"]) == (1, 1)
    assert (c["nr_evans/wAIHA/numerator"], c["nr_evans/wAIHA/denominator"]) == (1, 1)
    assert c["ongoing/wAIHA/numerator"] == 1 and c["ongoing/cAIHA/numerator"] == 1
    assert (c["hb_response/cAIHA/numerator"], c["hb_response/cAIHA/denominator"]) == (1, 1)
    assert c["ae_events/all/n"] == 4
    assert [c[f"ae_grade/all/grade_{g}"] for g in range(1, 6)] == [1, 0, 2, 0, 1]


# ------------------------------------------------------------------ audit of claims

def _claim(published: str, rule: str, template: str = "{}") -> Claim:
    return Claim("c1", "sentence", "Abstract", published, template,
                 (Check("orr", "wAIHA", "proportion", rule),), "definition")


def _ard(value: float) -> pd.DataFrame:
    return pd.DataFrame({"stat_id": ["orr"], "group": ["wAIHA"], "statistic": ["proportion"],
                         "value": [value]})


# value, rule, the published text it reproduces, one published above, one below
AUDIT_CASES = [
    (6 / 11, "percent", "55", "56", "54"),
    (5.5, "decimal", "5.5", "5.6", "5.4"),
    (7.0, "integer", "7", "8", "6"),
    (3.0, "patients", "3 patients", "4 patients", "2 patients"),
    (1.0, "events", "1 event", "2 events", "0 events"),
]


@pytest.mark.parametrize("value,rule,same,above,below", AUDIT_CASES)
def test_audit_fails_on_a_published_value_above_or_below(value, rule, same, above, below):
    ok = evaluate([_claim(same, rule)], _ard(value))
    assert list(ok["status"]) == ["pass"] and all_pass(ok)
    for published in (above, below):
        bad = evaluate([_claim(published, rule)], _ard(value))
        assert list(bad["status"]) == ["fail"], published
        assert list(bad["reproduced"]) == [same] and not all_pass(bad)
    # The reproduced value moved instead (the study changed): fails too, both ways.
    step = 0.01 if rule == "percent" else (0.1 if rule == "decimal" else 1.0)
    for moved in (value + step, value - step):
        assert list(evaluate([_claim(same, rule)], _ard(moved))["status"]) == ["fail"], moved


def test_audit_yes_no_and_positive_fail_on_the_other_answer():
    for rule, yes, no in (("yes_no", 1.0, 0.0), ("positive", 0.5, -0.5)):
        assert list(evaluate([_claim("yes", rule)], _ard(yes))["status"]) == ["pass"]
        assert list(evaluate([_claim("yes", rule)], _ard(no))["status"]) == ["fail"]
        assert list(evaluate([_claim("no", rule)], _ard(yes))["status"]) == ["fail"]
    # A positive claim on a value of exactly 0 is "no".
    assert list(evaluate([_claim("no", "positive")], _ard(0.0))["status"]) == ["pass"]


def test_audit_one_failing_claim_fails_the_whole_audit():
    claims = [_claim("55", "percent"), Claim("c2", "s", "Abstract", "6 of 11", "{} of {}",
                                             (Check("orr", "wAIHA", "numerator", "integer"),
                                              Check("orr", "wAIHA", "denominator", "integer")),
                                             "d")]
    ard = pd.DataFrame({"stat_id": ["orr"] * 3, "group": ["wAIHA"] * 3,
                        "statistic": ["proportion", "numerator", "denominator"],
                        "value": [6 / 11, 6.0, 11.0]})
    assert all_pass(evaluate(claims, ard))
    for stat, value in (("numerator", 7.0), ("numerator", 5.0), ("denominator", 12.0),
                        ("denominator", 10.0)):
        moved = ard.copy()
        moved.loc[moved["statistic"] == stat, "value"] = value
        table = evaluate(claims, moved)
        assert list(table["status"]) == ["pass", "fail"] and not all_pass(table), (stat, value)
    # An empty audit is not a pass.
    assert not all_pass(evaluate([], ard))
