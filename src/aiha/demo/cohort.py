"""The demo cohort specification and each patient's clinical timeline.

The timeline is the ground truth the raw exports are generated from. It is used
only by the demo generators, never by the analysis.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import yaml


@dataclass(frozen=True)
class PatientSpec:
    key: str
    site: str
    record_number: str
    name: str
    sex: str
    birth_date: date
    diagnosis: str
    course: str
    baseline_hb: float
    prior_lines: int
    evans: bool = False
    first_dose: date | None = None
    response_day: int | None = None
    response_hb: float | None = None
    markers: str = "high"
    duration_months: int | None = None
    ongoing: bool = False
    relapse_by: str | None = None
    acrocyanosis: bool = False
    acrocyanosis_response: bool = False
    new_therapy_day: int | None = None
    transfusion_days: tuple[int, ...] = ()
    hb_increase: float | None = None
    cytometry: bool = False
    # Prior AIHA therapy types (aiha.therapies); None: drawn by the generator
    # (aiha.demo.exports.draw_prior_therapies); (): none recorded.
    prior_therapies: tuple[str, ...] | None = None
    # course "explicit": the post-dose Hb values, ((day, hb g/dL), ...), exactly as given.
    labs: tuple[tuple[int, float], ...] = ()


@dataclass(frozen=True)
class CohortSpec:
    seed: int
    data_cutoff: date
    first_dose_default: date
    visit_schedule_days: tuple[int, ...]
    baseline_days: tuple[int, ...]
    patients: tuple[PatientSpec, ...]
    adverse_events: tuple[dict[str, Any], ...]
    cytometry_patients: tuple[str, ...] = field(default_factory=tuple)

    def patient(self, key: str) -> PatientSpec:
        for p in self.patients:
            if p.key == key:
                return p
        raise KeyError(f"no patient {key!r} in the cohort specification")


@dataclass(frozen=True)
class Timeline:
    """Key dates of one demo patient (ground truth)."""

    key: str
    site: str
    record_number: str
    first_dose: date
    response_date: date | None
    relapse_date: date | None
    duration_days: int | None


def _as_date(value: Any) -> date:
    return value if isinstance(value, date) else date.fromisoformat(str(value))


def replicate(raw: dict[str, Any], multiplier: int) -> dict[str, Any]:
    """The specification with every patient (and its adverse events and cytometry)
    repeated ``multiplier`` times, copies keyed ``<key>r<k>`` with their own record
    numbers and names: N = 20 x multiplier patients of the same kinds (for scale-up benchmarks)."""
    if multiplier < 1:
        raise ValueError(f"demo multiplier must be >= 1, got {multiplier}")
    if multiplier == 1:
        return raw
    out = dict(raw)
    out["patients"], out["adverse_events"] = [], []
    cyto = list(raw.get("cytometry", {}).get("patients", ()))
    out["cytometry"] = {**raw.get("cytometry", {}), "patients": []}
    for k in range(multiplier):
        suffix = "" if k == 0 else f"r{k}"
        for entry in raw["patients"]:
            e = dict(entry)
            e["key"] = entry["key"] + suffix
            if k:
                e["record_number"] = f"{entry['record_number']}-{k:04d}"
                # a copy is another person: one name and date of birth is one patient
                e["name"] = f"{entry['name']}-{k:04d}"
            out["patients"].append(e)
        for ae in raw.get("adverse_events", ()):
            out["adverse_events"].append({**ae, "patient": ae["patient"] + suffix})
        out["cytometry"]["patients"] += [key + suffix for key in cyto]
    return out


def load_spec(path: str | Path, multiplier: int = 1) -> CohortSpec:
    """Read the cohort specification YAML (optionally replicated, see :func:`replicate`)."""
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml when available
    raw = replicate(yaml.load(Path(path).read_text(encoding="utf-8"), Loader=loader), multiplier)
    patients = []
    for entry in raw["patients"]:
        e = dict(entry)
        e["birth_date"] = _as_date(e["birth_date"])
        if "first_dose" in e:
            e["first_dose"] = _as_date(e["first_dose"])
        e["transfusion_days"] = tuple(e.get("transfusion_days", ()))
        e["labs"] = tuple((int(d), float(h)) for d, h in e.get("labs", ()))
        if e.get("prior_therapies") is not None:
            e["prior_therapies"] = tuple(str(t) for t in e["prior_therapies"])
        patients.append(PatientSpec(**e))
    cyto = tuple(raw.get("cytometry", {}).get("patients", ()))
    return CohortSpec(
        seed=int(raw["seed"]),
        data_cutoff=_as_date(raw["data_cutoff"]),
        first_dose_default=_as_date(raw["first_dose_default"]),
        visit_schedule_days=tuple(raw["visit_schedule_days"]),
        baseline_days=tuple(raw["baseline_days"]),
        patients=tuple(patients),
        adverse_events=tuple(raw.get("adverse_events", ())),
        cytometry_patients=cyto,
    )


def duration_days(months: int, days_per_month: float = 30.4375) -> int:
    """Whole days for a duration of whole months."""
    return int(round(months * days_per_month))


def timeline(spec: CohortSpec, key: str) -> Timeline:
    """First dose, response and relapse dates of one patient."""
    p = spec.patient(key)
    response_date: date | None = None
    relapse_date: date | None = None
    dur: int | None = None
    if p.course == "responder":
        assert p.response_day is not None and p.duration_months is not None
        dur = duration_days(p.duration_months)
        if p.ongoing:
            response_date = spec.data_cutoff - timedelta(days=dur)
            first = response_date - timedelta(days=p.response_day)
        else:
            first = p.first_dose or spec.first_dose_default
            response_date = first + timedelta(days=p.response_day)
            relapse_date = response_date + timedelta(days=dur)
    else:
        first = p.first_dose or spec.first_dose_default
    return Timeline(
        key=p.key,
        site=p.site,
        record_number=p.record_number,
        first_dose=first,
        response_date=response_date,
        relapse_date=relapse_date,
        duration_days=dur,
    )
