"""The template context (everything the template prints) and the HTML."""

from __future__ import annotations

import os
from collections.abc import Mapping
from datetime import date, datetime, timezone
from typing import Any

import jinja2
import pandas as pd

from aiha import formatting as F
from aiha.report.appendix_tables import (audit_table, cleaning_summary_rows,
                                         cleaning_summary_table, cleaning_table,
                                         comments_table, flagged_labs_table, flow_table,
                                         key_statistics_reference, key_statistics_tables,
                                         provenance_table, provenance_tables, qc_check_rows,
                                         qc_checks_table,
                                         r_qc_rows, r_qc_table,
                                         raw_files_table,
                                         qc_table, rows_appendix_table,
                                         sensitivity_claim_rows, sensitivity_claims_table,
                                         sensitivity_summary_rows, sensitivity_table_view,
                                         key_statistics_rows, published_rows)
from aiha.figure_bins import MIN_PATIENTS_PER_BIN
from aiha.report.safety_tables import ae_soc_table, ae_summary_table, infection_table
from aiha.report.disposition_tables import disposition, followup_table, subgroup_table
from aiha.report.clinical_tables import (ae_grade_table, ae_listing, ae_term_table,
                                         baseline_table, exposure_table, response_listing,
                                         response_table, transfusion_table)
from aiha.cytometry.labels import display_labels
from aiha.report.cytometry_captions import cytometry_captions
from aiha.report.methods import (ConfigValues, cfg_anchor, config_keys_table, config_rows,
                                 cytometry_methods, km_ci_words)
from aiha.report.cytometry_tables import (
    flow_findings_table,
    flow_patient_table,
    flow_patients,
    reconciliation_rows,
    reconciliation_table,
)
from aiha.report.model import (ARD, GROUP_LABELS, Cell, Coverage, Fmt, Table, anchor, back_links,
                               link_coverage, max_patient_rows, present_groups, printed_in)
from aiha.report.render_paths import CLINICAL_FIGURES, CYTOMETRY_FIGURES

# --------------------------------------------------------------------------- context
def data_cutoff(cfg: Mapping[str, Any]) -> date:
    value = cfg["data"]["data_cutoff"]
    return value if isinstance(value, date) else date.fromisoformat(str(value))


def source_date_epoch(cfg: Mapping[str, Any]) -> int:
    """Seconds since 1970 at midnight UTC of the data cut-off."""
    d = data_cutoff(cfg)
    return int(datetime(d.year, d.month, d.day, tzinfo=timezone.utc).timestamp())


def cfgnum(value: Any) -> str:
    """A configuration number as written (10.0 -> 10, 1e-09 -> 1e-09)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return format(value, "g").replace("-", F.MINUS) if value < 0 else format(value, "g")
    return str(value)


LISTINGS_NOTE = ("Patient-level listings (response per patient, adverse events, the cleaning "
                 "log, flagged laboratory values, free-text comments and cytometry samples) "
                 "are in the separate listings document made by its own job, so that this "
                 "report keeps the same shape at any number of patients.")


def ard_provenance_listing(ard: pd.DataFrame) -> dict[str, Table]:
    """The listings' section "ARD rows with their provenance": the rule, script and
    input digest of every ARD row (the listings job does not know which rows the
    report printed; the report's Table D1 lists those, in the same order).
    ``ard_provenance``: one line per row, except each patient's own rows (cytometry,
    group a pseudonym), which grow with the cohort and share the provenance of their
    statistic: ``ard_provenance_patients`` gives one line per statistic, measure,
    rule, script and digest, with the number of patients, so that the section stays
    the same length at any N. No row ids: the rows the listings' numbers link to are
    the cytometry table of each patient's ARD rows."""
    from aiha.pseudonym import is_pseudonym

    frame = ard.sort_values(["stat_id", "group", "statistic"], kind="stable")
    own = frame["group"].map(lambda g: is_pseudonym(str(g)))
    study = frame[~own]
    rows = [[Cell(str(s), code=True), GROUP_LABELS.get(str(g), str(g)), Cell(str(m), code=True),
             F.fmt_auto(v, 6), str(u), Cell(str(r), code=True), Cell(str(p), code=True),
             Cell(str(d)[:12], code=True)]
            for s, g, m, v, u, r, p, d in zip(
                study["stat_id"], study["group"], study["statistic"], study["value"],
                study["unit"], study["rule"], study["script"], study["inputs_sha256"])]
    digest_note = "Inputs SHA-256: one digest over the names and bytes of the rule's input files."
    out = {"ard_provenance": Table(
        "ard_provenance", "Every ARD row with the rule, script and input digest that made "
        "it", ["Statistic", "Group", "Measure", "Value", "Unit", "Rule", "Script",
               "Inputs SHA-256 (first 12)"], rows,
        numeric=[False, False, False, True, False, False, False, False],
        css_class="listing ard-provenance wbr", linked=False,
        note="Values are printed with up to 6 decimals, as in Table D1 of the study report "
             "(the rows it prints, each the target of the links of its numbers); Table B4 "
             "of the report counts the rows per rule. " + digest_note
             + (" Each patient's own rows: the next table." if own.any() else ""),
        source="results/ard/ard.tsv")}
    if own.any():
        keys = ["stat_id", "statistic", "rule", "script", "inputs_sha256"]
        per = frame[own].assign(inputs_sha256=frame.loc[own, "inputs_sha256"].astype(str)) \
            .groupby(keys, sort=True)["group"].nunique().reset_index(name="patients")
        out["ard_provenance_patients"] = Table(
            "ard_provenance_patients", "Each patient's ARD rows (cytometry): the rule, script "
            "and input digest of each statistic and measure",
            ["Statistic", "Measure", "Patients", "Rule", "Script", "Inputs SHA-256 (first 12)"],
            [[Cell(str(r.stat_id), code=True), Cell(str(r.statistic), code=True),
              F.fmt_count(r.patients), Cell(str(r.rule), code=True),
              Cell(str(r.script), code=True), Cell(str(r.inputs_sha256)[:12], code=True)]
             for r in per.itertuples(index=False)],
            numeric=[False, False, True, False, False, False],
            css_class="listing ard-provenance-patients wbr", linked=False,
            note="One line for the rows of every patient with that statistic and measure "
                 "(their values: the table of each patient's ARD rows, section Cytometry). "
                 + digest_note, source="results/ard/ard.tsv")
    return out


