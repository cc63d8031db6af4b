"""Report figures: deterministic SVG bytes, labelled axes and legends."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
import yaml

from aiha import figures
from aiha.ard import read_ard, read_text_tsv
from aiha.report import ARD, figure_inputs

ROOT = Path(__file__).resolve().parents[1]
FIXTURE = ROOT / "tests/data/report/results"
NAMES = ["swimmer", "hb_trajectories", "km_dor", "hemolysis"]


@pytest.fixture(scope="module")
def cfg() -> dict:
    return yaml.safe_load((ROOT / "config.yaml").read_text(encoding="utf-8"))


def _inputs() -> dict[str, Path]:
    """The inputs of rule report_figures in the fixture tree."""
    return {**figure_inputs(FIXTURE), "transfusions": FIXTURE / "clinical/transfusions.tsv"}


def _render(out: Path, cfg: dict) -> dict[str, bytes]:
    outputs = {k: out / f"{k}.svg" for k in NAMES}
    figures.write_clinical_figures(_inputs(), cfg, outputs)
    return {k: p.read_bytes() for k, p in outputs.items()}


def test_svg_byte_identical_on_rerender(tmp_path: Path, cfg: dict) -> None:
    first = _render(tmp_path / "a", cfg)
    second = _render(tmp_path / "b", cfg)
    assert first == second


def test_svg_byte_identical_across_processes(tmp_path: Path, cfg: dict) -> None:
    here = _render(tmp_path / "a", cfg)
    paths = {k: str(v) for k, v in _inputs().items()}
    code = (
        "import sys, yaml; from pathlib import Path;"
        "from aiha.figures import write_clinical_figures;"
        f"out = Path({str(tmp_path / 'b')!r});"
        f"cfg = yaml.safe_load(open({str(ROOT / 'config.yaml')!r}));"
        f"inputs = {{k: Path(v) for k, v in {paths!r}.items()}};"
        f"write_clinical_figures(inputs, cfg,"
        f" {{k: out / (k + '.svg') for k in {NAMES!r}}})"
    )
    subprocess.run([sys.executable, "-c", code], check=True, cwd=tmp_path,
                   env={"PYTHONHASHSEED": "123", "PATH": "/usr/bin:/bin",
                        "MPLCONFIGDIR": str(tmp_path / "mpl")})
    there = {k: (tmp_path / "b" / f"{k}.svg").read_bytes() for k in NAMES}
    assert here == there


def test_svg_has_no_date_or_creator(tmp_path: Path, cfg: dict) -> None:
    for name, data in _render(tmp_path, cfg).items():
        text = data.decode("utf-8")
        assert "<dc:date>" not in text, name
        assert "Matplotlib v" not in text, name
        assert "<text" not in text, name  # text drawn as paths: no font lookup


def test_figures_are_labelled(tmp_path: Path, cfg: dict) -> None:
    svg = {k: v.decode("utf-8") for k, v in _render(tmp_path, cfg).items()}
    assert "Months from first daratumumab dose" in svg["swimmer"]
    assert "Patient (number; pseudonyms in Listing 1)" in svg["swimmer"]
    for label in ("Daratumumab dose", "Response date", "Relapse", "Last follow-up",
                  "Response ongoing at cut-off", "Red-cell transfusion",
                  "New AIHA therapy (after day 0)", "Hb response (cAIHA)", "wAIHA",
                  "cAIHA (anemic)", "P01", "P06"):
        assert label in svg["swimmer"], label
    assert "PT-0000000A" not in svg["swimmer"]  # numbers, not pseudonyms
    assert "HR" not in svg["swimmer"]
    for name in ("hb_trajectories", "hemolysis"):
        assert "Months from first dose" in svg[name], name
        assert "Interquartile range" in svg[name], name
        assert "Median per month" in svg[name], name
    assert "Hemoglobin (g/dL)" in svg["hb_trajectories"]
    assert "Flagged suspicious value (kept)" in svg["hb_trajectories"]
    r = cfg["response"]
    assert f"PR \u2265 {r['pr_hb_g_dl']:g}" in svg["hb_trajectories"]
    assert f"CR \u2265 {r['cr_hb_g_dl']:g}" in svg["hb_trajectories"]
    assert "Months from response" in svg["km_dor"]
    assert "Probability of continued response" in svg["km_dor"]
    assert f"at a tie: {cfg['statistics']['km_tie_rule']}" in svg["km_dor"]
    assert "Number at risk" in svg["km_dor"]
    assert "LDH (\u00d7 ULN)" in svg["hemolysis"] and "Bilirubin (mg/dL)" in svg["hemolysis"]
    assert "Normal limit (CR criterion)" in svg["hemolysis"]
    assert "Censored" in svg["km_dor"]
    # The fixture's wAIHA KM median (ARD) is marked; cAIHA's is not reached.
    med = ARD(read_ard(FIXTURE / "ard/ard.tsv")).get("dor_median_km", "wAIHA", "value")
    assert f"KM median {med:.1f} months" in svg["km_dor"]


def test_hb_thresholds_follow_config(cfg: dict) -> None:
    changed = dict(cfg["response"], pr_hb_g_dl=9.5, cr_hb_g_dl=11.0)
    lines = figures.hb_thresholds(changed)
    assert sorted(lines["wAIHA"].values()) == [9.5, 11.0]


def test_swimmer_handles_missing_dates() -> None:
    responses = read_text_tsv(FIXTURE / "response/responses.tsv")
    treatments = read_text_tsv(FIXTURE / "clinical/treatments.tsv")
    responses.loc[0, "relapse_date"] = ""
    fig = figures.swimmer_plot(responses, treatments, 30.4375)
    assert fig.axes[0].get_xlabel() == "Months from first daratumumab dose"
    import matplotlib.pyplot as plt

    plt.close(fig)


def test_km_plot_with_empty_median() -> None:
    km = pd.read_csv(FIXTURE / "stats/km_curve.tsv", sep="\t")
    fig = figures.km_plot(km, {"wAIHA": float("nan")}, "midpoint", 0.9)
    texts = [t.get_text() for t in fig.legends[0].get_texts()]
    assert "Median (at a tie: midpoint)" in texts
    assert any(t.startswith("90% CI") for t in texts)
    import matplotlib.pyplot as plt

    plt.close(fig)


def test_numbers_at_risk_from_the_step_table() -> None:
    # 4 responders: an event at 2 months, a censoring at 3, an event at 5, one at 7.
    curve = pd.DataFrame({"time_months": [0.0, 2.0, 3.0, 5.0, 7.0],
                          "at_risk": [4, 4, 3, 2, 1], "events": [0, 1, 0, 1, 1],
                          "censored": [0, 0, 1, 0, 0]})
    assert [figures.at_risk(curve, t) for t in (0, 2, 2.5, 4, 6, 7, 8)] == [4, 4, 3, 2, 1, 1, 0]


def test_response_categories_have_distinct_colours() -> None:
    colours = [figures.COLORS[k] for k in ("CR", "PR", "HR", "NR", "NE")]
    assert len(set(colours)) == len(colours)


def test_many_patients_keep_one_page_and_raster_marks(tmp_path: Path) -> None:
    """A cohort larger than MANY_PATIENTS: the swimmer plot is capped in height, prints
    no pseudonyms and embeds its marks as an image."""
    n = figures.MANY_PATIENTS + 5
    responses = pd.DataFrame({
        "patient_id": [f"PT-{i:08X}" for i in range(n)], "analysis_group": ["wAIHA"] * n,
        "first_dose_date": ["2022-01-01"] * n, "last_followup_date": ["2022-06-01"] * n,
        "best_response": ["NR"] * n, "response_date": [""] * n, "relapse_date": [""] * n,
        "ongoing": ["False"] * n, "acrocyanosis_response": [""] * n})
    treatments = pd.DataFrame({"patient_id": responses["patient_id"], "day": [0] * n,
                               "treatment": ["daratumumab"] * n})
    fig = figures.swimmer_plot(responses, treatments, 30.4375)
    assert fig.get_size_inches()[1] <= figures.MAX_SWIMMER_HEIGHT_IN
    assert not any(t.get_text().startswith("PT-") for t in fig.axes[0].get_yticklabels())
    figures.save_svg(fig, tmp_path / "s.svg")
    svg = (tmp_path / "s.svg").read_text(encoding="utf-8")
    assert "data:image/png;base64" in svg and "PT-00000000" not in svg


# ------------------------------------------------------------------ swimmer plot
DPM = 30.4375


def _swimmer_frames() -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Three patients: a wAIHA responder with a response on the day of the fifth
    dose, a relapse and a new AIHA therapy; a cAIHA nonresponder transfused before
    and after the first dose; a non-anemic cAIHA patient with an acrocyanosis
    response (no response date)."""
    responses = pd.DataFrame({
        "patient_id": ["PT-W", "PT-C", "PT-N"],
        "analysis_group": ["wAIHA", "cAIHA", "cAIHA_nonanemic"],
        "first_dose_date": ["2022-01-03", "2022-02-07", "2022-03-07"],
        "last_followup_date": ["2022-12-30", "2022-08-06", "2022-09-03"],  # days 361, 180, 180
        "best_response": ["PR", "NR", "NE"],
        "response_date": ["2022-01-31", "", ""],  # day 28, the fifth dose
        "relapse_date": ["2022-07-02", "", ""],  # day 180
        "ongoing": ["False", "False", "False"],
        "acrocyanosis_response": ["", "", "True"]})
    dose_days = [0, 7, 14, 21, 28]
    treatments = pd.DataFrame(
        [(p, d, "daratumumab") for p in responses["patient_id"] for d in dose_days]
        + [("PT-W", 180, "aiha_therapy"), ("PT-C", -10, "aiha_therapy"),
           ("PT-C", 30, "supportive")],
        columns=["patient_id", "day", "treatment"])
    transfusions = pd.DataFrame({"patient_id": ["PT-C", "PT-C", "PT-W"], "day": [-20, 40, 180],
                                 "units": [2, 2, 1]})
    return responses, treatments, transfusions


