"""Stack the per-variant audits into results/sensitivity/ (rule sensitivity_table)."""

from pathlib import Path

from aiha.ard import read_text_tsv, write_tsv
from aiha.jobs import run_script
from aiha.sensitivity import sensitivity_summary, sensitivity_table


def main(sm):
    audits = {Path(path).parent.name: read_text_tsv(path) for path in sm.input}
    table = sensitivity_table(audits, dict(sm.params.variants))
    write_tsv(table, sm.output.table)
    write_tsv(sensitivity_summary(table), sm.output.summary)


run_script(main, snakemake)  # noqa: F821
