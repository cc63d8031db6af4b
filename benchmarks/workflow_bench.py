"""Workflow benchmarks: demo full rebuild, no-op rerun, incremental rebuild after
touching one FCS file (one gating job per patient, the default, side by side with
one job per FCS file), per-rule time and peak memory, and the scale-up of the demo
cohort to N = 20, 200 and 2,000 patients.

    .venv/bin/python benchmarks/workflow_bench.py [--repeats 3] [--scales 1 10 100]
        [--run-scales 1 10 100] [--events 5000] [--no-readme]

Each measurement runs the real workflow (``snakemake --cores 2``) in a fresh copy
of the project; set-up (the venv) is excluded, the demo's raw-data generation is
included. Times are wall clock; repeated figures are medians. Raw figures go to
benchmarks/out/workflow_bench.json; the tables are written into
benchmarks/README.md between the ``workflow-bench`` markers.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import psutil
import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent))
from record import machine, machine_line, write_section  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
SNAKEMAKE = str(Path(sys.executable).with_name("snakemake"))
PARTS = ["Snakefile", "config.yaml", "workflow", "resources", "envs", "src", "profiles"]
TOUCHED = "FCM005-PH.fcs"  # a phenotype file that no event figure reads
MODES = ("patient", "sample")  # config cytometry.gating_jobs
TARGETS = {"full_rebuild_s": 30.0, "noop_s": 2.0, "dry_run_2000_s": 20.0, "per_file_ratio": 1.5,
           "render_ratio": 2.0, "render_rss_mib": 600.0}


def copy_project(dest: Path, multiplier: int = 1, events: int | None = None,
                 gating_jobs: str = "patient") -> Path:
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
        # Keep the samples through QC at the smaller size (else the cytometry section,
        # its tables and figures, would be empty at every N and measure nothing).
        qc = cfg["cytometry"]["qc"]
        qc["min_events_kept"] = min(int(qc["min_events_kept"]), events // 3)
    cfg["cytometry"]["gating_jobs"] = gating_jobs
    (dest / "config.yaml").write_text(yaml.safe_dump(cfg, sort_keys=False))
    return dest


class JobMonitor:
    """Samples the workflow's process tree every 0.1 s. Each job script runs as
    ``python .snakemake/scripts/tmpXXXX.<script>.py``; per script it records the
    number of jobs, their summed and longest wall time (process start to last
    sighting), their CPU time (user + system at the last sighting) and the peak
    resident memory of one job."""

    def __init__(self, root_pid: int) -> None:
        self.root = psutil.Process(root_pid)
        self.jobs: dict[int, dict] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                procs = self.root.children(recursive=True)
            except psutil.Error:
                break
            now = time.time()
            for p in procs:
                try:
                    m = re.search(r"tmp\w+\.(\w+)\.py", " ".join(p.cmdline()))
                    # a job's own subprocess, forked and not yet exec'd, shows the
                    # job's command line: it is not another job
                    if not m or p.ppid() in self.jobs:
                        continue
                    rss = p.memory_info().rss / 2**20
                    cpu = sum(p.cpu_times()[:2])  # user + system
                    job = self.jobs.setdefault(p.pid, {"script": m.group(1), "start": p.create_time(),
                                                       "rss": 0.0})
                except psutil.Error:
                    continue
                job["last"] = now
                job["cpu"] = cpu
                job["rss"] = max(job["rss"], rss)
            time.sleep(0.1)

    def stop(self) -> dict[str, dict]:
        self._stop.set()
        self._thread.join()
        out: dict[str, dict] = {}
        for job in self.jobs.values():
            s = out.setdefault(job["script"], {"jobs": 0, "seconds": 0.0, "cpu_seconds": 0.0,
                                               "max_job_s": 0.0, "peak_rss_mib": 0.0})
            wall = job["last"] - job["start"]
            s["jobs"] += 1
            s["seconds"] += wall
            s["cpu_seconds"] += job.get("cpu", 0.0)
            s["max_job_s"] = max(s["max_job_s"], wall)
            s["peak_rss_mib"] = max(s["peak_rss_mib"], job["rss"])
        return dict(sorted(out.items()))


def snakemake(workdir: Path, *args: str, monitor: bool = False) -> tuple[float, str, dict]:
    cmd = [SNAKEMAKE, "--cores", "2", "--directory", str(workdir), *args]
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=workdir, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True)
    mon = JobMonitor(proc.pid) if monitor else None
    out, _ = proc.communicate()
    elapsed = time.perf_counter() - start
    scripts = mon.stop() if mon else {}
    if proc.returncode != 0:
        raise SystemExit(f"snakemake {' '.join(args)} failed in {workdir}:\n{out[-4000:]}")
    return elapsed, out, scripts


def job_counts(dry_run_output: str) -> dict[str, int]:
    counts: dict[str, int] = {}
    block = dry_run_output.split("Job stats:", 1)[-1].split("Reasons:", 1)[0]
    for line in block.splitlines():
        m = re.match(r"^(\w+)\s+(\d+)$", line.strip())
        if m and m.group(1) not in ("job", "total"):
            counts[m.group(1)] = int(m.group(2))
    return counts


@contextlib.contextmanager
def cwd(path: Path):
    old = os.getcwd()
    os.chdir(path)
    try:
        yield
    finally:
        os.chdir(old)


def planned_fcs_files(workdir: Path) -> int:
    """FCS files of the (demo) cohort, as the workflow plans them at parse time."""
    sys.path.insert(0, str(workdir / "src"))
    from aiha.cytometry.plan import sample_rows

    with cwd(workdir):
        return len(sample_rows(yaml.safe_load(Path("config.yaml").read_text())))


def raw_dir(workdir: Path) -> Path:
    return workdir / yaml.safe_load((workdir / "config.yaml").read_text())["data"]["raw_dir"]


def incremental(work: Path) -> dict:
    """Touch one FCS file: which jobs rerun, and how long the rerun takes."""
    os.utime(raw_dir(work) / "cytometry" / TOUCHED)
    _, dry, _ = snakemake(work, "-n")
    t, _, scripts = snakemake(work, "-q", monitor=True)
    gate = scripts.get("cytometry_gate", {})
    return {"touched": TOUCHED, "jobs": job_counts(dry), "seconds": t,
            "gating_job_s": gate.get("seconds")}


def bench_demo(tmp: Path, repeats: int) -> dict:
    result: dict = {}
    for mode in MODES:
        full, scripts, work = [], {}, tmp
        for i in range(repeats):
            work = copy_project(tmp / f"demo-{mode}-{i}", gating_jobs=mode)
            t, _, s = snakemake(work, "-q", monitor=True)
            full.append(t)
            scripts = scripts or s
        _, dry, _ = snakemake(work, "-n", "--forceall")
        r = {"full_rebuild_s": full, "full_rebuild_median_s": statistics.median(full),
             "jobs": sum(job_counts(dry).values()), "scripts": scripts,
             "incremental": incremental(work)}
        if mode == "patient":
            r["noop_s"] = [snakemake(work, "-q")[0] for _ in range(5)]
            r["noop_median_s"] = statistics.median(r["noop_s"])
        result[mode] = r
        print(json.dumps({mode: {k: v for k, v in r.items() if k != "scripts"}}, indent=1),
              flush=True)
    return result


RENDER_RULES = {"render_report": ("report_render", "results/report/staging/study_report.pdf"),
                "render_listings": ("report_listings",
                                    "results/report/staging/study_listings.pdf")}


def pdf_pages(path: Path) -> int:
    import pdfplumber

    with pdfplumber.open(path) as pdf:
        return len(pdf.pages)


def bench_render(work: Path, repeats: int = 3) -> dict:
    """Each report document rendered again on its own (one core, nothing else running):
    median wall time and peak RSS of the job, and the pages."""
    out = {}
    for rule, (script, target) in RENDER_RULES.items():
        runs = [snakemake(work, "--cores", "1", "-q", "--forcerun", rule, target,
                          monitor=True)[2][script] for _ in range(repeats)]
        out[rule] = {"seconds": [r["seconds"] for r in runs],
                     "median_s": statistics.median(r["seconds"] for r in runs),
                     "peak_rss_mib": max(r["peak_rss_mib"] for r in runs),
                     "pages": pdf_pages(work / target)}
    return out


def bench_scale(tmp: Path, multiplier: int, events: int, run: bool) -> dict:
    work = copy_project(tmp / f"scale{multiplier}", multiplier, events)
    dry = [snakemake(work, "-n", "-q")[0] for _ in range(3)]
    _, out, _ = snakemake(work, "-n")
    jobs = job_counts(out)
    per_file_cfg = copy_project(tmp / f"scale{multiplier}-sample", multiplier, events, "sample")
    dry_sample = [snakemake(per_file_cfg, "-n", "-q")[0] for _ in range(3)]
    _, out_sample, _ = snakemake(per_file_cfg, "-n")
    shutil.rmtree(per_file_cfg)
    files = planned_fcs_files(work)
    result = {
        "multiplier": multiplier, "patients": 20 * multiplier, "fcs_files": files,
        "events_per_file": events, "jobs": sum(jobs.values()),
        "gating_jobs": jobs.get("cytometry_gate", 0), "dry_run_s": dry,
        "dry_run_median_s": statistics.median(dry),
        "jobs_one_per_file": sum(job_counts(out_sample).values()),
        "dry_run_one_per_file_median_s": statistics.median(dry_sample),
    }
    if run:
        t, _, scripts = snakemake(work, "-q", monitor=True)
        gate = scripts["cytometry_gate"]
        result.update({
            "full_run_s": t, "per_patient_s": t / result["patients"], "per_fcs_file_s": t / files,
            "gating_job_s_per_fcs_file": gate["seconds"] / files,
            "gating_cpu_s_per_fcs_file": gate["cpu_seconds"] / files,
            "render_report_s": scripts["report_render"]["seconds"], "scripts": scripts,
            "render": bench_render(work),
        })
    shutil.rmtree(work)
    print(json.dumps({k: v for k, v in result.items() if k != "scripts"}, indent=1), flush=True)
    return result


# ------------------------------------------------------------------ Markdown


def _s(x: float | None) -> str:
    return "–" if x is None else f"{x:.1f} s"


def _met(ok: bool) -> str:
    return "met" if ok else "**not met**"


def _rerun(inc: dict) -> str:
    jobs = {k: v for k, v in inc["jobs"].items() if k != "all"}
    return ", ".join(f"{k} ×{v}" if v > 1 else k for k, v in jobs.items())


def markdown(rec: dict) -> str:
    lines = [machine_line(rec["machine"], rec.get("load_average_at_end")), ""]
    demo = rec.get("demo")
    if demo:
        p, s = demo["patient"], demo["sample"]
        lines += [
            "### Demo (20 patients, 28 FCS files of 30,000 events)", "",
            "| measure | one gating job per patient (default) | one gating job per FCS file | target |",
            "|---|---|---|---|",
            f"| jobs | {p['jobs']} | {s['jobs']} | – |",
            f"| full rebuild, median of {len(p['full_rebuild_s'])} | {_s(p['full_rebuild_median_s'])} "
            f"({', '.join(f'{x:.1f}' for x in p['full_rebuild_s'])}) | {_s(s['full_rebuild_median_s'])} "
            f"({', '.join(f'{x:.1f}' for x in s['full_rebuild_s'])}) | ≤ 30 s: "
            f"{_met(p['full_rebuild_median_s'] <= TARGETS['full_rebuild_s'])} (default) |",
            f"| no-op rerun, median of {len(p['noop_s'])} | {_s(p['noop_median_s'])} | – | ≤ 2 s: "
            f"{_met(p['noop_median_s'] <= TARGETS['noop_s'])} |",
            f"| rebuild after touching `{TOUCHED}` | {_s(p['incremental']['seconds'])} | "
            f"{_s(s['incremental']['seconds'])} | – |",
            f"| … gating time in that rebuild | {_s(p['incremental']['gating_job_s'])} "
            f"({p['incremental']['jobs'].get('cytometry_gate', 0)} job, the patient's 14 files) | "
            f"{_s(s['incremental']['gating_job_s'])} ({s['incremental']['jobs'].get('cytometry_gate', 0)} "
            "job, the file) | – |",
            f"| report render (`render_report` job) | {_s(p['scripts']['report_render']['seconds'])} | "
            f"{_s(s['scripts']['report_render']['seconds'])} | – |",
            "",
            f"Jobs rerun after touching `{TOUCHED}` (one job per patient): {_rerun(p['incremental'])}.",
            "",
            "Per workflow script on the demo (one job per patient; one job per file in brackets "
            "where it differs): jobs, summed job wall time, peak RSS of one job.",
            "",
            "| script | jobs | job time | peak RSS |",
            "|---|---|---|---|",
        ]
        for name, v in sorted(p["scripts"].items(), key=lambda kv: -kv[1]["seconds"]):
            o = s["scripts"].get(name, v)
            jobs = str(v["jobs"]) + (f" ({o['jobs']})" if o["jobs"] != v["jobs"] else "")
            secs = f"{v['seconds']:.1f} s" + (f" ({o['seconds']:.1f} s)" if o["jobs"] != v["jobs"] else "")
            lines.append(f"| {name} | {jobs} | {secs} | {v['peak_rss_mib']:.0f} MiB |")
        lines.append("")
    scale = rec.get("scale", [])
    if scale:
        kept = rec.get("scale_measured")
        if kept:
            lines += ["Scale-up below from an earlier run: "
                      + machine_line(kept["machine"], kept.get("load_average_at_end")), ""]
        lines += [
            f"### Scale-up (`data.demo_multiplier`, {scale[0]['events_per_file']:,} events per FCS file at every N)",
            "",
            "| N patients | FCS files | jobs | dry run | dry run, one job per file (jobs) | full run | "
            "per patient | per FCS file | gating job time (CPU) per FCS file | report render |",
            "|---|---|---|---|---|---|---|---|---|---|",
        ]
        for r in scale:
            lines.append(
                f"| {r['patients']:,} | {r['fcs_files']:,} | {r['jobs']:,} | {_s(r['dry_run_median_s'])} | "
                f"{_s(r['dry_run_one_per_file_median_s'])} ({r['jobs_one_per_file']:,}) | "
                f"{_s(r.get('full_run_s'))} | {_s(r.get('per_patient_s'))} | "
                + (f"{r['per_fcs_file_s']:.2f} s | {r['gating_job_s_per_fcs_file']:.3f} s "
                   f"({r['gating_cpu_s_per_fcs_file']:.3f} s) | "
                   if "full_run_s" in r else "– | – | ")
                + f"{_s(r.get('render_report_s'))} |")
        lines.append("")
        by_n = {r["patients"]: r for r in scale}
        if 2000 in by_n:
            lines.append(f"- Dry run at N = 2,000: {_s(by_n[2000]['dry_run_median_s'])} "
                         f"(target ≤ 20 s: {_met(by_n[2000]['dry_run_median_s'] <= TARGETS['dry_run_2000_s'])}).")
        if 20 in by_n and 2000 in by_n and "full_run_s" in by_n[2000] and "full_run_s" in by_n[20]:
            a, b = by_n[20], by_n[2000]
            g = b["gating_job_s_per_fcs_file"] / a["gating_job_s_per_fcs_file"]
            c = b["gating_cpu_s_per_fcs_file"] / a["gating_cpu_s_per_fcs_file"]
            w = b["per_fcs_file_s"] / a["per_fcs_file_s"]
            lines.append(f"- Cost per FCS file, N = 2,000 / N = 20: gating job wall time {g:.2f}×, "
                         f"gating CPU time {c:.2f}×, whole run {w:.2f}× (target ≤ 1.5× on all three: "
                         f"{_met(max(g, c, w) <= TARGETS['per_file_ratio'])}).")
        lines += render_markdown([r for r in scale if "render" in r])
        ran = [r for r in scale if "scripts" in r]
        if ran:
            names = sorted({n for r in ran for n in r["scripts"]},
                           key=lambda n: -max(r["scripts"].get(n, {}).get("peak_rss_mib", 0) for r in ran))
            lines += ["", "Peak RSS of one job per script (MiB):", "",
                      "| script | " + " | ".join(f"N = {r['patients']:,}" for r in ran) + " |",
                      "|---|" + "---|" * len(ran)]
            for n in names:
                cells = [f"{r['scripts'][n]['peak_rss_mib']:.0f}" if n in r["scripts"] else "–" for r in ran]
                lines.append(f"| {n} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def render_markdown(ran: list[dict]) -> list[str]:
    """The report documents at each N, rendered on their own, and the targets of the
    main report: time at the largest N within 2x the N = 20 time, peak RSS within
    600 MiB."""
    if not ran:
        return []
    lines = ["", "Each document rendered again on its own (one core; median of "
             f"{len(ran[0]['render']['render_report']['seconds'])}), peak RSS of the job:", "",
             "| N patients | main report: render | peak RSS | pages | "
             "listings: render | peak RSS | pages |", "|---|---|---|---|---|---|---|"]
    for r in ran:
        m, li = r["render"]["render_report"], r["render"]["render_listings"]
        lines.append(f"| {r['patients']:,} | {_s(m['median_s'])} | {m['peak_rss_mib']:.0f} MiB | "
                     f"{m['pages']} | {_s(li['median_s'])} | {li['peak_rss_mib']:.0f} MiB | "
                     f"{li['pages']} |")
    first, last = ran[0], ran[-1]
    if last is not first:
        ratio = last["render"]["render_report"]["median_s"] / \
            first["render"]["render_report"]["median_s"]
        rss = last["render"]["render_report"]["peak_rss_mib"]
        lines += ["", f"- Main report at N = {last['patients']:,}: render "
                  f"{ratio:.2f}× the N = {first['patients']:,} time (target ≤ "
                  f"{TARGETS['render_ratio']:g}×: {_met(ratio <= TARGETS['render_ratio'])}), "
                  f"peak RSS {rss:.0f} MiB (target ≤ {TARGETS['render_rss_mib']:g} MiB: "
                  f"{_met(rss <= TARGETS['render_rss_mib'])})."]
    return lines


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--scales", type=int, nargs="*", default=[1, 10, 100])
    ap.add_argument("--run-scales", type=int, nargs="*", default=[1, 10, 100])
    ap.add_argument("--events", type=int, default=5000)
    ap.add_argument("--skip-demo", action="store_true")
    ap.add_argument("--keep-scale", action="store_true",
                    help="measure the demo only; keep the scale-up of the last run "
                         "(benchmarks/out/workflow_bench.json), with its own date and load")
    ap.add_argument("--no-readme", action="store_true", help="do not rewrite benchmarks/README.md")
    args = ap.parse_args()
    record: dict = {"machine": machine(), "args": vars(args)}
    with tempfile.TemporaryDirectory(prefix="aiha-bench-") as tmp:
        if not args.skip_demo:
            record["demo"] = bench_demo(Path(tmp), args.repeats)
        if not args.keep_scale:
            record["scale"] = [bench_scale(Path(tmp), m, args.events, m in args.run_scales)
                               for m in args.scales]
    record["load_average_at_end"] = [round(x, 2) for x in os.getloadavg()]
    out = ROOT / "benchmarks" / "out"
    if args.keep_scale:
        last = json.loads((out / "workflow_bench.json").read_text())
        record["scale"] = last["scale"]
        record["scale_measured"] = last.get("scale_measured") or {
            "machine": last["machine"], "load_average_at_end": last.get("load_average_at_end")}
    out.mkdir(parents=True, exist_ok=True)
    (out / "workflow_bench.json").write_text(json.dumps(record, indent=2) + "\n")
    text = markdown(record)
    (out / "workflow_bench.md").write_text(text + "\n")
    print(text)
    if not args.no_readme:
        write_section("workflow-bench", text)
        print("updated benchmarks/README.md")
    print(f"wrote {out / 'workflow_bench.json'}")


if __name__ == "__main__":
    main()
