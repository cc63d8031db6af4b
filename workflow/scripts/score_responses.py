"""Apply the response criteria to the cleaned lab series (rule score_responses)."""

import sys
from datetime import date

from aiha.ard import read_tsv as read
from aiha.ard import write_tsv
from aiha.response import ResponseCriteria, score_cohort

sys.stderr = open(snakemake.log[0], "w")  # noqa: F821
cfg = snakemake.config  # noqa: F821
inp = snakemake.input  # noqa: F821
responses = score_cohort(
    patients=read(inp.patients),
    labs=read(inp.labs),
    transfusions=read(inp.transfusions),
    treatments=read(inp.treatments),
    cutoff=date.fromisoformat(cfg["data"]["data_cutoff"]),
    c=ResponseCriteria.from_config(cfg["response"]),
)
write_tsv(responses, snakemake.output.responses)  # noqa: F821
