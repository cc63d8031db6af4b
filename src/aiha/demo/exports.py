"""Write the demo cohort as per-site raw exports (docs/data_dictionary.md).

Each site writes its own units, date format, codes, delimiter and decimal mark,
the way real multi-site exports arrive. Deterministic for a given specification.
"""

from __future__ import annotations

import csv
import hashlib
import io
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import numpy as np

from aiha import therapies, units
from aiha.demo.cohort import CohortSpec, PatientSpec, Timeline, timeline

RAW_COLUMNS: dict[str, list[str]] = {
    "patients": [
        "record_number", "name", "birth_date", "sex", "diagnosis", "evans",
        "acrocyanosis", "acrocyanosis_response", "prior_lines", "prior_therapies", "comment",
    ],
    "labs": ["record_number", "sample_date", "analyte", "value", "unit", "comment"],
    "transfusions": ["record_number", "transfusion_date", "units", "product"],
    "treatments": ["record_number", "administration_date", "treatment", "dose_mg", "route"],
    "adverse_events": [
        "record_number", "ae_number", "onset_date", "term", "ctcae_grade", "serious",
        "description",
    ],
}

# Units each country's laboratories report in.
COUNTRY_UNITS = {
    "NL": {"hb": ("mmol/L", 1), "bilirubin": ("µmol/L", 0), "ldh": ("U/L", 0)},
    "UK": {"hb": ("g/L", 0), "bilirubin": ("umol/L", 0), "ldh": ("U/L", 0)},
    "IT": {"hb": ("g/dl", 1), "bilirubin": ("mg/dl", 2), "ldh": ("U/L", 0)},
    "FR": {"hb": ("g/dL", 1), "bilirubin": ("µmol/L", 0), "ldh": ("UI/L", 0)},
    "AT": {"hb": ("g/dL", 1), "bilirubin": ("mg/dL", 2), "ldh": ("U/L", 0)},
}

# Prior therapies are drawn from a random stream of their own ([seed, patient index,
# PRIOR_THERAPY_STREAM]), so every other demo value (drawn from [seed, patient index])
# is the same with or without them.
PRIOR_THERAPY_STREAM = 14
# Therapy types beyond corticosteroids and rituximab, with their weights, by diagnosis.
EXTRA_PRIOR_THERAPIES = {
    "wAIHA": {"immunosuppressant": 0.35, "splenectomy": 0.15, "ivig": 0.15,
              "erythropoietin": 0.1, "bortezomib": 0.1, "other": 0.15},
    "cAIHA": {"bortezomib": 0.3, "complement_inhibitor": 0.25, "immunosuppressant": 0.2,
              "erythropoietin": 0.1, "other": 0.15},
}

PANAGGLUTINATION = (
    "Antibody screen pan-reactive since daratumumab (anti-CD38 interference); "
    "DTT-treated panel cells used for crossmatch"
)


def draw_prior_therapies(p: PatientSpec, rng: np.random.Generator) -> tuple[str, ...]:
    """Prior therapy types of a refractory patient (the specification's, if it states
    them): corticosteroids always, rituximab in about 9 of 10, and one further type
    for each prior line not accounted for by those, drawn by diagnosis."""
    if p.prior_therapies is not None:
        return p.prior_therapies
    types = ["corticosteroids"] + (["rituximab"] if rng.random() < 0.9 else [])
    pool = EXTRA_PRIOR_THERAPIES[p.diagnosis]
    k = min(len(pool), max(0, p.prior_lines - len(types)))
    weights = np.array(list(pool.values()))
    types += [str(t) for t in rng.choice(list(pool), size=k, replace=False,
                                         p=weights / weights.sum())]
    return tuple(t for t in therapies.PRIOR_THERAPY_TYPES if t in types)


def _columns(profile: dict[str, Any], table: str) -> list[str]:
    """A site without ``codes.prior_therapy`` in its profile exports no prior_therapies."""
    if table == "patients" and "prior_therapy" not in profile["codes"]:
        return [c for c in RAW_COLUMNS[table] if c != "prior_therapies"]
    return RAW_COLUMNS[table]


