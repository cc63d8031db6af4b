"""ADRS (response parameters per patient) and ADTTE (time to event: duration of
response, time to response, follow-up), from ``results/response/responses.tsv``."""

from __future__ import annotations

import datetime as dt
import math

import pandas as pd

from aiha.adam.common import (ANLGRP, SAFFL, STUDYID, USUBJID, column, date, missing,
                              number, text, truthy)
from aiha.adam.metadata import DatasetSpec, Variable
from aiha.adam.studyday import study_day

# ADRS parameters: PARAMCD -> (PARAM, how AVALC/AVAL/ADT come from a responses row).
ADRS_PARAMS: dict[str, str] = {
    "BOR": "Best Overall Response",
    "RESP": "Responder",
    "RELAPSE": "Relapse After Response",
    "ONGOING": "Response Ongoing at Data Cut-off",
    "ACRORSP": "Acrocyanosis Response (CRF)",
    "HBCHG": "Best Post-dose Hb Change (g/dL)",
}


def _flag(x: object) -> str:
    return "" if missing(x) else ("Y" if truthy(x) else "N")


def adrs_base(responses: pd.DataFrame, adsl: pd.DataFrame, study_id: str) -> pd.DataFrame:
    """One record per ADSL patient and ADRS parameter (in :data:`ADRS_PARAMS` order)."""
    efffl = dict(zip(adsl["USUBJID"], adsl["EFFFL"]))
    rows = []
    for _, r in responses.iterrows():
        pid = str(r["patient_id"])
        responder = truthy(r.get("responder"))
        common = {"patient_id": pid, "_studyid": study_id, "_anlgrp": r["analysis_group"],
                  "_saffl": "Y", "_efffl": efffl.get(pid, ""), "_trtsdt": r.get("first_dose_date")}
        values = {
            "BOR": (r.get("best_response"), math.nan, r.get("response_date") if responder else "",
                    "best_response"),
            "RESP": ("Y" if responder else "N", math.nan, r.get("response_date"), "responder"),
            "RELAPSE": ("Y" if not missing(r.get("relapse_date")) else "N", math.nan,
                        r.get("relapse_date"), "relapse_date"),
            "ONGOING": ("Y" if truthy(r.get("ongoing")) else "N",
                        r.get("ongoing_duration_months"), "", "ongoing"),
            "ACRORSP": (_flag(r.get("acrocyanosis_response")), math.nan, "",
                        "acrocyanosis_response"),
            "HBCHG": ("", r.get("hb_change"), "", "hb_change"),
        }
        for code, (avalc, aval, adt, src) in values.items():
            rows.append({**common, "_paramcd": code, "_avalc": avalc, "_aval": aval,
                         "_adt": adt, "_srcvar": src})
    return pd.DataFrame(rows, columns=["patient_id", "_studyid", "_anlgrp", "_saffl", "_efffl",
                                       "_trtsdt", "_paramcd", "_avalc", "_aval", "_adt",
                                       "_srcvar"])


def paramcd(base: pd.DataFrame) -> pd.Series:
    """Parameter code (one record per patient and parameter)."""
    return base["_paramcd"]


def param(base: pd.DataFrame) -> pd.Series:
    """Parameter description of PARAMCD."""
    return base["_paramcd"].map(ADRS_PARAMS)


def efffl(base: pd.DataFrame) -> pd.Series:
    """Efficacy population flag of the patient in ADSL."""
    return text(base["_efffl"])


def avalc(base: pd.DataFrame) -> pd.Series:
    """BOR: best response (CR/PR/NR for wAIHA, HR/NR for cAIHA, NE outside the
    efficacy set); RESP, RELAPSE, ONGOING: Y/N; ACRORSP: the CRF's acrocyanosis
    response Y/N (``""`` if not assessed); HBCHG: empty."""
    return text(base["_avalc"])


def aval_rs(base: pd.DataFrame) -> pd.Series:
    """ONGOING: months from ``response.ongoing_duration_origin`` to the data cut-off
    for an ongoing response (responses ``ongoing_duration_months``); HBCHG: best
    evaluable post-dose Hb minus baseline Hb, g/dL (responses ``hb_change``)."""
    return number(base["_aval"])


