"""Every key of the ``cytometry`` config section reaches its use.

Each test sets a value other than the shipped one (config.yaml) and shows that what
the key governs changes as worked out here by hand, through the plumbing the
workflow uses: the params a rule of ``workflow/rules/cytometry.smk`` builds (read
from the rule file itself, so a key dropped there shows here; the functions of
:mod:`aiha.settings` and :mod:`aiha.cytometry.plan` it calls), then the library
function or the workflow script that consumes them. The data are the smallest
that show each effect: hand-made population tables, the 100-event FCS file of
``test_cytometry_gating`` and a few demo files. ``tests/config_reach_cytometry_report.yaml``
maps every key to its tests.
"""

from __future__ import annotations

import copy
import math
import re
import runpy
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import numpy as np
import pandas as pd
import pytest
import yaml

from aiha.ard import lookup, stats_to_frame
from aiha.config_checks import fill_defaults
from aiha.cytometry import claims, demo, gating, plan
from aiha.cytometry.populations import tube_populations
from aiha.errors import InputError
from aiha.settings import (cytometry_claims_config, cytometry_event_figures_config,
                           cytometry_summary_figures_config, qc_r_config)
from conftest import ROOT
from test_cytometry_gating import EXPECTED, known_events, write_fcs

RULES = ROOT / "workflow" / "rules"
GATING = ROOT / "resources" / "cytometry"
KEY = b"reach-test-key-0123456789abcdef"


def base_config() -> dict[str, Any]:
    cfg = yaml.safe_load((ROOT / "config.yaml").read_text(encoding="utf-8"))
    fill_defaults(cfg, ROOT / "workflow" / "schemas")
    for key in ("demo_spec", "pseudonym_key_file", "site_profiles"):
        cfg["data"][key] = str(ROOT / cfg["data"][key])
    return cfg


CFG = base_config()


def with_changes(**changes: Any) -> dict[str, Any]:
    """The whole config with ``cytometry.<dotted path>`` set (``a__b`` = ``a.b``)."""
    cfg = copy.deepcopy(CFG)
    for dotted, value in changes.items():
        node = cfg["cytometry"]
        *parents, last = dotted.split("__")
        for p in parents:
            node = node.setdefault(p, {})
        node[last] = value
    return cfg


def cyto(**changes: Any) -> dict[str, Any]:
    return with_changes(**changes)["cytometry"]


# ------------------------------------------------------------------ the rule file's params

def _expression(text: str, start: int) -> str:
    """The Python expression starting at ``text[start]``, up to the comma or newline
    that ends it outside brackets."""
    depth, i = 0, start
    quote = None
    while i < len(text):
        ch = text[i]
        if quote:
            if ch == quote:
                quote = None
        elif ch in "\"'":
            quote = ch
        elif ch in "([{":
            depth += 1
        elif ch in ")]}":
            if depth == 0:
                break
            depth -= 1
        elif ch in ",\n" and depth == 0:
            break
        i += 1
    return text[start:i].strip()


def smk_assignment(name: str, file: str = "cytometry.smk") -> str:
    """The right-hand side of a top-level assignment of a rule file."""
    text = (RULES / file).read_text(encoding="utf-8")
    m = re.search(rf"^{name} = ", text, re.M)
    assert m, f"{name} not assigned in {file}"
    return _expression(text, m.end())


def smk_param(rule: str, param: str, file: str = "cytometry.smk") -> str:
    """The expression of ``param`` in the ``params:`` of ``rule``."""
    text = (RULES / file).read_text(encoding="utf-8")
    m = re.search(rf"^\s*rule {rule}:\n", text, re.M)
    assert m, f"no rule {rule} in {file}"
    nxt = re.search(r"^\s*rule \w+:\n", text[m.end():], re.M)
    body = text[m.end(): m.end() + nxt.start() if nxt else len(text)]
    p = re.search(r"^(\s*)params:\n", body, re.M)
    assert p, f"rule {rule} has no params"
    q = re.search(rf"^\s+{param}=", body[p.end():], re.M)
    assert q, f"rule {rule} has no param {param}"
    return _expression(body, p.end() + q.end())


def evaluate(expr: str, cfg: dict[str, Any], **names: Any) -> Any:
    """``expr`` of a rule file evaluated as Snakemake would, with ``cfg`` as config."""
    from aiha import settings
    from aiha.cytometry.plan import gating_source_file, gating_units, pick_samples

    namespace = {
        "config": cfg, "CYTO": cfg.get("cytometry") or {}, "CYTO_ENABLED": True,
        "tube_populations": tube_populations, "gating_units": gating_units,
        "pick_samples": pick_samples, "gating_source_file": gating_source_file,
        "read_key": lambda path: KEY,
        **{k: getattr(settings, k) for k in dir(settings) if k.endswith("_config")},
        **names,
    }
    return eval(expr, namespace)  # noqa: S307 - the project's own rule file


def gate_settings(cfg_or_cyto: dict[str, Any]) -> dict[str, Any]:
    """What rule cytometry_gate passes as ``params.cyto`` (CYTO_GATE_SETTINGS)."""
    cfg = cfg_or_cyto if "cytometry" in cfg_or_cyto else {**CFG, "cytometry": cfg_or_cyto}
    return evaluate(smk_assignment("CYTO_GATE_SETTINGS"), cfg)


# ------------------------------------------------------------------ small data

@pytest.fixture(scope="module")
def known_fcs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """100 events; the counts of each population are ``EXPECTED`` (Margin 85)."""
    return write_fcs(tmp_path_factory.mktemp("reach-fcs") / "known.fcs", known_events())


@pytest.fixture(scope="module")
def function_fcs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    rng = np.random.default_rng(5)
    events = demo.simulate_events("function", demo.visit_biology(-3, None, 0), 2000, rng)
    return write_fcs(tmp_path_factory.mktemp("reach-fn") / "fn.fcs", events, "function")


def gate_one(fcs: Path, tube: str, cyto_section: dict[str, Any], sample_id: str = "S1"):
    """Gate one file as rule cytometry_gate does: the gating file of its tube
    (plan.gating_source_file) and params.cyto (CYTO_GATE_SETTINGS)."""
    job = {"sample_id": sample_id, "fcs": str(fcs), "tube": tube, "workspace_sample": "",
           "gating": plan.gating_source_file(cyto_section, tube)}
    return gating.gate_samples([job], gate_settings(cyto_section))


def run_script(script: str, work: Path, inputs: dict, outputs: dict, params: dict) -> None:
    """A workflow script in this process with a stand-in for Snakemake's object."""
    from aiha.jobs import Files

    log = work / "logs" / f"{script}.log"
    log.parent.mkdir(parents=True, exist_ok=True)

    def files(named):
        flat = [str(x) for v in named.values() for x in (v if isinstance(v, list) else [v])]
        return Files(flat, {k: (list(map(str, v)) if isinstance(v, list) else str(v))
                            for k, v in named.items()})
    sm = SimpleNamespace(input=files(inputs), output=files(outputs), log=Files([str(log)], {}),
                         params=SimpleNamespace(**params), rule=script, wildcards=Files([], {}))
    try:
        runpy.run_path(str(ROOT / "workflow" / "scripts" / f"{script}.py"),
                       init_globals={"snakemake": sm}, run_name="__main__")
    except SystemExit as err:
        if err.code:
            raise AssertionError(log.read_text(encoding="utf-8")) from None


