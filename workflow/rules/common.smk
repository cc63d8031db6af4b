import functools
import gc
import json
import os
import shutil
import sys
from pathlib import Path

# The domain package lives in src/: put it on the path of every job (venv, conda
# or cluster), so each number is made by the code of this checkout. Jobs need
# nothing else on PYTHONPATH: their packages come from the environment.
# Snakemake's own modules and objects (and pandas, which its plugins import) live as
# long as the process: move them out of the garbage collector's reach, so that
# parsing the rules and building the DAG do not rescan them on every collection.
# This takes about 0.2 s off a no-op run (benchmarks/README.md, floor-bench).
gc.freeze()

SRC = str(Path(workflow.basedir) / "src")
sys.path.insert(0, SRC)
os.environ.update(PYTHONPATH=SRC)

from aiha.code_digest import code_digest
from aiha.config_checks import check_config, fill_defaults, merge_overrides
from aiha.settings import (
    adam_config,
    analysis_config,
    cleaning_summary_config,
    content_config,
    listings_config,
    figures_config,
    qc_compare_config,
    qc_config,
    qc_r_config,
    report_config,
    scoring_config,
    statistics_config,
)

# Shape and meaning of the config and of every sensitivity variant merged over it:
# one line naming the key (Snakemake's validate prints the whole schema).
SCHEMAS = Path(workflow.basedir) / "workflow" / "schemas"
# First the schema defaults of keys a site's older config leaves out (a variant may
# override one of them).
fill_defaults(config, SCHEMAS)
check_config(config, SCHEMAS)

# Independent double programming in R (workflow/rules/qc_r.smk). Without Rscript
# the workflow stops here, with one line saying what to install or switch off.
R_QC = bool(config["qc"]["r_double_programming"])
CONDA_RUN = "--use-conda" in sys.argv or "conda" in sys.argv  # --sdm conda
if R_QC and shutil.which("Rscript") is None and not CONDA_RUN:
    sys.exit(
        "ERROR: the R double programming needs Rscript with the R packages survival and "
        "jsonlite (Debian/Ubuntu: apt-get install r-base-core r-cran-survival "
        "r-cran-jsonlite), or set qc.r_double_programming: false in config.yaml"
    )

RAW = Path(config["data"]["raw_dir"])
SITE_PROFILES = config["data"]["site_profiles"]
# The site profiles are data: checked (YAML 1.2, workflow/schemas/sites.schema.yaml,
# code tables against their vocabularies) before any export is read.
from aiha.cleaning.profiles import load_site_profiles, read_profiles_yaml

load_site_profiles(SITE_PROFILES)
RAW_TABLES = ["patients", "labs", "transfusions", "treatments", "adverse_events"]
# Scheduling priority of the clinical chain to the report (the critical path): with
# few cores, its jobs go first, and gating, figures and sensitivity fill the gaps.
CRITICAL_PATH = 10
# Published (or the site's own) claims: optional. Without them there is no audit.
CLAIMS = (config.get("audit") or {}).get("claims")


@functools.lru_cache(maxsize=None)
def site_codes():
    """Sites that export: every site of the profile file with a directory in raw_dir,
    or, for the demo, every site of the cohort specification (read once)."""
    if config["data"]["generate_demo"]:
        from aiha.demo.cohort import load_spec

        spec = load_spec(config["data"]["demo_spec"])
        return sorted({p.site for p in spec.patients})
    if not RAW.is_dir():
        raise ValueError(f"config data.raw_dir: directory {str(RAW)!r} does not exist")
    profiles = read_profiles_yaml(SITE_PROFILES)["sites"]
    found = sorted(s for s in profiles if (RAW / s).is_dir())
    unknown = sorted(
        p.name
        for p in RAW.iterdir()
        if p.is_dir() and p.name not in profiles and p.name != "cytometry"
    )
    if unknown:
        raise ValueError(
            f"{RAW}: site directories {unknown} have no export profile in {SITE_PROFILES}"
        )
    if not found:
        raise ValueError(
            f"config data.raw_dir: no site export directory in {str(RAW)!r}"
        )
    return found


def clinical_raw_files():
    return [str(RAW / s / f"{t}.csv") for s in site_codes() for t in RAW_TABLES]


def all_raw_inputs():
    """Every raw input of the study: clinical exports, the cytometry sample sheet
    and FCS files (defined in cytometry.smk, included before this is called)."""
    if not CYTO_ENABLED:
        return clinical_raw_files()
    fcs = [CYTO_FCS[sample] for sample in CYTO_IDS]
    return clinical_raw_files() + [str(CYTO_SHEET)] + fcs


@functools.lru_cache(maxsize=None)
def script_code(name):
    """Digest of the package code that workflow/scripts/<name>.py imports: a params
    value of each rule, so a change in that code reruns the rule's jobs (Snakemake
    itself watches only the script file)."""
    return code_digest(
        Path(workflow.basedir) / "workflow" / "scripts" / f"{name}.py", SRC
    )


def git_state(path):
    from aiha.provenance import git_state as state

    return state(path)
