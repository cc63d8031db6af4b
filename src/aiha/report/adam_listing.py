"""The listings' section of the analysis datasets' variable metadata
(results/adam/variables.tsv, written by rule adam_datasets): one table, one row per
variable, in dataset order."""

from __future__ import annotations

import pandas as pd

from aiha.report.model import Cell, Table

VARIABLES_SOURCE = "results/adam/variables.tsv"


def adam_variables_table(variables: pd.DataFrame) -> Table:
    """Dataset, variable, label, type, length, derivation, source and deriving
    function of every variable, as written."""
    rows = [[Cell(str(r["dataset"]), code=True), Cell(str(r["variable"]), code=True),
             str(r["label"]), str(r["type"]), str(r["length"]), str(r["derivation"]),
             str(r["source"]), Cell(str(r["function"]).removeprefix("aiha.adam."), code=True)]
            for _, r in variables.iterrows()]
    return Table("adam_variables", "Variables of the analysis datasets",
                 ["Dataset", "Variable", "Label", "Type", "Length", "Derivation", "Source",
                  "Function (aiha.adam)"], rows, numeric=[False] * 8, css_class="listing adam-variables",
                 source=VARIABLES_SOURCE, linked=False)
