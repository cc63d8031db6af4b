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
from aiha.report import ARD, figure_inputs, write_figures

ROOT = Path(__file__).resolve().parents[1]
FIXTURE = ROOT / "tests/data/report/results"
NAMES = ["swimmer", "hb_trajectories", "km_dor", "hemolysis"]


@pytest.fixture(scope="module")
def cfg() -> dict:
    return yaml.safe_load((ROOT / "config.yaml").read_text(encoding="utf-8"))


def _render(out: Path, cfg: dict) -> dict[str, bytes]:
    outputs = {k: out / f"{k}.svg" for k in NAMES}
    write_figures(figure_inputs(FIXTURE), cfg, outputs)
    return {k: p.read_bytes() for k, p in outputs.items()}


def test_svg_byte_identical_on_rerender(tmp_path: Path, cfg: dict) -> None:
    first = _render(tmp_path / "a", cfg)
    second = _render(tmp_path / "b", cfg)
    assert first == second


def test_svg_byte_identical_across_processes(tmp_path: Path, cfg: dict) -> None:
    here = _render(tmp_path / "a", cfg)
    code = (
        "import sys, yaml; from pathlib import Path;"
        "from aiha.report import figure_inputs, write_figures;"
        f"out = Path({str(tmp_path / 'b')!r});"
        f"cfg = yaml.safe_load(open({str(ROOT / 'config.yaml')!r}));"
        f"write_figures(figure_inputs(Path({str(FIXTURE)!r})), cfg,"
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
    assert "Patient (pseudonym)" in svg["swimmer"]
    for label in ("Daratumumab dose", "Response date", "Relapse", "Last follow-up",
                  "Response ongoing at cut-off", "wAIHA", "cAIHA (anemic)"):
        assert label in svg["swimmer"], label
    assert "Hemoglobin (g/dL)" in svg["hb_trajectories"]
    assert "Day from first dose" in svg["hb_trajectories"]
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
