"""Stack the clinical and cytometry ARD parts into results/ard/ard.tsv (rule assemble_ard)."""

import pandas as pd

from aiha.ard import read_ard, write_ard
from aiha.jobs import run_script


def main(sm):
    parts = [read_ard(path) for path in sm.input]
    ard = pd.concat(parts, ignore_index=True)
    key = ["stat_id", "group", "statistic"]
    dup = ard[ard.duplicated(key, keep=False)]
    if not dup.empty:
        raise RuntimeError(f"ARD parts repeat statistics: {dup[key].drop_duplicates().values.tolist()}")
    write_ard(ard, sm.output.ard)


run_script(main, snakemake)  # noqa: F821