def _marker_lines(ax, marker: str) -> list:
    return [ln for ln in ax.lines if ln.get_marker() == marker]


def _points(lines) -> list[tuple[float, float]]:
    return sorted((float(x), float(y)) for ln in lines for x, y in zip(ln.get_xdata(),
                                                                         ln.get_ydata()))


def _flat(points) -> list[float]:
    return [v for point in points for v in point]


def _bar_of(ax, y: float):
    (bar,) = [p for p in ax.patches if abs(p.get_y() + p.get_height() / 2 - y) < 1e-9]
    return bar


@pytest.fixture()
def swimmer():
    import matplotlib.pyplot as plt

    responses, treatments, transfusions = _swimmer_frames()
    fig = figures.swimmer_plot(responses, treatments, DPM, transfusions=transfusions)
    yield fig, fig.axes[0]
    plt.close(fig)


def _row_y(ax, number: str) -> float:
    ticks = {t.get_text(): y for t, y in zip(ax.get_yticklabels(), ax.get_yticks())}
    return float(ticks[number])


def test_every_dose_has_a_visible_tick_off_the_other_marks(swimmer) -> None:
    fig, ax = swimmer
    ticks = _marker_lines(ax, "|")
    for number in ("P01", "P02", "P03"):
        y = _row_y(ax, number)
        xs = sorted(x for x, yy in _points(ticks) if abs(yy - y) < 0.5)
        assert xs == pytest.approx([d / DPM for d in (0, 7, 14, 21, 28)])
    # day 0 lies inside the axes, not on its left spine
    assert ax.get_xlim()[0] < 0
    # no tick shares its place with the response, relapse or follow-up marks
    others = set(_points(_marker_lines(ax, "o") + _marker_lines(ax, "X")
                         + _marker_lines(ax, "s")))
    assert not set(_points(ticks)) & others
    # the fifth dose and the response are on the same day, on different heights
    y = _row_y(ax, "P01")
    (resp,) = _points(_marker_lines(ax, "o"))
    assert resp[0] == pytest.approx(28 / DPM) and resp[1] == pytest.approx(y)
    assert all(abs(yy - y) > figures.BAR_HEIGHT / 2 - 0.1 for _, yy in _points(ticks))
    bar_z = max(p.get_zorder() for p in ax.patches)
    assert all(ln.get_zorder() > bar_z for ln in ticks)


