"""The study report: template context from the ARD and results tables, HTML, PDF.

Every number printed comes from ``results/ard/ard.tsv`` or a results table (see
docs/tables.md) through :mod:`aiha.formatting`; the template holds no number of its
own, and the methods text quotes the configuration in force.

Modules, by concern:

- :mod:`aiha.report.fetcher` - the URL fetcher (what weasyprint may read);
- :mod:`aiha.report.model` - ARD lookups with links, Table, decimals, groups;
- :mod:`aiha.report.clinical_tables` - the clinical tables and listings;
- :mod:`aiha.report.appendix_tables` - cleaning, QC, provenance, audit, sensitivity;
- :mod:`aiha.report.context` - the template context and the HTML (jinja2,
  ``autoescape=True``; free text never goes into ``href``/``src``/``style``);
- :mod:`aiha.report.render` - PDF, staging of assets, the job's inputs.
"""

from aiha.report.context import build_context, cfgnum, data_cutoff, jinja_env, render_html, source_date_epoch
from aiha.report.fetcher import ASSET_BASE_URL, AssetRefused, AssetURLFetcher
from aiha.report.model import ARD, GROUP_LABELS, GROUPS, Fmt, Table, present_groups
from aiha.report.render import (build_from_results, build_listings, build_report, figure_inputs, render_pdf,
                                 results_inputs, stage_assets, write_figures)
from aiha.report.render_paths import CLINICAL_FIGURES, CYTOMETRY_FIGURES

__all__ = ["ARD", "ASSET_BASE_URL", "AssetRefused", "AssetURLFetcher", "CLINICAL_FIGURES",
           "CYTOMETRY_FIGURES", "Fmt", "GROUPS", "GROUP_LABELS", "Table", "build_context",
           "build_from_results", "build_listings", "build_report", "cfgnum", "data_cutoff", "figure_inputs",
           "jinja_env", "present_groups", "render_html", "render_pdf", "results_inputs",
           "source_date_epoch", "stage_assets", "write_figures"]
