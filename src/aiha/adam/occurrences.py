"""ADLB (labs), ADAE (adverse events), ADEX (daratumumab doses), ADCM (other
treatments) and ADPR (transfusions), from the cleaned tables of results/clinical/."""

from __future__ import annotations

import math

import pandas as pd

from aiha.adam.common import (ADY, ANLGRP, RELDY, SAFFL, STUDYID, USUBJID, column, date,
                              missing, number, reldy, text, truthy, with_subject)
from aiha.adam.metadata import DatasetSpec, Variable

LAB_PARAMS: dict[str, tuple[str, str]] = {
    "hb": ("HB", "Hemoglobin (g/dL)"),
    "ldh": ("LDH", "Lactate Dehydrogenase (x ULN)"),
    "bilirubin": ("BILI", "Bilirubin (mg/dL)"),
}


def sequence(base: pd.DataFrame, column_name: str | None = None) -> pd.Series:
    """Sequence number of the record within the patient: ``column_name`` where the
    table has it, else the order of the records (1, 2, ...)."""
    if column_name and column_name in base.columns and not base[column_name].map(missing).any():
        return number(base[column_name])
    return (base.groupby("patient_id", sort=False).cumcount() + 1).astype(float)


# ------------------------------------------------------------------- ADLB


def baseline_index(labs: pd.DataFrame) -> pd.Index:
    """Rows of the baseline records: per patient and analyte, the last record with a
    value on or before the first dose (day <= 0), in day order (ties: table order)."""
    if labs.empty:
        return pd.Index([])
    day = number(column(labs, "day"))
    value = number(column(labs, "value"))
    pre = labs[(day <= 0) & value.notna()]
    pre = pre.loc[day[pre.index].sort_values(kind="stable").index]
    return pre.groupby(["patient_id", "analyte"], sort=False).tail(1).index


def baseline_values(labs: pd.DataFrame) -> dict[str, dict[str, float]]:
    """analyte -> patient -> baseline value (:func:`baseline_index`)."""
    out: dict[str, dict[str, float]] = {}
    for i in baseline_index(labs):
        row = labs.loc[i]
        out.setdefault(str(row["analyte"]), {})[str(row["patient_id"])] = float(row["value"])
    return out


def adlb_base(labs: pd.DataFrame, transfusions: pd.DataFrame, washout_days: int
              ) -> pd.DataFrame:
    """The lab records with their baseline flag, baseline value and washout flag."""
    out = labs.reset_index(drop=True).copy()
    if "day" not in out.columns:
        out["day"] = math.nan
    flagged = set(baseline_index(out))
    out["_ablfl"] = ["Y" if i in flagged else "" for i in out.index]
    base = baseline_values(out)
    out["_base"] = [base.get(str(a), {}).get(str(p), math.nan)
                    for a, p in zip(column(out, "analyte"), out["patient_id"])]
    tx: dict[str, list[float]] = {}
    if len(transfusions) and "day" in transfusions.columns:
        for p, d in zip(transfusions["patient_id"], number(transfusions["day"])):
            if not math.isnan(d):
                tx.setdefault(str(p), []).append(d)
    out["_washout"] = [
        "" if str(a) != "hb" or missing(d)
        else ("Y" if any(t < float(d) <= t + washout_days for t in tx.get(str(p), [])) else "N")
        for a, d, p in zip(column(out, "analyte"), out["day"], out["patient_id"])]
    out.attrs["washout_days"] = washout_days
    return out


def lb_paramcd(base: pd.DataFrame) -> pd.Series:
    """HB, LDH or BILI from the lab table's ``analyte``."""
    return column(base, "analyte").map(lambda a: LAB_PARAMS.get(str(a), (str(a).upper()[:8],))[0])


def lb_param(base: pd.DataFrame) -> pd.Series:
    """Parameter name with the unit the cleaning step normalised to."""
    return column(base, "analyte").map(lambda a: LAB_PARAMS.get(str(a), ("", str(a)))[1])


def lb_aval(base: pd.DataFrame) -> pd.Series:
    """The value in the normalised unit (lab table ``value``)."""
    return number(column(base, "value"))


def lb_avalu(base: pd.DataFrame) -> pd.Series:
    """The normalised unit (g/dL, x ULN, mg/dL)."""
    return text(column(base, "unit"))


def lb_adt(base: pd.DataFrame) -> pd.Series:
    """Date of the sample (lab table ``date``)."""
    return date(column(base, "date"))


def ablfl(base: pd.DataFrame) -> pd.Series:
    """``Y`` on the baseline record: per patient and parameter the last record with
    a value on or before the first dose (RELDY <= 0)."""
    return base["_ablfl"]


