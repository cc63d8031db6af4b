"""Recompute the key statistics independently and compare (rule qc_double_programming)."""

from aiha.ard import read_ard, write_tsv
from aiha.ard import read_tsv as read
from aiha.jobs import run_script
from aiha.qc import (
    compare,
    independent_counts,
    independent_intervals,
    independent_km,
    primary_values,
)


def main(sm):
    inp, st = sm.input, sm.params.cfg
    responses = read(inp.responses)
    counts = independent_counts(read(inp.patients), responses, read(inp.adverse_events))
    independent = {**counts, **independent_intervals(counts, st["ci_level"]),
                   **independent_km(responses)}
    table = compare(primary_values(read_ard(inp.ard), read(inp.km)), independent,
                    st["qc_tolerance"])
    write_tsv(table, sm.output.qc)


run_script(main, snakemake)  # noqa: F821