def build_listings_context(tables: Mapping[str, pd.DataFrame | None],
                           cfg: Mapping[str, Any],
                           raw_inputs: Mapping[str, str] | None = None) -> dict[str, Any]:
    """The patient-level listings (rule render_listings). ``tables`` keys: responses,
    patients, labs, adverse_events, cleaning_log, cytometry_qc and ard (both optional:
    with both, each cytometry patient's summary and ARD rows; with the ARD, every ARD
    row with its provenance, :func:`ard_provenance_listing`); ``raw_inputs``
    (results/raw_inputs.tsv, path -> SHA-256) lists the raw input files."""
    fmt = Fmt.from_config(cfg)
    routine = list(dict(cfg.get("report", {})).get("cleaning_log_routine", []))
    t: dict[str, Table] = {
        "response_listing": response_listing(tables["responses"], fmt),
        "ae_listing": ae_listing(tables["adverse_events"], tables["responses"]),
        "cleaning_log": cleaning_table(tables["cleaning_log"], routine),
        "flagged_labs": flagged_labs_table(tables["labs"], fmt),
        "comments": comments_table(tables["patients"], tables["labs"]),
    }
    if tables.get("cytometry_qc") is not None:
        t["cytometry_qc"] = qc_table(tables["cytometry_qc"], fmt)
        if tables.get("ard") is not None:
            ard = ARD(tables["ard"])
            # The listings link to their own table of ARD rows (flow_ard_patients).
            t["flow_patients"] = flow_patient_table(ard, fmt, cfg, listing=True)
            t["flow_ard_patients"] = flow_table(ard, fmt, per_patient=True)
            t["flow_patients"].links_to = "its row in the table of each patient's ARD rows below"
    if tables.get("ard") is not None:
        t.update(ard_provenance_listing(tables["ard"]))
    if raw_inputs is not None:
        t["raw_files"] = raw_files_table(raw_inputs)
    if tables.get("adam_variables") is not None:
        from aiha.report.adam_listing import adam_variables_table

        t["adam_variables"] = adam_variables_table(tables["adam_variables"])
    cutoff = data_cutoff(cfg)
    return {"data_cutoff": cutoff.isoformat(), "created": f"{cutoff.isoformat()}T00:00:00Z",
            "tables": t}