# ------------------------------------------------------------------ cytometry.enabled

def test_enabled_false_switches_the_arm_off():
    """cytometry.enabled false: no cytometry job (CYTO_ENABLED false), and the R
    double programming gets no cytometry claims; true with the demo's cytometry
    patients: on."""
    assert plan.cytometry_enabled(CFG) is True
    off = with_changes(enabled=False)
    assert plan.cytometry_enabled(off) is False
    assert "cytometry" in qc_r_config(CFG)
    assert "cytometry" not in qc_r_config(off)


# ------------------------------------------------------------------ cytometry.demo.*

def demo_params(**changes: Any) -> dict[str, Any]:
    """params.demo of rule cytometry_demo_fcs."""
    return evaluate(smk_param("cytometry_demo_fcs", "demo"), with_changes(**changes))


def _spec():
    from aiha.demo.cohort import load_spec
    return load_spec(CFG["data"]["demo_spec"], CFG["data"]["demo_multiplier"])


ONE_VISIT = [{"visit": "screen", "day": -7}]


def test_demo_visits_relapse_and_late_visit_plan_the_samples():
    """The planned samples (the DAG's FCS files, plan.sample_rows) and the generated
    sheet follow demo.visits, relapse_visit and late_visit: each cytometry patient
    has the visits listed, then its relapse visit (relapse day + offset) or the late
    visit."""
    from aiha.demo.cohort import timeline

    spec = _spec()
    params = demo_params(demo__visits=ONE_VISIT,
                         demo__relapse_visit={"visit": "atrelapse", "offset_days": 5},
                         demo__late_visit={"visit": "month9", "day": 270})
    planned = demo.plan_samples(spec, params)
    expected = []
    for key in spec.cytometry_patients:
        tl = timeline(spec, key)
        last = (("atrelapse", (tl.relapse_date - tl.first_dose).days + 5) if tl.relapse_date
                else ("month9", 270))
        expected += [("screen", -7), last]
    got = [(s.visit, s.day) for s in planned if s.tube == "phenotype"]
    assert got == expected
    assert {v for v, _ in expected} & {"atrelapse", "month9"}
    # What the workflow plans its DAG from (plan.sample_rows) follows the same keys.
    rows = plan.sample_rows(with_changes(demo__visits=ONE_VISIT,
                                         demo__relapse_visit={"visit": "atrelapse", "offset_days": 5},
                                         demo__late_visit={"visit": "month9", "day": 270}))
    assert sorted({r["visit"] for r in rows.values()}) == sorted({v for v, _ in expected})
    default = demo.plan_samples(spec, demo_params())
    assert len(default) == 2 * len(spec.cytometry_patients) * (len(CFG["cytometry"]["demo"]["visits"]) + 1)


@pytest.fixture(scope="module")
def small_demo(tmp_path_factory):
    """Demo files with one listed visit and 1,000 events (the smallest allowed)."""
    def make(name: str, **changes: Any) -> Path:
        out = tmp_path_factory.mktemp(name)
        demo.generate_demo_fcs(_spec(), demo_params(demo__visits=ONE_VISIT,
                                                    demo__events_per_file=1000, **changes), out)
        return out
    return make


def _events(path: Path) -> np.ndarray:
    import flowio
    data = flowio.FlowData(str(path))
    return np.reshape(np.asarray(data.events, dtype=float), (-1, data.channel_count))


def test_demo_events_per_file_seed_and_culture_days_reach_the_files(small_demo):
    """events_per_file: $TOT of every file; seed: the events (another seed, other
    events; the same seed, the same bytes); function_culture_days: the functional
    tube's $DATE is the collection date plus that many days."""
    from datetime import datetime, timedelta

    a = small_demo("demo-a")
    b = small_demo("demo-b", demo__seed=CFG["cytometry"]["demo"]["seed"] + 1)
    c = small_demo("demo-c", demo__function_culture_days=9)
    again = small_demo("demo-a2")
    fcs = sorted(p.name for p in a.glob("*.fcs"))
    assert fcs and fcs == sorted(p.name for p in b.glob("*.fcs"))
    for name in fcs:
        assert _events(a / name).shape[0] == 1000
        assert (a / name).read_bytes() == (again / name).read_bytes()
        assert not np.array_equal(_events(a / name), _events(b / name))
    sheet = pd.read_csv(a / "samples.csv", dtype=str)
    import flowio
    for r in sheet.itertuples(index=False):
        collected = datetime.strptime(str(r.collection_date), "%Y-%m-%d").date()
        for folder, days in ((a, 4), (c, 9)):
            acquired = datetime.strptime(flowio.FlowData(str(folder / r.file)).text["date"],
                                         "%d-%b-%Y").date()
            assert acquired == collected + timedelta(days=days if r.tube == "function" else 0)


# ------------------------------------------------------------------ gating jobs and sources

def test_gating_jobs_sample_gives_one_job_per_file():
    """gating_jobs sample: one cytometry_gate job per FCS file (CYTO_UNITS), named by
    the sample id; patient (shipped): one per patient with all its files."""
    rows = plan.sample_rows(CFG)
    expr = smk_assignment("CYTO_UNITS")
    per_patient = evaluate(expr, CFG, CYTO_SAMPLES=rows)
    per_sample = evaluate(expr, with_changes(gating_jobs="sample"), CYTO_SAMPLES=rows)
    assert per_sample == {s: [s] for s in sorted(rows)}
    patients = {r["patient"] for r in rows.values()}
    assert len(per_patient) == len(patients) < len(per_sample)
    assert sorted(s for unit in per_patient.values() for s in unit) == sorted(rows)


def _garbage(tmp_path: Path, name: str) -> str:
    path = tmp_path / name
    path.write_text("this is no gating file\n", encoding="utf-8")
    return str(path)