def test_a_transfusion_marker_at_each_transfusion_day(swimmer) -> None:
    fig, ax = swimmer
    drops = _points(_marker_lines(ax, "v"))
    _, _, transfusions = _swimmer_frames()
    number = {"PT-W": "P01", "PT-C": "P02"}
    expected = sorted((d / DPM, _row_y(ax, number[p]) + figures.LANE_OFFSET)
                      for p, d in zip(transfusions["patient_id"], transfusions["day"]))
    assert _flat(drops) == pytest.approx(_flat(expected))
    assert ax.get_xlim()[0] < -20 / DPM  # the pre-dose transfusion is on the axis
    texts = [t.get_text() for t in fig.legends[0].get_texts()]
    assert "Red-cell transfusion" in texts


def test_new_therapy_markers_only_after_day_0_and_only_aiha_therapy(swimmer) -> None:
    fig, ax = swimmer
    # PT-W's rituximab at day 180; not PT-C's aiha_therapy at day -10, nor its folic acid
    assert _flat(_points(_marker_lines(ax, "^"))) == pytest.approx(
        [180 / DPM, _row_y(ax, "P01") - figures.LANE_OFFSET])
    texts = [t.get_text() for t in fig.legends[0].get_texts()]
    assert "New AIHA therapy (after day 0)" in texts


