"""Publish a rendered document under results/report/ (rule publish_report)."""

import sys

from aiha.jobs import run_script
from aiha.report.render import publish_document


def main(sm):
    kinds = ("pdf", "html", "manifest")
    for line in publish_document(
        {k: sm.input[k] for k in kinds}, {k: sm.output[k] for k in kinds}
    ):
        print(line, file=sys.stderr)


run_script(main, snakemake)  # noqa: F821
