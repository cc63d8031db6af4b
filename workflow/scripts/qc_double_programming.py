"""Recompute the key statistics independently and compare (rule qc_double_programming)."""

import sys

from aiha.ard import read_ard, write_tsv
from aiha.ard import read_tsv as read
from aiha.qc import (
    QCMismatch,
    compare,
    independent_counts,
    independent_intervals,
    independent_km,
    primary_values,
)

sys.stderr = open(snakemake.log[0], "w")  # noqa: F821
inp = snakemake.input  # noqa: F821
st = snakemake.config["statistics"]  # noqa: F821
responses = read(inp.responses)
counts = independent_counts(read(inp.patients), responses, read(inp.adverse_events))
independent = {**counts, **independent_intervals(counts, st["ci_level"]), **independent_km(responses)}
try:
    table = compare(primary_values(read_ard(inp.ard), read(inp.km)), independent, st["qc_tolerance"])
except QCMismatch as err:
    print(f"ERROR: {err}", file=sys.stderr)
    print(f"ERROR: {err}", file=sys.__stderr__)
    sys.exit(1)
write_tsv(table, snakemake.output.qc)  # noqa: F821
