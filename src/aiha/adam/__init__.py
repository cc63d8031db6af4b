"""Analysis datasets in the shape of CDISC ADaM, derived from the cleaned tables and
the scored responses (rule ``adam_datasets``; docs/analysis_datasets.md).

=======  =====================================================================
ADSL     one record per treated patient: demographics, baseline, flags
ADRS     response parameters per patient (best response, responder, relapse ...)
ADTTE    duration of response, time to response, follow-up (AVAL, CNSR)
ADAE     adverse events (term, grade, seriousness, study day, TRTEMFL)
ADLB     Hb, LDH, bilirubin (baseline, change, washout and suspicious flags)
ADEX     daratumumab doses
ADCM     other treatments (AIHA therapies, supportive care)
ADPR     red blood cell transfusions
ADCYT    flow-cytometry percentages per sample and population (BDS)
=======  =====================================================================

Every variable is a :class:`aiha.adam.metadata.Variable` with one documented
deriving function; :func:`derive_all` builds every dataset, the statistics stage
reads them back from their Dataset-JSON files (:func:`read_datasets`).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pandas as pd

from aiha.adam.adcyt import ADCYT, adcyt_base
from aiha.adam.adsl import ADSL, base_frame
from aiha.adam.common import with_subject
from aiha.adam.efficacy import ADRS, ADTTE, adrs_base, adtte_base
from aiha.adam.metadata import DatasetSpec
from aiha.adam.occurrences import (ADAE, ADCM, ADEX, ADLB, ADPR, adlb_base, ae_base,
                                   baseline_values, read_soc_map)

SPECS: tuple[DatasetSpec, ...] = (ADSL, ADRS, ADTTE, ADAE, ADLB, ADEX, ADCM, ADPR, ADCYT)
NAMES: tuple[str, ...] = tuple(s.name for s in SPECS)
SPEC_BY_NAME: dict[str, DatasetSpec] = {s.name: s for s in SPECS}
DEFAULT_STUDY_ID = "AIHA-DARA"


def _empty_like(frame: pd.DataFrame | None, columns: list[str]) -> pd.DataFrame:
    if frame is None:
        return pd.DataFrame(columns=columns)
    return frame


def derive_all(tables: Mapping[str, pd.DataFrame | None], cfg: Mapping[str, Any]
               ) -> dict[str, pd.DataFrame]:
    """Every analysis dataset from the results tables.

    ``tables``: ``patients``, ``responses``, ``labs``, ``transfusions``,
    ``treatments``, ``adverse_events`` (results/clinical/, results/response/) and,
    with cytometry, ``populations`` and ``cytometry_qc``; a missing table is empty.
    ``cfg``: ``study_id``, ``transfusion_washout_days``, ``soc_map`` (the term ->
    system organ class file, optional) and ``treatment_emergent_days_after_last_dose``
    (optional; none: every event from the first dose is treatment-emergent)."""
    study_id = str(cfg.get("study_id", DEFAULT_STUDY_ID))
    washout = int(cfg.get("transfusion_washout_days", 0))
    responses = tables["responses"]
    labs = _empty_like(tables.get("labs"), ["patient_id", "day", "analyte", "value"])
    transfusions = _empty_like(tables.get("transfusions"), ["patient_id", "day", "units"])
    treatments = _empty_like(tables.get("treatments"),
                             ["patient_id", "day", "treatment", "drug", "dose_mg"])
    aes = _empty_like(tables.get("adverse_events"), ["patient_id", "grade"])
    patients = _empty_like(tables.get("patients"), ["patient_id"])
    out: dict[str, pd.DataFrame] = {}
    out["ADSL"] = ADSL.build(base_frame(patients, responses, baseline_values(labs), study_id))
    adsl = out["ADSL"]
    out["ADRS"] = ADRS.build(adrs_base(responses, adsl, study_id))
    out["ADTTE"] = ADTTE.build(adtte_base(responses, adsl, study_id))
    teae = cfg.get("treatment_emergent_days_after_last_dose")
    soc_map = read_soc_map(str(cfg["soc_map"])) if cfg.get("soc_map") else {}
    out["ADAE"] = ADAE.build(ae_base(aes, adsl, study_id, soc_map,
                                     None if teae is None else int(teae)))
    out["ADLB"] = ADLB.build(with_subject(adlb_base(labs, transfusions, washout), adsl,
                                          study_id))
    treat = treatments.copy()
    is_dara = treat["treatment"].astype(str) == "daratumumab" if len(treat) else []
    out["ADEX"] = ADEX.build(with_subject(treat[is_dara] if len(treat) else treat, adsl,
                                          study_id))
    out["ADCM"] = ADCM.build(with_subject(treat[~pd.Series(is_dara, index=treat.index,
                                                           dtype=bool)] if len(treat)
                                          else treat, adsl, study_id))
    out["ADPR"] = ADPR.build(with_subject(transfusions, adsl, study_id))
    out["ADCYT"] = ADCYT.build(with_subject(adcyt_base(tables.get("populations"),
                                                       tables.get("cytometry_qc")), adsl,
                                            study_id))
    return out


def dataset_path(directory: str | os.PathLike[str], name: str) -> Path:
    """``<directory>/<name lower>.json``."""
    return Path(directory) / f"{name.lower()}.json"


def read_datasets(paths: Mapping[str, str | os.PathLike[str]]) -> dict[str, pd.DataFrame]:
    """The Dataset-JSON files ``paths`` (dataset name -> file) as frames."""
    from aiha.adam.datasetjson import read_dataset_json

    return {name: read_dataset_json(path) for name, path in paths.items()}
