"""Auditor mode: published-vs-reproduced audit and independent QC."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
import yaml

from aiha.ard import read_ard, write_tsv
from aiha.ard import read_tsv as read
from aiha.audit import all_pass, evaluate, load_claims, main, render
from aiha.errors import InputError
from aiha.qc import (
    QCMismatch,
    compare,
    independent_counts,
    independent_intervals,
    independent_km,
    primary_values,
)
from conftest import ROOT

CLAIMS = ROOT / "resources" / "published_claims.yaml"


@pytest.mark.parametrize(
    "value,rule,printed",
    [(0.5, "percent", "50"), (4 / 7, "percent", "57"), (0.125, "percent", "13"),
     (5.5, "decimal", "5.5"), (5.0, "decimal", "5"), (5.25, "decimal", "5.3"),
     (2.5, "integer", "3"), (1.0, "yes_no", "yes"), (0.0, "yes_no", "no"),
     (0.9, "positive", "yes"), (-0.1, "positive", "no"), (float("nan"), "integer", "NA")],
)
def test_rounding_rules(value, rule, printed):
    assert render(value, rule) == printed


def test_a_missing_statistic_is_a_failure_not_a_pass():
    ard = pd.DataFrame(columns=["stat_id", "group", "statistic", "value"])
    table = evaluate(load_claims(CLAIMS), ard)
    assert (table["status"] == "missing").all() and not all_pass(table)


def test_malformed_claims_file_is_refused(tmp_path: Path):
    bad = tmp_path / "claims.yaml"
    bad.write_text("claims:\n  - {id: x, published: '1'}\n")
    with pytest.raises(InputError, match=r"claims.yaml.*row 1.*lacks 'sentence'"):
        load_claims(bad)
    bad.write_text("claims: [\n")
    with pytest.raises(InputError, match="not valid YAML"):
        load_claims(bad)


@pytest.mark.workflow
def test_audit_of_the_demo_passes_and_fails_on_a_changed_claim(demo_results: Path, tmp_path: Path, capsys):
    table = pd.read_csv(demo_results / "audit" / "claims.tsv", sep="\t", dtype=str, keep_default_na=False)
    assert len(table) == len(load_claims(CLAIMS)) >= 13
    assert main([str(demo_results / "audit" / "claims.tsv")]) == 0
    assert "claims reproduced" in capsys.readouterr().out
    # A copy of the claims file with one published value changed.
    raw = yaml.safe_load(CLAIMS.read_text())
    for c in raw["claims"]:
        if c["id"] == "w_orr":
            c["published"] = "58%"
    changed = tmp_path / "claims.yaml"
    changed.write_text(yaml.safe_dump(raw, sort_keys=False))
    result = evaluate(load_claims(changed), read_ard(demo_results / "ard" / "ard.tsv"))
    assert result.set_index("id").loc["w_orr", "status"] == "fail"
    write_tsv(result, tmp_path / "claims.tsv")
    assert main([str(tmp_path / "claims.tsv")]) == 1


def _qc_inputs(results: Path):
    responses = read(results / "response" / "responses.tsv")
    counts = independent_counts(read(results / "clinical" / "patients.tsv"), responses,
                                read(results / "clinical" / "adverse_events.tsv"))
    independent = {**counts, **independent_intervals(counts, 0.95), **independent_km(responses)}
    return read_ard(results / "stats" / "clinical_ard.tsv"), read(results / "stats" / "km_curve.tsv"), independent


@pytest.mark.workflow
def test_qc_passes_on_the_demo_and_names_an_injected_off_by_one(demo_results: Path):
    qc = pd.read_csv(demo_results / "qc" / "double_programming.tsv", sep="\t")
    assert (qc["status"] == "agree").all() and len(qc) > 20
    ard, km, independent = _qc_inputs(demo_results)
    assert len(compare(primary_values(ard, km), independent, 1e-9)) == len(qc)
    broken = ard.copy()
    hit = (broken["stat_id"] == "orr") & (broken["statistic"] == "numerator")
    broken.loc[hit, "value"] += 1
    with pytest.raises(QCMismatch, match=r"orr/wAIHA/numerator: primary 7.0 vs independent 6"):
        compare(primary_values(broken, km), independent, 1e-9)
    bent = km.copy()
    bent.loc[bent.index[2], "survival"] += 1e-6
    with pytest.raises(QCMismatch, match=r"km/wAIHA/S\("):
        compare(primary_values(ard, bent), independent, 1e-9)
