"""Join all per-sample population and QC tables with the sample metadata."""

from aiha.ard import write_tsv
from aiha.cytometry.aggregate import aggregate, read_table
from aiha.jobs import run_script


def main(sm):
    populations, qc = aggregate(
        read_table(sm.input.samples),
        [read_table(p) for p in sm.input.populations],
        [read_table(p) for p in sm.input.qc],
    )
    write_tsv(populations, sm.output.populations)
    write_tsv(qc, sm.output.qc)


run_script(main, snakemake)  # noqa: F821
