"""The workflow on a real SLURM scheduler (issue 5).

A single-node SLURM comes up on this machine from Debian's packages
(tests/cluster/slurm-up.sh, once per module) and the whole demo workflow runs
through it with `--profile profiles/slurm`, as an HPC user would run it. The test
then checks with the accounting (sacct, or the jobcomp file where slurmdbd is
not available) that every non-local job went through SLURM with the memory and
CPUs its rule declares, and that the results are byte-identical to the local run.

Skipped where SLURM cannot be had (not root, no apt-get, bring-up failed);
AIHA_REQUIRE_SLURM=1 turns that skip into a failure. The dry-run test of the
profile needs no SLURM.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import re
import shutil
import subprocess
import time
from pathlib import Path

import pytest
import yaml

from conftest import ROOT, SNAKEMAKE, copy_project

CLUSTER_DIR = ROOT / "tests" / "cluster"
SLURM_LOGS = Path("/var/log/slurm-test")
# Held shared by every test session that uses the test SLURM, so that the session
# that started it stops it only when no other session still runs jobs on it.
IN_USE_LOCK = Path("/tmp/aiha-slurm-test.lock")
# Whole cluster run; measured about 4 minutes for ~45 SLURM jobs on 2 cores.
RUN_LIMIT_S = int(os.environ.get("AIHA_CLUSTER_TIMEOUT", "900"))
# The results that must not depend on where the jobs ran.
COMPARED = ["results/ard/ard.tsv", "results/stats/*.tsv", "results/report/study_report.pdf"]


def _cmd(*args: str, timeout: int = 30) -> subprocess.CompletedProcess[str]:
    return subprocess.run(list(args), capture_output=True, text=True, timeout=timeout)


def _slurm_answers() -> bool:
    if not shutil.which("scontrol"):
        return False
    try:
        return "is UP" in _cmd("scontrol", "ping", timeout=15).stdout
    except subprocess.TimeoutExpired:
        return False


def _tail(path: Path, lines: int = 40) -> str:
    try:
        text = path.read_text(errors="replace").splitlines()
    except OSError as err:
        return f"({err})"
    return "\n".join(text[-lines:])


def _diagnostics(work: Path | None = None) -> str:
    """Daemon logs, the queue and the SLURM job logs, for a failure message."""
    parts = []
    for args in (("sinfo", "-R"), ("squeue",)):
        try:
            out = _cmd(*args, timeout=15)
            parts.append(f"$ {' '.join(args)}\n{out.stdout}{out.stderr}")
        except (OSError, subprocess.TimeoutExpired) as err:
            parts.append(f"$ {' '.join(args)}: {err}")
    for log in sorted(SLURM_LOGS.glob("*.log")):
        parts.append(f"----- {log}\n{_tail(log, 30)}")
    if work is not None:
        slurm_logs = sorted((work / ".snakemake" / "slurm_logs").rglob("*.log"))
        for log in slurm_logs[-15:]:
            parts.append(f"----- {log}\n{_tail(log, 30)}")
    return "\n".join(parts)


def _config() -> dict[str, str]:
    out = _cmd("scontrol", "show", "config").stdout
    return {k.strip(): v.strip() for k, _, v in
            (line.partition("=") for line in out.splitlines()) if _}


@pytest.fixture(scope="module")
def slurm() -> dict[str, str]:
    """A running SLURM: brought up here once for the module, and stopped again
    afterwards if it was this fixture that started it."""

    def unavailable(message: str):
        if os.environ.get("AIHA_REQUIRE_SLURM") == "1":
            pytest.fail(message)
        pytest.skip(message)

    was_up = _slurm_answers()
    if not was_up:
        if os.name != "posix":
            unavailable("no SLURM on this machine, and it cannot install one (not POSIX)")
        if os.geteuid() != 0:
            unavailable("no SLURM on this machine, and it cannot install one (not root)")
        if not shutil.which("apt-get") and not shutil.which("slurmctld"):
            unavailable("no SLURM on this machine, and it cannot install one (no apt-get)")
        started = time.monotonic()
        try:
            up = _cmd("bash", str(CLUSTER_DIR / "slurm-up.sh"), timeout=900)
        except subprocess.TimeoutExpired:
            unavailable("tests/cluster/slurm-up.sh timed out:\n" + _diagnostics())
        if up.returncode != 0:
            unavailable(f"tests/cluster/slurm-up.sh failed ({up.returncode}), no SLURM "
                        f"for the cluster test:\n{up.stderr[-3000:]}")
        print(f"SLURM bring-up: {time.monotonic() - started:.1f}s\n{up.stderr.strip()}")

    lock = open(IN_USE_LOCK, "a+")
    fcntl.flock(lock, fcntl.LOCK_SH)
    config = _config()
    partition = _cmd("sinfo", "-h", "-o", "%P").stdout.split()[0].rstrip("*")
    with_dbd = config.get("AccountingStorageType") == "accounting_storage/slurmdbd"
    account = ""
    if with_dbd:
        user = _cmd("id", "-un").stdout.strip()
        account = _cmd("sacctmgr", "-n", "-P", "show", "user", user,
                       "format=defaultaccount").stdout.strip()
    info = {
        "partition": partition,
        "account": account,
        "accounting": "sacct" if with_dbd else "jobcomp",
        "jobcomp": config.get("JobCompLoc", ""),
    }
    try:
        yield info
    finally:
        fcntl.flock(lock, fcntl.LOCK_UN)
        if not was_up:
            try:  # only when no other test session holds the lock
                fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                print("SLURM still in use by another test session: left running")
            else:
                down = _cmd("bash", str(CLUSTER_DIR / "slurm-down.sh"), timeout=120)
                print(down.stderr)
        lock.close()


# ---------------------------------------------------------------- helpers


JOB_BLOCK = re.compile(r"^\s*(local)?rule (\w+):\n((?:[ \t]+\w[\w ]*: .*\n)+)", re.M)
SUBMITTED = re.compile(r"Job (\S+) has been submitted with SLURM jobid (\d+) \(log: (.+?)\)\.")


def planned_jobs(log: str) -> tuple[dict[str, tuple[int, int]], set[str]]:
    """From Snakemake's job blocks: rule -> (mem_mb, threads) of its cluster jobs,
    and the set of local rules."""
    remote: dict[str, set[tuple[int, int]]] = {}
    local: set[str] = set()
    for m in JOB_BLOCK.finditer(log):
        is_local, rule, body = m.group(1), m.group(2), m.group(3)
        if is_local:
            local.add(rule)
            continue
        mem = re.search(r"\bmem_mb=(\d+)", body)
        threads = re.search(r"^\s+threads: (\d+)", body, re.M)
        remote.setdefault(rule, set()).add(
            (int(mem.group(1)) if mem else -1, int(threads.group(1)) if threads else 1))
    for rule, values in remote.items():
        assert len(values) == 1, f"{rule}: jobs with different resources {values}"
    return {rule: values.pop() for rule, values in remote.items()}, local


def submitted_jobs(log: str, rules: set[str]) -> dict[str, tuple[str, ...]]:
    """SLURM job id -> its rule(s), from the plugin's 'submitted' lines (the SLURM
    log folder is rule_<rule>, or group_<group>_<rule>[_<rule>...] for a group)."""
    jobs = {}
    for _, slurm_id, logfile in SUBMITTED.findall(log):
        # .snakemake/slurm_logs/<rule_X | group_G_X...>[/<wildcards>]/<id>.log
        parts = Path(logfile).parts
        folder = parts[parts.index("slurm_logs") + 1] if "slurm_logs" in parts else ""
        if folder.startswith("rule_"):
            jobs[slurm_id] = (folder[len("rule_"):],)
            continue
        members = {r for r in rules if folder.endswith("_" + r) or f"_{r}_" in folder}
        members = {r for r in members if not any(r != o and r in o for o in members)}
        assert members, f"SLURM job {slurm_id}: no rule in {folder}"
        jobs[slurm_id] = tuple(sorted(members))
    return jobs


def mem_mb(value: str) -> int:
    """SLURM's ReqMem / TRES memory ('1500M', '2G', '1000Mn') in MB."""
    m = re.fullmatch(r"(\d+(?:\.\d+)?)([KMGT]?)[nc]?", value.strip())
    assert m, f"unexpected memory value {value!r}"
    factor = {"K": 1 / 1024, "": 1, "M": 1, "G": 1024, "T": 1024 ** 2}[m.group(2)]
    return round(float(m.group(1)) * factor)


