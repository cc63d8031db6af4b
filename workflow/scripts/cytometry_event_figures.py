"""Gating-strategy dot plots and CTV proliferation histograms (event level)."""

from aiha.cytometry import figures
from aiha.cytometry.aggregate import read_table
from aiha.cytometry.gating import load_gatingml
from aiha.jobs import run_script


def main(sm):
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


run_script(main, snakemake)  # noqa: F821
