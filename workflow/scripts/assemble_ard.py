"""Stack the clinical and cytometry ARD parts into results/ard/ard.tsv (rule assemble_ard)."""

import sys

import pandas as pd

from aiha.ard import read_ard, write_ard

sys.stderr = open(snakemake.log[0], "w")  # noqa: F821
parts = [read_ard(path) for path in snakemake.input]  # noqa: F821
ard = pd.concat(parts, ignore_index=True)
key = ["stat_id", "group", "statistic"]
dup = ard[ard.duplicated(key, keep=False)]
if not dup.empty:
    raise SystemExit(f"ARD parts repeat statistics: {dup[key].drop_duplicates().values.tolist()}")
write_ard(ard, snakemake.output.ard)  # noqa: F821