def accounted(slurm: dict[str, str], ids: list[str]) -> dict[str, dict[str, str]]:
    """SLURM job id -> {state, mem_mb, cpus} as the accounting recorded it."""
    found: dict[str, dict[str, str]] = {}
    if slurm["accounting"] == "sacct":
        for _ in range(20):  # slurmdbd may lag a little behind the last job
            out = _cmd("sacct", "-n", "-X", "-P", "-j", ",".join(ids),
                       "-o", "JobID,State,ReqMem,ReqCPUS,AllocCPUS,Comment").stdout
            for line in out.splitlines():
                job, state, req_mem, req_cpus, alloc_cpus, comment = line.split("|")
                found[job] = {"state": state, "mem_mb": mem_mb(req_mem),
                              "cpus": int(req_cpus), "alloc_cpus": int(alloc_cpus),
                              "comment": comment}
            if set(ids) <= set(found) and all(
                    found[i]["state"] == "COMPLETED" for i in ids):
                break
            time.sleep(1)
        return found
    # accounting_storage/none fallback: jobcomp/filetxt, one line per finished job.
    for _ in range(20):
        text = Path(slurm["jobcomp"]).read_text() if slurm["jobcomp"] else ""
        for line in text.splitlines():
            fields = dict(f.split("=", 1) for f in line.split() if "=" in f)
            if fields.get("JobId") in ids:
                tres = dict(t.split("=", 1) for t in fields.get("Tres", "").split(",") if "=" in t)
                found[fields["JobId"]] = {"state": fields.get("JobState", ""),
                                          "mem_mb": mem_mb(tres.get("mem", "0")),
                                          "cpus": int(fields.get("ProcCnt", 0)),
                                          "alloc_cpus": int(fields.get("ProcCnt", 0))}
        if set(ids) <= set(found):
            break
        time.sleep(1)
    return found


