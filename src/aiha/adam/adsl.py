"""ADSL, the subject-level analysis dataset: one row per treated patient (every
patient of ``results/response/responses.tsv``), with the patient table's baseline
data and the analysis flags."""

from __future__ import annotations

import pandas as pd

from aiha import therapies
from aiha.adam.common import (STUDYID, USUBJID, column, date, missing, number, text, truthy,
                              yn, yn_blank)
from aiha.adam.metadata import DatasetSpec, Variable

# Prior-therapy flag of each therapy type of aiha.therapies (names of at most 8).
PRIOR_FLAGS: dict[str, str] = {
    "corticosteroids": "PRCORTFL", "rituximab": "PRRTXFL", "immunosuppressant": "PRIMSFL",
    "splenectomy": "PRSPLFL", "ivig": "PRIVIGFL", "bortezomib": "PRBORFL",
    "complement_inhibitor": "PRCMPFL", "erythropoietin": "PREPOFL", "other": "PROTHFL",
}
if set(PRIOR_FLAGS) != set(therapies.PRIOR_THERAPY_TYPES):
    raise ImportError("aiha.adam.adsl.PRIOR_FLAGS must name every type of aiha.therapies")


def base_frame(patients: pd.DataFrame, responses: pd.DataFrame, baseline: dict[str, dict],
               study_id: str) -> pd.DataFrame:
    """One row per scored patient: the responses, the patient table's columns (a
    patient listed twice there is refused: ``MergeError``) and the baseline labs
    (``baseline``: analyte -> patient -> value)."""
    pts = patients.add_suffix("_pt").rename(columns={"patient_id_pt": "patient_id"})
    out = responses.merge(pts, on="patient_id", how="left", validate="one_to_one")
    out["_studyid"] = study_id
    for analyte, values in baseline.items():
        out[f"_base_{analyte}"] = out["patient_id"].map(values)
    out.attrs["patient_columns"] = list(patients.columns)
    return out


def _patient_first(base: pd.DataFrame, name: str) -> pd.Series:
    """The patient table's column where it has it, else the responses' one."""
    if name in base.attrs.get("patient_columns", []):
        return base[f"{name}_pt"]
    return column(base, name)


def siteid(base: pd.DataFrame) -> pd.Series:
    """Site code of the export the patient came from."""
    return text(_patient_first(base, "site"))


def country(base: pd.DataFrame) -> pd.Series:
    """Country of the site (patient table ``country``)."""
    return text(column(base, "country_pt"))


def age(base: pd.DataFrame) -> pd.Series:
    """Age at the first dose in whole years (patient table ``age_at_first_dose``; the
    date of birth never leaves the cleaning step)."""
    return number(column(base, "age_at_first_dose_pt"))


def ageu(base: pd.DataFrame) -> pd.Series:
    """``YEARS`` where AGE is known."""
    return age(base).map(lambda x: "" if pd.isna(x) else "YEARS")


def sex(base: pd.DataFrame) -> pd.Series:
    """``F`` (female) or ``M`` (male) from the patient table's ``sex``; ``""`` if
    unknown."""
    return column(base, "sex_pt").map({"female": "F", "male": "M"}).fillna("")


def diaggrp(base: pd.DataFrame) -> pd.Series:
    """Diagnosis: ``wAIHA`` (warm) or ``cAIHA`` (cold agglutinin disease/syndrome)."""
    return text(column(base, "diagnosis"))


def anlgrp(base: pd.DataFrame) -> pd.Series:
    """Analysis group of response scoring: ``wAIHA``, ``cAIHA`` (anemic cAIHA) or
    ``cAIHA_nonanemic`` (cAIHA with baseline Hb above the anemia threshold)."""
    return text(base["analysis_group"])


def evansfl(base: pd.DataFrame) -> pd.Series:
    """``Y`` if the patient has Evans syndrome (patient table ``evans``)."""
    return yn(_patient_first(base, "evans"))


def acrofl(base: pd.DataFrame) -> pd.Series:
    """``Y`` if the patient has acrocyanosis at baseline (patient table ``acrocyanosis``)."""
    return yn(_patient_first(base, "acrocyanosis"))


def bhb(base: pd.DataFrame) -> pd.Series:
    """Baseline Hb (g/dL): the last Hb on or before the first dose, as response
    scoring took it (responses ``baseline_hb``)."""
    return number(column(base, "baseline_hb"))


def bldh(base: pd.DataFrame) -> pd.Series:
    """Baseline LDH (x ULN): AVAL of the ADLB record with PARAMCD = LDH and ABLFL = Y."""
    return number(column(base, "_base_ldh"))


def bbili(base: pd.DataFrame) -> pd.Series:
    """Baseline bilirubin (mg/dL): AVAL of the ADLB record with PARAMCD = BILI and
    ABLFL = Y."""
    return number(column(base, "_base_bilirubin"))


def priorln(base: pd.DataFrame) -> pd.Series:
    """Number of prior treatment lines (patient table ``prior_lines``)."""
    return number(column(base, "prior_lines_pt"))


def prthrfl(base: pd.DataFrame) -> pd.Series:
    """``Y`` if the patient's site exports the list of prior therapies
    (``prior_therapies_recorded``); ``N`` otherwise (also for a patient not in the
    patient table)."""
    return yn(column(base, f"{therapies.RECORDED_COLUMN}_pt"))


