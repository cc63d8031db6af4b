"""The provenance and the methods say what ran: a study run with a --configfile of its
own (the lab's settings merged over config.yaml, which stays untouched) and a FlowJo
workspace as its gating source.

The lab folder is built from /work/shared/real-flow (a FlowJo-saved workspace with
four quadrant rectangles and its FCS file, not made by this project): every
cytometry sample is that file, except the week-4 functional tubes, which keep only
its first 5,000 events, so QC (at least 10,000 events kept) excludes them. The
clinical exports are a small synthetic cohort written by the demo generator's
functions; the cohort has a cAIHA patient with cytometry, so flow_n's wAIHA count
(its claim's definition) differs from the count over all patients.

Expected values come from the inputs the test writes (SHA-256 and HMAC computed
here with hashlib/hmac, the events kept from the truncation), never from output.
"""

from __future__ import annotations

import csv
import hashlib
import hmac
import json
import re
from datetime import date, timedelta
from pathlib import Path

import pdfplumber
import pytest
import yaml

from aiha.ard import lookup, read_ard
from cohorts import cohort_project, patient
from conftest import run_snakemake

pytestmark = pytest.mark.workflow
DIAMOND = Path("/work/shared/real-flow/flowkit/simple_diamond_example")
WSP = DIAMOND / "simple_diamond_example_quad_gate.wsp"
FCS = DIAMOND / "test_data_diamond_01.fcs"
Q1, Q2, Q3, Q4 = ("Q1: channel_A- , channel_B+", "Q2: channel_A+ , channel_B+",
                  "Q3: channel_A+ , channel_B-", "Q4: channel_A- , channel_B-")
FIRST_DOSE = date(2022, 3, 7)
PATIENTS = [patient("W1", "wAIHA", "responder", record_number="TST-1000001"),
            patient("W2", "wAIHA", record_number="TST-1000002"),
            patient("C1", "cAIHA", "responder", record_number="TST-1000003")]
SHORT_EVENTS = 5000


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def pdf_text(path: Path) -> str:
    with pdfplumber.open(path) as pdf:
        return "\n".join(p.extract_text() or "" for p in pdf.pages)


def truncated_copy(dest: Path, n: int) -> None:
    """The diamond file's first ``n`` events, as an FCS file of its own."""
    import flowkit as fk

    full = fk.Sample(str(FCS))
    events = full.get_events(source="raw")[:n]
    short = fk.Sample(events, sample_id=dest.name, channel_labels=list(full.pnn_labels))
    short.export(dest.name, source="raw", directory=str(dest.parent))


