"""Every key of the ``report`` config section reaches its use.

Each test sets a value other than the shipped one (config.yaml) and shows that the
report, the listings or the statistics they print change as worked out here by
hand, through the plumbing of the workflow: the params a rule of
``workflow/rules/report.smk`` builds (read from the rule file itself, see
:mod:`test_config_reach_cytometry`), or :func:`aiha.settings.content_config` of rule
clinical_content, then the library function or the workflow script that consumes
them. The data are the small report fixture (tests/data/report/results) and the
hand-built cohort of :mod:`test_report_content`. ``tests/config_reach_cytometry_report.yaml``
maps every key to its tests.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from aiha.ard import read_ard, read_text_tsv
from aiha.clinical_content import clinical_content
from aiha.report.context import build_context, render_html
from aiha.settings import content_config, qc_r_config
from conftest import ROOT
from test_config_reach_cytometry import CFG, evaluate, run_script, smk_param
from test_report_content import _cohort

FIXTURE = ROOT / "tests" / "data" / "report" / "results"
TEMPLATES = ROOT / "resources" / "report"
INPUTS = {"cleaning_log": "clinical/cleaning_log.tsv",
        "cleaning_summary": "stats/cleaning_summary.tsv", "sensitivity": "sensitivity/summary.tsv",
          "cytometry_qc": "cytometry/qc.tsv", "audit": "audit/claims.tsv",
          "responses": "response/responses.tsv", "patients": "clinical/patients.tsv",
          "labs": "clinical/labs.tsv", "adverse_events": "clinical/adverse_events.tsv",
          "key_statistics": "sensitivity/key_statistics.tsv"}
PROVENANCE = json.loads((FIXTURE / "provenance.json").read_text(encoding="utf-8"))


def report_cfg(**changes: Any) -> dict[str, Any]:
    """The whole config with ``report.<key>`` set (``decimals__hb`` = ``decimals.hb``)."""
    cfg = copy.deepcopy(CFG)
    for dotted, value in changes.items():
        node = cfg["report"]
        *parents, last = dotted.split("__")
        for p in parents:
            node = node.setdefault(p, {})
        node[last] = value
    return cfg


@pytest.fixture(scope="module")
def tables() -> dict:
    t = {k: read_text_tsv(FIXTURE / p) for k, p in INPUTS.items()}
    t["ard"] = read_ard(FIXTURE / "ard" / "ard.tsv")
    return t


def report_context(tables, cfg) -> dict[str, Any]:
    """What rule render_report's script prints: build_context of its params.cfg."""
    return build_context(tables, evaluate(smk_param("render_report", "cfg", "report.smk"), cfg),
                         PROVENANCE)


def report_html(tables, cfg) -> str:
    return render_html(report_context(tables, cfg), TEMPLATES)


def listings_context(tmp_path: Path, cfg: dict[str, Any], monkeypatch) -> dict[str, Any]:
    """Rule render_listings' script with its params (cfg, text_max_chars) from
    ``cfg``, on the fixture; the context it renders (the PDF step is skipped)."""
    from aiha.report import render

    seen: dict[str, Any] = {}

    def capture(context, template, cfg, pdf_path, html_path, *args, **kwargs):
        seen.update(context=context, template=template)
        Path(pdf_path).write_bytes(b"")
        Path(html_path).write_text("", encoding="utf-8")
        return {}
    monkeypatch.setattr(render, "_render_document", capture)
    inputs = {k: FIXTURE / INPUTS[k] for k in ("responses", "patients", "labs", "adverse_events",
                                               "cleaning_log", "cytometry_qc")}
    inputs["ard"] = FIXTURE / "ard" / "ard.tsv"
    params = {name: evaluate(smk_param("render_listings", name, "report.smk"), cfg)
              for name in ("cfg", "text_max_chars")}
    run_script("report_listings", tmp_path, inputs,
               {"pdf": tmp_path / "l.pdf", "html": tmp_path / "l.html",
                "manifest": tmp_path / "l.json"}, {**params, "code": ""})
    assert seen["template"] == "listings.html.j2"
    return seen["context"]


