"""Pseudonymization: direct identifiers never leave the cleaning stage.

Width: a pseudonym keeps 64 bits of the HMAC (16 hex digits). For n patients the
chance that two share a pseudonym is about n^2 / 2^65: 1.1e-13 for 2,000 patients
(the 32 bits used before gave 4.7e-4, one study in about 2,000). We accept a
collision rate below 1e-9 per study; a collision that happens anyway stops the
cleaning ("pseudonym collision between sites"), it never merges two patients.

Width does not protect a pseudonym whose key is known: with the key, the HMAC of
every possible 7-digit record number is computed in seconds. The key is the
protection: the committed demo key is refused for real data
(:func:`check_not_demo_key`), and a site makes its own (README, "Pseudonym key").
"""

from __future__ import annotations

import hashlib
import hmac
from datetime import date

HEX_DIGITS = 16
PREFIX = "PT-"
PATTERN = rf"^{PREFIX}[0-9A-F]{{{HEX_DIGITS}}}$"
# SHA-256 of the committed demo key (resources/demo/pseudonym_key.txt, stripped).
DEMO_KEY_SHA256 = "08ed131839d20daa3b5d504760fc077c889a98cf35f901e82c021929047f04f7"
MIN_KEY_BYTES = 16


def pseudonymize(site: str, record_number: str, key: bytes) -> str:
    """A stable pseudonym for a (site, hospital record number) pair.

    Keyed HMAC-SHA256, so the pseudonym cannot be recomputed from the record
    number without the site's secret key.
    """
    message = f"{site.strip().upper()}|{record_number.strip()}".encode()
    return PREFIX + hmac.new(key, message, hashlib.sha256).hexdigest()[:HEX_DIGITS].upper()


def is_pseudonym(value: object) -> bool:
    """Whether an ARD group (or any value) names one patient rather than a cohort."""
    return str(value).startswith(PREFIX)


def read_key(path: str) -> bytes:
    """Read the pseudonymization key (surrounding whitespace removed)."""
    try:
        with open(path, "rb") as handle:
            key = handle.read().strip()
    except FileNotFoundError:
        raise FileNotFoundError(f"file {path}: pseudonym key (config data.pseudonym_key_file) "
                                "does not exist") from None
    if len(key) < MIN_KEY_BYTES:
        raise ValueError(f"file {path}: pseudonym key shorter than {MIN_KEY_BYTES} bytes")
    return key


def is_demo_key(key: bytes) -> bool:
    return hashlib.sha256(key).hexdigest() == DEMO_KEY_SHA256


def check_not_demo_key(path: str, generate_demo: bool,
                       records: set[tuple[str, str]] | None = None,
                       demo_records: set[tuple[str, str]] | None = None) -> None:
    """Refuse the committed demo key for real data.

    The demo key is accepted when the data are generated (``generate_demo``), or
    when every (site, record number) of the exports (``records``) is a patient of
    the fictional demo cohort (``demo_records``): a copy of the demo export,
    edited to test the workflow. Any other patient needs a key of the site's own.
    """
    from aiha.errors import ConfigError

    if generate_demo or not is_demo_key(read_key(path)):
        return
    if records is not None and demo_records is not None and records <= demo_records:
        return
    raise ConfigError(
        f"config.yaml: data.pseudonym_key_file: {path} is the committed demo key, which "
        "anyone can use to reverse the pseudonyms; it only serves the fictional demo "
        "patients. Make a secret key of your own (README, 'Pseudonym key')")


def age_at(birth: date, when: date) -> int:
    """Age in completed years on ``when``."""
    years = when.year - birth.year
    if (when.month, when.day) < (birth.month, birth.day):
        years -= 1
    return years
