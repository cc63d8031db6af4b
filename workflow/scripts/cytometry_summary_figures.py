"""CD38 time course (with Hb) and T-cell subset figures."""

import pandas as pd

from aiha.ard import read_text_tsv
from aiha.cytometry import figures
from aiha.cytometry.aggregate import read_table
from aiha.cytometry.plan import figure_patients
from aiha.cytometry.claims import SUBSETS, ClaimSettings, percent_of_t, relapse_days, usable
from aiha.jobs import run_script


def main(sm):
    cfg = sm.params.cyto
    s = ClaimSettings.from_config(cfg)
    pops = usable(read_table(sm.input.populations), read_table(sm.input.qc), s.exclude_flagged)
    labs = pd.read_csv(sm.input.labs, sep="\t", dtype={"patient_id": str}, keep_default_na=False)
    hb = labs[labs["analyte"] == "hb"].assign(value=lambda f: f["value"].astype(float),
                                              day=lambda f: f["day"].astype(int))
    responses = read_text_tsv(sm.input.responses)
    figures.setup(cfg["figures"]["svg_hashsalt"])
    cd38 = percent_of_t(pops, s.cd38, s.t_cells, "phenotype")
    drawn = set(figure_patients(cd38["patient_id"], int(cfg["figures"]["summary_max_patients"])))
    cd38 = cd38[cd38["patient_id"].isin(drawn)]
    hb = hb[hb["patient_id"].isin(drawn)]
    figures.cd38_timecourse(cd38, hb, relapse_days(responses), s.depletion_threshold_percent,
                            s.reappearance_threshold_percent, sm.output.cd38, cfg["labels"])
    shares = {k: percent_of_t(pops, s.subsets[k], s.t_cells, "phenotype") for k in SUBSETS}
    shares = {k: v[v["patient_id"].isin(drawn)] for k, v in shares.items()}
    figures.subsets_figure(shares, sm.output.subsets)


run_script(main, snakemake)  # noqa: F821