def _code(profile: dict[str, Any], kind: str, canonical: Any) -> str:
    """The site's first code for a canonical value."""
    for code, value in profile["codes"][kind].items():
        if value == canonical:
            return str(code)
    raise KeyError(f"site has no {kind} code for {canonical!r}")


@dataclass
class _Site:
    code: str
    profile: dict[str, Any]
    rows: dict[str, list[list[str]]]

    def fmt_date(self, d: date) -> str:
        return d.strftime(self.profile["date_format"])

    def fmt_num(self, x: float, decimals: int) -> str:
        text = f"{x:.{decimals}f}"
        return text.replace(".", self.profile["decimal"])


def _lab_days(spec: CohortSpec, p: PatientSpec, t: Timeline) -> list[int]:
    end = (spec.data_cutoff - t.first_dose).days
    if p.course == "explicit":
        return sorted(x for x in set(spec.baseline_days) | {d for d, _ in p.labs} if x <= end)
    days = set(spec.baseline_days) | set(spec.visit_schedule_days)
    d = max(spec.visit_schedule_days)
    while d + 28 <= end:
        d += 28
        days.add(d)
    if t.response_date is not None:
        r = (t.response_date - t.first_dose).days
        days.update({r, r + 7})
        if t.relapse_date is not None:
            q = (t.relapse_date - t.first_dose).days
            days.update({q, q + 7, q + 21})
            # No other lab in the week before the relapse visit.
            days = {x for x in days if not (q - 7 < x < q)}
        # Response visit: no other lab within the confirmation week.
        days = {x for x in days if not (r < x < r + 7)}
        if p.ongoing:
            days.add(end - 5)
    return sorted(x for x in days if x <= end)


def _hb(
    p: PatientSpec, t: Timeline, day: int, baseline_day: int, rng: np.random.Generator
) -> float:
    """Ground-truth Hb (g/dL) on ``day``, kept clear of every threshold."""
    base = p.baseline_hb
    if day <= 0:
        return base if day == baseline_day else base + rng.uniform(-0.3, 0.2)
    if p.course == "explicit":
        return dict(p.labs)[day]
    if p.course == "nonanemic":
        return base + (p.hb_increase or 0.0) + rng.uniform(-0.15, 0.15)
    if p.course == "nonresponder":
        return base + rng.uniform(-0.5, 1.0)
    assert t.response_date is not None and p.response_hb is not None
    r = (t.response_date - t.first_dose).days
    if day < r:
        return base + 1.2 * day / r + rng.uniform(-0.2, 0.0)
    q = (t.relapse_date - t.first_dose).days if t.relapse_date else None
    if q is None or day < q:
        return p.response_hb + rng.uniform(-0.25, 0.25)
    return base + 0.6 + rng.uniform(-0.2, 0.2)


def _markers(
    p: PatientSpec, t: Timeline, day: int, rng: np.random.Generator
) -> tuple[float, float]:
    """Ground-truth (LDH x ULN, bilirubin mg/dL) on ``day``."""
    warm = p.diagnosis == "wAIHA"
    ldh0, bili0 = (2.6, 3.0) if warm else (1.9, 2.4)
    if p.course == "nonanemic":
        ldh0, bili0 = 1.3, 1.6
    responding = (
        p.course == "responder"
        and t.response_date is not None
        and day >= (t.response_date - t.first_dose).days
        and (t.relapse_date is None or day < (t.relapse_date - t.first_dose).days)
    )
    if responding and p.markers == "normal":
        return 0.75 + rng.uniform(-0.05, 0.05), 0.7 + rng.uniform(-0.1, 0.1)
    if responding:
        return 1.6 + rng.uniform(-0.1, 0.1), 2.0 + rng.uniform(-0.2, 0.2)
    return ldh0 + rng.uniform(-0.3, 0.3), bili0 + rng.uniform(-0.4, 0.4)


