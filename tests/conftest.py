"""Shared fixtures. The demo workflow is built once per test session, in a copy of
the project, and shared by every test that needs its results."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SNAKEMAKE = str(Path(sys.executable).with_name("snakemake"))
# What a copy of the project needs to run the workflow.
PROJECT_PARTS = ["Snakefile", "config.yaml", "workflow", "resources", "profiles", "src", "envs"]


def copy_project(dest: Path, source: Path = ROOT) -> Path:
    """Copy the workflow of ``source`` (not results/) into ``dest`` and return it."""
    dest.mkdir(parents=True, exist_ok=True)
    for part in PROJECT_PARTS:
        src = source / part
        if src.is_dir():
            shutil.copytree(src, dest / part, ignore=shutil.ignore_patterns("__pycache__"))
        elif src.exists():
            shutil.copy2(src, dest / part)
    return dest


def run_snakemake(
    workdir: Path, *args: str, check: bool = True, timeout: int = 1800
) -> subprocess.CompletedProcess[str]:
    """Run the workflow in ``workdir``; on failure with check=True show its output."""
    cmd = [SNAKEMAKE, "--cores", "2", "--directory", str(workdir), "--snakefile",
           str(workdir / "Snakefile"), *args]
    env = dict(os.environ)
    proc = subprocess.run(cmd, cwd=workdir, capture_output=True, text=True,
                          timeout=timeout, env=env)
    if check and proc.returncode != 0:
        raise AssertionError(
            f"snakemake failed ({proc.returncode}):\n{proc.stdout[-5000:]}\n{proc.stderr[-8000:]}"
        )
    return proc


@pytest.fixture(scope="session")
def demo_project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of the project with the full demo workflow built once."""
    work = copy_project(tmp_path_factory.mktemp("demo") / "project")
    run_snakemake(work)
    return work


@pytest.fixture(scope="session")
def demo_results(demo_project: Path) -> Path:
    """The results/ directory of the shared demo build."""
    return demo_project / "results"
