"""A lab's own folder, end to end: real FCS files and a FlowJo-saved workspace
(not written by this project), the lab's own sample sheet (files renamed after
analysis, so each row names its workspace sample) and populations named as in
the workspace, run through the workflow with gating_source flowjo to the flow
claims, the reconciliation table and the PDF.

The clinical side is the demo build's raw exports, pointed at with
generate_demo: false; the cytometry folder is replaced by the lab folder."""

from __future__ import annotations

import csv
import shutil
from pathlib import Path

import pandas as pd
import pytest
import yaml

from aiha.ard import lookup, read_ard
from conftest import copy_project, run_snakemake

pytestmark = pytest.mark.workflow
LINE = Path("/work/shared/real-flow/flowkit/simple_line_example")
FCS = LINE / "data_set_simple_line_100.fcs"
WSP = LINE / "simple_poly_and_rect_v2_poly50.wsp"  # a polygon and a rectangle, saved by FlowJo


@pytest.fixture(scope="module")
def lab_project(demo_project: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    if not WSP.is_file():
        pytest.skip(f"real FlowJo workspace not found at {WSP}")
    work = copy_project(tmp_path_factory.mktemp("lab") / "project")
    raw = work / "labdata"
    shutil.copytree(demo_project / "data" / "demo", raw, ignore=shutil.ignore_patterns("cytometry"))
    lab = raw / "cytometry"
    lab.mkdir()
    shutil.copyfile(WSP, lab / "lab_gates.wsp")
    with open(demo_project / "data" / "demo" / "cytometry" / "samples.csv", newline="") as handle:
        demo_rows = list(csv.DictReader(handle))
    rows = []
    for row in demo_rows:  # the demo's samples (patients, visits, dates); the lab's files
        name = f"LAB_{row['sample_id']}.fcs"
        shutil.copyfile(FCS, lab / name)
        rows.append({**row, "file": name, "workspace_sample": FCS.name})
    with open(lab / "samples.csv", "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    config = yaml.safe_load((work / "config.yaml").read_text())
    config["data"].update({"raw_dir": str(raw), "generate_demo": False})
    cyto = config["cytometry"]
    cyto["gating_source"] = "flowjo"
    cyto["flowjo_workspace"] = {"phenotype": str(lab / "lab_gates.wsp"), "function": str(lab / "lab_gates.wsp")}
    cyto["qc"].update({"kept_population": "poly1", "min_events_kept": 0, "min_percent_kept": 0.0})
    cyto["populations"] = {"t_cells": "/poly1", "cd38": "rect1",
                           "subsets": {"naive": "poly1", "central_memory": "rect1",
                                       "effector_memory": "rect1", "temra": "rect1"},
                           "divided": "rect1", "activation": "rect1"}
    (work / "config.yaml").write_text(yaml.safe_dump(config, sort_keys=False))
    run_snakemake(work, "results/report/study_report.pdf", "results/cytometry/flow_ard.tsv",
                  "results/cytometry/flowjo_reconciliation.tsv")
    return work


def test_lab_folder_reaches_claims_reconciliation_and_pdf(lab_project: Path):
    res = lab_project / "results"
    n_samples = sum(1 for _ in open(lab_project / "labdata" / "cytometry" / "samples.csv")) - 1
    pops = pd.read_csv(res / "cytometry" / "populations.tsv", sep="\t", dtype=str)
    # FlowKit on the workspace's polygon: 50 of the 100 events (FlowKit's own test value)
    assert set(pops.loc[pops["population"] == "poly1", "count"]) == {"50"}
    qc = pd.read_csv(res / "cytometry" / "qc.tsv", sep="\t")
    assert len(qc) == n_samples and set(qc["events_acquired"]) == {100}
    ard = read_ard(res / "cytometry" / "flow_ard.tsv")
    assert lookup(ard, "flow_n", "all", "samples") == n_samples
    # rect1 holds 0 events: 0 % of the T-cell population in every sample, so depletion is complete
    assert lookup(ard, "flow_depletion", "all", "numerator") == lookup(ard, "flow_depletion", "all", "denominator")
    rec = pd.read_csv(res / "cytometry" / "flowjo_reconciliation.tsv", sep="\t", keep_default_na=False)
    assert len(rec) == 2 * n_samples
    poly = rec[rec["gate_path"] == "poly1"]
    assert set(poly["gate_type"]) == {"polygon"} and set(poly["flowjo_count"]) == {0}
    assert set(poly["pipeline_count"]) == {50} and set(poly["within_tolerance"].astype(str)) == {"False"}
    assert (res / "cytometry" / "figures" / "gating_strategy.svg").stat().st_size > 0
    assert (res / "report" / "study_report.pdf").stat().st_size > 0
    html = (res / "report" / "study_report.html").read_text()
    assert "gating_strategy" in html
    # The report summarises the reconciliation by gate type and names the known cause.
    assert "FlowJo&#39;s stored counts against this analysis" in html or \
        "FlowJo's stored counts against this analysis" in html
    assert "binned (display-resolution) data" in html
    assert "Gating strategy of the phenotype tube (FlowJo workspace)" in html
