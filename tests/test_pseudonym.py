"""Pseudonymization and identifier scrubbing."""

from datetime import date

from aiha.cleaning import scrub_identifiers
from aiha.pseudonym import age_at, pseudonymize

KEY = b"0123456789abcdef-test-key"


def test_pseudonym_is_stable_keyed_and_hides_the_record_number():
    a = pseudonymize("AMS", "AMC-4471823", KEY)
    assert a == pseudonymize("ams", " AMC-4471823 ", KEY)
    assert a != pseudonymize("AMS", "AMC-4471823", KEY + b"x")
    assert a != pseudonymize("RTM", "AMC-4471823", KEY)
    assert "4471823" not in a and a.startswith("PT-") and len(a) == 11


def test_age_at_first_dose_on_and_around_the_birthday():
    assert age_at(date(1960, 3, 14), date(2022, 3, 13)) == 61
    assert age_at(date(1960, 3, 14), date(2022, 3, 14)) == 62


def test_scrub_identifiers_in_free_text():
    text = "Ms Visser (AMC-5520194, born 21-07-1975) tolerated it; sanne VISSER agrees"
    out = scrub_identifiers(text, ["Sanne Visser", "AMC-5520194", "21-07-1975", "Sanne", "Visser"])
    assert "Visser" not in out and "visser" not in out.lower()
    assert "5520194" not in out and "1975" not in out
    assert out.startswith("Ms [redacted]")


def test_scrub_is_one_pass_with_a_site_pattern():
    from aiha.cleaning import identifier_pattern

    ids = ["Ted Dacre", "Ted", "Dacre", "AB", "LDS-0042"]
    pattern = identifier_pattern(ids)
    text = "ted dacre seen; Ted alone; ab stays; lds-0042"
    # the full name goes as a whole, case-insensitively; 2-letter parts are kept
    assert scrub_identifiers(text, pattern) == "[redacted] seen; [redacted] alone; ab stays; [redacted]"
    # a replacement is not scanned again ("[redacted]" holds "Ted"'s letters "ted")
    assert scrub_identifiers("Ted", ["Ted", "red"]) == "[redacted]"
    assert scrub_identifiers(text, ids) == scrub_identifiers(text, pattern)
    assert scrub_identifiers("", pattern) == "" and identifier_pattern(["ab"]) is None
    assert scrub_identifiers("no ids", None) == "no ids"
