"""The event-level cytometry figures, read as a reader would: decade ticks where
the panel's transform puts 10^k, compact linear ticks, the frequency on each gate
equal to its events over its parent's counted by hand or by the independent numpy
gating, human labels only, one sample in a few large panels, activation next to
proliferation, the same panels from a FlowJo workspace, and the captions."""

from __future__ import annotations

import re
from pathlib import Path

import flowkit as fk
import matplotlib
import numpy as np
import pytest
import yaml

from aiha.cytometry import demo, gating, reference, scales
from aiha.cytometry import function_figure as FF
from aiha.cytometry import gating_figure as GF
from aiha.cytometry import labels as L
from aiha.cytometry.populations import tube_populations
from aiha.report.cytometry_captions import cytometry_captions
from aiha.settings import cytometry_event_figures_config
from conftest import ROOT
from test_cytometry_gating import EXPECTED, known_events, write_fcs

matplotlib.use("Agg")

GATING = ROOT / "resources" / "cytometry"
CYTO = yaml.safe_load((ROOT / "config.yaml").read_text(encoding="utf-8"))["cytometry"]
ROLES = tube_populations(CYTO["populations"])
LOGICLE = fk.transforms.LogicleTransform(262144.0, 0.5, 4.5, 0.0)
SNAKE = re.compile(r"[A-Za-z0-9]_[A-Za-z0-9]")
GATE_IDS = re.compile(r"\b\w+pos\b|\bCD4CD8\b|\bdiv_")


# ------------------------------------------------------------------ ticks
def test_decade_ticks_sit_where_the_transform_puts_powers_of_ten():
    ticks = scales.decade_ticks(LOGICLE, (-0.2, 1.0))
    assert {0.0, 1e2, 1e3, 1e4, 1e5} <= set(ticks.values)
    for position, value in zip(ticks.positions, ticks.values):
        # the inverse of the logicle at the tick is its decade: an event of 10^k is drawn there
        assert LOGICLE.inverse(np.array([[position]]))[0, 0] == pytest.approx(value, rel=1e-6, abs=1e-6)
    labels = dict(zip(ticks.values, ticks.labels))
    assert labels[0.0] == "0" and labels[1e3] == "$10^{3}$" and labels[1e5] == "$10^{5}$"
    labelled = sorted(p for p, lab in zip(ticks.positions, ticks.labels) if lab)
    assert all(b - a >= scales.LABEL_GAP * 1.2 - 1e-9 for a, b in zip(labelled, labelled[1:]))
    assert all(-0.2 <= m <= 1.0 for m in ticks.minor)


def test_decade_ticks_on_an_asinh_scale_follow_its_closed_form():
    t, m, a = 262144.0, 4.5, 0.0
    ticks = scales.decade_ticks(fk.transforms.AsinhTransform(t, m, a), (0.0, 1.0))
    ln10 = np.log(10.0)
    assert 1e5 in ticks.values
    for position, value in zip(ticks.positions, ticks.values):  # GatingML 2.0 fasinh
        expected = (np.arcsinh(value * np.sinh(m * ln10) / t) + a * ln10) / ((m + a) * ln10)
        assert position == pytest.approx(expected, abs=1e-9)


def test_linear_axes_get_few_compact_ticks():
    ticks = scales.axis_ticks(None, (0.0, 262144.0))
    assert ticks.labels == ("0", "100k", "200k") and ticks.positions == (0.0, 100000.0, 200000.0)
    # FlowJo's 0-1 linear display scale: round data values placed through it
    ticks = scales.axis_ticks(fk.transforms.LinearTransform(param_t=262144.0, param_a=0.0), (0.0, 1.0))
    assert ticks.labels == ("0", "100k", "200k")
    assert ticks.positions == pytest.approx([0.0, 100000 / 262144, 200000 / 262144])
    assert scales.axis_ticks(None, (0.0, 61.2)).labels == ("0", "20", "40", "60")


