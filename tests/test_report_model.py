"""aiha.report.model: a printed cell links to the first ARD row it read; the ARD
appendix lists exactly the rows printed; config keys in claim definitions print as
their values."""

from __future__ import annotations

import math

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
    # The values in force, in words; no key reaches the body (keys: Table B6 only).
    assert text == "below 1% within 1\u201342 days"
    assert not [t for t, code in cell.parts if code]


def test_variant_labels_are_words() -> None:
    assert variant_label("statistics.dor_median_method = km") == \
        "median duration reported: Kaplan-Meier"
    assert variant_label("as configured") == "Primary analysis (as configured)"
    assert "_" not in variant_label("response.some_new_key = a_value")


# ------------------------------------------------------- Table 1: prior therapies


def _baseline(prior: dict[str, dict[str, float]]) -> tuple[ARD, object]:
    """Table 1 from an ARD of two groups (wAIHA 3, cAIHA 1 patients) plus the
    ``baseline_prior_therapy`` rows given as group -> {statistic: value}."""
    from aiha.report.clinical_tables import baseline_table
    from aiha.report.model import Fmt

    rows = []
    for g, n in (("wAIHA", 3), ("cAIHA", 1), ("cAIHA_nonanemic", 0), ("all", 4)):
        rows += [("n_treated", g, "n", n), ("sex_female", g, "n", 1),
                 ("sex_female", g, "proportion", 1 / n if n else float("nan"))]
    rows += [("baseline_prior_therapy", g, stat, v) for g, stats in prior.items()
             for stat, v in stats.items()]
    frame = pd.DataFrame(rows, columns=["stat_id", "group", "statistic", "value"]).assign(
        unit="patients", rule="clinical_content", script="s.py", inputs_sha256="ab" * 32)
    ard = ARD(frame)
    return ard, baseline_table(ard, Fmt())


def _row(table, label: str) -> list:
    rows = [r for r in table.rows if str(r[0]) == label]
    assert len(rows) == 1, [str(r[0]) for r in table.rows]
    return rows[0]


def _prior(denominators: dict[str, int], counts: dict[str, dict[str, int]]) -> dict:
    out: dict[str, dict[str, float]] = {}
    for g, n in denominators.items():
        out[g] = {"denominator": n}
        for key, k in counts[g].items():
            out[g][f"{key}: n"] = k
            out[g][f"{key}: proportion"] = k / n if n else float("nan")
    return out


def test_prior_therapy_rows_read_n_percent_and_link_to_their_rows() -> None:
    counts = {"wAIHA": {"corticosteroids": 3, "ivig": 1, "none": 0},
              "cAIHA": {"corticosteroids": 1, "ivig": 0, "none": 0},
              "all": {"corticosteroids": 4, "ivig": 1, "none": 0}}
    ard, table = _baseline(_prior({"wAIHA": 3, "cAIHA": 1, "all": 4}, counts))
    # Columns: wAIHA, cAIHA (anemic), all treated (the empty group has no column).
    steroids = _row(table, "Prior corticosteroids, n (%)")
    assert [str(c) for c in steroids[1:]] == ["3 (100.0%)", "1 (100.0%)", "4 (100.0%)"]
    assert steroids[1].link == anchor(("baseline_prior_therapy", "wAIHA", "corticosteroids: n"))
    ivig = _row(table, "Prior IVIG, n (%)")
    assert [str(c) for c in ivig[1:]] == ["1 (33.3%)", "0", "1 (25.0%)"]
    # Rows follow the vocabulary, right after the treatment lines; no "none" row here.
    labels = [str(r[0]) for r in table.rows]
    i = labels.index("Prior AIHA treatment lines, median (range)")
    assert labels[i + 1:i + 3] == ["Prior corticosteroids, n (%)", "Prior IVIG, n (%)"]
    assert not any(label.startswith("No prior") for label in labels)
    assert "IVIG: intravenous immunoglobulin" in table.note
    assert "baseline_prior_therapy" in table.stat_ids


def test_prior_therapy_rows_of_a_partly_recorded_cohort() -> None:
    # The cAIHA patient's site does not list prior therapies; one wAIHA patient has
    # an empty list.
    counts = {"wAIHA": {"rituximab": 1, "none": 1}, "cAIHA": {"rituximab": 0, "none": 0},
              "all": {"rituximab": 1, "none": 1}}
    _, table = _baseline(_prior({"wAIHA": 2, "cAIHA": 0, "all": 2}, counts))
    assert [str(c) for c in _row(table, "Prior rituximab, n/N (%)")[1:]] == [
        "1/2 (50.0%)", "not recorded", "1/2 (50.0%)"]
    assert [str(c) for c in _row(table, "No prior AIHA therapy, n/N (%)")[1:]] == [
        "1/2 (50.0%)", "not recorded", "1/2 (50.0%)"]
    assert "N: patients whose site lists prior therapies" in table.note


def test_no_prior_therapy_rows_without_the_statistic() -> None:
    _, table = _baseline({})
    labels = [str(r[0]) for r in table.rows]
    assert [x for x in labels if x.startswith(("Prior", "No prior"))] == [
        "Prior AIHA treatment lines, median (range)"]
    assert "Prior therapies" not in table.note