def lb_base(base: pd.DataFrame) -> pd.Series:
    """AVAL of the patient's baseline record of the parameter."""
    return number(base["_base"])


def lb_chg(base: pd.DataFrame) -> pd.Series:
    """AVAL - BASE on records after the first dose (RELDY > 0)."""
    day = reldy(base)
    return pd.Series([a - b if d > 0 else math.nan
                      for a, b, d in zip(lb_aval(base), lb_base(base), day)],
                     index=base.index, dtype=float)


def trwshfl(base: pd.DataFrame) -> pd.Series:
    """Hb only: ``Y`` if the sample lies within ``response.transfusion_washout_days``
    after a transfusion (t < RELDY <= t + washout), when response scoring does not
    evaluate it; ``N`` otherwise; ``""`` for other parameters."""
    return base["_washout"]


def suspfl(base: pd.DataFrame) -> pd.Series:
    """``Y`` if the cleaning step flagged the value as suspicious (lab table ``flag``)."""
    return column(base, "flag").map(lambda x: "Y" if str(x) == "suspicious" else "")


ADLB = DatasetSpec("ADLB", "Laboratory Analysis Dataset", "one record per subject per parameter per sample", (
    STUDYID, USUBJID, ANLGRP, SAFFL,
    Variable("PARAMCD", "Parameter Code", "text", "labs.analyte", lb_paramcd, key=True),
    Variable("PARAM", "Parameter", "text", "labs.analyte, labs.unit", lb_param),
    Variable("AVAL", "Analysis Value", "float", "labs.value", lb_aval),
    Variable("AVALU", "Analysis Value Unit", "text", "labs.unit", lb_avalu),
    Variable("ADT", "Analysis Date", "date", "labs.date", lb_adt),
    RELDY, ADY,
    Variable("ABLFL", "Baseline Record Flag", "text", "labs.day, labs.value", ablfl),
    Variable("BASE", "Baseline Value", "float", "labs.value (ABLFL = Y)", lb_base),
    Variable("CHG", "Change from Baseline", "float", "AVAL, BASE", lb_chg),
    Variable("TRWSHFL", "Within Transfusion Washout Flag", "text", "transfusions.day",
             trwshfl),
    Variable("SUSPFL", "Suspicious Value Flag", "text", "labs.flag", suspfl),
))


# ------------------------------------------------------------------- ADAE


def aeseq(base: pd.DataFrame) -> pd.Series:
    """Sequence number of the event within the patient (adverse-event table
    ``ae_number``; the record order where it is absent)."""
    return sequence(base, "ae_number")


def aeterm(base: pd.DataFrame) -> pd.Series:
    """The event term as reported (adverse-event table ``term``)."""
    return text(column(base, "term"))


def atoxgrn(base: pd.DataFrame) -> pd.Series:
    """Worst reported CTCAE grade of the event (adverse-event table ``grade``)."""
    return number(column(base, "grade"))


def aeser(base: pd.DataFrame) -> pd.Series:
    """``Y`` if the event is serious (adverse-event table ``serious``)."""
    return column(base, "serious").map(lambda x: "Y" if truthy(x) else "N")


def astdt_ae(base: pd.DataFrame) -> pd.Series:
    """Onset date (adverse-event table ``onset_date``)."""
    return date(column(base, "onset_date"))


def trtemfl(base: pd.DataFrame) -> pd.Series:
    """Treatment-emergent: ``Y`` if the onset is on or after the first dose
    (RELDY >= 0) and, with config ``safety.treatment_emergent_days_after_last_dose``
    set, no later than that many days after the last daratumumab dose; ``N``
    otherwise, ``""`` if the onset is unknown."""
    days = reldy(base)
    limit = (number(base["_teae_limit_day"]) if "_teae_limit_day" in base.columns
             else pd.Series([math.nan] * len(base), index=base.index))
    return pd.Series(["" if math.isnan(d) else
                      ("Y" if d >= 0 and (math.isnan(lim) or d <= lim) else "N")
                      for d, lim in zip(days, limit)], index=base.index, dtype=object)


INFECTIONS_SOC = "Infections and infestations"
SOC_FROM_EXPORT = "site export (MedDRA SOC)"


