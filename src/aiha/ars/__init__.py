"""The study's results in the CDISC Analysis Results Standard (ARS v1.0) model.

``results/ars/reporting_event.json`` is one ``ReportingEvent`` (rule
``ars_reporting_event``, built by :func:`aiha.ars.build.reporting_event`): the
analysis sets, the groupings, the data subsets, one method per ARD statistic
(``stat_id``) with one operation per measure (``statistic``), one analysis per ARD
row with its single ``OperationResult`` (``rawValue``: the ARD value as written,
unrounded; ``formattedValue``: as the report prints it), and the report's tables as
outputs. docs/ars.md describes it for an auditor.

This module is light on purpose (no report import): the audit reads the results
back with :func:`read_results`, and the rules file imports :func:`ars_config`.

How an ARD key comes back from the file (the path :func:`read_results` follows):

- ``stat_id``: the analysis's method (``methodId`` -> ``methods[].name``);
- ``statistic``: the result's operation (``operationId`` -> ``operations[].name``);
- ``group``: the result's ``resultGroups``: the name of the predefined group of the
  analysis-group grouping, or the ``groupValue`` (a pseudonym) of the data-driven
  patient grouping; no result group means ``all`` (all treated).
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from typing import Any

import pandas as pd

from aiha.errors import InputError

ALL_GROUP = "all"
GROUPING_ANALYSIS_GROUP = "AnlsGrouping_AGRP"
GROUPING_PATIENT = "AnlsGrouping_USUBJID"
RESULT_COLUMNS = ["stat_id", "group", "statistic", "value", "raw_value", "formatted",
                  "analysis_id"]

__all__ = ["ALL_GROUP", "GROUPING_ANALYSIS_GROUP", "GROUPING_PATIENT", "RESULT_COLUMNS",
           "ars_config", "raw_to_float", "read_results", "results_frame"]


def ars_config(config: Mapping[str, Any]) -> dict[str, Any]:
    """The part of the config the reporting event reads (config-shaped): the report's
    decimals and per-patient row limit, the statistics settings and response
    denominator its tables name, the cytometry thresholds its captions quote, and the
    data cut-off. A change elsewhere (the report's title, say) does not rebuild it."""
    report = config.get("report") or {}
    stats = config.get("statistics") or {}
    claims = ((config.get("cytometry") or {}).get("claims")) or {}
    return {
        "data": {"data_cutoff": str(config["data"]["data_cutoff"])},
        "report": {k: report[k] for k in ("decimals", "max_patient_rows") if k in report},
        "statistics": {k: stats[k] for k in ("ci_level", "km_ci_transform",
                                             "dor_median_method",
                                             "crude_median_max_censored_share",
                                             "response_subgroups") if k in stats},
        "response": {"acro_denominator": config["response"]["acro_denominator"],
                     "days_per_month": config["response"]["days_per_month"]},
        "cytometry": {"claims": dict(claims)},
        "safety": dict(config.get("safety") or {}),
    }


def raw_to_float(text: str) -> float:
    """A ``rawValue`` as a number: the empty string (not estimable) is NaN."""
    return float("nan") if str(text).strip() == "" else float(text)


def results_frame(event: Mapping[str, Any], source: str = "reporting event") -> pd.DataFrame:
    """Every OperationResult of a reporting event as a row keyed like the ARD:
    stat_id, group, statistic, value (float), raw_value and formatted (strings as
    written), analysis_id. InputError (naming the analysis) on a result whose method,
    operation or group the file does not define."""
    methods = {m["id"]: m for m in event.get("methods", [])}
    operations = {op["id"]: (m["id"], op["name"]) for m in methods.values()
                  for op in m.get("operations", [])}
    groups: dict[str, str] = {}
    for grouping in event.get("analysisGroupings", []):
        for g in grouping.get("groups", []):
            groups[g["id"]] = g["name"]
    rows = []
    for analysis in event.get("analyses", []):
        aid = analysis["id"]
        method = methods.get(analysis["methodId"])
        if method is None:
            raise InputError(source, f"analysis {aid!r}: no method {analysis['methodId']!r}")
        for result in analysis.get("results", []):
            op = operations.get(result["operationId"])
            if op is None or op[0] != method["id"]:
                raise InputError(source, f"analysis {aid!r}: operation "
                                 f"{result['operationId']!r} is not one of method "
                                 f"{method['id']!r}")
            group = ALL_GROUP
            for rg in result.get("resultGroups", []):
                if "groupId" in rg:
                    if rg["groupId"] not in groups:
                        raise InputError(source, f"analysis {aid!r}: no group {rg['groupId']!r}")
                    group = groups[rg["groupId"]]
                else:
                    group = str(rg.get("groupValue", ""))
            raw = str(result.get("rawValue", ""))
            rows.append({"stat_id": method["name"], "group": group, "statistic": op[1],
                         "value": raw_to_float(raw), "raw_value": raw,
                         "formatted": str(result.get("formattedValue", "")),
                         "analysis_id": aid})
    return pd.DataFrame(rows, columns=RESULT_COLUMNS)


def read_results(path: str | os.PathLike[str]) -> pd.DataFrame:
    """:func:`results_frame` of a reporting-event file (InputError if it is not one)."""
    name = os.fspath(path)
    try:
        with open(path, encoding="utf-8") as handle:
            event = json.load(handle)
    except json.JSONDecodeError as err:
        raise InputError(name, f"not valid JSON: {err.msg}", row=err.lineno) from None
    if not isinstance(event, dict) or "analyses" not in event or "methods" not in event:
        raise InputError(name, "not an ARS reporting event (no 'analyses' or 'methods')")
    frame = results_frame(event, name)
    dup = frame.duplicated(["stat_id", "group", "statistic"], keep=False)
    if dup.any():
        first = frame[dup].iloc[0]
        raise InputError(name, "more than one result for one statistic",
                         value=f"{first['stat_id']}/{first['group']}/{first['statistic']}")
    return frame