@pytest.mark.parametrize("source,key", [("gatingml", "gatingml"), ("flowjo", "flowjo_workspace")])
@pytest.mark.parametrize("tube", ["phenotype", "function"])
def test_the_gating_file_of_each_tube_is_the_configured_one(source, key, tube, known_fcs,
                                                            function_fcs, tmp_path):
    """cytometry.<gatingml|flowjo_workspace>.<tube> names the file a tube's files are
    gated with, as gating_source says: the gating job reads that file (an
    unreadable one there is refused, naming it), not the other source's file nor
    the other tube's."""
    from aiha.cytometry.flowjo import export_workspace

    fcs = known_fcs if tube == "phenotype" else function_fcs
    other_tube = "function" if tube == "phenotype" else "phenotype"
    section = cyto(gating_source=source)
    if source == "flowjo":  # real workspaces (exported from the GatingML), one per tube
        for t, f in (("phenotype", known_fcs), ("function", function_fcs)):
            wsp = tmp_path / f"{t}.wsp"
            export_workspace(gating.load_gatingml(GATING / f"gating_{t}.v1.xml", "logicle"), [f], wsp)
            section["flowjo_workspace"][t] = str(wsp)
    else:
        for t in ("phenotype", "function"):
            section["gatingml"][t] = str(GATING / f"gating_{t}.v1.xml")
    good, _ = gate_one(fcs, tube, section)
    if tube == "phenotype":
        assert dict(zip(good["population"], good["count"])) == EXPECTED
    # The other tube's file, and the other source's file, are not read.
    section[key][other_tube] = _garbage(tmp_path, "other_tube.xml")
    section["gatingml" if source == "flowjo" else "flowjo_workspace"][tube] = _garbage(tmp_path, "x.wsp")
    again, _ = gate_one(fcs, tube, section)
    pd.testing.assert_frame_equal(good, again)
    # This tube's file of this source is.
    bad = _garbage(tmp_path, f"bad_{tube}.{'wsp' if source == 'flowjo' else 'xml'}")
    section[key][tube] = bad
    assert plan.gating_source_file(section, tube) == bad
    with pytest.raises(InputError) as err:
        gate_one(fcs, tube, section)
    assert err.value.file == bad


def test_gating_source_flowjo_reads_the_workspace_and_its_counts(known_fcs, tmp_path):
    """gating_source flowjo: the workspace's own gates are used (a workspace whose
    CD38 gate is moved gives other counts than the GatingML, by hand from the
    events: only events at or above the new bound), and the FlowJo reconciliation
    rule exists only then."""
    from aiha.cytometry.flowjo import export_workspace

    strategy = gating.load_gatingml(GATING / "gating_phenotype.v1.xml", "logicle")
    wsp = tmp_path / "phenotype.wsp"
    export_workspace(strategy, [known_fcs], wsp)
    section = cyto(gating_source="flowjo")
    section["flowjo_workspace"]["phenotype"] = str(wsp)
    table, _ = gate_one(known_fcs, "phenotype", section)
    assert dict(zip(table["population"], table["count"])) == EXPECTED
    # A workspace gate of its own: no CD38pos event passes a bound far above them.
    from lxml import etree
    root = etree.parse(str(wsp)).getroot()
    moved = 0
    for pop in root.iter():
        if etree.QName(pop).localname == "Population" and pop.get("name") == "CD38pos":
            for el in pop.iter():
                if el.get("{http://www.isac-net.org/std/Gating-ML/v2.0/gating}min") is not None:
                    el.set("{http://www.isac-net.org/std/Gating-ML/v2.0/gating}min", "1000000")
                    moved += 1
    assert moved
    wsp.write_bytes(etree.tostring(root))
    table, _ = gate_one(known_fcs, "phenotype", section)
    counts = dict(zip(table["population"], table["count"]))
    assert counts["CD38pos"] == 0 and counts["CD3pos"] == EXPECTED["CD3pos"]
    # GatingML (shipped) ignores the workspace.
    table, _ = gate_one(known_fcs, "phenotype", {**section, "gating_source": "gatingml"})
    assert dict(zip(table["population"], table["count"])) == EXPECTED
    text = (RULES / "cytometry.smk").read_text(encoding="utf-8")
    assert 'if CYTO["gating_source"] == "flowjo":' in text


# ------------------------------------------------------------------ scales

def _captured_strategies(monkeypatch) -> list:
    got = []
    original = gating.load_gatingml

    def spy(*args, **kwargs):
        strategy = original(*args, **kwargs)
        got.append(strategy)
        return strategy
    monkeypatch.setattr(gating, "load_gatingml", spy)
    return got


def _dimension(strategy, gate_name: str):
    gate = next(g for g in gating.iter_gates(strategy) if g.gate_name == gate_name)
    return gate.dimensions[0]


def fasinh(x: float, t: float, m: float, a: float) -> float:
    """GatingML 2.0 fasinh, by hand."""
    ln10 = math.log(10.0)
    return (math.asinh(x * math.sinh(m * ln10) / t) + a * ln10) / ((m + a) * ln10)


ASINH = {"t": 100000.0, "m": 4.0, "a": 0.5}


def test_transform_and_asinh_parameters_reach_gating_and_the_figures(known_fcs, monkeypatch):
    """transform asinh with other t, m, a: the gating job's and the figure job's
    strategies put a gate's CD3 bound on that asinh scale (fasinh of its linear
    value, by hand); the counts stay those of the logicle gates (same events)."""
    authored = gating.load_gatingml(GATING / "gating_phenotype.v1.xml", "logicle")
    dim = _dimension(authored, "CD3pos")
    linear = float(authored.transformations[dim.transformation_ref].inverse(
        np.array([[dim.min]]))[0, 0])
    section = cyto(transform="asinh", asinh=ASINH, gate_in_linear_units=False)
    captured = _captured_strategies(monkeypatch)
    table, _ = gate_one(known_fcs, "phenotype", section)
    assert dict(zip(table["population"], table["count"])) == EXPECTED
    figure_cfg = evaluate(smk_param("cytometry_event_figures", "cyto"), with_changes(
        transform="asinh", asinh=ASINH))
    figure_strategy = gating.load_gatingml(GATING / "gating_phenotype.v1.xml",
                                           figure_cfg["transform"], figure_cfg["asinh"])
    for strategy in (captured[0], figure_strategy):
        d = _dimension(strategy, "CD3pos")
        xf = strategy.transformations[d.transformation_ref]
        assert type(xf).__name__ == "AsinhTransform"
        assert d.min == pytest.approx(fasinh(linear, **ASINH), rel=1e-9)
        assert float(xf.apply(np.array([[linear]]))[0, 0]) == pytest.approx(fasinh(linear, **ASINH))
        assert fasinh(linear, **ASINH) != pytest.approx(fasinh(linear, **CFG["cytometry"]["asinh"]))
    # Each of t, m and a moves the bound.
    for k, v in ASINH.items():
        one = {**CFG["cytometry"]["asinh"], k: v}
        captured.clear()
        gate_one(known_fcs, "phenotype", cyto(transform="asinh", asinh=one, gate_in_linear_units=False))
        assert _dimension(captured[0], "CD3pos").min == pytest.approx(fasinh(linear, **one), rel=1e-9)
    # Shipped: logicle, the authored bound.
    captured.clear()
    gate_one(known_fcs, "phenotype", cyto(gate_in_linear_units=False))
    assert _dimension(captured[0], "CD3pos").min == pytest.approx(dim.min)


