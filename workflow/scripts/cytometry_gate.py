"""Gate the FCS files of one gating job (a patient's files, or one file): population
counts and QC of each."""

import sys

from aiha.ard import write_tsv
from aiha.cytometry.gating import gate_samples
from aiha.errors import InputError

sm = snakemake  # noqa: F821
with open(sm.log[0], "w") as log:
    sys.stderr = log
    try:
        populations, qc = gate_samples(sm.params.samples, sm.params.cyto)
        write_tsv(populations, sm.output.populations)
        write_tsv(qc, sm.output.qc)
        for row in qc.itertuples(index=False):
            print(f"{row.sample_id}: {row.events_acquired} events, {row.events_kept} kept", file=log)
    except InputError as err:  # bad input: one clear message, on the terminal and in the log
        print(f"ERROR: {err}", file=log)
        print(f"ERROR: {err}", file=sys.__stderr__)
        sys.exit(1)
