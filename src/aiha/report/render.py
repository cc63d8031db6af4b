"""PDF rendering and the report job's inputs.

Reproducibility: ``SOURCE_DATE_EPOCH`` (fontTools subsetting), the ``dcterms`` dates
and the PDF identifier are all derived from the data cut-off and the inputs, so the
same inputs give the same PDF bytes wherever the project lives. PDF and HTML are
written through a temporary file and ``os.replace``: a failing render leaves the
previous ones in place and no temporary file behind.

Publishing (rule ``publish_report``, :func:`publish_document`): each render also
writes a manifest, ``<doc>.manifest.json``, with the SHA-256 of every input it read
(the ARD among them) and of the PDF and HTML it wrote. The publish step checks the
manifest against the staged files and the inputs as they are now, refuses a
document made from other inputs than the current ones, and only then replaces the
published PDF and HTML (each atomically) and writes the published manifest last.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import pandas as pd

from aiha.ard import file_sha256, read_ard, read_text_tsv
from aiha.errors import InputError
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
    replace_atomic(pdf_path, lambda tmp: document.write_pdf(
        tmp,
        pdf_identifier=identifier.encode("ascii"),
        pdf_variant=None,
        attachments=None,
        custom_metadata=False,
        presentational_hints=False,
        uncompressed_pdf=False,
    ))
    return fetcher


def replace_atomic(path: str | os.PathLike[str], write: Callable[[Path], Any]) -> None:
    """``write`` a temporary file next to ``path`` (``.<name>.tmp``), then rename it
    into place: ``path`` holds either its previous bytes or the complete new ones,
    and a failing ``write`` leaves no temporary file behind."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    try:
        write(tmp)
        os.replace(tmp, path)
    except BaseException:
        if tmp.is_file() or tmp.is_symlink():
            tmp.unlink()
        raise


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
    manifest_path: str | os.PathLike[str] | None = None,
) -> dict[str, Any]:
    """Read inputs, render HTML and PDF (and, given ``manifest_path``, the manifest
    that the publish step checks, :func:`write_manifest`). ``inputs`` keys: ard, responses, patients,
    labs, adverse_events, cleaning_summary, cytometry_qc, audit, sensitivity,
    sensitivity_claims, key_statistics, provenance, fig_<clinical figure>,
    cyto_<cytometry figure>, cytometry_figure_facts (optional). Returns the context,
    the HTML and the URLs the PDF renderer fetched (``served``) or refused (for tests)."""
    resources_dir = Path(resources_dir)
    tables = {k: read_text_tsv(inputs[k])
              for k in ("cleaning_summary", "sensitivity", "key_statistics")}
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
    result = _render_document(context, "study_report.html.j2", cfg, pdf_path, html_path,
                              resources_dir, fonts_dir, figures, cyto)
    if manifest_path is not None:
        write_manifest(manifest_path, inputs, pdf_path, html_path,
                       {"ard": digests["ARD (results/ard/ard.tsv)"]})
    return result


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
    replace_atomic(path, lambda tmp: tmp.write_text(text, encoding="utf-8"))


# ---------------------------------------------------------------- manifest, publish
def _input_files(inputs: Mapping[str, Any]) -> dict[str, str]:
    """Every input file of a render job by name (lists as ``name[i]``), as given."""
    files: dict[str, str] = {}
    for name, value in inputs.items():
        if isinstance(value, (list, tuple)):
            files.update({f"{name}[{i}]": str(v) for i, v in enumerate(value)})
        elif value:
            files[name] = str(value)
    return files


def write_manifest(path: str | os.PathLike[str], inputs: Mapping[str, Any],
                   pdf_path: str | os.PathLike[str], html_path: str | os.PathLike[str],
                   read_digests: Mapping[str, str] | None = None) -> dict[str, Any]:
    """The manifest of one rendered document: the SHA-256 of each input file (as read
    by the render, ``read_digests``, where given), of the PDF and of the HTML."""
    read_digests = dict(read_digests or {})
    files = _input_files(inputs)
    manifest = {
        "inputs": {name: {"path": p, "sha256": read_digests.get(name) or file_sha256(p)}
                   for name, p in sorted(files.items())},
        "pdf": {"path": str(pdf_path), "sha256": file_sha256(pdf_path)},
        "html": {"path": str(html_path), "sha256": file_sha256(html_path)},
    }
    text = json.dumps(manifest, indent=2, sort_keys=True) + "\n"
    replace_atomic(path, lambda tmp: tmp.write_text(text, encoding="utf-8"))
    return manifest


