"""Validate the raw sample sheet and write pseudonymized sample metadata."""

import sys
from datetime import date

from aiha import identifiers
from aiha.ard import read_text_tsv, write_tsv
from aiha.cleaning import load_site_profiles, study_index
from aiha.cytometry.samplesheet import after_cutoff, check_files, read_sample_sheet, sample_table
from aiha.jobs import run_script
from aiha.pseudonym import read_key


def main(sm):
    index = study_index(list(sm.input.patients_raw), load_site_profiles(sm.input.site_profiles))
    identifiers.activate(index)  # no message of this job shows an identifier
    sheet = read_sample_sheet(sm.input.sheet)
    check_files(sheet, sm.input.sheet)
    patients = read_text_tsv(sm.input.patients)
    export_date = sm.params.export_date
    cutoff = date.fromisoformat(sm.params.data_cutoff)
    for row in after_cutoff(sheet, cutoff):
        print(f"{sm.input.sheet} row {row}: sample {sheet['sample_id'].iloc[row - 1]} collected "
              f"{sheet['collection_date'].iloc[row - 1]}, after the data cut-off {cutoff}: dropped "
              "(not gated, not analysed)", file=sys.stderr)
    table = sample_table(sheet, patients, read_key(sm.input.key), sm.input.sheet, sm.input.patients,
                         index, cutoff=cutoff,
                         export_date=date.fromisoformat(export_date) if export_date else None,
                         days_window=tuple(sm.params.days_window))
    write_tsv(table, sm.output.samples)


run_script(main, snakemake)  # noqa: F821