def adt_rs(base: pd.DataFrame) -> pd.Series:
    """BOR and RESP: date of the (confirmed) response; RELAPSE: date of the relapse."""
    return date(base["_adt"])


def ady_rs(base: pd.DataFrame) -> pd.Series:
    """Study day of ADT against TRTSDT (no day 0)."""
    return pd.Series([study_day(a, t) for a, t in zip(adt_rs(base), date(base["_trtsdt"]))],
                     index=base.index, dtype=object)


def srcvar(base: pd.DataFrame) -> pd.Series:
    """Column of results/response/responses.tsv the record's value comes from."""
    return base["_srcvar"]


ADRS = DatasetSpec("ADRS", "Response Analysis Dataset", "one record per subject per parameter", (
    STUDYID, USUBJID, ANLGRP, SAFFL,
    Variable("EFFFL", "Efficacy Population Flag", "text", "ADSL.EFFFL", efffl),
    Variable("PARAMCD", "Parameter Code", "text", "responses", paramcd, key=True),
    Variable("PARAM", "Parameter", "text", "responses", param),
    Variable("AVALC", "Analysis Value (C)", "text", "responses (SRCVAR)", avalc),
    Variable("AVAL", "Analysis Value", "float", "responses (SRCVAR)", aval_rs),
    Variable("ADT", "Analysis Date", "date", "responses (SRCVAR)", adt_rs),
    Variable("ADY", "Analysis Relative Day", "integer", "ADT, ADSL.TRTSDT", ady_rs),
    Variable("SRCVAR", "Source Variable", "text", "responses", srcvar),
))

# ADTTE parameters: PARAMCD -> (PARAM, unit).
TTE_PARAMS: dict[str, tuple[str, str]] = {
    "DOR": ("Duration of Response (Months)", "MONTHS"),
    "TTR": ("Time to First Response (Days)", "DAYS"),
    "FU": ("Follow-up From First Dose (Days)", "DAYS"),
}


def _days(a: object, b: object) -> float:
    if missing(a) or missing(b):
        return math.nan
    return float((dt.date.fromisoformat(str(b)[:10]) - dt.date.fromisoformat(str(a)[:10])).days)


def _plus(start: object, days: object) -> str:
    if missing(start) or missing(days):
        return ""
    return (dt.date.fromisoformat(str(start)[:10]) + dt.timedelta(days=int(float(days)))).isoformat()


def adtte_base(responses: pd.DataFrame, adsl: pd.DataFrame, study_id: str) -> pd.DataFrame:
    """Records: DOR for every responder; TTR and FU for every ADSL patient."""
    efffl = dict(zip(adsl["USUBJID"], adsl["EFFFL"]))
    rows = []
    for _, r in responses.iterrows():
        pid = str(r["patient_id"])
        first, resp_date = r.get("first_dose_date"), r.get("response_date")
        common = {"patient_id": pid, "_studyid": study_id, "_anlgrp": r["analysis_group"],
                  "_saffl": "Y", "_efffl": efffl.get(pid, ""), "_trtsdt": first}
        responder = truthy(r.get("responder"))
        if responder:
            event = r.get("event")
            relapse = not missing(event) and int(float(event)) == 1
            cnsr = None if missing(event) else (0 if relapse else 1)
            rows.append({**common, "_paramcd": "DOR", "_startdt": resp_date,
                         "_adt": r.get("relapse_date") if relapse
                         else _plus(resp_date, r.get("duration_days")),
                         "_aval": r.get("duration_months"), "_cnsr": cnsr,
                         "_evntdesc": f"Relapse ({r.get('relapse_reason')})" if relapse else "",
                         "_cnsdtdsc": "" if relapse or cnsr is None
                         else "Response ongoing at data cut-off",
                         "_srcvar": "relapse_date" if relapse else "duration_days"})
        follow = r.get("last_followup_date")
        rows.append({**common, "_paramcd": "TTR", "_startdt": first,
                     "_adt": resp_date if responder else follow,
                     "_aval": _days(first, resp_date if responder else follow),
                     "_cnsr": 0 if responder else 1,
                     "_evntdesc": "First response" if responder else "",
                     "_cnsdtdsc": "" if responder else "No response by last follow-up",
                     "_srcvar": "response_date" if responder else "last_followup_date"})
        rows.append({**common, "_paramcd": "FU", "_startdt": first, "_adt": follow,
                     "_aval": _days(first, follow), "_cnsr": 1, "_evntdesc": "",
                     "_cnsdtdsc": "Last follow-up (last lab date)",
                     "_srcvar": "last_followup_date"})
    cols = ["patient_id", "_studyid", "_anlgrp", "_saffl", "_efffl", "_trtsdt", "_paramcd",
            "_startdt", "_adt", "_aval", "_cnsr", "_evntdesc", "_cnsdtdsc", "_srcvar"]
    return pd.DataFrame(rows, columns=cols)