def _dara_days(p: PatientSpec) -> list[int]:
    weekly = [0, 7, 14, 21]
    if p.course == "responder" and (p.ongoing or p.diagnosis == "cAIHA"):
        return weekly + [35, 49, 63, 77]
    return weekly


def build_site_exports(spec: CohortSpec, profiles: dict[str, Any]) -> dict[str, dict[str, str]]:
    """Render every site's raw tables as text: {site: {table: csv_text}}."""
    sites: dict[str, _Site] = {}
    for p in spec.patients:
        if p.site not in sites:
            sites[p.site] = _Site(p.site, profiles[p.site], {k: [] for k in RAW_COLUMNS})
    for index, p in enumerate(spec.patients):
        rng = np.random.default_rng([spec.seed, index])
        prior = draw_prior_therapies(
            p, np.random.default_rng([spec.seed, index, PRIOR_THERAPY_STREAM]))
        s = sites[p.site]
        t = timeline(spec, p.key)
        _patient_rows(s, spec, p, t, rng, prior)
    out: dict[str, dict[str, str]] = {}
    for code, s in sorted(sites.items()):
        _site_quirks(s, spec)
        out[code] = {
            table: _to_csv(_columns(s.profile, table), rows, s.profile["delimiter"])
            for table, rows in s.rows.items()
        }
    return out


def _yes_no(s: _Site, value: bool | None) -> str:
    return "" if value is None else _code(s.profile, "yes_no", value)


def _prior_cell(s: _Site, types: tuple[str, ...]) -> list[str]:
    """The prior_therapies cell (none for a site that does not export it). Créteil
    writes its codes in lower case with spaces around the separator."""
    if "prior_therapy" not in s.profile["codes"]:
        return []
    codes = [_code(s.profile, "prior_therapy", t) for t in types]
    if s.code == "CRE":
        return [f" {therapies.SEPARATOR} ".join(c.lower() for c in codes)]
    return [therapies.SEPARATOR.join(codes)]


