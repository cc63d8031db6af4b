"""Config checks, the config each job reads, the script runner and when the
cytometry arm runs."""

from __future__ import annotations

import copy
from pathlib import Path
from types import SimpleNamespace

import pytest
import yaml

from aiha.config_checks import check_config, merge_overrides
from aiha.cytometry.plan import cytometry_enabled
from aiha.errors import ConfigError, InputError
from aiha.jobs import run_script
from aiha.response import ResponseCriteria
from aiha.settings import analysis_config, scoring_config, statistics_config

ROOT = Path(__file__).resolve().parents[1]
SCHEMAS = ROOT / "workflow" / "schemas"


@pytest.fixture()
def config() -> dict:
    return yaml.safe_load((ROOT / "config.yaml").read_text(encoding="utf-8"))


def test_the_shipped_config_passes(config):
    check_config(config, SCHEMAS)


@pytest.mark.parametrize("path, value, message", [
    (("data", "data_cutoff"), "2023-02-30", r"data\.data_cutoff: '2023-02-30' is not a 'date'"),
    (("data", "data_cutoff"), "2023-13-01", r"data\.data_cutoff"),
    (("cleaning", "hard_limits", "hb_g_dl"), [25, 2], r"hb_g_dl: \[25, 2\] is not a range"),
    (("cleaning", "age_years"), [18, 18], r"age_years: \[18, 18\] is not a range"),
    (("cytometry", "claims", "depletion_window_days"), [42, 1], r"depletion_window_days"),
    (("response", "confirmation_reading"), "both", r"response\.confirmation_reading"),
    (("statistics", "km_ci_transform"), "arcsine", r"statistics\.km_ci_transform"),
])
def test_meaning_is_checked_with_the_key_named(config, path, value, message):
    target = config
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    with pytest.raises(ConfigError, match=message):
        check_config(config, SCHEMAS)


def test_each_variant_is_checked_after_merging(config):
    config["sensitivity"]["variants"]["odd"] = {"response": {"pr_rule": "xor"}}
    with pytest.raises(ConfigError, match=r"sensitivity\.variants\.odd gives .*pr_rule"):
        check_config(config, SCHEMAS)
    config["sensitivity"]["variants"]["odd"] = {"data": {"data_cutoff": "2023-02-29"}}
    with pytest.raises(ConfigError, match=r"variants\.odd gives .*data_cutoff"):
        check_config(config, SCHEMAS)


def test_audit_and_cytometry_sections_are_optional(config):
    del config["audit"]
    del config["cytometry"]
    check_config(config, SCHEMAS)
    assert not cytometry_enabled(config)


def test_merge_overrides_is_deep_and_leaves_the_config_alone(config):
    before = copy.deepcopy(config)
    merged = merge_overrides(config, {"response": {"pr_rule": "and"}}, "v")
    assert merged["response"]["pr_rule"] == "and"
    assert merged["response"]["pr_hb_g_dl"] == config["response"]["pr_hb_g_dl"]
    assert config == before


def test_each_job_gets_only_what_it_reads(config):
    scoring = scoring_config(config)
    assert set(scoring) == {"data_cutoff", "response"}
    assert set(scoring["response"]) == set(ResponseCriteria.keys())
    assert "acro_denominator" not in scoring["response"]
    stats = statistics_config(config)
    # days per month: the follow-up in months (rows followup_median).
    assert stats["response"] == {"acro_denominator": config["response"]["acro_denominator"],
                                 "days_per_month": config["response"]["days_per_month"]}
    assert "qc_tolerance" not in stats["statistics"]
    both = analysis_config(config)
    assert both["response"]["acro_denominator"] == config["response"]["acro_denominator"]
    assert both["response"]["pr_rule"] == config["response"]["pr_rule"]


def test_cytometry_runs_only_with_data(config, tmp_path):
    assert cytometry_enabled(config)  # the demo specification has cytometry patients
    config["cytometry"]["enabled"] = False
    assert not cytometry_enabled(config)
    config["cytometry"]["enabled"] = True
    config["data"].update(generate_demo=False, raw_dir=str(tmp_path))
    assert not cytometry_enabled(config)  # no cytometry/ folder
    (tmp_path / "cytometry").mkdir()
    with pytest.raises(InputError, match="samples.csv"):
        cytometry_enabled(config)  # a folder without its sheet is an error, not silence


