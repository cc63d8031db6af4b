"""Write the analysis datasets: Dataset-JSON, SAS transport (v5) and the
variable-level metadata table (rule ``adam_datasets``)."""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pandas as pd

from aiha.adam import SPECS, dataset_path
from aiha.adam.datasetjson import to_document, write_dataset_json
from aiha.adam.metadata import variables_table
from aiha.adam.xpt import write_xpt
from aiha.ard import write_tsv


def created_stamp(cfg: Mapping[str, Any]) -> dt.datetime:
    """The files' creation time: midnight of the data cut-off (config
    ``data.data_cutoff``), so that a rebuild writes the same bytes."""
    return dt.datetime.fromisoformat(f"{cfg['data_cutoff']}T00:00:00")


def write_all(frames: Mapping[str, pd.DataFrame], directory: str | os.PathLike[str],
              cfg: Mapping[str, Any]) -> None:
    """``<name>.json``, ``<name>.xpt`` of every dataset and ``variables.tsv``."""
    directory = Path(directory)
    created = created_stamp(cfg)
    meta = {"study_id": str(cfg["study_id"]), "created": created.isoformat(),
            "source": "aiha (Snakemake workflow)", "version": str(cfg.get("version", "1"))}
    for spec in SPECS:
        frame = frames[spec.name]
        write_dataset_json(to_document(spec, frame, meta), dataset_path(directory, spec.name))
        write_xpt(spec, frame, directory / f"{spec.name.lower()}.xpt", created)
    write_tsv(variables_table(SPECS, dict(frames)), directory / "variables.tsv")