def chapter_list(has_audit: bool, has_cytometry: bool, has_qc: bool) -> list[dict[str, str]]:
    """The chapters and appendices in order, with their printed numbers and titles (one
    list for the table of contents and the headings)."""
    main = ([("audit", "Published versus reproduced")] if has_audit else []) + [
        ("methods", "Methods"), ("baseline", "Patients"),
        ("exposure", "Treatment exposure and transfusions"), ("response", "Response"),
        ("safety", "Safety"), ("cytometry", "Flow cytometry"),
        ("sensitivity", "Sensitivity analyses")]
    appendices = [("appendix-a", "A", "Data cleaning"), ("appendix-b", "B", "Provenance")]
    if has_qc:
        appendices.append(("appendix-c", "C", "Independent QC"))
    appendices.append(("appendix-d", "D", "The ARD rows behind every printed number"))
    if has_cytometry:
        appendices.append(("appendix-e", "E", "Cytometry statistics"))
    out = [{"id": cid, "number": f"{i}.", "title": title, "heading": f"{i}. {title}"}
           for i, (cid, title) in enumerate(main, start=1)]
    out += [{"id": cid, "number": f"Appendix {letter}.", "title": title,
             "heading": f"Appendix {letter}. {title}"} for cid, letter, title in appendices]
    return out


# The tables of the appendices (the others are in the chapters: the body).
APPENDIX_TABLES = frozenset({"cleaning_summary", "provenance", "build", "inputs", "study_files",
                             "packages", "config_keys", "qc_checks", "r_qc", "flow_ard",
                             "ard_rows", "result_rows"})


def coverage_words(coverage: Coverage) -> str:
    """The title page's sentence on links, from the numbers measured in the tables of
    the chapters (:func:`aiha.report.model.link_coverage`): true whatever it finds."""
    if coverage.total == 0:
        return "The tables of the chapters print no number from a results table."
    if coverage.complete:
        return ("Every number that the tables of the chapters print from a results table "
                f"({F.fmt_count(coverage.total)} numbers) links to the row that holds it, in "
                "Appendix D.")
    return (f"Of the {F.fmt_count(coverage.total)} numbers that the tables of the chapters "
            f"print from a results table, {F.fmt_count(coverage.linked)} "
            f"({F.fmt_percent(coverage.linked / coverage.total, 0)}) link to the row that "
            "holds them, in Appendix D; the others carry no link.")


def ard_appendix_table(ard: ARD, printed: Mapping[str, Any] | None = None) -> Table:
    """Appendix D: every ARD row the report printed; each row is the target of the
    links on the numbers it gave and links back to the tables that print it
    (``printed``: :func:`aiha.report.model.printed_in`). The rule, script and input
    digest of each row are in the listings document (:func:`ard_provenance_listing`),
    per rule in Table B4: the appendix keeps to what a reader checks a number against."""
    frame = ard.frame.set_index(["stat_id", "group", "statistic"])
    printed = printed or {}
    rows, ids = [], []
    for key in sorted(ard.used):
        r = frame.loc[key]
        r = r.iloc[0] if isinstance(r, pd.DataFrame) else r
        rows.append([Cell(key[0], code=True), GROUP_LABELS.get(key[1], key[1]),
                     Cell(key[2], code=True), F.fmt_auto(r["value"], 6), r["unit"],
                     back_links(printed.get(anchor(key), ()))])
        ids.append(anchor(key))
    # "wbr": identifiers in code type break only after an underscore (_macros.html.j2).
    return Table("ard_rows", "Table D1. ARD rows printed in this report",
                 ["Statistic", "Group", "Measure", "Value", "Unit", "Printed in (table)"],
                 rows, numeric=[False, False, False, True, False, False],
                 css_class="listing ard wbr", row_ids=ids,
                 note="All rows, including those not printed, are in results/ard/ard.tsv. "
                      "Values are printed with up to 6 decimals. The rule and script that "
                      "made the rows are in Table B4; each row's rule, script and input "
                      "digest are in the listings document (results/report/"
                      "study_listings.pdf, \u201cARD rows with their provenance\u201d).",
                 source="results/ard/ard.tsv")


