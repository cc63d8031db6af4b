"""Apply the response criteria to the cleaned lab series (rule score_responses)."""

from datetime import date

from aiha.ard import read_tsv as read
from aiha.ard import write_tsv
from aiha.jobs import run_script
from aiha.response import ResponseCriteria, score_cohort


def main(sm):
    inp, cfg = sm.input, sm.params.cfg
    responses = score_cohort(
        patients=read(inp.patients),
        labs=read(inp.labs),
        transfusions=read(inp.transfusions),
        treatments=read(inp.treatments),
        cutoff=date.fromisoformat(cfg["data_cutoff"]),
        c=ResponseCriteria.from_config(cfg["response"]),
    )
    write_tsv(responses, sm.output.responses)


run_script(main, snakemake)  # noqa: F821