def test_gate_in_linear_units_maps_the_bounds_to_linear_units(known_fcs, monkeypatch):
    """gate_in_linear_units true (shipped): rectangle bounds in compensated linear
    units (the inverse logicle of the authored bound, no transform on the gate);
    false: the authored logicle bound and its transform. Same counts."""
    authored = gating.load_gatingml(GATING / "gating_phenotype.v1.xml", "logicle")
    dim = _dimension(authored, "CD3pos")
    linear = float(authored.transformations[dim.transformation_ref].inverse(
        np.array([[dim.min]]))[0, 0])
    captured = _captured_strategies(monkeypatch)
    on, _ = gate_one(known_fcs, "phenotype", cyto(gate_in_linear_units=True))
    off, _ = gate_one(known_fcs, "phenotype", cyto(gate_in_linear_units=False))
    d_on, d_off = _dimension(captured[0], "CD3pos"), _dimension(captured[1], "CD3pos")
    assert d_on.transformation_ref is None and d_on.min == pytest.approx(linear)
    assert d_off.transformation_ref == dim.transformation_ref and d_off.min == pytest.approx(dim.min)
    pd.testing.assert_frame_equal(on, off)


# ------------------------------------------------------------------ reading FCS files

@pytest.mark.parametrize("tube,marker", [("phenotype", "CD38"), ("function", "CD69")])
def test_the_panel_maps_a_labs_channel_label_to_the_gating_name(tube, marker, known_fcs,
                                                                 function_fcs, tmp_path, monkeypatch):
    """cytometry.panel.<tube>: a file labelling a channel "<marker> lab" is gated
    only with the mapping "<marker> lab" -> <marker> in its tube's panel (the same
    counts as the gating names give); the other tube's panel does not apply."""
    source = known_fcs if tube == "phenotype" else function_fcs
    events = _events(source).astype(np.float32)
    names = list(demo.PANELS[tube])
    names[names.index(marker)] = f"{marker} lab"
    monkeypatch.setitem(demo.PANELS, tube, tuple(names))
    lab = write_fcs(tmp_path / "lab.fcs", events, tube)
    monkeypatch.undo()
    expected, _ = gate_one(source, tube, cyto())
    with pytest.raises(InputError) as err:
        gate_one(lab, tube, cyto())
    assert err.value.column == marker
    other = "function" if tube == "phenotype" else "phenotype"
    with pytest.raises(InputError):
        gate_one(lab, tube, cyto(panel={tube: {}, other: {f"{marker} lab": marker}}))
    got, _ = gate_one(lab, tube, cyto(panel={tube: {f"{marker} lab": marker}, other: {}}))
    pd.testing.assert_frame_equal(got, expected)
    # The figure job reads the same panel.
    figure_cfg = evaluate(smk_param("cytometry_event_figures", "cyto"),
                          with_changes(panel={tube: {f"{marker} lab": marker}, other: {}}))
    assert gating.read_options(figure_cfg, tube)["panel"] == {f"{marker} lab": marker}


def test_missing_spillover_uncompensated_gates_a_file_without_a_matrix(known_fcs, tmp_path, capsys):
    """missing_spillover: a file without $SPILLOVER is refused (refuse, shipped) or
    gated uncompensated (the counts of the uncompensated events, by the independent
    numpy reference)."""
    data = known_fcs.read_bytes()
    assert data.count(b"$SPILLOVER") == 1
    bare = tmp_path / "nospill.fcs"
    bare.write_bytes(data.replace(b"$SPILLOVER", b"$XPILLOVER"))
    with pytest.raises(InputError) as err:
        gate_one(bare, "phenotype", cyto())
    assert err.value.column == "$SPILLOVER" and "missing_spillover" in err.value.message
    table, _ = gate_one(bare, "phenotype", cyto(missing_spillover="uncompensated"))
    # By hand: the raw (spilled) intensities gated with the GatingML's thresholds
    # through the independent numpy reference, without compensation.
    from aiha.cytometry import reference
    strategy = gating.load_gatingml(GATING / "gating_phenotype.v1.xml", "logicle")
    raw, pnn, pns, _ = reference.read_fcs_array(str(bare))
    assert reference.counts_from_table(table) == reference.gate_counts(raw, pnn, pns, None, strategy)
    assert "gated uncompensated" in capsys.readouterr().err
    figure_cfg = evaluate(smk_param("cytometry_event_figures", "cyto"),
                          with_changes(missing_spillover="uncompensated"))
    assert gating.read_options(figure_cfg, "phenotype")["missing_spillover"] == "uncompensated"


def _off_by_one(fcs: Path, out: Path) -> Path:
    """The file with its header's DATA end offset one byte too far (as some
    instruments write) and one byte appended."""
    data = bytearray(fcs.read_bytes())
    end = int(data[34:42].decode().strip())
    data[34:42] = f"{end + 1:>8}".encode()
    text = f"$ENDDATA/{end}/".encode()
    assert data.count(text) == 1 and len(str(end)) == len(str(end + 1))
    data = bytearray(bytes(data).replace(text, f"$ENDDATA/{end + 1}/".encode()))
    out.write_bytes(bytes(data) + b"\x00")
    return out


def test_fcs_ignore_offset_error_reads_a_file_off_by_one_byte(known_fcs, tmp_path):
    """fcs_ignore_offset_error: a file whose DATA end offset is off by one byte is
    refused (false, shipped), and read with that byte dropped (true): the counts
    of the intact file."""
    bad = _off_by_one(known_fcs, tmp_path / "offby1.fcs")
    with pytest.raises(InputError) as err:
        gate_one(bad, "phenotype", cyto())
    assert "fcs_ignore_offset_error" in err.value.message
    table, _ = gate_one(bad, "phenotype", cyto(fcs_ignore_offset_error=True))
    assert dict(zip(table["population"], table["count"])) == EXPECTED
    figure_cfg = evaluate(smk_param("cytometry_event_figures", "cyto"),
                          with_changes(fcs_ignore_offset_error=True))
    assert gating.read_options(figure_cfg, "phenotype")["ignore_offset_error"] is True


def test_the_reconciliation_tolerance_reaches_the_reconciliation(tmp_path):
    """reconciliation.tolerance_percent: FlowJo stored 102 CD3pos events, the
    pipeline counts 100: -1.96% of FlowJo's count, out of the shipped 1% and within
    2%."""
    wsp = tmp_path / "w.wsp"
    wsp.write_text('<?xml version="1.0"?><Workspace><SampleList><Sample>'
                   '<SampleNode name="S1.fcs"><Subpopulations>'
                   '<Population name="CD3pos" count="102"/></Subpopulations></SampleNode>'
                   '</Sample></SampleList></Workspace>', encoding="utf-8")
    populations = pd.DataFrame({"sample_id": ["S1"], "gate_path": ["CD3pos"], "count": [100]})
    pops_path = tmp_path / "populations.tsv"
    populations.to_csv(pops_path, sep="\t", index=False)
    expr = smk_param("cytometry_flowjo_reconciliation", "tolerance_percent")
    results = {}
    for label, cfg in (("shipped", CFG), ("two", with_changes(reconciliation={"tolerance_percent": 2.0}))):
        out = {"table": tmp_path / f"{label}.tsv", "summary": tmp_path / f"{label}_summary.tsv"}
        run_script("cytometry_flowjo_reconciliation", tmp_path,
                   {"populations": pops_path, "workspaces": [wsp]}, out,
                   {"samples": {"S1": [str(wsp), "S1.fcs"]},
                    "tolerance_percent": evaluate(expr, cfg), "code": ""})
        results[label] = pd.read_csv(out["table"], sep="\t")
    for label, within in (("shipped", False), ("two", True)):
        row = results[label].iloc[0]
        assert row["percent_difference"] == pytest.approx(100.0 * (100 - 102) / 102)
        assert bool(row["within_tolerance"]) is within


