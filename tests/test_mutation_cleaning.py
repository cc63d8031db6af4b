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
      yes_no: {ja: true, NEE: false}
      diagnosis: {WAIHA: wAIHA, CAD: cAIHA}
      analyte: {HB: hb, LD: ldh, BILI: bilirubin}
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
               "yes_no": {"JA": True, "NEE": False},
               "diagnosis": {"WAIHA": "wAIHA", "CAD": "cAIHA"},
               "analyte": {"HB": "hb", "LD": "ldh", "BILI": "bilirubin"},
               "treatment": {"RITUXIMAB": "aiha_therapy", "DARA": "daratumumab"}})}
    assert type(got["XYZ"].ldh_uln_u_l) is float


def test_the_study_sites_file_reads():
    from conftest import ROOT

    profiles = load_site_profiles(ROOT / "resources" / "sites.yaml")
    assert {"AMS", "LON", "MIL"} <= set(profiles)
    assert all(code == p.code for code, p in profiles.items())


@pytest.mark.parametrize("text,message", [
    ("- a list\n", "key (top level): value ['a list'] must be of type object"),
    ("other: {}\n", "key sites: missing"),
    ("sites: [AMS]\n", "key sites: value ['AMS'] must be of type object"),
    (SITE.replace("    country: NL\n", ""), "site XYZ, key country: missing"),
    (SITE.replace("aiha_therapy", "chemo"),
     "site XYZ, key codes.treatment.Rituximab: value 'chemo' is not one of daratumumab, "
     "study_regimen, aiha_therapy, supportive"),
    (SITE + "      prior_therapy: {PRED: corticosteroids, PLEX: plasmapheresis}\n",
     "site XYZ, key codes.prior_therapy.PLEX: value 'plasmapheresis' is not one of bortezomib, "
     "complement_inhibitor, corticosteroids, erythropoietin, immunosuppressant, ivig, other, "
     "rituximab, splenectomy"),
])
def test_refusals_name_the_problem(tmp_path, text, message):
    path = write(tmp_path, text)
    with pytest.raises(InputError) as err:
        load_site_profiles(path)
    assert err.value.message == message and err.value.file == str(path)
