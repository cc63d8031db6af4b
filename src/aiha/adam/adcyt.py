"""ADCYT, a basic-data-structure dataset of the flow-cytometry percentages: one
record per sample and gated population (``results/cytometry/populations.tsv``),
with the sample's QC flag (``results/cytometry/qc.tsv``). Empty when the study has
no cytometry."""

from __future__ import annotations

import pandas as pd

from aiha.adam.common import ADY, ANLGRP, RELDY, SAFFL, STUDYID, USUBJID, column, number, text
from aiha.adam.metadata import DatasetSpec, Variable

POPULATION_COLUMNS = ["sample_id", "patient_id", "visit", "day", "tube", "population",
                      "gate_path", "parent", "count", "percent_of_parent"]


def adcyt_base(populations: pd.DataFrame | None, qc: pd.DataFrame | None) -> pd.DataFrame:
    """The population rows (none without cytometry) with the QC flag of their sample
    and the population's parameter code (``codes``: population -> PARAMCD)."""
    if populations is None:
        populations = pd.DataFrame(columns=POPULATION_COLUMNS)
    out = populations.reset_index(drop=True).copy()
    flags = {} if qc is None else dict(zip(qc["sample_id"], text(column(qc, "qc_flag"))))
    out["_qcflag"] = [flags.get(s, "") for s in out["sample_id"]]
    codes = population_codes(out["population"])
    out["_paramcd"] = [codes[p] for p in out["population"]]
    return out


def population_codes(populations: pd.Series) -> dict[str, str]:
    """``P001``, ``P002``, ... for the distinct populations in name order (a name is
    longer than the 8 characters a code may have)."""
    names = sorted({str(p) for p in populations})
    return {name: f"P{i:03d}" for i, name in enumerate(names, start=1)}


def smplid(base: pd.DataFrame) -> pd.Series:
    """Sample identifier of the cytometry sample sheet (``sample_id``)."""
    return text(base["sample_id"])


def avisit(base: pd.DataFrame) -> pd.Series:
    """Visit of the sample (sample sheet ``visit``)."""
    return text(base["visit"])


def parcat1(base: pd.DataFrame) -> pd.Series:
    """Tube (staining panel) of the sample: ``phenotype`` or ``function``."""
    return text(base["tube"])


def paramcd(base: pd.DataFrame) -> pd.Series:
    """Code of the population (:func:`population_codes`)."""
    return base["_paramcd"]


def param(base: pd.DataFrame) -> pd.Series:
    """The population's name (config ``cytometry.populations``/gating)."""
    return text(base["population"])


def gatepath(base: pd.DataFrame) -> pd.Series:
    """Gate path of the population from the root gate."""
    return text(base["gate_path"])


def parent(base: pd.DataFrame) -> pd.Series:
    """The parent population the percentage is of (``""`` at the root)."""
    return text(base["parent"])


def aval(base: pd.DataFrame) -> pd.Series:
    """Percentage of the parent population's events (``percent_of_parent``)."""
    return number(base["percent_of_parent"])


def avalu(base: pd.DataFrame) -> pd.Series:
    """``%``."""
    return pd.Series(["%"] * len(base), index=base.index, dtype=object)


def evcount(base: pd.DataFrame) -> pd.Series:
    """Events in the population (``count``)."""
    return number(base["count"])


def qcflag(base: pd.DataFrame) -> pd.Series:
    """The sample's QC flag (``results/cytometry/qc.tsv``; ``""`` = passed)."""
    return text(base["_qcflag"])


ADCYT = DatasetSpec("ADCYT", "Flow Cytometry Analysis Dataset", "one record per sample per population", (
    STUDYID, USUBJID, ANLGRP, SAFFL,
    Variable("SMPLID", "Sample Identifier", "text", "populations.sample_id", smplid, key=True),
    Variable("AVISIT", "Analysis Visit", "text", "populations.visit", avisit),
    RELDY, ADY,
    Variable("PARCAT1", "Parameter Category 1 (Tube)", "text", "populations.tube", parcat1),
    Variable("PARAMCD", "Parameter Code", "text", "populations.population", paramcd, key=True),
    Variable("PARAM", "Parameter", "text", "populations.population", param),
    Variable("GATEPATH", "Gate Path", "text", "populations.gate_path", gatepath),
    Variable("PARENT", "Parent Population", "text", "populations.parent", parent),
    Variable("AVAL", "Analysis Value", "float", "populations.percent_of_parent", aval),
    Variable("AVALU", "Analysis Value Unit", "text", "populations.percent_of_parent", avalu),
    Variable("EVCOUNT", "Events in Population", "integer", "populations.count", evcount),
    Variable("QCFLAG", "Sample QC Flag", "text", "qc.qc_flag", qcflag),
))
