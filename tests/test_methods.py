"""The methods text is built from what ran: gating source and file, compensation,
scales, the gate each role resolved to, the QC thresholds as numbers, the display
name of each role; no config key, Python expression or template fragment reaches
it. And the footnotes and captions that describe a table or figure are computed
from its rows."""

from __future__ import annotations

import copy
import re
from pathlib import Path

import pandas as pd
import pytest
import yaml

from aiha.cytometry.labels import DEMO_DISPLAY, display_labels, qc_reason
from aiha.report.cytometry_captions import function_caption
from aiha.report.cytometry_tables import reconciliation_note
from aiha.report.methods import (ConfigValues, cfg_anchor, config_keys_table, cytometry_methods,
                                 gating_sentence, km_ci_words, populations_sentence, qc_sentence)
from aiha.report.model import numbers

ROOT = Path(__file__).resolve().parents[1]
CFG = yaml.safe_load((ROOT / "config.yaml").read_text(encoding="utf-8"))
KEYLIKE = re.compile(r"\b[a-z]+(?:_[a-z]+)*\.[a-z]+_[a-z_]+\b|\bget\(|\{\{|\}\}")
METHOD = {"phenotype": {"populations": {"t_cells": "/Time/Margin/Singlets/Lymphocytes/CD3pos",
                                        "cd38": "/Time/Margin/Singlets/Lymphocytes/CD3pos/CD38pos"},
                        "compensation": ["the file's own spillover matrix ($SPILLOVER keyword)"],
                        "scales": ["linear", "logicle"]},
          "function": {"populations": {"activation": "/T/CD69pos"}, "compensation": [],
                       "scales": ["logicle"]}}


def flowjo_cfg() -> dict:
    cfg = copy.deepcopy(CFG)
    cyto = cfg["cytometry"]
    cyto["gating_source"] = "flowjo"
    cyto["flowjo_workspace"] = {"phenotype": "lab/ph.wsp", "function": "lab/fn.wsp"}
    cyto["populations"] = {"t_cells": "T cells", "cd38": "CD38+", "activation": "CD154+",
                           "divided": "CFSE low",
                           "subsets": {"naive": "N", "central_memory": "CM", "effector_memory": "EM",
                                       "temra": "TEMRA"}}
    return cfg


def test_gatingml_sentence_names_the_files_and_the_spillover():
    text = str(gating_sentence(CFG["cytometry"], METHOD))
    for path in CFG["cytometry"]["gatingml"].values():
        assert path in text
    assert "GatingML 2.0" in text and "FlowJo" not in text
    assert "spillover matrix ($SPILLOVER keyword)" in text and "logicle" in text
    assert "refused" in text  # missing_spillover: refuse


def test_flowjo_sentence_names_the_workspaces_not_gatingml():
    cyto = flowjo_cfg()["cytometry"]
    method = {"phenotype": {"compensation": ["the gating file's compensation matrix \u201cAcq\u201d"],
                            "scales": ["biexponential (FlowJo)"]}}
    text = str(gating_sentence(cyto, method))
    assert "lab/ph.wsp (phenotype tube)" in text and "lab/fn.wsp (function tube)" in text
    assert "GatingML" not in text and "FlowJo 10 workspace" in text
    assert "compensation matrix \u201cAcq\u201d" in text and "biexponential (FlowJo)" in text
    assert "spillover" not in text


def test_populations_sentence_gives_each_role_its_full_gate_path():
    text = populations_sentence(CFG["cytometry"], METHOD)
    assert "CD38+ T cells (phenotype tube): /Time/Margin/Singlets/Lymphocytes/CD3pos/CD38pos" in text
    assert "CD69+ (activated) T cells (function tube): /T/CD69pos" in text
    assert populations_sentence(CFG["cytometry"], {}) == ""


def test_qc_sentence_prints_the_thresholds_as_numbers():
    cyto = copy.deepcopy(CFG["cytometry"])
    cyto["qc"].update(min_events_kept=12500, min_percent_kept=75.5, exclude_flagged=False)
    text = str(qc_sentence(cyto))
    assert "fewer than 12,500 events" in text and "less than 75.5% of the events" in text
    assert "kept in the cytometry statistics" in text


