"""The clinical chain in one process, for tests that change an input and compare
outputs: raw site exports -> cleaning -> response scoring -> ADaM datasets (written
as Dataset-JSON and read back, as the workflow does) -> ARD rows of the clinical
statistics and the clinical content. The same library functions, with the same
config slices (:mod:`aiha.settings`), as the workflow's rules; no Snakemake.
"""

from __future__ import annotations

import copy
import csv
import io
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any, Callable

import pandas as pd
import yaml

from aiha.adam import derive_all, read_datasets
from aiha.adam.write import write_all
from aiha.ard import read_tsv, stats_to_frame, write_tsv
from aiha.cleaning import CleaningLimits, clean_study, load_site_profiles
from aiha.cleaning.profiles import read_profiles_yaml
from aiha.clinical_content import content_statistics
from aiha.config_checks import fill_defaults
from aiha.demo.cohort import load_spec
from aiha.demo.exports import build_site_exports, write_exports
from aiha.response import ResponseCriteria, score_cohort
from aiha.settings import adam_config, content_config, scoring_config, statistics_config
from aiha.statistics import adam_statistics
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


def run(exports: Exports, work: Path, cfg: dict[str, Any] | None = None,
        profiles_path: Path = SITES_YAML, export_date: date = date(2026, 1, 1)) -> Outputs:
    """Clean, score, derive and analyse ``exports`` in ``work`` (created)."""
    cfg = cfg or config()
    work.mkdir(parents=True, exist_ok=True)
    profiles = load_site_profiles(profiles_path)
    sites = sorted(exports)
    raw_dir = work / "raw"
    write_exports(exports, raw_dir, {s: profiles[s].encoding for s in sites})
    tables = clean_study(raw_dir, sites, profiles, KEY, date.fromisoformat(
        str(cfg["data"]["data_cutoff"])), CleaningLimits.from_config(cfg["cleaning"]),
        export_date=export_date)
    clean = {}
    for name in CLEAN_TABLES:  # through TSV, as the workflow reads them
        write_tsv(getattr(tables, name), work / f"{name}.tsv")
        clean[name] = read_tsv(work / f"{name}.tsv")
    sc = scoring_config(cfg)
    responses = score_cohort(patients=clean["patients"], labs=clean["labs"],
                             transfusions=clean["transfusions"],
                             treatments=clean["treatments"],
                             cutoff=date.fromisoformat(sc["data_cutoff"]),
                             c=ResponseCriteria.from_config(sc["response"]))
    write_tsv(responses, work / "responses.tsv")
    responses = read_tsv(work / "responses.tsv")
    acfg = adam_config(cfg)
    frames = derive_all({**clean, "responses": responses}, acfg)
    write_all(frames, work / "adam", acfg)
    adam = read_datasets({name: work / "adam" / f"{name.lower()}.json" for name in frames})
    stats, km = adam_statistics(adam, cfg=statistics_config(cfg))
    content = content_statistics(adam, cfg=content_config(cfg))
    ard = stats_to_frame([*stats, *content], rule="test", script="test", inputs_sha256="-")
    ard = ard[["stat_id", "group", "statistic", "value"]].reset_index(drop=True)
    return Outputs(clean, tables.log, responses, adam, ard, km)
