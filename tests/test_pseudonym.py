"""Pseudonymization and identifier scrubbing."""

from datetime import date

from aiha.pseudonym import age_at, pseudonymize

KEY = b"0123456789abcdef-test-key"


def test_pseudonym_is_stable_keyed_and_hides_the_record_number():
    a = pseudonymize("AMS", "AMC-4471823", KEY)
    assert a == pseudonymize("ams", " AMC-4471823 ", KEY)
    assert a != pseudonymize("AMS", "AMC-4471823", KEY + b"x")
    assert a != pseudonymize("RTM", "AMC-4471823", KEY)
    assert "4471823" not in a and a.startswith("PT-") and len(a) == 19


def test_age_at_first_dose_on_and_around_the_birthday():
    assert age_at(date(1960, 3, 14), date(2022, 3, 13)) == 61
    assert age_at(date(1960, 3, 14), date(2022, 3, 14)) == 62


def test_pseudonym_is_64_bits_and_the_demo_key_is_refused_for_real_data(tmp_path):
    import math

    import pytest

    from aiha.errors import ConfigError
    from aiha.pseudonym import check_not_demo_key
    from conftest import ROOT

    a = pseudonymize("AMS", "AMC-4471823", KEY)
    assert len(a) == 3 + 16
    # birthday bound for 2,000 patients at 64 bits: ~1.1e-13 (below the 1e-9 accepted)
    n = 2000
    assert 1 - math.exp(-n * (n - 1) / 2 / 2**64) < 1e-9
    demo = ROOT / "resources" / "demo" / "pseudonym_key.txt"
    check_not_demo_key(str(demo), generate_demo=True)
    with pytest.raises(ConfigError, match="committed demo key"):
        check_not_demo_key(str(demo), generate_demo=False)
    own = tmp_path / "key.txt"
    own.write_bytes(b"a site's own secret key, 32 bytes+\n")
    check_not_demo_key(str(own), generate_demo=False)
