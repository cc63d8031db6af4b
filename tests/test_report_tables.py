"""Numbers in the PDF tables equal the results tables put through the formatters.

Two layers: (1) every table pdfplumber reads back from the PDF equals, cell by cell,
the table the report built; (2) those tables equal values looked up here, directly in
the ARD and the results tables, formatted with aiha.formatting.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pandas as pd
import pdfplumber
import pytest
import yaml

from aiha import formatting as F
from aiha.ard import read_ard, read_text_tsv
from aiha.report import GROUP_LABELS, GROUPS, build_from_results

ROOT = Path(__file__).resolve().parents[1]
FIXTURE = ROOT / "tests/data/report/results"


SNAKE = re.compile(r"[A-Za-z0-9]_[A-Za-z0-9]")


def norm(text: object) -> str:
    return re.sub(r"\s+", "", "" if text is None else str(text))


def pdf_tables(pdf_path: Path) -> list[list[list[str]]]:
    with pdfplumber.open(pdf_path) as pdf:
        tables = [[[c or "" for c in row] for row in t]
                  for page in pdf.pages for t in page.extract_tables()]
    # Line art of the figures can look like an empty grid: keep tables with a header.
    return [t for t in tables if any(norm(c) for c in t[0])]


def assert_pdf_matches_model(pdf_path: Path, tables: dict) -> None:
    """Each model table's rows, in order, across page breaks, cell by cell."""
    extracted = pdf_tables(pdf_path)
    assert extracted, "pdfplumber found no table (cell borders missing?)"
    seen_numeric = 0
    for key, table in tables.items():
        header = [norm(h) for h in table.header]
        rows: list[list[str]] = []
        for t in extracted:
            if [norm(c) for c in t[0]] == header:
                rows.extend(t[1:])
        model = table.rows or [["none"] + [""] * (len(header) - 1)]
        assert len(rows) == len(model), f"{key}: {len(rows)} rows in PDF, {len(model)} built"
        for pdf_row, model_row in zip(rows, model):
            for pdf_cell, cell in zip(pdf_row, model_row):
                if re.search(r"\d", str(cell)):
                    seen_numeric += 1
                    assert norm(pdf_cell) == norm(cell), (key, pdf_row, model_row)
    assert seen_numeric > 0
    # And no table in the PDF that the report did not build.
    headers = {tuple(norm(h) for h in t.header) for t in tables.values()}
    for t in extracted:
        assert tuple(norm(c) for c in t[0]) in headers, t[0]


def cell(table, row_label: str, column: int) -> str:
    for row in table.rows:
        if str(row[0]) == row_label:
            return str(row[column])
    raise KeyError(row_label)