def build_context(
    tables: Mapping[str, pd.DataFrame],
    cfg: Mapping[str, Any],
    provenance: Mapping[str, Any],
    digests: Mapping[str, str] | None = None,
    cytometry_figure_facts: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """Everything the template prints. ``tables`` keys: ard (from :func:`aiha.ard.read_ard`),
    responses, patients, labs, adverse_events, cleaning_summary (results/stats/
    cleaning_summary.tsv), cytometry_qc, audit, sensitivity, sensitivity_claims, key_statistics (results/sensitivity/
    key_statistics.tsv); ``provenance`` is results/provenance.json; ``cytometry_figure_facts``
    is results/cytometry/figures/event_figures.json (what the captions of the
    event-level cytometry figures print), optional."""
    ard = ARD(tables["ard"])
    fmt = Fmt.from_config(cfg)
    report_cfg = dict(cfg.get("report", {}))
    has_audit = tables.get("audit") is not None
    has_cytometry = tables.get("cytometry_qc") is not None
    optional = {}
    # The results tables other than the ARD whose printed rows make Table D2.
    books = []
    if has_audit:
        books.append(published_rows(tables["audit"]))
        optional["audit"] = audit_table(tables["audit"], cfg, ard, books[0])
    # The numbers of the configuration the text and tables print, each linked to its
    # row of Table B6 (the configuration in force).
    cfg_values = ConfigValues(cfg, {cfg_anchor(key) for key, _, _ in config_rows(cfg, has_cytometry)})
    if has_cytometry:
        optional["flow_findings"] = flow_findings_table(ard, fmt, cfg, cfg_values)
        # Per-patient rows only up to report.max_patient_rows; beyond, the listings.
        if len(flow_patients(ard)) <= max_patient_rows(cfg):
            optional["flow_patients"] = flow_patient_table(ard, fmt, cfg)
        optional["flow_ard"] = flow_table(ard, fmt)
    if tables.get("qc") is not None:
        books.append(qc_check_rows(tables["qc"]))
        optional["qc_checks"] = qc_checks_table(tables["qc"], fmt, ard, books[-1])
    if tables.get("r_qc") is not None:
        books.append(r_qc_rows(tables["r_qc"]))
        optional["r_qc"] = r_qc_table(tables["r_qc"], books[-1])
    if has_cytometry and tables.get("flowjo_reconciliation") is not None:
        books.append(reconciliation_rows(tables["flowjo_reconciliation"]))
        optional["flowjo_reconciliation"] = reconciliation_table(
            tables["flowjo_reconciliation"], fmt, cfg, books[-1])
    published = books[0] if has_audit else None
    cleaning_book = cleaning_summary_rows(tables["cleaning_summary"])
    books.append(cleaning_book)
    keys_book = key_statistics_rows(tables["key_statistics"])
    summary_book = sensitivity_summary_rows(tables["sensitivity"])
    key_statistics = key_statistics_tables(tables["key_statistics"], present_groups(ard), fmt,
                                           keys_book)
    has_claims_table = tables.get("sensitivity_claims") is not None and \
        len(tables["sensitivity_claims"]) > 0
    claims_book = sensitivity_claim_rows(tables["sensitivity_claims"]) if has_claims_table \
        else None
    # Tables 10 and 11 are printed only with the claims audit (and their rows with them).
    books += [keys_book] + ([summary_book] if has_audit else []) + \
        ([claims_book] if claims_book is not None and has_audit else [])
    t = {
        **optional,
        **key_statistics,
        "sensitivity": sensitivity_table_view(tables["sensitivity"], summary_book),
        **({"sensitivity_claims": sensitivity_claims_table(tables["sensitivity_claims"],
                                                           claims_book, published)}
           if has_claims_table else {}),
        "baseline": baseline_table(ard, fmt),
        "exposure": exposure_table(ard, fmt),
        "transfusions": transfusion_table(ard, fmt),
        "response": response_table(ard, fmt, cfg),
        **{k: v for k, v in (("followup", followup_table(ard, fmt, cfg)),
                             ("subgroups", subgroup_table(ard, fmt, cfg))) if v is not None},
        "ae_term": ae_term_table(ard, fmt),
        **{k: v for k, v in (("ae_summary", ae_summary_table(ard, fmt, cfg)),
                             ("ae_soc", ae_soc_table(ard, fmt, cfg)),
                             ("ae_infection", infection_table(ard, fmt))) if v is not None},
        "ae_grade": ae_grade_table(ard),
        "cleaning_summary": cleaning_summary_table(tables["cleaning_summary"], cleaning_book),
        "provenance": provenance_table(ard),
        **provenance_tables(provenance),
    }
    cutoff = data_cutoff(cfg)
    facts = {
        "n_all": ard.cell(lambda: F.fmt_count(ard.get("n_treated", "all", "n"))),
        "treated_by_group": [ard.cell(
            lambda g=g: f"{GROUP_LABELS[g] if g != 'cAIHA' else 'anemic cAIHA'} "
                        f"{F.fmt_count(ard.get('n_treated', g, 'n'))}")
            for g in present_groups(ard) if g != "all"],
    }
    diagram = disposition(ard)
    flow_n_cell = (ard.cell(lambda: F.fmt_counted(ard.get("flow_n", "all", "n"), "patient"))
                   if ard.has("flow_n", "all", "n") else Cell(F.MISSING))
    # Appendix C: the R double programming (or that it did not run: key r_qc is None).
    chapters = chapter_list(has_audit, has_cytometry,
                            tables.get("qc") is not None or "r_qc" in tables)
    t["config_keys"] = config_keys_table(cfg, has_cytometry)
    labels = display_labels(dict((cfg.get("cytometry") or {}).get("populations") or {}))
    in_force = (provenance.get("config") or {}).get("in_force")
    cover = dict(digests or {})
    if in_force:
        cover[f"Config in force ({in_force['file']})"] = in_force["sha256"]
    # Last: the rows every table above printed, each linking back to where it is printed.
    shown = {k: v for k, v in t.items() if has_audit or k not in ("sensitivity",
                                                                  "sensitivity_claims")}
    section = next((c["number"].rstrip(".") for c in chapters if c["id"] == "cytometry"), "")
    diagram_cells = ([] if diagram is None else
                     [diagram.treated, *diagram.treated_groups, diagram.excluded,
                      *diagram.reasons, diagram.efficacy, *diagram.efficacy_groups])
    printed = printed_in(shown, [("cover", "cover", [facts["n_all"], *facts["treated_by_group"]]),
                                 ("Disposition", "disposition", diagram_cells),
                                 (f"\u00a7{section}", "cytometry", [flow_n_cell])])
    t["ard_rows"] = ard_appendix_table(ard, printed)
    t["result_rows"] = rows_appendix_table(books, printed)
    coverage = link_coverage([table for key, table in shown.items()
                              if key not in APPENDIX_TABLES])
    return {
        "chapters": chapters,
        "tie_words": {"lower": "start", "upper": "end", "midpoint": "midpoint",
                      "r_survival": "midpoint (as R survival)"}[
            cfg["statistics"]["km_tie_rule"]],
        "listings_note": LISTINGS_NOTE,
        "chapter": {c["id"]: c for c in chapters},
        "facts": facts,
        "disposition": diagram,
        # The figures' rule for a summarised time bin (aiha.figures), quoted by captions.
        "min_bin_patients": MIN_PATIENTS_PER_BIN,
        "link_coverage": coverage,
        "coverage_words": coverage_words(coverage),
        "flow_patients_cell": flow_n_cell,
        "title": report_cfg.get("title", "Study report"),
        "subtitle": report_cfg.get("subtitle", ""),
        "author": report_cfg.get("author", ""),
        "reference": report_cfg.get("reference", ""),
        "data_cutoff": cutoff.isoformat(),
        "created": f"{cutoff.isoformat()}T00:00:00Z",
        "cfg": cfg,
        "cfgv": cfg_values,
        "tables": t,
        "figures": {k: f"figures/{v}" for k, v in CLINICAL_FIGURES.items()},
        "cytometry_figures": {k: f"cytometry/{k}.svg" for k in CYTOMETRY_FIGURES},
        "cytometry_captions": cytometry_captions(cytometry_figure_facts, labels),
        "cytometry_labels": labels,
        "methods": {
            "cytometry": (cytometry_methods(cfg, cytometry_figure_facts, cfg_values)
                          if has_cytometry else []),
            "km_ci": km_ci_words(cfg["statistics"]),
        },
        "digests": cover,
        "has_audit": has_audit,
        "has_cytometry": has_cytometry,
        "has_sensitivity_claims": len(tables["sensitivity"]) > 0,
        "key_statistics": list(key_statistics),
        "key_statistics_ref": key_statistics_reference(key_statistics),
        "treated_by_group": "; ".join(
            f"{GROUP_LABELS[g] if g != 'cAIHA' else 'anemic cAIHA'} "
            f"{F.fmt_count(ard.get('n_treated', g, 'n'))}"
            for g in present_groups(ard) if g != "all"),
        "n_wAIHA": F.fmt_count(ard.get("n_treated", "wAIHA", "n")),
        "n_cAIHA": F.fmt_count(ard.get("n_treated", "cAIHA", "n")),
        "n_nonanemic": F.fmt_count(ard.get("n_treated", "cAIHA_nonanemic", "n")),
        "n_all": F.fmt_count(ard.get("n_treated", "all", "n")),
        "flow_patients": F.fmt_counted(ard.get("flow_n", "all", "n"), "patient")
        if ard.has("flow_n", "all", "n") else F.MISSING,
    }


def jinja_env(template_dir: str | os.PathLike[str]) -> jinja2.Environment:
    """autoescape=True for every template (select_autoescape misses .j2)."""
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(os.fspath(template_dir)),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["cfgnum"] = cfgnum
    env.filters["percent"] = lambda v, d=0: F.fmt_percent(v, d)
    return env


def render_html(context: Mapping[str, Any], template_dir: str | os.PathLike[str],
                template: str = "study_report.html.j2") -> str:
    return jinja_env(template_dir).get_template(template).render(**context)