def read_soc_map(path: str) -> dict[str, tuple[str, str]]:
    """The term -> (system organ class, source) mapping file (TSV with columns
    ``term``, ``soc``, ``source``; resources/safety/ctcae_v5_soc.tsv), keyed by the
    term trimmed and lower-cased. A term given twice with two classes is an error."""
    frame = pd.read_csv(path, sep="\t", dtype=str, keep_default_na=False)
    missing = {"term", "soc", "source"} - set(frame.columns)
    if missing:
        raise ValueError(f"{path}: no column(s) {sorted(missing)}")
    out: dict[str, tuple[str, str]] = {}
    for i, r in enumerate(frame.itertuples(index=False), start=2):
        key = str(r.term).strip().lower()
        if key in out and out[key][0] != r.soc:
            raise ValueError(f"{path}: line {i}: term {r.term!r} mapped to two classes "
                             f"({out[key][0]!r} and {r.soc!r})")
        out[key] = (str(r.soc).strip(), str(r.source).strip())
    return out


def ae_base(aes: pd.DataFrame, adsl: pd.DataFrame, study_id: str,
            soc_map: dict[str, tuple[str, str]], teae_days: int | None) -> pd.DataFrame:
    """The adverse events with their subject (:func:`with_subject`), the system organ
    class and its source (the export's ``soc`` where the site coded one, else the
    term's class in ``soc_map``, else none) and the last day that counts as
    treatment-emergent (the last dose day + ``teae_days``; none without a limit)."""
    out = with_subject(aes, adsl, study_id)
    if not len(out):
        return out.assign(_soc=[], _socsrc=[], _teae_limit_day=[])
    exported = column(out, "soc").map(lambda x: "" if missing(x) else str(x).strip())
    mapped = column(out, "term").map(lambda t: soc_map.get(str(t).strip().lower(), ("", "")))
    out["_soc"] = [e or m[0] for e, m in zip(exported, mapped)]
    out["_socsrc"] = [SOC_FROM_EXPORT if e else m[1] for e, m in zip(exported, mapped)]
    first = dict(zip(adsl["USUBJID"], adsl["TRTSDT"]))
    last = dict(zip(adsl["USUBJID"], adsl["TRTEDT"]))

    def limit(pid: object) -> float:
        a, b = first.get(pid, ""), last.get(pid, "")
        if teae_days is None or missing(a) or missing(b) or not str(a) or not str(b):
            return math.nan
        span = (pd.Timestamp(str(b)[:10]) - pd.Timestamp(str(a)[:10])).days
        return float(span + int(teae_days))

    out["_teae_limit_day"] = out["patient_id"].astype(str).map(limit)
    return out


def aebodsys(base: pd.DataFrame) -> pd.Series:
    """System organ class: the MedDRA SOC the site exported (``soc``), else the
    class of the term in the mapping file (config ``safety.soc_map``: CTCAE v5.0
    terms by their MedDRA SOC), else empty (not mapped)."""
    return text(column(base, "_soc"))


def aesocsrc(base: pd.DataFrame) -> pd.Series:
    """Where AEBODSYS comes from: the site export, or the mapping file's ``source``
    for the term (e.g. ``CTCAE v5.0``); empty where the term is not mapped."""
    return text(column(base, "_socsrc"))


def aerel(base: pd.DataFrame) -> pd.Series:
    """Related to daratumumab (optional export column ``related``): ``Y``, ``N``, or
    ``""`` where not recorded."""
    return column(base, "related").map(
        lambda x: "" if missing(x) or str(x) == "" else ("Y" if truthy(x) else "N"))


def aeout(base: pd.DataFrame) -> pd.Series:
    """Outcome (optional export column ``outcome``, mapped by ``codes.outcome``):
    recovered, recovering, not_recovered, recovered_with_sequelae, fatal, unknown;
    ``""`` where not recorded."""
    return text(column(base, "outcome"))


def ainffl(base: pd.DataFrame) -> pd.Series:
    """``Y`` where AEBODSYS is *Infections and infestations*, else ``N``."""
    return aebodsys(base).map(lambda s: "Y" if s == INFECTIONS_SOC else "N")


ADAE = DatasetSpec("ADAE", "Adverse Events Analysis Dataset", "one record per event", (
    STUDYID, USUBJID, ANLGRP, SAFFL,
    Variable("AESEQ", "Sequence Number", "integer", "adverse_events.ae_number", aeseq, key=True),
    Variable("AETERM", "Reported Term for the Adverse Event", "text", "adverse_events.term",
             aeterm),
    Variable("ATOXGRN", "Analysis Toxicity Grade (N)", "integer", "adverse_events.grade",
             atoxgrn),
    Variable("AESER", "Serious Event", "text", "adverse_events.serious", aeser),
    Variable("ASTDT", "Analysis Start Date", "date", "adverse_events.onset_date", astdt_ae),
    RELDY, ADY,
    Variable("TRTEMFL", "Treatment Emergent Analysis Flag", "text",
             "adverse_events.day, ADSL.TRTSDT/TRTEDT", trtemfl),
    Variable("AEBODSYS", "Body System or Organ Class", "text",
             "adverse_events.soc / safety.soc_map", aebodsys),
    Variable("AESOCSRC", "Source of Body System or Organ Class", "text",
             "adverse_events.soc / safety.soc_map", aesocsrc),
    Variable("AINFFL", "Infection Flag", "text", "AEBODSYS", ainffl),
    Variable("AEREL", "Causality", "text", "adverse_events.related", aerel),
    Variable("AEOUT", "Outcome of Adverse Event", "text", "adverse_events.outcome", aeout),
))