def test_gate_bounds_are_printed_as_values():
    assert scales.fmt_bound(999.6376) == "1,000"
    assert scales.fmt_bound(27995.1) == "28,000"
    assert scales.fmt_bound(1.5) == "1.5"
    assert scales.fmt_bound(-200.4) == "\u2212200"


# ------------------------------------------------------------------ labels
@pytest.mark.parametrize("name, label", [
    ("CD3pos", "CD3+"), ("CD4posCD8neg", "CD4+CD8\u2212"), ("Time", "Stable acquisition"),
    ("Margin", "On-scale events"), ("Singlets", "Single cells"), ("Live", "Live cells"),
    ("live_cells", "Live cells"), ("activated_T_cells", "Activated T cells"), ("CD3+", "CD3+"),
])
def test_gate_names_become_words(name, label):
    assert L.derived_label(name) == label


def test_roles_label_their_populations_and_abbreviations_are_spelled_out():
    names = L.PopulationNames(ROLES["phenotype"])
    assert names.full("CD3pos") == "T cells (CD3+)" and names.short("CD3pos") == "T cells"
    assert names.short("CM") == "Central memory" and names.short("CD38pos") == "CD38+"
    assert names.short("DP", "CD4+CD8+") == "CD4+CD8+"  # a bare abbreviation: its markers
    assert L.channel_label("BV421-A", "CD3") == "CD3 (BV421)"
    assert L.channel_label("FSC-A", "") == "FSC-A"
    assert L.channel_label("Comp-PE-Cy7-A", "CD38 PE-Cy7") == "CD38 PE-Cy7"
    assert L.channel_label("channel_A", "") == "channel A"
    assert L.visit_label("week4") == "Week 4" and L.visit_label("month_2") == "Month 2"
    found = dict(L.abbreviations_used(["CD38 (PE-Cy7)", "SSC-A"]))
    assert set(found) == {"CD", "PE-Cy7", "SSC-A"}  # PE-Cy7 is not also PE


# ------------------------------------------------------------------ gating figure
@pytest.fixture(scope="module")
def known_fcs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """100 hand-built events with known populations (test_cytometry_gating)."""
    return write_fcs(tmp_path_factory.mktemp("figures") / "known.fcs", known_events())


# Each population's parent, and the events of all of them counted by hand
# (test_cytometry_gating.EXPECTED; 100 events in the file).
PARENT = {"Time": None, "Margin": "Time", "Singlets": "Margin", "Lymphocytes": "Singlets",
          "Live": "Lymphocytes", "CD3pos": "Live", "CD38pos": "CD3pos", "Naive": "CD3pos",
          "CM": "CD3pos", "EM": "CD3pos", "TEMRA": "CD3pos"}


def _expected_percent(pop: str) -> float:
    parent = PARENT[pop]
    return 100.0 * EXPECTED[pop] / (EXPECTED[parent] if parent else 100)


def _drawn(strategy, fcs: Path):
    data = GF.load_gating_sample(str(fcs), "known", strategy, ROLES["phenotype"])
    fig, shown = GF.draw_gating(data, L.PopulationNames(ROLES["phenotype"]), ROLES["phenotype"])
    panels = [ax for ax in fig.axes if ax.get_visible() and ax.axison]
    return data, fig, shown, panels


def test_gating_figure_is_one_sample_in_a_few_large_panels(known_fcs: Path):
    strategy = gating.load_gatingml(GATING / "gating_phenotype.v1.xml", "logicle")
    _, fig, _, panels = _drawn(strategy, known_fcs)
    # the gates on the path to the claim populations; CD4 x CD8 is not one of them
    assert 6 <= len(panels) <= 8
    width, height = fig.get_size_inches()
    assert width == pytest.approx(7.0)  # the report's text width: printed at its own size
    assert len({round(ax.get_position().x0, 3) for ax in panels}) == 3  # three columns
    texts = [t for ax in panels for t in (ax.title, ax.xaxis.label, ax.yaxis.label, *ax.texts,
                                          *ax.get_xticklabels(), *ax.get_yticklabels())]
    assert min(t.get_fontsize() for t in texts if t.get_text()) >= 7.0
    words = [t.get_text() for t in texts]
    assert not [w for w in words if SNAKE.search(w) or GATE_IDS.search(w)]
    titles = [ax.get_title().replace("\n", " ") for ax in panels]
    assert "T cells (CD3+) of live cells" in titles and "CD38+ of T cells" in titles
    assert "T-cell subsets of T cells" in titles


