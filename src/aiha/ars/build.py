"""Build the ARS reporting event from the ARD (rule ``ars_reporting_event``).

:func:`reporting_event` takes the ARD as written (``results/ard/ard.tsv``, every cell
a string, see :func:`aiha.ard.read_text_tsv`) and the config subset
:func:`aiha.ars.ars_config`, and returns the ``ReportingEvent`` as a dict, valid
against the ARS v1.0 JSON schema (``../shared/standards/cdisc-ars/ars_ldm.schema.json``):

- ``analysisSets``: the safety set (all treated, ``ADSL.SAFFL = Y``) and the efficacy
  set (``ADSL.EFFFL = Y``); each analysis names the one its statistic is defined on
  (:data:`EFFICACY_STATISTICS`);
- ``analysisGroupings``: the analysis groups (wAIHA, anemic cAIHA, non-anemic cAIHA;
  ``all`` is an analysis with no grouping) and, data-driven, the patient
  (``USUBJID``, the pseudonym) for per-patient cytometry rows;
- ``dataSubsets``: one per distinct ``selection`` of the ARD (when the ARD has the
  column); ``dataset`` and ``variables`` become the analysis's ``dataset`` and
  ``variable``;
- ``methods``: one per ``stat_id``, one operation per ``statistic`` of it (numerator
  and denominator operations are referenced by the proportion's);
- ``analyses``: one per ARD row, with one ``OperationResult``;
- ``outputs``: the report's tables built from the ARD (Tables 1–8 and E1), each with
  its caption and note, and the list of contents that names, under each output, the
  analyses whose rows it prints.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from aiha.ars import ALL_GROUP, GROUPING_ANALYSIS_GROUP, GROUPING_PATIENT, raw_to_float
from aiha.ars.format import formatted_value
from aiha.pseudonym import is_pseudonym
from aiha.report.appendix_tables import flow_table
from aiha.report.clinical_tables import (ae_grade_table, ae_term_table, baseline_table,
                                         exposure_table, response_table, transfusion_table)
from aiha.report.safety_tables import ae_soc_table, ae_summary_table, infection_table
from aiha.report.disposition_tables import followup_table, subgroup_table
from aiha.report.cytometry_tables import flow_findings_table, flow_patient_table, flow_patients
from aiha.report.model import ARD, GROUP_LABELS, GROUPS, Cell, Fmt, Table, max_patient_rows

Key = tuple[str, str, str]

AS_SAFETY = "AnalysisSet_SAF"
AS_EFFICACY = "AnalysisSet_EFF"
EFFICACY_STATISTICS = {"n_efficacy", "orr", "cr", "pr", "hb_response", "dor_median_crude",
                       "dor_median_km", "dor_median_reported", "dor_min", "dor_max",
                       "ongoing", "ongoing_duration", "nr_evans", "time_to_response",
                       "dor_landmark"}
PRIMARY = {"orr", "hb_response"}
SECONDARY = EFFICACY_STATISTICS - PRIMARY - {"n_efficacy"} | {
    "acro_improved", "nonanemic_acro_response", "nonanemic_hb_increase", "nonanemic_hb_change"}
# Implementer-defined categories (ARS ``analysisOutputCategorizations``): the report
# chapter a statistic belongs to.
CATEGORIZATION = "Catn_Chapter"
CATEGORIES = (("Population", "Patients and baseline characteristics"),
              ("Exposure", "Treatment exposure, later therapies and transfusions"),
              ("Efficacy", "Response and duration of response"),
              ("Safety", "Adverse events"),
              ("Cytometry", "Flow cytometry"),
              ("Other", "Other statistics"))
_CATEGORY_OF = (("flow_", "Cytometry"), ("ae_", "Safety"), ("exposure_", "Exposure"),
                ("later_therapy", "Exposure"), ("transfusion_", "Exposure"),
                ("baseline_", "Population"))
POPULATION = {"n_treated", "n_efficacy", "age", "sex_female", "prior_lines", "evans",
              "acrocyanosis", "disposition", "followup_median"}
TERM_REANALYSIS = "TermEx_Reason_1"
TERM_DESCRIPTIVE = "TermEx_Purpose_1"
DOC_REPORT = "RefDoc_StudyReport"
DOC_ARD = "RefDoc_ARD"
REPORT_FILES = (("study_report.pdf", "pdf"), ("study_report.html", None))


def slug(text: str) -> str:
    """An identifier-safe form of ARD text (letters, digits, ``_``)."""
    return re.sub(r"_+", "_", re.sub(r"[^A-Za-z0-9]+", "_", text)).strip("_") or "x"


class _Ids:
    """Readable, unique ids: the slug, or the slug and a digest where two differ only
    in characters the slug drops."""

    def __init__(self) -> None:
        self.seen: dict[str, str] = {}

    def __call__(self, prefix: str, *parts: str) -> str:
        base = prefix + "_" + "_".join(slug(p) for p in parts)
        text = "\x1f".join(parts)
        if self.seen.get(base, text) != text:
            base += "_" + hashlib.sha256(text.encode("utf-8")).hexdigest()[:8]
        self.seen[base] = text
        return base


# --------------------------------------------------------------------------- outputs
class RecordingARD(ARD):
    """The report's ARD lookups, remembering each printed cell: its text and every
    ARD row it read (:attr:`cells`), in the order the table printed them."""

    def __init__(self, frame: pd.DataFrame) -> None:
        super().__init__(frame)
        self.cells: list[tuple[str, list[Key]]] = []

    def cell(self, fn: Callable[[], str]) -> Cell:
        box: dict[str, list[Key]] = {}

        def reading() -> str:
            text = fn()
            box["keys"] = list(self._reading or [])
            return text

        result = super().cell(reading)
        self.cells.append((str(result), box.get("keys", [])))
        return result


def report_tables(frame: pd.DataFrame, cfg: Mapping[str, Any]
                  ) -> list[tuple[Table, RecordingARD]]:
    """The report's tables that print ARD rows, as the report builds them
    (:func:`aiha.report.context.build_context`; the audit table, which reads the
    audit, and Appendix D, which repeats every printed row, are left out), each with
    the lookups that record what it printed."""
    fmt = Fmt.from_config(cfg)
    has_flow = bool(frame["stat_id"].astype(str).str.startswith("flow_").any())
    builders: list[Callable[[ARD], Table]] = [
        lambda a: baseline_table(a, fmt),
        lambda a: exposure_table(a, fmt),
        lambda a: transfusion_table(a, fmt),
        lambda a: response_table(a, fmt, cfg),
        *[(lambda a, b=b: b(a, fmt, cfg)) for b in (followup_table, subgroup_table)
          if b(ARD(frame), fmt, cfg) is not None],
        lambda a: ae_grade_table(a),
        lambda a: ae_term_table(a, fmt),
        *[(lambda a, b=b: b(a, fmt, cfg)) for b in (ae_summary_table, ae_soc_table)
          if b(ARD(frame), fmt, cfg) is not None],
        *([lambda a: infection_table(a, fmt)] if infection_table(ARD(frame), fmt) is not None
          else []),
    ]
    if has_flow:
        builders.append(lambda a: flow_findings_table(a, fmt, cfg))
        if len(flow_patients(ARD(frame))) <= max_patient_rows(cfg):
            builders.append(lambda a: flow_patient_table(a, fmt, cfg))
        builders.append(lambda a: flow_table(a, fmt))
    out = []
    for build in builders:
        ard = RecordingARD(frame)
        table = build(ard)
        if table.key == "flow_ard":  # Table E1 prints its rows without ARD.get
            for r in table.rows:
                key = (str(r[0]), _group_value(str(r[1])), str(r[2]))
                ard.used.setdefault(key, None)
                ard.cells.append((str(r[3]), [key]))
        out.append((table, ard))
    return out


def _group_value(label: str) -> str:
    back = {v: k for k, v in GROUP_LABELS.items()}
    return back.get(label, label)


def _output(table: Table, ids: _Ids) -> dict[str, Any]:
    oid = ids("Out", table.key)
    sections: list[dict[str, Any]] = [{"sectionType": "Title", "orderedSubSections": [
        {"order": 1, "subSection": {"id": f"{oid}_Title_1", "text": table.caption}}]}]
    if table.note:
        sections.append({"sectionType": "Footnote", "orderedSubSections": [
            {"order": 1, "subSection": {"id": f"{oid}_Footnote_1", "text": table.note}}]})
    first = table.header[0]
    sections.append({"sectionType": "Rowlabel Header", "orderedSubSections": [
        {"order": 1, "subSection": {"id": f"{oid}_RLbHd_1", "text": str(first)}}]})
    files = []
    for name, kind in REPORT_FILES:
        spec: dict[str, Any] = {"name": name, "location": f"../report/{name}"}
        if kind:
            spec["fileType"] = {"controlledTerm": kind}
        files.append(spec)
    return {"id": oid, "name": table.caption, "version": 1,
            "displays": [{"order": 1, "display": {
                "id": ids("Disp", table.key), "name": table.caption, "version": 1,
                "displayTitle": table.caption, "displaySections": sections}}],
            "fileSpecifications": files,
            "documentRefs": [{"referenceDocumentId": DOC_REPORT}]}


# --------------------------------------------------------------------------- analyses
_CONDITION = re.compile(r"^\s*(?:(?P<ds>[A-Z][A-Z0-9]*)\.)?(?P<var>[A-Z][A-Z0-9_]*)\s*"
                        r"(?P<op>==|=|!=|>=|<=|>|<|\bIN\b|\bin\b)\s*(?P<val>.+?)\s*$")
_OPS = {"==": "EQ", "=": "EQ", "!=": "NE", ">=": "GE", "<=": "LE", ">": "GT", "<": "LT",
        "IN": "IN", "in": "IN"}


def selection_condition(selection: str, dataset: str) -> dict[str, Any] | None:
    """``SAFFL == 'Y'``, ``ADAE.AESER = "Y"`` or ``AVALC in ('CR', 'PR')`` as an ARS
    ``WhereClauseCondition``; None for anything else (the text stays the subset's
    name)."""
    m = _CONDITION.match(selection)
    if not m:
        return None
    raw = m["val"].strip()
    if raw.startswith(("(", "[")) and raw.endswith((")", "]")):
        raw = raw[1:-1]
    values = [v.strip().strip("'\"") for v in raw.split(",")] if "," in raw or \
        _OPS[m["op"]] == "IN" else [raw.strip("'\"")]
    condition = {"dataset": m["ds"] or dataset, "variable": m["var"],
                 "comparator": _OPS[m["op"]], "value": values}
    if not condition["dataset"]:
        del condition["dataset"]
    return condition


def data_subset(selection: str, dataset: str, sid: str, order: int) -> dict[str, Any]:
    """One ``DataSubset`` for a selection text: a condition, an AND of conditions
    (``... and ...``), or the text alone."""
    out: dict[str, Any] = {"id": sid, "name": selection, "level": 1, "order": order}
    parts = [p for p in re.split(r"\s+(?:and|AND|&)\s+", selection) if p.strip()]
    conditions = [selection_condition(p, dataset) for p in parts]
    if conditions and all(conditions):
        if len(conditions) == 1:
            out["condition"] = conditions[0]
        else:
            out["compoundExpression"] = {"logicalOperator": "AND", "whereClauses": [
                {"level": 2, "order": i, "condition": c} for i, c in enumerate(conditions, 1)]}
    return out


def is_efficacy(stat_id: str) -> bool:
    """Whether a statistic is defined on the efficacy set (:data:`EFFICACY_STATISTICS`,
    and the response by subgroup ``resp_by_<variable>``)."""
    return stat_id in EFFICACY_STATISTICS or stat_id.startswith("resp_by_")


def category(stat_id: str) -> str:
    """The category id (:data:`CATEGORIES`) of a statistic."""
    name = "Other"
    if stat_id in POPULATION:
        name = "Population"
    elif is_efficacy(stat_id) or stat_id in SECONDARY:
        name = "Efficacy"
    else:
        name = next((c for prefix, c in _CATEGORY_OF if stat_id.startswith(prefix)), name)
    return f"{CATEGORIZATION}_{name}"


def _purpose(stat_id: str) -> dict[str, str]:
    if stat_id in PRIMARY:
        return {"controlledTerm": "PRIMARY OUTCOME MEASURE"}
    if stat_id in SECONDARY:
        return {"controlledTerm": "SECONDARY OUTCOME MEASURE"}
    if stat_id.startswith("flow_"):
        return {"controlledTerm": "EXPLORATORY OUTCOME MEASURE"}
    return {"sponsorTermId": TERM_DESCRIPTIVE}


def _groupings(groups: Sequence[str]) -> list[dict[str, Any]]:
    named = [g for g in GROUPS if g in groups and g != ALL_GROUP] + sorted(
        g for g in set(groups) if g not in GROUPS and not is_pseudonym(g) and g != ALL_GROUP)
    out = [{"id": GROUPING_ANALYSIS_GROUP, "name": "Analysis group",
            "label": "Analysis group", "dataDriven": False, "groupingDataset": "ADSL",
            "groupingVariable": "ANLGRP",
            "description": "wAIHA; anemic cAIHA (in the efficacy set); non-anemic cAIHA "
                           "(treated, outside the efficacy set). An analysis of all "
                           "treated patients has no grouping.",
            "groups": [{"id": f"{GROUPING_ANALYSIS_GROUP}_{slug(g)}", "name": g,
                        "label": GROUP_LABELS.get(g, g), "level": 1, "order": i,
                        "condition": {"dataset": "ADSL", "variable": "ANLGRP",
                                      "comparator": "EQ", "value": [g]}}
                       for i, g in enumerate(named, 1)]}]
    if any(is_pseudonym(g) for g in groups):
        out.append({"id": GROUPING_PATIENT, "name": "Patient", "label": "Patient",
                    "dataDriven": True, "groupingDataset": "ADSL",
                    "groupingVariable": "USUBJID",
                    "description": "One group per patient (the pseudonym)."})
    return out


def _result_groups(group: str) -> list[dict[str, str]]:
    if group == ALL_GROUP:
        return []
    if is_pseudonym(group):
        return [{"groupingId": GROUPING_PATIENT, "groupValue": group}]
    return [{"groupingId": GROUPING_ANALYSIS_GROUP,
             "groupId": f"{GROUPING_ANALYSIS_GROUP}_{slug(group)}"}]


def _col(row: Mapping[str, Any], name: str) -> str:
    value = row.get(name, "")
    return "" if value is None or (isinstance(value, float) and value != value) else str(value)


def reporting_event(ard_text: pd.DataFrame, cfg: Mapping[str, Any]) -> dict[str, Any]:
    """The ARS ``ReportingEvent`` of an ARD (see the module docstring). ``ard_text``:
    the ARD as written, every cell a string (its ``value`` becomes ``rawValue``
    unchanged); the optional columns ``dataset``, ``variables`` and ``selection`` are
    used when present."""
    ard_text = ard_text.fillna("")
    keys = list(zip(ard_text["stat_id"], ard_text["group"], ard_text["statistic"]))
    if len(set(keys)) != len(keys):
        dup = next(k for k in keys if keys.count(k) > 1)
        raise ValueError(f"ARD has more than one row for {'/'.join(dup)}")
    values = {k: raw_to_float(v) for k, v in zip(keys, ard_text["value"])}
    numeric = ard_text.assign(value=[values[k] for k in keys])
    fmt = Fmt.from_config(cfg)
    ids = _Ids()
    records = ard_text.to_dict("records")

    # methods and operations
    methods: dict[str, dict[str, Any]] = {}
    operation_ids: dict[tuple[str, str], str] = {}
    for row in records:
        sid, stat = str(row["stat_id"]), str(row["statistic"])
        method = methods.get(sid)
        if method is None:
            method = methods[sid] = {
                "id": ids("Mth", sid), "name": sid, "label": str(row["unit"]),
                "description": f"{sid}: computed by rule {row['rule']} "
                               f"({row['script']}); see docs/tables.md.",
                "operations": []}
        if (sid, stat) not in operation_ids:
            oid = ids(method["id"], stat)
            operation_ids[(sid, stat)] = oid
            method["operations"].append({"id": oid, "name": stat, "label": str(row["unit"]),
                                         "order": len(method["operations"]) + 1})
    for sid, method in methods.items():
        ops = {op["name"]: op for op in method["operations"]}
        if {"proportion", "numerator", "denominator"} <= set(ops):
            ops["proportion"]["referencedOperationRelationships"] = [
                {"id": f"{ops['proportion']['id']}_{role}",
                 "referencedOperationRole": {"controlledTerm": role.upper()},
                 "operationId": ops[role]["id"],
                 "description": f"proportion = numerator / denominator ({role})"}
                for role in ("numerator", "denominator")]

    # data subsets, from the ARD's selection column
    subsets: dict[str, dict[str, Any]] = {}
    for row in records:
        sel = _col(row, "selection").strip()
        if sel and sel not in subsets:
            subsets[sel] = data_subset(sel, _col(row, "dataset"),
                                       ids("Dss", str(len(subsets) + 1)), len(subsets) + 1)

    # analyses, one per ARD row
    analysis_ids: dict[Key, str] = {}
    analyses = []
    for key, row in zip(keys, records):
        sid, group, stat = key
        aid = ids("An", sid, group, stat)
        analysis_ids[key] = aid
        variables = [v.strip() for v in re.split(r"[,;\s]+", _col(row, "variables")) if v.strip()]
        sel = _col(row, "selection").strip()
        analysis: dict[str, Any] = {
            "id": aid, "name": "/".join(key), "version": 1,
            "label": f"{sid} {stat} ({GROUP_LABELS.get(group, group)})",
            "description": (f"ARD row {'/'.join(key)}, unit {row['unit']}; rule {row['rule']}, "
                            f"script {row['script']}, inputs SHA-256 {row['inputs_sha256']}"
                            + (f"; variables {', '.join(variables)}" if variables else "")
                            + (f"; selection {sel}" if sel else "") + "."),
            "reason": {"sponsorTermId": TERM_REANALYSIS},
            "purpose": _purpose(sid),
            "methodId": methods[sid]["id"],
            "analysisSetId": AS_EFFICACY if is_efficacy(sid) else AS_SAFETY,
            "programmingCode": {"context": f"Python, Snakemake rule {row['rule']}",
                                "documentRef": {"referenceDocumentId":
                                                ids("RefDoc", str(row["script"]))}},
            "documentRefs": [{"referenceDocumentId": DOC_ARD}],
            "categoryIds": [category(sid)],
        }
        if _col(row, "dataset"):
            analysis["dataset"] = _col(row, "dataset")
        if variables:
            analysis["variable"] = variables[0]
        if sel:
            analysis["dataSubsetId"] = subsets[sel]["id"]
        if group != ALL_GROUP:
            analysis["orderedGroupings"] = [{
                "order": 1, "resultsByGroup": True,
                "groupingId": GROUPING_PATIENT if is_pseudonym(group) else GROUPING_ANALYSIS_GROUP}]
        result: dict[str, Any] = {"operationId": operation_ids[(sid, stat)],
                                  "rawValue": str(row["value"]),
                                  "formattedValue": formatted_value(key, str(row["unit"]),
                                                                    values, fmt)}
        if _result_groups(group):
            result["resultGroups"] = _result_groups(group)
        analysis["results"] = [result]
        analyses.append(analysis)
    for key, analysis in zip(keys, analyses):
        sid, group, stat = key
        if stat == "proportion" and all((sid, group, r) in analysis_ids
                                        for r in ("numerator", "denominator")):
            op = next(o for o in methods[sid]["operations"] if o["name"] == "proportion")
            if "referencedOperationRelationships" in op:
                analysis["referencedAnalysisOperations"] = [
                    {"referencedOperationRelationshipId": rel["id"],
                     "analysisId": analysis_ids[(sid, group, rel["referencedOperationRole"]
                                                 ["controlledTerm"].lower())]}
                    for rel in op["referencedOperationRelationships"]]

    # outputs: the report's tables, and which analyses each prints
    tables = report_tables(numeric, cfg)
    outputs, items = [], []
    printed: set[Key] = set()
    for order, (table, rec) in enumerate(tables, 1):
        out = _output(table, ids)
        used_categories = sorted({category(sid) for sid in
                                  (table.stat_ids or [k[0] for k in rec.used])})
        if used_categories:
            out["categoryIds"] = used_categories
        outputs.append(out)
        used = [k for k in rec.used if k in analysis_ids]
        printed.update(used)
        items.append({"name": table.caption, "level": 1, "order": order, "outputId": out["id"],
                      "sublist": {"listItems": [
                          {"name": "/".join(k), "level": 2, "order": i,
                           "analysisId": analysis_ids[k]} for i, k in enumerate(used, 1)]}})
    rest = [k for k in keys if k not in printed]
    if rest:
        items.append({"name": "ARD rows not printed in a table of the report", "level": 1,
                      "order": len(items) + 1, "sublist": {"listItems": [
                          {"name": "/".join(k), "level": 2, "order": i,
                           "analysisId": analysis_ids[k]} for i, k in enumerate(rest, 1)]}})

    scripts = sorted({str(s) for s in ard_text["script"]})
    return {
        "id": "RE_study_results",
        "name": "Analysis results of the study",
        "description": (f"All analysis results of the study at data cut-off "
                        f"{cfg['data']['data_cutoff']}, one analysis per row of "
                        "results/ard/ard.tsv, and the tables of the study report "
                        "(results/report/study_report.pdf) that print them."),
        "version": 1,
        "mainListOfContents": {"name": "List of analyses and outputs",
                               "label": "LOPA",
                               "contentsList": {"listItems": items}},
        "otherListsOfContents": [{"name": "List of outputs", "label": "LOPO",
                                  "contentsList": {"listItems": [
                                      {"name": o["name"], "level": 1, "order": i,
                                       "outputId": o["id"]}
                                      for i, o in enumerate(outputs, 1)]}}],
        "referenceDocuments": [
            {"id": DOC_REPORT, "name": "Study report", "location": "../report/study_report.pdf"},
            {"id": DOC_ARD, "name": "Analysis results dataset (ARD)",
             "location": "../ard/ard.tsv"},
            *({"id": ids("RefDoc", s), "name": s, "location": f"../../{s}"} for s in scripts)],
        "terminologyExtensions": [
            {"id": "TermEx_Reason", "enumeration": "AnalysisReasonEnum", "sponsorTerms": [
                {"id": TERM_REANALYSIS, "submissionValue": "RE-ANALYSIS OF PUBLICATION",
                 "description": "Recomputes, from the raw site exports, a statistic of the "
                                "published study or one its report prints."}]},
            {"id": "TermEx_Purpose", "enumeration": "AnalysisPurposeEnum", "sponsorTerms": [
                {"id": TERM_DESCRIPTIVE, "submissionValue": "DESCRIPTIVE",
                 "description": "Describes the patients, their treatment or its safety."}]}],
        "analysisSets": [
            {"id": AS_SAFETY, "name": "All treated patients (safety set)", "label": "SAF",
             "level": 1, "order": 1, "condition": {"dataset": "ADSL", "variable": "SAFFL",
                                                   "comparator": "EQ", "value": ["Y"]}},
            {"id": AS_EFFICACY, "name": "Efficacy set (wAIHA and anemic cAIHA)",
             "label": "EFF", "level": 1, "order": 2,
             "condition": {"dataset": "ADSL", "variable": "EFFFL", "comparator": "EQ",
                           "value": ["Y"]}}],
        "analysisOutputCategorizations": [
            {"id": CATEGORIZATION, "label": "Report chapter", "categories": [
                {"id": f"{CATEGORIZATION}_{name}", "label": label}
                for name, label in CATEGORIES]}],
        "dataSubsets": list(subsets.values()),
        "analysisGroupings": _groupings(sorted(set(ard_text["group"]))),
        "methods": list(methods.values()),
        "analyses": analyses,
        "outputs": outputs,
    }


def write_reporting_event(ard_text: pd.DataFrame, cfg: Mapping[str, Any],
                          path: str | os.PathLike[str]) -> None:
    """Write :func:`reporting_event` as JSON (UTF-8, 1-space indent, ``\\n`` line
    ends), atomically: a temporary file renamed into place."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{target.name}.tmp")
    with open(tmp, "w", encoding="utf-8", newline="\n") as handle:
        json.dump(reporting_event(ard_text, cfg), handle, indent=1, ensure_ascii=False)
        handle.write("\n")
    os.replace(tmp, target)
