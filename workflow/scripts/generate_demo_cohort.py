"""Generate the synthetic demo cohort's per-site raw exports (rule generate_demo_cohort)."""

import sys
from pathlib import Path

from aiha.cleaning.profiles import read_profiles_yaml
from aiha.demo.cohort import load_spec
from aiha.demo.exports import build_site_exports, manifest, write_exports
from aiha.jobs import run_script


def main(sm):
    spec = load_spec(sm.input.spec, sm.params.multiplier)
    profiles = read_profiles_yaml(sm.input.sites)["sites"]
    raw_dir = Path(sm.output.manifest).parent
    exports = build_site_exports(spec, profiles)
    paths = write_exports(exports, raw_dir, {s: profiles[s]["encoding"] for s in exports})
    Path(sm.output.manifest).write_text(manifest(paths, raw_dir))
    print(f"wrote {len(paths)} files for {len(exports)} sites", file=sys.stderr)


run_script(main, snakemake)  # noqa: F821
