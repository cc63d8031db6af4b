"""Response criteria applied to the laboratory time series (STUDY.md section 2).

wAIHA: complete response (CR) = Hb >= cr_hb with normal LDH and bilirubin;
partial response (PR) = Hb >= pr_hb <or|and> a rise >= pr_rise from baseline.
cAIHA: Hb response (HR) = a rise >= cold_rise or Hb >= hb_normal.
A response is confirmed by consecutive evaluable values spanning at least
``confirmation_min_days``; the response date is the first of them.
Evaluable: after day 0, not within the transfusion washout, before any new
AIHA therapy. Relapse: ``relapse_consecutive_values`` consecutive evaluable values
that no longer meet the criterion, a transfusion, or a new AIHA therapy (each
configurable); the relapse date is the first such value or event.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, fields
from typing import Any


@dataclass(frozen=True)
class ResponseCriteria:
    pr_rule: str
    pr_hb_g_dl: float
    pr_rise_g_dl: float
    cr_hb_g_dl: float
    bilirubin_uln_mg_dl: float
    ldh_uln_multiple: float
    cold_rise_g_dl: float
    hb_normal_g_dl: float
    anemia_hb_g_dl: float
    confirmation_min_days: int
    transfusion_washout_days: int
    relapse_consecutive_values: int
    relapse_on_transfusion: bool
    relapse_on_new_therapy: bool
    ongoing_duration_origin: str
    days_per_month: float
    duration_rounding: str
    # "span": a run of responding values spanning at least confirmation_min_days;
    # "pair": two consecutive evaluable values at least confirmation_min_days apart.
    confirmation_reading: str = "span"

    @classmethod
    def keys(cls) -> list[str]:
        """The config keys (of the ``response`` section) that scoring reads."""
        return [f.name for f in fields(cls)]

    @classmethod
    def from_config(cls, cfg: dict[str, Any]) -> "ResponseCriteria":
        """From the ``response`` section; keys the scoring does not read are ignored."""
        return cls(**{k: cfg[k] for k in cls.keys() if k in cfg})


@dataclass(frozen=True)
class LabPoint:
    """Hb with the hemolysis markers measured the same day (None if not measured)."""

    day: int
    hb: float
    ldh_x_uln: float | None = None
    bilirubin_mg_dl: float | None = None


@dataclass(frozen=True)
class PatientCourse:
    """What the criteria need of one patient. Days are from the first dose."""

    diagnosis: str
    points: tuple[LabPoint, ...]
    transfusion_days: tuple[int, ...] = ()
    new_therapy_days: tuple[int, ...] = ()
    cutoff_day: int = 10**6


@dataclass(frozen=True)
class ResponseResult:
    analysis_group: str
    efficacy_set: bool
    baseline_hb: float
    max_hb: float | None
    best_response: str
    responder: bool
    response_day: int | None
    relapse_day: int | None
    relapse_reason: str
    ongoing: bool
    duration_days: int | None
    event: int | None
    ongoing_duration_days: int | None
    new_therapy_day: int | None


# ------------------------------------------------------------------ criteria


def meets_warm_pr(hb: float, baseline: float, c: ResponseCriteria) -> bool:
    """PR level (or better): Hb >= pr_hb <or|and> rise >= pr_rise."""
    level = hb >= c.pr_hb_g_dl
    rise = hb - baseline >= c.pr_rise_g_dl
    return (level and rise) if c.pr_rule == "and" else (level or rise)


def meets_warm_cr(p: LabPoint, c: ResponseCriteria) -> bool:
    """CR level: Hb >= cr_hb with LDH and bilirubin measured and normal."""
    if p.ldh_x_uln is None or p.bilirubin_mg_dl is None:
        return False
    return (
        p.hb >= c.cr_hb_g_dl
        and p.ldh_x_uln <= c.ldh_uln_multiple
        and p.bilirubin_mg_dl <= c.bilirubin_uln_mg_dl
    )


def meets_cold_response(hb: float, baseline: float, c: ResponseCriteria) -> bool:
    """cAIHA Hb response level: rise >= cold_rise or Hb in the normal range."""
    return hb - baseline >= c.cold_rise_g_dl or hb >= c.hb_normal_g_dl


def baseline_hb(points: Sequence[LabPoint]) -> float:
    """Last Hb on or before day 0."""
    before = [p for p in points if p.day <= 0]
    if not before:
        raise ValueError("no Hb on or before the first dose (day 0)")
    return max(before, key=lambda p: p.day).hb


def evaluable(course: PatientCourse, washout_days: int) -> list[LabPoint]:
    """Post-dose values outside transfusion washouts and before any new therapy."""
    stop = min(course.new_therapy_days, default=None)
    out = []
    for p in sorted(course.points, key=lambda q: q.day):
        if p.day <= 0 or p.day > course.cutoff_day:
            continue
        if stop is not None and p.day >= stop:
            continue
        if any(t < p.day <= t + washout_days for t in course.transfusion_days):
            continue
        out.append(p)
    return out


def first_confirmed(
    points: Sequence[LabPoint], predicate: Callable[[LabPoint], bool], min_days: int,
    reading: str = "span",
) -> int | None:
    """Index of the first value that starts a confirmed run.

    ``span``: a run from value i is confirmed when the predicate holds for every
    value from i up to the first later value j with day_j - day_i >= min_days (j > i
    always: at least two values).
    ``pair``: value i is confirmed when it and the next evaluable value both meet
    the predicate and lie at least min_days apart.
    """
    if reading not in ("span", "pair"):
        raise ValueError(f"unknown confirmation reading {reading!r}")
    for i, p in enumerate(points):
        if not predicate(p):
            continue
        if reading == "pair":
            if (i + 1 < len(points) and predicate(points[i + 1])
                    and points[i + 1].day - p.day >= min_days):
                return i
            continue
        for j in range(i + 1, len(points)):
            if not predicate(points[j]):
                break
            if points[j].day - p.day >= min_days:
                return i
    return None


def first_failing_run(
    points: Sequence[LabPoint], predicate: Callable[[LabPoint], bool], n: int, start: int
) -> int | None:
    """Index of the first of ``n`` consecutive values (from ``start``) failing the predicate."""
    for i in range(start, len(points) - n + 1):
        if all(not predicate(points[k]) for k in range(i, i + n)):
            return i
    return None


def months(days: int, c: ResponseCriteria) -> float:
    """Days as months, rounded half up to whole months when configured."""
    value = days / c.days_per_month
    if c.duration_rounding == "whole_months":
        return float(math.floor(value + 0.5))
    return value


# ------------------------------------------------------------------ scoring


def score_response(course: PatientCourse, c: ResponseCriteria) -> ResponseResult:
    """Best response, response and relapse dates, duration, ongoing status."""
    base = baseline_hb(course.points)
    pts = evaluable(course, c.transfusion_washout_days)
    max_hb = max((p.hb for p in pts), default=None)
    new_therapy = min(course.new_therapy_days, default=None)
    if course.diagnosis == "cAIHA" and base >= c.anemia_hb_g_dl:
        return ResponseResult("cAIHA_nonanemic", False, base, max_hb, "NE", False, None, None,
                              "", False, None, None, None, new_therapy)
    if course.diagnosis == "wAIHA":
        group = "wAIHA"

        def responding(p: LabPoint) -> bool:
            return meets_warm_pr(p.hb, base, c) or meets_warm_cr(p, c)

        def complete(p: LabPoint) -> bool:
            return meets_warm_cr(p, c)
    elif course.diagnosis == "cAIHA":
        group = "cAIHA"

        def responding(p: LabPoint) -> bool:
            return meets_cold_response(p.hb, base, c)

        complete = None  # type: ignore[assignment]
    else:
        raise ValueError(f"unknown diagnosis {course.diagnosis!r}")

    start = first_confirmed(pts, responding, c.confirmation_min_days, c.confirmation_reading)
    if start is None:
        return ResponseResult(group, True, base, max_hb, "NR", False, None, None, "", False,
                              None, None, None, new_therapy)
    if complete is not None:
        best = ("CR" if first_confirmed(pts, complete, c.confirmation_min_days,
                                       c.confirmation_reading) is not None else "PR")
    else:
        best = "HR"
    response_day = pts[start].day

    candidates: list[tuple[int, str]] = []
    fail = first_failing_run(pts, responding, c.relapse_consecutive_values, start + 1)
    if fail is not None:
        candidates.append((pts[fail].day, "hb"))
    if c.relapse_on_transfusion:
        tx = [t for t in course.transfusion_days if response_day < t <= course.cutoff_day]
        if tx:
            candidates.append((min(tx), "transfusion"))
    if new_therapy is not None and response_day < new_therapy <= course.cutoff_day:
        if c.relapse_on_new_therapy:
            candidates.append((new_therapy, "new_therapy"))
    if candidates:
        relapse_day, reason = min(candidates)
        return ResponseResult(group, True, base, max_hb, best, True, response_day, relapse_day,
                              reason, False, relapse_day - response_day, 1, None, new_therapy)
    if new_therapy is not None and response_day < new_therapy <= course.cutoff_day:
        # New therapy not counted as relapse: censored when it starts.
        return ResponseResult(group, True, base, max_hb, best, True, response_day, None, "",
                              False, new_therapy - response_day, 0, None, new_therapy)
    origin = response_day if c.ongoing_duration_origin == "response" else 0
    return ResponseResult(group, True, base, max_hb, best, True, response_day, None, "", True,
                          course.cutoff_day - response_day, 0, course.cutoff_day - origin,
                          new_therapy)


# ------------------------------------------------------------------ cohort


RESPONSE_COLUMNS = [
    "patient_id", "site", "diagnosis", "analysis_group", "efficacy_set", "first_dose_date",
    "last_followup_date", "baseline_hb", "max_hb", "hb_change", "best_response", "responder",
    "response_date", "relapse_date", "relapse_reason", "ongoing", "duration_days",
    "duration_months", "event", "ongoing_duration_months", "evans", "acrocyanosis",
    "acrocyanosis_response", "n_doses", "last_dose_date", "new_therapy_date",
]


def _by_patient(frame: Any) -> dict[str, Any]:
    """A table split by patient_id once (filtering the whole table per patient grows
    with patients x rows)."""
    return {pid: part for pid, part in frame.groupby("patient_id", sort=False)}


def _course(diagnosis: str, labs: Any, transfusions: Any, treatments: Any,
            cutoff_day: int) -> PatientCourse:
    """A patient's course from the patient's own rows of the cleaned tables."""
    wide = labs.pivot_table(index="day", columns="analyte", values="value", aggfunc="first")
    points = []
    for day, row in wide.iterrows():
        hb = row.get("hb")
        if hb is None or math.isnan(hb):
            continue
        ldh = row.get("ldh")
        bili = row.get("bilirubin")
        points.append(LabPoint(
            day=int(day), hb=float(hb),
            ldh_x_uln=None if ldh is None or math.isnan(ldh) else float(ldh),
            bilirubin_mg_dl=None if bili is None or math.isnan(bili) else float(bili),
        ))
    tx = transfusions["day"]
    trt = treatments[treatments["treatment"] == "aiha_therapy"]
    new = trt[trt["day"] > 0]["day"]
    return PatientCourse(diagnosis, tuple(points), tuple(int(d) for d in tx),
                         tuple(int(d) for d in new), cutoff_day)


def score_cohort(
    patients: Any, labs: Any, transfusions: Any, treatments: Any, cutoff: Any,
    c: ResponseCriteria,
) -> Any:
    """Score every patient of the cleaned tables; one row per patient (RESPONSE_COLUMNS)."""
    import datetime as dt

    import pandas as pd

    rows = []
    parts = [_by_patient(t) for t in (labs, transfusions, treatments)]
    empty = [t.iloc[0:0] for t in (labs, transfusions, treatments)]
    for _, p in patients.sort_values("patient_id").iterrows():
        pid = p["patient_id"]
        my_labs, my_tx, my_trt = (part.get(pid, none) for part, none in zip(parts, empty))
        first = dt.date.fromisoformat(p["first_dose_date"])
        cutoff_day = (cutoff - first).days
        course = _course(p["diagnosis"], my_labs, my_tx, my_trt, cutoff_day)
        try:
            r = score_response(course, c)
        except ValueError as err:
            raise ValueError(f"patient {pid}: {err}") from None

        def iso(day: int | None) -> str:
            return "" if day is None else (first + dt.timedelta(days=int(day))).isoformat()

        doses = my_trt[my_trt["treatment"] == "daratumumab"]
        lab_days = my_labs["day"]
        rows.append({
            "patient_id": pid,
            "site": p["site"],
            "diagnosis": p["diagnosis"],
            "analysis_group": r.analysis_group,
            "efficacy_set": r.efficacy_set,
            "first_dose_date": p["first_dose_date"],
            "last_followup_date": iso(int(lab_days.max())),
            "baseline_hb": r.baseline_hb,
            "max_hb": r.max_hb,
            "hb_change": None if r.max_hb is None else round(r.max_hb - r.baseline_hb, 6),
            "best_response": r.best_response,
            "responder": r.responder,
            "response_date": iso(r.response_day),
            "relapse_date": iso(r.relapse_day),
            "relapse_reason": r.relapse_reason,
            "ongoing": r.ongoing,
            "duration_days": r.duration_days,
            "duration_months": None if r.duration_days is None else months(r.duration_days, c),
            "event": r.event,
            "ongoing_duration_months": (None if r.ongoing_duration_days is None
                                        else months(r.ongoing_duration_days, c)),
            "evans": bool(p["evans"]),
            "acrocyanosis": bool(p["acrocyanosis"]),
            "acrocyanosis_response": p["acrocyanosis_response"],
            "n_doses": int(len(doses)),
            "last_dose_date": str(doses["date"].max()),
            "new_therapy_date": iso(r.new_therapy_day),
        })
    frame = pd.DataFrame(rows, columns=RESPONSE_COLUMNS)
    for col in ("duration_days", "event"):
        frame[col] = frame[col].astype("Int64")
    return frame
