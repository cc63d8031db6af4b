"""A drug of the study regimen (treatment category ``study_regimen``) does not end
the evaluable period; a new AIHA therapy does, and a site profile may only map
its codes to the documented categories."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pandas as pd
import pytest
import yaml

from aiha.cleaning import load_site_profiles
from aiha.errors import InputError
from aiha.response import ResponseCriteria, score_cohort

ROOT = Path(__file__).resolve().parents[1]
C = ResponseCriteria.from_config(yaml.safe_load((ROOT / "config.yaml").read_text())["response"])


def _score(partner: str) -> dict:
    """One wAIHA patient: baseline 7.0, Hb 11.0 from day 14 on (a PR by the level,
    confirmed two weeks later); a partner drug given weekly from day 1 to day 22."""
    patients = pd.DataFrame([{"patient_id": "P1", "site": "AMS", "diagnosis": "wAIHA",
                              "first_dose_date": "2023-01-01", "evans": False,
                              "acrocyanosis": False, "acrocyanosis_response": ""}])
    hb = [(-3, 7.0), (14, 11.0), (28, 11.1), (42, 11.2)]
    labs = pd.DataFrame([{"patient_id": "P1", "day": d, "analyte": "hb", "value": v}
                         for d, v in hb])
    tx = pd.DataFrame(columns=["patient_id", "day", "date"])
    trt = pd.DataFrame(
        [{"patient_id": "P1", "day": d, "date": "", "treatment": "daratumumab"}
         for d in (0, 7, 14, 21)]
        + [{"patient_id": "P1", "day": d, "date": "", "treatment": partner}
           for d in (1, 8, 15, 22)])
    return score_cohort(patients, labs, tx, trt, dt.date(2023, 6, 30), C).iloc[0].to_dict()


def test_a_regimen_partner_does_not_end_the_evaluable_period():
    r = _score("study_regimen")
    assert (r["best_response"], r["response_date"]) == ("PR", "2023-01-15")
    assert r["new_therapy_date"] == ""


def test_the_same_drug_as_a_new_aiha_therapy_makes_a_nonresponder():
    # Evaluable values end the day before the first administration (day 1): none left.
    r = _score("aiha_therapy")
    assert (r["best_response"], r["responder"]) == ("NR", False)
    assert r["new_therapy_date"] == "2023-01-02"


def test_a_profile_mapping_to_an_unknown_category_is_refused(tmp_path):
    profiles = yaml.safe_load((ROOT / "resources" / "sites.yaml").read_text())
    site = next(iter(profiles["sites"]))
    profiles["sites"][site]["codes"]["treatment"]["BORTEZOMIB"] = "partner"
    path = tmp_path / "sites.yaml"
    path.write_text(yaml.safe_dump(profiles))
    with pytest.raises(InputError, match=r"key codes\.treatment\.BORTEZOMIB: value 'partner' is not one of"):
        load_site_profiles(path)
