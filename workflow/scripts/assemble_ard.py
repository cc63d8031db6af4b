"""Stack the clinical and cytometry ARD parts into results/ard/ard.tsv (rule assemble_ard)."""

import pandas as pd

from aiha.ard import count_proportions, inputs_digest, read_ard, write_ard
from aiha.jobs import run_script


def main(sm):
    parts = [read_ard(path) for path in sm.input]
    ard = pd.concat(parts, ignore_index=True)
    key = ["stat_id", "group", "statistic"]
    dup = ard[ard.duplicated(key, keep=False)]
    if not dup.empty:
        raise RuntimeError(f"ARD parts repeat statistics: {dup[key].drop_duplicates().values.tolist()}")
    extra = count_proportions(ard, sm.rule, "workflow/scripts/assemble_ard.py",
                              inputs_digest(sm.input))
    write_ard(pd.concat([ard, extra], ignore_index=True) if len(extra) else ard, sm.output.ard)


run_script(main, snakemake)  # noqa: F821