def row(table, label: str) -> list[str]:
    return [str(c) for c in next(r for r in table.rows if str(r[0]) == label)]


# ------------------------------------------------------------------ title page

@pytest.mark.parametrize("key", ["title", "subtitle", "reference", "author"])
def test_the_title_page_prints_the_configured_text(key, tables):
    """report.title, subtitle, reference and author are printed as configured."""
    text = f"Reach test {key} 7Qx"
    assert text not in report_html(tables, CFG)
    ctx = report_context(tables, report_cfg(**{key: text}))
    assert ctx[key] == text
    assert text in render_html(ctx, TEMPLATES)


# ------------------------------------------------------------------ transfusion windows

def test_transfusion_windows_reach_the_content_statistics():
    """report.transfusion_windows_days [[-25, -1], [0, 45]] on the hand-built cohort
    (test_report_content): before, PT-A's day -5 unit and PT-B's 3 units of day -20
    (PT-A's day -30 is outside): 2 patients, 4 units; days 0-45: PT-C's 2 units of
    day 10 (PT-B's day 50 is outside): 1 patient, 2 units; no third window."""
    cfg = report_cfg(transfusion_windows_days=[[-25, -1], [0, 45]])
    stats = clinical_content(**_cohort(), cfg=content_config(cfg))
    a = {(s.stat_id, s.group, s.statistic): float(s.value) for s in stats}
    assert (a[("transfusion_w1", "all", "start_day")], a[("transfusion_w1", "all", "end_day")]) == (-25, -1)
    assert (a[("transfusion_w1", "all", "numerator")], a[("transfusion_w1", "all", "units")]) == (2, 4)
    assert (a[("transfusion_w2", "all", "numerator")], a[("transfusion_w2", "all", "units")]) == (1, 2)
    assert a[("transfusion_w2", "all", "denominator")] == 3
    assert not any(k[0] == "transfusion_w3" for k in a)
    shipped = {(s.stat_id, s.group, s.statistic): float(s.value)
               for s in clinical_content(**_cohort(), cfg=content_config(CFG))}
    assert shipped[("transfusion_w1", "all", "units")] == 6
    # The R double programming counts the same windows.
    assert qc_r_config(cfg)["transfusion_windows_days"] == [[-25, -1], [0, 45]]


# ------------------------------------------------------------------ per-patient rows

def test_max_patient_rows_moves_the_cytometry_rows_to_the_listings(tables):
    """report.max_patient_rows below the fixture's 2 cytometry patients: the
    per-patient table leaves the report (at 12, shipped, and at 2 it is printed);
    the ongoing durations (1 of wAIHA) become a range with a pointer to the
    listings at 0."""
    assert "flow_patients" in report_context(tables, CFG)["tables"]
    assert "flow_patients" in report_context(tables, report_cfg(max_patient_rows=2))["tables"]
    one = report_context(tables, report_cfg(max_patient_rows=1))["tables"]
    assert "flow_patients" not in one
    label = "Durations of ongoing responses"
    assert row(report_context(tables, CFG)["tables"]["response"], label)[1] == "15 months"
    zero = row(report_context(tables, report_cfg(max_patient_rows=0))["tables"]["response"], label)
    assert "listings" in zero[1]


def test_max_patient_rows_and_decimals_reach_the_ars_reporting_event():
    """The ARS reporting event's params carry report.max_patient_rows and decimals."""
    from aiha.ars import ars_config

    cfg = report_cfg(max_patient_rows=3, decimals={**CFG["report"]["decimals"], "percent": 3})
    assert ars_config(cfg)["report"]["max_patient_rows"] == 3
    assert ars_config(cfg)["report"]["decimals"]["percent"] == 3


# ------------------------------------------------------------------ listings text limit

