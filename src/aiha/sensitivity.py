"""Sensitivity analyses: the study recomputed under each variant the config allows.

A variant is a set of overrides of config values, e.g.
``{"response": {"pr_rule": "and"}}``. Each variant runs as its own Snakemake
wildcard job through the same scripts as the primary analysis.
"""

from __future__ import annotations

from typing import Any

import pandas as pd


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



def run_variant(
    tables: dict[str, pd.DataFrame], cfg: dict[str, Any], claims: list[Any] | None,
    responses_path: str, provenance: dict[str, str],
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Scoring, statistics and (with published claims) the claims audit under one
    variant's analysis settings (``aiha.settings.analysis_config`` of the merged
    config). Writes the responses to ``responses_path`` and reads them back, as the
    primary analysis does; returns the ARD rows and the audit table.
    ``provenance``: rule, script and inputs_sha256 of the ARD rows."""
    import datetime as dt

    from aiha.ard import read_tsv, stats_to_frame, write_tsv
    from aiha.audit import AUDIT_COLUMNS, evaluate
    from aiha.response import ResponseCriteria, score_cohort
    from aiha.statistics import clinical_statistics

    responses = score_cohort(
        patients=tables["patients"], labs=tables["labs"],
        transfusions=tables["transfusions"], treatments=tables["treatments"],
        cutoff=dt.date.fromisoformat(cfg["data_cutoff"]),
        c=ResponseCriteria.from_config(cfg["response"]),
    )
    write_tsv(responses, responses_path)
    stats, _ = clinical_statistics(patients=tables["patients"], responses=read_tsv(responses_path),
                                   labs=tables["labs"], adverse_events=tables["adverse_events"],
                                   cfg=cfg)
    ard = stats_to_frame(stats, **provenance)
    audit = evaluate(claims, ard) if claims is not None else pd.DataFrame(columns=AUDIT_COLUMNS)
    return ard, audit
