"""Interrupted runs: a build killed (SIGKILL to the snakemake process group) at
three points and resumed gives byte-identical results; a second invocation on a
directory in use is refused by Snakemake's lock.

Recovery is what a user does after a crash or a killed job: ``snakemake --unlock``
(SIGKILL leaves the lock of the dead run behind, see below) and then
``snakemake --rerun-incomplete``. Snakemake marks each running job's outputs
incomplete in .snakemake/incomplete/ before the job starts and clears the mark
only after it ends, so the outputs of every killed job are rebuilt; the atomic
writers (``aiha.ard.write_tsv``, the PDF writer) never leave a half-written table
in place of an old one.

The three kill points run in one copy, one after another (one build in all):
once the demo FCS files exist, in the middle of the gating jobs, and
after the results table exists (audit, provenance and report still to come).
"""

from __future__ import annotations

import hashlib
import os
import signal
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

import psutil
import pytest

from conftest import SNAKEMAKE, copy_project, run_snakemake

pytestmark = pytest.mark.workflow


def _start(work: Path, *args: str) -> subprocess.Popen:
    cmd = [SNAKEMAKE, "--cores", "2", "--directory", str(work), "--snakefile",
           str(work / "Snakefile"), *args]
    log = open(work.parent / f"run-{time.monotonic_ns()}.log", "w")
    # Its own session: the snakemake process leads a process group of its jobs.
    return subprocess.Popen(cmd, cwd=work, stdout=log, stderr=subprocess.STDOUT,
                            start_new_session=True)


def _kill(proc: subprocess.Popen) -> None:
    """SIGKILL the snakemake process group (and any job that left the group)."""
    try:
        children = psutil.Process(proc.pid).children(recursive=True)
    except psutil.NoSuchProcess:
        children = []
    os.killpg(proc.pid, signal.SIGKILL)
    for child in children:
        try:
            child.kill()
        except psutil.NoSuchProcess:
            pass
    proc.wait(timeout=60)
    psutil.wait_procs(children, timeout=30)


def _wait_for(proc: subprocess.Popen, ready: Callable[[], bool], what: str,
              timeout: float = 600) -> None:
    end = time.monotonic() + timeout
    while not ready():
        assert proc.poll() is None, f"the build ended before the kill point: {what}"
        assert time.monotonic() < end, f"kill point not reached: {what}"
        time.sleep(0.05)


def _digests(root: Path, parts: tuple[str, ...] = ("results", "data")) -> dict[str, str]:
    out = {}
    for part in parts:
        for path in sorted((root / part).rglob("*")):
            rel = path.relative_to(root).as_posix()
            if path.is_file() and not rel.startswith("results/logs/"):
                out[rel] = hashlib.sha256(path.read_bytes()).hexdigest()
    return out


def test_killed_builds_resume_to_identical_results(demo_project: Path, tmp_path: Path):
    work = copy_project(tmp_path / "project")
    cyto = work / "data" / "demo" / "cytometry"
    gated = work / "results" / "cytometry" / "gated"
    scripts = work / ".snakemake" / "scripts"
    locks = work / ".snakemake" / "locks"

    def n_gated() -> int:
        return len(list(gated.glob("*.qc.tsv"))) if gated.is_dir() else 0

    def gating_started(since: float) -> bool:
        for script in scripts.glob("*.cytometry_gate.py") if scripts.is_dir() else ():
            try:
                if script.stat().st_mtime >= since:
                    return True
            except FileNotFoundError:  # the job just ended
                pass
        return False

    def fcs_written() -> bool:
        return cyto.is_dir() and any(cyto.glob("*.fcs"))

    kill_points = [
        # The demo generator writes its FCS files atomically, at the end of its job.
        ("once the demo FCS files exist (validation, first gating jobs)", lambda start: fcs_written()),
        # A gating job (one per patient) of this run is running: Snakemake's copy of
        # its script exists while it runs.
        ("in the middle of the gating jobs", lambda start: gating_started(start) and n_gated() < 2),
        ("after the results table, before audit and report",
         lambda start: (work / "results" / "ard" / "ard.tsv").exists()),
    ]
    refused = None
    for i, (what, ready) in enumerate(kill_points):
        args = ("--rerun-incomplete",) if i else ()
        start = time.time()  # wall clock: compared with file times
        proc = _start(work, *args)
        try:
            _wait_for(proc, lambda: any(locks.glob("*.lock")), "lock taken")
            if refused is None:
                # A second invocation while the first one runs: refused by the lock.
                refused = run_snakemake(work, "results/validation/clinical_inputs.tsv", check=False)
            _wait_for(proc, lambda: ready(start), what)
        finally:
            _kill(proc)
        # The dead run's lock stays behind (a restart would be refused) until --unlock.
        assert list((work / ".snakemake" / "locks").glob("*.lock")), what
        run_snakemake(work, "--unlock")
        assert not list((work / ".snakemake" / "locks").glob("*.lock")), what

    assert refused is not None and refused.returncode != 0
    # Refused by the lock, or (when it starts while the first run is writing the demo
    # exports) by Snakemake's check of the running job's incomplete outputs.
    assert ("Directory cannot be locked" in refused.stderr
            or "IncompleteFilesException" in refused.stderr), refused.stderr[-2000:]

    final = run_snakemake(work, "--rerun-incomplete")
    assert "Nothing to be done" not in final.stdout + final.stderr  # it did resume
    assert not list((work / "results").rglob(".*.tmp"))
    got, want = _digests(work), _digests(demo_project)
    assert sorted(got) == sorted(want)
    differ = [k for k in want if got[k] != want[k]]
    assert not differ, differ
    # and nothing is left to do
    dry = run_snakemake(work, "-n")
    assert "Nothing to be done" in dry.stdout + dry.stderr
