"""Sensitivity variants: scoring, statistics and the claims audit under each
variant's merged config (rules sensitivity_variants and sensitivity_variant: all
variants in one job, or one job per variant)."""

import sys

from aiha.ard import inputs_digest, read_tsv, write_ard, write_tsv
from aiha.audit import load_claims
from aiha.jobs import run_script
from aiha.sensitivity import run_variant

TABLES = ("patients", "labs", "transfusions", "treatments", "adverse_events")


def main(sm):
    inp, out = sm.input, sm.output
    tables = {name: read_tsv(inp[name]) for name in TABLES}
    claims = load_claims(inp.claims) if "claims" in inp.keys() else None
    provenance = {"rule": sm.rule, "script": "workflow/scripts/sensitivity_variant.py",
                  "inputs_sha256": inputs_digest(list(inp))}
    variants = dict(sm.params.variants)
    paths = [[p] if isinstance(p, str) else list(p) for p in (out.responses, out.ard, out.claims)]
    for name, responses, ard, audit in zip(variants, *paths, strict=True):
        print(f"variant {name}", file=sys.stderr)
        ard_rows, table = run_variant(tables, variants[name], claims, responses, provenance)
        write_ard(ard_rows, ard)
        write_tsv(table, audit)


run_script(main, snakemake)  # noqa: F821