# ------------------------------------------- every printed number to its own row
def _frame(rows: list[tuple[str, str, str, float]]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=["stat_id", "group", "statistic", "value"]).assign(
        unit="patients", rule="r", script="s.py", inputs_sha256="ab" * 32)


def test_an_n_of_N_cell_links_numerator_denominator_and_proportion() -> None:
    from aiha import formatting as F

    ard = ARD(_frame([("orr", "wAIHA", "numerator", 4), ("orr", "wAIHA", "denominator", 6),
                      ("orr", "wAIHA", "proportion", 4 / 6), ("nr", "wAIHA", "numerator", 1),
                      ("nr", "wAIHA", "denominator", 3)]))

    def n_of_N(stat: str) -> str:
        k, n = ard.get(stat, "wAIHA", "numerator"), ard.get(stat, "wAIHA", "denominator")
        ard.ratio(stat, "wAIHA")
        return F.fmt_n_of_N(k, n, 1)

    cell = ard.cell(lambda: n_of_N("orr"))
    assert [(t, a) for t, a in cell.segments() if a] == [
        ("4", anchor(("orr", "wAIHA", "numerator"))),
        ("6", anchor(("orr", "wAIHA", "denominator"))),
        ("66.7%", anchor(("orr", "wAIHA", "proportion")))]
    # No proportion row in a part of the ARD: the statistics stage adds it
    # (aiha.ard.count_proportions, rule assemble_ard), and the percentage lands on it.
    from aiha.ard import count_proportions

    extra = count_proportions(ard.frame, "assemble_ard", "workflow/scripts/assemble_ard.py", "d")
    assert [tuple(r) for r in extra[["stat_id", "group", "statistic"]].values] == [
        ("nr", "wAIHA", "proportion")]
    assert extra["value"].iloc[0] == 1 / 3
    ard = ARD(pd.concat([ard.frame, extra], ignore_index=True))
    cell = ard.cell(lambda: n_of_N("nr"))
    prop = ("nr", "wAIHA", "proportion")
    assert cell.anchors[-1] == anchor(prop) and str(cell) == "1/3 (33.3%)"
    table = ard_appendix_table(ard, {anchor(prop): [("4", "tbl-response")]})
    row = table.rows[table.row_ids.index(anchor(prop))]
    assert str(row[3]) == "0.333333" and row[-1].links == (("4", "tbl-response"),)
    # A zero denominator: the proportion is undefined, not a division error.
    zero = count_proportions(_frame([("z", "all", "n", 0), ("z", "all", "denominator", 0)]),
                             "r", "s", "d")
    assert math.isnan(zero["value"].iloc[0])


def test_ranges_lists_and_labels() -> None:
    ard = ARD(_frame([("dor", "all", "min", 2), ("dor", "all", "max", 12),
                      ("ae", "all", "n", 7), ("ae", "all", "grade_3", 3),
                      ("ae", "all", "grade_2", 3), ("ae", "all", "grade_1", 1)]))
    cell = ard.cell(lambda: f"{ard.get('dor', 'all', 'min'):g}\u2013"
                            f"{ard.get('dor', 'all', 'max'):g} months")
    assert cell.anchors == [anchor(("dor", "all", "min")), anchor(("dor", "all", "max"))]
    # "grade 3" is a label: each count links to its own grade's row, not the total.
    cell = ard.cell(lambda: "{:g} events: {:g} grade 3, {:g} grade 2, {:g} grade 1".format(
        *(ard.get("ae", "all", s) for s in ("n", "grade_3", "grade_2", "grade_1"))))
    assert [(t, a) for t, a in cell.segments() if a] == [
        ("7", anchor(("ae", "all", "n"))), ("3", anchor(("ae", "all", "grade_3"))),
        ("3", anchor(("ae", "all", "grade_2"))), ("1", anchor(("ae", "all", "grade_1")))]
    # A number no row read holds is not linked (never to a wrong row).
    cell = ard.cell(lambda: f"{ard.get('dor', 'all', 'min'):g} of 95% CI 40.0")
    assert cell.anchors == [anchor(("dor", "all", "min"))]


def test_appendix_rows_link_back_to_the_tables_that_print_them() -> None:
    from aiha.report.model import Table, printed_in

    ard = _ard()
    header = ["Outcome", ard.cell(lambda: f"n = {ard.get('n_treated', 'all', 'n'):g}")]
    rows = [["ORR", ard.cell(lambda: f"{ard.get('orr', 'wAIHA', 'numerator'):g}")]]
    t = Table("response", "Table 4. Response", header, rows)
    places = printed_in({"response": t}, [("cover", "cover", [header[1]])])
    appendix = ard_appendix_table(ard, places)
    back = {i: str(r[-1]) for i, r in zip(appendix.row_ids, appendix.rows)}
    assert back[anchor(("n_treated", "all", "n"))] == "4, cover"
    assert back[anchor(("orr", "wAIHA", "numerator"))] == "4"
    assert all(a in ("tbl-response", "cover") for r in appendix.rows for a in r[-1].anchors)
