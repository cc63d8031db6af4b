"""Appendix D is compact (issue 26, item 7): Table D1 prints the rows the body links
to without the digest columns, each row under the anchor the body's numbers link to
and with its back links; the rule, script and input digest of every ARD row are in
the listings document ("ARD rows with their provenance"); identifiers in code type
break only after an underscore, never inside a word, and nothing is hyphenated.

Small inputs: the fixture results of tests/data/report/ and an ARD built here; the
PDF checks render a page of D1 and one of the listing with the report's stylesheet.
"""

from __future__ import annotations

import copy
import hashlib
import html
import json
import re
from pathlib import Path

import pandas as pd
import pdfplumber
import pytest
import yaml

from aiha.ard import read_ard, read_text_tsv
from aiha.report.context import (ard_appendix_table, build_context, build_listings_context,
                                 jinja_env)
from aiha.report.model import ARD, GROUP_LABELS, Cell, Table
from aiha.report.render import render_pdf, stage_assets

ROOT = Path(__file__).resolve().parents[1]
FIXTURE = ROOT / "tests/data/report/results"
D1_HEADER = ["Statistic", "Group", "Measure", "Value", "Unit", "Printed in (table)"]
PT_A, PT_B = "PT-00000000000000AA", "PT-00000000000000BB"


def ard_anchor(key: tuple[str, str, str]) -> str:
    """Written here, not the report's: ``ard-`` and 16 hex digits of the key's SHA-256."""
    return "ard-" + hashlib.sha256("\x1f".join(key).encode("utf-8")).hexdigest()[:16]


@pytest.fixture(scope="module")
def cfg() -> dict:
    return yaml.safe_load((ROOT / "config.yaml").read_text(encoding="utf-8"))


def fixture_tables() -> dict:
    out = {k: read_text_tsv(FIXTURE / p) for k, p in {
        "cleaning_log": "clinical/cleaning_log.tsv",
        "cleaning_summary": "stats/cleaning_summary.tsv", "sensitivity": "sensitivity/summary.tsv",
        "cytometry_qc": "cytometry/qc.tsv", "audit": "audit/claims.tsv",
        "responses": "response/responses.tsv", "patients": "clinical/patients.tsv",
        "labs": "clinical/labs.tsv", "adverse_events": "clinical/adverse_events.tsv",
        "key_statistics": "sensitivity/key_statistics.tsv"}.items()}
    out["ard"] = read_ard(FIXTURE / "ard/ard.tsv")
    return out


@pytest.fixture(scope="module")
def context(cfg: dict) -> dict:
    provenance = json.loads((FIXTURE / "provenance.json").read_text(encoding="utf-8"))
    return build_context(fixture_tables(), cfg, provenance)


def small_ard() -> pd.DataFrame:
    """Rows of three rules, each with its own script and digest; two patients' own
    cytometry rows; identifiers with underscores and digits."""
    rules = {"clinical_statistics": ("workflow/scripts/clinical_statistics.py", "1a" * 32),
             "assemble_ard": ("workflow/scripts/assemble_ard.py", "2b" * 32),
             "cytometry_claims": ("workflow/scripts/cytometry_claims.py", "3c" * 32)}
    rows = [("orr", "wAIHA", "numerator", 6.0, "patients", "clinical_statistics"),
            ("orr", "wAIHA", "denominator", 12.0, "patients", "clinical_statistics"),
            ("orr", "wAIHA", "proportion", 0.5, "proportion", "assemble_ard"),
            ("dor_median_crude", "cAIHA_nonanemic", "value", 5.25, "months",
             "clinical_statistics"),
            ("km_landmark", "all", "month_12_ci_lower", 0.123456789, "proportion",
             "clinical_statistics"),
            ("resp_by_evansfl", "cAIHA", "Y: numerator", 2.0, "patients", "clinical_statistics"),
            ("flow_n", "all", "n", 2.0, "patients", "cytometry_claims")]
    rows += [("flow_depletion", pt, stat, v, "%", "cytometry_claims")
             for pt in (PT_B, PT_A) for stat, v in (("baseline_percent", 40.0),
                                                   ("nadir_percent", 0.5))]
    frame = pd.DataFrame(rows, columns=["stat_id", "group", "statistic", "value", "unit", "rule"])
    frame["script"] = frame["rule"].map(lambda r: rules[r][0])
    frame["inputs_sha256"] = frame["rule"].map(lambda r: rules[r][1])
    return frame