def prior_flag(therapy_type: str):
    """The deriving function of the prior-therapy flag of ``therapy_type``."""

    def derive(base: pd.DataFrame) -> pd.Series:
        recorded = prthrfl(base)
        values = yn_blank(column(base, f"{therapies.column(therapy_type)}_pt"))
        return pd.Series([v if r == "Y" else "" for v, r in zip(values, recorded)],
                         index=base.index)

    derive.__doc__ = (f"``Y`` if the patient had prior {therapies.label(therapy_type)} "
                      f"(patient table ``{therapies.column(therapy_type)}``); ``\"\"`` where "
                      "PRTHRFL is not Y.")
    derive.__name__ = derive.__qualname__ = f"prior_flag_{therapy_type}"
    return derive


def trtsdt(base: pd.DataFrame) -> pd.Series:
    """Date of the first daratumumab dose (responses ``first_dose_date``)."""
    return date(column(base, "first_dose_date"))


def trtedt(base: pd.DataFrame) -> pd.Series:
    """Date of the last daratumumab dose on or before the data cut-off (responses
    ``last_dose_date``)."""
    return date(column(base, "last_dose_date"))


def lstfudt(base: pd.DataFrame) -> pd.Series:
    """Date of the last follow-up: the last lab date (responses ``last_followup_date``)."""
    return date(column(base, "last_followup_date"))


def ndoses(base: pd.DataFrame) -> pd.Series:
    """Number of daratumumab doses (responses ``n_doses``)."""
    return number(column(base, "n_doses"))


def saffl(base: pd.DataFrame) -> pd.Series:
    """Safety population flag: ``Y`` for every patient in ADSL (every patient scored
    received at least one dose)."""
    return pd.Series(["Y"] * len(base), index=base.index)


def saffrsn(base: pd.DataFrame) -> pd.Series:
    """Reason of the safety flag: ``received daratumumab`` (every ADSL patient)."""
    return pd.Series(["received daratumumab"] * len(base), index=base.index)


def efffl(base: pd.DataFrame) -> pd.Series:
    """Efficacy analysis set flag: ``Y`` where response scoring put the patient in
    the efficacy set (responses ``efficacy_set``: anemic at baseline)."""
    return yn(column(base, "efficacy_set"))


def effrsn(base: pd.DataFrame) -> pd.Series:
    """Reason of the efficacy flag: ``anemic at baseline`` (Y) or ``not anemic at
    baseline`` (N: non-anemic cAIHA, assessed on acrocyanosis and Hb change only)."""
    return efffl(base).map({"Y": "anemic at baseline", "N": "not anemic at baseline"})


ADSL = DatasetSpec("ADSL", "Subject-Level Analysis Dataset", "one record per subject", (
    STUDYID,
    USUBJID,
    Variable("SITEID", "Study Site Identifier", "text", "patients.site", siteid),
    Variable("COUNTRY", "Country", "text", "patients.country", country),
    Variable("AGE", "Age", "integer", "patients.age_at_first_dose", age),
    Variable("AGEU", "Age Units", "text", "patients.age_at_first_dose", ageu),
    Variable("SEX", "Sex", "text", "patients.sex", sex),
    Variable("DIAGGRP", "Diagnosis Group", "text", "responses.diagnosis", diaggrp),
    Variable("ANLGRP", "Analysis Group", "text", "responses.analysis_group", anlgrp),
    Variable("EVANSFL", "Evans Syndrome Flag", "text", "patients.evans", evansfl),
    Variable("ACROFL", "Acrocyanosis at Baseline Flag", "text", "patients.acrocyanosis",
             acrofl),
    Variable("BHB", "Baseline Hemoglobin (g/dL)", "float", "responses.baseline_hb", bhb),
    Variable("BLDH", "Baseline LDH (x ULN)", "float", "ADLB.AVAL (LDH, ABLFL = Y)", bldh),
    Variable("BBILI", "Baseline Bilirubin (mg/dL)", "float", "ADLB.AVAL (BILI, ABLFL = Y)",
             bbili),
    Variable("PRIORLN", "Number of Prior Treatment Lines", "integer", "patients.prior_lines",
             priorln),
    Variable("PRTHRFL", "Prior Therapies Recorded Flag", "text",
             f"patients.{therapies.RECORDED_COLUMN}", prthrfl),
    *(Variable(flag, f"Prior {therapies.label(t)[:28]} Flag", "text",
               f"patients.{therapies.column(t)}", prior_flag(t))
      for t, flag in PRIOR_FLAGS.items()),
    Variable("TRTSDT", "Date of First Exposure to Treatment", "date",
             "responses.first_dose_date", trtsdt),
    Variable("TRTEDT", "Date of Last Exposure to Treatment", "date",
             "responses.last_dose_date", trtedt),
    Variable("LSTFUDT", "Date of Last Follow-up", "date", "responses.last_followup_date",
             lstfudt),
    Variable("NDOSES", "Number of Daratumumab Doses", "integer", "responses.n_doses", ndoses),
    Variable("SAFFL", "Safety Population Flag", "text", "responses (scored = treated)", saffl),
    Variable("SAFFRSN", "Reason for Safety Population Flag", "text", "responses", saffrsn),
    Variable("EFFFL", "Efficacy Population Flag", "text", "responses.efficacy_set", efffl),
    Variable("EFFRSN", "Reason for Efficacy Population Flag", "text", "responses.efficacy_set",
             effrsn),
))

__all__ = ["ADSL", "PRIOR_FLAGS", "base_frame", "missing", "truthy"]
