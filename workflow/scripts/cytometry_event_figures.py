"""Gating-strategy dot plots and CTV proliferation histograms (event level)."""

import sys

from aiha.cytometry import figures
from aiha.cytometry.aggregate import read_table
from aiha.cytometry.gating import load_gatingml
from aiha.errors import InputError

sm = snakemake  # noqa: F821
with open(sm.log[0], "w") as log:
    sys.stderr = log
    try:
        cfg = sm.params.cyto
        figures.setup(cfg["figures"]["svg_hashsalt"])
        meta = read_table(sm.input.samples).set_index("sample_id")

        def title(sample_id):
            m = meta.loc[sample_id]
            return f"{m['patient_id']}, {m['visit']} (day {m['day']})"

        strategy = load_gatingml(sm.input.gating_phenotype, cfg["transform"], cfg["asinh"])
        files = [(f, s, title(s)) for f, s in zip(sm.input.gating_fcs, sm.params.gating_ids)]
        figures.gating_figure_from_files(files, strategy, sm.output.gating)

        strategy = load_gatingml(sm.input.gating_function, cfg["transform"], cfg["asinh"])
        files = [(f, s, meta.loc[s, "patient_id"], f"{meta.loc[s, 'visit']} (day {meta.loc[s, 'day']})")
                 for f, s in zip(sm.input.proliferation_fcs, sm.params.proliferation_ids)]
        pops = cfg["populations"]
        figures.proliferation_from_files(files, strategy, pops["t_cells"], pops["divided"], sm.output.proliferation)
    except InputError as err:  # bad input: one clear message, on the terminal and in the log
        print(f"ERROR: {err}", file=log)
        print(f"ERROR: {err}", file=sys.__stderr__)
        sys.exit(1)