def listing_tables(ard: pd.DataFrame, cfg: dict) -> dict[str, Table]:
    """The listings' tables from the fixture's and ``ard`` (without cytometry QC: the
    per-patient cytometry tables need the whole set of flow rows)."""
    base = {k: v for k, v in fixture_tables().items() if k != "cytometry_qc"}
    return build_listings_context({**base, "ard": ard}, cfg)["tables"]


def code_spans(fragment: str) -> list[str]:
    """The contents of the <code> elements of the table (not of its source line)."""
    table = fragment[fragment.index("<table"):fragment.index("</table>")]
    return re.findall(r"<code>(.*?)</code>", table, re.S)


def table_html(table: Table) -> str:
    return jinja_env(ROOT / "resources/report").from_string(
        '{% import "_macros.html.j2" as m %}{{ m.table(t) }}').render(t=table)


# --------------------------------------------------------------------------- Table D1
def test_d1_has_no_digest_columns(context: dict) -> None:
    d1 = context["tables"]["ard_rows"]
    assert d1.header == D1_HEADER
    assert all(len(row) == len(D1_HEADER) for row in d1.rows) and d1.rows
    ard = read_ard(FIXTURE / "ard/ard.tsv")
    provenance = set(ard["rule"]) | set(ard["script"]) | {d[:12] for d in ard["inputs_sha256"]}
    assert not [str(c) for row in d1.rows for c in row if str(c) in provenance]
    # The note says where the provenance went: Table B4 (per rule), the listings (per row).
    assert context["tables"]["provenance"].caption.startswith("Table B4. ")
    assert "Table B4" in d1.note and "study_listings.pdf" in d1.note
    assert "ARD rows with their provenance" in d1.note
    assert "rule" not in d1.caption.lower()


def test_d1_rows_keep_their_anchors_and_back_links(context: dict) -> None:
    """Each D1 row sits under the id its numbers link to (recomputed here from the
    ARD row it prints), every link of the body lands on a D1 row, and each D1 row
    links back to every table that links to it."""
    t = context["tables"]
    d1 = t["ard_rows"]
    ard = read_ard(FIXTURE / "ard/ard.tsv")
    by_anchor = {ard_anchor(k): k for k in
                 ard[["stat_id", "group", "statistic"]].itertuples(index=False, name=None)}
    assert len(d1.row_ids) == len(d1.rows) == len(set(d1.row_ids))
    for row_id, row in zip(d1.row_ids, d1.rows):
        stat_id, group, statistic = by_anchor[row_id]
        assert [str(row[0]), str(row[1]), str(row[2])] == [
            stat_id, GROUP_LABELS.get(group, group), statistic]
    rows = dict(zip(d1.row_ids, d1.rows))
    linked = 0
    for key, table in t.items():
        if key in ("ard_rows", "result_rows"):
            continue
        for row in [table.header, *table.rows]:
            for c in row:
                for a in getattr(c, "anchors", []):
                    if a.startswith("ard-"):
                        linked += 1
                        assert a in rows, (key, a)
                        assert f"tbl-{table.key}" in rows[a][-1].anchors, (key, a)
    assert linked > 100
    # In the HTML: one <tr id=...> per row, in order; the back links are links.
    fragment = table_html(d1)
    assert re.findall(r'<tr id="(ard-[0-9a-f]{16})">', fragment) == d1.row_ids
    assert 'href="#tbl-' in fragment


def test_d1_of_a_small_ard() -> None:
    ard = ARD(small_ard())
    cell = ard.cell(lambda: f"{ard.get('km_landmark', 'all', 'month_12_ci_lower'):.3f}")
    d1 = ard_appendix_table(ard, {cell.link: [("4", "tbl-response")]})
    assert d1.header == D1_HEADER
    assert d1.row_ids == [ard_anchor(("km_landmark", "all", "month_12_ci_lower"))]
    assert [str(c) for c in d1.rows[0]] == ["km_landmark", "All treated", "month_12_ci_lower",
                                           "0.123457", "proportion", "4"]
    assert d1.rows[0][-1].links == (("4", "tbl-response"),)


# ------------------------------------------------------------------ break opportunities
def assert_breaks_only_after_underscores(fragment: str, texts: set[str]) -> int:
    """Each identifier in code type: the text, escaped, with a <wbr> after each
    underscore and nowhere else. Returns how many carry one."""
    spans = code_spans(fragment)
    assert spans
    with_break = 0
    for span in spans:
        plain = span.replace("<wbr>", "")
        assert html.unescape(plain) in texts, span
        assert span == plain.replace("_", "_<wbr>"), span
        with_break += "<wbr>" in span
    return with_break