def test_listings_text_max_chars_shortens_long_text_in_the_listings(tmp_path, monkeypatch):
    """report.listings_text_max_chars 40: the fixture's free-text comment (longer)
    is cut to 40 characters with a note of the rest in the listings; at the shipped
    500 it is printed whole."""
    patients = read_text_tsv(FIXTURE / INPUTS["patients"])
    comment = max((str(c) for c in patients["comment"]), key=len)
    assert 40 < len(comment) < 500
    shipped = listings_context(tmp_path / "a", CFG, monkeypatch)
    short = listings_context(tmp_path / "b", report_cfg(listings_text_max_chars=40), monkeypatch)

    def cells(ctx):
        return [str(c) for r in ctx["tables"]["comments"].rows for c in r]
    assert comment in cells(shipped)
    expected = (f"{comment[:40]}… [{len(comment) - 40} more characters: full text in "
                f"{FIXTURE / INPUTS['patients']}]")
    assert expected in cells(short) and comment not in cells(short)


# ------------------------------------------------------------------ cleaning log

def test_cleaning_log_routine_counts_instead_of_listing(tables, tmp_path, monkeypatch):
    """report.cleaning_log_routine ["Hb in g/L"]: the fixture's cleaning-log row with
    that reason is counted in the report's summary (1) and left out of the listings'
    cleaning log; shipped, it is listed."""
    log = read_text_tsv(FIXTURE / INPUTS["cleaning_log"])
    reason_col = next(c for c in log.columns if log[c].astype(str).str.startswith("Hb in g/L").any())
    n = int(log[reason_col].astype(str).str.startswith("Hb in g/L").sum())
    assert n == 1
    cfg = report_cfg(cleaning_log_routine=["Hb in g/L"])

    def summary(cfg, work):
        """Rule cleaning_summary's script with its params from ``cfg``, then Table A1."""
        out = work / "cleaning_summary.tsv"
        run_script("cleaning_summary", work, {"log": FIXTURE / INPUTS["cleaning_log"]},
                   {"summary": out},
                   {"cfg": evaluate(smk_param("cleaning_summary", "cfg", "statistics.smk"), cfg),
                    "code": ""})
        return report_context({**tables, "cleaning_summary": read_text_tsv(out)},
                              cfg)["tables"]["cleaning_summary"]
    counted = summary(cfg, tmp_path / "counted")
    assert row(counted, "Hb in g/L") == ["Hb in g/L", "1"]
    listed = "listed individually (Listing A1 of the listings document)"
    assert int(row(counted, listed)[1]) == len(log) - 1
    shipped = summary(CFG, tmp_path / "shipped")
    assert "Hb in g/L" not in [str(r[0]) for r in shipped.rows]
    routine = tuple(CFG["report"]["cleaning_log_routine"])
    assert int(row(shipped, listed)[1]) == len(log) - int(
        log[reason_col].astype(str).str.startswith(routine).sum())

    def listed(ctx):
        return [str(r[-1]) for r in ctx["tables"]["cleaning_log"].rows]
    assert any(x.startswith("Hb in g/L") for x in listed(listings_context(tmp_path / "a", CFG, monkeypatch)))
    assert not any(x.startswith("Hb in g/L") for x in listed(listings_context(tmp_path / "b", cfg,
                                                                             monkeypatch)))


# ------------------------------------------------------------------ decimals

def decimals(**kinds: int) -> dict[str, Any]:
    return report_cfg(decimals={**CFG["report"]["decimals"], **kinds})


def _ard_value(tables, stat, group, statistic) -> float:
    a = tables["ard"]
    hit = a[(a["stat_id"] == stat) & (a["group"] == group) & (a["statistic"] == statistic)]
    assert len(hit) == 1, (stat, group, statistic)
    return float(hit["value"].iloc[0])


def _median_range(tables, stat: str, group: str, d: int) -> str:
    med, lo, hi = (_ard_value(tables, stat, group, s) for s in ("median", "min", "max"))
    return f"{med:.{d}f} ({lo:.{d}f}\u2013{hi:.{d}f})"


