"""PDF rendering and the report job's inputs.

Reproducibility: ``SOURCE_DATE_EPOCH`` (fontTools subsetting), the ``dcterms`` dates
and the PDF identifier are all derived from the data cut-off and the inputs, so the
same inputs give the same PDF bytes wherever the project lives. PDF and HTML are
written through a temporary file and ``os.replace``: a failing render leaves the
previous ones in place.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pandas as pd

from aiha.ard import file_sha256, read_ard, read_text_tsv
from aiha.pseudonym import is_pseudonym
from aiha.report.context import (build_context, build_listings_context, render_html,
                                 source_date_epoch)
from aiha.report.fetcher import ASSET_BASE_URL, AssetURLFetcher, _weasyprint
from aiha.report.model import ARD
from aiha.report.render_paths import CLINICAL_FIGURES, CYTOMETRY_FIGURES, FONT_FILES

# --------------------------------------------------------------------------- PDF
def render_pdf(html: str, asset_dir: str | os.PathLike[str], pdf_path: str | os.PathLike[str],
               epoch: int, identifier: str) -> Any:
    """Render ``html`` (relative links resolved against ``file:///report/``) to PDF.

    Returns the fetcher, whose ``served``/``refused`` lists tell what was fetched.
    """
    os.environ["SOURCE_DATE_EPOCH"] = str(int(epoch))
    wp = _weasyprint()
    fetcher = AssetURLFetcher(asset_dir)
    document = wp.HTML(string=html, base_url=ASSET_BASE_URL, url_fetcher=fetcher)
    pdf_path = Path(pdf_path)
    pdf_path.parent.mkdir(parents=True, exist_ok=True)
    tmp = pdf_path.with_name(f".{pdf_path.name}.tmp")
    document.write_pdf(
        tmp,
        pdf_identifier=identifier.encode("ascii"),
        pdf_variant=None,
        attachments=None,
        custom_metadata=False,
        presentational_hints=False,
        uncompressed_pdf=False,
    )
    os.replace(tmp, pdf_path)
    return fetcher


def stage_assets(dest: str | os.PathLike[str], css: str | os.PathLike[str],
                 fonts_dir: str | os.PathLike[str], figures: Mapping[str, str | os.PathLike[str]],
                 cytometry_figures: Mapping[str, str | os.PathLike[str]]) -> Path:
    """Copy the stylesheet, fonts and figures into ``dest`` at their URL paths."""
    dest = Path(dest)
    (dest / "fonts").mkdir(parents=True, exist_ok=True)
    (dest / "figures").mkdir(exist_ok=True)
    (dest / "cytometry").mkdir(exist_ok=True)
    shutil.copyfile(css, dest / "report.css")
    for name in FONT_FILES:
        shutil.copyfile(Path(fonts_dir) / name, dest / "fonts" / name)
    for key, path in figures.items():
        shutil.copyfile(path, dest / "figures" / CLINICAL_FIGURES[key])
    for key, path in cytometry_figures.items():
        shutil.copyfile(path, dest / "cytometry" / f"{key}.svg")
    return dest


def build_report(
    inputs: Mapping[str, str | os.PathLike[str]],
    cfg: Mapping[str, Any],
    pdf_path: str | os.PathLike[str],
    html_path: str | os.PathLike[str],
    resources_dir: str | os.PathLike[str] = "resources/report",
    fonts_dir: str | os.PathLike[str] = "resources/fonts",
) -> dict[str, Any]:
    """Read inputs, render HTML and PDF. ``inputs`` keys: ard, responses, patients,
    labs, adverse_events, cleaning_log, cytometry_qc, audit, sensitivity,
    sensitivity_claims, key_statistics, provenance, fig_<clinical figure>,
    cyto_<cytometry figure>, cytometry_figure_facts (optional). Returns the context,
    the HTML and the URLs the PDF renderer fetched (``served``) or refused (for tests)."""
    resources_dir = Path(resources_dir)
    tables = {k: read_text_tsv(inputs[k])
              for k in ("cleaning_log", "sensitivity", "key_statistics")}
    # Optional: the cytometry QC (no cytometry arm), the audit (no claims), the QC table.
    for k in ("cytometry_qc", "audit", "qc", "sensitivity_claims", "flowjo_reconciliation",
              "r_qc"):
        tables[k] = read_text_tsv(inputs[k]) if inputs.get(k) else None
    tables["ard"] = read_ard(inputs["ard"])
    digests = {"ARD (results/ard/ard.tsv)": file_sha256(inputs["ard"])}
    provenance = json.loads(Path(inputs["provenance"]).read_text(encoding="utf-8"))
    facts = (json.loads(Path(inputs["cytometry_figure_facts"]).read_text(encoding="utf-8"))
             if inputs.get("cytometry_figure_facts") else None)
    context = build_context(tables, cfg, provenance, digests, facts)
    figures = {k: inputs[f"fig_{k}"] for k in CLINICAL_FIGURES}
    cyto = {k: inputs[f"cyto_{k}"] for k in CYTOMETRY_FIGURES if inputs.get(f"cyto_{k}")}
    return _render_document(context, "study_report.html.j2", cfg, pdf_path, html_path,
                            resources_dir, fonts_dir, figures, cyto)


def _render_document(context: Mapping[str, Any], template: str, cfg: Mapping[str, Any],
                     pdf_path: str | os.PathLike[str], html_path: str | os.PathLike[str],
                     resources_dir: Path, fonts_dir: str | os.PathLike[str],
                     figures: Mapping[str, Any], cyto: Mapping[str, Any]) -> dict[str, Any]:
    """HTML from ``template``, then the PDF from the HTML and only the staged assets
    (fixed creation date and document identifier: the same bytes on every rebuild)."""
    html = render_html(context, resources_dir, template)
    identifier = hashlib.sha256(html.encode("utf-8")).hexdigest()[:32]
    with tempfile.TemporaryDirectory(prefix="aiha-render-") as staging:
        stage_assets(staging, resources_dir / "report.css", fonts_dir, figures, cyto)
        fetcher = render_pdf(html, staging, pdf_path, source_date_epoch(cfg), identifier)
    _write_atomic(html_path, html)
    return {"context": context, "html": html, "served": list(fetcher.served),
            "refused": list(fetcher.refused)}


def _write_atomic(path: str | os.PathLike[str], text: str) -> None:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


def build_listings(
    inputs: Mapping[str, str | os.PathLike[str]],
    cfg: Mapping[str, Any],
    pdf_path: str | os.PathLike[str],
    html_path: str | os.PathLike[str],
    resources_dir: str | os.PathLike[str] = "resources/report",
    fonts_dir: str | os.PathLike[str] = "resources/fonts",
) -> dict[str, Any]:
    """The patient-level listings document (rule render_listings). ``inputs`` keys:
    responses, patients, labs, adverse_events, cleaning_log; optional: cytometry_qc,
    ard (each cytometry patient's rows) and raw_digests (results/raw_inputs.tsv: the raw
    input files and their SHA-256)."""
    resources_dir = Path(resources_dir)
    tables: dict[str, Any] = {k: read_text_tsv(inputs[k]) for k in
                              ("responses", "patients", "labs", "adverse_events", "cleaning_log")}
    tables["cytometry_qc"] = read_text_tsv(inputs["cytometry_qc"]) \
        if inputs.get("cytometry_qc") else None
    tables["ard"] = read_ard(inputs["ard"]) if inputs.get("ard") else None
    raw = read_text_tsv(inputs["raw_digests"]) if inputs.get("raw_digests") else None
    context = build_listings_context(
        tables, cfg, None if raw is None else dict(zip(raw["path"], raw["sha256"])))
    return _render_document(context, "listings.html.j2", cfg, pdf_path, html_path,
                            resources_dir, fonts_dir, {}, {})


def results_inputs(results_dir: str | os.PathLike[str],
                   figures_dir: str | os.PathLike[str]) -> dict[str, Path]:
    """The ``inputs`` mapping of :func:`build_report` for a results/ tree (paths of
    docs/tables.md) and a directory holding the clinical figures."""
    r, f = Path(results_dir), Path(figures_dir)
    inputs = {
        "ard": r / "ard/ard.tsv",
        "responses": r / "response/responses.tsv",
        "patients": r / "clinical/patients.tsv",
        "labs": r / "clinical/labs.tsv",
        "adverse_events": r / "clinical/adverse_events.tsv",
        "cleaning_log": r / "clinical/cleaning_log.tsv",
        "cytometry_qc": r / "cytometry/qc.tsv",
        "audit": r / "audit/claims.tsv",
        "qc": r / "qc/double_programming.tsv",
        "r_qc": r / "qc/r_double_programming_summary.tsv",
        "sensitivity": r / "sensitivity/summary.tsv",
        "sensitivity_claims": r / "sensitivity/sensitivity.tsv",
        "key_statistics": r / "sensitivity/key_statistics.tsv",
        "provenance": r / "provenance.json",
        "raw_digests": r / "raw_inputs.tsv",
        "cytometry_figure_facts": r / "cytometry/figures/event_figures.json",
    }
    inputs.update({f"fig_{k}": f / v for k, v in CLINICAL_FIGURES.items()})
    inputs.update({f"cyto_{k}": r / f"cytometry/figures/{k}.svg" for k in CYTOMETRY_FIGURES})
    optional = ("cytometry_qc", "audit", "qc", "r_qc", "sensitivity_claims", "raw_digests",
                "cytometry_figure_facts",
                *(f"cyto_{k}" for k in CYTOMETRY_FIGURES))
    return {k: v for k, v in inputs.items() if k not in optional or Path(v).exists()}


def figure_inputs(results_dir: str | os.PathLike[str]) -> dict[str, Path]:
    """The inputs of :func:`write_figures` in a results/ tree."""
    r = Path(results_dir)
    return {"responses": r / "response/responses.tsv", "labs": r / "clinical/labs.tsv",
            "treatments": r / "clinical/treatments.tsv", "km": r / "stats/km_curve.tsv",
            "ard": r / "ard/ard.tsv"}


def write_figures(inputs: Mapping[str, str | os.PathLike[str]], cfg: Mapping[str, Any],
                  outputs: Mapping[str, str | os.PathLike[str]]) -> None:
    """Draw the clinical figures (rule report_figures). ``inputs`` keys: responses,
    labs, treatments, km, ard; ``outputs`` keys: swimmer, hb_trajectories, km_dor,
    hemolysis."""
    from aiha import figures

    responses = read_text_tsv(inputs["responses"])
    treatments = read_text_tsv(inputs["treatments"])
    labs = read_text_tsv(inputs["labs"])
    km = pd.read_csv(inputs["km"], sep="\t")
    ard = ARD(read_ard(inputs["ard"]))
    resp_cfg, st = cfg["response"], cfg["statistics"]
    flow = ard.frame[ard.frame["stat_id"].str.startswith("flow_")
                     & ard.frame["group"].map(is_pseudonym)]
    figures.save_svg(figures.swimmer_plot(responses, treatments, float(resp_cfg["days_per_month"]),
                                          frozenset(flow["group"])),
                     outputs["swimmer"])
    figures.save_svg(figures.hb_trajectories(labs, responses, figures.hb_thresholds(resp_cfg)),
                     outputs["hb_trajectories"])
    medians = {g: ard.opt("dor_median_km", g, "value") for g in sorted(set(km["group"]))}
    figures.save_svg(figures.km_plot(km, medians, st["km_tie_rule"], float(st["ci_level"]),
                                     str(st.get("km_ci_transform", "log-log"))),
                     outputs["km_dor"])
    limits = {"ldh": float(resp_cfg["ldh_uln_multiple"]),
              "bilirubin": float(resp_cfg["bilirubin_uln_mg_dl"])}
    figures.save_svg(figures.hemolysis_courses(labs, responses, limits), outputs["hemolysis"])


def build_from_results(results_dir: str | os.PathLike[str], cfg: Mapping[str, Any],
                       out_dir: str | os.PathLike[str], root: str | os.PathLike[str] = ".",
                       ) -> dict[str, Any]:
    """Figures and report for a results/ tree into ``out_dir`` (tests, development)."""
    out = Path(out_dir)
    fig_dir = out / "figures"
    write_figures(figure_inputs(results_dir), cfg,
                  {k: fig_dir / v for k, v in CLINICAL_FIGURES.items()})
    root = Path(root)
    inputs = results_inputs(results_dir, fig_dir)
    result = build_report(inputs, cfg, out / "study_report.pdf", out / "study_report.html",
                          root / "resources/report", root / "resources/fonts")
    result["listings"] = build_listings(inputs, cfg, out / "study_listings.pdf",
                                        out / "study_listings.html", root / "resources/report",
                                        root / "resources/fonts")
    return result