def write_lab_folder(work: Path) -> Path:
    """Clinical exports of the cohort and the lab's cytometry folder under labdata/."""
    from aiha.demo.cohort import load_spec
    from aiha.demo.exports import build_site_exports, write_exports

    raw = work / "labdata"
    profiles = yaml.safe_load((work / "resources" / "sites.yaml").read_text())["sites"]
    spec = load_spec(work / "resources" / "demo" / "test_cohort.yaml")
    exports = build_site_exports(spec, profiles)
    write_exports(exports, raw, {s: profiles[s]["encoding"] for s in exports})
    lab = raw / "cytometry"
    lab.mkdir()
    (lab / "quadrants.wsp").write_bytes(WSP.read_bytes())
    rows = []
    for p in PATIENTS:
        for visit, day in (("baseline", -3), ("week4", 28)):
            for tube, code in (("phenotype", "PH"), ("function", "FN")):
                sid = f"{p['key']}-{visit}-{code}"
                name = f"{sid}.fcs"
                if tube == "function" and visit == "week4":
                    truncated_copy(lab / name, SHORT_EVENTS)
                else:
                    (lab / name).write_bytes(FCS.read_bytes())
                rows.append({"sample_id": sid, "file": name, "site": p["site"],
                             "record_number": p["record_number"], "tube": tube, "visit": visit,
                             "collection_date": (FIRST_DOSE + timedelta(days=day)).isoformat(),
                             "workspace_sample": FCS.name})
    with open(lab / "samples.csv", "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    return raw


LAB_CONFIG = {
    "data": {"raw_dir": "labdata", "generate_demo": False},
    "report": {"title": "A lab's own study"},
    "cytometry": {
        "gating_source": "flowjo",
        "flowjo_workspace": {"phenotype": "labdata/cytometry/quadrants.wsp",
                             "function": "labdata/cytometry/quadrants.wsp"},
        "qc": {"kept_population": Q2, "min_events_kept": 10000, "min_percent_kept": 0.0},
        "populations": {"t_cells": Q2, "cd38": Q1,
                        "subsets": {"naive": Q1, "central_memory": Q3, "effector_memory": Q4,
                                    "temra": Q3},
                        "divided": Q3, "activation": Q1,
                        "labels": {"stimulus": "PMA/ionomycin"}},
        "figures": {"gating_visits": ["baseline"], "proliferation_visits": ["baseline", "week4"],
                    "proliferation_max_patients": 2, "summary_max_patients": 6,
                    "svg_hashsalt": "aiha-cytometry"},
    },
}


@pytest.fixture(scope="module")
def lab_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    if not WSP.is_file():
        pytest.skip(f"real FlowJo workspace not found at {WSP}")
    work = cohort_project(tmp_path_factory.mktemp("provenance") / "project", PATIENTS,
                          cytometry=["W1", "W2", "C1"])
    write_lab_folder(work)
    (work / "lab.yaml").write_text(yaml.safe_dump(LAB_CONFIG, sort_keys=False))
    run_snakemake(work, "--configfile", str(work / "lab.yaml"))
    return work


def test_provenance_carries_the_merged_config_in_force(lab_run: Path):
    res = lab_run / "results"
    record = json.loads((res / "provenance.json").read_text())
    in_force = res / "config_in_force.yaml"
    merged = yaml.safe_load(in_force.read_text())
    # the merged config: config.yaml's keys with the lab's over them
    assert merged["cytometry"]["gating_source"] == "flowjo"
    assert merged["report"]["title"] == "A lab's own study"
    assert merged["response"] == yaml.safe_load((lab_run / "config.yaml").read_text())["response"]
    cfg = record["config"]
    assert cfg["in_force"] == {"file": "results/config_in_force.yaml", "sha256": sha256(in_force)}
    assert cfg["in_force"]["sha256"] != sha256(lab_run / "config.yaml")
    assert cfg["files"] == [{"path": "config.yaml", "sha256": sha256(lab_run / "config.yaml")},
                            {"path": "lab.yaml", "sha256": sha256(lab_run / "lab.yaml")}]
    text = pdf_text(res / "report" / "study_report.pdf")
    appendix_b = text[text.index("Table B1. Build"):text.index("Table B4.")]
    flat = "".join(appendix_b.split())
    assert sha256(in_force) in flat
    assert "lab.yaml" in flat
    # config.yaml's own digest is listed as a file merged, never as the config in force
    assert f"Configinforce(merged)results/config_in_force.yaml(SHA-256{sha256(in_force)})" in flat


def test_provenance_digests_the_workspace_and_fingerprints_the_key(lab_run: Path):
    res = lab_run / "results"
    record = json.loads((res / "provenance.json").read_text())
    files = {(f["role"], f["path"]): f["sha256"] for f in record["input_files"]}
    wsp = lab_run / "labdata" / "cytometry" / "quadrants.wsp"
    assert files[("FlowJo workspace", "labdata/cytometry/quadrants.wsp")] == sha256(wsp) == sha256(WSP)
    assert files[("site profiles", "resources/sites.yaml")] == sha256(lab_run / "resources" / "sites.yaml")
    assert not any(role == "GatingML" for role, _ in files)
    key_file = lab_run / yaml.safe_load((lab_run / "config.yaml").read_text())["data"]["pseudonym_key_file"]
    key = key_file.read_bytes().strip()
    expected = hmac.new(key, b"aiha pseudonym key fingerprint v1", hashlib.sha256).hexdigest()
    assert record["pseudonym_key"]["fingerprint"] == expected
    raw = (res / "provenance.json").read_text()
    assert key.decode() not in raw and hashlib.sha256(key).hexdigest() not in raw
    flat = "".join(pdf_text(res / "report" / "study_report.pdf").split())
    assert sha256(WSP) in flat and expected in flat


def test_methods_name_the_workspace_not_gatingml(lab_run: Path):
    text = pdf_text(lab_run / "results" / "report" / "study_report.pdf")
    start = text.index("Flow cytometry", text.index("Data and cleaning"))
    end = re.search(r"\n\d+\. Patients\n", text[start:]).start() + start
    methods = " ".join(text[start:end].split())
    flat = "".join(methods.replace("\u2010", "").split())  # hyphenation at line ends undone
    assert "FlowJo10workspacelabdata/cytometry/quadrants.wsp(bothtubes)" in flat
    assert "GatingML" not in methods
    # the gate each role resolved to, by full path, and the QC thresholds as numbers
    assert "".join(f"/{Q1}".split()) in flat and "".join(f"/{Q2}".split()) in flat
    assert "fewer than 10,000 events" in methods
    # the lab's label, never the demo panel's words for a panel it does not have
    assert "PMA/ionomycin" in flat
    assert "CellTrace Violet" not in methods and "anti-CD3/CD28" not in methods
    for fragment in ("the first of the visits", "get(", "cytometry.claims", "statistics."):
        assert fragment not in methods


def test_function_figure_greys_the_samples_qc_excluded(lab_run: Path):
    res = lab_run / "results"
    facts = json.loads((res / "cytometry" / "figures" / "event_figures.json").read_text())
    samples = facts["function"]["samples"]
    excluded = {(s["patient_id"], s["visit"]) for s in samples if s["excluded_qc"]}
    assert {v for _, v in excluded} == {"Week 4"} and len(excluded) == 2  # 2 patients drawn
    for s in samples:
        if s["excluded_qc"]:
            assert s["excluded_qc"].startswith("1,") or "events kept, fewer than 10,000" in s["excluded_qc"]
    svg = (res / "cytometry" / "figures" / "proliferation.svg").read_text()
    assert "excluded by QC" in svg
    text = " ".join(pdf_text(res / "report" / "study_report.pdf").split())
    # the quadrant rectangles are 2-D gates: percentages only, no histogram
    assert facts["function"]["activation"]["drawn"] is False
    assert "2 samples of the 4 drawn were excluded by QC and are listed with the reason" in text


def test_flow_n_counts_the_wAIHA_patients(lab_run: Path):
    ard = read_ard(lab_run / "results" / "cytometry" / "flow_ard.tsv")
    assert lookup(ard, "flow_n", "all", "n") == 3
    assert lookup(ard, "flow_n", "wAIHA", "n") == 2
    assert lookup(ard, "flow_n", "cAIHA", "n") == 1
