"""Join per-sample gating tables with the pseudonymized sample metadata."""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd

POPULATIONS_COLUMNS = ["sample_id", "patient_id", "visit", "day", "tube", "population", "gate_path",
                       "parent", "count", "percent_of_parent"]
QC_TABLE_COLUMNS = ["sample_id", "patient_id", "visit", "day", "tube", "events_acquired", "events_kept",
                    "percent_kept", "qc_flag"]


def aggregate(samples: pd.DataFrame, populations: Sequence[pd.DataFrame],
              qc: Sequence[pd.DataFrame]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """All samples' populations and QC rows with patient, visit, day and tube.

    Every sample of the metadata table must have been gated, and nothing else.
    """
    pops = pd.concat(populations, ignore_index=True)
    qcs = pd.concat(qc, ignore_index=True)
    meta = samples[["sample_id", "patient_id", "visit", "day", "tube"]]
    expected, gated = set(meta["sample_id"]), set(qcs["sample_id"])
    if expected != gated:
        raise ValueError(f"gated samples differ from the sample sheet: missing "
                         f"{sorted(expected - gated)}, unexpected {sorted(gated - expected)}")
    pops = meta.merge(pops, on="sample_id", how="inner", validate="one_to_many")
    qcs = meta.merge(qcs, on="sample_id", how="inner", validate="one_to_one")
    order = ["patient_id", "day", "tube", "sample_id"]
    pops = pops.sort_values(order, kind="stable")[POPULATIONS_COLUMNS].reset_index(drop=True)
    qcs = qcs.sort_values(order, kind="stable")[QC_TABLE_COLUMNS].reset_index(drop=True)
    return pops, qcs


def read_table(path: str) -> pd.DataFrame:
    """A results TSV with string ids and empty cells kept as empty strings."""
    return pd.read_csv(path, sep="\t", dtype={"sample_id": str, "patient_id": str, "qc_flag": str,
                                              "parent": str,
                                              "population": str, "gate_path": str}, keep_default_na=False)
