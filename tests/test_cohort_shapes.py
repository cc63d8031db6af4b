"""Cohorts not shaped like the demo reach a report (issue: any cohort shape).

Each case is a small cohort run through the real workflow. Its key numbers are
written down by hand from the cohort specification below, not read from output:
a responder's duration is its ``duration_months`` (whole months), an ongoing one
is censored at that value, a nonresponder never responds.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pandas as pd
import pytest

from cohorts import cohort_project, patient, read_config, write_config
from conftest import run_snakemake
from test_qc_r import assert_r_qc_complete

pytestmark = pytest.mark.workflow

P = patient


def ard_value(results: Path, stat: str) -> float:
    ard = pd.read_csv(results / "ard" / "ard.tsv", sep="\t", keep_default_na=False)
    sid, group, statistic = stat.split("/")
    hit = ard[(ard["stat_id"] == sid) & (ard["group"] == group) & (ard["statistic"] == statistic)]
    assert len(hit) == 1, f"{stat}: {len(hit)} rows"
    value = hit["value"].iloc[0]
    return float("nan") if value == "" else float(value)


def has_stat(results: Path, stat: str) -> bool:
    ard = pd.read_csv(results / "ard" / "ard.tsv", sep="\t", keep_default_na=False)
    sid, group, statistic = stat.split("/")
    return bool(((ard["stat_id"] == sid) & (ard["group"] == group)
                 & (ard["statistic"] == statistic)).any())


def pdf_text(work: Path) -> str:
    pdf = work / "results" / "report" / "study_report.pdf"
    assert pdf.stat().st_size > 10_000
    out = subprocess.run(["pdftotext", "-layout", str(pdf), "-"], capture_output=True,
                         text=True, check=False)
    if out.returncode != 0:  # pdftotext missing: read the HTML the PDF is made of
        return (work / "results" / "report" / "study_report.html").read_text(encoding="utf-8")
    return out.stdout


def assert_reads_right(work: Path) -> None:
    """What must never appear in a report, whatever the cohort (read in the HTML the
    PDF is rendered from: cell by cell, where the PDF's text interleaves columns)."""
    if shutil.which("Rscript"):  # the R double programming: every ARD row, agreeing
        assert_r_qc_complete(work / "results")
    html = (work / "results" / "report" / "study_report.html").read_text(encoding="utf-8")
    flat = " ".join(re.sub(r"<[^>]+>", " | ", html).split())
    for bad in ("NA%", "0/0 (", "CI \u2014\u2013not reached"):
        assert bad not in flat, f"{bad!r} in the report"
    for pattern in (r"\bnan\b", r"(?<![\d,.])1 patients", r"(?<![\d,.])1 events"):
        assert not re.search(pattern, flat, re.IGNORECASE), f"{pattern!r} in the report"


def audit(work: Path) -> dict[str, tuple[str, str]]:
    table = pd.read_csv(work / "results" / "audit" / "claims.tsv", sep="\t",
                        keep_default_na=False)
    return {r.id: (r.reproduced, r.status) for r in table.itertuples()}


# ---------------------------------------------------------------------------- shapes


def test_warm_only_two_sites_as_a_site_export(tmp_path: Path):
    """8 wAIHA patients from two sites, no cAIHA, no cytometry folder, run as a site
    (generate_demo: false, its own key), audited against the published claims.
    Amsterdam lists prior therapies, London's export has no such column."""
    pts = [
        P("W1", "wAIHA", "responder", site="AMS", duration_months=3,  # relapse by Hb
          prior_therapies=["corticosteroids", "rituximab"]),
        P("W2", site="AMS", prior_therapies=["corticosteroids"]),
        P("W3", "wAIHA", "responder", site="LON", ongoing=True, duration_months=6),
        P("W4", site="LON", evans=True),
        P("W5", site="AMS", prior_therapies=[]),
        P("W6", site="LON"),
        P("W7", "wAIHA", "responder", site="AMS", duration_months=5,
          prior_therapies=["corticosteroids", "rituximab", "splenectomy"]),
        P("W8", site="LON"),
    ]
    gen = cohort_project(tmp_path / "gen", pts)
    run_snakemake(gen, "generate_demo_cohort")
    work = cohort_project(tmp_path / "site", pts, claims="resources/published_claims.yaml")
    export = work / "site_export"
    shutil.copytree(gen / "data" / "demo", export)
    london = pd.read_csv(export / "LON" / "patients.csv", dtype=str, keep_default_na=False)
    london.drop(columns="prior_therapies").to_csv(export / "LON" / "patients.csv", index=False)
    key = work / "site_key.txt"
    key.write_text("a-site-secret-key-for-this-test-only-0123456789\n")
    cfg = read_config(work)
    cfg["data"].update(raw_dir="site_export", generate_demo=False, pseudonym_key_file=str(key))
    write_config(work, cfg)

    proc = run_snakemake(work)
    results = work / "results"
    assert not (results / "cytometry").exists()  # no cytometry job ran
    assert "cytometry_" not in proc.stdout + proc.stderr
    assert ard_value(results, "n_treated/wAIHA/n") == 8
    assert ard_value(results, "n_treated/cAIHA/n") == 0
    assert ard_value(results, "orr/wAIHA/numerator") == 3
    assert ard_value(results, "orr/wAIHA/denominator") == 8
    assert ard_value(results, "dor_median_crude/wAIHA/value") == 5  # median of 3, 5, 6
    assert (ard_value(results, "dor_min/wAIHA/value"), ard_value(results, "dor_max/wAIHA/value")) \
        == (3, 6)
    assert ard_value(results, "ongoing/wAIHA/numerator") == 1
    assert ard_value(results, "nr_evans/wAIHA/numerator") == 1
    assert ard_value(results, "nr_evans/wAIHA/denominator") == 5
    # Prior therapies: the 4 Amsterdam patients (W5's empty list counts), by hand.
    prior = "baseline_prior_therapy/wAIHA"
    assert ard_value(results, f"{prior}/denominator") == 4
    assert [ard_value(results, f"{prior}/{t}: n") for t in
            ("corticosteroids", "rituximab", "splenectomy", "none")] == [3, 2, 1, 1]
    assert ard_value(results, f"{prior}/rituximab: proportion") == 0.5
    assert not has_stat(results, f"{prior}/ivig: n")

    claims = audit(work)
    assert claims["w_ongoing"] == ("1 patient after 6 months", "fail")
    for flow in ("flow_n", "flow_depletion", "flow_subsets", "flow_function", "flow_relapse"):
        assert claims[flow] == ("not computed: no cytometry data", "missing")
    assert claims["c_orr"] == ("not computed: no patients in cAIHA", "missing")

    qc = pd.read_csv(results / "qc" / "double_programming.tsv", sep="\t")
    assert set(qc["status"]) <= {"agree", "agree: both undefined"}
    text = pdf_text(work)
    assert_reads_right(work)
    flat = " ".join(text.split())
    assert "cAIHA (anemic): no patients." in flat
    assert "There are no flow-cytometry data in this study" in flat
    html = (work / "results" / "report" / "study_report.html").read_text(encoding="utf-8")
    # Table 1: wAIHA, all treated (each number is its own link: compared without spaces)
    cells = re.sub(r"\s+", "", re.sub(r"<[^>]+>", "", html))
    assert "3/4(75.0%)3/4(75.0%)" in cells.split("Priorcorticosteroids,n/N(%)", 1)[1][:40]
    assert "1/4(25.0%)1/4(25.0%)" in cells.split("Priorsplenectomy,n/N(%)", 1)[1][:40]


def test_cold_only_without_adverse_events_or_audit(tmp_path: Path):
    pts = [
        P("C1", "cAIHA", "responder", ongoing=True, duration_months=4, acrocyanosis=True,
          acrocyanosis_response=True),
        P("C2", "cAIHA", acrocyanosis=True, acrocyanosis_response=False),
        P("C3", "cAIHA", "responder", duration_months=2, site="LON"),
        P("C4", "cAIHA", "nonanemic", baseline_hb=12.9, acrocyanosis=True,
          acrocyanosis_response=True, hb_increase=0.9, site="VIE"),
    ]
    work = cohort_project(tmp_path / "p", pts)
    run_snakemake(work)
    results = work / "results"
    assert not (results / "audit").exists()
    assert ard_value(results, "n_treated/wAIHA/n") == 0
    assert ard_value(results, "hb_response/cAIHA/numerator") == 2
    assert ard_value(results, "hb_response/cAIHA/denominator") == 3
    assert ard_value(results, "ongoing/cAIHA/numerator") == 1
    # all_treated: cAIHA with acrocyanosis C1, C2, C4; improved C1 and C4.
    assert (ard_value(results, "acro_improved/cAIHA/numerator"),
            ard_value(results, "acro_improved/cAIHA/denominator")) == (2, 3)
    assert ard_value(results, "nonanemic_acro_response/cAIHA_nonanemic/numerator") == 1
    assert ard_value(results, "ae_events/all/n") == 0
    assert not has_stat(results, "dor_median_crude/wAIHA/value")
    text = pdf_text(work)
    assert_reads_right(work)
    flat = " ".join(text.split())
    assert "wAIHA: no patients." in flat
    assert "No adverse event was reported." in flat
    assert "Published versus reproduced" not in flat
    # No claims: the sensitivity chapter still prints the key statistics of the one
    # efficacy group with patients under each variant.
    assert "Table 9 gives the key efficacy statistics" in flat
    assert "Table 9. Key statistics under each variant: cAIHA (anemic)" in flat
    assert "no claims to compare" not in flat and "Table 10." not in flat
    keys = pd.read_csv(results / "sensitivity" / "key_statistics.tsv", sep="\t")
    primary = keys[(keys.variant == "primary") & (keys.stat_id == "hb_response")]
    assert dict(zip(primary.statistic, primary.value))["numerator"] == 2


def test_no_responders_and_no_transfusions(tmp_path: Path):
    # Baseline Hb >= 8 g/dL: the generator transfuses no one before the first dose.
    pts = [P("W1", baseline_hb=8.2), P("W2", evans=True, baseline_hb=8.4), P("C1", "cAIHA"),
           P("C2", "cAIHA", site="LON")]
    aes = [{"patient": "W1", "number": 1, "day": 10, "term": "Fatigue", "grades": [1],
            "serious": False, "description": "mild"}]
    work = cohort_project(tmp_path / "p", pts, aes)
    run_snakemake(work)
    results = work / "results"
    transfusions = pd.read_csv(results / "clinical" / "transfusions.tsv", sep="\t")
    assert transfusions.empty
    assert ard_value(results, "orr/wAIHA/numerator") == 0
    assert ard_value(results, "orr/wAIHA/denominator") == 2
    assert ard_value(results, "hb_response/cAIHA/numerator") == 0
    assert ard_value(results, "nr_evans/wAIHA/numerator") == 1
    assert ard_value(results, "ae_events/all/n") == 1
    km = pd.read_csv(results / "stats" / "km_curve.tsv", sep="\t")
    assert km.empty
    text = pdf_text(work)
    assert_reads_right(work)
    assert "No patient responded" in " ".join(text.split())


def test_all_responders_none_relapsed_no_nonanemic(tmp_path: Path):
    pts = [
        P("W1", "wAIHA", "responder", ongoing=True, duration_months=6),
        P("W2", "wAIHA", "responder", ongoing=True, duration_months=9, site="LON"),
        P("C1", "cAIHA", "responder", ongoing=True, duration_months=5),
    ]
    work = cohort_project(tmp_path / "p", pts)
    run_snakemake(work)
    results = work / "results"
    assert ard_value(results, "orr/wAIHA/numerator") == 2
    assert ard_value(results, "orr/wAIHA/denominator") == 2
    assert ard_value(results, "orr/wAIHA/ci_upper") == 1.0
    assert ard_value(results, "ongoing/wAIHA/numerator") == 2
    assert ard_value(results, "hb_response/cAIHA/numerator") == 1
    assert ard_value(results, "dor_median_crude/wAIHA/value") == 7.5  # median of 6 and 9
    # No relapse: the Kaplan-Meier median is not reached.
    assert pd.isna(ard_value(results, "dor_median_km/wAIHA/value"))
    text = pdf_text(work)
    assert_reads_right(work)
    assert "cAIHA (non-anemic): no patients." in " ".join(text.split())


def test_a_single_patient(tmp_path: Path):
    pts = [P("W1", "wAIHA", "responder", duration_months=2, relapse_by="transfusion")]
    work = cohort_project(tmp_path / "p", pts)
    run_snakemake(work)
    results = work / "results"
    assert ard_value(results, "n_treated/all/n") == 1
    assert ard_value(results, "orr/wAIHA/numerator") == 1
    assert ard_value(results, "dor_min/wAIHA/value") == 2
    assert ard_value(results, "ongoing/wAIHA/numerator") == 0
    responses = pd.read_csv(results / "response" / "responses.tsv", sep="\t")
    assert responses["event"].tolist() == [1]  # relapsed (transfused at relapse)
    pdf_text(work)
    assert_reads_right(work)
