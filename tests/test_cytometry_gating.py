"""Gating of a hand-built FCS file with known populations, through FlowKit and
through the independent numpy reference, on both scales; and bad FCS input."""

from __future__ import annotations

import copy
from pathlib import Path

import numpy as np
import pytest

from aiha.cytometry import demo, gating, reference
from aiha.errors import InputError
from conftest import ROOT

GATING = ROOT / "resources" / "cytometry"
ASINH = {"t": 262144, "m": 4.5, "a": 0.0}
POS = 5000.0  # a clearly positive compensated intensity; 0 is negative

# (number of events, overrides of the default event). The default event is a live,
# singlet lymphocyte acquired after the unstable start, negative for every marker.
GROUPS: list[tuple[int, dict[str, float]]] = [
    (10, {"Time": 0.5}),  # unstable start, removed by the Time gate
    (5, {"FSC-A": 262143.0}),  # saturated, removed by the margin gate
    (5, {"FSC-H": 40000.0}),  # doublet: FSC-H / FSC-A ~ 0.57
    (10, {"FSC-A": 15000.0, "FSC-H": 13000.0}),  # debris, outside the lymphocytes
    (10, {"Viability": 30000.0}),  # dead
    (10, {}),  # live non-T lymphocytes
    # 50 T cells: CD4/CD8, CD38, and CCR7 x CD45RA subsets
    (12, {"CD3": POS, "CD4": POS, "CD38": POS, "CCR7": POS, "CD45RA": POS}),  # naive
    (8, {"CD3": POS, "CD4": POS, "CCR7": POS, "CD45RA": POS}),  # naive
    (10, {"CD3": POS, "CD4": POS, "CCR7": POS}),  # central memory
    (8, {"CD3": POS, "CD8": POS, "CD38": POS}),  # effector memory
    (7, {"CD3": POS, "CD8": POS}),  # effector memory
    (5, {"CD3": POS, "CD45RA": POS}),  # TEMRA, CD4-CD8-
]
EXPECTED = {
    "Time": 90, "Margin": 85, "Singlets": 80, "Lymphocytes": 70, "Live": 60, "CD3pos": 50,
    "CD38pos": 20, "CD4pos": 30, "CD8pos": 15, "DN": 5, "DP": 0,
    "Naive": 20, "CM": 10, "EM": 15, "TEMRA": 5,
}


def known_events() -> np.ndarray:
    """Raw events: the true intensities with the demo spillover applied."""
    markers = demo.PANELS["phenotype"]
    rows = []
    for n, overrides in GROUPS:
        for _ in range(n):
            event = {"FSC-A": 70000.0, "FSC-H": 60000.0, "SSC-A": 18000.0, "Time": 30.0}
            event.update({m: 0.0 for m in markers})
            event.update(overrides)
            rows.append(event)
    scatter = np.array([[e["FSC-A"], e["FSC-H"], e["SSC-A"], e["Time"] / demo.TIMESTEP] for e in rows])
    true = np.array([[e[m] for m in markers] for e in rows])
    return np.column_stack([scatter, true @ demo.SPILLOVER]).astype(np.float32)


def write_fcs(path: Path, events: np.ndarray, tube: str = "phenotype", **meta: str) -> Path:
    path.write_bytes(demo.fcs_bytes(events, tube, meta))
    return path


@pytest.fixture(scope="module")
def known_fcs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_fcs(tmp_path_factory.mktemp("fcs") / "known.fcs", known_events())


@pytest.mark.parametrize("transform", ["logicle", "asinh"])
@pytest.mark.parametrize("linear_bounds", [False, True])
def test_known_populations_give_exact_counts(known_fcs: Path, transform: str, linear_bounds: bool):
    strategy = gating.load_gatingml(GATING / "gating_phenotype.v1.xml", transform, ASINH, linear_bounds)
    table, sample = gating.gate_file(known_fcs, "known", strategy)
    counts = dict(zip(table["population"], table["count"]))
    assert counts == EXPECTED
    assert sample.event_count == 100
    row = table.set_index("population").loc["CD38pos"]
    assert row["parent"] == "CD3pos"
    assert row["gate_path"] == "Time/Margin/Singlets/Lymphocytes/Live/CD3pos/CD38pos"
    assert row["percent_of_parent"] == pytest.approx(40.0)


