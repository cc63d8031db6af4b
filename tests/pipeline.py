"""The clinical chain in one process, for tests that change an input or a config
value and compare outputs: raw site exports -> cleaning -> response scoring -> ADaM
datasets (Dataset-JSON) -> ARD rows of the clinical statistics and the clinical
content, assembled. Each step is the workflow's own script (``workflow/scripts``)
run with the params its rule builds from the config (:mod:`aiha.settings`,
:mod:`aiha.clinical_plan`), so a setting that does not reach its use shows here;
no Snakemake (its scheduling is tested elsewhere).
"""

from __future__ import annotations

import copy
import csv
import io
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import pandas as pd
import yaml

from aiha.adam import read_datasets
from aiha.ard import read_tsv
from aiha.cleaning import load_site_profiles
from aiha.cleaning.profiles import read_profiles_yaml
from aiha.config_checks import fill_defaults
from aiha.demo.cohort import load_spec
from aiha.demo.exports import build_site_exports, write_exports
from aiha.settings import adam_config, content_config, scoring_config, statistics_config
from conftest import ROOT

KEY = b"pipeline-test-key-0123456789"
CONFIG = yaml.safe_load((ROOT / "config.yaml").read_text(encoding="utf-8"))
fill_defaults(CONFIG, ROOT / "workflow" / "schemas")
SITES_YAML = ROOT / "resources" / "sites.yaml"
CLEAN_TABLES = ("patients", "labs", "transfusions", "treatments", "adverse_events")

Exports = dict[str, dict[str, str]]  # site -> table -> CSV text


@dataclass
class Outputs:
    clean: dict[str, pd.DataFrame]
    log: pd.DataFrame
    responses: pd.DataFrame
    adam: dict[str, pd.DataFrame]
    ard: pd.DataFrame  # stat_id, group, statistic, value (clinical + content)
    km: pd.DataFrame


def demo_exports(spec: Path = ROOT / "resources" / "demo" / "cohort.yaml") -> Exports:
    return build_site_exports(load_spec(spec), site_profiles_raw())


def site_profiles_raw(path: Path = SITES_YAML) -> dict[str, Any]:
    """The ``sites`` mapping of a profiles file (anchors resolved)."""
    return copy.deepcopy(read_profiles_yaml(path)["sites"])


def write_profiles(sites: dict[str, Any], path: Path) -> Path:
    path.write_text(yaml.safe_dump({"sites": sites}, allow_unicode=True, sort_keys=True),
                    encoding="utf-8")
    return path


def config(**changes: Any) -> dict[str, Any]:
    """The project config with ``section__key=value`` changes."""
    cfg = copy.deepcopy(CONFIG)
    for key, value in changes.items():
        section, name = key.split("__", 1)
        cfg[section][name] = value
    return cfg


def rows_of(text: str, delimiter: str) -> tuple[list[str], list[list[str]]]:
    """Header and data rows of one export's CSV text."""
    rows = [r for r in csv.reader(io.StringIO(text, newline=""), delimiter=delimiter) if r]
    return rows[0], rows[1:]


