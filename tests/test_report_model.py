"""aiha.report.model: a printed cell links to the first ARD row it read; the ARD
appendix lists exactly the rows printed; config keys in claim definitions print as
their values."""

from __future__ import annotations

import pandas as pd

from aiha.report.appendix_tables import variant_label, with_config_values
from aiha.report.context import ard_appendix_table
from aiha.report.model import ARD, anchor


def _ard() -> ARD:
    return ARD(pd.DataFrame({
        "stat_id": ["orr", "orr", "n_treated"], "group": ["wAIHA", "wAIHA", "all"],
        "statistic": ["numerator", "denominator", "n"], "value": [6.0, 12.0, 20.0],
        "unit": ["patients"] * 3, "rule": ["clinical_statistics"] * 3,
        "script": ["s.py"] * 3, "inputs_sha256": ["ab" * 32] * 3}))


def test_cell_links_first_row_read_and_appendix_lists_rows_printed() -> None:
    ard = _ard()
    cell = ard.cell(lambda: f"{ard.get('orr', 'wAIHA', 'numerator'):g}/"
                            f"{ard.get('orr', 'wAIHA', 'denominator'):g}")
    assert cell.text == "6/12"
    assert cell.link == anchor(("orr", "wAIHA", "numerator"))
    assert ard.cell(lambda: "\u2014").link == ""  # nothing read, nothing linked
    table = ard_appendix_table(ard)
    assert set(table.row_ids) == {anchor(("orr", "wAIHA", "denominator")),
                                  anchor(("orr", "wAIHA", "numerator"))}
    assert len(table.rows) == 2  # n_treated was never printed
    assert {str(r[0]) for r in table.rows} == {"orr"}


def test_claim_definitions_print_config_values() -> None:
    cfg = {"cytometry": {"claims": {"depletion_threshold_percent": 1.0,
                                    "depletion_window_days": [1, 42]}}}
    cell = with_config_values("below cytometry.claims.depletion_threshold_percent within "
                              "cytometry.claims.depletion_window_days", cfg)
    text = "".join(t for t, _ in cell.parts)
    assert text.startswith("below 1% (cytometry.claims.depletion_threshold_percent)")
    assert "within 1\u201342 days (cytometry.claims.depletion_window_days)" in text
    assert [t for t, code in cell.parts if code] == [
        "cytometry.claims.depletion_threshold_percent", "cytometry.claims.depletion_window_days"]


def test_variant_labels_are_words() -> None:
    assert variant_label("statistics.dor_median_method = km") == \
        "median duration reported: Kaplan-Meier"
    assert variant_label("as configured") == "Primary analysis (as configured)"
    assert "_" not in variant_label("response.some_new_key = a_value")
