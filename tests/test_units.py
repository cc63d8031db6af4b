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