# ------------------------------------------------------------------ QC

@pytest.mark.parametrize("changes,kept,flag", [
    ({}, 85, "low_events_kept"),  # shipped: Margin, 10,000 events, 80%
    ({"qc__kept_population": "Singlets", "qc__min_events_kept": 0}, 80, ""),  # 80% is not below 80%
    ({"qc__kept_population": "Singlets", "qc__min_events_kept": 0, "qc__min_percent_kept": 80.5},
     80, "low_percent_kept"),
    ({"qc__min_events_kept": 85}, 85, ""),
    ({"qc__min_events_kept": 86}, 85, "low_events_kept"),
    ({"qc__min_events_kept": 0, "qc__min_percent_kept": 86.0}, 85, "low_percent_kept"),
], ids=["shipped", "kept_population", "kept_population-percent", "min_events-at", "min_events-above",
        "min_percent"])
def test_qc_thresholds_reach_the_gating_jobs_qc(changes, kept, flag, known_fcs):
    """qc.kept_population, min_events_kept, min_percent_kept: events kept (the
    population's count of the 100-event file, EXPECTED), its percentage and the
    flag, by hand."""
    _, qc = gate_one(known_fcs, "phenotype", cyto(**changes))
    row = qc.iloc[0]
    assert (row["events_kept"], row["percent_kept"], row["qc_flag"]) == (kept, float(kept), flag)


def test_qc_thresholds_and_exclusion_reach_the_figure_job():
    """The event figures grey out the samples the statistics exclude, with the
    reason in words quoting the configured thresholds (params.qc of rule
    cytometry_event_figures); exclude_flagged false: none."""
    from aiha.cytometry.function_figure import qc_exclusions

    qc = pd.DataFrame({"sample_id": ["A"], "events_kept": [85], "percent_kept": [85.0],
                       "qc_flag": ["low_events_kept;low_percent_kept"]})
    expr = smk_param("cytometry_event_figures", "qc")
    p = evaluate(expr, with_changes(qc__min_events_kept=123456, qc__min_percent_kept=87.5))
    reasons = qc_exclusions(qc, p["exclude_flagged"], p["min_events_kept"], p["min_percent_kept"])
    assert reasons == {"A": "85 events kept, fewer than 123,456; 85.0% of events kept, below 87.5%"}
    p = evaluate(expr, with_changes(qc__exclude_flagged=False))
    assert qc_exclusions(qc, p["exclude_flagged"], p["min_events_kept"], p["min_percent_kept"]) == {}


# ------------------------------------------------------------------ claims on hand-made tables

T = 1000  # events of the T-cell population of every sample
DEFAULT_NAMES = {"t_cells": "CD3pos", "cd38": "CD38pos", "naive": "Naive", "central_memory": "CM",
                 "effector_memory": "EM", "temra": "TEMRA", "activation": "CD69pos",
                 "divided": "Divided"}


def sample(sid: str, patient: str, day: int, tube: str, percents: dict[str, float],
           t_name: str = "CD3pos", t_count: int = T) -> list[dict]:
    rows = [dict(sample_id=sid, patient_id=patient, visit=f"d{day}", day=day, tube=tube,
                 population=t_name, gate_path=f"Live/{t_name}", parent="Live", count=t_count,
                 percent_of_parent=50.0)]
    for name, pct in percents.items():
        rows.append(dict(sample_id=sid, patient_id=patient, visit=f"d{day}", day=day, tube=tube,
                         population=name, gate_path=f"Live/{t_name}/{name}", parent=t_name,
                         count=round(t_count * pct / 100), percent_of_parent=pct))
    return rows


def pheno(sid, patient, day, cd38, naive=45.0, cm=20.0, em=25.0, temra=10.0, **extra):
    return sample(sid, patient, day, "phenotype", {"CD38pos": cd38, "Naive": naive, "CM": cm,
                                                    "EM": em, "TEMRA": temra, **extra})


def func(sid, patient, day, activated, divided, **extra):
    return sample(sid, patient, day, "function", {"CD69pos": activated, "Divided": divided, **extra})


def claim_ard(populations: list[list[dict]], section: dict[str, Any], qc: pd.DataFrame | None = None,
              relapse: dict[str, str] | None = None) -> pd.DataFrame:
    """The flow_* rows as rule cytometry_claims computes them: its params.cyto
    (read from the rule file) -> ClaimSettings.from_config -> compute_claims."""
    frame = pd.DataFrame([r for g in populations for r in g])
    qc = qc if qc is not None else pd.DataFrame({"sample_id": frame["sample_id"].unique(), "qc_flag": ""})
    patients = sorted(frame["patient_id"].unique())
    responses = pd.DataFrame({"patient_id": patients, "first_dose_date": "2022-01-01",
                              "relapse_date": [(relapse or {}).get(p, "") for p in patients]})
    params = evaluate(smk_param("cytometry_claims", "cyto"), {**CFG, "cytometry": section})
    stats = claims.compute_claims(frame, qc, responses, claims.ClaimSettings.from_config(params))
    return stats_to_frame(stats, "r", "s", "h")


def v(ard, stat, group, statistic):
    return lookup(ard, stat, group, statistic)


def test_depletion_threshold_percent():
    """Nadir 1.5% in the window: not below the shipped 1%, below 2%."""
    data = [pheno("a", "P1", -3, 40.0), pheno("b", "P1", 14, 1.5)]
    assert v(claim_ard(data, cyto()), "flow_depletion", "P1", "depleted") == 0
    assert v(claim_ard(data, cyto(claims__depletion_threshold_percent=2.0)), "flow_depletion", "P1",
             "depleted") == 1


def test_depletion_window_days():
    """Visits on day 28 (5%) and day 50 (0.5%): the shipped window [1, 42] sees only
    day 28 (nadir 5%, not depleted); [1, 60] sees the day-50 nadir."""
    data = [pheno("a", "P1", -3, 40.0), pheno("b", "P1", 28, 5.0), pheno("c", "P1", 50, 0.5)]
    shipped = claim_ard(data, cyto())
    assert (v(shipped, "flow_depletion", "P1", "nadir_day"), v(shipped, "flow_depletion", "P1", "depleted")) == (28, 0)
    wide = claim_ard(data, cyto(claims__depletion_window_days=[1, 60]))
    assert (v(wide, "flow_depletion", "P1", "nadir_day"), v(wide, "flow_depletion", "P1", "depleted")) == (50, 1)
    assert v(wide, "flow_depletion", "P1", "nadir_percent") == pytest.approx(0.5)