def test_frequency_on_each_gate_is_its_events_over_its_parents(known_fcs: Path):
    strategy = gating.load_gatingml(GATING / "gating_phenotype.v1.xml", "logicle")
    _, _, shown, panels = _drawn(strategy, known_fcs)
    printed = {ax.get_title().replace("\n", " "): [t.get_text().replace("\n", " ") for t in ax.texts]
               for ax in panels}
    names = L.PopulationNames(ROLES["phenotype"])
    for pop in ("Time", "Margin", "Singlets", "Lymphocytes", "Live", "CD3pos", "CD38pos"):
        title = next(t for t in printed if t.startswith(names.full(pop) + " of"))
        assert printed[title] == [f"{_expected_percent(pop):.1f}%"], title
    quadrants = printed["T-cell subsets of T cells"]
    for pop in ("Naive", "CM", "EM", "TEMRA"):
        assert f"{names.short(pop)} {_expected_percent(pop):.1f}%" in quadrants
    counted = {p["label"]: (p["count"], p["parent_count"]) for s in shown for p in s["populations"]}
    assert counted["CD38+"] == (EXPECTED["CD38pos"], EXPECTED["CD3pos"])


def test_fluorescence_axes_have_true_decade_ticks(known_fcs: Path):
    strategy = gating.load_gatingml(GATING / "gating_phenotype.v1.xml", "logicle")
    _, _, _, panels = _drawn(strategy, known_fcs)
    cd3 = next(ax for ax in panels if ax.get_xlabel() == "CD3 (BV421)")
    ticks = dict(zip((t.get_text() for t in cd3.get_xticklabels()), cd3.get_xticks()))
    logicle = strategy.transformations["logicle"]
    for k in (2, 3, 4, 5):
        assert ticks[f"$10^{{{k}}}$"] == pytest.approx(logicle.apply(np.array([[10.0 ** k]]))[0, 0])
    assert ticks["0"] == pytest.approx(logicle.apply(np.array([[0.0]]))[0, 0])
    scatter = next(ax for ax in panels if ax.get_xlabel() == "FSC-A")
    assert [t.get_text() for t in scatter.get_xticklabels()] == ["0", "100k", "200k"]


def test_a_flowjo_workspace_gives_the_same_figure(known_fcs: Path, tmp_path: Path):
    """Its quadrants are four rectangles and its dimensions detector names: same
    panels, titles, axis labels and frequencies."""
    from aiha.cytometry.flowjo import export_workspace

    strategy = gating.load_gatingml(GATING / "gating_phenotype.v1.xml", "logicle")
    wsp = tmp_path / "phenotype.wsp"
    export_workspace(strategy, [known_fcs], wsp)
    flowjo = gating.load_flowjo(wsp, known_fcs)

    def seen(panels):
        return sorted((ax.get_title(), ax.get_xlabel(), ax.get_ylabel(),
                       tuple(sorted(t.get_text() for t in ax.texts))) for ax in panels)

    assert seen(_drawn(flowjo, known_fcs)[3]) == seen(_drawn(strategy, known_fcs)[3])