def test_code_cells_break_only_after_underscores(context: dict, cfg: dict) -> None:
    t = context["tables"]
    for key in ("ard_rows", "result_rows"):
        cells = {str(c) for row in t[key].rows for c in row}
        assert assert_breaks_only_after_underscores(table_html(t[key]), cells) > 10, key
    listing = listing_tables(small_ard(), cfg)
    for key in ("ard_provenance", "ard_provenance_patients"):
        cells = {str(c) for row in listing[key].rows for c in row}
        assert assert_breaks_only_after_underscores(table_html(listing[key]), cells) > 3, key
    # An identifier with markup characters stays escaped text.
    risky = Table("x", "Table D1. x", ["Statistic", "Value"],
                  [[Cell("a_<b>&c", code=True), "1"]],
                  css_class="listing ard wbr")
    assert code_spans(table_html(risky)) == ["a_<wbr>&lt;b&gt;&amp;c"]
    # The other tables are set as before: no break opportunity inserted.
    for key in ("flow_ard", "provenance", "baseline", "config_keys"):
        assert "<wbr>" not in table_html(t[key]), key


# --------------------------------------------------------------------------- listings
def test_listing_gives_rule_script_and_digest_of_every_row(cfg: dict) -> None:
    ard = small_ard()
    # Without cytometry (no cytometry_qc) the listing is there all the same.
    t = listing_tables(ard, cfg)
    assert "flow_ard_patients" not in t
    rows = t["ard_provenance"]
    assert rows.header == ["Statistic", "Group", "Measure", "Value", "Unit", "Rule", "Script",
                           "Inputs SHA-256 (first 12)"]
    assert not rows.row_ids and not rows.linked  # the ids of the listings are elsewhere
    study = ard[~ard["group"].str.startswith("PT-")].sort_values(
        ["stat_id", "group", "statistic"])
    assert [[str(c) for j, c in enumerate(row) if j != 3] for row in rows.rows] == [
        [r.stat_id, GROUP_LABELS.get(r.group, r.group), r.statistic, r.unit, r.rule,
         r.script, r.inputs_sha256[:12]] for r in study.itertuples()]
    values = {(str(row[0]), str(row[2])): str(row[3]) for row in rows.rows}
    assert values[("orr", "proportion")] == "0.500000"
    assert values[("km_landmark", "month_12_ci_lower")] == "0.123457"
    assert values[("orr", "numerator")] == "6"
    # Each patient's own rows: one line per statistic and measure, with their count.
    per = t["ard_provenance_patients"]
    assert [[str(c) for c in row] for row in per.rows] == [
        ["flow_depletion", stat, "2", "cytometry_claims",
         "workflow/scripts/cytometry_claims.py", "3c" * 6]
        for stat in ("baseline_percent", "nadir_percent")]
    # Every ARD row's provenance is in one of the two tables.
    listed = {(str(r[0]), str(r[2]), str(r[5]), str(r[6]), str(r[7])) for r in rows.rows} | \
             {(str(r[0]), str(r[1]), str(r[3]), str(r[4]), str(r[5])) for r in per.rows}
    for r in ard.itertuples():
        assert (r.stat_id, r.statistic, r.rule, r.script, r.inputs_sha256[:12]) in listed


def test_listing_without_patient_rows_and_with_cytometry(cfg: dict) -> None:
    t = listing_tables(small_ard().iloc[:7], cfg)
    assert len(t["ard_provenance"].rows) == 7 and "ard_provenance_patients" not in t
    assert "patient" not in t["ard_provenance"].note
    # The fixture's own ARD: the cytometry tables keep their ids, the listing adds none.
    t = build_listings_context(fixture_tables(), cfg)["tables"]
    ids = [i for table in t.values() for i in table.row_ids]
    assert ids and len(ids) == len(set(ids))


def test_render_listings_always_reads_the_ard() -> None:
    rules = (ROOT / "workflow/rules/report.smk").read_text(encoding="utf-8")
    block = rules[rules.index("rule render_listings:"):]
    block = block[block.index("input:"):block.index("output:")]
    conditional = block[:block.index("CYTO_ENABLED")]
    assert "ard" not in conditional.replace("raw_digests", "")
    assert re.search(r'^\s+ard="results/ard/ard\.tsv",$', block, re.M)


