"""Stack the per-variant audits and key statistics into results/sensitivity/ (rule
sensitivity_table)."""

from aiha.ard import read_ard, read_text_tsv, write_tsv
from aiha.jobs import run_script
from aiha.sensitivity import key_statistics, sensitivity_summary, sensitivity_table


def main(sm):
    variants = dict(sm.params.variants)
    audits = {name: read_text_tsv(path)
              for name, path in zip(variants, sm.input.claims, strict=True)}
    table = sensitivity_table(audits, variants)
    write_tsv(table, sm.output.table)
    write_tsv(sensitivity_summary(table), sm.output.summary)
    ards = {name: read_ard(path) for name, path in zip(variants, sm.input.ards, strict=True)}
    write_tsv(key_statistics(read_ard(sm.input.primary), ards, variants),
              sm.output.key_statistics)


run_script(main, snakemake)  # noqa: F821
