"""The identifier index: every form of a study identifier is found in free text,
and nothing else is taken out. Expected outputs are written by hand from the
patients built here."""

from __future__ import annotations

import pytest

from aiha import identifiers
from aiha.cleaning.freetext import clean_text, neutralise_formula
from aiha.errors import InputError
from aiha.identifiers import REDACTED, IdentifierIndex, looks_like_identifier


@pytest.fixture()
def index() -> IdentifierIndex:
    ix = IdentifierIndex()
    ix.add_person("AMC-4471823", "Johanna de Vries", "14-03-1958", ["%d-%m-%Y"])
    ix.add_person("POL-2019-00417", "Giulia Romano", "08/09/1953", ["%d/%m/%Y"])
    ix.add_person("HMN-451203", "Camille Lefèvre", "1968-10-05", ["%Y-%m-%d"])
    ix.add_person("EMC-0938127", "Wei Li", "02.01.1970", ["%d.%m.%Y"])
    ix.add_person("UCLH-88213407", "Seán O'Brien-Murphy", "30/05/1966", ["%d/%m/%Y"])
    return ix


FOUND = [
    # dates of birth in every common form
    "1958-03-14", "14/03/1958", "14-3-1958", "14.03.58", "03/14/1958", "19580314", "14031958",
    "14 March 1958", "March 14th, 1958", "14 mars 1958", "14. März 1958", "14-Mar-58", "14 maart 1958",
    "1958/03/14", "5 octobre 1968", "Oct 5, 1968", "1968-10-05",
    # record numbers with and without prefix, any grouping
    "AMC-4471823", "AMC 4471823", "AMC4471823", "amc-4471823", "4471823", "447 18 23", "447-1823",
    "POL-2019-00417", "2019-00417", "201900417", "EMC-0938127", "0938127", "938127", "88213407",
    "HMN451203", "451203",
    # names and their parts, any case or accents, initials and particles next to them
    "Johanna de Vries", "J. de Vries", "de Vries, J.", "VRIES", "johanna", "Lefèvre", "LEFEVRE",
    "lefevre camille", "C. Lefevre", "Romano G.", "Wei Li", "Li", "O'Brien", "Murphy",
    "O’Brien-Murphy", "Sean",
]


@pytest.mark.parametrize("form", FOUND)
def test_every_form_is_found(index, form):
    text = f"seen ({form}) today"
    out = index.scrub(text)
    assert out == f"seen ({REDACTED}) today", out


KEPT = [
    "Hb 7.2 g/dL on 2022-03-14, dose 1800 mg", "de novo", "the dose was 4471 mg",
    "44718231", "li is not a capitalised name", "2019", "van de graaf", "Transfused 2 units",
    "Herpes zoster", "14/03/1959", "AMC protocol", "Oral antibiotics",
]


@pytest.mark.parametrize("text", KEPT)
def test_other_text_is_kept(index, text):
    assert index.scrub(text) == text


def test_whole_name_with_particle_and_initial_goes_as_one(index):
    assert index.scrub("Ms J. de Vries (AMC 4471823), born 14/03/1958.") == \
        f"Ms {REDACTED} ({REDACTED}), born {REDACTED}."


def test_identifier_in_the_wrong_column_is_still_found():
    ix = IdentifierIndex()
    ix.add_person(record_number="Camille Lefèvre", name="HMN-451203", birth_date="1968-10-05")
    assert ix.scrub("HMN 451203 Lefevre") == REDACTED


def test_shapes_that_may_be_identifiers():
    assert looks_like_identifier("Camille Lefèvre")
    assert looks_like_identifier("J. de Vries")
    assert looks_like_identifier("AB_4471823")
    for safe in ("AHAI MIXTE", "mg/mL", "2022-13-16", "Herpes zoster", "four", "150.0"):
        assert not looks_like_identifier(safe), safe


def test_input_error_never_shows_an_identifier(index):
    identifiers.activate(index)
    try:
        cases = [
            InputError("p.csv", "unknown diagnosis code", 1, "diagnosis", "Camille Lefèvre"),
            InputError("p.csv", "bad", 1, "record_number", "XYZ-1"),
            InputError("p.csv", "bad", 1, "comment", "4471823"),
            InputError("p.csv", "term 'Giulia' differs", 1, "term", "x"),
            InputError("p.csv", "bad", 1, "unit", "14.03.1958"),
            InputError("p.csv", "not a name", 1, "sex", "Anna Schmidt"),  # unknown, name-shaped
        ]
        text = "\n".join(map(str, cases))
        for secret in ("Camille", "XYZ-1", "4471823", "Giulia", "14.03.1958", "Schmidt"):
            assert secret not in text, (secret, text)
        assert str(InputError("l.csv", "unknown unit", 2, "unit", "mg/mL")).endswith(
            "value 'mg/mL': unknown unit")
    finally:
        identifiers.activate(IdentifierIndex())


@pytest.mark.parametrize("text", ["=HYPERLINK(\"http://x\",\"a\")", "+cmd|' /C calc'!A0", "@SUM(1+1)",
                                  "-2+3", "\t=1", " =1", "\uff1d1"])
def test_formulas_are_neutralised(text):
    assert neutralise_formula(text) == "'" + text
    assert clean_text(text, IdentifierIndex()) == "'" + text


def test_plain_text_is_not_quoted():
    for text in ("", "Oral antibiotics", "a=b", "'quoted already", "1+1"):
        assert neutralise_formula(text) == text