def digests(results_root: Path) -> dict[str, str]:
    out = {}
    for pattern in COMPARED:
        for path in sorted(results_root.glob(pattern)):
            out[str(path.relative_to(results_root))] = hashlib.sha256(
                path.read_bytes()).hexdigest()
    return out


# ---------------------------------------------------------------- tests


def test_slurm_profile_declares_what_a_cluster_needs():
    text = (ROOT / "profiles" / "slurm" / "config.yaml").read_text()
    profile = yaml.safe_load(text)
    assert profile["executor"] == "slurm"
    assert profile["jobs"] >= 1 and profile["latency-wait"] >= 5
    assert {"mem_mb", "runtime"} <= set(profile["default-resources"])
    # What each user sets is documented in the profile itself.
    assert "slurm_partition" in text and "slurm_account" in text


def test_slurm_profile_dry_run_without_slurm(tmp_path: Path):
    """`snakemake --profile profiles/slurm -n` plans the jobs on any machine:
    no SLURM command is needed (PATH without sbatch, sinfo, sacct...)."""
    work = copy_project(tmp_path / "project")
    bindir = tmp_path / "bin"
    bindir.mkdir()
    for tool in ("sbatch", "sinfo", "squeue", "sacct", "scontrol", "sacctmgr", "srun",
                 "sshare"):
        # Shadows any installed SLURM command, so that a call fails loudly.
        (bindir / tool).write_text(f"#!/bin/sh\necho 'SLURM-COMMAND-CALLED: {tool}' >&2\nexit 99\n")
        (bindir / tool).chmod(0o755)
    proc = subprocess.run(
        [SNAKEMAKE, "--profile", "profiles/slurm", "-n", "--directory", str(work),
         "--snakefile", str(work / "Snakefile")],
        cwd=work, capture_output=True, text=True, timeout=600,
        env={**os.environ, "PATH": os.pathsep.join(
            [str(bindir), str(Path(SNAKEMAKE).parent), os.environ.get("PATH", "")])},
    )
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out[-6000:]
    assert "SLURM-COMMAND-CALLED" not in out, out[-3000:]
    assert "profiles/slurm" in out and "Job stats" in out
    # Every job asks for memory and a runtime (a dry run does not mark local rules).
    # render_listings sizes its memory from its inputs (the patient-level listings grow
    # with the cohort), which a dry run of a fresh project does not have yet: Snakemake
    # shows it as <TBD> until they exist.
    blocks = [b for b in JOB_BLOCK.finditer(out) if b.group(2) != "all"]
    assert len(blocks) > 10, out[-3000:]
    for block in blocks:
        sized = {"render_listings", "validate_clinical", "clean_clinical"}  # from their inputs
        memory = r"\bmem_mb=(\d+|<TBD>)" if block.group(2) in sized else r"\bmem_mb=\d+"
        assert re.search(memory, block.group(3)), block.group(0)
        runtime = r"\bruntime=(\d+|<TBD>)" if block.group(2) in sized else r"\bruntime=\d+"
        assert re.search(runtime, block.group(3)), block.group(0)


