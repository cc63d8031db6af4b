"""Site profiles read inside a test (the cleaning tests load them at import time,
before mutmut switches a mutant on): every field of a hand-written site, and each
refusal. Written for the mutation run (benchmarks/mutation.md)."""

from __future__ import annotations

import pytest

from aiha.cleaning import load_site_profiles
from aiha.cleaning.profiles import SiteProfile
from aiha.errors import InputError

SITE = """
sites:
  XYZ:
    name: Test Hospital
    country: NL
    delimiter: ";"
    decimal: ","
    encoding: latin-1
    date_format: "%d-%m-%Y"
    ldh_uln_u_l: 248
    codes:
      sex: {" m ": male, v: female}
      treatment: {Rituximab: aiha_therapy, DARA: daratumumab}
"""


def write(tmp_path, text):
    path = tmp_path / "sites.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def test_a_site_profile_field_by_field(tmp_path):
    got = load_site_profiles(write(tmp_path, SITE))
    assert got == {"XYZ": SiteProfile(
        code="XYZ", name="Test Hospital", country="NL", delimiter=";", decimal=",",
        encoding="latin-1", date_format="%d-%m-%Y", ldh_uln_u_l=248.0,
        # Site codes are matched trimmed and upper-cased; values are kept as given.
        codes={"sex": {"M": "male", "V": "female"},
               "treatment": {"RITUXIMAB": "aiha_therapy", "DARA": "daratumumab"}})}
    assert type(got["XYZ"].ldh_uln_u_l) is float


def test_the_study_sites_file_reads():
    from conftest import ROOT

    profiles = load_site_profiles(ROOT / "resources" / "sites.yaml")
    assert {"AMS", "LON", "MIL"} <= set(profiles)
    assert all(code == p.code for code, p in profiles.items())


@pytest.mark.parametrize("text,message", [
    ("- a list\n", "expected a mapping with a 'sites' key"),
    ("other: {}\n", "expected a mapping with a 'sites' key"),
    ("sites: [AMS]\n", "expected a mapping with a 'sites' key"),
    (SITE.replace("    country: NL\n", ""), "site XYZ: missing key 'country'"),
    (SITE.replace("aiha_therapy", "chemo"),
     "site XYZ: treatment codes map to ['chemo']; the categories are daratumumab, "
     "study_regimen, aiha_therapy, supportive"),
    (SITE + "      prior_therapy: {PRED: corticosteroids, PLEX: plasmapheresis}\n",
     "site XYZ: prior therapy codes map to ['plasmapheresis']; the types are "
     "corticosteroids, rituximab, immunosuppressant, splenectomy, ivig, bortezomib, "
     "complement_inhibitor, erythropoietin, other"),
])
def test_refusals_name_the_problem(tmp_path, text, message):
    path = write(tmp_path, text)
    with pytest.raises(InputError) as err:
        load_site_profiles(path)
    assert err.value.message == message and err.value.file == str(path)
    if "treatment codes" in message:
        assert err.value.column == "codes.treatment"
    if "prior therapy codes" in message:
        assert err.value.column == "codes.prior_therapy"
