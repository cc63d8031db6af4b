"""The study's results in the CDISC ARS model (rule ars_reporting_event)."""

from aiha.ard import read_text_tsv
from aiha.ars.build import write_reporting_event
from aiha.jobs import run_script


def main(sm):
    write_reporting_event(read_text_tsv(sm.input.ard), sm.params.cfg, sm.output.json)


run_script(main, snakemake)  # noqa: F821