def _patient_rows(
    s: _Site, spec: CohortSpec, p: PatientSpec, t: Timeline, rng: np.random.Generator,
    prior: tuple[str, ...] = (),
) -> None:
    cold = p.diagnosis == "cAIHA"
    comment = ""
    if p.key == "W03":
        comment = f"Ms {p.name.split()[-1]} consented to prospective research samples"
    elif p.key == "C08":
        comment = "Treated for severe acrocyanosis; not anemic at start"
    elif p.key == "W07":
        comment = "Evans syndrome; platelets 31 x10^9/L at start"
    s.rows["patients"].append([
        p.record_number,
        p.name,
        s.fmt_date(p.birth_date),
        _code(s.profile, "sex", p.sex),
        _code(s.profile, "diagnosis", p.diagnosis),
        _yes_no(s, p.evans),
        _yes_no(s, p.acrocyanosis if cold else False),
        _yes_no(s, p.acrocyanosis_response if (cold and p.acrocyanosis) else None),
        str(p.prior_lines),
        *_prior_cell(s, prior),
        comment,
    ])
    country = s.profile["country"]
    ulns = s.profile["ldh_uln_u_l"]
    unit_hb, dec_hb = COUNTRY_UNITS[country]["hb"]
    unit_bili, dec_bili = COUNTRY_UNITS[country]["bilirubin"]
    unit_ldh, _ = COUNTRY_UNITS[country]["ldh"]
    for day in _lab_days(spec, p, t):
        when = s.fmt_date(t.first_dose + timedelta(days=day))
        hb = _hb(p, t, day, max(spec.baseline_days), rng)
        ldh, bili = _markers(p, t, day, rng)
        if p.key == "W02" and t.relapse_date and day == (t.relapse_date - t.first_dose).days:
            hb = p.baseline_hb + 0.5  # the day it is transfused
        if p.key == "W12" and day == 42:
            hb = 10.6  # 6 days after a transfusion: not evaluable
        if p.key == "W10" and day == spec.baseline_days[0]:
            hb = 4.8  # suspicious but plausible
        if p.key == "W09" and day == 56:
            ldh = 6.4  # suspicious but plausible
        comment = PANAGGLUTINATION if (p.diagnosis == "wAIHA" and day == 7) else ""
        s.rows["labs"].append([
            p.record_number, when, _code(s.profile, "analyte", "hb"),
            s.fmt_num(units.hb_from_g_dl(hb, unit_hb), dec_hb), unit_hb, comment,
        ])
        s.rows["labs"].append([
            p.record_number, when, _code(s.profile, "analyte", "ldh"),
            s.fmt_num(ldh * ulns, 0), unit_ldh, "",
        ])
        s.rows["labs"].append([
            p.record_number, when, _code(s.profile, "analyte", "bilirubin"),
            s.fmt_num(units.bilirubin_from_mg_dl(bili, unit_bili), dec_bili), unit_bili, "",
        ])
    # Transfusions: refractory patients are transfused before daratumumab.
    tx_days = [-40, -20] if p.baseline_hb < 8.0 else []
    tx_days += list(p.transfusion_days)
    if p.relapse_by == "transfusion" and t.relapse_date is not None:
        tx_days.append((t.relapse_date - t.first_dose).days)
    for day in tx_days:
        s.rows["transfusions"].append([
            p.record_number, s.fmt_date(t.first_dose + timedelta(days=day)), "2", "RBC",
        ])
    dara = _code(s.profile, "treatment", "daratumumab")
    for day in _dara_days(p):
        s.rows["treatments"].append([
            p.record_number, s.fmt_date(t.first_dose + timedelta(days=day)), dara, "1800", "SC",
        ])
    s.rows["treatments"].append([
        p.record_number, s.fmt_date(t.first_dose - timedelta(days=30)),
        _code(s.profile, "treatment", "supportive"), "5", "PO",
    ])
    new_day = p.new_therapy_day
    if p.relapse_by == "new_therapy" and t.relapse_date is not None:
        new_day = (t.relapse_date - t.first_dose).days
    if new_day is not None:
        s.rows["treatments"].append([
            p.record_number, s.fmt_date(t.first_dose + timedelta(days=new_day)),
            _code(s.profile, "treatment", "aiha_therapy"), "1000", "IV",
        ])
    for ae in spec.adverse_events:
        if ae["patient"] != p.key:
            continue
        onset = s.fmt_date(t.first_dose + timedelta(days=int(ae["day"])))
        for grade in ae["grades"]:
            s.rows["adverse_events"].append([
                p.record_number, str(ae["number"]), onset, ae["term"], str(grade),
                _yes_no(s, bool(ae["serious"])), ae["description"],
            ])


def _site_quirks(s: _Site, spec: CohortSpec) -> None:
    """What real exports carry: duplicated rows."""
    labs = s.rows["labs"]
    if s.code == "MIL" and len(labs) > 12:
        labs.insert(10, list(labs[9]))
        labs.append(list(labs[3]))
    if s.code == "LON":
        s.rows["patients"].append(list(s.rows["patients"][0]))


def _to_csv(header: list[str], rows: list[list[str]], delimiter: str) -> str:
    buf = io.StringIO()
    writer = csv.writer(buf, delimiter=delimiter, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    return buf.getvalue()


def write_exports(
    exports: dict[str, dict[str, str]], raw_dir: Path, encoding_of: dict[str, str]
) -> list[Path]:
    """Write exports under raw_dir/<site>/<table>.csv; return the paths written."""
    written = []
    for site, tables in exports.items():
        (raw_dir / site).mkdir(parents=True, exist_ok=True)
        for table, text in tables.items():
            path = raw_dir / site / f"{table}.csv"
            path.write_bytes(text.encode(encoding_of[site]))
            written.append(path)
    return written


def manifest(paths: list[Path], root: Path) -> str:
    """SHA-256 manifest text (`sha256  relative/path`), sorted by path."""
    lines = []
    for path in sorted(paths, key=lambda q: q.relative_to(root).as_posix()):
        digest = hashlib.sha256(path.read_bytes()).hexdigest()
        lines.append(f"{digest}  {path.relative_to(root).as_posix()}")
    return "\n".join(lines) + "\n"
