"""Write results/provenance.json (rule provenance)."""

import sys

import snakemake as smk

from aiha.ard import read_ard
from aiha.provenance import build_provenance, write_json

sys.stderr = open(snakemake.log[0], "w")  # noqa: F821
record = build_provenance(
    git=dict(snakemake.params.git),  # noqa: F821
    snakemake_version=smk.__version__,
    raw_inputs=list(snakemake.input.raw),  # noqa: F821
    config_file=snakemake.input.config_file,  # noqa: F821
    config=snakemake.config,  # noqa: F821
    ard=read_ard(snakemake.input.ard),  # noqa: F821
)
write_json(record, snakemake.output.json)  # noqa: F821
