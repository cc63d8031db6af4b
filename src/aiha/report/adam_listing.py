"""The listings' appendix of the analysis datasets' variable metadata
(results/adam/variables.tsv, written by rule adam_datasets): one table per dataset."""

from __future__ import annotations

import pandas as pd

from aiha.report.model import Cell, Table

VARIABLES_SOURCE = "results/adam/variables.tsv"


def adam_variable_tables(variables: pd.DataFrame) -> list[Table]:
    """One listing table per dataset (in the metadata's order): variable, label,
    type, length, derivation, source and deriving function, as written."""
    tables = []
    for name in dict.fromkeys(variables["dataset"]):
        rows = [[Cell(str(r["variable"]), code=True), str(r["label"]), str(r["type"]),
                 str(r["length"]), str(r["derivation"]), str(r["source"]),
                 Cell(str(r["function"]).removeprefix("aiha.adam."), code=True)]
                for _, r in variables[variables["dataset"] == name].iterrows()]
        tables.append(Table(f"adam_{str(name).lower()}", f"{name}: variables",
                            ["Variable", "Label", "Type", "Length", "Derivation", "Source",
                             "Function (aiha.adam)"], rows, numeric=[False] * 7,
                            css_class="listing", source=VARIABLES_SOURCE, linked=False))
    return tables