class PublishError(InputError):
    """A staged document that does not belong to the current inputs (one line,
    ``ERROR: file <f>: <what>``, like any bad input)."""


def check_manifest(manifest_path: str | os.PathLike[str], pdf: str | os.PathLike[str],
                   html: str | os.PathLike[str]) -> dict[str, Any]:
    """Check a staged document against its manifest and the inputs as they are now.

    Raises :class:`PublishError` naming the file whose digest differs: the staged PDF
    or HTML is not the one the manifest describes, or an input (the ARD, a results
    table) changed since the render read it. A manifest that records the ARD of the
    study report must find that digest printed in its HTML (the digests appendix)."""
    manifest = json.loads(Path(manifest_path).read_text(encoding="utf-8"))
    for kind, path in (("pdf", pdf), ("html", html)):
        if file_sha256(path) != manifest[kind]["sha256"]:
            raise PublishError(str(path), f"not the {kind.upper()} that {manifest_path} "
                               "describes (a render was interrupted or overwritten); "
                               "not published, rerun the workflow")
    for name, entry in manifest["inputs"].items():
        now = file_sha256(entry["path"]) if Path(entry["path"]).is_file() else None
        if now != entry["sha256"]:
            raise PublishError(str(entry["path"]), f"{pdf} was rendered from another "
                               f"version of this input ({name}: SHA-256 "
                               f"{entry['sha256'][:12]}..., now {(now or 'missing')[:12]}...); "
                               "not published, rerun the workflow")
    ard = manifest["inputs"].get("ard")
    if ard and Path(html).name.startswith("study_report"):
        if ard["sha256"] not in Path(html).read_text(encoding="utf-8"):
            raise PublishError(str(html), "does not record the digest of the ARD it was "
                               "made from; not published")
    return manifest


def publish_document(staged: Mapping[str, str | os.PathLike[str]],
                     published: Mapping[str, str | os.PathLike[str]]) -> list[str]:
    """Publish a staged document (rule ``publish_report``). ``staged`` and
    ``published`` keys: pdf, html, manifest. The staged files are checked
    (:func:`check_manifest`) and copied next to their published places
    (``.<name>.tmp``) before any published file changes; then PDF, HTML and, last,
    the manifest are renamed into place. A failure before the renames leaves every
    published file as it was and no temporary file behind; an existing published
    manifest always describes the published PDF and HTML. Returns what was done."""
    kinds = ("pdf", "html", "manifest")
    check_manifest(staged["manifest"], staged["pdf"], staged["html"])
    tmps = {k: Path(published[k]).with_name(f".{Path(published[k]).name}.tmp") for k in kinds}
    done = []
    try:
        for kind in kinds:
            Path(published[kind]).parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(staged[kind], tmps[kind])
        for kind in kinds:
            os.replace(tmps[kind], published[kind])
            done.append(f"published {published[kind]}")
    except BaseException:
        for tmp in tmps.values():
            if tmp.is_file() or tmp.is_symlink():
                tmp.unlink()
        raise
    return done


