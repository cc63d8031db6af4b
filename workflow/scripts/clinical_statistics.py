"""Clinical statistics into ARD rows, plus the Kaplan-Meier curves, computed from
the analysis datasets (rule clinical_statistics)."""

from aiha.adam import read_datasets
from aiha.ard import inputs_digest, stats_to_frame, write_ard, write_tsv
from aiha.jobs import run_script
from aiha.statistics import adam_statistics


def main(sm):
    inp = sm.input
    datasets = read_datasets({name.upper(): path for name, path in inp.items()})
    stats, km = adam_statistics(datasets, cfg=sm.params.cfg)
    frame = stats_to_frame(
        stats,
        rule=sm.rule,
        script="workflow/scripts/clinical_statistics.py",
        inputs_sha256=inputs_digest(list(inp)),
    )
    write_ard(frame, sm.output.ard)
    write_tsv(km, sm.output.km)


run_script(main, snakemake)  # noqa: F821
