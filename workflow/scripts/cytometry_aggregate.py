"""Join all per-sample population and QC tables with the sample metadata."""

import sys

from aiha.ard import write_tsv
from aiha.cytometry.aggregate import aggregate, read_table

sm = snakemake  # noqa: F821
with open(sm.log[0], "w") as log:
    sys.stderr = log
    populations, qc = aggregate(
        read_table(sm.input.samples),
        [read_table(p) for p in sm.input.populations],
        [read_table(p) for p in sm.input.qc],
    )
    write_tsv(populations, sm.output.populations)
    write_tsv(qc, sm.output.qc)
