"""Clinical content of the report (exposure, transfusions, time to response, AE by
term and grade, baseline bilirubin) into ARD rows (rule clinical_content)."""

from aiha.ard import inputs_digest, read_tsv, stats_to_frame, write_ard
from aiha.clinical_content import clinical_content
from aiha.jobs import run_script


def main(sm):
    inp = sm.input
    stats = clinical_content(
        patients=read_tsv(inp.patients),
        responses=read_tsv(inp.responses),
        labs=read_tsv(inp.labs),
        transfusions=read_tsv(inp.transfusions),
        treatments=read_tsv(inp.treatments),
        adverse_events=read_tsv(inp.adverse_events),
        cfg=sm.params.cfg,
    )
    frame = stats_to_frame(stats, rule=sm.rule, script="workflow/scripts/report_content.py",
                           inputs_sha256=inputs_digest(list(inp)))
    write_ard(frame, sm.output.ard)


run_script(main, snakemake)  # noqa: F821
