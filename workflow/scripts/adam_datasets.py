"""The analysis datasets (ADaM shape) as Dataset-JSON and XPT v5, and their
variable metadata (rule adam_datasets)."""

from pathlib import Path

from aiha.adam import derive_all
from aiha.adam.write import write_all
from aiha.ard import read_tsv
from aiha.jobs import run_script

TABLES = ("patients", "responses", "labs", "transfusions", "treatments", "adverse_events",
          "populations", "cytometry_qc")


def main(sm):
    tables = {name: read_tsv(sm.input[name]) for name in TABLES if name in sm.input.keys()}
    frames = derive_all(tables, {**sm.params.cfg, "soc_map": sm.input.soc_map})
    write_all(frames, Path(sm.output.variables).parent, sm.params.cfg)


run_script(main, snakemake)  # noqa: F821
