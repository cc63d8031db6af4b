"""The workflow on the demo data: published clinical claims, identifiers, and a
check that the numbers are computed from the raw data rather than carried."""

from __future__ import annotations

import csv
import shutil
from pathlib import Path

import pytest
import yaml

from aiha.ard import lookup, read_ard
from aiha.cleaning import load_site_profiles
from aiha.demo.cohort import load_spec
from conftest import ROOT, copy_project, run_snakemake

pytestmark = pytest.mark.workflow


@pytest.fixture(scope="module")
def ard(demo_results: Path):
    return read_ard(demo_results / "ard" / "ard.tsv")


def v(ard, stat_id, group, statistic):
    return lookup(ard, stat_id, group, statistic)


def test_published_wAIHA_claims(ard):
    # Abstract: n = 12, ORR 50%, median duration 5.5 months (range 2-12),
    # ongoing in 2 patients after 6 and 12 months, 4 of 6 nonresponders with Evans.
    assert v(ard, "n_efficacy", "all", "n") == 19
    assert v(ard, "n_efficacy", "wAIHA", "n") == 12
    assert (v(ard, "orr", "wAIHA", "numerator"), v(ard, "orr", "wAIHA", "denominator")) == (6, 12)
    # Exact 95% CI of 6/12 (independently computed, see shared facts): 0.2109-0.7891.
    assert v(ard, "orr", "wAIHA", "ci_lower") == pytest.approx(0.2109, abs=1e-4)
    assert v(ard, "orr", "wAIHA", "ci_upper") == pytest.approx(0.7891, abs=1e-4)
    assert v(ard, "dor_median_crude", "wAIHA", "value") == 5.5
    # R survival's rule (the primary since issue 23): S = 1/2 from the relapse at 5 to
    # the one at 9, midpoint 7 (the lower tie rule of STUDY.md §2 gives 5).
    assert v(ard, "dor_median_km", "wAIHA", "value") == 7
    assert (v(ard, "dor_min", "wAIHA", "value"), v(ard, "dor_max", "wAIHA", "value")) == (2, 12)
    assert v(ard, "ongoing", "wAIHA", "numerator") == 2
    assert [v(ard, "ongoing_duration", "wAIHA", f"value_{i}") for i in (1, 2)] == [6, 12]
    assert (v(ard, "nr_evans", "wAIHA", "numerator"), v(ard, "nr_evans", "wAIHA", "denominator")) == (4, 6)


def test_published_cAIHA_and_safety_claims(ard):
    assert v(ard, "n_efficacy", "cAIHA", "n") == 7
    assert v(ard, "hb_response", "cAIHA", "numerator") == 4
    assert round(100 * v(ard, "hb_response", "cAIHA", "proportion")) == 57
    assert (v(ard, "ongoing", "cAIHA", "numerator"), v(ard, "ongoing", "cAIHA", "denominator")) == (3, 7)
    assert v(ard, "n_treated", "cAIHA_nonanemic", "n") == 1
    assert v(ard, "nonanemic_acro_response", "cAIHA_nonanemic", "numerator") == 1
    assert v(ard, "nonanemic_hb_increase", "cAIHA_nonanemic", "numerator") == 1
    # The spec raises the non-anemic patient's Hb by hb_increase, with noise of at
    # most 0.15 g/dL and rounding to the site's decimals (0.05): within 0.25 of it.
    spec = load_spec(ROOT / "resources" / "demo" / "cohort.yaml")
    (nonanemic,) = [p for p in spec.patients if p.course == "nonanemic"]
    assert v(ard, "nonanemic_hb_change", "cAIHA_nonanemic", "median") == pytest.approx(
        nonanemic.hb_increase, abs=0.25)
    # Default reading (A) of the acrocyanosis denominator: all treated cAIHA.
    assert (v(ard, "acro_improved", "cAIHA", "numerator"),
            v(ard, "acro_improved", "cAIHA", "denominator")) == (4, 6)
    assert v(ard, "ae_events", "all", "n") == 7
    assert [v(ard, "ae_grade", "all", f"grade_{g}") for g in (1, 2, 3)] == [1, 3, 3]


def test_every_ard_row_has_provenance(ard):
    assert (ard["rule"] != "").all() and (ard["script"] != "").all()
    assert ard["inputs_sha256"].str.fullmatch(r"[0-9a-f]{64}").all()


