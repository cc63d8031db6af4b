"""The patient-level listings document, HTML and PDF (rule render_listings)."""

from aiha.jobs import run_script
from aiha.report import build_listings


def main(sm):
    build_listings(
        inputs=dict(sm.input.items()),
        cfg=sm.params.cfg,
        pdf_path=sm.output.pdf,
        html_path=sm.output.html,
        resources_dir="resources/report",
        fonts_dir="resources/fonts",
        manifest_path=sm.output.manifest,
        # long free text is shortened in the listings (full text in the tables)
        text_max_chars=sm.params.text_max_chars,
    )


run_script(main, snakemake)  # noqa: F821