def test_post_window_days():
    """Naive 45% at baseline, 15% on day 28 and 45% on day 200; activation 60, 10,
    60. The shipped window [14, 130]: day 28 alone; [14, 250]: the mean of both."""
    data = [pheno("a", "P1", -3, 40.0), pheno("b", "P1", 28, 0.5, naive=15.0, em=55.0),
            pheno("c", "P1", 200, 0.5), func("fa", "P1", -3, 60.0, 60.0),
            func("fb", "P1", 28, 10.0, 10.0), func("fc", "P1", 200, 60.0, 60.0)]
    shipped = claim_ard(data, cyto())
    wide = claim_ard(data, cyto(claims__post_window_days=[14, 250]))
    assert v(shipped, "flow_subsets", "P1", "naive_post") == pytest.approx(15.0)
    assert v(wide, "flow_subsets", "P1", "naive_post") == pytest.approx((15.0 + 45.0) / 2)
    assert v(shipped, "flow_function", "P1", "activation_fold") == pytest.approx(60.0 / 10.0)
    assert v(wide, "flow_function", "P1", "activation_fold") == pytest.approx(60.0 / 35.0)
    assert (v(shipped, "flow_function", "P1", "diminished"), v(wide, "flow_function", "P1", "diminished")) == (1, 0)


def test_subset_shift_pp():
    """Naive -15 pp and effector memory +15 pp: shifted at the shipped 10 pp, not at 20."""
    data = [pheno("a", "P1", -3, 40.0), pheno("b", "P1", 28, 0.5, naive=30.0, em=40.0)]
    assert v(claim_ard(data, cyto()), "flow_subsets", "P1", "shifted") == 1
    assert v(claim_ard(data, cyto(claims__subset_shift_pp=20.0)), "flow_subsets", "P1", "shifted") == 0


def test_memory_effector_subsets():
    """Naive -20 pp, effector memory +20 pp, central memory unchanged: the shipped
    group (effector memory, TEMRA) rises by 20 pp; central memory alone by 0."""
    data = [pheno("a", "P1", -3, 40.0), pheno("b", "P1", 28, 0.5, naive=25.0, em=45.0)]
    shipped = claim_ard(data, cyto())
    cm = claim_ard(data, cyto(claims__memory_effector_subsets=["central_memory"]))
    assert v(shipped, "flow_subsets", "P1", "memory_effector_change_pp") == pytest.approx(20.0)
    assert v(cm, "flow_subsets", "P1", "memory_effector_change_pp") == pytest.approx(0.0)
    assert (v(shipped, "flow_subsets", "P1", "shifted"), v(cm, "flow_subsets", "P1", "shifted")) == (1, 0)


def test_function_fold_factor():
    """Activation and division 4-fold lower: diminished at the shipped 3, not at 5."""
    data = [func("fa", "P1", -3, 60.0, 40.0), func("fb", "P1", 28, 15.0, 10.0),
            pheno("a", "P1", -3, 40.0)]
    assert v(claim_ard(data, cyto()), "flow_function", "P1", "diminished") == 1
    assert v(claim_ard(data, cyto(claims__function_fold_factor=5.0)), "flow_function", "P1",
             "diminished") == 0


def test_reappearance_threshold_percent():
    """Depleted (0.5%) on day 28, 8% on day 180, the relapse on day 180: no
    reappearance at the shipped 10%, a reappearance on day 180 at 5%."""
    data = [pheno("a", "P1", -3, 40.0), pheno("b", "P1", 28, 0.5), pheno("c", "P1", 180, 8.0)]
    relapse = {"P1": "2022-06-30"}  # day 180
    shipped = claim_ard(data, cyto(), relapse=relapse)
    low = claim_ard(data, cyto(claims__reappearance_threshold_percent=5.0), relapse=relapse)
    assert math.isnan(v(shipped, "flow_relapse", "P1", "reappearance_day"))
    assert v(low, "flow_relapse", "P1", "reappearance_day") == 180
    assert (v(shipped, "flow_relapse", "all", "n"), v(low, "flow_relapse", "all", "n")) == (0, 1)


def test_relapse_window_days():
    """Reappearance on day 220, relapse on day 180 (40 days apart): not within the
    shipped 30 days, within 45."""
    data = [pheno("a", "P1", -3, 40.0), pheno("b", "P1", 28, 0.5), pheno("c", "P1", 220, 20.0)]
    relapse = {"P1": "2022-06-30"}
    assert v(claim_ard(data, cyto(), relapse=relapse), "flow_relapse", "P1", "coincided") == 0
    assert v(claim_ard(data, cyto(claims__relapse_window_days=45), relapse=relapse),
             "flow_relapse", "P1", "coincided") == 1


def test_relapse_window_days_before_the_relapse():
    """Reappearance on day 140, relapse on day 180 (40 days before it): not within
    the shipped 30 days, within 45; 100 days before is within neither."""
    relapse = {"P1": "2022-06-30"}  # day 180
    before = [pheno("a", "P1", -3, 40.0), pheno("b", "P1", 28, 0.5), pheno("c", "P1", 140, 20.0)]
    assert v(claim_ard(before, cyto(), relapse=relapse), "flow_relapse", "P1", "coincided") == 0
    assert v(claim_ard(before, cyto(claims__relapse_window_days=45), relapse=relapse),
             "flow_relapse", "P1", "coincided") == 1
    early = [pheno("a", "P1", -3, 40.0), pheno("b", "P1", 28, 0.5), pheno("c", "P1", 80, 20.0)]
    for window in (30, 45):
        assert v(claim_ard(early, cyto(claims__relapse_window_days=window), relapse=relapse),
                 "flow_relapse", "P1", "coincided") == 0


def test_exclude_flagged():
    """A flagged post-dose sample (0.5%): left out (shipped), so the nadir is the
    unflagged 5%; kept with exclude_flagged false."""
    data = [pheno("a", "P1", -3, 40.0), pheno("b", "P1", 14, 0.5), pheno("c", "P1", 28, 5.0)]
    qc = pd.DataFrame({"sample_id": ["a", "b", "c"], "qc_flag": ["", "low_events_kept", ""]})
    shipped = claim_ard(data, cyto(), qc=qc)
    kept = claim_ard(data, cyto(qc__exclude_flagged=False), qc=qc)
    assert v(shipped, "flow_depletion", "P1", "nadir_percent") == pytest.approx(5.0)
    assert v(kept, "flow_depletion", "P1", "nadir_percent") == pytest.approx(0.5)
    assert (v(shipped, "flow_n", "all", "samples_excluded_qc"), v(kept, "flow_n", "all", "samples_excluded_qc")) == (1, 0)
    # The R double programming gets the same choice.
    assert qc_r_config(with_changes(qc__exclude_flagged=False))["cytometry"]["exclude_flagged"] is False


CLAIM_CHANGES = {"depletion_threshold_percent": 2.5, "depletion_window_days": [2, 50],
                 "post_window_days": [10, 100], "subset_shift_pp": 12.5,
                 "memory_effector_subsets": ["temra"], "function_fold_factor": 4.5,
                 "reappearance_threshold_percent": 7.5, "relapse_window_days": 21}