def test_acrocyanosis_mark_lies_within_the_bar(swimmer) -> None:
    fig, ax = swimmer
    y = _row_y(ax, "P03")
    bar = _bar_of(ax, y)
    end = bar.get_x() + bar.get_width()
    assert end == pytest.approx(180 / DPM)
    (star,) = _marker_lines(ax, "*")
    x = float(star.get_xdata()[0])
    assert bar.get_x() <= x <= end
    assert float(star.get_ydata()[0]) == pytest.approx(y)
    # drawn inside the bar: its displayed centre is left of the bar's end
    fig.canvas.draw()
    shown = star.get_transform().transform((x, y))[0]
    assert shown < ax.transData.transform((end, y))[0]


def test_acrocyanosis_mark_at_the_response_date_when_there_is_one() -> None:
    import matplotlib.pyplot as plt

    responses, treatments, _ = _swimmer_frames()
    responses.loc[2, "response_date"] = "2022-04-04"  # day 28
    fig = figures.swimmer_plot(responses, treatments, DPM)
    (star,) = _marker_lines(fig.axes[0], "*")
    assert float(star.get_xdata()[0]) == pytest.approx(28 / DPM)
    plt.close(fig)


def test_rows_are_numbered_by_group_then_pseudonym_and_hb_response_is_spelled_out() -> None:
    import matplotlib.pyplot as plt

    responses, treatments, transfusions = _swimmer_frames()
    extra = responses.iloc[[0]].assign(patient_id="PT-A", best_response="CR")
    hr = responses.iloc[[1]].assign(patient_id="PT-D", best_response="HR")
    responses = pd.concat([responses, extra, hr], ignore_index=True)
    fig = figures.swimmer_plot(responses, treatments, DPM, frozenset({"PT-W"}), transfusions)
    ax = fig.axes[0]
    labels = [t.get_text() for t in ax.get_yticklabels()]
    # top to bottom: wAIHA PT-A, PT-W (flow), cAIHA PT-C, PT-D, non-anemic PT-N
    rows = sorted(zip(ax.get_yticks(), labels), reverse=True)
    assert [lab for _, lab in rows] == ["P01", "P02 \u25c6", "P03", "P04", "P05"]
    texts = [t.get_text() for t in fig.legends[0].get_texts()]
    assert "Hb response (cAIHA)" in texts
    assert not any(t.startswith("HR") or "HR," in t for t in texts)
    plt.close(fig)


# ------------------------------------------------------------------ lab courses
def test_month_bins_keep_post_dose_values_out_of_the_baseline_bin() -> None:
    bins = {d: figures.month_bin(d, DPM) for d in (-56, -28, -16, -15, -3, 0, 1, 14, 15, 45, 46)}
    # nearest month, but days 1..15 go to month 1, not month 0
    assert bins == {-56: -2, -28: -1, -16: -1, -15: 0, -3: 0, 0: 0, 1: 1, 14: 1, 15: 1,
                    45: 1, 46: 2}


def test_median_and_iqr_per_bin_by_hand() -> None:
    # three wAIHA patients; month 1 = days 1-45, month 2 = days 46-76
    values = pd.DataFrame({
        "group": ["wAIHA"] * 7,
        "patient_id": ["a", "a", "b", "c", "a", "b", "c"],
        "day": [7, 28, 30, 40, 60, 61, 62],
        "value": [8.0, 10.0, 11.0, 7.0, 12.0, 8.0, 10.0]})
    got = figures.binned_summary(values, DPM)
    # month 1: a counts once with median(8, 10) = 9; values 7, 9, 11 -> median 9,
    # quartiles (linear) 8 and 10. Month 2: 8, 10, 12 -> 10, 9, 11.
    assert got["month"].tolist() == [1, 2]
    assert got["n"].tolist() == [3, 3]
    assert got["median"].tolist() == pytest.approx([9.0, 10.0])
    assert got["q1"].tolist() == pytest.approx([8.0, 9.0])
    assert got["q3"].tolist() == pytest.approx([10.0, 11.0])
    # a bin of 2 patients is not summarised
    two = figures.binned_summary(values[values["patient_id"] != "c"], DPM)
    assert two.empty


