"""The cytometry rules on the demo build: published flow claims, tables, figures,
no identifiers, and a touched FCS file reruns only its own chain."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pandas as pd
import pytest
import yaml

from aiha.ard import lookup, read_ard
from conftest import run_snakemake

pytestmark = pytest.mark.workflow

FIGURES = ["gating_strategy.svg", "cd38_timecourse.svg", "tcell_subsets.svg", "proliferation.svg"]


@pytest.fixture(scope="module")
def cyto(demo_results: Path) -> Path:
    return demo_results / "cytometry"


@pytest.fixture(scope="module")
def flow_ard(cyto: Path) -> pd.DataFrame:
    return read_ard(cyto / "flow_ard.tsv")


def v(ard, stat_id, group, statistic):
    return lookup(ard, stat_id, group, statistic)


def test_published_flow_claims(flow_ard):
    assert v(flow_ard, "flow_n", "all", "n") == 2
    assert (v(flow_ard, "flow_depletion", "all", "numerator"),
            v(flow_ard, "flow_depletion", "all", "denominator")) == (2, 2)
    assert (v(flow_ard, "flow_subsets", "all", "numerator"),
            v(flow_ard, "flow_subsets", "all", "denominator")) == (2, 2)
    assert (v(flow_ard, "flow_function", "all", "numerator"),
            v(flow_ard, "flow_function", "all", "denominator")) == (2, 2)
    assert v(flow_ard, "flow_relapse", "all", "n") == 1
    assert v(flow_ard, "flow_relapse", "all", "reappeared_without_relapse") == 0
    assert set(flow_ard["stat_id"]) == {"flow_n", "flow_depletion", "flow_subsets", "flow_function",
                                        "flow_relapse"}
    assert set(flow_ard["rule"]) == {"cytometry_claims"}


@pytest.fixture(scope="module")
def planned(demo_project: Path):
    """The demo's FCS files as the generator planned them, with the biology each was
    drawn from (the truth), keyed by the patient's pseudonym."""
    from aiha.cytometry.demo import plan_samples
    from aiha.demo.cohort import load_spec
    from aiha.pseudonym import pseudonymize, read_key

    cfg = yaml.safe_load((demo_project / "config.yaml").read_text())
    spec = load_spec(demo_project / cfg["data"]["demo_spec"], cfg["data"]["demo_multiplier"])
    key = read_key(str(demo_project / cfg["data"]["pseudonym_key_file"]))
    samples = plan_samples(spec, cfg["cytometry"]["demo"])
    return [(pseudonymize(s.site, s.record_number, key), s) for s in samples]


def test_biology_of_the_demo(flow_ard, planned):
    """Each patient's CD38+ % of T cells at baseline, nadir and reappearance equals
    the share the generator drew the events from, within sampling error (about
    +-1 percentage point with thousands of T cells per file; 2 points allowed)."""
    per_patient = flow_ard[flow_ard["group"].str.startswith("PT-")]

    def measured(stat, statistic):
        rows = per_patient[(per_patient["stat_id"] == stat) & (per_patient["statistic"] == statistic)]
        return dict(zip(rows["group"], rows["value"].astype(float)))

    truth: dict[str, dict[int, float]] = {}
    for pid, s in planned:
        if s.tube == "phenotype":
            truth.setdefault(pid, {})[s.day] = s.biology.cd38_of_t
    base = measured("flow_depletion", "baseline_percent")
    assert set(base) == set(truth)
    for pid, value in base.items():
        days = truth[pid]
        assert value == pytest.approx(days[max(d for d in days if d <= 0)], abs=2.0), pid
    for pid, value in measured("flow_depletion", "nadir_percent").items():
        assert value == pytest.approx(min(v for d, v in truth[pid].items() if d > 0), abs=2.0)
    reappeared = measured("flow_relapse", "reappearance_percent")
    relapsing = {pid for pid, days in truth.items()
                 if max(v for d, v in days.items() if d > 0) > 10}
    assert set(reappeared) == relapsing and len(relapsing) == 1
    for pid, value in reappeared.items():
        assert value == pytest.approx(max(v for d, v in truth[pid].items() if d > 0), abs=2.0)


def test_qc_table(cyto: Path, planned):
    qc = pd.read_csv(cyto / "qc.tsv", sep="\t", keep_default_na=False)
    assert list(qc.columns) == ["sample_id", "patient_id", "visit", "day", "tube", "events_acquired",
                                "events_kept", "percent_kept", "qc_flag"]
    assert len(qc) == len(planned) and qc["sample_id"].is_unique
    assert (qc["events_kept"] <= qc["events_acquired"]).all()
    assert set(qc["tube"]) == {"phenotype", "function"}
    assert qc["patient_id"].str.fullmatch(r"PT-[0-9A-F]{16}").all()