def test_display_labels_demo_panel_lab_mapping_and_own_labels():
    assert display_labels(CFG["cytometry"]["populations"]) == DEMO_DISPLAY
    lab = display_labels(flowjo_cfg()["cytometry"]["populations"])
    assert lab["cd38"] == "CD38+ cells" and lab["activation"] == "CD154+ cells"
    assert lab["stimulus"] == "in-vitro stimulation" and lab["division_dye"] == "the division dye"
    assert "CellTrace Violet" not in lab.values() and "anti-CD3/CD28" not in lab.values()
    own = flowjo_cfg()["cytometry"]["populations"]
    own["labels"] = {"division_dye": "CFSE", "stimulus": "anti-CD3/CD28 beads", "cd38": "CD38+ T cells"}
    lab = display_labels(own)
    assert (lab["division_dye"], lab["stimulus"], lab["cd38"]) == ("CFSE", "anti-CD3/CD28 beads",
                                                                   "CD38+ T cells")


@pytest.mark.parametrize("cfg", [CFG, flowjo_cfg()], ids=["gatingml", "flowjo"])
def test_no_config_key_expression_or_fragment_in_the_cytometry_methods(cfg):
    facts = {"method": METHOD, "gating": {"patient_id": "PT-1", "visit": "baseline", "day": -3},
             "function": {"patients": 2}}
    text = " ".join(map(str, cytometry_methods(cfg, facts)))
    assert not KEYLIKE.search(text), KEYLIKE.search(text)
    assert "the first of the visits" not in text and "in sample-sheet order" not in text
    assert "patient PT-1 at the baseline visit (day \u22123)" in text
    assert "of 2 patients: the first of the sample sheet, at most 4" in text


def test_km_ci_in_words():
    assert km_ci_words({}) == "log(\u2212log) transform (exponential Greenwood, as lifelines)"
    assert km_ci_words({"km_ci_transform": "plain"}).startswith("untransformed")


def test_config_keys_table_lists_key_value_and_where():
    table = config_keys_table(CFG, has_cytometry=True)
    rows = {str(r[0]): r for r in table.rows}
    assert rows["response.pr_rule"][1] == CFG["response"]["pr_rule"]
    assert "score_responses" in rows["response.pr_rule"][2]
    # The thresholds the methods quote one by one have a row each, holding the number.
    assert rows["cytometry.claims.depletion_threshold_percent"][1] == "1"
    assert rows["cleaning.hard_limits.hb_g_dl"][1] == "[2, 25]"
    assert "cytometry.claims" not in rows and "cleaning.hard_limits" not in rows
    assert rows["statistics.ci_level"][1] == "0.95"
    assert "cytometry.gating_source" not in {str(r[0]) for r in config_keys_table(CFG, False).rows}
    # Each row is the target of the links of its key.
    assert table.row_ids == [cfg_anchor(str(r[0])) for r in table.rows]
    assert cfg_anchor("cleaning.hard_limits.hb_g_dl") == "cfg-cleaning-hard_limits-hb_g_dl"


def test_config_keys_of_the_other_gating_source_say_they_were_not_used():
    """Table B6 says which keys govern nothing in the run (the other gating source's
    files, arcsinh constants under logicle), in place of where they are used."""
    gml = copy.deepcopy(CFG)
    gml["cytometry"].update(gating_source="gatingml", transform="logicle",
                            flowjo_workspace={"phenotype": "lab/ph.wsp"})
    where = {str(r[0]): r[2] for r in config_keys_table(gml, True).rows}
    assert where["cytometry.flowjo_workspace"] == (
        "not used in this run: gating_source is gatingml, not flowjo")
    assert all(w.startswith("not used in this run: transform is logicle")
               for k, w in where.items() if k.startswith("cytometry.asinh."))
    assert "GatingML source" in where["cytometry.gatingml"]
    assert "GatingML source" in where["cytometry.transform"]
    gml["cytometry"]["transform"] = "asinh"
    where = {str(r[0]): r[2] for r in config_keys_table(gml, True).rows}
    assert all("arcsinh transform" in w for k, w in where.items() if k.startswith("cytometry.asinh."))
    fj = {str(r[0]): r[2] for r in config_keys_table(flowjo_cfg(), True).rows}
    for key in ("cytometry.gatingml", "cytometry.transform"):
        assert fj[key].startswith("not used in this run: gating_source is flowjo"), key
    assert "FlowJo source" in fj["cytometry.flowjo_workspace"]