def csv_text(header: list[str], rows: list[list[str]], delimiter: str) -> str:
    buf = io.StringIO()
    writer = csv.writer(buf, delimiter=delimiter, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    return buf.getvalue()


def edit_rows(exports: Exports, site: str, table: str, delimiter: str,
              fn: Callable[[list[str], list[list[str]]], list[list[str]]]) -> Exports:
    """A copy of ``exports`` with one table's data rows replaced by ``fn(header, rows)``."""
    out = {s: dict(t) for s, t in exports.items()}
    header, rows = rows_of(out[site][table], delimiter)
    out[site][table] = csv_text(header, fn(header, [list(r) for r in rows]), delimiter)
    return out


class JobFailed(Exception):
    """A workflow script exited non-zero; ``log`` holds what it wrote."""

    def __init__(self, script: str, log: str) -> None:
        super().__init__(f"{script} failed: {log.strip()}")
        self.log = log


def run_job(script: str, work: Path, inputs: dict[str, Any], outputs: dict[str, Any],
            params: dict[str, Any], rule: str | None = None) -> None:
    """``workflow/scripts/<script>.py`` run in this process with a plain stand-in for
    Snakemake's ``snakemake`` object (what the rule passes: input, output, params, log)."""
    import runpy
    from types import SimpleNamespace

    from aiha.jobs import Files

    log = work / "logs" / f"{rule or script}.log"
    log.parent.mkdir(parents=True, exist_ok=True)

    def files(named: dict[str, Any]) -> Files:
        flat = [str(x) for v in named.values() for x in (v if isinstance(v, list) else [v])]
        return Files(flat, {k: (list(map(str, v)) if isinstance(v, list) else str(v))
                            for k, v in named.items()})
    sm = SimpleNamespace(input=files(inputs), output=files(outputs), log=Files([str(log)], {}),
                         params=SimpleNamespace(**params), rule=rule or script,
                         wildcards=Files([], {}))
    try:
        runpy.run_path(str(ROOT / "workflow" / "scripts" / f"{script}.py"),
                       init_globals={"snakemake": sm}, run_name="__main__")
    except SystemExit as err:
        if err.code:
            raise JobFailed(script, log.read_text(encoding="utf-8")) from None


def run(exports: Exports, work: Path, cfg: dict[str, Any] | None = None,
        profiles_path: Path = SITES_YAML) -> Outputs:
    """Clean, score, derive and analyse ``exports`` in ``work`` (created), through the
    workflow's scripts with the params its rules build from ``cfg`` (aiha.settings,
    aiha.clinical_plan)."""
    from aiha.adam import NAMES as ADAM_DATASETS
    from aiha.clinical_plan import clinical_params

    cfg = cfg or config()
    work.mkdir(parents=True, exist_ok=True)
    profiles = load_site_profiles(profiles_path)
    sites = sorted(exports)
    raw_dir = work / "raw"
    written = write_exports(exports, raw_dir, {s: profiles[s].encoding for s in sites})
    key = work / "key.txt"
    key.write_bytes(KEY)
    clean = {name: work / "clinical" / f"{name}.tsv" for name in CLEAN_TABLES}
    cleaning_inputs = {"raw": [str(p) for p in sorted(written)],
                       "site_profiles": str(profiles_path), "key": str(key)}
    run_job("clean_clinical", work, cleaning_inputs,
            {**clean, "cleaning_log": work / "clinical" / "cleaning_log.tsv"},
            {**clinical_params(cfg, sites), "code": ""}, rule="clean_clinical")
    responses = work / "response" / "responses.tsv"
    responses.parent.mkdir(parents=True, exist_ok=True)
    run_job("score_responses", work, {k: clean[k] for k in ("patients", "labs", "transfusions",
                                                            "treatments")},
            {"responses": responses}, {"cfg": scoring_config(cfg), "code": ""})
    adam_dir = work / "adam"
    adam_dir.mkdir(exist_ok=True)
    adam_files = {n: adam_dir / f"{n.lower()}.json" for n in ADAM_DATASETS}
    soc_map = Path(cfg["safety"]["soc_map"])
    run_job("adam_datasets", work, {**clean, "responses": responses,
                                    "soc_map": str(soc_map if soc_map.is_absolute()
                                                   else ROOT / soc_map)},
            {"json": list(adam_files.values()),
             "xpt": [adam_dir / f"{n.lower()}.xpt" for n in ADAM_DATASETS],
             "variables": adam_dir / "variables.tsv"}, {"cfg": adam_config(cfg), "code": ""})
    stats = work / "stats"
    stats.mkdir(exist_ok=True)
    run_job("clinical_statistics", work,
            {n.lower(): adam_files[n] for n in ("ADSL", "ADRS", "ADTTE", "ADAE")},
            {"ard": stats / "clinical_ard.tsv", "km": stats / "km_curve.tsv"},
            {"cfg": statistics_config(cfg), "code": ""})
    run_job("content_statistics", work,
            {n.lower(): adam_files[n] for n in ("ADSL", "ADTTE", "ADEX", "ADCM", "ADPR", "ADAE")},
            {"ard": stats / "content_ard.tsv"}, {"cfg": content_config(cfg), "code": ""},
            rule="clinical_content")
    run_job("assemble_ard", work, {"clinical": stats / "clinical_ard.tsv",
                                   "content": stats / "content_ard.tsv"},
            {"ard": work / "ard.tsv"}, {"code": ""})
    from aiha.ard import read_ard

    ard = read_ard(work / "ard.tsv")[["stat_id", "group", "statistic", "value"]]
    return Outputs({n: read_tsv(p) for n, p in clean.items()},
                   read_tsv(work / "clinical" / "cleaning_log.tsv"), read_tsv(responses),
                   read_datasets({n: p for n, p in adam_files.items()}),
                   ard.reset_index(drop=True), read_tsv(stats / "km_curve.tsv"))
