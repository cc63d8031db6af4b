"""The study report, HTML and PDF (rule render_report)."""

from aiha.jobs import run_script
from aiha.report import build_report


def main(sm):
    inp, out = sm.input, sm.output
    build_report(
        inputs=dict(inp.items()),
        cfg=sm.params.cfg,
        pdf_path=out.pdf,
        html_path=out.html,
        resources_dir="resources/report",
        fonts_dir="resources/fonts",
        manifest_path=out.manifest,
    )


run_script(main, snakemake)  # noqa: F821
