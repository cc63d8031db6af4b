"""Write results/config_in_force.yaml: the merged config in force, canonical YAML
(rule config_in_force)."""

from pathlib import Path

from aiha.jobs import run_script
from aiha.provenance import canonical_yaml


def main(sm):
    out = Path(sm.output.yaml)
    tmp = out.with_name(f".{out.name}.tmp")
    tmp.write_text(canonical_yaml(sm.params.cfg), encoding="utf-8")
    tmp.replace(out)


run_script(main, snakemake)  # noqa: F821