def raw_identifiers(raw_dir: Path, profiles) -> set[str]:
    """Names, name parts, birth dates (site format and ISO) and record numbers."""
    from datetime import datetime

    found: set[str] = set()
    for site_dir in sorted(p for p in raw_dir.iterdir() if p.is_dir() and p.name in profiles):
        prof = profiles[site_dir.name]
        with open(site_dir / "patients.csv", encoding=prof.encoding) as handle:
            for row in csv.DictReader(handle, delimiter=prof.delimiter):
                found.add(row["record_number"])
                found.add(row["name"])
                found.update(part for part in row["name"].split() if len(part) > 3)
                found.add(row["birth_date"])
                found.add(datetime.strptime(row["birth_date"], prof.date_format).date().isoformat())
    return found


def test_no_identifier_reaches_results(demo_project: Path):
    cfg = yaml.safe_load((demo_project / "config.yaml").read_text())
    profiles = load_site_profiles(demo_project / cfg["data"]["site_profiles"])
    idents = raw_identifiers(demo_project / cfg["data"]["raw_dir"], profiles)
    # Every patient of the cohort spec: record number, name and birth date found.
    spec = load_spec(demo_project / cfg["data"]["demo_spec"])
    for p in spec.patients:
        assert {p.record_number, p.name, p.birth_date.isoformat()} <= idents, p.key
    texts: dict[str, str] = {}
    for path in (demo_project / "results").rglob("*"):
        if path.is_file():
            texts[str(path)] = path.read_bytes().decode("utf-8", errors="ignore")
    pdf = demo_project / "results" / "report" / "study_report.pdf"
    if pdf.exists():
        import pdfplumber

        with pdfplumber.open(pdf) as doc:
            texts["pdf text"] = "\n".join(page.extract_text() or "" for page in doc.pages)
    # The scan covers the tables that hold per-patient rows, and the report.
    for part in ("clinical/patients.tsv", "response/responses.tsv", "ard/ard.tsv",
                 "report/study_report.html"):
        assert str(demo_project / "results" / part) in texts, part
    assert "pdf text" in texts or not pdf.exists()
    leaks = [(i, f) for f, text in texts.items() for i in idents if i in text]
    assert not leaks, leaks[:10]


def test_numbers_are_computed_from_the_raw_series(demo_project: Path, tmp_path: Path):
    """A site export in which one wAIHA responder no longer responds: ORR 5/12."""
    work = copy_project(tmp_path / "project")
    cfg = yaml.safe_load((work / "config.yaml").read_text())
    export = tmp_path / "site_exports"
    src = demo_project / cfg["data"]["raw_dir"]
    for site in src.iterdir():
        if site.is_dir() and len(site.name) == 3:
            (export / site.name).mkdir(parents=True)
            for f in site.glob("*.csv"):
                (export / site.name / f.name).write_bytes(f.read_bytes())
    # The cytometry export (sample sheet and FCS files) goes along unchanged.
    shutil.copytree(src / "cytometry", export / "cytometry")
    labs = export / "AMS" / "labs.csv"
    lines = labs.read_text("utf-8").split("\n")
    changed = 0
    for i, line in enumerate(lines):
        fields = line.split(";")
        # Responder W01 (AMC-4471823): every Hb from 2022 on held at 4,6 mmol/L (7.4 g/dL).
        if fields[0] == "AMC-4471823" and fields[2] == "HB" and fields[1].endswith("2022"):
            fields[3] = "4,6"
            lines[i] = ";".join(fields)
            changed += 1
    # Every W01 Hb visit dated in 2022 by the generator's timeline changed.
    from datetime import timedelta

    from aiha.demo.exports import _lab_days
    from aiha.demo.cohort import timeline

    spec = load_spec(demo_project / cfg["data"]["demo_spec"])
    t = timeline(spec, "W01")
    visits_2022 = [d for d in _lab_days(spec, spec.patient("W01"), t)
                   if (t.first_dose + timedelta(days=d)).year == 2022]
    assert changed == len(visits_2022) > 0
    labs.write_text("\n".join(lines), "utf-8")
    cfg["data"]["raw_dir"] = str(export)
    cfg["data"]["generate_demo"] = False
    (work / "config.yaml").write_text(yaml.safe_dump(cfg, sort_keys=False))
    run_snakemake(work, "results/stats/clinical_ard.tsv")
    ard = read_ard(work / "results" / "stats" / "clinical_ard.tsv")
    assert (v(ard, "orr", "wAIHA", "numerator"), v(ard, "orr", "wAIHA", "denominator")) == (5, 12)
    # W01's response (the shortest, 2 months) is gone: the minimum is the shortest
    # duration of the other wAIHA responders of the cohort spec.
    others = [p.duration_months for p in spec.patients
              if p.diagnosis == "wAIHA" and p.course == "responder" and p.key != "W01"]
    assert v(ard, "dor_min", "wAIHA", "value") == min(others)
    assert v(ard, "dor_max", "wAIHA", "value") == max(others)
