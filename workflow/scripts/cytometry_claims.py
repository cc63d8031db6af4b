"""The flow_* claims as ARD rows, from the analysis datasets ADCYT, ADSL and ADRS
(rule cytometry_claims)."""

from aiha.adam import read_datasets
from aiha.ard import inputs_digest, stats_to_frame, write_ard
from aiha.cytometry.claims import ClaimSettings, adam_claims
from aiha.jobs import run_script


def main(sm):
    datasets = read_datasets({name.upper(): path for name, path in sm.input.items()})
    stats = adam_claims(datasets, ClaimSettings.from_config(sm.params.cyto), str(sm.input.adcyt))
    frame = stats_to_frame(stats, sm.rule, "workflow/scripts/cytometry_claims.py",
                           inputs_digest(list(sm.input)))
    write_ard(frame, sm.output.ard)


run_script(main, snakemake)  # noqa: F821
