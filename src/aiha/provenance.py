"""Provenance of a build: code version, environment, inputs and who made each number."""

from __future__ import annotations

import hashlib
import json
import subprocess
from importlib import metadata
from pathlib import Path
from typing import Any

import pandas as pd

from aiha.ard import file_sha256


def git_state(repo: str | Path) -> dict[str, Any]:
    """Commit and dirty flag of the checkout (``unknown`` outside a git checkout).

    Dirty means tracked files differ from the commit; results/ and other
    ignored files do not count.
    """

    def git(*args: str) -> str:
        return subprocess.run(["git", "-C", str(repo), *args], capture_output=True, text=True,
                              check=True).stdout.strip()

    try:
        commit = git("rev-parse", "HEAD")
        dirty = bool(git("status", "--porcelain", "--untracked-files=no"))
    except (subprocess.CalledProcessError, FileNotFoundError):
        return {"commit": "unknown", "dirty": None}
    return {"commit": commit, "dirty": dirty}


def installed_packages() -> dict[str, str]:
    """Every installed distribution and its resolved version, sorted by name."""
    found: dict[str, str] = {}
    for dist in metadata.distributions():
        name = dist.metadata["Name"]
        if name:
            found[name.lower()] = dist.version
    return dict(sorted(found.items()))


def folder_digests(raw_inputs: dict[str, str]) -> dict[str, dict[str, Any]]:
    """Per folder of raw inputs: its number of files and one SHA-256 over them.

    The digest is that of the folder's ``sha256sum`` listing (one line
    ``<digest>  <path>`` per file, sorted by path), so
    ``sha256sum <the folder's files, sorted> | sha256sum`` reproduces it. The report
    prints one row per folder, whatever the number of files.
    """
    by_folder: dict[str, list[str]] = {}
    for path in sorted(raw_inputs):
        by_folder.setdefault(str(Path(path).parent), []).append(path)
    out: dict[str, dict[str, Any]] = {}
    for folder, paths in sorted(by_folder.items()):
        listing = "".join(f"{raw_inputs[p]}  {p}\n" for p in paths)
        out[folder] = {"files": len(paths),
                       "sha256": hashlib.sha256(listing.encode("utf-8")).hexdigest()}
    return out


def raw_input_digests(paths: list[str]) -> pd.DataFrame:
    """Every raw input file and its SHA-256, sorted by path (results/raw_inputs.tsv)."""
    return pd.DataFrame([{"path": p, "sha256": file_sha256(p)} for p in sorted(paths)],
                        columns=["path", "sha256"])


def build_provenance(
    git: dict[str, Any],
    snakemake_version: str,
    raw_inputs: dict[str, str],
    config_file: str,
    config: dict[str, Any],
    ard: pd.DataFrame,
) -> dict[str, Any]:
    """The provenance record written to results/provenance.json. ``raw_inputs``: path
    -> SHA-256 of every raw input (results/raw_inputs.tsv)."""
    digests = dict(sorted(raw_inputs.items()))
    made_by = (
        ard[["stat_id", "rule", "script"]]
        .drop_duplicates()
        .sort_values(["stat_id", "rule"])
        .to_dict("records")
    )
    return {
        "git": git,
        "snakemake": snakemake_version,
        "packages": installed_packages(),
        "data_cutoff": config["data"]["data_cutoff"],
        "config": {"file": config_file, "sha256": file_sha256(config_file)},
        "raw_inputs": digests,
        "raw_input_folders": folder_digests(digests),
        "statistics": made_by,
    }


def write_json(record: dict[str, Any], path: str | Path) -> None:
    """Deterministic JSON (sorted keys, fixed indentation, trailing newline)."""
    Path(path).write_text(json.dumps(record, indent=2, sort_keys=True, ensure_ascii=False) + "\n",
                          encoding="utf-8")