@pytest.mark.parametrize("key", sorted(CLAIM_CHANGES))
def test_a_claim_setting_reaches_the_r_double_programming_and_the_figures(key):
    """The same value reaches the R double programming's params (qc_r_config) and
    the summary figures' params (rule cytometry_summary_figures)."""
    cfg = with_changes(**{f"claims__{key}": CLAIM_CHANGES[key]})
    assert qc_r_config(cfg)["cytometry"]["claims"][key] == CLAIM_CHANGES[key]
    figures = evaluate(smk_param("cytometry_summary_figures", "cyto"), cfg)
    assert figures["claims"][key] == CLAIM_CHANGES[key]


# ------------------------------------------------------------------ populations

ALT = {"t_cells": "Tcells", "cd38": "CD38hi", "naive": "NaiveAlt", "central_memory": "CMalt",
       "effector_memory": "EMalt", "temra": "TEMRAalt", "activation": "CD25pos", "divided": "DividedAlt"}
# role -> (statistic the claims print, by hand with the alternative population)
ROLE_STAT = {"cd38": ("flow_depletion", "baseline_percent", 12.0),
             "naive": ("flow_subsets", "naive_baseline", 33.0),
             "central_memory": ("flow_subsets", "central_memory_baseline", 11.0),
             "effector_memory": ("flow_subsets", "effector_memory_baseline", 17.0),
             "temra": ("flow_subsets", "temra_baseline", 3.0),
             "activation": ("flow_function", "activation_baseline", 21.0),
             "divided": ("flow_function", "divided_baseline", 7.0)}


