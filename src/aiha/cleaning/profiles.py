"""Site export profiles and the cleaning limits of the config."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from aiha.errors import InputError
from aiha.therapies import PRIOR_THERAPY_TYPES

# Hard limits of values that are not lab values, used when a site's older config
# lacks them (config.yaml states the values in force).
DEFAULT_HARD = {"dose_mg": (0.0, 5000.0), "transfusion_units": (1.0, 20.0)}


@dataclass(frozen=True)
class SiteProfile:
    """How one site exports: delimiter, decimal mark, dates, codes, LDH ULN."""

    code: str
    name: str
    country: str
    delimiter: str
    decimal: str
    encoding: str
    date_format: str
    ldh_uln_u_l: float
    codes: dict[str, dict[str, Any]]


# Treatment categories (docs/data_dictionary.md): the study drug; a drug given as
# part of the daratumumab regimen (does not end the evaluable period); a new AIHA
# therapy (ends it); supportive care.
TREATMENT_CATEGORIES = ("daratumumab", "study_regimen", "aiha_therapy", "supportive")


def load_site_profiles(path: str | Path) -> dict[str, SiteProfile]:
    """Read resources/sites.yaml."""
    raw = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    if not isinstance(raw, dict) or not isinstance(raw.get("sites"), dict):
        raise InputError(str(path), "expected a mapping with a 'sites' key")
    profiles = {}
    for code, p in raw["sites"].items():
        try:
            profiles[code] = SiteProfile(
                code=code,
                name=str(p["name"]),
                country=str(p["country"]),
                delimiter=str(p["delimiter"]),
                decimal=str(p["decimal"]),
                encoding=str(p["encoding"]),
                date_format=str(p["date_format"]),
                ldh_uln_u_l=float(p["ldh_uln_u_l"]),
                codes={
                    kind: {str(k).strip().upper(): v for k, v in m.items()}
                    for kind, m in p["codes"].items()
                },
            )
        except KeyError as err:
            raise InputError(str(path), f"site {code}: missing key {err}") from None
        unknown = sorted({str(v) for v in profiles[code].codes.get("treatment", {}).values()}
                         - set(TREATMENT_CATEGORIES))
        if unknown:
            raise InputError(str(path), f"site {code}: treatment codes map to {unknown}; "
                             f"the categories are {', '.join(TREATMENT_CATEGORIES)}",
                             column="codes.treatment")
        # Optional: only a site whose patients.csv has a prior_therapies column needs it.
        unknown = sorted({str(v) for v in profiles[code].codes.get("prior_therapy", {}).values()}
                         - set(PRIOR_THERAPY_TYPES))
        if unknown:
            raise InputError(str(path), f"site {code}: prior therapy codes map to {unknown}; "
                             f"the types are {', '.join(PRIOR_THERAPY_TYPES)}",
                             column="codes.prior_therapy")
    return profiles


@dataclass(frozen=True)
class CleaningLimits:
    """``cleaning`` of the config: hard limits stop the run, suspicious ones flag."""

    hard: dict[str, tuple[float, float]]
    suspicious: dict[str, tuple[float, float]]
    age_years: tuple[float, float]

    @classmethod
    def from_config(cls, cfg: dict[str, Any]) -> "CleaningLimits":
        hard = {**DEFAULT_HARD,
                **{k: (float(v[0]), float(v[1])) for k, v in cfg["hard_limits"].items()}}
        return cls(
            hard=hard,
            suspicious={k: (float(v[0]), float(v[1])) for k, v in cfg["suspicious_limits"].items()},
            age_years=(float(cfg["age_years"][0]), float(cfg["age_years"][1])),
        )