def assert_model_matches_results(ctx: dict, results: Path, cfg: dict,
                                 listings: dict | None = None) -> None:
    """Independent look-ups in the ARD and results tables, same formatters."""
    ard = read_ard(results / "ard/ard.tsv")

    def v(stat: str, group: str, statistic: str) -> float:
        hit = ard[(ard.stat_id == stat) & (ard.group == group) & (ard.statistic == statistic)]
        assert len(hit) == 1, (stat, group, statistic)
        return float(hit.value.iloc[0])

    dec = cfg["report"]["decimals"]
    level = float(cfg["statistics"]["ci_level"])
    t = ctx["tables"]
    # Table 1
    for col, g in enumerate(GROUPS, start=1):
        assert str(t["baseline"].header[col]) == f"{GROUP_LABELS[g]} (n\u00a0=\u00a0{F.fmt_count(v('n_treated', g, 'n'))})"
        assert cell(t["baseline"], "Patients treated, n", col) == F.fmt_count(v("n_treated", g, "n"))
        assert cell(t["baseline"], "Female sex, n (%)", col) == (
            f"{F.fmt_count(v('sex_female', g, 'n'))} "
            f"({F.fmt_percent(v('sex_female', g, 'proportion'), dec['percent'])})")
        # A group of one patient: that patient's value alone, not "12.9 (12.9–12.9)".
        assert cell(t["baseline"], "Baseline Hb, g/dL, median (range)", col) == (
            F.fmt_number(v("baseline_hb", g, "median"), dec["hb"]) if v("n_treated", g, "n") == 1
            else F.fmt_median_range(v("baseline_hb", g, "median"), v("baseline_hb", g, "min"),
                                    v("baseline_hb", g, "max"), dec["hb"]))
        # Evans syndrome: the same count as the clinical statistics, with its percentage.
        evans = v("baseline_evans", g, "n")
        assert evans == v("evans", g, "n")
        assert cell(t["baseline"], "Evans syndrome, n (%)", col) == (
            "0" if evans == 0 else f"{F.fmt_count(evans)} "
            f"({F.fmt_percent(evans / v('n_treated', g, 'n'), dec['percent'])})")
    # Table 2
    orr = cell(t["response"], "Overall response (CR + PR), n/N (%)", 1)
    assert orr == (f"{F.fmt_n_of_N(v('orr', 'wAIHA', 'numerator'), v('orr', 'wAIHA', 'denominator'), dec['percent'])}; "
                   f"{F.fmt_ci(v('orr', 'wAIHA', 'ci_lower'), v('orr', 'wAIHA', 'ci_upper'), dec['percent'], level)}")
    hr = cell(t["response"], "Hb response, n/N (%)", 2)
    assert hr.startswith(F.fmt_n_of_N(v("hb_response", "cAIHA", "numerator"),
                                      v("hb_response", "cAIHA", "denominator"), dec["percent"]))
    share = cfg["statistics"]["crude_median_max_censored_share"]
    for col, g in ((1, "wAIHA"), (2, "cAIHA")):
        # Printed only where at most the configured share of durations is censored
        # (the demo: wAIHA 2 of 6, cAIHA 3 of 4).
        # (A results tree without the censored counts, the report fixture's: printed.)
        has = ((ard.stat_id == "dor_median_km") & (ard.group == g)
               & (ard.statistic == "censored")).any()
        censored = v("dor_median_km", g, "censored") if has else 0
        total = censored + (v("dor_median_km", g, "events") if has else 1)
        assert cell(t["response"], "Median duration of response, crude", col) == (
            F.fmt_months(v("dor_median_crude", g, "value"), dec["months"])
            if censored / total <= share else "not estimable")
        assert cell(t["response"], "Median duration of response, Kaplan-Meier", col).startswith(
            F.fmt_months(v("dor_median_km", g, "value"), dec["months"]))
    assert cell(t["response"], "Nonresponders with Evans syndrome, n/N (%)", 1) == F.fmt_n_of_N(
        v("nr_evans", "wAIHA", "numerator"), v("nr_evans", "wAIHA", "denominator"), dec["percent"])
    # Table 3
    for col, g in enumerate(GROUPS, start=1):
        for k in range(1, 6):
            assert cell(t["ae_grade"], f"Grade {k}", col) == F.fmt_count(v("ae_grade", g, f"grade_{k}"))
        assert cell(t["ae_grade"], "All events", col) == F.fmt_count(v("ae_events", g, "n"))
    # Listings (their own document) against the results tables.
    t = {**t, **(listings or {})}
    responses = read_text_tsv(results / "response/responses.tsv").set_index("patient_id")
    assert len(t["response_listing"].rows) == len(responses)
    for row in t["response_listing"].rows:
        r = responses.loc[row[0]]
        assert row[3:6] == [F.fmt_number(r[c], dec["hb"]) for c in ("baseline_hb", "max_hb", "hb_change")]
        assert row[6] == r["best_response"]
        assert row[9] == F.fmt_number(r["duration_months"], dec["months"])
    aes = read_text_tsv(results / "clinical/adverse_events.tsv")
    expected = sorted((r.patient_id, F.fmt_count(r.ae_number), F.fmt_date(r.onset_date),
                       F.fmt_count(r.day), F.fmt_count(r.grade)) for r in aes.itertuples())
    got = sorted((r[0], r[2], r[3], r[4], r[6]) for r in t["ae_listing"].rows)
    assert got == expected
    qc = read_text_tsv(results / "cytometry/qc.tsv")
    assert [r[5:8] for r in t["cytometry_qc"].rows] == [
        [F.fmt_count(r.events_acquired), F.fmt_count(r.events_kept),
         F.fmt_number(r.percent_kept, dec["percent"])] for r in qc.itertuples()]
    # Cytometry per patient: CD38+ baseline -> nadir (day), straight from the flow rows.
    for row in t["flow_patients"].rows:
        pid = str(row[0])
        if not ((ard.stat_id == "flow_depletion") & (ard.group == pid)).any():
            assert str(row[1]) == F.MISSING
            continue
        assert str(row[1]) == (
            f"{F.fmt_number(v('flow_depletion', pid, 'baseline_percent'), dec['percent'])}% \u2192 "
            f"{F.fmt_number(v('flow_depletion', pid, 'nadir_percent'), dec['percent'])}% "
            f"(day {F.fmt_count(v('flow_depletion', pid, 'nadir_day'))})")
    assert [str(r[0]) for r in t["flow_patients"].rows] == sorted(
        set(ard[ard.stat_id.str.startswith("flow_") & ard.group.str.startswith("PT-")].group))
    # Appendix E: the study-level flow rows; the listings: each patient's (the rows the
    # listings link to, with the 6 decimals of Appendix D).
    flow = ard[ard.stat_id.str.startswith("flow_")]
    per_patient = flow.group.str.startswith("PT-")
    # A study-level proportion (of a count pair) prints as the report's percentages do.
    assert [(r[3], r[4]) for r in t["flow_ard"].rows] == [
        (F.fmt_percent(x, dec["percent"]), "%") if s.endswith("proportion")
        else (F.fmt_auto(x, dec["other"]), u)
        for s, x, u in zip(flow[~per_patient].statistic, flow[~per_patient].value,
                           flow[~per_patient].unit)]
    assert [(str(r[1]), r[3]) for r in t["flow_ard_patients"].rows] == [
        (g, F.fmt_auto(x, 6)) for g, x in zip(flow[per_patient].group,
                                                         flow[per_patient].value)]
    log = read_text_tsv(results / "clinical/cleaning_log.tsv")
    routine = tuple(cfg["report"]["cleaning_log_routine"])
    listed = log[~log.reason.astype(str).str.startswith(routine)] if routine else log
    assert [r[1] for r in t["cleaning_log"].rows] == [F.fmt_count(x) for x in listed.row]
    # Audit: every claim of results/audit/claims.tsv, as written there.
    audit = read_text_tsv(results / "audit/claims.tsv")
    assert [[str(c) for c in r[:3]] for r in t["audit"].rows] == [
        [r.id, r.published, r.reproduced] for r in audit.itertuples()]
    summary = read_text_tsv(results / "sensitivity/summary.tsv")
    assert [str(r[1]) for r in t["sensitivity"].rows] == [
        f"{F.fmt_count(float(r.claims_reproduced))} of {F.fmt_count(float(r.claims_compared))}"
        for r in summary.itertuples()]
    assert_key_statistics_match(t, results, dec, v)