def _two_name_cohort():
    """Every sample holds the shipped populations and an alternative of each role
    (its percentage of T cells in ROLE_STAT); the alternative T-cell population holds
    half the events."""
    alt_pheno = {ALT[r]: ROLE_STAT[r][2] for r in ("cd38", "naive", "central_memory",
                                                      "effector_memory", "temra")}
    alt_func = {ALT[r]: ROLE_STAT[r][2] for r in ("activation", "divided")}
    out = []
    for sid, day in (("a", -3), ("b", 28)):
        rows = pheno(sid, "P1", day, 40.0, **alt_pheno)
        frows = func("f" + sid, "P1", day, 60.0, 50.0, **alt_func)
        for rs in (rows, frows):  # the alternative T-cell population: 500 events, same children
            t = dict(rs[0], population=ALT["t_cells"], gate_path=f"Live/{ALT['t_cells']}",
                     count=T // 2)
            rs.append(t)
        out += [rows, frows]
    return out


def _population_path(role: str) -> str:
    return f"populations__subsets__{role}" if role in claims.SUBSETS else f"populations__{role}"


@pytest.mark.parametrize("role", sorted(ROLE_STAT))
def test_a_claim_population_is_the_configured_one(role):
    """cytometry.populations.<role>: the claims read the configured population
    (its percentage of T cells by hand), not the shipped one of the same sample."""
    data = _two_name_cohort()
    stat, statistic, alt = ROLE_STAT[role]
    shipped = v(claim_ard(data, cyto()), stat, "P1", statistic)
    got = v(claim_ard(data, cyto(**{_population_path(role): ALT[role]})), stat, "P1", statistic)
    assert got == pytest.approx(alt) and shipped != pytest.approx(alt)


def test_the_t_cell_population_is_the_denominator():
    """populations.t_cells: every percentage is of the configured T-cell population
    (500 events instead of 1000: CD38+ 400 events are 80%, not 40%)."""
    data = _two_name_cohort()
    assert v(claim_ard(data, cyto()), "flow_depletion", "P1", "baseline_percent") == pytest.approx(40.0)
    got = claim_ard(data, cyto(populations__t_cells=ALT["t_cells"]))
    assert v(got, "flow_depletion", "P1", "baseline_percent") == pytest.approx(80.0)
    assert v(got, "flow_function", "P1", "activation_baseline") == pytest.approx(120.0)


@pytest.mark.parametrize("role", ["t_cells", "cd38", "naive", "central_memory", "effector_memory",
                                  "temra", "activation", "divided"])
def test_the_gating_job_checks_each_configured_population(role, known_fcs, function_fcs):
    """The gating job (params.cyto.tube_populations) requires every configured
    population in its tube's files: a name the tree lacks is refused naming the role;
    another existing gate is accepted."""
    tube = "function" if role in ("activation", "divided") else "phenotype"
    fcs = known_fcs if tube == "phenotype" else function_fcs
    with pytest.raises(InputError) as err:
        gate_one(fcs, tube, cyto(**{_population_path(role): "NoSuchGate"}))
    assert "NoSuchGate" in str(err.value) and role in str(err.value)
    gate_one(fcs, tube, cyto(**{_population_path(role): "Live"}))
    # The figure job's roles too.
    figure_cfg = evaluate(smk_param("cytometry_event_figures", "cyto"),
                          with_changes(**{_population_path(role): "Live"}))
    roles = figure_cfg["tube_populations"][tube]
    assert roles[role if role not in claims.SUBSETS else f"subset {role}"] == "Live"


# ------------------------------------------------------------------ figures

def test_gating_and_proliferation_visits_and_patients_pick_the_figure_samples():
    """figures.gating_visits: the gating figure's one sample is the first patient's
    phenotype tube at the first listed visit it has; proliferation_visits and
    proliferation_max_patients: the functional tubes at those visits of the first
    patients (CYTO_GATING_IDS, CYTO_PROLIF_IDS of the rule file)."""
    rows = plan.sample_rows(CFG)
    patients = list(dict.fromkeys(r["patient"] for r in rows.values()))
    assert len(patients) >= 2

    def pick(expr_name, **changes):
        return evaluate(smk_assignment(expr_name), with_changes(**changes), CYTO_SAMPLES=rows)

    def described(ids):
        return [(rows[s]["patient"], rows[s]["tube"], rows[s]["visit"]) for s in ids]

    assert described(pick("CYTO_GATING_IDS")) == [(patients[0], "phenotype", "baseline")]
    assert described(pick("CYTO_GATING_IDS", figures__gating_visits=["nosuch", "month2"])) == [
        (patients[0], "phenotype", "month2")]
    shipped = described(pick("CYTO_PROLIF_IDS"))
    assert shipped == [(p, "function", vis) for p in patients[:4] for vis in ("baseline", "week4")]
    assert described(pick("CYTO_PROLIF_IDS", figures__proliferation_visits=["week2"])) == [
        (p, "function", "week2") for p in patients[:4]]
    assert described(pick("CYTO_PROLIF_IDS", figures__proliferation_max_patients=1)) == [
        (patients[0], "function", vis) for vis in ("baseline", "week4")]


def _summary_inputs(work: Path, n_patients: int) -> dict[str, Path]:
    pops, qc, labs, resp = [], [], [], []
    for i in range(n_patients):
        pid = f"PT-{i:016X}"
        for sid, day, cd38 in ((f"{i}a", -3, 40.0), (f"{i}b", 28, 0.5)):
            pops += pheno(sid, pid, day, cd38)
            qc.append({"sample_id": sid, "qc_flag": ""})
        labs += [{"patient_id": pid, "analyte": "hb", "value": 8.0 + i, "day": d} for d in (-3, 28)]
        resp.append({"patient_id": pid, "first_dose_date": "2022-01-01", "relapse_date": ""})
    paths = {"populations": work / "populations.tsv", "qc": work / "qc.tsv",
             "labs": work / "labs.tsv", "responses": work / "responses.tsv"}
    for key, rows in (("populations", pops), ("qc", qc), ("labs", labs), ("responses", resp)):
        pd.DataFrame(rows).to_csv(paths[key], sep="\t", index=False)
    return paths


def run_summary_figures(work: Path, cfg: dict[str, Any], n_patients: int = 3,
                        monkeypatch=None) -> dict[str, Any]:
    """Rule cytometry_summary_figures' script with its params from ``cfg``; what it
    drew (patients, labels) when ``monkeypatch`` spies on the figure."""
    from aiha.cytometry import figures

    work.mkdir(parents=True, exist_ok=True)
    seen: dict[str, Any] = {}
    if monkeypatch is not None:
        original = figures.cd38_timecourse

        def spy(cd38, hb, relapses, dep, reap, path, labels=None):
            seen.update(patients=sorted(set(cd38["patient_id"])), labels=dict(labels or {}),
                        thresholds=(dep, reap))
            return original(cd38, hb, relapses, dep, reap, path, labels)
        monkeypatch.setattr(figures, "cd38_timecourse", spy)
    out = {"cd38": work / "cd38.svg", "subsets": work / "subsets.svg"}
    run_script("cytometry_summary_figures", work, _summary_inputs(work, n_patients), out,
               {"cyto": evaluate(smk_param("cytometry_summary_figures", "cyto"), cfg), "code": ""})
    if monkeypatch is not None:
        monkeypatch.setattr(figures, "cd38_timecourse", original)
    seen["svg"] = {k: p.read_text(encoding="utf-8") for k, p in out.items()}
    return seen


def test_summary_max_patients_draws_the_first_patients_by_pseudonym(tmp_path, monkeypatch):
    """figures.summary_max_patients 2 of 3 patients: the first two pseudonyms are
    drawn (the shipped 6: all three)."""
    everyone = run_summary_figures(tmp_path / "a", CFG, monkeypatch=monkeypatch)
    two = run_summary_figures(tmp_path / "b", with_changes(figures__summary_max_patients=2),
                              monkeypatch=monkeypatch)
    assert everyone["patients"] == [f"PT-{i:016X}" for i in range(3)]
    assert two["patients"] == [f"PT-{i:016X}" for i in range(2)]


def test_claim_thresholds_reach_the_cd38_figure(tmp_path, monkeypatch):
    """The CD38 time course draws the configured depletion and reappearance lines."""
    seen = run_summary_figures(tmp_path, with_changes(claims__depletion_threshold_percent=2.5,
                                                      claims__reappearance_threshold_percent=7.5),
                               n_patients=1, monkeypatch=monkeypatch)
    assert seen["thresholds"] == (2.5, 7.5)


def test_svg_hashsalt_sets_the_svg_ids(tmp_path):
    """figures.svg_hashsalt: the same salt gives the same SVG bytes; another salt
    other element ids (matplotlib's svg.hashsalt), the drawing otherwise the same.
    Both figure jobs get the salt."""
    a = run_summary_figures(tmp_path / "a", CFG, n_patients=1)["svg"]
    again = run_summary_figures(tmp_path / "a2", CFG, n_patients=1)["svg"]
    b = run_summary_figures(tmp_path / "b", with_changes(figures__svg_hashsalt="another-salt"),
                            n_patients=1)["svg"]
    assert a == again

    def without_ids(svg: str) -> str:
        return re.sub(r'(id="|#)[A-Za-z0-9_-]+', r"\1X", svg)
    for k in a:
        assert a[k] != b[k] and 'id="' in a[k]
        assert without_ids(a[k]) == without_ids(b[k])
    event = evaluate(smk_param("cytometry_event_figures", "cyto"),
                     with_changes(figures__svg_hashsalt="another-salt"))
    assert event["svg_hashsalt"] == "another-salt"


# ------------------------------------------------------------------ display labels

ROLES = ["t_cells", "cd38", "activation", "divided", "naive", "central_memory", "effector_memory",
         "temra", "division_dye", "stimulus"]


def _token(role: str) -> str:
    return f"Zq{role.replace('_', '')}Zq"


@pytest.fixture(scope="module")
def report_tables():
    import json

    from aiha.ard import read_ard, read_text_tsv

    fixture = ROOT / "tests" / "data" / "report" / "results"
    t = {k: read_text_tsv(fixture / p) for k, p in {
        "cleaning_log": "clinical/cleaning_log.tsv",
        "cleaning_summary": "stats/cleaning_summary.tsv", "sensitivity": "sensitivity/summary.tsv",
        "cytometry_qc": "cytometry/qc.tsv", "audit": "audit/claims.tsv",
        "responses": "response/responses.tsv", "patients": "clinical/patients.tsv",
        "labs": "clinical/labs.tsv", "adverse_events": "clinical/adverse_events.tsv",
        "key_statistics": "sensitivity/key_statistics.tsv"}.items()}
    t["ard"] = read_ard(fixture / "ard" / "ard.tsv")
    return t, json.loads((fixture / "provenance.json").read_text(encoding="utf-8"))


def _report_html(cfg, report_tables) -> str:
    from aiha.report.context import build_context, render_html

    tables, provenance = report_tables
    params = evaluate(smk_param("render_report", "cfg", "report.smk"), cfg)
    return render_html(build_context(tables, params, provenance), ROOT / "resources" / "report")


@pytest.mark.parametrize("role", ROLES)
def test_a_display_label_is_printed_in_the_report(role, report_tables):
    """populations.labels.<role>: the report (rule render_report, params.cfg) prints
    the lab's words for the role (in the methods, findings and captions); the shipped
    config (no labels) never does."""
    token = _token(role)
    assert token not in _report_html(CFG, report_tables)
    html = _report_html(with_changes(populations__labels={role: token}), report_tables)
    assert token in html


@pytest.mark.parametrize("role", ["t_cells", "cd38"])
def test_a_display_label_reaches_the_cd38_figure(role, tmp_path, monkeypatch):
    """The CD38 time course (rule cytometry_summary_figures) gets the lab's words."""
    seen = run_summary_figures(tmp_path, with_changes(populations__labels={role: _token(role)}),
                               n_patients=1, monkeypatch=monkeypatch)
    assert seen["labels"][role] == _token(role)
    shipped = run_summary_figures(tmp_path / "s", CFG, n_patients=1, monkeypatch=monkeypatch)
    assert shipped["labels"][role] != _token(role)
