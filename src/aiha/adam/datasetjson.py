"""CDISC Dataset-JSON v1.1 (``dataset.schema.json`` of the CDISC DataExchange
standard): write a dataset with its column metadata, and read one back.

Types: ``text`` -> ``string`` (with ``length``), ``integer`` -> ``integer``,
``float`` -> ``double``, ``date`` -> ``date`` holding an ISO 8601 string, with
``targetDataType: integer`` and ``displayFormat: DATE9.`` (a SAS date number in
transport files), as the CDISC pilot's ``adtte.json`` does. A missing value is
``null``.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pandas as pd

from aiha.adam.metadata import DatasetSpec, text_length

VERSION = "1.1.0"
JSON_TYPES = {"text": "string", "integer": "integer", "float": "double", "date": "date"}


def _missing(x: Any) -> bool:
    return x is None or x is pd.NA or (isinstance(x, float) and math.isnan(x)) or (
        isinstance(x, str) and x == "")


def cell(value: Any, kind: str) -> Any:
    """One value as Dataset-JSON holds it (``None`` for a missing one)."""
    if _missing(value):
        return None
    if kind == "text":
        return str(value)
    if kind == "date":
        return str(value)[:10]
    if kind == "integer":
        f = float(value)
        if f != int(f):
            raise ValueError(f"value {value!r} of an integer variable is not whole")
        return int(f)
    return float(value)


def to_document(spec: DatasetSpec, frame: pd.DataFrame, meta: Mapping[str, str]
                ) -> dict[str, Any]:
    """The Dataset-JSON document of ``frame`` (built by ``spec``). ``meta``:
    ``study_id``, ``created`` (ISO date-time), ``source`` (name of the system)."""
    columns = []
    for v in spec.variables:
        col: dict[str, Any] = {"itemOID": f"IT.{spec.name}.{v.name}", "name": v.name,
                               "label": v.label, "dataType": JSON_TYPES[v.type]}
        if v.type == "text":
            col["length"] = text_length(frame[v.name])
        if v.type == "date":
            col["targetDataType"] = "integer"
            col["displayFormat"] = "DATE9."
        if v.key:
            col["keySequence"] = 1 + sum(1 for c in columns if "keySequence" in c)
        columns.append(col)
    values = []
    for v in spec.variables:
        try:
            values.append([cell(x, v.type) for x in frame[v.name]])
        except ValueError as err:
            raise ValueError(f"{spec.name}.{v.name}: {err}") from None
    rows = [list(row) for row in zip(*values)] if values else []
    return {
        "datasetJSONCreationDateTime": meta["created"],
        "datasetJSONVersion": VERSION,
        "fileOID": f"{meta['study_id']}/adam/{spec.name.lower()}",
        "originator": meta.get("originator", "aiha re-analysis workflow"),
        "sourceSystem": {"name": meta.get("source", "aiha"), "version": meta.get("version", "1")},
        "studyOID": meta["study_id"],
        "metaDataVersionOID": f"MDV.{meta['study_id']}.ADaM",
        "itemGroupOID": f"IG.{spec.name}",
        "records": len(rows),
        "name": spec.name,
        "label": spec.label,
        "columns": columns,
        "rows": rows,
    }


def write_dataset_json(document: Mapping[str, Any], path: str | os.PathLike[str]) -> None:
    """Write the document deterministically (sorted nowhere: column order kept),
    atomically (temporary file renamed into place)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    with open(tmp, "w", encoding="utf-8") as out:
        json.dump(document, out, ensure_ascii=False, indent=1, allow_nan=False)
        out.write("\n")
    os.replace(tmp, path)


def read_dataset_json(path: str | os.PathLike[str]) -> pd.DataFrame:
    """A Dataset-JSON file as a frame: one column per variable, ``None`` where the
    file has ``null``; dates stay ISO strings, integers whole numbers. The column
    metadata is in ``frame.attrs["columns"]``."""
    with open(path, encoding="utf-8") as handle:
        doc = json.load(handle)
    names = [c["name"] for c in doc["columns"]]
    frame = pd.DataFrame(doc.get("rows") or [], columns=names, dtype=object)
    for c in doc["columns"]:
        if c["dataType"] in ("double", "float", "decimal"):
            frame[c["name"]] = pd.to_numeric(frame[c["name"]], errors="raise").astype(float)
    frame.attrs["columns"] = doc["columns"]
    frame.attrs["name"] = doc["name"]
    return frame
