"""aiha.clinical_content on a hand-built cohort of three patients (expected values
counted by hand from the rows below)."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from aiha.clinical_content import clinical_content, parse_windows


def _cohort() -> dict[str, pd.DataFrame]:
    responses = pd.DataFrame({
        "patient_id": ["PT-A", "PT-B", "PT-C"],
        "analysis_group": ["wAIHA", "wAIHA", "cAIHA"],
        "first_dose_date": ["2022-01-01"] * 3,
        "last_followup_date": ["2022-12-31", "2022-02-10", "2022-06-30"],  # days 364, 40, 180
        "response_date": ["2022-01-29", "", "2022-02-26"],  # days 28, -, 56
        "responder": ["True", "False", "True"],
    })
    patients = pd.DataFrame({"patient_id": ["PT-A", "PT-B", "PT-C"],
                             "evans": ["True", "False", "False"],
                             "acrocyanosis": ["False", "False", "True"]})
    labs = pd.DataFrame({
        "patient_id": ["PT-A", "PT-A", "PT-B", "PT-C", "PT-C"],
        "day": [-10, -2, -1, 0, 5],
        "analyte": ["bilirubin"] * 5,
        "value": [9.0, 2.0, 3.0, 4.0, 99.0],  # baselines 2, 3, 4 (last on/before day 0)
    })
    transfusions = pd.DataFrame({
        "patient_id": ["PT-A", "PT-A", "PT-B", "PT-C", "PT-B"],
        "day": [-30, -5, -20, 10, 50],  # PT-B day 50: after its last follow-up day 40
        "units": [2, 1, 3, 2, 1],
    })
    treatments = pd.DataFrame({
        "patient_id": ["PT-A"] * 4 + ["PT-B"] * 2 + ["PT-C"] * 2,
        "day": [0, 7, 14, 28, 0, 7, 0, 30],
        "treatment": ["daratumumab"] * 4 + ["daratumumab", "daratumumab"] + ["daratumumab",
                                                                             "aiha_therapy"],
        "drug": ["daratumumab"] * 7 + ["rituximab"],
        "dose_mg": [1800] * 7 + [375],
    })
    aes = pd.DataFrame({
        "patient_id": ["PT-A", "PT-A", "PT-C"],
        "term": ["Infection", "Infection", "Infection"],
        "grade": [1, 3, 2],
        "serious": ["False", "True", "False"],
    })
    return dict(patients=patients, responses=responses, labs=labs, transfusions=transfusions,
                treatments=treatments, adverse_events=aes)


def _ard(**cfg) -> dict[tuple[str, str, str], float]:
    stats = clinical_content(**_cohort(), cfg={"transfusion_windows_days": [[-84, -1], [0, 83],
                                                                          [84, 167]], **cfg})
    return {(s.stat_id, s.group, s.statistic): float(s.value) for s in stats}


def test_baseline_and_exposure() -> None:
    a = _ard()
    assert a[("baseline_bilirubin", "all", "median")] == 3.0
    assert a[("baseline_bilirubin", "wAIHA", "max")] == 3.0
    assert a[("baseline_evans", "wAIHA", "n")] == 1
    assert a[("baseline_evans", "wAIHA", "proportion")] == 0.5
    assert a[("exposure_doses", "wAIHA", "median")] == 3.0  # 4 and 2 doses
    assert a[("exposure_interval_days", "wAIHA", "max")] == 14.0
    assert a[("exposure_span_days", "all", "max")] == 28.0
    assert a[("later_therapy", "cAIHA", "n")] == 1
    assert a[("later_therapy_drug", "wAIHA", "rituximab: n")] == 0  # 0 row, not absent


def test_transfusion_windows() -> None:
    a = _ard()
    # Before: PT-A 3 units, PT-B 3 units: 2 of 3 transfused, 6 units.
    assert a[("transfusion_w1", "all", "numerator")] == 2
    assert a[("transfusion_w1", "all", "units")] == 6
    assert a[("transfusion_w1", "all", "units_median")] == 3
    # Days 0-83: PT-C 2 units; PT-B's day-50 unit is after its follow-up ended (day 40)
    # but B is followed from day 0, so it counts.
    assert a[("transfusion_w2", "all", "numerator")] == 2
    assert a[("transfusion_w2", "all", "units")] == 3
    # Days 84-167: only PT-A and PT-C followed to day 84.
    assert a[("transfusion_w3", "all", "denominator")] == 2
    assert a[("transfusion_w3", "all", "numerator")] == 0


def test_time_to_response_and_ae() -> None:
    a = _ard()
    assert a[("time_to_response", "all", "n")] == 2
    assert a[("time_to_response", "all", "median")] == 42.0
    assert ("time_to_response", "wAIHA", "min") in a and a[("time_to_response", "wAIHA", "min")] == 28
    # Worst grade per patient: PT-A grade 3, PT-C grade 2.
    assert a[("ae_term", "all", "Infection: any grade n")] == 2
    assert a[("ae_term", "all", "Infection: grade 3 n")] == 1
    assert a[("ae_term", "wAIHA", "Infection: grade 2 n")] == 0
    assert a[("ae_term", "wAIHA", "Infection: serious n")] == 1
    assert a[("ae_term", "cAIHA", "Infection: any grade proportion")] == 1.0
    assert ("ae_term", "all", "Infection: grade 1 n") not in a  # no patient's worst grade


def test_empty_group_gives_zero_counts_and_no_summary() -> None:
    a = _ard()
    assert a[("baseline_evans", "cAIHA_nonanemic", "n")] == 0
    assert math.isnan(a[("baseline_evans", "cAIHA_nonanemic", "proportion")])
    assert ("exposure_doses", "cAIHA_nonanemic", "median") not in a
    assert a[("transfusion_w1", "cAIHA_nonanemic", "denominator")] == 0


def test_window_end_before_start_is_refused() -> None:
    with pytest.raises(ValueError):
        parse_windows([[5, 1]])


# --------------------------------------------------------------- prior therapies


def _with_prior(tmp_path, recorded: dict[str, list[str] | None]) -> dict[tuple[str, str, str], float]:
    """The cohort above with prior therapies (patient -> types; [] an empty list, None a
    site without the column), through patients.tsv as the workflow writes and reads it."""
    from aiha.ard import read_tsv, write_tsv
    from aiha.therapies import PRIOR_THERAPY_TYPES, RECORDED_COLUMN, column

    frames = _cohort()
    patients = frames["patients"]
    patients[RECORDED_COLUMN] = [recorded[p] is not None for p in patients["patient_id"]]
    for t in PRIOR_THERAPY_TYPES:
        patients[column(t)] = pd.array([None if recorded[p] is None else t in recorded[p]
                                        for p in patients["patient_id"]], dtype="boolean")
    write_tsv(patients, tmp_path / "patients.tsv")
    frames["patients"] = read_tsv(tmp_path / "patients.tsv")
    stats = clinical_content(**frames, cfg={"transfusion_windows_days": [[0, 83]]})
    return {(s.stat_id, s.group, s.statistic): float(s.value) for s in stats}


def test_prior_therapies_by_type_counted_by_hand(tmp_path) -> None:
    # PT-A (wAIHA): corticosteroids and rituximab; PT-B (wAIHA): an empty list;
    # PT-C (cAIHA): its site does not export the column.
    a = _with_prior(tmp_path, {"PT-A": ["corticosteroids", "rituximab"], "PT-B": [],
                               "PT-C": None})
    p = "baseline_prior_therapy"
    # Denominator: patients whose site records the list (PT-B counts, PT-C does not).
    assert a[(p, "all", "denominator")] == 2
    assert a[(p, "wAIHA", "denominator")] == 2
    assert a[(p, "cAIHA", "denominator")] == 0
    assert a[(p, "all", "corticosteroids: n")] == 1
    assert a[(p, "all", "corticosteroids: proportion")] == 0.5
    assert a[(p, "wAIHA", "rituximab: n")] == 1
    assert a[(p, "wAIHA", "rituximab: proportion")] == 0.5
    assert a[(p, "all", "none: n")] == 1  # PT-B
    assert a[(p, "cAIHA", "rituximab: n")] == 0  # a 0 row in every group, not absent
    assert math.isnan(a[(p, "cAIHA", "rituximab: proportion")])
    # Only types some treated patient had get rows.
    assert (p, "all", "ivig: n") not in a
    assert (p, "all", "splenectomy: proportion") not in a


def test_prior_therapies_of_every_patient(tmp_path) -> None:
    a = _with_prior(tmp_path, {"PT-A": ["corticosteroids", "ivig"],
                               "PT-B": ["corticosteroids"],
                               "PT-C": ["complement_inhibitor", "rituximab"]})
    p = "baseline_prior_therapy"
    assert a[(p, "all", "denominator")] == 3  # every treated patient
    assert a[(p, "cAIHA", "denominator")] == 1
    assert a[(p, "all", "corticosteroids: proportion")] == pytest.approx(2 / 3)
    assert a[(p, "wAIHA", "corticosteroids: proportion")] == 1.0
    assert a[(p, "wAIHA", "complement_inhibitor: n")] == 0
    assert a[(p, "cAIHA", "complement_inhibitor: proportion")] == 1.0
    assert a[(p, "all", "ivig: n")] == 1
    assert a[(p, "all", "none: n")] == 0


def test_no_prior_therapy_rows_without_the_column(tmp_path) -> None:
    assert not [k for k in _ard() if k[0] == "baseline_prior_therapy"]  # no such columns
    a = _with_prior(tmp_path, {"PT-A": None, "PT-B": None, "PT-C": None})
    assert not [k for k in a if k[0] == "baseline_prior_therapy"]  # no site exports it
