"""Provenance of a build: code version, environment, inputs and who made each number."""

from __future__ import annotations

import hashlib
import hmac
import json
import subprocess
from importlib import metadata
from pathlib import Path
from typing import Any

import pandas as pd
import yaml

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


# Domain-separation string of the pseudonym key's fingerprint: the fingerprint is the
# HMAC-SHA256 of this message under the key, so it identifies the key (two runs with
# the same fingerprint used the same key) without revealing it or any pseudonym.
KEY_FINGERPRINT_MESSAGE = b"aiha pseudonym key fingerprint v1"


def key_fingerprint(key: bytes) -> str:
    """A digest that identifies the pseudonym key without revealing it:
    HMAC-SHA256(key, ``KEY_FINGERPRINT_MESSAGE``) in hex. It is no pseudonym (the
    message is no ``site|record`` pair) and gives nothing about the key."""
    return hmac.new(key, KEY_FINGERPRINT_MESSAGE, hashlib.sha256).hexdigest()


def canonical_yaml(config: Any) -> str:
    """The config as canonical YAML: keys sorted, block style, UTF-8, plain scalars
    as YAML writes them. Equal configs give equal bytes, whatever the order of the
    files and overrides they were merged from."""
    return yaml.safe_dump(_plain(config), sort_keys=True, default_flow_style=False,
                          allow_unicode=True, width=1000)


def _plain(value: Any) -> Any:
    """Snakemake's config objects (Mapping, tuple) as plain dicts and lists."""
    if isinstance(value, dict) or hasattr(value, "items"):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value


def config_sources(workflow_configfiles: list[str], cli_configfiles: list[Any],
                   overrides: Any, workdir: str | Path) -> dict[str, Any]:
    """Where the config in force came from, in merge order: the workflow's own
    ``configfile:`` (``config.yaml``), then each ``--configfile`` in order, then the
    ``--config`` key=value overrides. Paths under ``workdir`` are given relative
    to it. (Snakemake 9: ``workflow.configfiles`` lists every file loaded,
    ``workflow.overwrite_configfiles`` the command line's, absolute;
    ``workflow.config_settings.config`` the overrides.)"""
    base = Path(workdir).resolve()

    def shown(path: Any) -> str:
        p = Path(path)
        try:
            return str(p.resolve().relative_to(base))
        except ValueError:
            return str(p)

    cli = [shown(p) for p in cli_configfiles]
    own = [shown(p) for p in workflow_configfiles if shown(p) not in cli]
    return {"files": own + cli, "overrides": _plain(overrides or {})}


def config_record(sources: dict[str, Any], in_force: str | Path) -> dict[str, Any]:
    """The config of a build: each file merged (path and SHA-256, in merge order),
    the ``--config`` overrides and the SHA-256 of the merged config in force
    (``results/config_in_force.yaml``, canonical YAML)."""
    return {
        "files": [{"path": p, "sha256": file_sha256(p) if Path(p).is_file() else "missing"}
                  for p in sources["files"]],
        "overrides": {str(k): v for k, v in sorted(dict(sources.get("overrides") or {}).items())},
        "in_force": {"file": str(in_force), "sha256": file_sha256(in_force)},
    }


def input_files_record(files: dict[str, list[str] | str]) -> list[dict[str, str]]:
    """Study inputs other than the raw exports, each with its SHA-256: ``files`` is
    role -> path (or paths), e.g. the GatingML files or FlowJo workspaces, the
    claims file, the site profiles. Sorted by role, then path."""
    rows = []
    for role, paths in sorted(files.items()):
        for p in sorted([paths] if isinstance(paths, str) else paths):
            rows.append({"role": role, "path": str(p), "sha256": file_sha256(p)})
    return rows


def build_provenance(
    git: dict[str, Any],
    snakemake_version: str,
    raw_inputs: dict[str, str],
    config: dict[str, Any],
    ard: pd.DataFrame,
    config_in_force: dict[str, Any],
    input_files: list[dict[str, str]] | None = None,
    key_fingerprint_hex: str | None = None,
) -> dict[str, Any]:
    """The provenance record written to results/provenance.json. ``raw_inputs``: path
    -> SHA-256 of every raw input (results/raw_inputs.tsv); ``config_in_force``: from
    :func:`config_record`; ``input_files``: from :func:`input_files_record`;
    ``key_fingerprint_hex``: from :func:`key_fingerprint` (never the key)."""
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
        "data_cutoff": str(config["data"]["data_cutoff"]),
        "config": config_in_force,
        "input_files": list(input_files or []),
        "pseudonym_key": {"fingerprint": key_fingerprint_hex or "",
                          "method": "HMAC-SHA256(key, \"" + KEY_FINGERPRINT_MESSAGE.decode() + "\")"},
        "raw_inputs": digests,
        "raw_input_folders": folder_digests(digests),
        "statistics": made_by,
    }


def write_json(record: dict[str, Any], path: str | Path) -> None:
    """Deterministic JSON (sorted keys, fixed indentation, trailing newline)."""
    Path(path).write_text(json.dumps(record, indent=2, sort_keys=True, ensure_ascii=False) + "\n",
                          encoding="utf-8")