def test_gating_facts_print_every_threshold_as_a_value(known_fcs: Path, tmp_path: Path):
    strategy = gating.load_gatingml(GATING / "gating_phenotype.v1.xml", "logicle")
    facts = GF.gating_figure_from_file(str(known_fcs), "known", strategy, tmp_path / "g.svg",
                                       ROLES["phenotype"])
    rules = {r["population"]: r["rule"] for r in facts["thresholds"]}
    inverse = strategy.transformations["logicle"].inverse
    cd38 = float(inverse(np.array([[0.4543]]))[0, 0])  # the GatingML bound, in fluorescence units
    assert rules["CD38+"] == f"CD38 (PE-Cy7) \u2265 {scales.fmt_bound(cd38)}"
    assert rules["On-scale events"] == "FSC-A 1\u2013262,000; SSC-A 1\u2013262,000"
    assert rules["T-cell subsets"].startswith("CD45RA (FITC) divided at ")
    assert facts["scales"] == ["logicle"] and facts["events"] == 100
    assert (tmp_path / "g.svg").read_text().startswith("<?xml")


# ------------------------------------------------------------------ activation and proliferation
@pytest.fixture(scope="module")
def function_files(tmp_path_factory: pytest.TempPathFactory) -> list[tuple]:
    out = tmp_path_factory.mktemp("function")
    files = []
    for i, (visit, day) in enumerate((("baseline", -3), ("week4", 28))):
        events = demo.simulate_events("function", demo.visit_biology(day, None, 0), 8000,
                                      np.random.default_rng([11, i]))
        path = write_fcs(out / f"F{i}.fcs", events, "function")
        files.append((str(path), f"F{i}", "PT-A", visit, day))
    return files


def test_activation_and_proliferation_percentages_are_the_gates_over_t_cells(function_files):
    strategy = gating.load_gatingml(GATING / "gating_function.v1.xml", "logicle")
    roles = ROLES["function"]
    data = FF.measure_function(function_files, strategy, roles)
    fig = FF.draw_function(data, L.PopulationNames(roles))
    axes = fig.axes
    assert len(axes) == 2  # one patient: activation left, proliferation right
    assert axes[0].get_xlabel() == "CD69 (FITC)" and axes[1].get_xlabel() == "CTV (BV421)"
    base = "Time/Margin/Singlets/Lymphocytes/Live/CD3pos"
    for (path, *_), row in zip(function_files, data.rows):
        raw, pnn, pns, text = reference.read_fcs_array(path)
        counts = reference.gate_counts(raw, pnn, pns, text["spillover"], strategy)
        for ax, pop in ((axes[0], "CD69pos"), (axes[1], "Divided")):
            percent = 100.0 * counts[f"{base}/{pop}"] / counts[base]
            legend = [t.get_text() for t in ax.get_legend().get_texts()]
            assert any(t.endswith(f": {percent:.1f}%") and t.startswith(L.visit_label(row.visit))
                       for t in legend), (legend, percent)
    ctv = dict(zip((t.get_text() for t in axes[1].get_xticklabels()), axes[1].get_xticks()))
    assert ctv["$10^{4}$"] == pytest.approx(LOGICLE.apply(np.array([[1e4]]))[0, 0])
    words = [t.get_text() for ax in axes for t in (ax.title, ax.xaxis.label, ax.yaxis.label,
                                                   *ax.get_legend().get_texts())]
    assert not [w for w in words if SNAKE.search(w) or GATE_IDS.search(w)]
    facts = FF.function_facts(data, L.PopulationNames(roles))
    assert facts["activation"]["name"] == "CD69" and facts["divided"]["name"] == "CTV"
    assert facts["activation"]["rule"].startswith("CD69 (FITC) \u2265 ")
    assert facts["divided"]["rule"].startswith("CTV (BV421) < ")


