"""Report figures as deterministic SVG (rule report_figures)."""

import sys

from aiha.report import write_figures

sys.stderr = open(snakemake.log[0], "w")  # noqa: F821
write_figures(
    inputs=dict(snakemake.input.items()),  # noqa: F821
    cfg=snakemake.config,  # noqa: F821
    outputs=dict(snakemake.output.items()),  # noqa: F821
)