def test_decimals_percent(tables, tmp_path, monkeypatch):
    """report.decimals.percent 3: "n (p%)" cells of the report with 3 decimals (female
    sex of wAIHA, from its ARD rows by hand) and the listings' percentage of events
    kept."""
    label = "Female sex, n (%)"
    n = _ard_value(tables, "sex_female", "wAIHA", "n")
    p = _ard_value(tables, "sex_female", "wAIHA", "proportion")
    assert row(report_context(tables, CFG)["tables"]["baseline"], label)[1] == f"{n:.0f} ({100 * p:.1f}%)"
    assert row(report_context(tables, decimals(percent=3))["tables"]["baseline"], label)[1] == \
        f"{n:.0f} ({100 * p:.3f}%)"
    qc = read_text_tsv(FIXTURE / INPUTS["cytometry_qc"])
    kept = 100.0 * float(qc["events_kept"].iloc[0]) / float(qc["events_acquired"].iloc[0])
    for cfg, d in ((CFG, 1), (decimals(percent=3), 3)):
        first = listings_context(tmp_path / str(d), cfg, monkeypatch)["tables"]["cytometry_qc"].rows[0]
        assert f"{kept:.{d}f}" in [str(c) for c in first]


@pytest.mark.parametrize("kind,label,stat", [
    ("hb", "Baseline Hb, g/dL, median (range)", "baseline_hb"),
    ("ldh", "Baseline LDH, \u00d7 ULN, median (range)", "baseline_ldh"),
], ids=["hb", "ldh"])
def test_decimals_hb_and_ldh(kind, label, stat, tables, tmp_path, monkeypatch):
    """report.decimals.hb / ldh 3: the baseline median (range) with 3 decimals (by
    hand from the ARD rows); hb also the listings' Hb values per patient."""
    for cfg, d in ((CFG, 1), (decimals(**{kind: 3}), 3)):
        got = row(report_context(tables, cfg)["tables"]["baseline"], label)[1]
        assert got == _median_range(tables, stat, "wAIHA", d)
    if kind == "hb":
        responses = read_text_tsv(FIXTURE / INPUTS["responses"])
        first = responses.iloc[0]
        ctx = listings_context(tmp_path, decimals(hb=3), monkeypatch)
        listed = [str(c) for c in ctx["tables"]["response_listing"].rows[0]]
        assert f"{float(first['baseline_hb']):.3f}" in listed


def test_decimals_months(tables, tmp_path, monkeypatch):
    """report.decimals.months 3: the crude median duration of response (its ARD row
    dor_median_crude, by hand) with 3 decimals, and the listings' durations."""
    label = "Median duration of response, crude"
    value = _ard_value(tables, "dor_median_crude", "wAIHA", "value")
    for cfg, d in ((CFG, 1), (decimals(months=3), 3)):
        assert row(report_context(tables, cfg)["tables"]["response"], label)[1] == f"{value:.{d}f} months"
    responses = read_text_tsv(FIXTURE / INPUTS["responses"])
    first = responses.iloc[0]
    ctx = listings_context(tmp_path, decimals(months=3), monkeypatch)
    assert f"{float(first['duration_months']):.3f}" in [str(c) for c in ctx["tables"]["response_listing"].rows[0]]


def test_decimals_other(tmp_path, monkeypatch):
    """report.decimals.other 4: the listings' flagged laboratory value (the
    fixture's flagged lab row, by hand) with 4 decimals (the shipped 2: "9.10")."""
    labs = read_text_tsv(FIXTURE / INPUTS["labs"])
    flagged = labs[labs["flag"].astype(str) != ""]
    assert len(flagged) == 1
    value = float(flagged["value"].iloc[0])
    for cfg, d in ((CFG, 2), (decimals(other=4), 4)):
        first = listings_context(tmp_path / str(d), cfg, monkeypatch)["tables"]["flagged_labs"].rows[0]
        assert f"{value:.{d}f}" in [str(c) for c in first]
        assert f"{value:.{6 - d}f}" not in [str(c) for c in first]