# --------------------------------------------------------------------------- the PDF
def cell_breaks(pdf_path: Path, tables: dict[str, Table]) -> dict[str, list[tuple[str, list[str]]]]:
    """For each table (found by its header), its multi-line cells as (text as built,
    lines as printed), and a check that every line stays inside its cell."""
    headers = {tuple(h for h in t.header): key for key, t in tables.items()}
    found: dict[str, list] = {key: [] for key in tables}
    with pdfplumber.open(pdf_path) as pdf:
        for page in pdf.pages:
            for table in page.find_tables():
                text = table.extract()
                head = tuple(" ".join((c or "").split()) for c in text[0])
                key = headers.get(head)
                if key is None:
                    continue
                found[key] += text[1:]
                for row in table.rows:
                    for box in row.cells:
                        inside = [c for c in page.chars if box is not None and
                                  box[0] <= (c["x0"] + c["x1"]) / 2 <= box[2] and
                                  box[1] <= (c["top"] + c["bottom"]) / 2 <= box[3]]
                        assert all(box[0] - 0.2 <= c["x0"] and c["x1"] <= box[2] + 0.2
                                   for c in inside), "a character runs out of its cell"
                        assert all(c["x1"] <= page.width - 16 * 72 / 25.4 + 0.5
                                   for c in inside), "a character runs off the page"
    out: dict[str, list] = {}
    for key, t in tables.items():
        assert len(found[key]) == len(t.rows), key
        out[key] = [(str(c), (p or "").split("\n")) for row, got in zip(t.rows, found[key])
                    for c, p in zip(row, got) if "\n" in (p or "")]
    return out


def test_no_word_is_split_in_the_pdf(tmp_path: Path, cfg: dict,
                                     monkeypatch: pytest.MonkeyPatch) -> None:
    """Identifiers longer than their columns wrap after an underscore only; words wrap
    between words; no hyphen is added; nothing runs out of its cell or off the page;
    the listing of ARD rows is set on a landscape page."""
    frame = small_ard()
    long = pd.DataFrame([{
        "stat_id": "an_identifier_much_longer_than_the_statistic_column_of_table_d1",
        "group": "cAIHA_nonanemic",
        "statistic": "a_measure_longer_than_the_measure_column_of_table_d1_and_of_the_"
                     "listing_of_provenance_rows_by_far",
        "value": 1.0, "unit": "patients", "rule": "clinical_statistics",
        "script": "workflow/scripts/clinical_statistics.py", "inputs_sha256": "1a" * 32}])
    frame = pd.concat([frame, long], ignore_index=True)
    ard = ARD(frame)
    for key in ard.frame[["stat_id", "group", "statistic"]].itertuples(index=False, name=None):
        ard.get(*key)
    d1 = ard_appendix_table(ard)
    listing = listing_tables(frame, cfg)
    env = jinja_env(ROOT / "resources/report")
    page = env.from_string(
        '{% import "_macros.html.j2" as m %}<!DOCTYPE html><html lang="en"><head>'
        '<meta charset="utf-8"><link rel="stylesheet" href="report.css"></head><body>'
        '<section class="chapter appendix" id="appendix-d"><h2>Appendix D</h2>'
        '{{ m.table(d1) }}</section><section class="chapter wide" '
        'id="listing-ard-provenance"><h2>ARD rows with their provenance</h2>'
        '{{ m.table(l.ard_provenance) }}{{ m.table(l.ard_provenance_patients) }}'
        '</section></body></html>').render(d1=d1, l=listing)
    staging = stage_assets(tmp_path / "assets", ROOT / "resources/report/report.css",
                           ROOT / "resources/fonts", {}, {})
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "0")
    render_pdf(page, staging, tmp_path / "d.pdf", 0, "0" * 32)
    tables = {"d1": d1, "listing": listing["ard_provenance"],
              "patients": listing["ard_provenance_patients"]}
    broken = cell_breaks(tmp_path / "d.pdf", tables)
    wrapped = 0
    for key, cells in broken.items():
        for text, lines in cells:
            assert "".join(lines).count("-") == text.count("-"), ("hyphenated", text, lines)
            pos = 0
            for line in lines[:-1]:
                pos = text.index(line.strip(), pos) + len(line.strip())
                assert text[pos - 1] in "_/" or text[pos] == " ", (key, text, lines)
                wrapped += text[pos - 1] == "_"
    assert wrapped >= 4  # the long identifiers did wrap, after underscores
    # The short identifiers stay whole on one line (the columns fit them).
    for key in broken:
        assert not [t for t, _ in broken[key] if t in ("month_12_ci_lower", "dor_median_crude",
                                                         "resp_by_evansfl", "clinical_statistics",
                                                         "workflow/scripts/cytometry_claims.py")]
    with pdfplumber.open(tmp_path / "d.pdf") as pdf:
        assert pdf.pages[0].width < pdf.pages[0].height  # Appendix D: portrait
        assert pdf.pages[-1].width > pdf.pages[-1].height  # the listing: landscape