def test_a_boolean_activation_gate_is_reported_not_drawn(function_files):
    """A lab's activation population may be a combination of gates (CD69+ or
    CD25+): no axis to draw it on, its percentages are still printed."""
    strategy = gating.load_gatingml(GATING / "gating_function.v1.xml", "logicle")
    path = ("root", "Time", "Margin", "Singlets", "Lymphocytes", "Live", "CD3pos")
    refs = [{"ref": r, "path": path, "complement": False} for r in ("CD69pos", "CD25pos")]
    strategy.add_gate(fk.gates.BooleanGate("Activated", "or", refs), gate_path=path)
    roles = {"t_cells": "CD3pos", "activation": "Activated", "divided": "Divided"}
    data = FF.measure_function(function_files, strategy, roles)
    fig = FF.draw_function(data, L.PopulationNames(roles))
    left = fig.axes[0]
    assert not left.axison
    base = "Time/Margin/Singlets/Lymphocytes/Live/CD3pos"
    bound = float(LOGICLE.inverse(np.array([[0.4543]]))[0, 0])  # both gates' lower bound
    for (fcs, *_), row in zip(function_files, data.rows):
        # CD69+ or CD25+ T cells counted by hand on the compensated events
        raw, pnn, pns, text = reference.read_fcs_array(fcs)
        comp = reference.compensate(raw, pnn, text["spillover"])
        cd69, cd25 = (comp[:, pns.index(m)] for m in ("CD69", "CD25"))
        sample = gating.read_sample(fcs, {})
        t_cells = gating.memberships(gating.gate_results(sample, strategy), strategy)[base]
        either = int(np.count_nonzero(t_cells & ((cd69 >= bound) | (cd25 >= bound))))
        percent = 100.0 * either / int(np.count_nonzero(t_cells))
        assert f"{L.visit_label(row.visit)}: {percent:.1f}%" in left.texts[0].get_text()


# ------------------------------------------------------------------ captions and settings
FACTS = {
    "gating_source": "GatingML 2.0",
    "gating": {"patient_id": "PT-0000000000000001", "visit": "Baseline", "day": -3, "events": 30000,
               "scales": ["logicle"], "panels": [],
               "thresholds": [{"population": "Live cells", "rule": "Viability (BV510) < 2,000"}],
               "abbreviations": [["FSC-A", "forward scatter, area"]]},
    "function": {"t_cells": "T cells (CD3+)", "t_cells_short": "T cells", "patients": 2,
                 "visits": ["Baseline", "Week 4"], "scales": ["logicle"],
                 "activation": {"label": "CD69+", "marker": "CD69 (FITC)", "name": "CD69",
                                "rule": "CD69 (FITC) \u2265 1,000"},
                 "divided": {"label": "Divided", "marker": "CTV (BV421)", "name": "CTV",
                             "rule": "CTV (BV421) < 28,000"},
                 "samples": [{"patient_id": "PT-0000000000000001"}],
                 "abbreviations": [["CTV", "CellTrace Violet (division dye)"]]},
}


def test_captions_name_the_sample_thresholds_and_abbreviations():
    from aiha.cytometry.labels import DEMO_DISPLAY

    assert "after in-vitro stimulation" in cytometry_captions(FACTS)["proliferation"]  # no panel words
    captions = cytometry_captions(FACTS, DEMO_DISPLAY)  # the demo panel's words
    gating_text = captions["gating_strategy"]
    assert "patient PT-0000000000000001, baseline visit (day \u22123)" in gating_text
    assert "Live cells: Viability (BV510) < 2,000" in gating_text
    assert "Abbreviations: FSC-A: forward scatter, area." in gating_text
    function_text = captions["proliferation"]
    assert function_text.startswith("Figure 8. Activation (CD69) and proliferation (CTV dilution) after "
                                    "anti-CD3/CD28 stimulation.")
    assert "CD69+: CD69 (FITC) \u2265 1,000" in function_text and "Divided: CTV (BV421) < 28,000" in function_text
    assert "baseline and week 4 visits" in function_text and "CTV: CellTrace Violet" in function_text
    assert not SNAKE.search(gating_text + function_text)
    empty = cytometry_captions(None)
    assert empty["gating_strategy"] == "Figure 5. Gating strategy."


