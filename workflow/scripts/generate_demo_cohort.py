"""Generate the synthetic demo cohort's per-site raw exports (rule generate_demo_cohort)."""

import sys
from pathlib import Path

import yaml

from aiha.demo.cohort import load_spec
from aiha.demo.exports import build_site_exports, manifest, write_exports

sys.stderr = open(snakemake.log[0], "w")  # noqa: F821

spec = load_spec(snakemake.input.spec, snakemake.params.multiplier)  # noqa: F821
profiles = yaml.safe_load(Path(snakemake.input.sites).read_text("utf-8"))["sites"]  # noqa: F821
raw_dir = Path(snakemake.output.manifest).parent  # noqa: F821
exports = build_site_exports(spec, profiles)
paths = write_exports(exports, raw_dir, {s: profiles[s]["encoding"] for s in exports})
Path(snakemake.output.manifest).write_text(manifest(paths, raw_dir))  # noqa: F821
print(f"wrote {len(paths)} files for {len(exports)} sites", file=sys.stderr)
