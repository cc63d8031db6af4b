"""Clean the per-site clinical exports (rules validate_clinical and clean_clinical).

validate_clinical runs the whole cleaning in memory and writes only a summary of
the inputs: bad input stops the workflow there, before clean_clinical would
replace the tables of an earlier good run.
"""

import sys
from datetime import date
from pathlib import Path

from aiha.ard import write_tsv
from aiha.cleaning import CleaningLimits, clean_study, input_summary, load_site_profiles
from aiha.errors import InputError
from aiha.pseudonym import read_key

sys.stderr = open(snakemake.log[0], "w")  # noqa: F821
cfg = snakemake.config  # noqa: F821
# raw_dir/<SITE>/<table>.csv: the export directory is two levels above any raw file.
raw_dir = Path(snakemake.input.raw[0]).parent.parent  # noqa: F821
sites = list(snakemake.params.sites)  # noqa: F821
try:
    tables = clean_study(
        raw_dir=raw_dir,
        sites=sites,
        profiles=load_site_profiles(snakemake.input.site_profiles),  # noqa: F821
        key=read_key(snakemake.input.key),  # noqa: F821
        cutoff=date.fromisoformat(cfg["data"]["data_cutoff"]),
        limits=CleaningLimits.from_config(cfg["cleaning"]),
    )
except InputError as err:
    print(f"ERROR: {err}", file=sys.stderr)
    print(f"ERROR: {err}", file=sys.__stderr__)
    sys.exit(1)
out = snakemake.output  # noqa: F821
if "summary" in out.keys():
    write_tsv(input_summary(raw_dir, sites, tables), out.summary)
else:
    for name in ("patients", "labs", "transfusions", "treatments", "adverse_events"):
        write_tsv(getattr(tables, name), getattr(out, name))
    write_tsv(tables.log, out.cleaning_log)