def test_the_figure_job_reads_only_what_it_draws():
    cfg = cytometry_event_figures_config(CYTO)
    assert not {"claims", "qc", "demo", "figures", "populations"} & set(cfg)
    assert cfg["tube_populations"] == ROLES and cfg["svg_hashsalt"] == CYTO["figures"]["svg_hashsalt"]


# ------------------------------------------------------------------ CD38 time course
def _cd38_figure(monkeypatch, tmp_path: Path):
    """The CD38 figure of two patients (the second with nadirs of 0.2-0.3% and a 0%),
    captured before it is written."""
    import pandas as pd

    from aiha.cytometry import figures

    drawn = {}
    original = figures.save_svg

    def keep(fig, path):
        drawn["fig"] = fig
        fig.canvas.draw()
        drawn["legend"] = fig.legends[0]
        original(fig, path)

    monkeypatch.setattr(figures, "save_svg", keep)
    cd38 = pd.DataFrame({"patient_id": ["PT-A"] * 3 + ["PT-B"] * 4,
                         "day": [-3, 28, 90, -3, 28, 90, 180],
                         "percent": [40.0, 0.5, 20.0, 35.0, 0.2, 0.3, 0.0]})
    hb = pd.DataFrame({"patient_id": ["PT-A", "PT-A", "PT-B", "PT-B"], "day": [-3, 90, -3, 90],
                       "value": [8.0, 11.0, 7.5, 12.0]})
    figures.cd38_timecourse(cd38, hb, {"PT-A": 90}, 1.0, 10.0, tmp_path / "cd38.svg")
    return drawn["fig"], drawn["legend"]


def test_every_line_colour_of_the_cd38_figure_is_in_its_legend(monkeypatch, tmp_path):
    from matplotlib.colors import to_hex

    fig, legend = _cd38_figure(monkeypatch, tmp_path)
    in_legend = {to_hex(h.get_color()) for h in legend.legend_handles}
    drawn = {to_hex(ln.get_color()) for ax in fig.axes for ln in ax.lines}
    assert len(fig.axes) == 4  # two panels, each with its Hb axis
    assert drawn <= in_legend, drawn - in_legend
    assert "first daratumumab dose" in [t.get_text() for t in legend.get_texts()]


def test_cd38_axis_shows_a_nadir_of_0_2_apart_from_1(monkeypatch, tmp_path):
    import numpy as np

    from aiha.cytometry import figures

    fig, legend = _cd38_figure(monkeypatch, tmp_path)
    ax = fig.axes[0]
    assert ax.get_yscale() == "log"
    low, high = ax.get_ylim()
    assert low < figures.CD38_ZERO_FLOOR_PERCENT < 0.1 and high >= 100
    assert [t.get_text() for t in ax.get_yticklabels()] == ["0.1", "1", "10", "100"]
    # 0.2% sits a visible distance below 1% (more than a tenth of the panel's height)
    y02, y1 = (ax.transData.transform((0, v))[1] for v in (0.2, 1.0))
    height = ax.bbox.height
    assert (y1 - y02) > 0.1 * height
    # the second patient's 0% is drawn at the floor, hollow, and said so in the legend
    panel_b = next(a for a in fig.axes if a.get_title() == "PT-B")
    hollow = [ln for ln in panel_b.lines if ln.get_markerfacecolor() == "white"]
    assert len(hollow) == 1
    assert np.asarray(hollow[0].get_ydata(), float).tolist() == [figures.CD38_ZERO_FLOOR_PERCENT]
    texts = [t.get_text() for t in legend.get_texts()]
    assert f"0% (drawn at {figures.CD38_ZERO_FLOOR_PERCENT:g}%)" in texts


def test_cd38_plot_values_move_only_zero_to_the_floor():
    import pandas as pd

    from aiha.cytometry import figures

    y, low = figures.cd38_plot_values(pd.Series([0.0, 0.2, 1.0, 45.0]))
    assert y.tolist() == [figures.CD38_ZERO_FLOOR_PERCENT, 0.2, 1.0, 45.0]
    assert low.tolist() == [True, False, False, False]