def param_tte(base: pd.DataFrame) -> pd.Series:
    """Parameter description of PARAMCD."""
    return base["_paramcd"].map(lambda c: TTE_PARAMS[c][0])


def startdt(base: pd.DataFrame) -> pd.Series:
    """Origin: DOR the response date; TTR and FU the first dose (TRTSDT)."""
    return date(base["_startdt"])


def adt_tte(base: pd.DataFrame) -> pd.Series:
    """DOR: the relapse date (event) or STARTDT + the censored duration in days (the
    data cut-off); TTR: the response date (event) or the last follow-up (censored);
    FU: the last follow-up."""
    return date(base["_adt"])


def aval_tte(base: pd.DataFrame) -> pd.Series:
    """DOR: duration of response in months as response scoring gives it (responses
    ``duration_months``: days / ``response.days_per_month``, rounded per
    ``response.duration_rounding``); TTR, FU: ADT - STARTDT in days."""
    return number(base["_aval"])


def avalu(base: pd.DataFrame) -> pd.Series:
    """Unit of AVAL: MONTHS (DOR) or DAYS (TTR, FU)."""
    return base["_paramcd"].map(lambda c: TTE_PARAMS[c][1])


def cnsr(base: pd.DataFrame) -> pd.Series:
    """Censoring: 0 = event (DOR relapse, TTR response), 1 = censored (DOR ongoing
    at the data cut-off, TTR no response, FU always)."""
    return base["_cnsr"].map(lambda x: None if missing(x) else int(x))


def evntdesc(base: pd.DataFrame) -> pd.Series:
    """Event description (with the relapse reason hb/transfusion/new_therapy)."""
    return text(base["_evntdesc"])


def cnsdtdsc(base: pd.DataFrame) -> pd.Series:
    """Description of the censoring date."""
    return text(base["_cnsdtdsc"])


def srcdom(base: pd.DataFrame) -> pd.Series:
    """Source dataset of ADT: ``RESPONSE`` (results/response/responses.tsv)."""
    return pd.Series(["RESPONSE"] * len(base), index=base.index, dtype=object)


ADTTE = DatasetSpec("ADTTE", "Time-to-Event Analysis Dataset", "one record per subject per parameter", (
    STUDYID, USUBJID, ANLGRP, SAFFL,
    Variable("EFFFL", "Efficacy Population Flag", "text", "ADSL.EFFFL", efffl),
    Variable("PARAMCD", "Parameter Code", "text", "responses", paramcd, key=True),
    Variable("PARAM", "Parameter", "text", "responses", param_tte),
    Variable("STARTDT", "Time to Event Origin Date for Subject", "date",
             "responses.response_date / first_dose_date", startdt),
    Variable("ADT", "Analysis Date", "date", "responses (SRCVAR)", adt_tte),
    Variable("AVAL", "Analysis Value", "float", "responses.duration_months / dates", aval_tte),
    Variable("AVALU", "Analysis Value Unit", "text", "PARAMCD", avalu),
    Variable("CNSR", "Censor", "integer", "responses.event / responder", cnsr),
    Variable("EVNTDESC", "Event or Censoring Description", "text", "responses.relapse_reason",
             evntdesc),
    Variable("CNSDTDSC", "Censor Date Description", "text", "responses", cnsdtdsc),
    Variable("SRCDOM", "Source Data", "text", "responses", srcdom),
    Variable("SRCVAR", "Source Variable", "text", "responses", srcvar),
))