def build_listings(
    inputs: Mapping[str, str | os.PathLike[str]],
    cfg: Mapping[str, Any],
    pdf_path: str | os.PathLike[str],
    html_path: str | os.PathLike[str],
    resources_dir: str | os.PathLike[str] = "resources/report",
    fonts_dir: str | os.PathLike[str] = "resources/fonts",
    manifest_path: str | os.PathLike[str] | None = None,
    text_max_chars: int | None = None,
) -> dict[str, Any]:
    """The patient-level listings document (rule render_listings), and its manifest
    given ``manifest_path`` (:func:`write_manifest`). ``text_max_chars`` (config
    ``report.listings_text_max_chars``): a longer text cell is shortened in the
    listings (:func:`shorten_text_cells`); the cleaned tables keep the full text. ``inputs`` keys:
    responses, patients, labs, adverse_events, cleaning_log; optional: cytometry_qc,
    ard (each cytometry patient's rows), raw_digests (results/raw_inputs.tsv: the raw
    input files and their SHA-256) and adam_variables (results/adam/variables.tsv: the
    analysis datasets' variable metadata, a section of its own)."""
    resources_dir = Path(resources_dir)
    tables: dict[str, Any] = {k: read_text_tsv(inputs[k]) for k in
                              ("responses", "patients", "labs", "adverse_events", "cleaning_log")}
    tables["cytometry_qc"] = read_text_tsv(inputs["cytometry_qc"]) \
        if inputs.get("cytometry_qc") else None
    tables["ard"] = read_ard(inputs["ard"]) if inputs.get("ard") else None
    if text_max_chars is not None:
        for k in ("responses", "patients", "labs", "adverse_events", "cleaning_log"):
            tables[k] = shorten_text_cells(tables[k], text_max_chars, str(inputs[k]))
    raw = read_text_tsv(inputs["raw_digests"]) if inputs.get("raw_digests") else None
    tables["adam_variables"] = read_text_tsv(inputs["adam_variables"]) \
        if inputs.get("adam_variables") else None
    context = build_listings_context(
        tables, cfg, None if raw is None else dict(zip(raw["path"], raw["sha256"])))
    result = _render_document(context, "listings.html.j2", cfg, pdf_path, html_path,
                              resources_dir, fonts_dir, {}, {})
    if manifest_path is not None:
        write_manifest(manifest_path, inputs, pdf_path, html_path)
    return result


def shorten_text_cells(frame: pd.DataFrame, max_chars: int, source: str) -> pd.DataFrame:
    """``frame`` with every text cell longer than ``max_chars`` cut to its first
    ``max_chars`` characters and a note of what was left out and where the full text
    is (``source``): one 10,000-character comment no longer sets the cost of the
    listings."""
    out = frame.copy()
    for column in out.columns:
        if out[column].dtype != object:
            continue
        values = out[column]
        long = values.map(lambda v: isinstance(v, str) and len(v) > max_chars)
        if long.any():
            out.loc[long, column] = values[long].map(
                lambda v: f"{v[:max_chars]}… [{len(v) - max_chars} more characters: "
                          f"full text in {source}]")
    return out


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
        "cleaning_summary": r / "stats/cleaning_summary.tsv",
        "cytometry_qc": r / "cytometry/qc.tsv",
        "audit": r / "audit/claims.tsv",
        "qc": r / "qc/double_programming.tsv",
        "r_qc": r / "qc/r_double_programming_summary.tsv",
        "sensitivity": r / "sensitivity/summary.tsv",
        "sensitivity_claims": r / "sensitivity/sensitivity.tsv",
        "key_statistics": r / "sensitivity/key_statistics.tsv",
        "provenance": r / "provenance.json",
        "raw_digests": r / "raw_inputs.tsv",
        "adam_variables": r / "adam/variables.tsv",
        "cytometry_figure_facts": r / "cytometry/figures/event_figures.json",
    }
    inputs.update({f"fig_{k}": f / v for k, v in CLINICAL_FIGURES.items()})
    inputs.update({f"cyto_{k}": r / f"cytometry/figures/{k}.svg" for k in CYTOMETRY_FIGURES})
    optional = ("cytometry_qc", "audit", "qc", "r_qc", "sensitivity_claims", "raw_digests",
                "cytometry_figure_facts", "adam_variables",
                *(f"cyto_{k}" for k in CYTOMETRY_FIGURES))
    return {k: v for k, v in inputs.items() if k not in optional or Path(v).exists()}


def figure_inputs(results_dir: str | os.PathLike[str]) -> dict[str, Path]:
    """The inputs of :func:`write_figures` in a results/ tree."""
    r = Path(results_dir)
    out = {"responses": r / "response/responses.tsv", "labs": r / "clinical/labs.tsv",
           "treatments": r / "clinical/treatments.tsv", "km": r / "stats/km_curve.tsv",
           "ard": r / "ard/ard.tsv"}
    if (r / "clinical/transfusions.tsv").exists():  # optional: the swimmer plot's marks
        out["transfusions"] = r / "clinical/transfusions.tsv"
    return out


def write_figures(inputs: Mapping[str, str | os.PathLike[str]], cfg: Mapping[str, Any],
                  outputs: Mapping[str, str | os.PathLike[str]]) -> None:
    """Draw the clinical figures (:func:`aiha.figures.write_clinical_figures`, the
    routine of rule report_figures)."""
    from aiha.figures import write_clinical_figures

    write_clinical_figures(inputs, cfg, outputs)


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

