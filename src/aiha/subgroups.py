"""Response by baseline subgroup and the disposition of the treated patients.

- :func:`subgroup_levels` / :func:`response_by_factor`: the response of each efficacy
  group split by the levels of an ADSL variable listed in config
  ``statistics.response_subgroups`` (Evans syndrome by default);
- :func:`disposition_counts`: treated patients, the efficacy set and each reason for
  leaving it (``ADSL.EFFRSN``).
"""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd

from aiha.errors import ConfigError

MISSING_LEVEL = "missing"


class UnknownSubgroupVariable(ConfigError):
    """A configured subgroup variable is not a variable of ADSL (one line: the job
    stops naming the key, without a traceback)."""


def check_subgroup_variables(adsl: pd.DataFrame, variables: Sequence[str]) -> None:
    """Every configured subgroup variable names an ADSL column; else an error
    naming the config key, the variable and the variables ADSL has."""
    unknown = [v for v in variables if v not in adsl.columns]
    if unknown:
        raise UnknownSubgroupVariable(
            f"config statistics.response_subgroups: {', '.join(map(repr, unknown))} "
            f"is not a variable of ADSL (results/adam/adsl.json; ADSL has "
            f"{', '.join(adsl.columns)})")


def level_of(value: object) -> str:
    """The subgroup level a value of the variable belongs to: its text, trimmed;
    an empty value is the level ``missing``."""
    text = "" if value is None or (isinstance(value, float) and value != value) else str(value)
    return text.strip() or MISSING_LEVEL


def subgroup_levels(values: pd.Series) -> list[str]:
    """The levels present, sorted (``missing`` last)."""
    levels = sorted({level_of(v) for v in values} - {MISSING_LEVEL})
    return levels + ([MISSING_LEVEL] if any(level_of(v) == MISSING_LEVEL for v in values) else [])


def response_by_factor(members: pd.DataFrame, variable: str) -> dict[str, tuple[int, int]]:
    """Per level of ``variable``: (responders, patients) among ``members`` (one row
    per patient with ``RESP`` = ``Y`` for a responder)."""
    levels = members[variable].map(level_of)
    out: dict[str, tuple[int, int]] = {}
    for level in subgroup_levels(members[variable]):
        at = members[levels == level]
        out[level] = (int((at["RESP"] == "Y").sum()), len(at))
    return out


def disposition_counts(adsl: pd.DataFrame) -> dict[str, int]:
    """``treated`` (ADSL records with ``SAFFL = Y``), ``efficacy`` (of them,
    ``EFFFL = Y``), ``excluded`` (the others) and ``excluded: <EFFRSN>`` per reason
    for leaving the efficacy set (sorted)."""
    treated = adsl[adsl["SAFFL"] == "Y"]
    eff = treated["EFFFL"] == "Y"
    out = {"treated": len(treated), "efficacy": int(eff.sum()), "excluded": int((~eff).sum())}
    reasons = treated.loc[~eff, "EFFRSN"].map(level_of)
    for reason in sorted(set(reasons)):
        out[f"excluded: {reason}"] = int((reasons == reason).sum())
    return out
