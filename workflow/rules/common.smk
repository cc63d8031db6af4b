import os
import sys
from pathlib import Path

from snakemake.utils import validate

# The domain package lives in src/: put it on the path of every job (venv, conda
# or cluster), so each number is made by the code of this checkout.
SRC = str(Path(workflow.basedir) / "src")
sys.path.insert(0, SRC)
os.environ["PYTHONPATH"] = os.pathsep.join(
    p for p in (SRC, os.environ.get("PYTHONPATH")) if p
)


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
    profiles = yaml.safe_load(open(SITE_PROFILES, encoding="utf-8"))["sites"]
    return sorted(s for s in profiles if (RAW / s).is_dir())


def clinical_raw_files():
    return [str(RAW / s / f"{t}.csv") for s in site_codes() for t in RAW_TABLES]


def all_raw_inputs():
    """Every raw input file of the study: clinical exports, cytometry sample sheet and FCS."""
    files = clinical_raw_files()
    sheet = RAW / "cytometry" / "samples.csv"
    if sheet.exists() and not config["data"]["generate_demo"]:
        import csv

        with open(sheet, encoding="utf-8") as handle:
            files += [
                str(RAW / "cytometry" / row["file"]) for row in csv.DictReader(handle)
            ]
        files.append(str(sheet))
    return files


def git_state(path):
    from aiha.provenance import git_state as state

    return state(path)
