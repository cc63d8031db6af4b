"""Write results/provenance.json (rule provenance)."""

import snakemake as smk

from aiha.ard import read_ard
from aiha.jobs import run_script
from aiha.provenance import build_provenance, write_json


def main(sm):
    record = build_provenance(
        git=dict(sm.params.git),
        snakemake_version=smk.__version__,
        raw_inputs=list(sm.input.raw),
        config_file=sm.input.config_file,
        config=sm.params.cfg,
        ard=read_ard(sm.input.ard),
    )
    write_json(record, sm.output.json)


run_script(main, snakemake)  # noqa: F821
