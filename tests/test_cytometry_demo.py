"""The demo FCS files regenerate byte for byte (resources/cytometry/demo_manifest.sha256)
and carry the panel, spillover and biology the study describes."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import yaml

from aiha.cytometry import demo
from aiha.demo.cohort import load_spec, timeline
from conftest import ROOT

CONFIG = yaml.safe_load((ROOT / "config.yaml").read_text())["cytometry"]
SPEC = load_spec(ROOT / "resources" / "demo" / "cohort.yaml")


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("cyto_demo")
    demo.generate_demo_fcs(SPEC, CONFIG["demo"], out)
    return out


def test_regenerated_files_match_committed_manifest(generated: Path):
    expected = (ROOT / "resources" / "cytometry" / "demo_manifest.sha256").read_text()
    assert (generated / "MANIFEST.sha256").read_text() == expected
    assert demo.check_manifest(generated / "MANIFEST.sha256") == []
    assert len(expected.splitlines()) == 2 * 2 * 7 + 1  # 2 patients x 7 visits x 2 tubes + sheet


def test_manifest_detects_a_changed_file(generated: Path, tmp_path: Path):
    for p in generated.iterdir():
        (tmp_path / p.name).write_bytes(p.read_bytes())
    victim = tmp_path / "FCM001-PH.fcs"
    data = bytearray(victim.read_bytes())
    data[-1] ^= 1
    victim.write_bytes(bytes(data))
    assert demo.check_manifest(tmp_path / "MANIFEST.sha256") == ["FCM001-PH.fcs"]


def test_visits_follow_the_clinical_timeline():
    planned = demo.plan_samples(SPEC, CONFIG["demo"])
    w03 = timeline(SPEC, "W03")
    relapse = [s for s in planned if s.visit == "relapse"]
    assert {s.collection_date for s in relapse} == {w03.relapse_date}
    assert {s.patient_key for s in planned} == {"W03", "W06"}
    assert all(s.tube in ("phenotype", "function") for s in planned)


def test_fcs_keywords_panel_and_spillover(generated: Path):
    import flowio

    fd = flowio.FlowData(str(generated / "FCM001-PH.fcs"))
    assert fd.version == "3.1"
    assert fd.event_count == CONFIG["demo"]["events_per_file"]
    pns = [fd.channels[i].get("pns", "") for i in range(1, fd.channel_count + 1)]
    assert {"CD3", "CD4", "CD8", "CD38", "CD45RA", "CCR7", "HLA-DR", "Viability"} <= set(pns)
    assert fd.text["spillover"].startswith("8,BV421-A,")
    fn = flowio.FlowData(str(generated / "FCM001-FN.fcs"))
    pns = {fn.channels[i].get("pns", "") for i in range(1, fn.channel_count + 1)}
    assert {"CTV", "CD25", "CD69", "CD137", "CD3"} <= pns


def test_event_count_is_a_parameter():
    rng = np.random.default_rng(1)
    events = demo.simulate_events("function", demo.visit_biology(14, None, 1), 1234, rng)
    assert events.shape == (1234, 12) and events.dtype == np.float32