def test_population_table(cyto: Path):
    pops = pd.read_csv(cyto / "populations.tsv", sep="\t", keep_default_na=False)
    assert {"sample_id", "patient_id", "visit", "day", "tube", "population", "gate_path", "parent",
            "count", "percent_of_parent"} == set(pops.columns)
    assert not pops.duplicated(["sample_id", "gate_path"]).any()


def test_no_record_numbers_in_results(demo_project: Path, demo_results: Path):
    spec = yaml.safe_load((demo_project / "resources" / "demo" / "cohort.yaml").read_text())
    records = [p["record_number"] for p in spec["patients"]]
    for path in (demo_results / "cytometry").rglob("*"):
        if path.is_file():
            text = path.read_text(errors="ignore")
            assert not any(r in text for r in records), path


def test_figures_are_deterministic_svg(cyto: Path):
    for name in FIGURES:
        text = (cyto / "figures" / name).read_text()
        assert text.startswith("<?xml") and "<dc:date>" not in text
        assert "Matplotlib" not in text.split("</metadata>")[0]
    gating = (cyto / "figures" / "gating_strategy.svg").read_text()
    assert "<image" in gating  # density plots rasterized, axes vector


def test_figure_percentages_are_the_claims(cyto: Path, flow_ard):
    """The percentages the event figures print are the numbers the claims use:
    each patient's baseline activated and divided % of T cells (Figure 8), and the
    CD38+ % of T cells of the gating figure's baseline sample (Figure 5)."""
    facts = json.loads((cyto / "figures" / "event_figures.json").read_text(encoding="utf-8"))
    baseline = [s for s in facts["function"]["samples"] if s["day"] <= 0]
    assert {s["patient_id"] for s in baseline} == set(
        flow_ard.loc[flow_ard["group"].str.startswith("PT-"), "group"])
    for s in baseline:
        for role in ("activation", "divided"):
            claimed = v(flow_ard, "flow_function", s["patient_id"], f"{role}_baseline")
            assert s[f"{role}_percent"] == pytest.approx(claimed, abs=1e-6), (s, role)
    gating = facts["gating"]
    assert gating["day"] <= 0
    cd38 = next(p for panel in gating["panels"] for p in panel["populations"] if p["label"] == "CD38+")
    assert cd38["percent"] == pytest.approx(
        v(flow_ard, "flow_depletion", gating["patient_id"], "baseline_percent"), abs=1e-6)


def _planned_jobs(output: str) -> dict[str, int]:
    jobs = {}
    for line in output.splitlines():
        m = re.match(r"^(\w+)\s+(\d+)$", line.strip())
        if m and m.group(1) != "total":
            jobs[m.group(1)] = int(m.group(2))
    return jobs


def test_touching_one_fcs_reruns_only_its_chain(demo_project: Path):
    config = yaml.safe_load((demo_project / "config.yaml").read_text())
    raw = demo_project / config["data"]["raw_dir"] / "cytometry"
    target = "results/cytometry/flow_ard.tsv"
    fcs = raw / "FCM005-PH.fcs"  # not used by the event figures
    fcs.touch()
    try:
        dry = run_snakemake(demo_project, "-n", target)
        jobs = _planned_jobs(dry.stdout + dry.stderr)
        assert jobs.get("cytometry_gate") == 1, jobs  # the job of its patient
        assert "cytometry_demo_fcs" not in jobs and "cytometry_sample_sheet" not in jobs, jobs
        assert not any(rule.startswith(("clean", "validate", "score")) for rule in jobs), jobs
    finally:
        run_snakemake(demo_project, "--touch", target)


def test_one_job_per_file_gives_the_same_tables(demo_project: Path, tmp_path: Path):
    """cytometry.gating_jobs: sample gates each FCS file in its own job; the tables
    equal those of one job per patient, and a touched file regates only itself."""
    from test_guardrails_inputs import _copy_project, write_config

    work = _copy_project(demo_project, tmp_path / "project")
    cfg = yaml.safe_load((work / "config.yaml").read_text())
    cfg["cytometry"]["gating_jobs"] = "sample"
    write_config(work, cfg)
    sheet = pd.read_csv(work / cfg["data"]["raw_dir"] / "cytometry" / "samples.csv", dtype=str)
    targets = ["results/cytometry/populations.tsv", "results/cytometry/qc.tsv"]
    run_snakemake(work, *targets)
    gated = sorted(p.name for p in (work / "results" / "cytometry" / "gated").glob("*.qc.tsv"))
    assert [n.removesuffix(".qc.tsv") for n in gated if not n.startswith("PT-")] == sorted(sheet["sample_id"])
    for target in targets:
        assert (work / target).read_bytes() == (demo_project / target).read_bytes(), target
    (work / cfg["data"]["raw_dir"] / "cytometry" / "FCM005-PH.fcs").touch()
    dry = run_snakemake(work, "-n", targets[0])
    jobs = _planned_jobs(dry.stdout + dry.stderr)
    assert jobs.get("cytometry_gate") == 1, jobs
