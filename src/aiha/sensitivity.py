"""Sensitivity analyses: the study recomputed under each variant the config allows.

A variant is a set of overrides of config values, e.g.
``{"response": {"pr_rule": "and"}}``. Each variant runs as its own Snakemake
wildcard job through the same scripts as the primary analysis.
"""

from __future__ import annotations

import copy
from typing import Any

import pandas as pd


def apply_overrides(config: dict[str, Any], overrides: dict[str, Any] | None) -> dict[str, Any]:
    """A deep copy of ``config`` with ``overrides`` applied; unknown keys are refused."""
    out = copy.deepcopy(config)

    def merge(target: dict[str, Any], patch: dict[str, Any], where: str) -> None:
        for key, value in patch.items():
            if key not in target:
                raise KeyError(f"sensitivity override {where}{key} is not a config key")
            if isinstance(value, dict) and isinstance(target[key], dict):
                merge(target[key], value, f"{where}{key}.")
            else:
                target[key] = value

    merge(out, overrides or {}, "")
    return out


def describe(overrides: dict[str, Any]) -> str:
    """`section.key = value` for each override ("as configured" for none)."""
    parts: list[str] = []

    def walk(d: dict[str, Any], prefix: str) -> None:
        for k, v in d.items():
            if isinstance(v, dict):
                walk(v, f"{prefix}{k}.")
            else:
                parts.append(f"{prefix}{k} = {v}")

    walk(overrides or {}, "")
    return "; ".join(parts) if parts else "as configured"


def sensitivity_table(audits: dict[str, pd.DataFrame], variants: dict[str, Any]) -> pd.DataFrame:
    """Long table: variant, change, claim id, published, reproduced, status.

    Claims whose statistics a variant does not compute (e.g. cytometry) are left out.
    """
    rows = []
    for name, table in audits.items():
        for r in table.itertuples():
            if r.status == "missing":
                continue
            rows.append({"variant": name, "change": describe(variants[name]), "id": r.id,
                         "published": r.published, "reproduced": r.reproduced,
                         "reproduces_paper": r.status == "pass"})
    return pd.DataFrame(rows, columns=["variant", "change", "id", "published", "reproduced",
                                       "reproduces_paper"])


def sensitivity_summary(table: pd.DataFrame) -> pd.DataFrame:
    """Per variant: claims compared, claims reproduced, and the ones that differ."""
    rows = []
    for variant, part in table.groupby("variant", sort=False):
        ok = part["reproduces_paper"].astype(str) == "True"
        differing = "; ".join(f"{r.id}: {r.reproduced}" for r in part[~ok].itertuples())
        rows.append({"variant": variant, "change": part["change"].iloc[0],
                     "claims_compared": len(part), "claims_reproduced": int(ok.sum()),
                     "differing": differing})
    return pd.DataFrame(rows, columns=["variant", "change", "claims_compared",
                                       "claims_reproduced", "differing"])
