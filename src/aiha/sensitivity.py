"""Sensitivity analyses: the study recomputed under each variant the config allows.

A variant is a set of overrides of config values, e.g.
``{"response": {"pr_rule": "and"}}``. Each variant runs as its own Snakemake
wildcard job through the same scripts as the primary analysis.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pandas as pd

# The key efficacy statistics of the response chapter's Table 4, under each variant:
# (stat_id, statistics). Each is read for every group the ARD has it for.
KEY_STATISTICS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("orr", ("numerator", "denominator", "proportion")),
    ("cr", ("numerator", "denominator", "proportion")),
    ("hb_response", ("numerator", "denominator", "proportion")),
    ("dor_median_crude", ("value",)),
    ("dor_median_km", ("value",)),
    ("ongoing", ("numerator", "denominator")),
)
KEY_COLUMNS = ["variant", "change", "stat_id", "group", "statistic", "value"]
PRIMARY = "primary"


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


def _key_rows(ard: pd.DataFrame) -> pd.DataFrame:
    """The KEY_STATISTICS rows of an ARD (stat_id, group, statistic, value), in
    KEY_STATISTICS order, then group and statistic as the ARD orders them."""
    parts = []
    for stat_id, statistics in KEY_STATISTICS:
        hit = ard[(ard["stat_id"] == stat_id) & ard["statistic"].isin(statistics)]
        order = {s: i for i, s in enumerate(statistics)}
        hit = hit.assign(_order=hit["statistic"].map(order)).sort_values(
            ["group", "_order"], kind="stable")
        parts.append(hit[["stat_id", "group", "statistic", "value"]])
    return pd.concat(parts, ignore_index=True)


def _differing(a: pd.DataFrame, b: pd.DataFrame) -> list[str]:
    """The keys (stat/group/statistic) whose values differ between two key-row frames
    (a row present in one only differs; NaN equals NaN)."""
    def values(frame: pd.DataFrame) -> dict[tuple[str, str, str], float]:
        return {(r.stat_id, r.group, r.statistic): float(r.value) for r in frame.itertuples()}

    va, vb = values(a), values(b)
    return ["/".join(k) for k in sorted(set(va) | set(vb))
            if k not in va or k not in vb
            or not (va[k] == vb[k] or (pd.isna(va[k]) and pd.isna(vb[k])))]


def key_statistics(primary: pd.DataFrame, ards: Mapping[str, pd.DataFrame],
                   variants: Mapping[str, Any]) -> pd.DataFrame:
    """Long table (variant, change, stat_id, group, statistic, value) of the key
    efficacy statistics (KEY_STATISTICS): the primary analysis first (variant
    ``primary``, read from ``primary``, the primary clinical ARD), then each variant
    of ``ards`` (its clinical ARD) that changes the config, in the order given.

    A variant without overrides is the primary analysis rerun: it is not repeated, but
    its values must equal the primary ARD's (ValueError naming the rows otherwise).
    The name ``primary`` is the primary analysis's: a variant of that name must not
    change the config. Rows an ARD does not have (no duration of response without a
    responder) are absent."""
    def rows(name: str, change: str, ard: pd.DataFrame) -> pd.DataFrame:
        key = _key_rows(ard)
        return key.assign(variant=name, change=change)[KEY_COLUMNS]

    base = _key_rows(primary)
    out = [rows(PRIMARY, describe({}), primary)]
    for name, ard in ards.items():
        overrides = variants[name]
        if not overrides:
            differ = _differing(base, _key_rows(ard))
            if differ:
                raise ValueError(f"sensitivity variant {name} changes nothing but differs "
                                 f"from the primary analysis in {', '.join(differ)}")
            continue
        if name == PRIMARY:
            raise ValueError(f"sensitivity variant {PRIMARY} changes the config "
                             f"({describe(overrides)}): the name is the primary analysis's")
        out.append(rows(name, describe(overrides), ard))
    return pd.concat(out, ignore_index=True)


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