def assert_key_statistics_match(t: dict, results: Path, dec: dict, v) -> None:
    """Table 9 (one per efficacy group with patients) against
    results/sensitivity/key_statistics.tsv through the formatters; its primary rows
    are the ARD's values; a cell is bold where it reads differently from the first row."""
    keys = read_text_tsv(results / "sensitivity/key_statistics.tsv")
    primary = keys[keys.variant == "primary"]
    assert len(primary) and keys.variant.iloc[0] == "primary"
    for r in primary.itertuples():
        x = v(r.stat_id, r.group, r.statistic)
        assert (r.value == "" and x != x) or float(r.value) == x, r
    variants = list(dict.fromkeys(keys.variant))

    def value(variant: str, stat: str, group: str, statistic: str) -> str | None:
        hit = keys[(keys.variant == variant) & (keys.stat_id == stat) & (keys.group == group)
                   & (keys.statistic == statistic)]
        assert len(hit) <= 1
        return None if hit.empty else hit.value.iloc[0]

    def n_of_n(variant: str, stat: str, group: str) -> str:
        num, den = (value(variant, stat, group, s) for s in ("numerator", "denominator"))
        return F.fmt_n_of_N(float(num), float(den), dec["percent"])

    def months(variant: str, stat: str, group: str) -> str:
        x = value(variant, stat, group, "value")
        return F.MISSING if x is None else F.fmt_months(
            float("nan") if x == "" else float(x), dec["months"], unit=False)

    def ratio(variant: str, group: str) -> str:
        return (f"{F.fmt_count(float(value(variant, 'ongoing', group, 'numerator')))}/"
                f"{F.fmt_count(float(value(variant, 'ongoing', group, 'denominator')))}")

    expected_tables = {
        "wAIHA": lambda x: [n_of_n(x, "orr", "wAIHA"), n_of_n(x, "cr", "wAIHA"),
                            months(x, "dor_median_crude", "wAIHA"),
                            months(x, "dor_median_km", "wAIHA"), ratio(x, "wAIHA")],
        "cAIHA": lambda x: [n_of_n(x, "hb_response", "cAIHA"),
                            months(x, "dor_median_crude", "cAIHA"),
                            months(x, "dor_median_km", "cAIHA"), ratio(x, "cAIHA")],
    }
    shown = [g for g in expected_tables if v("n_treated", g, "n") > 0]
    assert [k for k in t if k.startswith("key_statistics_")] == [f"key_statistics_{g}"
                                                                 for g in shown]
    for g in shown:
        table = t[f"key_statistics_{g}"]
        assert table.source == "results/sensitivity/key_statistics.tsv"
        assert len(table.rows) == len(variants)
        first = expected_tables[g](variants[0])
        for row, variant in zip(table.rows, variants):
            want = expected_tables[g](variant)
            assert [str(c) for c in row[1:]] == want, (g, variant)
            assert [c.emphasis for c in row[1:]] == [w != f for w, f in zip(want, first)]
        assert not SNAKE.search(" ".join(str(row[0]) for row in table.rows))


