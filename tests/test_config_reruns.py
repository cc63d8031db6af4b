"""A config change reruns exactly what it changes (every config value a job reads
is a declared params of its rule), and bad config is refused in one line.

The cohort is small and built once per module. It holds a wAIHA patient whose
response reaches the PR level only (Hb 10.5 g/dL from a baseline of 9.0: a rise
of 1.5 g/dL, below the 2 g/dL rise), so "or" and "and" give different results.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pandas as pd
import pytest
import yaml

from cohorts import cohort_project, patient, read_config, write_config
from conftest import run_snakemake

pytestmark = pytest.mark.workflow

P = patient
COHORT = [
    P("W1", "wAIHA", "responder", duration_months=4),
    P("W2", "wAIHA", "responder", baseline_hb=9.0, response_hb=10.5, ongoing=True,
      duration_months=5),
    P("W3", evans=True),
    P("C1", "cAIHA", "responder", ongoing=True, duration_months=3),
    P("C2", "cAIHA", "nonanemic", baseline_hb=12.9, acrocyanosis=True,
      acrocyanosis_response=True, hb_increase=0.9),
]
CLINICAL_PREP = {"generate_demo_cohort", "validate_clinical", "clean_clinical"}
SCORING_ON = {"score_responses", "clinical_statistics", "qc_double_programming", "assemble_ard",
              "sensitivity_variants", "render_report"}


def planned_jobs(output: str) -> dict[str, int]:
    jobs = {}
    in_stats = False
    for line in output.splitlines():
        if line.startswith("Job stats"):
            in_stats = True
        m = re.match(r"^(\w+)\s+(\d+)$", line.strip())
        if in_stats and m and m.group(1) != "total":
            jobs[m.group(1)] = int(m.group(2))
    return jobs


@pytest.fixture(scope="module")
def small_project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    work = cohort_project(tmp_path_factory.mktemp("reruns") / "p", COHORT)
    run_snakemake(work)
    return work


def dry_run_with(work: Path, tmp_path: Path, change) -> dict[str, int]:
    """The jobs a config change would rerun (dry run with a changed copy of the config)."""
    cfg = read_config(work)
    change(cfg)
    path = tmp_path / "changed.yaml"
    path.write_text(yaml.safe_dump(cfg, sort_keys=False), encoding="utf-8")
    proc = run_snakemake(work, "-n", "--configfile", str(path))
    return planned_jobs(proc.stdout + proc.stderr)


def test_nothing_reruns_without_a_change(small_project: Path, tmp_path: Path):
    proc = run_snakemake(small_project, "-n")
    assert planned_jobs(proc.stdout + proc.stderr) == {}
    # The same config through a --configfile of its own: the provenance, which names
    # every file merged, and the report that prints it; no analysis job.
    jobs = dry_run_with(small_project, tmp_path, lambda c: None)
    assert set(jobs) - {"all"} <= {"provenance", "render_report", "publish_report"}, jobs


@pytest.mark.parametrize("section, key, value", [
    ("response", "pr_rule", "and"),
    ("response", "confirmation_min_days", 28),
    ("response", "confirmation_reading", "pair"),
])
def test_a_response_criterion_reruns_scoring_and_what_follows(small_project, tmp_path, section,
                                                               key, value):
    jobs = dry_run_with(small_project, tmp_path, lambda c: c[section].__setitem__(key, value))
    assert SCORING_ON <= set(jobs), jobs
    assert not CLINICAL_PREP & set(jobs), jobs


def test_a_statistics_choice_does_not_rescore(small_project, tmp_path):
    jobs = dry_run_with(small_project, tmp_path,
                        lambda c: c["statistics"].__setitem__("km_tie_rule", "midpoint"))
    assert {"clinical_statistics", "render_report"} <= set(jobs), jobs
    assert "score_responses" not in jobs and not CLINICAL_PREP & set(jobs), jobs


def test_the_qc_tolerance_reruns_only_the_qc(small_project, tmp_path):
    jobs = dry_run_with(small_project, tmp_path,
                        lambda c: c["statistics"].__setitem__("qc_tolerance", 1e-8))
    assert set(jobs) - {"all", "config_in_force", "provenance", "render_report", "publish_report"} == \
        {"qc_double_programming", "qc_r_compare"}, jobs


def test_cut_off_and_hard_limits_rerun_cleaning(small_project, tmp_path):
    jobs = dry_run_with(small_project, tmp_path,
                        lambda c: c["data"].__setitem__("data_cutoff", "2023-05-31"))
    assert {"validate_clinical", "clean_clinical", "score_responses"} <= set(jobs), jobs
    jobs = dry_run_with(small_project, tmp_path,
                        lambda c: c["cleaning"]["hard_limits"].__setitem__("hb_g_dl", [2.5, 25]))
    assert {"validate_clinical", "clean_clinical"} <= set(jobs), jobs
    assert "generate_demo_cohort" not in jobs


def test_a_report_setting_reruns_only_the_report(small_project, tmp_path):
    jobs = dry_run_with(small_project, tmp_path,
                        lambda c: c["report"].__setitem__("title", "Another title"))
    assert set(jobs) - {"all"} == {"render_report", "publish_report", "config_in_force",
                                   "provenance"}, jobs
    assert jobs["publish_report"] == 1  # the report, not the listings


def _values(path: Path) -> dict[str, str]:
    ard = pd.read_csv(path, sep="\t", dtype=str, keep_default_na=False)
    return {f"{r.stat_id}/{r.group}/{r.statistic}": r.value for r in ard.itertuples()}


@pytest.mark.parametrize("section, key, value, variant", [
    ("response", "pr_rule", "and", "pr_and"),
    ("response", "confirmation_min_days", 28, "confirm_28_days"),
    ("statistics", "km_tie_rule", "lower", "km_tie_lower"),
])
def test_new_primary_numbers_equal_the_matching_variant(small_project, tmp_path, section, key,
                                                        value, variant):
    """Rerun with the changed value: the primary statistics now equal what the
    sensitivity variant with that override computed."""
    work = tmp_path / "copy"
    shutil.copytree(small_project, work, symlinks=True)
    expected = _values(work / "results" / "sensitivity" / variant / "clinical_ard.tsv")
    cfg = read_config(work)
    cfg[section][key] = value
    write_config(work, cfg)
    run_snakemake(work)
    got = _values(work / "results" / "stats" / "clinical_ard.tsv")
    assert got == expected
    if key == "pr_rule":  # this cohort tells the two readings apart (W2: PR level only)
        before = _values(small_project / "results" / "stats" / "clinical_ard.tsv")
        assert before["orr/wAIHA/numerator"] == "2" and got["orr/wAIHA/numerator"] == "1"


@pytest.mark.parametrize("change, message", [
    (lambda c: c["data"].__setitem__("data_cutoff", "2023-02-30"), r"data\.data_cutoff"),
    (lambda c: c["cleaning"]["hard_limits"].__setitem__("hb_g_dl", [25, 2]),
     r"cleaning\.hard_limits\.hb_g_dl: \[25, 2\] is not a range"),
    (lambda c: c["sensitivity"]["variants"].__setitem__("bad", {"response": {"pr_rule": "xor"}}),
     r"sensitivity\.variants\.bad gives .*response\.pr_rule: 'xor'"),
    (lambda c: c["sensitivity"]["variants"].__setitem__("typo", {"response": {"pr_rul": "and"}}),
     r"sensitivity\.variants\.typo: response\.pr_rul is not a config key"),
])
def test_bad_config_is_refused_in_one_line(small_project, tmp_path, change, message):
    cfg = read_config(small_project)
    change(cfg)
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump(cfg, sort_keys=False), encoding="utf-8")
    before = (small_project / "results" / "report" / "study_report.pdf").read_bytes()
    proc = run_snakemake(small_project, "--configfile", str(path), check=False)
    assert proc.returncode != 0
    assert re.search(message, proc.stdout + proc.stderr), proc.stderr[-2000:]
    assert (small_project / "results" / "report" / "study_report.pdf").read_bytes() == before


def test_no_workflow_script_reads_the_config():
    scripts = Path(__file__).resolve().parents[1] / "workflow" / "scripts"
    offenders = [p.name for p in scripts.glob("*.py") if "snakemake.config" in p.read_text()]
    assert offenders == []


def test_a_cytometry_claim_threshold_never_regates(demo_project: Path, tmp_path: Path):
    jobs = dry_run_with(demo_project, tmp_path, lambda c: c["cytometry"]["claims"].__setitem__(
        "depletion_threshold_percent", 2.0))
    assert "cytometry_claims" in jobs, jobs
    assert not {"cytometry_gate", "cytometry_demo_fcs", "cytometry_sample_sheet"} & set(jobs)
    assert not CLINICAL_PREP & set(jobs) and "score_responses" not in jobs, jobs


def test_a_failing_render_leaves_the_previous_report(small_project: Path, tmp_path: Path):
    """Snakemake deletes a job's outputs before it runs it: the render writes into
    results/report/staging/ and only a successful render is published."""
    work = tmp_path / "copy"
    shutil.copytree(small_project, work, symlinks=True)
    report = work / "results" / "report"
    before = {name: (report / name).read_bytes()
              for name in ("study_report.pdf", "study_report.html")}
    template = work / "resources" / "report" / "study_report.html.j2"
    template.write_text(template.read_text() + "\n{{ no_such_value.attribute }}\n")
    proc = run_snakemake(work, check=False)
    assert proc.returncode != 0
    assert "render_report" in proc.stdout + proc.stderr
    for name, data in before.items():
        assert (report / name).read_bytes() == data, name


@pytest.mark.parametrize("module, reruns, untouched", [
    ("response.py", {"score_responses", "sensitivity_variants"}, CLINICAL_PREP),
    ("report/clinical_tables.py", {"render_report"},
     CLINICAL_PREP | {"score_responses", "clinical_statistics"}),
])
def test_a_change_in_package_code_reruns_the_jobs_that_import_it(small_project, module, reruns,
                                                                 untouched):
    """Snakemake watches a rule's script; the package modules it imports reach the rule
    as a digest in its params (aiha.code_digest)."""
    path = small_project / "src/aiha" / module
    before = path.read_bytes()
    try:
        path.write_bytes(before + b"\n# an edit\n")
        proc = run_snakemake(small_project, "-n")
        jobs = planned_jobs(proc.stdout + proc.stderr)
    finally:
        path.write_bytes(before)
    assert reruns <= set(jobs), jobs
    assert not untouched & set(jobs), jobs
    proc = run_snakemake(small_project, "-n")
    assert planned_jobs(proc.stdout + proc.stderr) == {}
