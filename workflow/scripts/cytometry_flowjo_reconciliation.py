"""FlowJo's stored population counts against the pipeline's (gating_source flowjo)."""

import sys

from aiha.ard import write_tsv
from aiha.cytometry.aggregate import read_table
from aiha.cytometry.reconcile import reconcile, summary
from aiha.jobs import run_script


def main(sm):
    table = reconcile(read_table(sm.input.populations),
                      {s: tuple(v) for s, v in sm.params.samples.items()},
                      float(sm.params.tolerance_percent))
    write_tsv(table, sm.output.table)
    by_type = summary(table)
    write_tsv(by_type, sm.output.summary)
    for row in by_type.itertuples(index=False):
        print(f"{row.gate_type}: {row.within_tolerance} of {row.populations} populations within "
              f"{sm.params.tolerance_percent}% of FlowJo's count", file=sys.stderr)


run_script(main, snakemake)  # noqa: F821
