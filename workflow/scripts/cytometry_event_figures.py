"""Gating-strategy figure (one phenotype sample) and activation/proliferation
figure (functional tubes), event level, with the gates of the configured gating
source (GatingML, or each file's sample of the FlowJo workspace); and the facts
their captions print (JSON)."""

from aiha.cytometry import figures
from aiha.cytometry.aggregate import read_table
from aiha.cytometry.function_figure import function_figure_from_files, qc_exclusions
from aiha.cytometry.gating import load_flowjo, load_gatingml, read_options, read_workspace
from aiha.cytometry.gating_figure import gating_figure_from_file, strategy_method
from aiha.cytometry.labels import visit_label
from aiha.jobs import run_script


def main(sm):
    cfg = sm.params.cyto
    figures.setup(cfg["svg_hashsalt"])
    meta = read_table(sm.input.samples).set_index("sample_id")
    flowjo = cfg["gating_source"] == "flowjo"
    names = sm.params.workspace_samples
    roles = cfg["tube_populations"]

    def strategy_of(gating_file, fcs, sample_id, workspace=None):
        """The tube's GatingML strategy, or the file's sample of the FlowJo workspace."""
        if not flowjo:
            return load_gatingml(gating_file, cfg["transform"], cfg["asinh"])
        return load_flowjo(gating_file, fcs, workspace, names.get(sample_id) or None)

    facts = {"gating_source": "FlowJo workspace" if flowjo else "GatingML 2.0", "method": {}}
    qc = sm.params.qc
    excluded = qc_exclusions(read_table(sm.input.qc), qc["exclude_flagged"], qc["min_events_kept"],
                             qc["min_percent_kept"])
    if sm.params.gating_ids:
        sid, fcs = sm.params.gating_ids[0], sm.input.gating_fcs[0]
        workspace = read_workspace(sm.input.gating_phenotype) if flowjo else None
        strategy = strategy_of(sm.input.gating_phenotype, fcs, sid, workspace)
        facts["method"]["phenotype"] = strategy_method(strategy, roles["phenotype"])
        m = meta.loc[sid]
        facts["gating"] = {
            "patient_id": str(m["patient_id"]), "visit": visit_label(m["visit"]), "day": int(m["day"]),
            **gating_figure_from_file(fcs, sid, strategy, sm.output.gating, roles["phenotype"],
                                      read_options(cfg, "phenotype")),
        }
    else:
        figures.empty_figure("No phenotype sample at the chosen visits", sm.output.gating)
        facts["gating"] = None

    workspace = read_workspace(sm.input.gating_function) if flowjo else None
    files = []
    for fcs, sid in zip(sm.input.proliferation_fcs, sm.params.proliferation_ids):
        own = (strategy_of(sm.input.gating_function, fcs, sid, workspace),) if flowjo else ()
        m = meta.loc[sid]
        files.append((fcs, sid, str(m["patient_id"]), str(m["visit"]), int(m["day"]), *own))
    strategy = None if flowjo else strategy_of(sm.input.gating_function, None, None)
    first = files[0][5] if flowjo and files else strategy
    if first is not None:
        facts["method"]["function"] = strategy_method(first, roles["function"])
    facts["function"] = function_figure_from_files(files, strategy, roles["function"], sm.output.proliferation,
                                                   read_options(cfg, "function"), excluded)

    figures.write_facts(facts, sm.output.facts)


run_script(main, snakemake)  # noqa: F821
