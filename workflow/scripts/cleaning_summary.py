"""The cleaning log counted by kind of action (rule cleaning_summary)."""

from aiha.ard import read_text_tsv, write_tsv
from aiha.cleaning.tallies import cleaning_tallies
from aiha.jobs import run_script


def main(sm):
    log = read_text_tsv(sm.input.log)
    write_tsv(cleaning_tallies(log, sm.params.cfg["routine"]), sm.output.summary)


run_script(main, snakemake)  # noqa: F821
