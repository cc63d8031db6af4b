"""The one-process floor of the demo rebuild, and the rebuild as a multiple of it.

    .venv/bin/python benchmarks/floor.py [--repeats 3] [--no-readme]

1. Record: the workflow runs once in a fresh copy of the project with
   ``AIHA_RECORD_JOBS`` set; every job saves what it gets (rule, input, output,
   log, params; ``aiha.jobs.record_job``), in the order the jobs ran (one core).
2. Floor: in another fresh copy, ONE Python process imports what the workflow's
   jobs import (snakemake.api, flowkit, lifelines, weasyprint, matplotlib, pandas,
   statsmodels) and runs every recorded job's script in that order, in-process:
   the demo's work with none of the per-job start-up. Its wall time, Python start
   included, is the floor. The ARD it writes must equal the workflow's, byte for
   byte (else the floor did other work).
3. Rebuild: ``snakemake --cores 2`` in a fresh copy (``results/``, ``.snakemake/``
   and the demo data absent, venv kept), the same as ``workflow_bench.py``.
4. No-op: ``snakemake --cores 2`` again on the built copy, against a Snakefile with
   no rules in the same venv.

Medians of ``--repeats``; the table goes into benchmarks/README.md between the
``floor-bench`` markers, with the machine and date.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import pickle
import re
import runpy
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from record import machine, machine_line, write_section  # noqa: E402
from workflow_bench import copy_project  # noqa: E402  (one copy of the project for every bench)

ROOT = Path(__file__).resolve().parents[1]
SNAKEMAKE = str(Path(sys.executable).with_name("snakemake"))
IMPORTS = ("snakemake.api", "flowkit", "lifelines", "weasyprint", "matplotlib", "pandas",
           "statsmodels.api")
TARGETS = {"rebuild_over_floor": 2.0, "noop_over_empty": 1.2}


def run(cmd: list[str], cwd: Path, env: dict | None = None) -> float:
    start = time.perf_counter()
    proc = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True,
                          env={**os.environ, **(env or {})})
    elapsed = time.perf_counter() - start
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed in {cwd}:\n{proc.stdout[-3000:]}\n"
                         f"{proc.stderr[-3000:]}")
    return elapsed


def snakemake(work: Path, *args: str, env: dict | None = None) -> float:
    return run([SNAKEMAKE, "--cores", "2", "-q", "--directory", str(work), *args], work, env)


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def record(tmp: Path) -> tuple[Path, Path]:
    """Run the workflow once on one core, recording every job; return the
    recordings folder and the built project."""
    work = copy_project(tmp / "recorded")
    jobs = tmp / "jobs"
    jobs.mkdir()
    run([SNAKEMAKE, "--cores", "1", "-q", "--directory", str(work)], work,
        {"AIHA_RECORD_JOBS": str(jobs)})
    return jobs, work


def replay(jobs: Path, work: Path) -> None:
    """The floor process: imports, then every recorded job in order (in-process)."""
    import importlib

    for name in IMPORTS:
        importlib.import_module(name)
    os.chdir(work)
    sys.path.insert(0, str(work / "src"))
    for path in sorted(jobs.glob("*.pkl"), key=lambda p: int(p.name.split("-")[0])):
        job = pickle.loads(path.read_bytes())
        script = re.sub(r"^tmp\w+\.", "", Path(job.script).name)
        for out in job.output:
            Path(out).parent.mkdir(parents=True, exist_ok=True)
        for log in job.log:
            Path(log).parent.mkdir(parents=True, exist_ok=True)
        runpy.run_path(str(work / "workflow" / "scripts" / script),
                       init_globals={"snakemake": job}, run_name="__floor__")


def floor(tmp: Path, jobs: Path, index: int) -> float:
    work = copy_project(tmp / f"floor-{index}")
    seconds = run([sys.executable, __file__, "--replay", str(jobs), str(work)], work,
                  {"PYTHONPATH": str(work / "src")})
    return seconds


def empty_noop(tmp: Path) -> float:
    work = tmp / "empty"
    work.mkdir(exist_ok=True)
    (work / "Snakefile").write_text("# no rules\n")
    return snakemake(work, "--snakefile", str(work / "Snakefile"))


# Config changes and touches whose reruns are recorded: (label, change).
def _set(*path_value):
    *path, value = path_value

    def change(cfg: dict) -> None:
        target = cfg
        for key in path[:-1]:
            target = target[key]
        target[path[-1]] = value
    return change


CHANGES = [
    ("response.pr_rule: or -> and", _set("response", "pr_rule", "and")),
    ("response.confirmation_min_days: 7 -> 28", _set("response", "confirmation_min_days", 28)),
    ("statistics.km_tie_rule: lower -> midpoint", _set("statistics", "km_tie_rule", "midpoint")),
    ("statistics.qc_tolerance: 1e-9 -> 1e-8", _set("statistics", "qc_tolerance", 1e-8)),
    ("cytometry.claims.depletion_threshold_percent: 1 -> 2",
     _set("cytometry", "claims", "depletion_threshold_percent", 2.0)),
    ("cytometry.transform: logicle -> asinh", _set("cytometry", "transform", "asinh")),
    ("report.title", _set("report", "title", "Another title")),
]


def reruns(work: Path, tmp: Path) -> list[tuple[str, dict[str, int]]]:
    """The jobs each change would rerun (dry run with a changed copy of the config)."""
    import yaml

    out = []
    for label, change in CHANGES:
        cfg = yaml.safe_load((work / "config.yaml").read_text())
        change(cfg)
        path = tmp / "changed.yaml"
        path.write_text(yaml.safe_dump(cfg, sort_keys=False))
        proc = subprocess.run([SNAKEMAKE, "-n", "--cores", "2", "--directory", str(work),
                               "--configfile", str(path)], cwd=work, capture_output=True,
                              text=True)
        jobs: dict[str, int] = {}
        block = (proc.stdout + proc.stderr).split("Job stats:", 1)[-1].split("Reasons:", 1)[0]
        for line in block.splitlines():
            m = re.match(r"^(\w+)\s+(\d+)$", line.strip())
            if m and m.group(1) not in ("job", "total", "all"):
                jobs[m.group(1)] = int(m.group(2))
        out.append((label, jobs))
    return out


def measure(repeats: int) -> dict:
    with tempfile.TemporaryDirectory(prefix="aiha-floor-") as t:
        tmp = Path(t)
        jobs, recorded = record(tmp)
        n_jobs = len(list(jobs.glob("*.pkl")))
        floors, rebuilds = [], []
        for i in range(repeats):
            floors.append(floor(tmp, jobs, i))
            work = copy_project(tmp / f"rebuild-{i}")
            rebuilds.append(snakemake(work))
        same_ard = sha256(tmp / "floor-0" / "results/ard/ard.tsv") == \
            sha256(tmp / "rebuild-0" / "results/ard/ard.tsv")
        same_pdf_numbers = sha256(tmp / "floor-0" / "results/report/staging/study_report.html") == \
            sha256(tmp / "rebuild-0" / "results/report/staging/study_report.html")
        noop = [snakemake(tmp / "rebuild-0") for _ in range(5)]
        changes = reruns(tmp / "rebuild-0", tmp)
        empty = [empty_noop(tmp) for _ in range(5)]
    f, r = statistics.median(floors), statistics.median(rebuilds)
    n, e = statistics.median(noop), statistics.median(empty)
    return {"jobs": n_jobs, "floor_s": floors, "rebuild_s": rebuilds, "noop_s": noop,
            "empty_noop_s": empty, "floor_median_s": f, "rebuild_median_s": r,
            "noop_median_s": n, "empty_noop_median_s": e, "rebuild_over_floor": r / f,
            "noop_over_empty": n / e, "same_ard": same_ard, "same_html": same_pdf_numbers,
            "reruns": changes}


def table(res: dict, m: dict, load_end: list[float]) -> str:
    def met(key: str) -> str:
        return "met" if res[key] <= TARGETS[key] else "NOT met"

    lines = [
        machine_line(m, load_end), "",
        "| measure | median | runs | ratio | target | |",
        "|---|---|---|---|---|---|",
        f"| one-process floor (imports + the demo's {res['jobs']} jobs in one Python) | "
        f"{res['floor_median_s']:.1f} s | {', '.join(f'{x:.1f}' for x in res['floor_s'])} | 1 | | |",
        f"| full rebuild (`snakemake --cores 2`, fresh copy) | {res['rebuild_median_s']:.1f} s | "
        f"{', '.join(f'{x:.1f}' for x in res['rebuild_s'])} | "
        f"{res['rebuild_over_floor']:.2f} x floor | <= {TARGETS['rebuild_over_floor']:g} x | "
        f"{met('rebuild_over_floor')} |",
        f"| empty Snakefile, no-op | {res['empty_noop_median_s']:.2f} s | "
        f"{', '.join(f'{x:.2f}' for x in res['empty_noop_s'])} | 1 | | |",
        f"| demo no-op rerun | {res['noop_median_s']:.2f} s | "
        f"{', '.join(f'{x:.2f}' for x in res['noop_s'])} | "
        f"{res['noop_over_empty']:.2f} x empty | <= {TARGETS['noop_over_empty']:g} x | "
        f"{met('noop_over_empty')} |",
        "",
        f"The floor wrote the same ARD as the workflow: {'yes' if res['same_ard'] else 'NO'}; "
        f"the same report HTML: {'yes' if res['same_html'] else 'NO'}.",
        "",
        "What a config change reruns (dry run on the built demo; every other job is kept):",
        "",
        "| change | jobs rerun |",
        "|---|---|",
    ]
    for label, jobs in res["reruns"]:
        listed = ", ".join(f"{rule}" + (f" x{n}" if n > 1 else "") for rule, n in jobs.items())
        lines.append(f"| `{label}` | {listed or 'none'} |")
    return "\n".join(lines)


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--replay":
        replay(Path(sys.argv[2]), Path(sys.argv[3]))
        return
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--no-readme", action="store_true")
    args = parser.parse_args()
    m = machine()
    res = measure(args.repeats)
    text = table(res, m, [round(x, 2) for x in os.getloadavg()])
    print(text)
    out = ROOT / "benchmarks" / "out"
    out.mkdir(exist_ok=True)
    (out / "floor_bench.json").write_text(json.dumps({"machine": m, **res}, indent=1))
    if not args.no_readme:
        write_section("floor-bench", text)


if __name__ == "__main__":
    main()
