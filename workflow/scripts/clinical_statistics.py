"""Clinical statistics into ARD rows, plus the Kaplan-Meier curves (rule clinical_statistics)."""

import sys

from aiha.ard import inputs_digest, stats_to_frame, write_ard, write_tsv
from aiha.ard import read_tsv as read
from aiha.statistics import clinical_statistics

sys.stderr = open(snakemake.log[0], "w")  # noqa: F821
inp = snakemake.input  # noqa: F821
stats, km = clinical_statistics(
    patients=read(inp.patients),
    responses=read(inp.responses),
    labs=read(inp.labs),
    adverse_events=read(inp.adverse_events),
    cfg=snakemake.config,  # noqa: F821
)
frame = stats_to_frame(
    stats,
    rule=snakemake.rule,  # noqa: F821
    script="workflow/scripts/clinical_statistics.py",
    inputs_sha256=inputs_digest(list(inp)),
)
write_ard(frame, snakemake.output.ard)  # noqa: F821
write_tsv(km, snakemake.output.km)  # noqa: F821