@pytest.mark.cluster
@pytest.mark.workflow
def test_workflow_on_slurm_matches_local_run(demo_project: Path, slurm, tmp_path: Path):
    # The same sources as the local build (not ROOT again: the tree may have moved on).
    work = copy_project(tmp_path / "project", source=demo_project)
    # What a user does: fill in partition and account in the profile.
    profile_file = work / "profiles" / "slurm" / "config.yaml"
    profile = yaml.safe_load(profile_file.read_text())
    profile["default-resources"]["slurm_partition"] = slurm["partition"]
    if slurm["account"]:
        profile["default-resources"]["slurm_account"] = slurm["account"]
    profile_file.write_text(yaml.safe_dump(profile, sort_keys=False))

    cmd = ["timeout", "-k", "30", str(RUN_LIMIT_S), SNAKEMAKE,
           "--profile", "profiles/slurm",
           "--directory", str(work), "--snakefile", str(work / "Snakefile"),
           # Local overrides: a small run wants quick status checks; without
           # slurmdbd the status comes from squeue.
           "--slurm-init-seconds-before-status-checks", "2",
           "--slurm-status-command",
           "sacct" if slurm["accounting"] == "sacct" else "squeue"]
    if not slurm["account"]:
        cmd.append("--slurm-no-account")
    started = time.monotonic()
    proc = subprocess.run(cmd, cwd=work, capture_output=True, text=True,
                          timeout=RUN_LIMIT_S + 60)
    elapsed = time.monotonic() - started
    log = proc.stdout + proc.stderr
    assert proc.returncode == 0, (
        f"cluster run failed ({proc.returncode}{', timed out' if proc.returncode == 124 else ''}"
        f" after {elapsed:.0f}s):\n{log[-6000:]}\n{_diagnostics(work)}")

    # Every job that is not a localrule went through SLURM, with its resources.
    remote, local = planned_jobs(log)
    jobs = submitted_jobs(log, set(remote))
    assert remote, log[-3000:]
    submitted_rules = {rule for members in jobs.values() for rule in members}
    assert submitted_rules == set(remote), (
        f"rules planned for the cluster {sorted(remote)}, submitted {sorted(submitted_rules)}")
    assert not submitted_rules & local
    records = accounted(slurm, sorted(jobs, key=int))
    missing = sorted(set(jobs) - set(records), key=int)
    assert not missing, f"not in the accounting: {missing}\n{_diagnostics(work)}"
    for slurm_id, members in jobs.items():
        got = records[slurm_id]
        assert got["state"] == "COMPLETED", (slurm_id, members, got)
        want_mem = max(remote[r][0] for r in members)
        want_cpus = max(remote[r][1] for r in members)
        if len(members) == 1:  # one rule: exactly what it declares
            assert (got["mem_mb"], got["cpus"]) == (want_mem, want_cpus), (
                slurm_id, members, got)
        else:  # a group of several rules: at least what its largest member needs
            assert got["mem_mb"] >= want_mem and got["cpus"] >= want_cpus, (
                slurm_id, members, got)
        if "comment" in got:
            assert got["comment"].startswith(("rule_", "group_")), got
    print(f"cluster run: {len(jobs)} SLURM jobs ({len(submitted_rules)} rules), "
          f"local rules {sorted(local)}, {elapsed:.0f}s "
          f"({elapsed / max(len(jobs), 1):.1f}s per SLURM job on "
          f"{os.cpu_count()} cores)")

    # Same bytes as the local build of the same project.
    local_digests = digests(demo_project)
    cluster_digests = digests(work)
    assert "results/ard/ard.tsv" in local_digests
    assert "results/report/study_report.pdf" in local_digests
    assert cluster_digests == local_digests
