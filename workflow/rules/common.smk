import os
import sys
from pathlib import Path

from snakemake.utils import validate

# The domain package lives in src/: put it on the path of every job (venv, conda
# or cluster), so each number is made by the code of this checkout. Jobs need
# nothing else on PYTHONPATH: their packages come from the environment.
SRC = str(Path(workflow.basedir) / "src")
sys.path.insert(0, SRC)
os.environ.update(PYTHONPATH=SRC)


def check_config(schema_file):
    """One line naming the config key and the problem (Snakemake's validate prints
    the whole schema); raises ValueError."""
    import jsonschema
    import yaml

    schema = yaml.safe_load(open(schema_file, encoding="utf-8"))
    validator = jsonschema.validators.validator_for(schema)(schema)
    error = jsonschema.exceptions.best_match(validator.iter_errors(config))
    if error is not None:
        where = ".".join(str(p) for p in error.absolute_path) or "(top level)"
        raise ValueError(f"config.yaml: {where}: {error.message}")


check_config(Path(workflow.basedir) / "workflow" / "schemas" / "config.schema.yaml")
validate(config, "../schemas/config.schema.yaml")

RAW = Path(config["data"]["raw_dir"])
SITE_PROFILES = config["data"]["site_profiles"]
RAW_TABLES = ["patients", "labs", "transfusions", "treatments", "adverse_events"]


def site_codes():
    """Sites that export: every site of the profile file with a directory in raw_dir,
    or, for the demo, every site of the cohort specification."""
    import yaml

    if config["data"]["generate_demo"]:
        spec = yaml.safe_load(open(config["data"]["demo_spec"], encoding="utf-8"))
        return sorted({p["site"] for p in spec["patients"]})
    if not RAW.is_dir():
        raise ValueError(f"config data.raw_dir: directory {str(RAW)!r} does not exist")
    profiles = yaml.safe_load(open(SITE_PROFILES, encoding="utf-8"))["sites"]
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
    fcs = [CYTO_FCS[sample] for sample in CYTO_IDS]
    return clinical_raw_files() + [str(CYTO_RAW / "samples.csv")] + fcs


def git_state(path):
    from aiha.provenance import git_state as state

    return state(path)
