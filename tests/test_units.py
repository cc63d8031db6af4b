"""Unit conversions at the clinical boundaries."""

import pytest

from aiha import units


def test_mmol_per_l_just_below_the_pr_cut_off():
    # 6.2 mmol/L is 9.99 g/dL: it fails a 10 g/dL cut-off.
    assert units.hb_to_g_dl(6.2, "mmol/L") == pytest.approx(9.9882)
    assert units.hb_to_g_dl(6.2, "mmol/L") < 10.0
    assert units.hb_to_g_dl(6.3, "mmol/L") >= 10.0


def test_g_per_l_and_g_per_dl():
    assert units.hb_to_g_dl(100, "g/L") == pytest.approx(10.0)
    assert units.hb_to_g_dl(99, "g/L") < 10.0
    assert units.hb_to_g_dl(12.0, "g/dl") == 12.0
    assert units.hb_to_g_dl(12.0, " G/DL ") == 12.0


def test_bilirubin_micromolar_boundary():
    assert units.bilirubin_to_mg_dl(17.1, "µmol/L") == pytest.approx(1.0)
    assert units.bilirubin_to_mg_dl(20.52, "umol/L") == pytest.approx(1.2)
    assert units.bilirubin_to_mg_dl(20.5, "μmol/l") < 1.2
    assert units.bilirubin_to_mg_dl(1.2, "mg/dL") == 1.2


def test_ldh_as_multiple_of_the_site_upper_limit():
    assert units.ldh_to_x_uln(248, "U/L", 248) == 1.0
    assert units.ldh_to_x_uln(247, "UI/L", 248) < 1.0
    with pytest.raises(ValueError):
        units.ldh_to_x_uln(200, "U/L", 0)


@pytest.mark.parametrize("unit", ["mg/dL", "mmol", "g", ""])
def test_unknown_hb_unit_is_refused(unit):
    with pytest.raises(units.UnknownUnitError, match="hemoglobin unit"):
        units.hb_to_g_dl(10, unit)


def test_round_trip_used_by_the_demo_exports():
    for unit in ("mmol/L", "g/L", "g/dL"):
        assert units.hb_to_g_dl(units.hb_from_g_dl(9.3, unit), unit) == pytest.approx(9.3)
    assert units.bilirubin_to_mg_dl(units.bilirubin_from_mg_dl(2.0, "µmol/L"), "µmol/L") == (
        pytest.approx(2.0)
    )


# Added for the mutation run (benchmarks/mutation.md): every branch and message.


def test_to_canonical_dispatches_by_analyte():
    # 7 mmol/L Hb = 7 x 1.611 g/dL; 34.2 umol/L bilirubin = 2 mg/dL; LDH 496 of ULN 248 = 2.
    assert units.to_canonical("hb", 7.0, "mmol/L", 248) == pytest.approx(11.277)
    assert units.to_canonical("bilirubin", 34.2, "umol/L", 248) == pytest.approx(2.0)
    assert units.to_canonical("ldh", 496, "U/L", 248) == 2.0
    with pytest.raises(ValueError, match="unknown analyte 'crp'"):
        units.to_canonical("crp", 1.0, "mg/L", 248)


def test_unit_strings_are_trimmed_lower_cased_and_spaces_dropped():
    assert units.hb_to_g_dl(7.0, " MMOL / L ") == pytest.approx(7 * 1.611)
    # Micro sign (U+00B5) and Greek mu (U+03BC) both read as u.
    assert units.bilirubin_to_mg_dl(34.2, "\u00b5mol/L") == pytest.approx(2.0)
    assert units.bilirubin_to_mg_dl(34.2, "\u03bcmol/L") == pytest.approx(2.0)
    assert units.ldh_to_x_uln(124, " iu/L", 248) == 0.5
    assert units.ldh_to_x_uln(124, "u/l", 248) == 0.5


def test_unknown_units_are_refused_with_their_name():
    with pytest.raises(units.UnknownUnitError, match=r"unknown bilirubin unit 'g/L'; expected one of mg/dL, umol/L"):
        units.bilirubin_to_mg_dl(1.0, "g/L")
    with pytest.raises(units.UnknownUnitError, match=r"unknown LDH unit 'ukat/L'; expected U/L"):
        units.ldh_to_x_uln(1.0, "ukat/L", 248)
    with pytest.raises(units.UnknownUnitError, match=r"unknown hemoglobin unit 'mg/dL'; expected one of g/dL, g/L, mmol/L"):
        units.hb_to_g_dl(1.0, "mg/dL")
    with pytest.raises(ValueError, match="must be positive, got -1"):
        units.ldh_to_x_uln(200, "U/L", -1)
    assert issubclass(units.UnknownUnitError, ValueError)


def test_inverse_conversions_by_hand():
    assert units.hb_from_g_dl(10.0, "g/L") == pytest.approx(100.0)
    assert units.hb_from_g_dl(1.611, "mmol/L") == pytest.approx(1.0)
    assert units.hb_from_g_dl(9.0, "g/dL") == 9.0
    assert units.bilirubin_from_mg_dl(2.0, "umol/L") == pytest.approx(34.2)
    assert units.bilirubin_from_mg_dl(2.0, "mg/dL") == 2.0
    assert units.CANONICAL_UNIT == {"hb": "g/dL", "bilirubin": "mg/dL", "ldh": "x ULN"}


def test_ldh_upper_limit_needs_only_to_be_positive():
    # Any positive ULN is accepted, also one below 1 U/L.
    assert units.ldh_to_x_uln(1.0, "U/L", 1.0) == 1.0
    assert units.ldh_to_x_uln(0.25, "U/L", 0.5) == 0.5
