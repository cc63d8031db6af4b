"""Which FCS files each gating job gates (config cytometry.gating_jobs)."""

from __future__ import annotations

import pytest

from aiha.cytometry.plan import gating_units
from aiha.pseudonym import pseudonymize

KEY = b"k" * 32
ROWS = {
    "S3-PH": {"patient": ("AMS", "R-2"), "tube": "phenotype"},
    "S1-PH": {"patient": ("AMS", "R-1"), "tube": "phenotype"},
    "S1-FN": {"patient": ("AMS", "R-1"), "tube": "function"},
    "S2-PH": {"patient": ("CRE", "R-1"), "tube": "phenotype"},  # same record number, other site
}


def test_one_job_per_sample():
    assert gating_units(ROWS, "sample", KEY) == {s: [s] for s in sorted(ROWS)}


def test_one_job_per_patient_named_by_pseudonym():
    units = gating_units(ROWS, "patient", KEY)
    assert units == dict(sorted({
        pseudonymize("AMS", "R-1", KEY): ["S1-FN", "S1-PH"],
        pseudonymize("AMS", "R-2", KEY): ["S3-PH"],
        pseudonymize("CRE", "R-1", KEY): ["S2-PH"],
    }.items()))
    assert sorted(s for files in units.values() for s in files) == sorted(ROWS)
    assert not any("R-1" in unit or "R-2" in unit for unit in units)  # no record numbers in names


def test_unknown_unit_is_refused():
    with pytest.raises(ValueError, match="visit"):
        gating_units(ROWS, "visit", KEY)


def test_figure_patients_are_the_first_by_pseudonym_whatever_the_order() -> None:
    from aiha.cytometry.plan import figure_patients

    ids = ["PT-C", "PT-A", "PT-B", "PT-A", "PT-D"]
    assert figure_patients(ids, 2) == ["PT-A", "PT-B"]
    assert figure_patients(reversed(ids), 2) == ["PT-A", "PT-B"]
    assert figure_patients(ids, 10) == ["PT-A", "PT-B", "PT-C", "PT-D"]