def _sm(tmp_path: Path) -> SimpleNamespace:
    return SimpleNamespace(log=[str(tmp_path / "rule.log")])


def test_runner_prints_bad_input_in_one_line_and_exits_1(tmp_path, capsys):
    def main(sm):
        raise InputError("site/labs.csv", "not a number", row=3, column="value", value="x")

    with pytest.raises(SystemExit) as stop:
        run_script(main, _sm(tmp_path))
    assert stop.value.code == 1
    line = "ERROR: file site/labs.csv, row 3, column 'value', value 'x': not a number"
    assert (tmp_path / "rule.log").read_text().strip() == line
    assert capsys.readouterr().err.strip() == line


def test_runner_leaves_the_traceback_in_the_log(tmp_path):
    def main(sm):
        print("working", file=__import__("sys").stderr)
        {}["missing"]

    with pytest.raises(SystemExit):
        run_script(main, _sm(tmp_path))
    log = (tmp_path / "rule.log").read_text()
    assert log.startswith("working")
    assert "Traceback (most recent call last)" in log and "KeyError: 'missing'" in log


def test_make_audit_without_claims_says_so_and_exits_0(tmp_path):
    import shutil
    import subprocess

    for part in ("Makefile", "config.yaml"):
        shutil.copy(ROOT / part, tmp_path / part)
    cfg = yaml.safe_load((tmp_path / "config.yaml").read_text())
    cfg["audit"]["claims"] = None
    (tmp_path / "config.yaml").write_text(yaml.safe_dump(cfg))
    venv = tmp_path / ".venv"
    (venv / "bin").mkdir(parents=True)
    wrapper = venv / "bin" / "python"
    wrapper.write_text(f'#!/bin/sh\nexec {__import__("sys").executable} "$@"\n')
    wrapper.chmod(0o755)
    (venv / ".installed").touch()
    import os
    import time
    # make must not rebuild the venv: its marker is newer than the lock files.
    for lock in ("requirements.lock", "pyproject.toml"):
        (tmp_path / lock).write_text("")
        os.utime(tmp_path / lock, (time.time() - 60, time.time() - 60))
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    proc = subprocess.run(["make", "-s", "audit"], cwd=tmp_path, capture_output=True, text=True,
                          env=env)
    assert proc.returncode == 0, proc.stderr
    assert "this study has no audit" in proc.stdout


def test_defaults_fill_what_an_older_config_leaves_out(config):
    from aiha.config_checks import fill_defaults

    del config["response"]["confirmation_reading"]
    del config["statistics"]["km_ci_transform"]
    del config["statistics"]["km_tie_rule"]
    del config["sensitivity"]["jobs"]
    del config["cytometry"]["enabled"]
    del config["qc"]
    fill_defaults(config, SCHEMAS)
    check_config(config, SCHEMAS)  # the confirm_pair variant overrides a filled key
    assert config["response"]["confirmation_reading"] == "span"
    # R survival's conventions are the defaults (issue 23).
    assert config["statistics"]["km_ci_transform"] == "log"
    assert config["statistics"]["km_tie_rule"] == "r_survival"
    assert config["qc"] == {"r_double_programming": True}
    assert config["sensitivity"]["jobs"] == "single"
    assert config["cytometry"]["enabled"] is True


def test_flow_claims_and_summary_figures_read_only_their_part_of_cytometry(config):
    from aiha.cytometry.claims import ClaimSettings
    from aiha.settings import cytometry_claims_config, cytometry_summary_figures_config

    cyto = config["cytometry"]
    claims = cytometry_claims_config(cyto)
    # What ClaimSettings reads, read from the subset, equals it read from the section.
    assert ClaimSettings.from_config(claims) == ClaimSettings.from_config(cyto)
    changed = copy.deepcopy(cyto)
    changed["transform"] = "asinh"
    changed["figures"]["proliferation_visits"] = ["baseline"]
    changed["qc"]["min_events_kept"] = 1
    assert cytometry_claims_config(changed) == claims
    assert cytometry_summary_figures_config(changed) == cytometry_summary_figures_config(cyto)
    changed["claims"]["depletion_threshold_percent"] = 2
    assert cytometry_claims_config(changed) != claims
    changed = copy.deepcopy(cyto)
    changed["figures"]["summary_max_patients"] = 1
    assert cytometry_summary_figures_config(changed) != cytometry_summary_figures_config(cyto)
    assert cytometry_claims_config(changed) == claims
