"""Report figures as deterministic SVG (rule report_figures)."""

from aiha.figures import write_clinical_figures
from aiha.jobs import run_script


def main(sm):
    # inputs: responses, labs, treatments, transfusions, km, ard (rule report_figures)
    write_clinical_figures(inputs=dict(sm.input.items()), cfg=sm.params.cfg,
                           outputs=dict(sm.output.items()))


run_script(main, snakemake)  # noqa: F821
