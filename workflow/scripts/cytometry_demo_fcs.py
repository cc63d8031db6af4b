"""Generate the synthetic demo FCS files, sample sheet and manifest."""

import sys
from pathlib import Path

from aiha.cytometry.demo import generate_demo_fcs
from aiha.demo.cohort import load_spec
from aiha.jobs import run_script


def main(sm):
    written = generate_demo_fcs(load_spec(sm.input.spec, sm.params.multiplier), sm.params.demo,
                                Path(sm.output.manifest).parent)
    expected = {Path(p) for p in [*sm.output.fcs, sm.output.sheet, sm.output.manifest]}
    if set(written) != expected:
        raise RuntimeError(f"generator wrote {sorted(map(str, written))}, rule expects {sorted(map(str, expected))}")
    print(f"wrote {len(written)} files", file=sys.stderr)


run_script(main, snakemake)  # noqa: F821
