"""Reconciliation of the pipeline's population counts with the counts FlowJo
stored in its workspace.

A workspace saved by FlowJo holds, on every population of every sample, the count
FlowJo itself computed (``count="..."`` on the ``Population`` element and on the
boolean ``AndNode``/``OrNode``/``NotNode``). The pipeline regates the FCS files
with the workspace's gates through FlowKit. Known cause of differences: FlowJo
evaluates polygon and ellipse gates on binned (display-resolution) data, so
events near a gate's edge can fall on the other side; FlowKit evaluates the
exact geometry (and reads FlowJo ellipses as polygons). Rectangles almost always
agree. Differences are reported, never hidden: a row is flagged when it exceeds
the configured tolerance (a percentage of FlowJo's count).

Reads the workspace XML with lxml only (no FlowKit import).
"""

from __future__ import annotations

import os
from collections.abc import Mapping

import pandas as pd
from lxml import etree

from aiha.errors import InputError

RECONCILIATION_COLUMNS = ["sample_id", "workspace_sample", "gate_path", "gate_type", "flowjo_count",
                          "pipeline_count", "difference", "percent_difference", "within_tolerance"]
NODE_TYPES = {"Population": None, "AndNode": "boolean and", "OrNode": "boolean or",
              "NotNode": "boolean not"}


def _local(tag: object) -> str:
    return etree.QName(tag).localname if isinstance(tag, str) else ""


def _gate_type(node: etree._Element) -> str:
    kind = NODE_TYPES.get(_local(node.tag))
    if kind:
        return kind
    for child in node:
        if _local(child.tag) == "Gate":
            for gate in child:
                name = _local(gate.tag)
                if name.endswith("Gate"):
                    return name[: -len("Gate")].lower()
    return "unknown"


def _walk(node: etree._Element, prefix: tuple[str, ...], out: list[dict]) -> None:
    for sub in node:
        if _local(sub.tag) != "Subpopulations":
            continue
        for pop in sub:
            if _local(pop.tag) not in NODE_TYPES:
                continue
            name = pop.get("name", "")
            path = (*prefix, name)
            count = pop.get("count")
            out.append({"gate_path": "/".join(path), "gate_type": _gate_type(pop),
                        "flowjo_count": int(count) if count not in (None, "") else -1})
            _walk(pop, path, out)


def flowjo_counts(path: str | os.PathLike[str]) -> pd.DataFrame:
    """workspace_sample, gate_path, gate_type, flowjo_count of every population of
    every sample of a FlowJo workspace (FlowJo's own counts; -1 where FlowJo
    stored none)."""
    try:
        root = etree.parse(str(path)).getroot()
    except (OSError, etree.XMLSyntaxError) as exc:
        raise InputError(str(path), f"not a readable FlowJo workspace: {exc}") from exc
    rows: list[dict] = []
    sample_list = next((e for e in root if _local(e.tag) == "SampleList"), None)
    for sample in [] if sample_list is None else sample_list:
        node = next((e for e in sample if _local(e.tag) == "SampleNode"), None)
        if node is None:
            continue
        found: list[dict] = []
        _walk(node, (), found)
        for row in found:
            row["workspace_sample"] = node.get("name", "")
        rows += found
    return pd.DataFrame(rows, columns=["workspace_sample", "gate_path", "gate_type", "flowjo_count"])


def reconcile(populations: pd.DataFrame, samples: Mapping[str, tuple[str, str]],
              tolerance_percent: float) -> pd.DataFrame:
    """One row per sample and FlowJo population: FlowJo's stored count, the
    pipeline's, the difference (pipeline - FlowJo), its percentage of FlowJo's
    count and whether it is within ``tolerance_percent``.

    ``populations``: the pipeline's table (sample_id, gate_path, count).
    ``samples``: sample_id -> (workspace path, the sample's name in it). A
    population FlowJo stored without a count (-1) has an empty comparison; one
    the pipeline lacks has an empty pipeline count and is out of tolerance.
    """
    parsed: dict[str, pd.DataFrame] = {}
    rows = []
    for sample_id in sorted(samples):
        wsp, name = samples[sample_id]
        if wsp not in parsed:
            parsed[wsp] = flowjo_counts(wsp)
        fj = parsed[wsp][parsed[wsp]["workspace_sample"] == name]
        ours = populations[populations["sample_id"].astype(str) == sample_id]
        counts = dict(zip(ours["gate_path"].astype(str), ours["count"].astype(int)))
        for rec in fj.itertuples(index=False):
            mine = counts.get(rec.gate_path)
            stored = int(rec.flowjo_count)
            if stored < 0 or mine is None:
                diff = pct = None
                within = False if mine is None else None
            else:
                diff = mine - stored
                pct = 100.0 * diff / stored if stored else (0.0 if diff == 0 else float("inf"))
                within = abs(pct) <= tolerance_percent
            rows.append({"sample_id": sample_id, "workspace_sample": name, "gate_path": rec.gate_path,
                         "gate_type": rec.gate_type, "flowjo_count": stored,
                         "pipeline_count": mine, "difference": diff, "percent_difference": pct,
                         "within_tolerance": within})
    frame = pd.DataFrame(rows, columns=RECONCILIATION_COLUMNS)
    frame["pipeline_count"] = frame["pipeline_count"].astype("Int64")
    frame["difference"] = frame["difference"].astype("Int64")
    frame["within_tolerance"] = frame["within_tolerance"].astype("boolean")
    return frame


def summary(table: pd.DataFrame) -> pd.DataFrame:
    """By gate type: populations compared, within tolerance, the largest absolute
    percentage difference, and the same for populations of at least 1,000 events."""
    compared = table.dropna(subset=["percent_difference"])
    rows = []
    for gate_type, group in compared.groupby("gate_type", sort=True):
        big = group[group["flowjo_count"] >= 1000]
        rows.append({"gate_type": gate_type, "populations": len(group),
                     "within_tolerance": int(group["within_tolerance"].sum()),
                     "max_abs_percent_difference": float(group["percent_difference"].abs().max()),
                     "max_abs_percent_difference_1000plus":
                         float(big["percent_difference"].abs().max()) if len(big) else float("nan")})
    return pd.DataFrame(rows, columns=["gate_type", "populations", "within_tolerance",
                                       "max_abs_percent_difference", "max_abs_percent_difference_1000plus"])
