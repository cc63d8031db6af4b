"""Workflow benchmarks: demo full rebuild, no-op rerun, incremental rebuild after
touching one FCS file, per-script peak memory, and scale-up of the demo cohort.

    .venv/bin/python benchmarks/workflow_bench.py [--repeats 2] [--scales 1 10 100]
        [--run-scales 1 10] [--events 5000]

Each measurement runs the real workflow in a fresh copy of the project (set-up
excluded). Results go to benchmarks/out/workflow_bench.json and are printed as
Markdown for benchmarks/README.md. Times are wall-clock medians.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from datetime import date
from pathlib import Path

import psutil
import yaml

ROOT = Path(__file__).resolve().parents[1]
SNAKEMAKE = str(Path(sys.executable).with_name("snakemake"))
PARTS = ["Snakefile", "config.yaml", "workflow", "resources", "envs", "src", "profiles"]


def copy_project(dest: Path, multiplier: int = 1, events: int | None = None) -> Path:
    dest.mkdir(parents=True)
    for part in PARTS:
        src = ROOT / part
        if src.is_dir():
            shutil.copytree(src, dest / part, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy2(src, dest / part)
    cfg = yaml.safe_load((dest / "config.yaml").read_text())
    cfg["data"]["demo_multiplier"] = multiplier
    if events:
        cfg["cytometry"]["demo"]["events_per_file"] = events
    (dest / "config.yaml").write_text(yaml.safe_dump(cfg, sort_keys=False))
    return dest


class PeakMemory:
    """Samples the workflow's process tree; peak RSS per workflow script."""

    def __init__(self, root_pid: int) -> None:
        self.root = psutil.Process(root_pid)
        self.peaks: dict[str, float] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                procs = self.root.children(recursive=True)
            except psutil.Error:
                break
            for p in procs:
                try:
                    cmd = " ".join(p.cmdline())
                    rss = p.memory_info().rss / 2**20
                except psutil.Error:
                    continue
                m = re.search(r"tmp\w+\.(\w+)\.py", cmd)
                if m:
                    self.peaks[m.group(1)] = max(self.peaks.get(m.group(1), 0.0), rss)
            time.sleep(0.1)

    def stop(self) -> dict[str, float]:
        self._stop.set()
        self._thread.join()
        return dict(sorted(self.peaks.items()))


def snakemake(workdir: Path, *args: str, memory: bool = False) -> tuple[float, str, dict]:
    cmd = [SNAKEMAKE, "--cores", "2", "--directory", str(workdir), *args]
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=workdir, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True)
    mon = PeakMemory(proc.pid) if memory else None
    out, _ = proc.communicate()
    elapsed = time.perf_counter() - start
    peaks = mon.stop() if mon else {}
    if proc.returncode != 0:
        raise SystemExit(f"snakemake {' '.join(args)} failed in {workdir}:\n{out[-4000:]}")
    return elapsed, out, peaks


def job_counts(dry_run_output: str) -> dict[str, int]:
    counts: dict[str, int] = {}
    block = dry_run_output.split("Job stats:", 1)[-1].split("Reasons:", 1)[0]
    for line in block.splitlines():
        m = re.match(r"^(\w+)\s+(\d+)$", line.strip())
        if m and m.group(1) not in ("job", "total"):
            counts[m.group(1)] = int(m.group(2))
    return counts


def fcs_files(workdir: Path) -> list[Path]:
    cfg = yaml.safe_load((workdir / "config.yaml").read_text())
    return sorted((workdir / cfg["data"]["raw_dir"] / "cytometry").glob("*.fcs"))


def bench_demo(tmp: Path, repeats: int) -> dict:
    full, noop = [], []
    peaks: dict[str, float] = {}
    work = tmp
    for i in range(repeats):
        work = copy_project(tmp / f"demo{i}")
        t, _, p = snakemake(work, "-q", memory=True)
        full.append(t)
        for k, v in p.items():
            peaks[k] = max(peaks.get(k, 0.0), v)
    for _ in range(5):
        noop.append(snakemake(work, "-q")[0])
    target = fcs_files(work)[0]
    os.utime(target)
    _, dry, _ = snakemake(work, "-n")
    rerun = job_counts(dry)
    inc, _, _ = snakemake(work, "-q")
    render, _, _ = snakemake(work, "-q", "--forcerun", "render_report")
    return {
        "full_rebuild_s": full, "full_rebuild_median_s": statistics.median(full),
        "noop_s": noop, "noop_median_s": statistics.median(noop),
        "touched": target.name, "incremental_jobs": rerun, "incremental_s": inc,
        "render_report_s": render, "peak_rss_mib_by_script": peaks,
    }


def bench_scale(tmp: Path, multiplier: int, run: bool, events: int) -> dict:
    work = copy_project(tmp / f"scale{multiplier}", multiplier,
                        None if multiplier == 1 else events)
    dry = [snakemake(work, "-n", "-q")[0] for _ in range(3)]
    _, out, _ = snakemake(work, "-n")
    jobs = job_counts(out)
    result = {"multiplier": multiplier, "patients": 20 * multiplier,
              "fcs_files": jobs.get("cytometry_gate_sample", 0), "jobs": sum(jobs.values()),
              "dry_run_median_s": statistics.median(dry),
              "events_per_file": None if multiplier == 1 else events}
    if run:
        t, _, peaks = snakemake(work, "-q", memory=True)
        render, _, _ = snakemake(work, "-q", "--forcerun", "render_report")
        result.update({"full_run_s": t, "per_patient_s": t / result["patients"],
                       "per_fcs_file_s": t / max(1, result["fcs_files"]),
                       "render_report_s": render, "peak_rss_mib_by_script": peaks})
    return result


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=2)
    ap.add_argument("--scales", type=int, nargs="*", default=[1, 10, 100])
    ap.add_argument("--run-scales", type=int, nargs="*", default=[1, 10])
    ap.add_argument("--events", type=int, default=5000)
    ap.add_argument("--skip-demo", action="store_true")
    args = ap.parse_args()
    record: dict = {
        "date": date.today().isoformat(), "machine": platform.platform(),
        "cpus": os.cpu_count(), "python": platform.python_version(),
        "load_average_at_start": os.getloadavg(),
    }
    with tempfile.TemporaryDirectory(prefix="aiha-bench-") as tmp:
        if not args.skip_demo:
            record["demo"] = bench_demo(Path(tmp), args.repeats)
            print(json.dumps(record["demo"], indent=1), flush=True)
        record["scale"] = []
        for m in args.scales:
            record["scale"].append(bench_scale(Path(tmp), m, m in args.run_scales, args.events))
            print(json.dumps(record["scale"][-1], indent=1), flush=True)
    record["load_average_at_end"] = os.getloadavg()
    out = ROOT / "benchmarks" / "out"
    out.mkdir(parents=True, exist_ok=True)
    (out / "workflow_bench.json").write_text(json.dumps(record, indent=2) + "\n")
    print(f"wrote {out / 'workflow_bench.json'}")


if __name__ == "__main__":
    main()
