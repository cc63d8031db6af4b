"""Clean the per-site clinical exports (rules validate_clinical and clean_clinical).

validate_clinical runs the whole cleaning in memory and writes only a summary of
the inputs: bad input stops the workflow there, before clean_clinical would
replace the tables of an earlier good run.
"""

from datetime import date
from pathlib import Path

from aiha.ard import write_tsv
from aiha.cleaning import CleaningLimits, clean_study, input_summary, load_site_profiles
from aiha.jobs import run_script
from aiha.pseudonym import read_key


def main(sm):
    # raw_dir/<SITE>/<table>.csv: the export directory is two levels above any raw file.
    raw_dir = Path(sm.input.raw[0]).parent.parent
    sites = list(sm.params.sites)
    export_date = sm.params.export_date
    tables = clean_study(
        raw_dir=raw_dir,
        sites=sites,
        profiles=load_site_profiles(sm.input.site_profiles),
        key=read_key(sm.input.key),
        cutoff=date.fromisoformat(sm.params.data_cutoff),
        limits=CleaningLimits.from_config(sm.params.cleaning),
        export_date=date.fromisoformat(export_date) if export_date else None,
    )
    out = sm.output
    if "summary" in out.keys():
        write_tsv(input_summary(raw_dir, sites, tables), out.summary)
    else:
        for name in ("patients", "labs", "transfusions", "treatments", "adverse_events"):
            write_tsv(getattr(tables, name), getattr(out, name))
        write_tsv(tables.log, out.cleaning_log)


run_script(main, snakemake)  # noqa: F821
