"""The study report, HTML and PDF (rule render_report)."""

import sys

from aiha.report import build_report

sys.stderr = open(snakemake.log[0], "w")  # noqa: F821
inp, out = snakemake.input, snakemake.output  # noqa: F821
build_report(
    inputs=dict(inp.items()),
    cfg=snakemake.config,  # noqa: F821
    pdf_path=out.pdf,
    html_path=out.html,
    resources_dir="resources/report",
    fonts_dir="resources/fonts",
)
