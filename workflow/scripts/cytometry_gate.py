"""Gate the FCS files of one gating job (a patient's files, or one file): population
counts and QC of each."""

import sys

from aiha.ard import write_tsv
from aiha.cytometry.gating import gate_samples
from aiha.jobs import run_script


def main(sm):
    populations, qc = gate_samples(sm.params.samples, sm.params.cyto)
    write_tsv(populations, sm.output.populations)
    write_tsv(qc, sm.output.qc)
    for row in qc.itertuples(index=False):
        print(f"{row.sample_id}: {row.events_acquired} events, {row.events_kept} kept", file=sys.stderr)


run_script(main, snakemake)  # noqa: F821
