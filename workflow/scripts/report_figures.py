"""Report figures as deterministic SVG (rule report_figures)."""

from aiha.jobs import run_script
from aiha.report import write_figures


def main(sm):
    write_figures(inputs=dict(sm.input.items()), cfg=sm.params.cfg,
                  outputs=dict(sm.output.items()))


run_script(main, snakemake)  # noqa: F821
