"""A FlowJo 10 workspace as the gating source: the GatingML gates written as a
.wsp (FlowKit's writer) and read back by FlowKit give the same counts."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from aiha.cytometry import demo, gating
from aiha.cytometry.flowjo import export_workspace
from aiha.errors import InputError
from conftest import ROOT

GATING = ROOT / "resources" / "cytometry"


@pytest.mark.parametrize("tube", ["phenotype", "function"])
def test_workspace_round_trip_gives_same_counts(tmp_path: Path, tube: str):
    files = []
    for i, day in enumerate((-3, 28)):
        rng = np.random.default_rng([5, i])
        events = demo.simulate_events(tube, demo.visit_biology(day, None, 0), 15000, rng)
        path = tmp_path / f"S{i}.fcs"
        path.write_bytes(demo.fcs_bytes(events, tube, {}))
        files.append(path)
    strategy = gating.load_gatingml(GATING / f"gating_{tube}.v1.xml", "logicle")
    wsp = tmp_path / f"{tube}.wsp"
    export_workspace(strategy, files, wsp)
    first = wsp.read_bytes()
    export_workspace(gating.load_gatingml(GATING / f"gating_{tube}.v1.xml", "logicle"), files, wsp)
    assert wsp.read_bytes() == first  # deterministic
    for path in files:
        expected, _ = gating.gate_file(path, path.name, strategy)
        got, _ = gating.gate_file(path, path.name, flowjo_workspace=wsp)
        assert dict(zip(got["population"], got["count"])) == dict(zip(expected["population"], expected["count"]))
    # a batch (one gating job of several files) parses the workspace once, same counts
    settings = {"gating_source": "flowjo", "transform": "logicle", "asinh": None,
                "gate_in_linear_units": False,
                "qc": {"kept_population": "Margin", "min_events_kept": 0, "min_percent_kept": 0}}
    batch, _ = gating.gate_samples([(p.name, str(p), str(wsp)) for p in files], settings)
    for path in files:
        expected, _ = gating.gate_file(path, path.name, strategy)
        got = batch[batch["sample_id"] == path.name]
        assert dict(zip(got["population"], got["count"])) == dict(zip(expected["population"], expected["count"]))


def test_workspace_without_the_sample(tmp_path: Path):
    rng = np.random.default_rng(1)
    path = tmp_path / "S0.fcs"
    path.write_bytes(demo.fcs_bytes(demo.simulate_events("phenotype", demo.visit_biology(-3, None, 0),
                                                         5000, rng), "phenotype", {}))
    wsp = tmp_path / "p.wsp"
    export_workspace(gating.load_gatingml(GATING / "gating_phenotype.v1.xml", "logicle"), [path], wsp)
    other = tmp_path / "other.fcs"
    other.write_bytes(path.read_bytes())
    with pytest.raises(InputError) as err:
        gating.gate_file(other, "other", flowjo_workspace=wsp)
    assert err.value.value == "other.fcs" and err.value.file == str(wsp)