def test_each_configured_number_of_the_methods_links_to_the_row_that_holds_it():
    cfg = copy.deepcopy(CFG)
    cfg["cytometry"]["qc"]["min_events_kept"] = 12500
    cfg["cytometry"]["claims"]["depletion_window_days"] = [3, 40]
    table = config_keys_table(cfg, has_cytometry=True)
    held = {rid: [n.value for n in numbers(str(row[1]))] for rid, row in zip(table.row_ids, table.rows)}
    v = ConfigValues(cfg, set(table.row_ids))
    assert v("cleaning.hard_limits.hb_g_dl", 1).segments() == (("25", "cfg-cleaning-hard_limits-hb_g_dl"),)
    assert str(v("statistics.ci_level", fmt="percent")) == "95%"
    assert str(v("report.transfusion_windows_days", (0, 0))) == "\u221284"
    # A key without a row of Table B6 prints unlinked (no link to nowhere).
    assert ConfigValues(cfg, set())("response.cr_hb_g_dl").anchors == []
    facts = {"method": METHOD, "gating": {"patient_id": "PT-1", "visit": "baseline", "day": -3},
             "function": {"patients": 2}}
    paragraphs = cytometry_methods(cfg, facts, v)
    linked = [(text, a) for p in paragraphs for text, a in p.segments() if a]
    assert ("12,500", "cfg-cytometry-qc-min_events_kept") in linked
    assert ("3", "cfg-cytometry-claims-depletion_window_days") in linked
    assert ("40", "cfg-cytometry-claims-depletion_window_days") in linked
    # Every linked number is one number, held by the row it lands on (a percentage may
    # print a proportion); every configured threshold of the QC and claims is linked.
    for text, a in linked:
        (n,) = numbers(text)
        assert any(abs(n.value - h) < 1e-9 or (n.percent and abs(n.value - 100 * h) < 1e-9)
                   for h in held[a]), (text, a)
    anchors = {a for _, a in linked}
    for key in ("min_percent_kept", ):
        assert cfg_anchor(f"cytometry.qc.{key}") in anchors
    for key in ("depletion_threshold_percent", "post_window_days", "subset_shift_pp",
                "function_fold_factor", "reappearance_threshold_percent", "relapse_window_days"):
        assert cfg_anchor(f"cytometry.claims.{key}") in anchors, key
    assert cfg_anchor("cytometry.figures.proliferation_max_patients") in anchors
    # The text reads the same as without links.
    assert [str(p) for p in paragraphs] == [str(p) for p in cytometry_methods(cfg, facts)]


def test_reconciliation_note_is_computed_from_the_rows():
    summary = pd.DataFrame({"gate_type": ["RectangleGate", "PolygonGate", "QuadrantGate"],
                            "populations": [166, 20, 8], "within_tolerance": [103, 12, 8]})
    note = reconciliation_note(summary)
    assert "rectangle: 63 of 166" in note and "polygon: 8 of 20" in note
    assert "quadrant (8 of 8)" in note and "rectangles and quadrants agree" not in note
    agree = reconciliation_note(summary.assign(within_tolerance=summary["populations"]))
    assert "beyond the tolerance" not in agree and "rectangle (166 of 166)" in agree


def _function_facts(excluded: list[str]) -> dict:
    rule = {"label": "x", "marker": "M", "name": "M", "rule": "M \u2265 1"}
    return {"function": {"activation": rule, "divided": rule, "visits": ["Baseline", "Week 4"],
                         "patients": 1, "t_cells": "T cells", "t_cells_short": "T cells",
                         "scales": ["logicle"], "abbreviations": [],
                         "samples": [{"excluded_qc": e} for e in excluded]}}


def test_function_caption_says_which_samples_qc_excluded_and_uses_the_labs_words():
    lab = display_labels(flowjo_cfg()["cytometry"]["populations"])
    used = function_caption(_function_facts(["", ""]), lab)
    assert "the values the cytometry statistics use" in used and "excluded" not in used
    assert "anti-CD3/CD28" not in used and "after in-vitro stimulation" in used
    some = function_caption(_function_facts(["", "8,000 events kept, fewer than 10,000", "x"]),
                            DEMO_DISPLAY)
    assert "2 samples of the 3 drawn were excluded by QC" in some and "anti-CD3/CD28" in some
    assert "CellTrace Violet" in some


def test_qc_reason_words():
    assert qc_reason("low_events_kept;low_percent_kept", 8000, 70.25, 10000, 80) == \
        "8,000 events kept, fewer than 10,000; 70.2% of events kept, below 80%"


def test_without_figure_facts_the_methods_claim_nothing_about_what_was_drawn():
    text = " ".join(map(str, cytometry_methods(CFG, None)))
    assert "is empty" not in text and "of no patients" not in text
    assert "at most 4 patients, the first of the sample sheet" in text
    assert "GatingML 2.0 file" in text and "Compensation" not in text  # not recorded: not claimed
