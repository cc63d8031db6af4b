"""Write results/provenance.json (rule provenance)."""

import snakemake as smk

from aiha.ard import read_ard, read_text_tsv
from aiha.jobs import run_script
from aiha.provenance import build_provenance, write_json


def main(sm):
    raw = read_text_tsv(sm.input.raw_digests)
    record = build_provenance(
        git=dict(sm.params.git),
        snakemake_version=smk.__version__,
        raw_inputs=dict(zip(raw["path"], raw["sha256"])),
        config_file=sm.input.config_file,
        config=sm.params.cfg,
        ard=read_ard(sm.input.ard),
    )
    write_json(record, sm.output.json)


run_script(main, snakemake)  # noqa: F821
