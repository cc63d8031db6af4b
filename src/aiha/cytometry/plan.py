"""What the cytometry rules need to know when the workflow is parsed: the samples
(from the sample sheet, or planned from the cohort specification for the demo so
that the DAG is known before the files exist), and which samples each figure uses.

Record numbers stay in memory here to tell patients apart; they are never written.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any


def cytometry_enabled(config: Mapping[str, Any]) -> bool:
    """Whether the cytometry arm runs: a ``cytometry`` config section with
    ``enabled`` not false, and cytometry data (demo: a patient of the cohort
    specification with ``cytometry: true``; a site: ``<raw_dir>/cytometry/samples.csv``
    with at least one row). A ``cytometry/`` folder without its sample sheet is an
    error: the data would be silently left out."""
    cyto = config.get("cytometry")
    if not cyto or not cyto.get("enabled", True):
        return False
    data = config["data"]
    if data["generate_demo"]:
        from aiha.demo.cohort import load_spec

        spec = load_spec(data["demo_spec"], data["demo_multiplier"])
        return bool(spec.cytometry_patients)
    folder = Path(data["raw_dir"]) / "cytometry"
    if not folder.exists():
        return False
    sheet = folder / "samples.csv"
    if not sheet.is_file():
        from aiha.errors import InputError

        raise InputError(str(sheet), "sample sheet not found: the cytometry folder needs its "
                         "samples.csv (or set cytometry.enabled: false)")
    from aiha.cytometry.samplesheet import read_sample_sheet

    return len(read_sample_sheet(sheet)) > 0


def sample_rows(config: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """sample_id -> {file, tube, visit, patient (site, record_number),
    workspace_sample (the sample's name in a FlowJo workspace; "" = the file name)}."""
    if config["data"]["generate_demo"]:
        from aiha.cytometry.demo import plan_samples
        from aiha.demo.cohort import load_spec

        planned = plan_samples(load_spec(config["data"]["demo_spec"], config["data"]["demo_multiplier"]), config["cytometry"]["demo"])
        rows = [(s.sample_id, s.file, s.tube, s.visit, s.site, s.record_number, "") for s in planned]
    else:
        from datetime import date

        from aiha.cytometry.samplesheet import (after_cutoff, check_files,
                                                check_sheet_identifiers, read_sample_sheet)

        sheet_path = Path(config["data"]["raw_dir"]) / "cytometry" / "samples.csv"
        sheet = read_sample_sheet(sheet_path)
        # A row without its file, or a file without a row, stops the workflow here,
        # with the sheet's row, before any rule runs (a stray file is no rule input).
        check_files(sheet, sheet_path)
        # An identifier in a sample id or file name: refused before any job reads them.
        check_sheet_identifiers(sheet, sheet_path, config["data"]["raw_dir"],
                                config["data"]["site_profiles"])
        named = sheet["workspace_sample"] if "workspace_sample" in sheet else [""] * len(sheet)
        # Samples collected after the data cut-off are not gated (dropped and logged
        # by the sample-sheet job, as clinical records after the cut-off are).
        late = set(after_cutoff(sheet, date.fromisoformat(str(config["data"]["data_cutoff"]))))
        rows = [(r.sample_id, r.file, r.tube, r.visit, r.site, r.record_number, w)
                for i, (r, w) in enumerate(zip(sheet.itertuples(index=False), named), start=1)
                if i not in late]
    return {sid: {"file": f, "tube": t, "visit": v, "patient": (site, rec), "workspace_sample": w}
            for sid, f, t, v, site, rec, w in rows}


def pick_samples(rows: Mapping[str, Mapping[str, Any]], tube: str, visits: Sequence[str],
                 max_patients: int) -> list[str]:
    """Sample ids of ``tube`` at ``visits`` (in that order), patient by patient in
    sheet order, for the first ``max_patients`` patients (a figure's panels stay
    readable, and its work does not grow with the cohort)."""
    patients = list(dict.fromkeys(r["patient"] for r in rows.values()))[:max_patients]
    return [sid for patient in patients for visit in visits for sid in sorted(rows)
            if rows[sid]["patient"] == patient and rows[sid]["tube"] == tube and rows[sid]["visit"] == visit]


def gating_source_file(cyto: Mapping[str, Any], tube: str) -> str:
    """The gating file of a tube: its GatingML file or its FlowJo workspace."""
    key = "flowjo_workspace" if cyto["gating_source"] == "flowjo" else "gatingml"
    return str(cyto[key][tube])


def gating_units(rows: Mapping[str, Mapping[str, Any]], per: str, key: bytes) -> dict[str, list[str]]:
    """The FCS files each gating job gates, by job name.

    ``per="sample"``: one job per FCS file, named by its sample id (touching a file
    regates only that file). ``per="patient"``: one job per patient, named by the
    patient's pseudonym, gating all of that patient's files in one process (FlowKit
    is imported once per patient instead of once per file; touching a file regates
    that patient's files).
    """
    if per == "sample":
        return {sid: [sid] for sid in sorted(rows)}
    if per != "patient":
        raise ValueError(f"unknown gating job unit {per!r} (patient or sample)")
    from aiha.pseudonym import pseudonymize

    units: dict[str, list[str]] = {}
    for sid in sorted(rows):
        site, record_number = rows[sid]["patient"]
        units.setdefault(pseudonymize(site, record_number, key), []).append(sid)
    return dict(sorted(units.items()))


def figure_patients(patients: Iterable[str], max_patients: int) -> list[str]:
    """The patients a per-patient figure draws: the first ``max_patients`` by pseudonym
    (config ``cytometry.figures.summary_max_patients``). Pseudonyms are keyed hashes, so
    this is an arbitrary but reproducible choice that does not depend on the results."""
    return sorted(set(patients))[:max_patients]