# ------------------------------------------------------- ADEX, ADCM, ADPR

CM_CATEGORIES = {"aiha_therapy": "AIHA THERAPY", "supportive": "SUPPORTIVE"}


def exseq(base: pd.DataFrame) -> pd.Series:
    """Sequence number of the record within the patient (table order)."""
    return sequence(base)


def extrt(base: pd.DataFrame) -> pd.Series:
    """Name of the treatment (treatments ``drug``)."""
    return text(column(base, "drug"))


def exdose(base: pd.DataFrame) -> pd.Series:
    """Dose in mg (treatments ``dose_mg``)."""
    return number(column(base, "dose_mg"))


def dose_unit(base: pd.DataFrame) -> pd.Series:
    """``mg`` where the dose is known."""
    return exdose(base).map(lambda x: "" if math.isnan(x) else "mg")


def astdt(base: pd.DataFrame) -> pd.Series:
    """Date of the administration (table ``date``)."""
    return date(column(base, "date"))


def cmcat(base: pd.DataFrame) -> pd.Series:
    """``AIHA THERAPY`` or ``SUPPORTIVE`` (treatments ``treatment``)."""
    return column(base, "treatment").map(lambda t: CM_CATEGORIES.get(str(t), str(t).upper()))


def aftdosfl(base: pd.DataFrame) -> pd.Series:
    """``Y`` if given after the day of the first dose (RELDY > 0)."""
    return reldy(base).map(lambda d: "" if math.isnan(d) else ("Y" if d > 0 else "N"))


def prtrt(base: pd.DataFrame) -> pd.Series:
    """``RED BLOOD CELL TRANSFUSION`` (every record of the transfusion table)."""
    return pd.Series(["RED BLOOD CELL TRANSFUSION"] * len(base), index=base.index, dtype=object)


def prdose(base: pd.DataFrame) -> pd.Series:
    """Units of red blood cells given (transfusions ``units``)."""
    return number(column(base, "units"))


def prdosu(base: pd.DataFrame) -> pd.Series:
    """``UNITS``."""
    return pd.Series(["UNITS"] * len(base), index=base.index, dtype=object)


SEQ = Variable("ASEQ", "Analysis Sequence Number", "integer", "record order", exseq, key=True)
ASTDT = Variable("ASTDT", "Analysis Start Date", "date", "date", astdt)
ADEX = DatasetSpec("ADEX", "Exposure Analysis Dataset", "one record per dose", (
    STUDYID, USUBJID, ANLGRP, SAFFL, SEQ,
    Variable("EXTRT", "Name of Treatment", "text", "treatments.drug", extrt),
    Variable("EXDOSE", "Dose", "float", "treatments.dose_mg", exdose),
    Variable("EXDOSU", "Dose Units", "text", "treatments.dose_mg", dose_unit),
    ASTDT, RELDY, ADY,
))
ADCM = DatasetSpec("ADCM", "Other Treatments Analysis Dataset", "one record per administration", (
    STUDYID, USUBJID, ANLGRP, SAFFL, SEQ,
    Variable("CMTRT", "Reported Name of Drug", "text", "treatments.drug", extrt),
    Variable("CMCAT", "Category of Medication", "text", "treatments.treatment", cmcat),
    Variable("CMDOSE", "Dose", "float", "treatments.dose_mg", exdose),
    Variable("CMDOSU", "Dose Units", "text", "treatments.dose_mg", dose_unit),
    ASTDT, RELDY, ADY,
    Variable("AFTDOSFL", "After First Dose Flag", "text", "treatments.day", aftdosfl),
))
ADPR = DatasetSpec("ADPR", "Transfusions Analysis Dataset", "one record per transfusion", (
    STUDYID, USUBJID, ANLGRP, SAFFL, SEQ,
    Variable("PRTRT", "Name of Procedure", "text", "transfusions", prtrt),
    Variable("PRDOSE", "Units Transfused", "float", "transfusions.units", prdose),
    Variable("PRDOSU", "Dose Units", "text", "transfusions.units", prdosu),
    ASTDT, RELDY, ADY,
))
