"""Write results/raw_inputs.tsv: every raw input file and its SHA-256 (rule raw_input_digests)."""

from aiha.ard import write_tsv
from aiha.jobs import run_script
from aiha.provenance import raw_input_digests


def main(sm):
    write_tsv(raw_input_digests(list(sm.input.raw)), sm.output.tsv)


run_script(main, snakemake)  # noqa: F821
