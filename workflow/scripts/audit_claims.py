"""Compare every published claim with the study's ARS results (rule audit_claims)."""

import sys

from aiha.ard import write_tsv
from aiha.audit import evaluate_reporting_event, format_table, load_claims
from aiha.jobs import run_script


def main(sm):
    claims = load_claims(sm.input.claims)
    not_computed = {} if sm.params.cytometry else {"flow_": "no cytometry data"}
    table = evaluate_reporting_event(claims, sm.input.ars, not_computed)
    write_tsv(table, sm.output.claims)
    print(format_table(table), file=sys.stderr)


run_script(main, snakemake)  # noqa: F821
