"""Clinical statistics into ARD rows, plus the Kaplan-Meier curves (rule clinical_statistics)."""

from aiha.ard import inputs_digest, stats_to_frame, write_ard, write_tsv
from aiha.ard import read_tsv as read
from aiha.jobs import run_script
from aiha.statistics import clinical_statistics


def main(sm):
    inp = sm.input
    stats, km = clinical_statistics(
        patients=read(inp.patients),
        responses=read(inp.responses),
        labs=read(inp.labs),
        adverse_events=read(inp.adverse_events),
        cfg=sm.params.cfg,
    )
    frame = stats_to_frame(
        stats,
        rule=sm.rule,
        script="workflow/scripts/clinical_statistics.py",
        inputs_sha256=inputs_digest(list(inp)),
    )
    write_ard(frame, sm.output.ard)
    write_tsv(km, sm.output.km)


run_script(main, snakemake)  # noqa: F821
