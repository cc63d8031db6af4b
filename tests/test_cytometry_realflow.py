"""Real files no one here wrote: FlowJo-saved workspaces with their FCS files,
instrument files, and every cytometry failure as an InputError naming file,
sample and population.

Expected counts are the counts FlowJo itself stored in each workspace (and the
shared README's list of them), never the pipeline's output."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from aiha.cytometry import claims, demo, gating, reconcile
from aiha.errors import InputError

REAL = Path("/work/shared/real-flow")
FK = REAL / "flowkit"
pytestmark = pytest.mark.skipif(not FK.is_dir(), reason=f"real flow data not found at {REAL}")
DIAMOND = FK / "simple_diamond_example"
LINE = FK / "simple_line_example"
SETTINGS = {"gating_source": "flowjo", "transform": "logicle", "asinh": None, "gate_in_linear_units": False,
            "qc": {"kept_population": "upper_right", "min_events_kept": 0, "min_percent_kept": 0}}


# ------------------------------------------------------------ reconciliation
@pytest.mark.parametrize("wsp,fcs,expected", [
    (DIAMOND / "simple_diamond_example_quad_gate.wsp", DIAMOND / "test_data_diamond_01.fcs",
     {"Q1: channel_A- , channel_B+": 49671, "Q2: channel_A+ , channel_B+": 50596,
      "Q3: channel_A+ , channel_B-": 50330, "Q4: channel_A- , channel_B-": 49403}),
    (DIAMOND / "test_data_diamond_biex_rect.wsp", DIAMOND / "test_data_diamond_01.fcs", {"upper_right": 50605}),
    (DIAMOND / "test_data_diamond_asinh_rect.wsp", DIAMOND / "test_data_diamond_01.fcs", {"upper_right": 50559}),
    (DIAMOND / "test_data_diamond_asinh_rect2.wsp", DIAMOND / "test_data_diamond_01.fcs", {"upper_right": 50699}),
    (LINE / "single_ellipse_51_events.wsp", LINE / "data_set_simple_line_100.fcs", {"ellipse1": 51}),
])
def test_reconciliation_with_flowjo_saved_workspaces(wsp: Path, fcs: Path, expected: dict[str, int]):
    stored = reconcile.flowjo_counts(wsp)
    assert dict(zip(stored["gate_path"], stored["flowjo_count"])) == expected  # FlowJo's numbers, read back
    table, _ = gating.gate_file(fcs, "S1", flowjo_workspace=wsp)
    rec = reconcile.reconcile(table, {"S1": (str(wsp), fcs.name)}, tolerance_percent=0.5)
    assert list(rec.columns) == reconcile.RECONCILIATION_COLUMNS
    assert dict(zip(rec["gate_path"], rec["pipeline_count"])) == expected
    assert (rec["difference"] == 0).all() and rec["within_tolerance"].all()
    assert set(rec["gate_type"]) <= {"rectangle", "ellipsoid"}


def test_reconciliation_flags_a_difference_beyond_tolerance():
    # FlowJo stored 0 for poly1 in this workspace (not re-analysed); FlowKit's test expects 50
    wsp, fcs = LINE / "simple_poly_and_rect_v2_poly50.wsp", LINE / "data_set_simple_line_100.fcs"
    table, _ = gating.gate_file(fcs, "S1", flowjo_workspace=wsp)
    rec = reconcile.reconcile(table, {"S1": (str(wsp), fcs.name)}, 1.0).set_index("gate_path")
    assert rec.loc["poly1", "gate_type"] == "polygon"
    assert (rec.loc["poly1", "flowjo_count"], rec.loc["poly1", "pipeline_count"]) == (0, 50)
    assert not rec.loc["poly1", "within_tolerance"]
    summ = reconcile.summary(reconcile.reconcile(table, {"S1": (str(wsp), fcs.name)}, 1.0))
    assert set(summ["gate_type"]) == {"polygon", "rectangle"}


def test_renamed_file_found_by_workspace_sample(tmp_path: Path):
    renamed = tmp_path / "P01_baseline.fcs"
    shutil.copyfile(DIAMOND / "test_data_diamond_01.fcs", renamed)
    wsp = DIAMOND / "test_data_diamond_biex_rect.wsp"
    with pytest.raises(InputError) as err:
        gating.gate_file(renamed, "S1", flowjo_workspace=wsp)
    assert err.value.value == "P01_baseline.fcs" and str(renamed) in err.value.message
    pops, qc = gating.gate_samples([{"sample_id": "S1", "fcs": str(renamed), "gating": str(wsp),
                                     "tube": "phenotype", "workspace_sample": "test_data_diamond_01.fcs"}],
                                   SETTINGS)
    assert pops.set_index("population").loc["upper_right", "count"] == 50605
    assert qc.loc[0, "events_kept"] == 50605


# ------------------------------------------------------------ InputErrors
def test_workspace_sample_without_gates_is_an_input_error(tmp_path: Path):
    wsp = FK / "8_color_data_set" / "8_color_ICS_sample_without_gates.wsp"
    with pytest.raises(InputError) as err:
        gating.load_flowjo(wsp, tmp_path / "101_DEN084Y5_15_E05_010_clean.fcs")
    assert err.value.file == str(wsp) and err.value.value == "101_DEN084Y5_15_E05_010_clean.fcs"
    assert "no gates" in err.value.message


def test_missing_qc_population_names_file_sample_and_population():
    wsp, fcs = DIAMOND / "test_data_diamond_biex_rect.wsp", DIAMOND / "test_data_diamond_01.fcs"
    settings = {**SETTINGS, "qc": {**SETTINGS["qc"], "kept_population": "Live cells"}}
    with pytest.raises(InputError) as err:
        gating.gate_samples([("E01", str(fcs), str(wsp))], settings)
    e = err.value
    assert e.file == str(wsp) and e.value == "Live cells" and e.column == "population"
    assert "E01" in e.message and str(fcs) in e.message and "0 times" in e.message


def test_claim_population_checked_at_gating_and_found_by_path():
    wsp, fcs = DIAMOND / "simple_diamond_example_quad_gate.wsp", DIAMOND / "test_data_diamond_01.fcs"
    settings = {**SETTINGS, "qc": {**SETTINGS["qc"], "kept_population": "/Q2: channel_A+ , channel_B+"},
                "tube_populations": {"phenotype": {"cd38": "CD38pos"}}}
    with pytest.raises(InputError) as err:
        gating.gate_samples([("E01", str(fcs), str(wsp), "phenotype")], settings)
    assert err.value.value == "CD38pos" and "E01" in err.value.message and "cd38" in err.value.message
    settings["tube_populations"] = {"phenotype": {"cd38": "Q1: channel_A- , channel_B+"}}
    _, qc = gating.gate_samples([("E01", str(fcs), str(wsp), "phenotype")], settings)
    assert qc.loc[0, "events_kept"] == 50596


def _tree(sample_id: str, counts: dict[str, int]) -> pd.DataFrame:
    rows = [{"sample_id": sample_id, "patient_id": "P1", "visit": "v", "day": 0, "tube": "phenotype",
             "population": p.split("/")[-1], "gate_path": p, "parent": "", "count": c,
             "percent_of_parent": 0.0} for p, c in counts.items()]
    return pd.DataFrame(rows)


def test_ambiguous_leaf_lists_full_paths_and_path_resolves():
    pops = _tree("E01", {"Live": 1000, "Live/CD3+": 500, "Live/CD3+/CD4+": 300, "Live/CD3+/CD8+": 150,
                         "Live/CD3+/CD4+/IFNg+": 30, "Live/CD3+/CD8+/IFNg+": 45})
    with pytest.raises(InputError) as err:
        claims.percent_of_t(pops, "IFNg+", "CD3+", "phenotype", "populations.tsv")
    msg = err.value.message
    assert "/Live/CD3+/CD4+/IFNg+" in msg and "/Live/CD3+/CD8+/IFNg+" in msg and "E01" in msg
    assert err.value.value == "IFNg+" and err.value.file == "populations.tsv"
    for spec in ("CD8+/IFNg+", "/Live/CD3+/CD8+/IFNg+"):
        got = claims.percent_of_t(pops, spec, "CD3+", "phenotype")
        assert got.loc[0, "percent"] == pytest.approx(100 * 45 / 500)
    with pytest.raises(InputError) as err:
        claims.percent_of_t(pops, "CD38pos", "CD3+", "phenotype", "populations.tsv")
    assert "0 times" in err.value.message and "E01" in err.value.message


def test_schema_accepts_flowjo_names_and_paths():
    import yaml
    from jsonschema import Draft202012Validator

    schema = yaml.safe_load((Path(__file__).resolve().parents[1] / "workflow/schemas/cytometry.schema.yaml")
                            .read_text())
    pop = {**schema["$defs"]["population"]}
    ok = Draft202012Validator(pop)
    for name in ("CD3+", "T cells", "CD4+/IFNg+", "/Lymphocytes/CD3+", "."):
        assert ok.is_valid(name), name
    for name in ("", "a//b", "CD3+/"):
        assert not ok.is_valid(name), name


# ------------------------------------------------------------ FCS reading
def test_tot_disagreeing_with_data_segment_is_refused(tmp_path: Path):
    rng = np.random.default_rng(1)
    data = demo.fcs_bytes(demo.simulate_events("phenotype", demo.visit_biology(-3, None, 0), 1000, rng),
                          "phenotype", {})
    assert b"$TOT/1000/" in data
    for bad_tot in (b"999 ", b"1001"):
        bad = tmp_path / f"tot{bad_tot.strip().decode()}.fcs"
        bad.write_bytes(data.replace(b"$TOT/1000/", b"$TOT/" + bad_tot.strip().ljust(4) + b"/"))
        with pytest.raises(InputError) as err:
            gating.read_sample(bad, {}, "bad")
        assert err.value.file == str(bad) and err.value.column == "$TOT"


def test_off_by_one_offset_needs_the_option(tmp_path: Path, capsys):
    fcs = REAL / "instruments" / "MiltenyiBiotec_EY_2013-07-19_PBS_FCS_3.1_Well_A1.001.fcs"
    with pytest.raises(InputError) as err:
        gating.read_sample(fcs, {}, "m")
    assert "fcs_ignore_offset_error" in err.value.message
    sample = gating.read_sample(fcs, {}, "m", ignore_offset_error=True)
    assert sample.event_count == int(sample.get_metadata()["tot"]) > 0
    assert "off by one" in capsys.readouterr().err


def test_panel_mapping_by_pns_and_by_pnn():
    fcs = REAL / "instruments" / "FACS_Diva_facs_diva_test.fcs"  # FITC-A = CD20, PE-A = CD10
    sample = gating.read_sample(fcs, {"B cells": False, "CD10": False}, "d",
                                panel={"CD20": "B cells"})
    assert sample.pns_labels[sample.pnn_labels.index("FITC-A")] == "B cells"
    with pytest.raises(InputError) as err:
        gating.read_sample(fcs, {"CD56": False}, "d")
    assert err.value.column == "CD56" and "cytometry.panel" in err.value.message
    sample = gating.read_sample(fcs, {"CD56": False}, "d", panel={"PE-A": "CD56"})
    assert sample.pns_labels[sample.pnn_labels.index("PE-A")] == "CD56"
