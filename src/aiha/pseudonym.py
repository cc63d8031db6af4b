"""Pseudonymization: direct identifiers never leave the cleaning stage."""

from __future__ import annotations

import hashlib
import hmac
from datetime import date


def pseudonymize(site: str, record_number: str, key: bytes) -> str:
    """A stable pseudonym for a (site, hospital record number) pair.

    Keyed HMAC-SHA256, so the pseudonym cannot be recomputed from the record
    number without the site's secret key.
    """
    message = f"{site.strip().upper()}|{record_number.strip()}".encode()
    return "PT-" + hmac.new(key, message, hashlib.sha256).hexdigest()[:8].upper()


def read_key(path: str) -> bytes:
    """Read the pseudonymization key (surrounding whitespace removed)."""
    try:
        with open(path, "rb") as handle:
            key = handle.read().strip()
    except FileNotFoundError:
        raise FileNotFoundError(f"file {path}: pseudonym key (config data.pseudonym_key_file) "
                                "does not exist") from None
    if len(key) < 16:
        raise ValueError(f"file {path}: pseudonym key shorter than 16 bytes")
    return key


def age_at(birth: date, when: date) -> int:
    """Age in completed years on ``when``."""
    years = when.year - birth.year
    if (when.month, when.day) < (birth.month, birth.day):
        years -= 1
    return years
