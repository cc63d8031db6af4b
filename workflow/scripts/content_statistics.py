"""Clinical content of the report (exposure, transfusions, time to response, AE by
term and grade, baseline bilirubin, prior therapies) into ARD rows, computed from the
analysis datasets (rule clinical_content)."""

from aiha.adam import read_datasets
from aiha.ard import inputs_digest, stats_to_frame, write_ard
from aiha.clinical_content import content_statistics
from aiha.jobs import run_script


def main(sm):
    inp = sm.input
    datasets = read_datasets({name.upper(): path for name, path in inp.items()})
    stats = content_statistics(datasets, cfg=sm.params.cfg)
    frame = stats_to_frame(stats, rule=sm.rule, script="workflow/scripts/content_statistics.py",
                           inputs_sha256=inputs_digest(list(inp)))
    write_ard(frame, sm.output.ard)


run_script(main, snakemake)  # noqa: F821