def _course_frames() -> tuple[pd.DataFrame, pd.DataFrame]:
    responses = pd.DataFrame({
        "patient_id": ["a", "b", "c", "d"], "responder": ["True", "False", "True", "False"],
        "analysis_group": ["wAIHA", "wAIHA", "wAIHA", "cAIHA"]})
    rows = []
    for pid, days in (("a", [-3, 7, 28, 60]), ("b", [-3, 30, 61]), ("c", [-3, 40, 62, 300]),
                      ("d", [-100, 10])):
        for k, d in enumerate(days):
            for analyte, v in (("hb", 8.0 + k), ("ldh", 2.0 + k / 10), ("bilirubin", 2.5)):
                rows.append({"patient_id": pid, "day": d, "analyte": analyte, "value": v,
                             "flag": "suspicious" if (pid, d, analyte) == ("b", 30, "hb")
                             else ""})
    return pd.DataFrame(rows), responses


def test_hb_courses_show_median_iqr_on_one_month_axis() -> None:
    import matplotlib.pyplot as plt

    labs, responses = _course_frames()
    fig = figures.hb_trajectories(labs, responses, {"wAIHA": {"PR \u2265 10": 10.0}}, DPM)
    axes = fig.axes
    assert {ax.get_xlim() for ax in axes} == {axes[0].get_xlim()}  # one time axis
    lo, hi = axes[0].get_xlim()
    assert lo <= -100 / DPM and hi >= 300 / DPM  # every value of every panel on it
    assert all(ax.get_xlabel() == "Months from first dose" for ax in axes)
    assert axes[0].get_ylabel() == "Hemoglobin (g/dL)"
    # the wAIHA median line: bins with the 3 patients (months 0, 1, 2), from binned_summary
    hb = labs[labs["analyte"] == "hb"].assign(group="wAIHA")
    expected = figures.binned_summary(hb[hb["patient_id"] != "d"], DPM)
    (median,) = [ln for ln in axes[0].lines if ln.get_label() == "_median"]
    assert list(median.get_xdata()) == [float(m) for m in expected["month"]]
    assert list(median.get_ydata()) == pytest.approx(expected["median"].tolist())
    (band,) = [c for c in axes[0].collections if c.get_label() == "_iqr"]
    edges = {round(float(y), 9) for y in band.get_paths()[0].vertices[:, 1]}
    assert edges == {round(float(v), 9) for v in [*expected["q1"], *expected["q3"]]}
    # the cAIHA panel (one patient) has no bin to summarise: no median line
    assert not [ln for ln in axes[1].lines if ln.get_label() == "_median"]
    # month 0: a, b, c at 8 -> 8; month 1: a median(9, 10) = 9.5, b 9, c 9 -> 9
    assert expected["median"].tolist()[:2] == pytest.approx([8.0, 9.0])
    # the flagged value is ringed, and the ring is in the legend
    rings = [ln for ln in axes[0].lines if ln.get_markerfacecolor() == "none"]
    assert _flat(_points(rings)) == pytest.approx([30 / DPM, 9.0])
    texts = [t.get_text() for t in fig.legends[0].get_texts()]
    assert "Flagged suspicious value (kept)" in texts and "Interquartile range" in texts
    plt.close(fig)


def test_hemolysis_courses_share_the_hb_time_axis() -> None:
    import matplotlib.pyplot as plt

    labs, responses = _course_frames()
    hb = figures.hb_trajectories(labs, responses, {}, DPM)
    hemo = figures.hemolysis_courses(labs, responses, {"ldh": 1.0, "bilirubin": 1.2}, DPM)
    assert {ax.get_xlim() for ax in hemo.axes} == {hb.axes[0].get_xlim()}
    bottom = hemo.axes[len(hemo.axes) // 2:]
    assert all(ax.get_xlabel() == "Months from first dose" for ax in bottom)
    assert hemo.axes[0].get_ylabel() == "LDH (\u00d7 ULN)"
    assert hemo.axes[len(hemo.axes) // 2].get_ylabel() == "Bilirubin (mg/dL)"
    plt.close(hb)
    plt.close(hemo)
