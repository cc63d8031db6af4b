"""Small cohorts of any shape for workflow tests.

A cohort is a demo specification (the format of ``resources/demo/cohort.yaml``)
written by the test; the demo generator turns it into per-site raw exports. A test
can run the workflow on it with ``generate_demo: true``, or first generate the
exports and then run as a site would, with ``generate_demo: false``.

Every patient's course is stated in the specification (responder or not, response
day, duration, relapse, ongoing), so a test writes its expected numbers down from
the specification, by hand.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from conftest import copy_project

SITES = ("AMS", "RTM", "NMG", "GRO", "LON", "LDS", "MIL", "CRE", "VIE")


def patient(key: str, diagnosis: str = "wAIHA", course: str = "nonresponder", **kw: Any) -> dict:
    """One patient of a specification with fictional identifiers and plain defaults:
    baseline Hb 7.5 (wAIHA) or 8.6 (cAIHA), first dose 2022-03-07 unless given."""
    n = sum(ord(ch) for ch in key)
    entry: dict[str, Any] = {
        "key": key,
        "site": kw.pop("site", "AMS"),
        "record_number": kw.pop("record_number", f"TST-{4000000 + 7919 * n:07d}"),
        "name": kw.pop("name", f"Testpatient {key}"),
        "sex": kw.pop("sex", "female" if n % 2 else "male"),
        "birth_date": kw.pop("birth_date", "1960-05-17"),
        "diagnosis": diagnosis,
        "prior_lines": kw.pop("prior_lines", 2),
        "baseline_hb": kw.pop("baseline_hb", 7.5 if diagnosis == "wAIHA" else 8.6),
        "course": course,
    }
    if course == "responder":
        entry.update(response_day=28, response_hb=11.0, markers="high", duration_months=3,
                     relapse_by="hb")
    entry.update(kw)
    if entry.get("ongoing"):
        entry.pop("relapse_by", None)
    return entry


def write_spec(path: Path, patients: list[dict], adverse_events: list[dict] = (),
               cytometry: list[str] = (), data_cutoff: str = "2023-06-30") -> Path:
    spec = {
        "seed": 20240611,
        "data_cutoff": data_cutoff,
        "first_dose_default": "2022-03-07",
        "visit_schedule_days": [7, 14, 21, 28, 35, 42, 56, 70, 84],
        "baseline_days": [-56, -28, -3],
        "patients": patients,
        "adverse_events": list(adverse_events),
    }
    if cytometry:
        spec["cytometry"] = {"patients": list(cytometry)}
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(spec, sort_keys=False), encoding="utf-8")
    return path


def cohort_project(dest: Path, patients: list[dict], adverse_events: list[dict] = (),
                   cytometry: list[str] = (), claims: str | None = None,
                   **config_changes: Any) -> Path:
    """A copy of the project whose config generates this cohort. ``claims``: the
    audit claims file (None: no audit). ``config_changes``: ``section__key=value``."""
    work = copy_project(dest)
    write_spec(work / "resources" / "demo" / "test_cohort.yaml", patients, adverse_events,
               cytometry)
    cfg = yaml.safe_load((work / "config.yaml").read_text(encoding="utf-8"))
    cfg["data"]["demo_spec"] = "resources/demo/test_cohort.yaml"
    cfg["audit"]["claims"] = claims
    for key, value in config_changes.items():
        section, name = key.split("__", 1)
        cfg[section][name] = value
    write_config(work, cfg)
    return work


def read_config(work: Path) -> dict:
    return yaml.safe_load((work / "config.yaml").read_text(encoding="utf-8"))


def write_config(work: Path, cfg: dict) -> None:
    (work / "config.yaml").write_text(yaml.safe_dump(cfg, sort_keys=False), encoding="utf-8")