@pytest.mark.parametrize("tube", ["phenotype", "function"])
def test_numpy_reference_and_scales_agree_with_flowkit_on_demo_file(tmp_path: Path, tube: str):
    rng = np.random.default_rng(7)
    biology = demo.visit_biology(-3, None, 0)
    path = write_fcs(tmp_path / "demo.fcs", demo.simulate_events(tube, biology, 20000, rng), tube)
    xml = GATING / f"gating_{tube}.v1.xml"
    strategy = gating.load_gatingml(xml, "logicle")
    table, _ = gating.gate_file(path, "demo", strategy)
    counts = reference.counts_from_table(table)
    raw, pnn, pns, text = reference.read_fcs_array(str(path))
    assert reference.gate_counts(raw, pnn, pns, text["spillover"], strategy) == counts
    for transform, linear in (("asinh", False), ("logicle", True), ("asinh", True)):
        other = gating.load_gatingml(xml, transform, ASINH, linear)
        assert reference.counts_from_table(gating.gate_file(path, "demo", other)[0]) == counts


def test_qc_row_flags_below_thresholds(known_fcs: Path):
    strategy = gating.load_gatingml(GATING / "gating_phenotype.v1.xml", "logicle")
    table, sample = gating.gate_file(known_fcs, "known", strategy)
    ok = gating.qc_row(table, "known", sample.event_count, "Margin", 85, 85.0)
    assert (ok["events_kept"], ok["percent_kept"], ok["qc_flag"]) == (85, 85.0, "")
    low = gating.qc_row(table, "known", sample.event_count, "Margin", 86, 90.0)
    assert low["qc_flag"] == "low_events_kept;low_percent_kept"


SETTINGS = {"gating_source": "gatingml", "transform": "logicle", "asinh": ASINH,
            "gate_in_linear_units": True,
            "qc": {"kept_population": "Margin", "min_events_kept": 86, "min_percent_kept": 80.0}}


def test_gate_samples_gates_a_batch_like_one_file_each(known_fcs: Path, tmp_path: Path):
    rng = np.random.default_rng(11)
    other = write_fcs(tmp_path / "fn.fcs", demo.simulate_events(
        "function", demo.visit_biology(14, None, 1), 5000, rng), "function")
    batch = [("known", str(known_fcs), str(GATING / "gating_phenotype.v1.xml")),
             ("fn", str(other), str(GATING / "gating_function.v1.xml")),
             ("again", str(known_fcs), str(GATING / "gating_phenotype.v1.xml"))]
    populations, qc = gating.gate_samples(batch, SETTINGS)
    assert list(populations.columns) == gating.POPULATION_COLUMNS
    assert list(qc.columns) == gating.QC_COLUMNS
    assert list(qc["sample_id"]) == ["known", "fn", "again"]
    for sample_id, path, xml in batch:
        alone, sample = gating.gate_file(path, sample_id, gating.load_gatingml(xml, "logicle"))
        got = populations[populations["sample_id"] == sample_id].reset_index(drop=True)
        assert got.equals(alone)
        row = qc.set_index("sample_id").loc[sample_id]
        assert row["events_acquired"] == sample.event_count
    known = qc.set_index("sample_id").loc["known"]
    assert (known["events_kept"], known["qc_flag"]) == (85, "low_events_kept")


def test_gate_samples_stops_at_the_bad_file_and_names_it(known_fcs: Path, tmp_path: Path):
    bad = tmp_path / "truncated.fcs"
    bad.write_bytes(known_fcs.read_bytes()[:-600])
    xml = str(GATING / "gating_phenotype.v1.xml")
    with pytest.raises(InputError) as err:
        gating.gate_samples([("ok", str(known_fcs), xml), ("bad", str(bad), xml)], SETTINGS)
    assert str(bad) in str(err.value)


# ------------------------------------------------------------------ bad input
def _gate(path: Path) -> None:
    strategy = gating.load_gatingml(GATING / "gating_phenotype.v1.xml", "logicle")
    gating.gate_file(path, "bad", strategy)


def test_truncated_fcs_names_the_file(known_fcs: Path, tmp_path: Path):
    data = known_fcs.read_bytes()
    bad = tmp_path / "truncated.fcs"
    bad.write_bytes(data[: len(data) - 600])
    with pytest.raises(InputError) as err:
        _gate(bad)
    assert str(bad) in str(err.value) and "truncated" in str(err.value)


