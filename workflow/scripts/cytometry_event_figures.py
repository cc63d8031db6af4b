"""Gating-strategy dot plots and CTV proliferation histograms (event level), with
the gates of the configured gating source (GatingML, or each file's sample of the
FlowJo workspace)."""

from aiha.cytometry import figures
from aiha.cytometry.aggregate import read_table
from aiha.cytometry.gating import load_flowjo, load_gatingml, read_options, read_workspace
from aiha.jobs import run_script


def main(sm):
    cfg = sm.params.cyto
    figures.setup(cfg["figures"]["svg_hashsalt"])
    meta = read_table(sm.input.samples).set_index("sample_id")
    flowjo = cfg["gating_source"] == "flowjo"
    names = sm.params.workspace_samples

    def title(sample_id):
        m = meta.loc[sample_id]
        return f"{m['patient_id']}, {m['visit']} (day {m['day']})"

    def strategies(gating_file, fcs_files, sample_ids):
        """The strategy of the tube (GatingML), or of each file (FlowJo)."""
        if not flowjo:
            return load_gatingml(gating_file, cfg["transform"], cfg["asinh"]), [()] * len(sample_ids)
        workspace = read_workspace(gating_file)
        own = [(load_flowjo(gating_file, f, workspace, names.get(s) or None),)
               for f, s in zip(fcs_files, sample_ids)]
        return (own[0][0] if own else None), own

    strategy, own = strategies(sm.input.gating_phenotype, sm.input.gating_fcs, sm.params.gating_ids)
    files = [(f, s, title(s), *o) for f, s, o in zip(sm.input.gating_fcs, sm.params.gating_ids, own)]
    figures.gating_figure_from_files(files, strategy, sm.output.gating, read_options(cfg, "phenotype"))

    strategy, own = strategies(sm.input.gating_function, sm.input.proliferation_fcs, sm.params.proliferation_ids)
    files = [(f, s, meta.loc[s, "patient_id"], f"{meta.loc[s, 'visit']} (day {meta.loc[s, 'day']})", *o)
             for f, s, o in zip(sm.input.proliferation_fcs, sm.params.proliferation_ids, own)]
    pops = cfg["populations"]
    figures.proliferation_from_files(files, strategy, pops["t_cells"], pops["divided"], sm.output.proliferation,
                                     read_options(cfg, "function"))


run_script(main, snakemake)  # noqa: F821