@pytest.fixture(scope="module")
def cfg() -> dict:
    return yaml.safe_load((ROOT / "config.yaml").read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def fixture_report(tmp_path_factory: pytest.TempPathFactory, cfg: dict) -> tuple[Path, dict]:
    out = tmp_path_factory.mktemp("report")
    results = out / "results"
    shutil.copytree(FIXTURE, results)
    built = build_from_results(results, cfg, out / "out", ROOT)
    built["context"]["listings"] = built["listings"]["context"]["tables"]
    return out / "out/study_report.pdf", built["context"]


def test_fixture_pdf_tables_match_model(fixture_report: tuple[Path, dict]) -> None:
    pdf_path, ctx = fixture_report
    assert_pdf_matches_model(pdf_path, ctx["tables"])
    assert_pdf_matches_model(pdf_path.with_name("study_listings.pdf"), ctx["listings"])


def test_fixture_model_matches_results(fixture_report: tuple[Path, dict], cfg: dict) -> None:
    assert_model_matches_results(fixture_report[1], FIXTURE, cfg, fixture_report[1]["listings"])


def test_fixture_methods_quote_config(fixture_report: tuple[Path, dict], cfg: dict) -> None:
    pdf_path, _ = fixture_report
    with pdfplumber.open(pdf_path) as pdf:
        text = norm(" ".join(p.extract_text() or "" for p in pdf.pages))
    r, s = cfg["response"], cfg["statistics"]
    # The keys are in one appendix table (Table B6: key, value, where used) ...
    for key in ("pr_rule", "ongoing_duration_origin", "duration_rounding", "acro_denominator"):
        assert norm(f"response.{key}{r[key]}") in text, key
    # ... and never in the methods text, which prints the values in words.
    start = text.index(norm("2.1 Data and cleaning"))
    methods = text[start:text.index(norm("3. Patients"), start)]
    assert not re.search(r"[a-z_]+\.[a-z_]+_[a-z_]+", methods), methods
    assert "get(" not in methods
    assert norm(f"{r['pr_rule'].upper()} a rise of") in methods
    assert norm(f"at least {r['confirmation_min_days']:g} days") in text
    assert norm(f"{r['transfusion_washout_days']:g} days after a transfusion") in text
    if s["km_tie_rule"] != "r_survival":
        assert norm(f"tolerance of {s['km_tie_tolerance']:g}") in text
    assert norm({"lower": "The rule in force takes the start of the flat segment",
                 "upper": "The rule in force takes the end of the flat segment",
                 "r_survival": "The rule in force takes the midpoint of the flat segment where",
                 "midpoint": "The rule in force takes the midpoint"}[s["km_tie_rule"]]) in text
    # The methods name the convention that made the Kaplan-Meier numbers (issue 23).
    band = {"log": "log transform (as R survival's default conf.type)",
            "log-log": "log(\u2212log) transform (exponential Greenwood, as lifelines)",
            "plain": "untransformed (plain)"}[s["km_ci_transform"]]
    assert "Clopper-Pearson" in text and norm(band) in text
    if s["km_tie_rule"] == "r_survival":
        assert norm("as R survival's survfit and quantile") in text
    assert norm(str(cfg["data"]["data_cutoff"])) in text
    # The audit table comes right after the title page.
    assert text.index(norm("Published versus reproduced")) < text.index(norm("2. Methods"))


def test_missing_ard_statistic_fails(tmp_path: Path, cfg: dict) -> None:
    results = tmp_path / "results"
    shutil.copytree(FIXTURE, results)
    ard = pd.read_csv(results / "ard/ard.tsv", sep="\t", dtype=str, keep_default_na=False)
    ard = ard[ard.stat_id != "orr"]
    ard.to_csv(results / "ard/ard.tsv", sep="\t", index=False)
    with pytest.raises(KeyError, match="orr"):
        build_from_results(results, cfg, tmp_path / "out", ROOT)


@pytest.mark.workflow
def test_demo_report_numbers(demo_results: Path, cfg: dict) -> None:
    """The report the workflow built: every numeric table cell read back from the PDF
    equals the results tables through the formatters."""
    pdf_path = demo_results / "report/study_report.pdf"
    assert pdf_path.exists()
    # Rebuild the model from the same results (what render_report did).
    built = build_from_results(demo_results, cfg, demo_results.parent / "report_check", ROOT)
    listings = built["listings"]["context"]["tables"]
    assert_pdf_matches_model(pdf_path, built["context"]["tables"])
    assert_pdf_matches_model(demo_results / "report/study_listings.pdf", listings)
    assert_model_matches_results(built["context"], demo_results, cfg, listings)
    # The report the workflow wrote and the check render are the same bytes.
    assert (demo_results.parent / "report_check/study_report.pdf").read_bytes() == \
        pdf_path.read_bytes()
    assert (demo_results.parent / "report_check/study_listings.pdf").read_bytes() == \
        (demo_results / "report/study_listings.pdf").read_bytes()


def _half_up(x: float, decimals: int) -> str:
    """Independent of aiha.formatting: decimal half-up rounding of the value as printed
    by repr (so 2.25 -> 2.3), and U+2212 for a negative result."""
    from decimal import ROUND_HALF_UP, Decimal

    d = Decimal(repr(float(x))).quantize(Decimal(1).scaleb(-decimals), rounding=ROUND_HALF_UP)
    text = f"{abs(d):.{decimals}f}"
    return ("\u2212" + text) if d < 0 else text


def test_fixture_cells_against_independent_formatting(fixture_report: tuple[Path, dict], cfg: dict) -> None:
    """Key cells of Tables 1-3 equal the ARD values formatted here, without the
    report's formatters: "k/n (p%)", "95% CI lo–hi", "x.y months", "n"."""
    ctx = fixture_report[1]
    ard = read_ard(FIXTURE / "ard/ard.tsv")

    def v(stat: str, group: str, statistic: str) -> float:
        hit = ard[(ard.stat_id == stat) & (ard.group == group) & (ard.statistic == statistic)]
        assert len(hit) == 1, (stat, group, statistic)
        return float(hit.value.iloc[0])

    p = cfg["report"]["decimals"]["percent"]
    mo = cfg["report"]["decimals"]["months"]
    t = ctx["tables"]
    k, n = int(v("orr", "wAIHA", "numerator")), int(v("orr", "wAIHA", "denominator"))
    lo, hi = v("orr", "wAIHA", "ci_lower"), v("orr", "wAIHA", "ci_upper")
    level = round(float(cfg["statistics"]["ci_level"]) * 100)
    assert cell(t["response"], "Overall response (CR + PR), n/N (%)", 1) == (
        f"{k}/{n} ({_half_up(100 * k / n, p)}%); "
        f"{level}% CI {_half_up(100 * lo, p)}\u2013{_half_up(100 * hi, p)}")
    crude = v("dor_median_crude", "wAIHA", "value")
    assert cell(t["response"], "Median duration of response, crude", 1) == (
        f"{_half_up(crude, mo)} {'month' if _half_up(crude, mo) == _half_up(1, mo) else 'months'}")
    for col, g in enumerate(GROUPS, start=1):
        assert cell(t["baseline"], "Patients treated, n", col) == str(int(v("n_treated", g, "n")))
        assert cell(t["ae_grade"], "All events", col) == str(int(v("ae_events", g, "n")))
    ne, nd = int(v("nr_evans", "wAIHA", "numerator")), int(v("nr_evans", "wAIHA", "denominator"))
    assert cell(t["response"], "Nonresponders with Evans syndrome, n/N (%)", 1) == (
        f"{ne}/{nd} ({_half_up(100 * ne / nd, p)}%)")


def test_fixture_without_claims_prints_the_key_statistics(tmp_path: Path, cfg: dict) -> None:
    """A site's own cohort with no claims file: no audit chapter, and the sensitivity
    chapter introduces and prints the key statistics under each variant (Table 9)."""
    results = tmp_path / "results"
    shutil.copytree(FIXTURE, results)
    (results / "audit/claims.tsv").unlink()
    built = build_from_results(results, cfg, tmp_path / "out", ROOT)
    ctx = built["context"]
    assert not ctx["has_audit"]
    html = built["html"]
    chapter = html[html.index('id="sensitivity"'):html.index('id="appendix-a"')]
    text = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", "", chapter))
    assert "no claims to compare" not in text
    assert "Tables 9a and 9b give the key efficacy statistics of each analysis group" in text
    assert "Table 9a. Key statistics under each variant: wAIHA" in text
    assert "Table 10." not in text and "Table 11." not in text
    assert chapter.count('<strong class="differs">') == 3  # ORR and both medians of pr_and
    # Every table printed (Tables 10 and 11 are built but not printed without claims).
    assert_pdf_matches_model(tmp_path / "out/study_report.pdf",
                             {k: v for k, v in ctx["tables"].items()
                              if k not in ("sensitivity", "sensitivity_claims")})
    with pdfplumber.open(tmp_path / "out/study_report.pdf") as pdf:
        pages = [norm(p.extract_text()) for p in pdf.pages]
    assert any(norm("Key statistics under each variant: cAIHA (anemic)") in p for p in pages)
