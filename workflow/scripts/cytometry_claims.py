"""The flow_* claims as ARD rows."""

from aiha.ard import inputs_digest, read_text_tsv, stats_to_frame, with_source, write_ard
from aiha.cytometry.aggregate import read_table
from aiha.cytometry.claims import ClaimSettings, compute_claims
from aiha.jobs import run_script


def main(sm):
    responses = read_text_tsv(sm.input.responses)
    stats = compute_claims(read_table(sm.input.populations), read_table(sm.input.qc), responses,
                           ClaimSettings.from_config(sm.params.cyto), str(sm.input.populations))
    # The gated population table (ADCYT in results/adam/ holds the same rows).
    stats = with_source(stats, "populations.tsv", "count, percent_of_parent, day, qc_flag",
                        "samples passing QC; analysis group from responses.tsv")
    frame = stats_to_frame(stats, sm.rule, "workflow/scripts/cytometry_claims.py",
                           inputs_digest(sm.input))
    write_ard(frame, sm.output.ard)


run_script(main, snakemake)  # noqa: F821
