"""The GatingML 2.0 compliance suite (data1.fcs, one GatingML file per gate kind,
the published per-event membership truth), in every gating mode the config
allows: transform logicle or asinh, x gate_in_linear_units true or false.

The (GatingML file, gate, truth file) triples are read from FlowKit's own test
file of the suite (``gatingml_tests.py.txt``), so every gate it checks is checked
here. data1.fcs has no spillover matrix: gates that ask for the file's own
compensation ("FCS") are gated uncompensated, as the specification says, with
``missing_spillover: uncompensated``; with the default ``refuse`` they are
refused with a message naming the file and ``$SPILLOVER``.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest

from aiha.errors import InputError

REF = Path("/work/shared/real-flow/flowkit")
if not REF.is_dir():
    REF = Path(__file__).resolve().parents[2] / "shared" / "real-flow" / "flowkit"
SUITE = REF / "gate_ref"
ASINH = {"t": 262144, "m": 4.5, "a": 0.0}
MODES = [(t, linear) for t in ("logicle", "asinh") for linear in (False, True)]


def suite_cases() -> list[tuple[str, str, str]]:
    """(gml file, gate name, truth file) of every membership FlowKit's suite checks."""
    text = (REF / "gatingml_tests.py.txt").read_text()
    cases = []
    for block in text.split("def test_")[1:]:
        gml = re.findall(r"gate_ref/gml/(\w+\.xml)", block)
        truths = re.findall(r"gate_ref/truth/(Results_[\w-]+\.txt)", block)
        gates = re.findall(r"get_gate_membership\((?:[\w.]+, )?'([^']+)'", block)
        if gml and truths and len(truths) == len(gates):
            cases += [(gml[0], g, t) for g, t in zip(gates, truths)]
    return cases


CASES = suite_cases() if SUITE.is_dir() else []


def test_suite_is_present_and_complete():
    if not SUITE.is_dir():
        pytest.skip(f"GatingML compliance suite not found at {SUITE}")
    # every truth file of the suite is checked by at least one case
    truth_files = {p.name for p in (SUITE / "truth").glob("Results_*.txt")}
    assert len(CASES) >= 50
    assert {t for _, _, t in CASES} == truth_files


@pytest.fixture(scope="module")
def truths() -> dict[str, np.ndarray]:
    return {t: np.loadtxt(SUITE / "truth" / t, dtype=int).astype(bool) for _, _, t in CASES}


@pytest.mark.parametrize("transform,linear", MODES, ids=[f"{t}-linear{int(x)}" for t, x in MODES])
def test_every_gate_matches_the_truth_in_every_mode(transform: str, linear: bool, truths):
    if not CASES:
        pytest.skip(f"GatingML compliance suite not found at {SUITE}")
    from aiha.cytometry import gating

    failures = []
    checked = 0
    by_file: dict[str, list[tuple[str, str]]] = {}
    for gml, gate, truth in CASES:
        by_file.setdefault(gml, []).append((gate, truth))
    for gml, gates in sorted(by_file.items()):
        strategy = gating.load_gatingml(SUITE / "gml" / gml, transform, ASINH, linear)
        uses_fcs = any(getattr(d, "compensation_ref", None) == "FCS"
                       for g in gating.iter_gates(strategy) for d in getattr(g, "dimensions", []))
        sample = gating.read_sample(SUITE / "data1.fcs", gating.required_channels(strategy), "data1",
                                    needs_fcs_spillover=uses_fcs, missing_spillover="uncompensated")
        results = gating.gate_results(sample, strategy)
        for gate, truth in gates:
            got = np.asarray(results.get_gate_membership(gate), dtype=bool)
            checked += 1
            if not np.array_equal(got, truths[truth]):
                failures.append(f"{gml}:{gate}: {int(got.sum())} events, truth {int(truths[truth].sum())}")
    assert checked == len(CASES)
    assert not failures, failures


def test_missing_spillover_is_refused_by_default():
    if not CASES:
        pytest.skip(f"GatingML compliance suite not found at {SUITE}")
    from aiha.cytometry import gating

    strategy = gating.load_gatingml(SUITE / "gml" / "gml_poly1_gate.xml", "logicle")
    with pytest.raises(InputError) as err:
        gating.read_sample(SUITE / "data1.fcs", gating.required_channels(strategy), "data1",
                           needs_fcs_spillover=True)
    assert err.value.column == "$SPILLOVER" and err.value.file.endswith("data1.fcs")
    assert "missing_spillover" in err.value.message
