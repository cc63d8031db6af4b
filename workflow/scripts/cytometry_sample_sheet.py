"""Validate the raw sample sheet and write pseudonymized sample metadata."""

import sys

from aiha.ard import read_text_tsv, write_tsv
from aiha.cytometry.samplesheet import check_files, read_sample_sheet, sample_table
from aiha.errors import InputError
from aiha.pseudonym import read_key

sm = snakemake  # noqa: F821
with open(sm.log[0], "w") as log:
    sys.stderr = log
    try:
        sheet = read_sample_sheet(sm.input.sheet)
        check_files(sheet, sm.input.sheet)
        patients = read_text_tsv(sm.input.patients)
        table = sample_table(sheet, patients, read_key(sm.input.key), sm.input.sheet, sm.input.patients)
        write_tsv(table, sm.output.samples)
    except InputError as err:  # bad input: one clear message, on the terminal and in the log
        print(f"ERROR: {err}", file=log)
        print(f"ERROR: {err}", file=sys.__stderr__)
        sys.exit(1)