def test_corrupted_header_names_the_file(known_fcs: Path, tmp_path: Path):
    data = bytearray(known_fcs.read_bytes())
    data[10:26] = b"garbage!garbage!"  # TEXT offsets
    bad = tmp_path / "header.fcs"
    bad.write_bytes(bytes(data))
    with pytest.raises(InputError) as err:
        _gate(bad)
    assert str(bad) in str(err.value)
    bad.write_bytes(b"XYZ" + bytes(data[3:]))
    with pytest.raises(InputError) as err:
        _gate(bad)
    assert str(bad) in str(err.value) and "HEADER" in str(err.value)


def test_missing_channel_names_file_and_channel(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    panel = list(demo.PANELS["phenotype"])
    panel[panel.index("CD38")] = "CD39"
    monkeypatch.setitem(demo.PANELS, "phenotype", tuple(panel))
    bad = write_fcs(tmp_path / "nocd38.fcs", known_events())
    with pytest.raises(InputError) as err:
        _gate(bad)
    assert err.value.column == "CD38" and err.value.file == str(bad)
    assert "'CD38'" in str(err.value) and str(bad) in str(err.value)


def test_spillover_naming_unknown_detector(tmp_path: Path):
    spill = demo.spillover_keyword(["BV999-A", *demo.DETECTORS[1:]], demo.SPILLOVER)
    bad = write_fcs(tmp_path / "spill.fcs", known_events(), SPILLOVER=spill)
    with pytest.raises(InputError) as err:
        _gate(bad)
    assert err.value.column == "$SPILLOVER" and err.value.value == "BV999-A"


def test_spillover_of_wrong_size(tmp_path: Path):
    spill = demo.spillover_keyword(demo.DETECTORS, demo.SPILLOVER)
    bad = write_fcs(tmp_path / "spill.fcs", known_events(), SPILLOVER=spill.rsplit(",", 3)[0])
    with pytest.raises(InputError) as err:
        _gate(bad)
    assert err.value.column == "$SPILLOVER" and str(bad) in str(err.value)


def test_zero_events(tmp_path: Path):
    bad = write_fcs(tmp_path / "empty.fcs", np.zeros((0, 12), dtype=np.float32))
    with pytest.raises(InputError) as err:
        _gate(bad)
    assert str(bad) in str(err.value)


@pytest.mark.parametrize("kind", ["ellipse", "polygon"])
def test_non_rectangular_gates_on_logicle_axes_keep_flowkit_counts_in_every_mode(tmp_path: Path, kind: str):
    """A polygon or ellipse authored on logicle axes stays on them under asinh and
    under linear-unit gating (only rectangle/quadrant bounds are re-expressed), so
    every mode counts what FlowKit counts on the authored scale."""
    import flowkit as fk

    rng = np.random.default_rng(3)
    path = write_fcs(tmp_path / "demo.fcs", demo.simulate_events("phenotype", demo.visit_biology(-3, None, 0),
                                                                 20000, rng))
    dims = [fk.Dimension("CD4", "FCS", "logicle"), fk.Dimension("CD8", "FCS", "logicle")]
    if kind == "ellipse":
        extra = fk.gates.EllipsoidGate("shape", dims, [0.3, 0.3], [[0.05, 0.0], [0.0, 0.05]], 1.0)
    else:
        extra = fk.gates.PolygonGate("shape", dims, [(0.1, 0.1), (0.6, 0.1), (0.6, 0.6), (0.1, 0.5)])
    counts = {}
    for transform, linear in (("logicle", False), ("logicle", True), ("asinh", False), ("asinh", True)):
        strategy = gating.load_gatingml(GATING / "gating_phenotype.v1.xml", transform, ASINH, linear)
        strategy.add_gate(copy.deepcopy(extra), ("root", "Time", "Margin", "Singlets", "Lymphocytes", "Live"))
        table, _ = gating.gate_file(path, "demo", strategy)
        counts[(transform, linear)] = dict(zip(table["gate_path"], table["count"]))
    # FlowKit's own count, on a strategy it gates as authored
    plain = fk.parse_gating_xml(str(GATING / "gating_phenotype.v1.xml"))
    plain.add_gate(copy.deepcopy(extra), ("root", "Time", "Margin", "Singlets", "Lymphocytes", "Live"))
    sample = fk.Sample(str(path))
    expected = int(plain.gate_sample(sample).get_gate_membership("shape").sum())
    assert expected > 100
    for mode, got in counts.items():
        assert got["Time/Margin/Singlets/Lymphocytes/Live/shape"] == expected, mode
